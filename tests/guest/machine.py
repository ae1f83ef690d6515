"""Start one UML process, collect its output until it ends, and make sure none of it remains."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from dataclasses import dataclass
from typing import Callable

from .processes import ProcessTree
from .result import GuestError

__all__ = ["MachineRun", "run_machine"]

# After the main UML process exits, its helpers close the pipes within milliseconds; a helper
# that keeps a pipe open longer than this is killed.
_EXIT_GRACE_SECONDS = 5.0
_READ_SIZE = 65536


@dataclass
class MachineRun:
    """What one UML process produced: serial line bytes, timings and whether it timed out."""

    output: bytes
    wall_seconds: float
    boot_seconds: float | None
    pgid: int
    timed_out: bool


def _collect(
    process: subprocess.Popen,
    output_fd: int,
    console_fd: int,
    *,
    console_path: str,
    started_path: str,
    on_output: Callable[[bytes], None] | None,
    start: float,
    deadline: float,
) -> MachineRun:
    chunks = []
    boot_seconds = None
    exited_at = None
    timed_out = False
    with selectors.DefaultSelector() as selector, open(console_path, "ab") as console:
        selector.register(output_fd, selectors.EVENT_READ, "output")
        selector.register(console_fd, selectors.EVENT_READ, "console")
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            # Poll often until the command starts, to measure the boot time closely.
            interval = 0.05 if boot_seconds is None else 0.5
            for key, _events in selector.select(min(deadline - now, interval)):
                data = os.read(key.fd, _READ_SIZE)
                if not data:
                    selector.unregister(key.fd)
                elif key.data == "output":
                    chunks.append(data)
                    if on_output is not None:
                        on_output(data)
                else:
                    console.write(data)
                    console.flush()
            if boot_seconds is None and os.path.exists(started_path):
                boot_seconds = time.monotonic() - start
            if process.poll() is not None:
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > _EXIT_GRACE_SECONDS:
                    break
    return MachineRun(
        output=b"".join(chunks),
        wall_seconds=time.monotonic() - start,
        boot_seconds=boot_seconds,
        pgid=process.pid,
        timed_out=timed_out,
    )


def run_machine(
    argv_for_output_fd: Callable[[int], list],
    *,
    uml_dir: str,
    console_path: str,
    started_path: str,
    timeout: float,
    on_output: Callable[[bytes], None] | None = None,
) -> MachineRun:
    """Run UML until it exits or `timeout` seconds pass, then kill whatever of it remains.

    `argv_for_output_fd` builds the UML argv for the host descriptor of the serial line. UML
    starts in a new session with `uml_dir` as its working directory and TMPDIR, so its memory
    file and pid file stay there. The whole session is killed on timeout, on any exception
    (KeyboardInterrupt included) and after a normal exit; GuestError is raised if a process of
    it survives SIGKILL.
    """
    output_read, output_write = os.pipe()
    console_read, console_write = os.pipe()
    try:
        argv = argv_for_output_fd(output_write)
        start = time.monotonic()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=console_write,
            stderr=console_write,
            pass_fds=(output_write,),
            cwd=uml_dir,
            env=dict(os.environ, TMPDIR=uml_dir),
            start_new_session=True,
        )
    except BaseException:
        for descriptor in (output_read, output_write, console_read, console_write):
            os.close(descriptor)
        raise
    os.close(output_write)
    os.close(console_write)

    tree = ProcessTree(process.pid)
    try:
        return _collect(
            process,
            output_read,
            console_read,
            console_path=console_path,
            started_path=started_path,
            on_output=on_output,
            start=start,
            deadline=start + timeout,
        )
    finally:
        remaining = tree.kill_all()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            remaining.append(process.pid)
        os.close(output_read)
        os.close(console_read)
        if remaining:
            raise GuestError(
                "UML processes %s of session %d still run after SIGKILL"
                % (", ".join(map(str, sorted(set(remaining)))), process.pid)
            )
