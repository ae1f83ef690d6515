"""Find and kill every host process of one UML guest.

UML runs each guest address space and several I/O helpers as separate host processes, and it
calls setsid() at start, so all of them share the session whose id is the pid of the main
process. Killing only the main process leaves the helpers running. The tracker therefore kills
every process group found in that session. It finds processes by session and group id, never by
name, and never signals the caller's own session or process group.

A session id is not reused while any process still has it, so matching on it cannot reach an
unrelated process while the guest runs.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

__all__ = ["ProcessInfo", "parse_stat", "list_processes", "ProcessTree"]


@dataclass(frozen=True)
class ProcessInfo:
    """Fields of /proc/PID/stat that the tracker uses."""

    pid: int
    state: str
    ppid: int
    pgid: int
    sid: int


def parse_stat(text: str) -> ProcessInfo:
    """Parse one /proc/PID/stat line; the command name may contain spaces and parentheses."""
    pid_text, _separator, rest = text.partition(" (")
    fields = rest[rest.rindex(")") + 2 :].split()
    return ProcessInfo(
        pid=int(pid_text),
        state=fields[0],
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
    )


def list_processes(proc: str = "/proc") -> list:
    """Return a ProcessInfo for every process in `proc`, skipping those that exit meanwhile."""
    processes = []
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(proc, name, "stat")) as handle:
                processes.append(parse_stat(handle.read()))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return processes


class ProcessTree:
    """The host processes of one guest: the session that its main process leads."""

    def __init__(self, root_pid: int, proc: str = "/proc"):
        if os.getsid(0) == root_pid:
            raise ValueError("process %d leads the caller's own session" % root_pid)
        self.root_pid = root_pid
        self.proc = proc
        self._protected_pgids = {os.getpgrp()}

    def members(self) -> list:
        """Return the processes of the session that are not zombies."""
        return [
            info
            for info in list_processes(self.proc)
            if info.sid == self.root_pid and info.state not in ("Z", "X")
        ]

    def survivors(self) -> list:
        """Return the pids of the session's processes that still run."""
        return sorted(info.pid for info in self.members())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to every process group of the session and to each of its processes."""
        members = [info for info in self.members() if info.pgid not in self._protected_pgids]
        for pgid in sorted({info.pgid for info in members}):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        for info in members:
            try:
                os.kill(info.pid, sig)
            except ProcessLookupError:
                pass

    def kill_all(self, timeout: float = 10.0) -> list:
        """Kill the whole guest with SIGKILL until nothing runs; return pids left at `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            self.kill(signal.SIGKILL)
            time.sleep(0.05)
            remaining = self.survivors()
            if not remaining or time.monotonic() >= deadline:
                return remaining
