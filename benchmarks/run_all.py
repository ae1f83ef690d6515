"""Run every benchmark, then plot and tabulate the results: the `make bench` entry point.

Steps: install benchmarks/requirements.txt (matplotlib) into the project's .venv when it is
missing and run bench_status_parse.py. Then run bench_connections.py twice (root: it builds a lab
of network namespaces with real pluto): once for every variant at N=1,50,200,500 and once for the
module alone with state present at N=1000,2000,4000. Last, plot.py draws docs/benchmarks*.png and
report.py writes benchmarks/results/report.md. The raw results go to benchmarks/results/*.json.

Run as root from the repository: .venv/bin/python benchmarks/run_all.py [--quick]
The full run takes about an hour on 2 CPUs, mostly the loop variants at 500 connections.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent
VENV = REPOSITORY / ".venv"
REQUIREMENTS = BENCH_DIR / "requirements.txt"
# The module alone with state present, at counts where routing every connection would take minutes.
PRESENT_SIZES = "1000,2000,4000"
PRESENT_RESULT = BENCH_DIR / "results" / "connections_present.json"


def install_plot_requirements() -> None:
    """Install matplotlib into the project's venv with pip when it cannot be imported."""
    if importlib.util.find_spec("matplotlib") is not None:
        return
    if Path(sys.prefix).resolve() != VENV.resolve():
        raise SystemExit(
            "run_all: matplotlib is missing and this Python (%s) is not the project's venv %s; "
            "run `make deps` and then `.venv/bin/python benchmarks/run_all.py`" % (sys.prefix, VENV)
        )
    print("run_all: installing %s into %s" % (REQUIREMENTS.relative_to(REPOSITORY), VENV), flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        check=True,
    )


def run_step(script: str, arguments: list) -> None:
    argv = [sys.executable, str(BENCH_DIR / script), *arguments]
    print("run_all: %s" % " ".join(argv), flush=True)
    started = time.monotonic()
    subprocess.run(argv, check=True, cwd=str(REPOSITORY))
    print("run_all: %s finished in %.0fs" % (script, time.monotonic() - started), flush=True)


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: N=1,50 with one run each and parse sizes 1000 to 3000 (results overwrite the full ones)",
    )
    parser.add_argument("--skip-connections", action="store_true", help="leave out bench_connections.py (needs root)")
    parser.add_argument("--skip-status-parse", action="store_true", help="leave out bench_status_parse.py")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_arguments(argv)
    if not args.skip_connections and os.geteuid() != 0:
        print(
            "run_all: bench_connections.py builds network namespaces and needs root; "
            "run as root or pass --skip-connections",
            file=sys.stderr,
        )
        return 2
    install_plot_requirements()
    if not args.skip_status_parse:
        run_step("bench_status_parse.py", ["--sizes", "1000,2000,3000", "--repeat", "3"] if args.quick else [])
    if not args.skip_connections:
        run_step("bench_connections.py", ["--sizes", "1,50", "--repeat", "1"] if args.quick else [])
        present_sizes = "100,200" if args.quick else PRESENT_SIZES
        run_step(
            "bench_connections.py",
            ["--sizes", "", "--present-sizes", present_sizes, "--output", str(PRESENT_RESULT)]
            + (["--repeat", "1"] if args.quick else []),
        )
    run_step("plot.py", [])
    run_step("report.py", [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
