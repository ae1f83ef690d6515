"""Fixtures for the integration tests: a lab of two Libreswan hosts and Ansible runs against it.

- `lab_available` (session): skips unless this machine can build labs; for tests that build
  their own.
- `lab` (session): hosts west (198.51.100.1, 2001:db8:0:1::1) and east (198.51.100.2,
  2001:db8:0:1::2), each running its own pluto, with the protected subnets of
  tests.lab.PROTECTED_SUBNETS. Skipped only when not root or when `ip netns` does not work.
- `clean_lab` (function): the same lab after a reset: default ipsec.conf and ipsec.secrets, an
  empty /etc/ipsec.d and freshly restarted plutos (about 0.1 s for both).
- `inventory` (session): path of the lab's YAML inventory.
- `run_playbook` (session): runs ansible-playbook against the lab and returns a PlaybookRun.

Tests marked `esp` and `lab` need a kernel that installs ESP SAs. When this kernel lacks ESP, the
esp_guest plugin, registered here, runs them in one User-Mode Linux guest (see esp_guest.py).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
# tests/ has no __init__.py, so the repository's top directory must be on sys.path for
# `import tests.lab` whichever way pytest was started.
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from tests.lab import PROTECTED_SUBNETS, Lab, ansible_environment, cleanup  # noqa: E402
from tests.integration import esp_guest  # noqa: E402

CALLBACK_PLUGINS = Path(__file__).resolve().parent / "callback_plugins"
PLAYBOOK_TIMEOUT = 600

# Timings of the session lab, printed in the terminal summary.
LAB_TIMINGS: dict = {}


def lab_unavailable_reason() -> str | None:
    """Return why the lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, bind mounts, pluto); run pytest as root"
    if shutil.which("ip") is None:
        return "iproute2's ip command is not installed"
    completed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        return "`ip netns` is unavailable: %s" % completed.stderr.strip()
    return None


def pytest_configure(config):
    esp_guest.register(config, lab_unavailable_reason)


def selected_installation():
    """Return the Libreswan the session lab runs: LAB_LIBRESWAN=5.2 selects 5.2, else the system's."""
    wanted = os.environ.get("LAB_LIBRESWAN", "").strip()
    if wanted in ("", "system", "4.10"):
        return None
    if wanted == "5.2":
        from tests.lab.libreswan52 import libreswan_52_installation

        return libreswan_52_installation()
    raise pytest.UsageError("LAB_LIBRESWAN=%r: use 4.10 (the system's Libreswan) or 5.2" % wanted)


@pytest.fixture(scope="session")
def lab_available():
    """Skip the test unless this machine can build labs (root and a working `ip netns`)."""
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lab(lab_available):
    # Labs whose creating process died (a killed test run) are removed; running ones are kept.
    for line in cleanup(stale_only=True):
        if not line.startswith("kept"):
            print("lab cleanup: %s" % line, file=sys.stderr)
    with Lab(hosts=("west", "east"), ipv6=True, subnets=PROTECTED_SUBNETS,
             installation=selected_installation()) as session_lab:
        yield session_lab
        LAB_TIMINGS.update(session_lab.timings)
    LAB_TIMINGS["teardown"] = session_lab.timings.get("teardown")


@pytest.fixture
def clean_lab(lab):
    """The session lab with every host reset and pluto restarted."""
    lab.reset(restart=True)
    return lab


@pytest.fixture(scope="session")
def inventory(lab) -> Path:
    return lab.inventory_path


@dataclass
class PlaybookRun:
    """The outcome of one ansible-playbook run.

    `plays` is the JSON callback's list of plays, each with `tasks`, each task with `task`
    (name, action) and `hosts` (host name to the module result, plus `_lab_status`: ok,
    failed, ignored, skipped or unreachable). `stats` is the recap by host: ok, changed,
    failures, unreachable, skipped, rescued, ignored. `seconds` is the run's wall time.
    """

    command: list
    rc: int
    stdout: str
    stderr: str
    plays: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def tasks(self) -> list:
        return [task for play in self.plays for task in play["tasks"]]

    def task(self, name: str) -> dict:
        """Return {host: result} of the last task called `name`."""
        matches = [task for task in self.tasks if task["task"]["name"] == name]
        if not matches:
            raise KeyError("no task named %r; tasks: %s" % (name, [task["task"]["name"] for task in self.tasks]))
        return matches[-1]["hosts"]

    def result(self, task_name: str, host: str) -> dict:
        return self.task(task_name)[host]

    def changed(self, host: str | None = None) -> int:
        return self._count("changed", host)

    def failed(self, host: str | None = None) -> int:
        return self._count("failures", host) + self._count("unreachable", host)

    def _count(self, key: str, host: str | None) -> int:
        hosts = [host] if host else list(self.stats)
        return sum(self.stats.get(name, {}).get(key, 0) for name in hosts)

    def __str__(self) -> str:
        return "ansible-playbook exited %d\nstderr:\n%s\nstdout:\n%s" % (self.rc, self.stderr, self.stdout[-4000:])


def ansible_binary(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        pytest.fail("%s not found next to %s or on PATH; run `bash scripts/bootstrap.sh`" % (name, sys.executable))
    return found


@pytest.fixture(scope="session")
def run_playbook(lab, inventory):
    """Return run(playbook, extra_vars=None, check=False, diff=False, verbosity=0, limit=None).

    `playbook` is a path or the playbook's YAML text. The run uses the lab inventory and the
    lab_json callback and returns a PlaybookRun; it raises only when no JSON result came back.
    """
    work_dir = Path(lab.root) / "ansible" / "runs"
    work_dir.mkdir(parents=True, exist_ok=True)
    counter = itertools.count(1)

    def run(playbook, extra_vars=None, check=False, diff=False, verbosity=0, limit=None) -> PlaybookRun:
        number = next(counter)
        prefix = work_dir / ("run-%d-%d" % (os.getpid(), number))
        if isinstance(playbook, Path) or ("\n" not in playbook and Path(playbook).is_file()):
            playbook_path = Path(playbook)
        else:
            playbook_path = prefix.with_suffix(".yml")
            playbook_path.write_text(playbook)

        result_path = prefix.with_suffix(".json")
        result_path.unlink(missing_ok=True)
        command = [ansible_binary("ansible-playbook"), "-i", str(inventory), str(playbook_path)]
        if extra_vars:
            vars_path = Path(str(prefix) + "-vars.json")
            vars_path.write_text(json.dumps(extra_vars))
            command += ["--extra-vars", "@%s" % vars_path]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if limit:
            command += ["--limit", limit]
        if verbosity:
            command.append("-" + "v" * verbosity)

        env = ansible_environment(
            lab,
            {
                "ANSIBLE_STDOUT_CALLBACK": "lab_json",
                "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
                "LAB_PLAYBOOK_RESULT": str(result_path),
            },
        )
        started = time.monotonic()
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=str(playbook_path.parent),
            timeout=PLAYBOOK_TIMEOUT,
            check=False,
        )

        outcome = PlaybookRun(command, completed.returncode, completed.stdout, completed.stderr)
        outcome.seconds = time.monotonic() - started
        if not result_path.exists():
            raise AssertionError("ansible-playbook wrote no JSON result\n%s" % outcome)
        document = json.loads(result_path.read_text())
        outcome.plays = document["plays"]
        outcome.stats = document["stats"]
        return outcome

    return run


def pytest_terminal_summary(terminalreporter):
    if LAB_TIMINGS:
        parts = ["%s %.2fs" % (name, seconds) for name, seconds in LAB_TIMINGS.items() if seconds is not None]
        terminalreporter.write_line("lab timings (session lab): " + ", ".join(parts))
