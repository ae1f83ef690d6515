"""Files that pass a command to the guest's init script and carry its results back.

They live in the guest-run/ subdirectory of the results directory, which the guest mounts
read-write. Lists are NUL-terminated entries, so arguments and environment values may contain any
byte but NUL and never pass through a shell or the kernel command line.
"""

from __future__ import annotations

import os
import shutil

__all__ = [
    "CONTROL_DIRECTORY",
    "STATUS_FILE",
    "STARTED_FILE",
    "OUTPUT_FILE",
    "CONSOLE_FILE",
    "INIT_LOG_FILE",
    "DMESG_FILE",
    "prepare_control_directory",
    "check_command",
    "write_list",
    "read_list",
    "write_request",
    "read_status",
    "remove_environment",
]

CONTROL_DIRECTORY = "guest-run"
STATUS_FILE = "status"
STARTED_FILE = "started"
OUTPUT_FILE = "output.txt"
CONSOLE_FILE = "console.log"
INIT_LOG_FILE = "init.log"
DMESG_FILE = "dmesg.txt"
ENVIRONMENT_FILE = "env"


def prepare_control_directory(results_dir: str) -> str:
    """Create an empty guest-run/ in `results_dir`, replacing one left by an earlier run."""
    control = os.path.join(results_dir, CONTROL_DIRECTORY)
    if os.path.lexists(control):
        if os.path.islink(control) or not os.path.isdir(control):
            raise ValueError("%s exists and is not a directory; remove it first" % control)
        shutil.rmtree(control)
    os.mkdir(control, 0o700)
    return control


def _encode(entry) -> bytes:
    data = os.fsencode(entry)
    if b"\0" in data:
        raise ValueError("entry %r contains a NUL byte, which the guest cannot pass on" % (entry,))
    return data


def write_list(path: str, entries, mode: int = 0o600) -> None:
    """Write `entries` (str, bytes or path-like) to `path`, each followed by a NUL byte."""
    data = b"".join(_encode(entry) + b"\0" for entry in entries)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def read_list(path: str) -> list:
    """Read a NUL-terminated list written by write_list, as str entries."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data:
        return []
    if not data.endswith(b"\0"):
        raise ValueError("%s does not end with a NUL byte" % path)
    return [os.fsdecode(entry) for entry in data[:-1].split(b"\0")]


def check_command(argv: list, env: dict) -> None:
    """Raise ValueError for a command or environment that the guest cannot pass to env(1)."""
    if not argv:
        raise ValueError("the command is empty; pass at least the program to run")
    # env(1) starts the command in the guest and would take a first word with "=" as a variable.
    if "=" in argv[0]:
        raise ValueError("program name %r contains '='; use a path without '='" % argv[0])
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise ValueError("invalid environment variable name %r" % name)
        if "\0" in value:
            raise ValueError("environment variable %s contains a NUL byte" % name)
    for argument in argv:
        if "\0" in argument:
            raise ValueError("argument %r contains a NUL byte" % argument)


def write_request(control: str, *, argv, env, cwd, writable, modules) -> None:
    """Write the command, its environment and working directory, and the guest set-up."""
    argv = [os.fsdecode(os.fspath(argument)) for argument in argv]
    check_command(argv, env)
    write_list(os.path.join(control, "argv"), argv)
    write_list(os.path.join(control, ENVIRONMENT_FILE), ["%s=%s" % item for item in env.items()])
    write_list(os.path.join(control, "cwd"), [cwd])
    write_list(os.path.join(control, "writable"), writable)
    write_list(os.path.join(control, "modules"), modules)


def read_status(control: str):
    """Return the command's exit status, or None if the guest never wrote one."""
    try:
        with open(os.path.join(control, STATUS_FILE)) as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError("status file in %s contains %r, not a number" % (control, text)) from None


def remove_environment(control: str) -> None:
    """Delete the environment file, which can contain secrets of the calling process."""
    try:
        os.unlink(os.path.join(control, ENVIRONMENT_FILE))
    except FileNotFoundError:
        pass
