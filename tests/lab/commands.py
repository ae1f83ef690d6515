"""Run commands for the lab: argv lists, C locale, errors that show the output."""

from __future__ import annotations

import os
import subprocess

__all__ = ["LabError", "CommandFailed", "c_locale_env", "run_command"]

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LabError(RuntimeError):
    """The lab could not be built, used or torn down."""


class CommandFailed(LabError, subprocess.CalledProcessError):
    """A command exited non-zero; the message contains its argv, exit code and output."""

    def __init__(self, completed: subprocess.CompletedProcess):
        subprocess.CalledProcessError.__init__(
            self, completed.returncode, completed.args, completed.stdout, completed.stderr
        )

    def __str__(self) -> str:
        return "command %r exited %d\nstdout: %s\nstderr: %s" % (
            self.cmd,
            self.returncode,
            (self.stdout or "").strip(),
            (self.stderr or "").strip(),
        )


def c_locale_env(extra: dict | None = None) -> dict:
    """Return os.environ with LC_ALL and LANG set to C, a system PATH first, and `extra` on top."""
    env = dict(os.environ)
    path = env.get("PATH", "")
    env["PATH"] = SYSTEM_PATH + (":" + path if path else "")
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    env.pop("LANGUAGE", None)
    if extra:
        env.update(extra)
    return env


def run_command(
    argv: list,
    check: bool = True,
    env: dict | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """Run `argv` without a shell in the C locale and return the CompletedProcess.

    Raises CommandFailed when `check` is true and the command exits non-zero.
    """
    completed = subprocess.run(
        [str(part) for part in argv],
        capture_output=True,
        text=True,
        env=c_locale_env(env),
        input=input,
        timeout=timeout,
        check=False,
    )
    if check and completed.returncode != 0:
        raise CommandFailed(completed)
    return completed
