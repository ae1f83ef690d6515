"""Boot the User-Mode Linux guest for real: command, output, ESP, timeout and cleanup.

Each boot takes about 3 s; the probe test boots once and checks several facts from that run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import NamedTuple

import pytest

# NOTE: pytest puts only tests/ and the test's own directory on sys.path, so the project's top
# directory is added here until pytest.ini sets `pythonpath = .`.
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if TOP not in sys.path:
    sys.path.insert(0, TOP)

from tests.guest import (  # noqa: E402
    UML_BINARY,
    GuestResult,
    GuestTimeoutError,
    esp_in_guest_check,
    run_in_guest,
)
from tests.guest.processes import list_processes  # noqa: E402

pytestmark = [
    pytest.mark.esp,
    pytest.mark.skipif(
        not os.path.exists(UML_BINARY), reason="%s is missing; install user-mode-linux" % UML_BINARY
    ),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="the guest reads /root and runs as root; run the tests as root"
    ),
]

PROBE_EXIT_STATUS = 3
PROBE_ARGUMENTS = ["a b", "$(echo not run)", "line\nbreak", "'quoted' \"twice\"", "caf\u00e9", ""]
# Runs in the guest with the project's venv Python and records what it finds in facts.json.
PROBE = r"""
import json, os, subprocess, sys

marker = os.environ["GUEST_PROBE_MARKER"]
facts = {
    "argv": sys.argv[1:],
    "probe_env": os.environ.get("GUEST_PROBE_VALUE"),
    "cwd": os.getcwd(),
    "uid": os.getuid(),
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "written": [],
}
for directory in os.environ["GUEST_PROBE_DIRS"].split(":"):
    path = os.path.join(directory, marker)
    with open(path, "w") as handle:
        handle.write("written in the guest\n")
    facts["written"].append(path)
base = os.path.realpath(os.path.join(sys.base_prefix, "bin", "python3"))
facts["base_python"] = subprocess.run(
    [base, "-c", "import sys, ssl, sqlite3; print(sys.version.split()[0])"],
    capture_output=True, text=True, check=True,
).stdout.strip()
import ansible
facts["ansible"] = ansible.__version__
with open(os.path.join(os.environ["GUEST_RESULTS"], "facts.json"), "w") as handle:
    json.dump(facts, handle)
print("probe stdout")
print("probe stderr", file=sys.stderr)
sys.exit(%d)
""" % PROBE_EXIT_STATUS


class Probe(NamedTuple):
    """One guest run of PROBE and what it recorded."""

    result: GuestResult
    facts: dict
    marker: str
    directories: list[str]


def session_survivors(sid):
    """Pids of processes in session or process group `sid` that are not zombies."""
    return [
        info.pid
        for info in list_processes()
        if (info.sid == sid or info.pgid == sid) and info.state not in ("Z", "X")
    ]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    results = tmp_path_factory.mktemp("probe-results")
    marker = "guest-probe-%s" % uuid.uuid4().hex
    directories = ["/etc", "/usr", "/root", "/var", "/tmp", TOP]
    env = dict(
        os.environ,
        GUEST_PROBE_VALUE="value with spaces",
        GUEST_PROBE_MARKER=marker,
        GUEST_PROBE_DIRS=":".join(directories),
    )
    result = run_in_guest(
        [sys.executable, "-c", PROBE, *PROBE_ARGUMENTS],
        cwd=TOP,
        env=env,
        timeout=300,
        result_dir=results,
    )
    with open(results / "facts.json") as handle:
        facts = json.load(handle)
    return Probe(result, facts, marker, directories)


def test_guest_returns_command_status(probe):
    result = probe.result
    assert result.returncode == PROBE_EXIT_STATUS


def test_guest_returns_stdout_and_stderr(probe):
    result = probe.result
    assert "probe stdout\n" in result.output
    assert "probe stderr\n" in result.output


def test_guest_passes_arguments_verbatim(probe):
    facts = probe.facts
    assert facts["argv"] == PROBE_ARGUMENTS


def test_guest_passes_environment_and_cwd(probe):
    facts = probe.facts
    assert facts["probe_env"] == "value with spaces"
    assert facts["cwd"] == TOP
    assert facts["uid"] == 0


def test_guest_has_only_loopback(probe):
    facts = probe.facts
    assert facts["interfaces"] == ["lo"]


def test_guest_runs_project_venv(probe):
    facts = probe.facts
    import ansible

    assert facts["ansible"] == ansible.__version__


def test_guest_runs_venv_base_python(probe):
    facts = probe.facts
    assert facts["base_python"] == "%d.%d.%d" % sys.version_info[:3]


def test_guest_writes_stay_in_guest(probe):
    facts, marker, directories = probe.facts, probe.marker, probe.directories
    assert len(facts["written"]) == len(directories)
    for directory in directories:
        assert not os.path.exists(os.path.join(directory, marker))


def test_guest_results_dir_comes_back(probe):
    result = probe.result
    control_dir = result.control_dir
    assert os.path.isfile(os.path.join(result.result_dir, "facts.json"))
    with open(os.path.join(control_dir, "status")) as handle:
        assert handle.read().strip() == str(PROBE_EXIT_STATUS)
    with open(os.path.join(control_dir, "output.txt")) as handle:
        assert handle.read() == result.output
    for name in ("init.log", "console.log", "dmesg.txt", "started"):
        assert os.path.isfile(os.path.join(control_dir, name)), name


def test_guest_deletes_environment_file(probe):
    result = probe.result
    assert not os.path.exists(os.path.join(result.control_dir, "env"))


def test_guest_reports_boot_time(probe):
    result = probe.result
    assert result.boot_seconds is not None
    assert 0 < result.boot_seconds < result.wall_seconds


def test_guest_leaves_no_process(probe):
    result = probe.result
    assert session_survivors(result.pgid) == []


def test_guest_installs_esp_sa(tmp_path):
    result = esp_in_guest_check(result_dir=tmp_path)
    assert result.returncode == 0
    assert "ESP with AES-GCM works" in result.output
    assert session_survivors(result.pgid) == []


def test_guest_timeout_kills_whole_tree(tmp_path):
    started = time.monotonic()
    with pytest.raises(GuestTimeoutError) as raised:
        run_in_guest(["sh", "-c", "echo begun; sleep 600"], timeout=15, result_dir=tmp_path)
    result = raised.value.result
    assert time.monotonic() - started < 60
    assert result.returncode is None
    assert result.output == "begun\n"
    assert session_survivors(result.pgid) == []


def test_guest_ignores_leftover_background_process(tmp_path):
    # The background sleep keeps the output pipe open; the run must still end with the command.
    started = time.monotonic()
    result = run_in_guest(["sh", "-c", "sleep 600 & echo done"], timeout=120, result_dir=tmp_path)
    assert result.returncode == 0
    assert result.output == "done\n"
    assert time.monotonic() - started < 60


CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.guest import run_in_guest

def show(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()

run_in_guest(["sh", "-c", "echo begun; sleep 600"], timeout=300, result_dir=sys.argv[2], on_output=show)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_guest_signal_kills_whole_tree(tmp_path, sig):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, TOP, str(tmp_path)], stdout=subprocess.PIPE
    )
    try:
        assert child.stdout.readline() == b"begun\n"
        sessions = [info.sid for info in list_processes() if info.ppid == child.pid]
        assert len(sessions) == 1
        assert session_survivors(sessions[0])
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -sig
    assert session_survivors(sessions[0]) == []
