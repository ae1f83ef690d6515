"""Benchmark: parse_status() on synthetic Libreswan 4.10 `whack --status` texts of 1,000 to 10,000 connections.

The texts are built from a status that pluto 4.10 printed in the lab, the test fixture
tests/unit/plugins/module_utils/fixtures/status/4.10-ike-established.status.txt. Each text has
that status's global part, then its "h2h" connection block once per connection, and then one
established IKE SA state line per connection. Each copy of the block is renamed to connNNNNN and
has its own peer address, peer ID and conn serial.

For each size the parse is timed several times and the best wall and CPU times are kept. A
least-squares line through (connections, best CPU seconds) with its R^2 shows whether the time
grows linearly.

A second measurement times summarise(), the per-connection summary that ipsec_connections
computes for every listed connection, called once for every connection of the same texts
(best of three runs, each on a freshly parsed status).

Run from the repository: .venv/bin/python benchmarks/bench_status_parse.py
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent
COLLECTIONS_PATH = REPOSITORY / ".build" / "collections"
for path in (str(COLLECTIONS_PATH), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import summarise  # noqa: E402
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status  # noqa: E402

from machine import load_average, machine_facts  # noqa: E402

FIXTURE = (
    REPOSITORY
    / "tests"
    / "unit"
    / "plugins"
    / "module_utils"
    / "fixtures"
    / "status"
    / "4.10-ike-established.status.txt"
)
DEFAULT_OUTPUT = BENCH_DIR / "results" / "status_parse.json"
DEFAULT_SIZES = tuple(range(1000, 10001, 1000))
PROFILE_ENTRIES = 15
SUMMARISE_REPEAT = 3
TEMPLATE_CONNECTION = "h2h"
# Target: a 10,000-connection status parses in under this many seconds.
TARGET_SECONDS_AT_10000 = 0.2


def split_fixture(text: str) -> dict:
    """Split the captured status into its global head, the template block, its state line and the tail."""
    lines = text.splitlines()
    list_start = lines.index("000 Connection list:") + 2
    total_line = next(index for index, line in enumerate(lines) if line.startswith("000 Total IPsec connections:"))
    block = [line for line in lines[list_start:total_line] if line.startswith('000 "%s":' % TEMPLATE_CONNECTION)]
    state_line = next(line for line in lines if line.startswith('000 #1: "%s"' % TEMPLATE_CONNECTION))
    state_index = lines.index(state_line)
    return {
        "head": lines[:list_start],
        "block": block,
        "middle": lines[total_line + 1 : state_index],
        "state": state_line,
        "tail": lines[state_index + 1 :],
    }


def connection_block(parts: dict, index: int) -> list:
    """Return the template block renamed to connNNNNN, with peer address, peer ID and serials set to `index`."""
    name = '"conn%05d"' % index
    peer = "2001:db8:f::%x" % index
    lines = []
    for line in parts["block"]:
        line = line.replace('"%s"' % TEMPLATE_CONNECTION, name)
        line = line.replace(
            "198.51.100.1[@west]...198.51.100.2[@east]", "2001:db8:0:1::1[@west]...%s[@peer%d]" % (peer, index)
        )
        line = line.replace("their id=@east", "their id=@peer%d" % index)
        line = re.sub(
            r"newest IKE SA: #\d+; newest IPsec SA: #\d+; conn serial: \$\d+;",
            "newest IKE SA: #%d; newest IPsec SA: #0; conn serial: $%d;" % (index, index),
            line,
        )
        lines.append(line)
    return lines


def synthetic_status(parts: dict, count: int) -> str:
    """Return a 4.10 status text with `count` connections, each with one established IKE SA."""
    lines = list(parts["head"])
    for index in range(1, count + 1):
        lines.extend(connection_block(parts, index))
    lines.append("000 Total IPsec connections: loaded %d, active 0" % count)
    for line in parts["middle"]:
        if line.startswith("000 IKE SAs: total("):
            line = "000 IKE SAs: total(%d), half-open(0), open(0), authenticated(%d), anonymous(0)" % (count, count)
        lines.append(line)
    for index in range(1, count + 1):
        lines.append(parts["state"].replace('#1: "%s"' % TEMPLATE_CONNECTION, '#%d: "conn%05d"' % (index, index)))
    lines.extend(parts["tail"])
    return "\n".join(lines) + "\n"


def check_parse(status: dict, count: int) -> None:
    """Raise AssertionError unless every synthetic connection and state was understood."""
    if status["warnings"]:
        raise AssertionError("parse_status warned on the synthetic text: %s" % status["warnings"][:3])
    if len(status["connections"]) != count or len(status["states"]) != count:
        raise AssertionError(
            "expected %d connections and states, got %d and %d"
            % (count, len(status["connections"]), len(status["states"]))
        )
    last = status["connections"]["conn%05d" % count]
    if last["conn_serial"] != count or last["routing"] != "routed":
        raise AssertionError("connection conn%05d parsed wrongly: %r" % (count, last))


def time_call(function, argument, repeat: int) -> tuple:
    """Call function(argument) `repeat` times; return the wall and the CPU seconds of each call."""
    wall = []
    cpu = []
    for unused in range(repeat):
        started = time.perf_counter()
        cpu_started = time.process_time()
        function(argument)
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - started)
    return wall, cpu


def linear_fit(points: list) -> dict:
    """Return slope, intercept and R^2 of the least-squares line through (x, y) points."""
    xs = [x for x, unused in points]
    ys = [y for unused, y in points]
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in points)
    total = sum((y - mean_y) ** 2 for y in ys)
    return {
        "slope_seconds_per_connection": slope,
        "intercept_seconds": intercept,
        "r_squared": 1 - residual / total if total else 1.0,
    }


def measure_parse(parts: dict, sizes: list, repeat: int) -> list:
    rows = []
    for count in sizes:
        text = synthetic_status(parts, count)
        check_parse(parse_status(text), count)
        gc.collect()
        timings, cpu_timings = time_call(parse_status, text, repeat)
        rows.append(
            {
                "count": count,
                "lines": text.count("\n"),
                "bytes": len(text),
                "best_seconds": min(timings),
                "median_seconds": statistics.median(timings),
                "best_cpu_seconds": min(cpu_timings),
                "seconds": timings,
                "cpu_seconds": cpu_timings,
            }
        )
        print(
            "  parse_status N=%-6d best %.4fs median %.4fs" % (count, min(timings), statistics.median(timings)),
            flush=True,
        )
    return rows


def visit_lines(text: str) -> int:
    """Split `text` into lines and strip each line's 3-digit code and blanks, as parse_status() does first."""
    visited = 0
    for raw in text.splitlines():
        line = raw[4:] if raw[:3].isdigit() and raw[3:4] == " " else raw
        if line.strip():
            visited += 1
    return visited


def measure_line_floor(parts: dict, count: int, repeat: int) -> dict:
    """Time visit_lines() on the `count` text: a floor under any parser that looks at every line."""
    text = synthetic_status(parts, count)
    unused_wall, cpu_timings = time_call(visit_lines, text, repeat)
    return {"count": count, "best_cpu_seconds": min(cpu_timings)}


def profile_parse(parts: dict, count: int) -> dict:
    """Profile one parse of `count` connections; return its time and the top functions by own time."""
    text = synthetic_status(parts, count)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(parse_status, text)
    seconds = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime")
    entries = []
    for function in stats.fcn_list[:PROFILE_ENTRIES]:
        unused_primitive, calls, total, cumulative, unused_callers = stats.stats[function]
        filename, line, name = function
        entries.append(
            {
                "function": "%s:%d(%s)" % (Path(filename).name, line, name),
                "calls": calls,
                "tottime": round(total, 4),
                "cumtime": round(cumulative, 4),
            }
        )
    return {"count": count, "seconds_with_profiler": seconds, "by_tottime": entries}


def summarise_all(status: dict) -> None:
    for name in status["connections"]:
        summarise(status, name)


def measure_summarise(parts: dict, sizes: list, repeat: int) -> list:
    """Time summarise() for every connection; each of `repeat` runs gets a freshly parsed status."""
    rows = []
    for count in sizes:
        text = synthetic_status(parts, count)
        timings = []
        cpu_timings = []
        for unused in range(repeat):
            status = parse_status(text)
            wall, cpu = time_call(summarise_all, status, 1)
            timings += wall
            cpu_timings += cpu
        rows.append(
            {
                "count": count,
                "seconds": min(timings),
                "cpu_seconds": min(cpu_timings),
                "per_connection_seconds": min(cpu_timings) / count,
            }
        )
        print("  summarise every connection N=%-6d best %.3fs CPU" % (count, min(cpu_timings)), flush=True)
    return rows


def fits_and_target(document: dict) -> dict:
    """Return the linear fits of the parse and summarise times and the check of the 10,000 target.

    The fits and the target use CPU time (time.process_time), because on a shared machine the
    wall time of a single-threaded parse also counts the time other processes held the CPU.
    The wall-time fit and times are kept next to them.
    """
    parse = document["parse"]
    largest = max(parse, key=lambda row: row["count"])
    results = {
        "parse_fit": linear_fit([(row["count"], row["best_cpu_seconds"]) for row in parse]),
        "parse_fit_wall": linear_fit([(row["count"], row["best_seconds"]) for row in parse]),
        "target": {
            "count": largest["count"],
            "best_cpu_seconds": largest["best_cpu_seconds"],
            "best_seconds": largest["best_seconds"],
            "limit_seconds": TARGET_SECONDS_AT_10000,
            "met": largest["count"] >= 10000 and largest["best_cpu_seconds"] < TARGET_SECONDS_AT_10000,
        },
    }
    if len(document.get("summarise", [])) > 1:
        results["summarise_fit"] = linear_fit([(row["count"], row["cpu_seconds"]) for row in document["summarise"]])
    return results


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated connection counts (default: 1000 to 10000 in steps of 1000)",
    )
    parser.add_argument("--repeat", type=int, default=7, help="parses per size; the best counts (default: %(default)s)")
    parser.add_argument(
        "--summarise-sizes",
        default=None,
        help="connection counts for the summarise() measurement, empty to skip (default: --sizes)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file for the results (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    if args.summarise_sizes is None:
        args.summarise_sizes = args.sizes
    else:
        args.summarise_sizes = [int(size) for size in args.summarise_sizes.split(",") if size]
    return args


def main(argv=None) -> int:
    args = parse_arguments(argv)
    parts = split_fixture(FIXTURE.read_text())
    document = {"machine": machine_facts(), "fixture": str(FIXTURE.relative_to(REPOSITORY)), "repeat": args.repeat}
    document["parse"] = measure_parse(parts, args.sizes, args.repeat)
    if args.summarise_sizes:
        document["summarise"] = measure_summarise(parts, args.summarise_sizes, SUMMARISE_REPEAT)
    document.update(fits_and_target(document))
    fit = document["parse_fit"]
    print(
        "  linear fit of CPU times: %.2f us per connection + %.4fs, R^2 %.4f"
        % (fit["slope_seconds_per_connection"] * 1e6, fit["intercept_seconds"], fit["r_squared"])
    )
    document["parse_profile"] = profile_parse(parts, document["target"]["count"])
    document["line_floor"] = measure_line_floor(parts, document["target"]["count"], args.repeat)
    document["machine"]["load_average_at_end"] = load_average()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    print("bench_status_parse: wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
