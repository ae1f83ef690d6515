"""Render the benchmark results (results/*.json) as Markdown tables and check them against the targets.

Run from the repository: .venv/bin/python benchmarks/report.py [--output benchmarks/results/report.md]
docs/benchmarks.md shows these tables, with prose written by hand around them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CONNECTIONS_RESULT = RESULTS_DIR / "connections.json"
STATUS_PARSE_RESULT = RESULTS_DIR / "status_parse.json"
PRESENT_RESULT = RESULTS_DIR / "connections_present.json"
DEFAULT_OUTPUT = RESULTS_DIR / "report.md"

VARIANT_TITLES = {
    "module": "module file alone",
    "module_present": "module file alone, state present",
    "one_task": "(a) ipsec_connections, one task",
    "loop": "(b) loop over ipsec_connection",
    "script": "(c) naive: shell script of ipsec auto",
    "command_loop": "(c) naive: command loops in Ansible",
}

# Targets, all at the largest connection count of the run (500 by default).
NOOP_MODULE_SECONDS = 2.0
NOOP_SPEEDUP = 50
NOOP_MAX_COMMANDS = 2
FIRST_SPEEDUP = 10
MODULE_MEMORY_BYTES = 100 * 1000 * 1000
PARSE_R_SQUARED = 0.99


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def by_variant(document: dict) -> dict:
    """Return {variant: {count: measurement}}."""
    table = {}
    for measurement in document["measurements"]:
        table.setdefault(measurement["variant"], {})[measurement["count"]] = measurement
    return table


def median_of(measurement: dict, phase: str, key: str):
    return measurement["median"][phase].get(key)


def first_run(measurement: dict, phase: str) -> dict:
    return measurement["runs"][0][phase]


def _converged(run: dict) -> bool:
    return run.get("all_routed", run.get("all_loaded", True)) and not run.get("failed")


def seconds_cell(measurement: dict | None, phase: str) -> str:
    """Return "wall (task)" for playbooks, "wall" for scripts, "module (process)" for the module alone."""
    if measurement is None:
        return "not run"
    wall = median_of(measurement, phase, "seconds")
    task = median_of(measurement, phase, "task_seconds")
    process = median_of(measurement, phase, "process_seconds")
    if not all(_converged(run[phase]) for run in measurement["runs"]):
        suffix = " FAILED"
    else:
        suffix = ""
    if task is not None:
        return "%.2f (%.2f)%s" % (wall, task, suffix)
    if process is not None:
        return "%.2f (%.2f)%s" % (wall, process, suffix)
    return "%.2f%s" % (wall, suffix)


def connection_tables(document: dict) -> list:
    variants = by_variant(document)
    counts = document["sizes"]
    lines = ["### Converge time in seconds", ""]
    lines.append(
        "Median of %d runs, except (b) and the command loops, which ran once. Playbooks: "
        "ansible-playbook wall time (the task's own time in brackets). Module alone: the module's "
        "code (the whole process, with `ip netns exec` and interpreter start-up, in brackets)." % document["repeat"]
    )
    lines.append("")
    header = "| variant | phase | " + " | ".join("N=%d" % count for count in counts) + " |"
    lines += [header, "|" + "---|" * (len(counts) + 2)]
    for variant, title in VARIANT_TITLES.items():
        if variant not in variants or variant == "module_present":
            continue
        for phase, phase_title in (("first", "first converge"), ("rerun", "rerun")):
            cells = [seconds_cell(variants[variant].get(count), phase) for count in counts]
            lines.append("| %s | %s | %s |" % (title, phase_title, " | ".join(cells)))
    lines.append("")

    lines += ["### Libreswan commands run (pluto round-trips)", ""]
    lines.append(
        "From `libreswan_commands` of the results (summed over loop items) for the modules, which "
        "counts `whack --status` reads and `addconn --checkconfig` too; for the naive role, %s "
        "whack/addconn commands per `ipsec auto --replace` and %s per `ipsec auto --route`, "
        "as `ipsec auto --showonly` lists them."
        % (document["auto_commands"]["--replace"], document["auto_commands"]["--route"])
    )
    lines.append("")
    lines += [header, "|" + "---|" * (len(counts) + 2)]
    for variant, title in VARIANT_TITLES.items():
        if variant not in variants or variant == "module_present":
            continue
        for phase, phase_title in (("first", "first converge"), ("rerun", "rerun")):
            cells = []
            for count in counts:
                measurement = variants[variant].get(count)
                cells.append(
                    "not run" if measurement is None else str(first_run(measurement, phase)["libreswan_commands"])
                )
            lines.append("| %s | %s | %s |" % (title, phase_title, " | ".join(cells)))
    lines.append("")

    return lines


def module_table(variants: dict) -> list:
    """Return the table of the module file run alone: time, commands, memory and CPU per size."""
    rows = [
        (variant, count, measurement)
        for variant in ("module", "module_present")
        for count, measurement in sorted(variants.get(variant, {}).items())
    ]
    if not rows:
        return []
    lines = ["### Module alone: time, memory and CPU", ""]
    lines.append(
        "The module file run inside west without Ansible. Time: median seconds of the module's code. "
        "Memory: maximum resident set size of the module's Python process and, separately, of its "
        "largest child process (whack, addconn, the updown script). CPU: user + system seconds of the "
        "module process and of all its children. Memory, CPU and commands are from the first run of each size."
    )
    lines.append("")
    lines += [
        "| state | N | phase | seconds | Libreswan commands | module max RSS (MiB) | child max RSS (MiB) "
        "| module CPU (s) | children CPU (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, count, measurement in rows:
        for phase in ("first", "rerun"):
            run = first_run(measurement, phase)
            lines.append(
                "| %s | %d | %s | %s | %s | %.1f | %.1f | %.2f | %.2f |"
                % (
                    "routed" if variant == "module" else "present",
                    count,
                    phase,
                    seconds_cell(measurement, phase),
                    run["libreswan_commands"],
                    run["self"]["max_rss_kib"] / 1024,
                    run["children"]["max_rss_kib"] / 1024,
                    run["self"]["user_seconds"] + run["self"]["system_seconds"],
                    run["children"]["user_seconds"] + run["children"]["system_seconds"],
                )
            )
    lines.append("")
    return lines


def command_cost_table(document: dict) -> list:
    costs = document.get("command_costs")
    if not costs:
        return []
    labels = {
        "status": "`whack --status`",
        "checkconfig": "`addconn --checkconfig` (parses every conn file)",
        "route": "`whack --route` (runs the updown script)",
        "route_no_updown": "`whack --route` of a conn with `leftupdown=%disabled`",
        "auto_replace": "`ipsec auto --replace NAME` (delete + addconn of one name)",
        "auto_route": "`ipsec auto --route NAME`",
        "addconn_all": "one `addconn` naming all %d connections" % costs["count"],
        "delete_all": "`whack --delete`, per connection, all %d in a row" % costs["count"],
        "route_all": "`whack --route`, per connection, all %d in a row" % costs["count"],
    }
    lines = ["### Single command costs with %d routed connections loaded (milliseconds)" % costs["count"], ""]
    lines += ["| command | runs | median | min | max |", "|---|---|---|---|---|"]
    for label, title in labels.items():
        entry = costs["costs"].get(label)
        if entry is None:
            continue
        if "per_connection_ms" in entry:
            lines.append("| %s | %d | %.1f | | |" % (title, costs["count"], entry["per_connection_ms"]))
        else:
            lines.append(
                "| %s | %d | %.1f | %.1f | %.1f |"
                % (title, entry["count"], entry["median_ms"], entry["min_ms"], entry["max_ms"])
            )
    lines.append("")
    return lines


def profile_tables(document: dict, key: str = "profiles", state: str = "routed", entries: int = 12) -> list:
    """Return the tables of the cProfile runs stored under `key`: collection functions and all functions."""
    profiles = document.get(key)
    if not profiles:
        return []
    lines = []
    for phase, title in (("first", "first converge"), ("rerun", "no-op rerun")):
        profile = profiles[phase]
        lines += [
            "### cProfile of the module alone, state %s, %s at N=%d (%.2f s under the profiler)"
            % (state, title, profiles["count"], profile["seconds_with_profiler"]),
            "",
        ]
        lines += ["Collection and AnsibleModule functions by cumulative time:", ""]
        lines += ["| function | calls | own s | cumulative s |", "|---|---|---|---|"]
        for entry in profile["collection_by_cumulative"][:entries]:
            lines.append(
                "| `%s` | %d | %.3f | %.3f |" % (entry["function"], entry["calls"], entry["tottime"], entry["cumtime"])
            )
        lines += ["", "All functions by own time:", ""]
        lines += ["| function | calls | own s | cumulative s |", "|---|---|---|---|"]
        for entry in profile["by_tottime"][:entries]:
            lines.append(
                "| `%s` | %d | %.3f | %.3f |" % (entry["function"], entry["calls"], entry["tottime"], entry["cumtime"])
            )
        lines.append("")
    return lines


def status_parse_tables(document: dict) -> list:
    lines = ["### parse_status() on synthetic 4.10 status texts", ""]
    lines.append(
        "Best and median wall time and best CPU time of %d parses per size. `summarise all` is one "
        "summarise() call per connection of the parsed status, best CPU seconds of three runs." % document["repeat"]
    )
    lines.append("")
    summaries = {row["count"]: row for row in document.get("summarise", [])}

    lines += [
        "| connections | lines | MB | parse best (s) | parse median (s) | parse best CPU (s) | summarise all (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in document["parse"]:
        summary = summaries.get(row["count"])
        lines.append(
            "| %d | %d | %.1f | %.3f | %.3f | %.3f | %s |"
            % (
                row["count"],
                row["lines"],
                row["bytes"] / 1e6,
                row["best_seconds"],
                row["median_seconds"],
                row.get("best_cpu_seconds", float("nan")),
                "%.3f" % summary.get("cpu_seconds", summary["seconds"]) if summary else "",
            )
        )

    fit = document["parse_fit"]
    lines += [
        "",
        "Linear fit of the best parse CPU times: %.1f µs per connection %+.4f s, R² = %.4f."
        % (fit["slope_seconds_per_connection"] * 1e6, fit["intercept_seconds"], fit["r_squared"]),
    ]
    if "parse_fit_wall" in document:
        fit = document["parse_fit_wall"]
        lines.append(
            "Linear fit of the best parse wall times: %.1f µs per connection %+.4f s, R² = %.4f."
            % (fit["slope_seconds_per_connection"] * 1e6, fit["intercept_seconds"], fit["r_squared"])
        )
    if "summarise_fit" in document:
        fit = document["summarise_fit"]
        lines.append(
            "Linear fit of summarise all (CPU): %.2f µs per connection %+.4f s, R² = %.4f."
            % (fit["slope_seconds_per_connection"] * 1e6, fit["intercept_seconds"], fit["r_squared"])
        )

    floor = document.get("line_floor")
    if floor:
        lines.append(
            "Only splitting the %d-connection text into lines and stripping each line's code takes %.3f s CPU "
            "(best of %d), a floor for any parser that visits every line."
            % (floor["count"], floor["best_cpu_seconds"], document["repeat"])
        )

    profile = document.get("parse_profile")
    if profile:
        lines += [
            "",
            "cProfile of one parse of %d connections (%.2f s under the profiler), by own time:"
            % (profile["count"], profile["seconds_with_profiler"]),
            "",
        ]
        lines += ["| function | calls | own s | cumulative s |", "|---|---|---|---|"]
        for entry in profile["by_tottime"][:10]:
            lines.append(
                "| `%s` | %d | %.3f | %.3f |" % (entry["function"], entry["calls"], entry["tottime"], entry["cumtime"])
            )
    lines.append("")
    return lines


def target_rows(connections: dict | None, status_parse: dict | None) -> list:
    """Return [(target, measured, met)] for every target the results allow to check."""
    rows = []
    if connections:
        variants = by_variant(connections)
        count = max(connections["sizes"])
        one_task = variants.get("one_task", {}).get(count)
        loop = variants.get("loop", {}).get(count)
        module = variants.get("module", {}).get(count)
        if module:
            seconds = median_of(module, "rerun", "seconds")
            rows.append(
                (
                    "no-op rerun of %d, module time < %.0f s" % (count, NOOP_MODULE_SECONDS),
                    "%.2f s" % seconds,
                    seconds < NOOP_MODULE_SECONDS,
                )
            )
            rss = max(first_run(module, phase)["self"]["max_rss_kib"] for phase in ("first", "rerun")) * 1024
            rows.append(
                (
                    "module memory at N=%d < 100 MB" % count,
                    "%.1f MB (%.1f MiB)" % (rss / 1e6, rss / 2**20),
                    rss < MODULE_MEMORY_BYTES,
                )
            )
        if one_task:
            commands = max(run["rerun"]["libreswan_commands"] for run in one_task["runs"])
            rows.append(
                (
                    "no-op rerun of %d, at most %d Libreswan commands" % (count, NOOP_MAX_COMMANDS),
                    str(commands),
                    commands <= NOOP_MAX_COMMANDS,
                )
            )
        if one_task and loop:
            for phase, factor, title in (
                ("rerun", NOOP_SPEEDUP, "no-op rerun"),
                ("first", FIRST_SPEEDUP, "first converge"),
            ):
                ratio = median_of(loop, phase, "task_seconds") / median_of(one_task, phase, "task_seconds")
                wall_ratio = median_of(loop, phase, "seconds") / median_of(one_task, phase, "seconds")
                rows.append(
                    (
                        "%s of %d: (a) at least %dx faster than (b)" % (title, count, factor),
                        "%.1fx by task time, %.1fx by playbook wall time" % (ratio, wall_ratio),
                        ratio >= factor,
                    )
                )
    if status_parse:
        target = status_parse["target"]
        rows.append(
            (
                "%d-connection status parsed in < %.1f s" % (target["count"], target["limit_seconds"]),
                "%.3f s CPU (%.3f s wall)" % (target["best_cpu_seconds"], target["best_seconds"]),
                target["met"],
            )
        )
        r_squared = status_parse["parse_fit"]["r_squared"]
        rows.append(
            (
                "parse CPU time linear in connections (R² >= %.2f)" % PARSE_R_SQUARED,
                "R² = %.4f" % r_squared,
                r_squared >= PARSE_R_SQUARED,
            )
        )
    return rows


def target_table(rows: list) -> list:
    lines = ["### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for target, measured, met in rows:
        lines.append("| %s | %s | %s |" % (target, measured, "yes" if met else "**no**"))
    lines.append("")
    return lines


def measurement_commits(document: dict) -> str | None:
    """Return "commit: sizes" for every commit the measurements ran on, or None when they record none."""
    commits = {}
    for measurement in document.get("measurements", []):
        commit = (measurement.get("source") or {}).get("commit")
        if commit:
            commits.setdefault(commit[:12], set()).add(measurement["count"])
    if not commits:
        return None
    return "; ".join("%s for N=%s" % (commit, ",".join(map(str, sorted(counts)))) for commit, counts in commits.items())


def machine_lines(document: dict) -> list:
    machine = document["machine"]
    source = machine.get("source") or {}
    lines = [
        "- %s, kernel %s, %s CPUs (%s), %s GiB memory"
        % (machine.get("os"), machine["kernel"], machine["nproc"], machine["cpu_model"], machine["memory_gib"]),
        "- %s, ansible-core %s, controller Python %s, target %s"
        % (machine["libreswan"], machine["ansible_core"], machine["controller_python"], machine["target_python"]),
        "- run %s, load average %s at the start and %s at the end"
        % (machine["date"], machine["load_average_at_start"], machine.get("load_average_at_end")),
        "- source at the start: commit %s, %d changed files under plugins/"
        % (source.get("commit"), len(source.get("plugins_changes", []))),
    ]
    commits = measurement_commits(document)
    if commits:
        lines.append("- measurements ran on commit %s" % commits)
    return lines


def render(connections: dict | None, status_parse: dict | None, present: dict | None = None) -> str:
    lines = ["<!-- Generated by benchmarks/report.py from benchmarks/results/*.json. -->", ""]
    rows = target_rows(connections, status_parse)
    lines += target_table(rows)
    if connections:
        lines += ["### Machine (connection benchmark)", ""] + machine_lines(connections) + [""]
        lines += connection_tables(connections)
        variants = by_variant(connections)
        if present:
            variants.update(by_variant(present))
        lines += module_table(variants)
        if present:
            lines += ["The state present rows come from a second run:", ""] + machine_lines(present) + [""]
        lines += command_cost_table(connections)
        lines += profile_tables(connections)
        if present:
            lines += profile_tables(present, key="present_profiles", state="present")
    if status_parse:
        lines += ["### Machine (status parse benchmark)", ""] + machine_lines(status_parse) + [""]
        lines += status_parse_tables(status_parse)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    connections = load(CONNECTIONS_RESULT)
    status_parse = load(STATUS_PARSE_RESULT)
    present = load(PRESENT_RESULT)
    if connections is None and status_parse is None:
        print("report: no results in %s; run benchmarks/run_all.py first" % RESULTS_DIR, file=sys.stderr)
        return 1
    text = render(connections, status_parse, present)
    args.output.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
