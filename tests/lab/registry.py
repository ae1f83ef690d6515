"""Records of live labs, and the teardown that uses them.

Each lab writes a record to RECORD_DIR/<id>.json before it creates anything, and updates it as
it adds namespaces, /etc/netns entries and pluto processes. A lab root directory contains a marker
file with the lab id. `python -m tests.lab cleanup` removes only what a record lists and only
when the names match the lab's prefix `lsw<id>-`, so it never touches anything else.

The records live under /run, which is cleared at boot together with every network namespace.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import secrets
import shutil
import signal
import threading
import time

from . import network
from .commands import LabError

__all__ = [
    "RECORD_DIR",
    "MARKER_NAME",
    "ETC_NETNS_DIR",
    "new_lab_id",
    "namespace_name",
    "owner_alive",
    "process_start_time",
    "save_record",
    "load_records",
    "destroy_record",
    "cleanup",
    "track",
    "untrack",
]

log = logging.getLogger("tests.lab")

RECORD_DIR = "/run/lsw-lab"
MARKER_NAME = ".lsw-lab"
ETC_NETNS_DIR = "/etc/netns"
NAME_PREFIX = "lsw"
LAB_ID_RE = re.compile(r"^[0-9a-f]{6}$")
NAMESPACE_RE = re.compile(r"^lsw(?P<id>[0-9a-f]{6})-[a-z][a-z0-9]*$")


def new_lab_id() -> str:
    """Return a lab id that no record and no namespace uses yet, and claim it with a first record.

    The record file is created with O_EXCL, so two processes never get the same id.
    """
    os.makedirs(RECORD_DIR, mode=0o700, exist_ok=True)
    in_use = {match.group("id") for match in map(NAMESPACE_RE.match, network.list_namespaces()) if match}
    while True:
        lab_id = secrets.token_hex(3)
        if lab_id in in_use:
            continue
        try:
            descriptor = os.open(_record_path(lab_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        owner = os.getpid()
        with os.fdopen(descriptor, "w") as stream:
            json.dump({"id": lab_id, "owner_pid": owner, "owner_start": process_start_time(owner)}, stream)
        return lab_id


def namespace_name(lab_id: str, host: str) -> str:
    return "%s%s-%s" % (NAME_PREFIX, lab_id, host)


def belongs_to(lab_id: str, name: str) -> bool:
    """Tell whether namespace name `name` carries the prefix of lab `lab_id`."""
    match = NAMESPACE_RE.match(name)
    return bool(match) and match.group("id") == lab_id


def process_start_time(pid: int) -> str | None:
    """Return the start time of process `pid` in clock ticks since boot, or None if it is gone.

    A pid and its start time identify one process even after the pid is reused. A zombie
    counts as gone: it has exited, and only its parent can reap it.
    """
    try:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def owner_alive(record: dict) -> bool:
    owner = record.get("owner_pid")
    return bool(owner) and process_start_time(owner) == record.get("owner_start")


def _record_files() -> list:
    try:
        return sorted(name for name in os.listdir(RECORD_DIR) if name.endswith(".json"))
    except FileNotFoundError:
        return []


def _record_path(lab_id: str) -> str:
    if not LAB_ID_RE.match(lab_id):
        raise LabError("invalid lab id %r: expected 6 hexadecimal digits" % lab_id)
    return os.path.join(RECORD_DIR, lab_id + ".json")


def save_record(record: dict) -> None:
    """Write `record` atomically to its file under RECORD_DIR."""
    os.makedirs(RECORD_DIR, mode=0o700, exist_ok=True)
    path = _record_path(record["id"])
    temporary = path + ".tmp"
    with open(temporary, "w") as stream:
        json.dump(record, stream, indent=1, sort_keys=True)
    os.replace(temporary, path)


def load_records() -> list:
    """Return every lab record under RECORD_DIR; unreadable files are logged and skipped."""
    records = []
    for name in _record_files():
        path = os.path.join(RECORD_DIR, name)
        try:
            with open(path) as stream:
                record = json.load(stream)
        except (OSError, ValueError) as error:
            log.warning("skipping unreadable lab record %s: %s", path, error)
            continue
        if record.get("id") + ".json" != name:
            log.warning("skipping lab record %s: its id %r does not match the file name", path, record.get("id"))
            continue
        records.append(record)
    return records


def stop_process(pid: int, start_time: str | None, timeout: float = 5.0) -> None:
    """Send SIGTERM to the process, then SIGKILL if it is still there after `timeout` seconds.

    Does nothing when `pid` is gone or, with `start_time` given, now belongs to another process.
    """
    current = process_start_time(pid)
    if current is None or (start_time is not None and current != start_time):
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if process_start_time(pid) != current:
                return
            time.sleep(0.02)
    raise LabError("process %d did not exit after SIGKILL" % pid)


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if it is a child of this process that has exited."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def destroy_record(record: dict) -> None:
    """Remove everything that `record` lists, then the record itself.

    Order: recorded pluto processes, any other process left in the lab's namespaces, the
    namespaces (which takes their links with them), the /etc/netns entries and, unless the
    record has `keep` set, the lab root directory. Every step runs even when an earlier one failed;
    the failures are raised together at the end.
    """
    lab_id = record["id"]
    problems = []

    for name, entry in sorted(record.get("processes", {}).items()):
        try:
            stop_process(entry["pid"], entry.get("start_time"))
        except (LabError, OSError) as error:
            problems.append("stopping %s (pid %s): %s" % (name, entry["pid"], error))

    namespaces = [name for name in record.get("namespaces", []) if belongs_to(lab_id, name)]
    for name in namespaces:
        for pid in network.namespace_pids(name):
            try:
                stop_process(pid, None)
            except (LabError, OSError) as error:
                problems.append("stopping pid %d in %s: %s" % (pid, name, error))
    for name in namespaces:
        try:
            network.delete_namespace(name)
        except LabError as error:
            problems.append("deleting namespace %s: %s" % (name, error))

    for name in namespaces:
        path = os.path.join(ETC_NETNS_DIR, name)
        if os.path.lexists(path):
            shutil.rmtree(path, ignore_errors=True)
            if os.path.lexists(path):
                problems.append("cannot remove %s" % path)
    _remove_empty_dir(ETC_NETNS_DIR)

    root = record.get("root")
    if root and not record.get("keep") and os.path.isdir(root):
        if _read_marker(root) == lab_id:
            shutil.rmtree(root, ignore_errors=True)
            if os.path.exists(root):
                problems.append("cannot remove lab directory %s" % root)
        else:
            problems.append("not removing %s: its marker file does not name lab %s" % (root, lab_id))

    if problems:
        raise LabError("teardown of lab %s was incomplete:\n  %s" % (lab_id, "\n  ".join(problems)))
    try:
        os.unlink(_record_path(lab_id))
    except FileNotFoundError:
        pass
    _remove_empty_dir(RECORD_DIR)


def _read_marker(root: str) -> str | None:
    try:
        with open(os.path.join(root, MARKER_NAME)) as stream:
            return stream.read().strip()
    except OSError:
        return None


def _remove_empty_dir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def cleanup(stale_only: bool = False) -> list:
    """Destroy the labs that records list and return one line per action or problem.

    With `stale_only`, keep labs whose owning process still runs and labs left running on
    purpose (`python -m tests.lab up`). Namespaces and /etc/netns entries that carry the lab
    prefix but belong to no record are reported, never removed.
    """
    report = []
    known = set()
    for record in load_records():
        known.add(record["id"])
        if stale_only and (record.get("persistent") or owner_alive(record)):
            report.append("kept lab %s (%s)" % (record["id"], record.get("root") or "no directory"))
            continue
        try:
            destroy_record(record)
            report.append("removed lab %s (%s)" % (record["id"], record.get("root") or "no directory"))
        except LabError as error:
            report.append(str(error))
    strays = [name for name in network.list_namespaces() if NAMESPACE_RE.match(name)]
    if os.path.isdir(ETC_NETNS_DIR):
        strays += [os.path.join(ETC_NETNS_DIR, name) for name in os.listdir(ETC_NETNS_DIR) if NAMESPACE_RE.match(name)]
    for name in strays:
        if NAMESPACE_RE.match(os.path.basename(name)).group("id") not in known:
            report.append("left alone %s: no lab record names it" % name)
    return report


# Labs of this process that still need a teardown, by id.
_live_labs: dict = {}
_handlers_installed = False
_teardown_running = threading.local()


def track(lab) -> None:
    """Register `lab` for teardown at interpreter exit and on SIGINT, SIGTERM and SIGHUP."""
    _install_handlers()
    _live_labs[lab.id] = lab


def untrack(lab) -> None:
    _live_labs.pop(lab.id, None)


def teardown_all() -> None:
    if getattr(_teardown_running, "value", False):
        return
    _teardown_running.value = True
    try:
        for lab in list(_live_labs.values()):
            try:
                lab.teardown()
            except Exception as error:  # noqa: BLE001 - a teardown must go on to the next lab
                log.error("teardown of lab %s failed: %s", lab.id, error)
    finally:
        _teardown_running.value = False


def _install_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(teardown_all)
    if threading.current_thread() is not threading.main_thread():
        log.warning("labs created outside the main thread are torn down at exit only, not on signals")
        return
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        if previous is signal.SIG_IGN:
            continue
        signal.signal(signum, _make_handler(previous))


def _make_handler(previous):
    def handle(signum, frame):
        log.warning("signal %d: tearing down %d lab(s)", signum, len(_live_labs))
        teardown_all()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handle
