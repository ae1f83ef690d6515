"""Run one command inside a User-Mode Linux guest whose kernel has ESP.

The guest boots Debian's UML kernel over the host's root file system (read-only through hostfs)
with init.sh as PID 1. The guest has the same programs, Python installations and work tree as
the host. It writes only to tmpfs-backed overlays and to one results directory, has no network
card, and is gone when run_in_guest returns.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import tempfile
import threading
from typing import Callable

from . import control
from .kernel import (
    DEFAULT_MODULES,
    UML_BINARY,
    UML_MODULES_ROOT,
    check_host_path,
    find_uml_binary,
    parse_memory,
    uml_argv,
    uml_release,
    writable_directories,
)
from .machine import run_machine
from .result import (
    GuestBootError,
    GuestError,
    GuestResult,
    GuestTimeoutError,
    GuestUnavailableError,
)

__all__ = ["run_in_guest", "PROJECT_TOP", "INIT_SCRIPT"]

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
INIT_SCRIPT = os.path.join(PACKAGE_DIR, "init.sh")
PROJECT_TOP = os.path.dirname(os.path.dirname(PACKAGE_DIR))

# The guest mounts its own file systems here, so host files below them are not visible to it.
_HIDDEN_IN_GUEST = ("/proc", "/sys", "/dev", "/run")
# UML's memory file is created in its TMPDIR; a tmpfs there avoids writing guest memory to disk.
_MEMORY_FILE_PARENTS = ("/dev/shm",)
_MEMORY_MARGIN = 256 << 20


class _Terminated(BaseException):
    """SIGTERM arrived while a guest ran."""


@contextlib.contextmanager
def _sigterm_raises():
    """Turn SIGTERM into an exception so that the guest is killed before the process ends.

    After the cleanup, the previous handler is restored and SIGTERM is raised again, so the
    caller ends as it would have without the guest. Only the main thread can install handlers;
    elsewhere SIGTERM keeps its previous effect.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received = []

    def handle(signum, frame):
        # Only the first SIGTERM raises, so that a second one cannot cut the cleanup short.
        if not received:
            received.append(signum)
            raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handle)
    if previous is None:
        previous = signal.SIG_DFL
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)
        raise GuestError("guest run interrupted by SIGTERM") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _memory_file_parent(memory_bytes: int) -> str:
    for parent in _MEMORY_FILE_PARENTS:
        try:
            stats = os.statvfs(parent)
        except OSError:
            continue
        if (
            os.access(parent, os.W_OK)
            and stats.f_bavail * stats.f_frsize >= memory_bytes + _MEMORY_MARGIN
        ):
            return parent
    return tempfile.gettempdir()


def _check_visible(path: str, description: str) -> None:
    for hidden in _HIDDEN_IN_GUEST:
        if path == hidden or path.startswith(hidden + "/"):
            raise ValueError(
                "%s %s is under %s, which the guest replaces with its own"
                % (description, path, hidden)
            )


def _find_kernel(uml_binary: str) -> str:
    binary = find_uml_binary(uml_binary)
    release = uml_release(binary)
    modules = os.path.join(UML_MODULES_ROOT, release)
    if not os.path.isdir(modules):
        raise GuestUnavailableError(
            "UML modules directory %s not found for kernel %s; reinstall user-mode-linux"
            % (modules, binary)
        )
    return binary


def _prepare_results(result_dir) -> str:
    if result_dir is None:
        return check_host_path(tempfile.mkdtemp(prefix="guest-results-"), "results directory")
    path = check_host_path(result_dir, "results directory")
    os.makedirs(path, exist_ok=True)
    return path


def _describe_failure(result: GuestResult) -> str:
    init_log = os.path.join(result.control_dir, control.INIT_LOG_FILE)
    try:
        with open(init_log, encoding="utf-8", errors="replace") as handle:
            init_text = handle.read().strip()
    except FileNotFoundError:
        init_text = "(missing)"
    return "init.log:\n%s\nend of console.log:\n%s" % (init_text, result.read_console(2000).strip())


def run_in_guest(
    argv,
    cwd=None,
    env=None,
    timeout: float = 900,
    result_dir=None,
    memory: str | int = "1G",
    *,
    writable=(),
    modules=DEFAULT_MODULES,
    on_output: Callable[[bytes], None] | None = None,
    uml_binary: str = UML_BINARY,
) -> GuestResult:
    """Boot a guest, run `argv` in it and return its exit status and output.

    `cwd` (default: the current directory) and `env` (default: os.environ) work as in
    subprocess; GUEST_RESULTS is added to the environment. `result_dir` is a host directory that
    the command can write to at the same path. When it is None, a new directory is created, and
    the caller removes it. Overlays on /etc, /var, /tmp, /root, /usr, the project work tree and
    the `writable` directories keep all other writes in guest memory. `memory` is the guest RAM,
    for example "1G". `modules` are loaded before the command starts. `on_output` receives the
    command's output bytes as they arrive.

    Raises GuestTimeoutError after `timeout` seconds (the guest is killed), GuestBootError when the
    guest ends without an exit status, GuestUnavailableError when the UML kernel or its modules
    are missing, and ValueError for arguments the guest cannot use.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive, got %r" % (timeout,))
    memory_bytes = parse_memory(memory)
    working_dir = os.path.realpath(os.fspath(cwd) if cwd is not None else os.getcwd())
    _check_visible(working_dir, "working directory")
    if not os.path.isdir(working_dir):
        raise ValueError("working directory %s does not exist" % working_dir)
    overlays = writable_directories([PROJECT_TOP, *writable])
    for directory in overlays:
        _check_visible(directory, "writable directory")
    environment = dict(os.environ if env is None else env)
    argv = [os.fsdecode(os.fspath(argument)) for argument in argv]
    control.check_command(argv, environment)
    binary = _find_kernel(uml_binary)

    results = _prepare_results(result_dir)
    environment["GUEST_RESULTS"] = results
    control_dir = control.prepare_control_directory(results)
    with _sigterm_raises():
        try:
            control.write_request(
                control_dir,
                argv=argv,
                env=environment,
                cwd=working_dir,
                writable=overlays,
                modules=list(modules),
            )
            with tempfile.TemporaryDirectory(
                prefix="guest-uml-", dir=_memory_file_parent(memory_bytes)
            ) as uml_dir:
                umid = "guest-%d-%s" % (os.getpid(), secrets.token_hex(4))
                run = run_machine(
                    lambda output_fd: uml_argv(
                        binary,
                        memory_bytes=memory_bytes,
                        init_script=INIT_SCRIPT,
                        results_dir=results,
                        uml_dir=uml_dir,
                        umid=umid,
                        output_fd=output_fd,
                    ),
                    uml_dir=uml_dir,
                    console_path=os.path.join(control_dir, control.CONSOLE_FILE),
                    started_path=os.path.join(control_dir, control.STARTED_FILE),
                    timeout=timeout,
                    on_output=on_output,
                )
        finally:
            control.remove_environment(control_dir)

    result = GuestResult(
        argv=argv,
        returncode=None if run.timed_out else control.read_status(control_dir),
        output=run.output.decode("utf-8", errors="replace"),
        result_dir=results,
        wall_seconds=run.wall_seconds,
        boot_seconds=run.boot_seconds,
        pgid=run.pgid,
    )
    if run.timed_out:
        raise GuestTimeoutError(
            "command %r timed out after %g s in the guest; its UML processes (session %d) were killed"
            % (argv, timeout, run.pgid),
            result,
        )
    if result.returncode is None:
        raise GuestBootError(
            "guest ended without an exit status for %r; results in %s\n%s"
            % (argv, results, _describe_failure(result)),
            result,
        )
    return result
