"""Run playbooks, scripts and the module file against a lab host, timed, for the benchmarks."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import ansible

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from tests.lab import ansible_environment  # noqa: E402
from tests.lab.inventory import COLLECTIONS_PATH  # noqa: E402

from machine import load_average  # noqa: E402

__all__ = ["LabRunner", "TARGET_PYTHON"]

BENCH_DIR = Path(__file__).resolve().parent
CALLBACK_DIR = BENCH_DIR / "callback_plugins"
LAUNCHER = BENCH_DIR / "module_launcher.py"
TARGET_PYTHON = "/usr/bin/python3"
# A run that takes longer than this raises subprocess.TimeoutExpired, which ends the benchmark.
RUN_TIMEOUT = 4 * 3600

# 4.10 prints "prospective erouted" for a connection with a trap policy and no SA.
ROUTED_RE = re.compile(r'^(?:000 )?"([^"]+)": .*; prospective erouted;', re.MULTILINE)
SERIAL_RE = re.compile(r'^(?:000 )?"([^"]+)":\s+newest IKE SA: .*conn serial: \$(\d+)', re.MULTILINE)


class LabRunner:
    """Timed runs against host `host_name` of `lab`, with files kept under LABROOT/bench."""

    def __init__(self, lab, host_name: str = "west"):
        self.lab = lab
        self.host = lab[host_name]
        self.host_name = host_name
        self.work_dir = Path(lab.root) / "bench"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.counter = itertools.count(1)
        self.playbook_binary = str(Path(sys.executable).parent / "ansible-playbook")
        # The module file runs without AnsiballZ, so `ansible` must be importable on the target
        # side: a directory that contains only the controller's ansible package is put on PYTHONPATH.
        self.python_lib = self.work_dir / "pythonlib"
        self.python_lib.mkdir(exist_ok=True)
        link = self.python_lib / "ansible"
        if not link.exists():
            link.symlink_to(Path(ansible.__file__).resolve().parent)
        self.empty_cache = self.work_dir / "empty-pycache"
        self.empty_cache.mkdir(exist_ok=True)

    def _next_prefix(self, label: str) -> Path:
        return self.work_dir / ("%03d-%s" % (next(self.counter), label))

    # Pluto state

    def reset(self) -> None:
        """Restart every pluto with the default files and an empty /etc/ipsec.d."""
        self.lab.reset(restart=True)

    def routed_names(self) -> set:
        """Return the names of the connections whose status shows a trap policy and no SA."""
        return set(ROUTED_RE.findall(self.host.status()))

    def serials(self) -> dict:
        """Return {connection name: conn serial}; a serial changes whenever pluto loads the connection again."""
        return dict(SERIAL_RE.findall(self.host.status()))

    # Ansible

    def run_playbook(self, label: str, playbook: str, extra_vars: dict) -> dict:
        """Run `playbook` against the lab and return its wall time, task times and reduced results."""
        prefix = self._next_prefix(label)
        playbook_path = prefix.with_suffix(".yml")
        playbook_path.write_text(playbook)
        vars_path = Path(str(prefix) + "-vars.json")
        vars_path.write_text(json.dumps(extra_vars))
        result_path = prefix.with_suffix(".json")

        command = [self.playbook_binary, str(playbook_path), "--extra-vars", "@%s" % vars_path]
        env = ansible_environment(
            self.lab,
            {
                "ANSIBLE_STDOUT_CALLBACK": "bench_timing",
                "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
                "BENCH_PLAYBOOK_RESULT": str(result_path),
            },
        )
        load = load_average()
        started = time.monotonic()
        completed = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=str(self.work_dir), timeout=RUN_TIMEOUT, check=False
        )
        seconds = time.monotonic() - started

        if not result_path.exists():
            raise RuntimeError(
                "ansible-playbook %s wrote no result (rc %d)\nstderr: %s\nstdout: %s"
                % (playbook_path, completed.returncode, completed.stderr[-3000:], completed.stdout[-3000:])
            )
        document = json.loads(result_path.read_text())
        return {
            "seconds": seconds,
            "rc": completed.returncode,
            "load_average_before": load,
            "tasks": document["tasks"],
            "stats": document["stats"],
        }

    # Shell script on the host

    def run_script(self, label: str, script: str) -> dict:
        """Run `script` with /bin/sh on the host and return its wall time and exit code."""
        path = self._next_prefix(label).with_suffix(".sh")
        path.write_text(script)
        load = load_average()
        started = time.monotonic()
        completed = self.host.run(["/bin/sh", str(path)], check=False, timeout=RUN_TIMEOUT)
        seconds = time.monotonic() - started
        return {
            "seconds": seconds,
            "rc": completed.returncode,
            "load_average_before": load,
            "stdout": completed.stdout,
            "stderr_tail": completed.stderr[-2000:],
        }

    # The module file, without Ansible

    def run_module(self, label: str, module_path: Path, module_args: dict, profile: bool = False) -> dict:
        """Run `module_path` inside the host through module_launcher.py; return times, memory and result.

        `seconds` is the launcher's wall time of the module code; `process_seconds` is measured
        here and also covers `ip netns exec`, the wrapper's bind mounts and interpreter start-up.
        """
        prefix = self._next_prefix(label)
        args_path = Path(str(prefix) + "-args.json")
        args_path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        measurement_path = Path(str(prefix) + "-measurement.json")
        argv = [TARGET_PYTHON, str(LAUNCHER), str(module_path), str(args_path), str(measurement_path)]
        profile_path = Path(str(prefix) + ".prof")
        if profile:
            argv.append(str(profile_path))
        # AnsiballZ imports the module and its module_utils from a zip file, which compiles them on
        # every run. An empty cache directory and no bytecode writes do the same here.
        env = {
            "PYTHONPATH": "%s:%s" % (COLLECTIONS_PATH, self.python_lib),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPYCACHEPREFIX": str(self.empty_cache),
        }
        load = load_average()
        started = time.monotonic()
        completed = self.host.run(argv, check=False, env=env, timeout=RUN_TIMEOUT)
        process_seconds = time.monotonic() - started
        if not measurement_path.exists():
            raise RuntimeError(
                "module run %s wrote no measurement (rc %d)\nstderr: %s"
                % (label, completed.returncode, completed.stderr[-3000:])
            )
        measurement = json.loads(measurement_path.read_text())
        try:
            result = json.loads(completed.stdout)
        except ValueError:
            result = {"failed": True, "msg": "module printed no JSON: %s" % completed.stdout[-2000:]}
        measurement.update(
            {
                "process_seconds": process_seconds,
                "load_average_before": load,
                "result": result,
                "profile_path": str(profile_path) if profile else None,
            }
        )
        return measurement
