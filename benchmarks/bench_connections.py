"""Benchmark: bring N host-to-host connections to `routed` on real pluto, in five ways.

Variants, each measured as a first converge (from a freshly restarted pluto with an empty
/etc/ipsec.d) and as a rerun of the same thing right after:

- one_task: one `ipsec.libreswan.ipsec_connections` task listing all N connections.
- loop: one `ipsec.libreswan.ipsec_connection` task with `loop:` over the same N definitions.
- script: what a naive role does, as one shell script on the host: the conn files are written
  beforehand, then `ipsec auto --replace NAME` and `ipsec auto --route NAME` per connection.
- command_loop: the same naive role as Ansible tasks: two `ansible.builtin.command` loops.
- module: the ipsec_connections module file run directly inside the host (no Ansible), for its
  own time, memory and, in separate runs, a cProfile profile.
- module_present: the module alone with state `present` at larger counts (--present-sizes), to
  see how its own work grows when no per-connection route dominates.

Connections are IPv6 host-to-host from west (2001:db8:0:1::1) to 2001:db8:f::INDEX with
authby=secret. The peers do not exist; west gets a route to 2001:db8:f::/64 through east, so
pluto's updown script can add its host routes. `routed` installs one trap policy per connection
and negotiates nothing.

Run as root from the repository: .venv/bin/python benchmarks/bench_connections.py
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent
for path in (str(REPOSITORY), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

from tests.lab import Lab  # noqa: E402

from labrun import LabRunner  # noqa: E402
from machine import load_average, machine_facts, source_revision  # noqa: E402

MODULE_PATH = REPOSITORY / "plugins" / "modules" / "ipsec_connections.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "connections.json"
DEFAULT_SIZES = (1, 50, 200, 500)
VARIANTS = ("module", "one_task", "loop", "script", "command_loop")
# Variants whose runs cost minutes at N=500 run once; the others run --repeat times.
EXPENSIVE_VARIANTS = ("loop", "command_loop")
# The module alone with state present: no routes, so larger counts stay affordable.
PRESENT_VARIANT = "module_present"

LEFT = "2001:db8:0:1::1"
PEER_NETWORK = "2001:db8:f::/64"
PROFILE_ENTRIES = 25
# Connections sampled for timing single commands.
COST_SAMPLE = 20
# Files whose functions the filtered profile lists: the collection and AnsibleModule.
COLLECTION_CODE = ("ansible_collections/ipsec/", "plugins/modules/", "module_utils/basic.py")

ONE_TASK_PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: converge
      ipsec.libreswan.ipsec_connections:
        connections: "{{ conns }}"
"""

LOOP_PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: converge
      ipsec.libreswan.ipsec_connection:
        name: "{{ item.name }}"
        state: "{{ item.state }}"
        definition: "{{ item.definition }}"
      loop: "{{ conns }}"
      loop_control:
        label: "{{ item.name }}"
"""

COMMAND_LOOP_PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: replace
      ansible.builtin.command:
        argv: [ipsec, auto, --replace, "{{ item }}"]
      loop: "{{ names }}"
    - name: route
      ansible.builtin.command:
        argv: [ipsec, auto, --route, "{{ item }}"]
      loop: "{{ names }}"
"""


def connection_name(index: int) -> str:
    return "bench%03d" % index


def connection_list(count: int, state: str = "routed") -> list:
    """Return the `connections` list of N IPv6 host-to-host connections in `state`."""
    return [
        {
            "name": connection_name(index),
            "state": state,
            "definition": {"left": LEFT, "right": "2001:db8:f::%d" % index, "authby": "secret"},
        }
        for index in range(1, count + 1)
    ]


def naive_conn_file(entry: dict) -> str:
    """Return the conn file a naive role's template would write for `entry`."""
    lines = ["conn %s" % entry["name"]]
    lines += ["\t%s=%s" % (key, value) for key, value in entry["definition"].items()]
    return "\n".join(lines) + "\n"


def naive_script(names: list) -> str:
    lines = ["set -e"]
    for name in names:
        lines.append("ipsec auto --replace %s >/dev/null" % name)
        lines.append("ipsec auto --route %s >/dev/null" % name)
    return "\n".join(lines) + "\n"


def command_cost_script(names: list, sample: list, probes: list) -> str:
    """Return a script that times single Libreswan commands on the host, one "label microseconds rc" line each.

    `names` are all loaded and routed connections, `sample` a few of them, and `probes` loaded
    connections with leftupdown=%disabled, whose routes run no updown script. Each timing also
    counts one fork of date(1).
    """
    sample_text = " ".join(sample)
    lines = [
        "now() { date +%s%N; }",
        'measure() { label=$1; shift; start=$(now); "$@" >/dev/null 2>&1; rc=$?; end=$(now); '
        'echo "$label $(( (end - start) / 1000 )) $rc"; }',
        "for i in 1 2 3 4 5; do measure status ipsec whack --status; done",
        "for i in 1 2 3; do measure checkconfig ipsec addconn --checkconfig; done",
        "for name in %s; do ipsec whack --name $name --unroute >/dev/null 2>&1; measure route ipsec whack --name $name --route; done"
        % sample_text,
        "for name in %s; do measure route_no_updown ipsec whack --name $name --route; done" % " ".join(probes),
        "for name in %s; do measure auto_replace ipsec auto --replace $name; ipsec whack --name $name --route >/dev/null 2>&1; done"
        % sample_text,
        "for name in %s; do measure auto_route ipsec auto --route $name; done" % sample_text,
        "start=$(now); for name in %s; do ipsec whack --name $name --delete >/dev/null 2>&1; done; end=$(now); "
        'echo "delete_all $(( (end - start) / 1000 )) 0"' % " ".join(names),
        "measure addconn_all ipsec addconn %s" % " ".join(names),
        "start=$(now); for name in %s; do ipsec whack --name $name --route >/dev/null 2>&1; done; end=$(now); "
        'echo "route_all $(( (end - start) / 1000 )) 0"' % " ".join(names),
    ]
    return "\n".join(lines) + "\n"


def parse_cost_lines(output: str) -> dict:
    """Return {label: {"count", "median_ms", "min_ms", "max_ms", "failures"}} from the timing script's output."""
    samples = {}
    for line in output.splitlines():
        label, microseconds, rc = line.split()
        samples.setdefault(label, []).append((int(microseconds) / 1000.0, int(rc)))
    return {
        label: {
            "count": len(values),
            "median_ms": statistics.median(value for value, unused in values),
            "min_ms": min(value for value, unused in values),
            "max_ms": max(value for value, unused in values),
            "failures": sum(1 for unused, rc in values if rc != 0),
        }
        for label, values in samples.items()
    }


def commands_per_auto_call(runner: LabRunner) -> dict:
    """Return how many whack/addconn commands `ipsec auto --replace` and `--route` run, from --showonly."""
    counts = {}
    for option in ("--replace", "--route"):
        output = runner.host.run(["ipsec", "auto", "--showonly", option, "example"]).stdout
        counts[option] = len([line for line in output.splitlines() if line.strip()])
    return counts


class ConnectionBenchmark:
    """The measurements of one lab session: every variant at every size."""

    def __init__(self, runner: LabRunner, repeat: int, profile_size: int | None):
        self.runner = runner
        self.repeat = repeat
        self.profile_size = profile_size
        self.auto_commands = commands_per_auto_call(runner)

    # Checks done after every run

    def check_routed(self, count: int) -> dict:
        routed = self.runner.routed_names()
        expected = {connection_name(index) for index in range(1, count + 1)}
        return {"routed": len(routed & expected), "all_routed": expected <= routed}

    # Variants: each returns {"first": {...}, "rerun": {...}}

    def check_loaded(self, count: int) -> dict:
        loaded = set(self.runner.serials())
        expected = {connection_name(index) for index in range(1, count + 1)}
        return {"loaded": len(loaded & expected), "all_loaded": expected <= loaded}

    def run_module(self, count: int, state: str = "routed") -> dict:
        args = {"connections": connection_list(count, state)}
        variant = "module" if state == "routed" else "module_" + state
        outcome = {}
        for phase in ("first", "rerun"):
            measurement = self.runner.run_module("%s-%d-%s" % (variant, count, phase), MODULE_PATH, args)
            result = measurement.pop("result")
            measurement.update(_module_result_fields(result))
            measurement.update(self.check_routed(count) if state == "routed" else self.check_loaded(count))
            outcome[phase] = measurement
        return outcome

    def run_module_present(self, count: int) -> dict:
        return self.run_module(count, state="present")

    def run_one_task(self, count: int) -> dict:
        extra_vars = {"conns": connection_list(count)}
        return self._playbook_phases("one_task", count, ONE_TASK_PLAYBOOK, extra_vars)

    def run_loop(self, count: int) -> dict:
        extra_vars = {"conns": connection_list(count)}
        return self._playbook_phases("loop", count, LOOP_PLAYBOOK, extra_vars)

    def _playbook_phases(self, variant: str, count: int, playbook: str, extra_vars: dict) -> dict:
        outcome = {}
        for phase in ("first", "rerun"):
            serials_before = self.runner.serials()
            run = self.runner.run_playbook("%s-%d-%s" % (variant, count, phase), playbook, extra_vars)
            outcome[phase] = _playbook_fields(run)
            outcome[phase].update(self.check_routed(count))
            if phase == "rerun":
                outcome[phase]["serials_unchanged"] = self.runner.serials() == serials_before
        return outcome

    def _write_naive_files(self, count: int) -> float:
        started = time.monotonic()
        for entry in connection_list(count):
            self.runner.host.write_file("ipsec.d/%s.conf" % entry["name"], naive_conn_file(entry))
        return time.monotonic() - started

    def run_script(self, count: int) -> dict:
        names = [connection_name(index) for index in range(1, count + 1)]
        files_seconds = self._write_naive_files(count)
        per_connection = self.auto_commands["--replace"] + self.auto_commands["--route"]
        outcome = {}
        for phase in ("first", "rerun"):
            run = self.runner.run_script("script-%d-%s" % (count, phase), naive_script(names))
            run["files_seconds"] = files_seconds if phase == "first" else 0.0
            run["libreswan_commands"] = per_connection * count
            run["auto_calls"] = 2 * count
            run["failed"] = run["rc"] != 0
            run.update(self.check_routed(count))
            outcome[phase] = run
        return outcome

    def run_command_loop(self, count: int) -> dict:
        names = [connection_name(index) for index in range(1, count + 1)]
        files_seconds = self._write_naive_files(count)
        per_connection = self.auto_commands["--replace"] + self.auto_commands["--route"]
        outcome = {}
        for phase in ("first", "rerun"):
            run = self.runner.run_playbook(
                "command_loop-%d-%s" % (count, phase), COMMAND_LOOP_PLAYBOOK, {"names": names}
            )
            fields = _playbook_fields(run)
            fields["files_seconds"] = files_seconds if phase == "first" else 0.0
            fields["libreswan_commands"] = per_connection * count
            fields["auto_calls"] = 2 * count
            fields.update(self.check_routed(count))
            outcome[phase] = fields
        return outcome

    # Profiles

    def profile_module(self, count: int, state: str = "routed") -> dict:
        """Profile a first converge and a no-op rerun of the module file at `count` connections in `state`."""
        self.runner.reset()
        args = {"connections": connection_list(count, state)}
        profiles = {}
        for phase in ("first", "rerun"):
            label = "profile-%s-%d-%s" % (state, count, phase)
            measurement = self.runner.run_module(label, MODULE_PATH, args, profile=True)
            profiles[phase] = {
                "seconds_with_profiler": measurement["seconds"],
                "libreswan_commands": measurement["result"].get("libreswan_commands"),
                "collection_by_cumulative": top_entries(measurement["profile_path"], "cumulative", COLLECTION_CODE),
                "by_tottime": top_entries(measurement["profile_path"], "tottime"),
            }
        return profiles

    def measure_command_costs(self, count: int) -> dict:
        """Time single whack/addconn commands with `count` routed connections loaded."""
        self.runner.reset()
        converge = self.runner.run_module(
            "costs-%d-converge" % count, MODULE_PATH, {"connections": connection_list(count)}
        )
        if converge["result"].get("failed"):
            raise RuntimeError("converging %d connections failed: %s" % (count, converge["result"].get("msg")))
        names = [connection_name(index) for index in range(1, count + 1)]
        sample = names[:: max(1, count // COST_SAMPLE)][:COST_SAMPLE]
        probes = ["probe%02d" % index for index in range(1, COST_SAMPLE + 1)]
        for index, probe in enumerate(probes, start=1):
            right = "2001:db8:f:1::%d" % index
            text = "conn %s\n\tleft=%s\n\tright=%s\n\tauthby=secret\n\tleftupdown=%%disabled\n" % (probe, LEFT, right)
            self.runner.host.write_file("ipsec.d/%s.conf" % probe, text)
        self.runner.host.run(["ipsec", "addconn", *probes])
        run = self.runner.run_script("costs-%d" % count, command_cost_script(names, sample, probes))
        costs = parse_cost_lines(run["stdout"])
        for label in ("delete_all", "route_all"):
            costs[label]["per_connection_ms"] = costs[label]["median_ms"] / count
        return {"count": count, "sample": len(sample), "costs": costs, **self.check_routed(count)}

    # Driver

    def measure(self, variant: str, count: int) -> dict:
        repeats = 1 if variant in EXPENSIVE_VARIANTS else self.repeat
        # The code under test is read from the work tree at every run, so each measurement records its commit.
        source = source_revision()
        runs = []
        for number in range(repeats):
            self.runner.reset()
            started = time.monotonic()
            outcome = getattr(self, "run_" + variant)(count)
            print(
                "  %-12s N=%-4d run %d/%d: first %.2fs, rerun %.2fs (%.0fs with checks)"
                % (
                    variant,
                    count,
                    number + 1,
                    repeats,
                    outcome["first"]["seconds"],
                    outcome["rerun"]["seconds"],
                    time.monotonic() - started,
                ),
                flush=True,
            )
            runs.append(outcome)
        return {
            "variant": variant,
            "count": count,
            "source": source,
            "runs": runs,
            "median": _medians(runs),
        }


def _module_result_fields(result: dict) -> dict:
    return {
        "changed": result.get("changed"),
        "failed": bool(result.get("failed")),
        "msg": result.get("msg"),
        "libreswan_commands": result.get("libreswan_commands"),
        "summary": result.get("summary"),
    }


def _playbook_fields(run: dict) -> dict:
    """Reduce a playbook run to wall time, task time, failures and the Libreswan command count."""
    task_seconds = 0.0
    libreswan_commands = 0
    failed = run["rc"] != 0
    changed_items = 0
    items = 0
    messages = []
    for task in run["tasks"]:
        task_seconds += task["seconds"] or 0.0
        for result in task["hosts"].values():
            entries = result.get("results") or [result]
            for entry in entries:
                items += 1
                libreswan_commands += entry.get("libreswan_commands") or 0
                changed_items += 1 if entry.get("changed") else 0
                if entry.get("failed") and entry.get("msg") and len(messages) < 3:
                    messages.append(entry["msg"])
            if "summary" in result:
                changed_items = result["summary"].get("changed", changed_items)
    return {
        "seconds": run["seconds"],
        "task_seconds": task_seconds,
        "rc": run["rc"],
        "failed": failed,
        "messages": messages,
        "libreswan_commands": libreswan_commands,
        "changed_items": changed_items,
        "module_calls": items,
        "load_average_before": run["load_average_before"],
    }


def _medians(runs: list) -> dict:
    medians = {}
    for phase in ("first", "rerun"):
        medians[phase] = {
            key: statistics.median(run[phase][key] for run in runs)
            for key in ("seconds", "task_seconds", "process_seconds")
            if all(run[phase].get(key) is not None for run in runs)
        }
    return medians


def top_entries(profile_path: str, sort_key: str, path_markers: tuple = ()) -> list:
    """Return the first PROFILE_ENTRIES functions of a cProfile dump sorted by `sort_key`.

    With `path_markers`, only functions whose file name contains one of them are listed.
    """
    stats = pstats.Stats(profile_path)
    stats.sort_stats(sort_key)
    entries = []
    for function in stats.fcn_list:
        if len(entries) == PROFILE_ENTRIES:
            break
        filename, line, name = function
        if path_markers and not any(marker in filename for marker in path_markers):
            continue
        primitive_calls, calls, total, cumulative, unused_callers = stats.stats[function]
        entries.append(
            {
                "function": "%s:%d(%s)" % (_short_path(filename), line, name),
                "calls": calls,
                "tottime": round(total, 4),
                "cumtime": round(cumulative, 4),
            }
        )
    return entries


def _short_path(filename: str) -> str:
    for marker in ("ansible_collections/", "site-packages/", "pythonlib/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated connection counts (default: %(default)s)",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated variants to run, of %s (default: all)" % ", ".join(VARIANTS),
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per size of the variants other than %s; the table shows medians (default: 3)"
        % " and ".join(EXPENSIVE_VARIANTS),
    )
    parser.add_argument(
        "--profile-size",
        type=int,
        default=None,
        help="connection count for the cProfile runs of the module and the single-command timings "
        "(default: the largest size; 0 skips both)",
    )
    parser.add_argument(
        "--present-sizes",
        default="",
        help="connection counts for the module alone with state present, such as 1000,2000,4000 (default: none)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file for the results (default: %(default)s)"
    )

    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    args.variants = [variant for variant in args.variants.split(",") if variant]
    args.present_sizes = [int(size) for size in args.present_sizes.split(",") if size]
    unknown = [variant for variant in args.variants if variant not in VARIANTS]
    if unknown:
        parser.error("unknown variant %s; choose from %s" % (", ".join(unknown), ", ".join(VARIANTS)))

    if args.profile_size is None:
        args.profile_size = max(args.sizes) if args.sizes else 0
    return args


def main(argv=None) -> int:
    args = parse_arguments(argv)
    if os.geteuid() != 0:
        print("bench_connections: the lab needs root (network namespaces, bind mounts, pluto)", file=sys.stderr)
        return 2
    document = {
        "machine": machine_facts(),
        "sizes": args.sizes,
        "present_sizes": args.present_sizes,
        "repeat": args.repeat,
        "measurements": [],
    }
    started = time.monotonic()
    with Lab(hosts=("west", "east"), ipv6=True) as lab:
        lab["west"].run(["ip", "-6", "route", "replace", PEER_NETWORK, "via", lab["east"].address6])
        runner = LabRunner(lab, "west")
        benchmark = ConnectionBenchmark(runner, args.repeat, args.profile_size)
        document["auto_commands"] = benchmark.auto_commands
        for count in args.sizes:
            for variant in args.variants:
                document["measurements"].append(benchmark.measure(variant, count))
                _save(args.output, document)
        for count in args.present_sizes:
            document["measurements"].append(benchmark.measure(PRESENT_VARIANT, count))
            _save(args.output, document)
        if args.present_sizes:
            count = max(args.present_sizes)
            print("  profiling the module with state present at N=%d" % count, flush=True)
            document["present_profiles"] = {"count": count, **benchmark.profile_module(count, state="present")}
            _save(args.output, document)
        if args.profile_size:
            print("  profiling the module at N=%d" % args.profile_size, flush=True)
            document["profiles"] = {"count": args.profile_size, **benchmark.profile_module(args.profile_size)}
            _save(args.output, document)
            print("  timing single commands at N=%d" % args.profile_size, flush=True)
            document["command_costs"] = benchmark.measure_command_costs(args.profile_size)
    document["machine"]["load_average_at_end"] = load_average()
    document["total_seconds"] = time.monotonic() - started
    _save(args.output, document)
    print("bench_connections: wrote %s in %.0fs" % (args.output, document["total_seconds"]))
    return 0


def _save(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=1) + "\n")
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
