"""The result of one guest run and the errors that a run can raise."""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import control

__all__ = [
    "GuestResult",
    "GuestError",
    "GuestUnavailableError",
    "GuestBootError",
    "GuestTimeoutError",
    "GuestCheckError",
]


@dataclass
class GuestResult:
    """One command run in a guest.

    `returncode` is the command's exit status; it is None only in the result attached to a
    GuestBootError or GuestTimeoutError. `output` is the command's stdout and stderr as one text,
    decoded as UTF-8 with invalid bytes replaced. `result_dir` is the host directory that the
    command could write to, named by GUEST_RESULTS in its environment. The runner's own files are
    in its guest-run/ subdirectory. `boot_seconds` is the wall time from starting UML until the
    command started, or None if it never started. `pgid` is the host process group (and session)
    id of the UML processes, all of which have ended when the result is returned.
    """

    argv: list
    returncode: int | None
    output: str
    result_dir: str
    wall_seconds: float
    boot_seconds: float | None
    pgid: int

    @property
    def control_dir(self) -> str:
        """Directory of the runner's files: console.log, init.log, output.txt, dmesg.txt, status."""
        return os.path.join(self.result_dir, control.CONTROL_DIRECTORY)

    @property
    def console_log(self) -> str:
        """Path of the guest's console output: kernel messages and the init script's messages."""
        return os.path.join(self.control_dir, control.CONSOLE_FILE)

    def read_console(self, max_chars: int = 4000) -> str:
        """Return the end of the console log, at most `max_chars` characters."""
        try:
            with open(self.console_log, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except FileNotFoundError:
            return ""
        return text[-max_chars:]


class GuestError(RuntimeError):
    """A guest could not run a command; `result` contains what the run produced, if it started."""

    def __init__(self, message: str, result: GuestResult | None = None):
        super().__init__(message)
        self.result = result


class GuestUnavailableError(GuestError):
    """This machine cannot boot the guest: the UML kernel or its modules are missing."""


class GuestBootError(GuestError):
    """The guest ended without writing the command's exit status."""


class GuestTimeoutError(GuestError):
    """The run exceeded its timeout; every UML process was killed."""


class GuestCheckError(GuestError):
    """A check command ran in the guest and failed."""
