"""Run commands in a User-Mode Linux guest, whose kernel can install ESP SAs when the host's cannot.

`run_in_guest` boots Debian's UML kernel over the host's root file system and runs one command in
it. `esp_in_guest_check` proves that the guest can install ESP SAs. `python -m tests.guest` (or
scripts/guest-run) does the same from the command line.
"""

from .esp_check import esp_in_guest_check
from .kernel import DEFAULT_MODULES, DEFAULT_WRITABLE, UML_BINARY
from .result import (
    GuestBootError,
    GuestCheckError,
    GuestError,
    GuestResult,
    GuestTimeoutError,
    GuestUnavailableError,
)
from .runner import run_in_guest

__all__ = [
    "run_in_guest",
    "esp_in_guest_check",
    "GuestResult",
    "GuestError",
    "GuestUnavailableError",
    "GuestBootError",
    "GuestTimeoutError",
    "GuestCheckError",
    "DEFAULT_MODULES",
    "DEFAULT_WRITABLE",
    "UML_BINARY",
]
