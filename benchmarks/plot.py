"""Plot the benchmark results as docs/benchmarks.png and docs/benchmarks-status-parse.png.

docs/benchmarks.png shows converge time against N from results/connections.json and, when it
exists, results/connections_present.json. docs/benchmarks-status-parse.png shows parse time
against connections from results/status_parse.json.

Needs matplotlib (benchmarks/requirements.txt). Run from the repository: .venv/bin/python benchmarks/plot.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CONNECTIONS_PLOT = REPOSITORY / "docs" / "benchmarks.png"
STATUS_PARSE_PLOT = REPOSITORY / "docs" / "benchmarks-status-parse.png"

# (variant, label, value key, line style); the playbook variants plot the task's own time.
SERIES = (
    ("one_task", "(a) ipsec_connections, one task", "task_seconds", "o-"),
    ("loop", "(b) loop over ipsec_connection", "task_seconds", "s-"),
    ("script", "(c) naive shell script (ipsec auto)", "seconds", "^-"),
    ("command_loop", "(c) naive command loops in Ansible", "task_seconds", "v-"),
    ("module", "module file alone, no Ansible", "seconds", "x--"),
    ("module_present", "module file alone, state present", "seconds", "+:"),
)


def plot_connections(document: dict, path: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for axis, phase, title in (
        (axes[0], "first", "first converge"),
        (axes[1], "rerun", "rerun (no-op for the modules)"),
    ):
        for variant, label, key, style in SERIES:
            points = sorted(
                (measurement["count"], measurement["median"][phase][key])
                for measurement in document["measurements"]
                if measurement["variant"] == variant and key in measurement["median"][phase]
            )
            if points:
                axis.plot(
                    [count for count, unused in points], [seconds for unused, seconds in points], style, label=label
                )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("connections (N)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds, log scale (playbooks: task time)")
    axes[1].legend(fontsize=8, loc="upper left")
    figure.suptitle(
        "N IPv6 host-to-host connections to state routed, pluto 4.10 in network namespaces (%s CPUs)"
        % document["machine"]["nproc"],
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_status_parse(document: dict, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    counts = [row["count"] for row in document["parse"]]
    axis.plot(
        counts,
        [row["best_cpu_seconds"] for row in document["parse"]],
        "o",
        label="parse_status CPU time, best of %d" % document["repeat"],
    )
    axis.plot(
        counts,
        [row["best_seconds"] for row in document["parse"]],
        ".",
        color="grey",
        label="parse_status wall time, best of %d" % document["repeat"],
    )
    fit = document["parse_fit"]
    axis.plot(
        counts,
        [fit["intercept_seconds"] + fit["slope_seconds_per_connection"] * count for count in counts],
        "-",
        label="linear fit of CPU times, R² = %.4f" % fit["r_squared"],
    )

    if document.get("summarise"):
        axis.plot(
            [row["count"] for row in document["summarise"]],
            [row["cpu_seconds"] for row in document["summarise"]],
            "s--",
            label="summarise() for every connection, CPU time",
        )

    axis.axhline(document["target"]["limit_seconds"], color="grey", linestyle=":", label="target at 10,000")
    axis.set_xlabel("connections in the status (one IKE SA each)")
    axis.set_ylabel("seconds")
    axis.set_title("Parsing Libreswan 4.10 whack --status output", fontsize=10)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> int:
    written = []
    connections = RESULTS_DIR / "connections.json"
    present = RESULTS_DIR / "connections_present.json"
    if connections.exists():
        document = json.loads(connections.read_text())
        if present.exists():
            document["measurements"] = document["measurements"] + json.loads(present.read_text())["measurements"]
        plot_connections(document, CONNECTIONS_PLOT)
        written.append(CONNECTIONS_PLOT)
    status_parse = RESULTS_DIR / "status_parse.json"
    if status_parse.exists():
        plot_status_parse(json.loads(status_parse.read_text()), STATUS_PARSE_PLOT)
        written.append(STATUS_PARSE_PLOT)
    if not written:
        print("plot: no results in %s; run benchmarks/run_all.py first" % RESULTS_DIR, file=sys.stderr)
        return 1
    for path in written:
        print("plot: wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
