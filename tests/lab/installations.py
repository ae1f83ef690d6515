"""Libreswan installations that a lab host can run.

A lab host runs the `ipsec` command and pluto of one Installation. The system installation is the
Debian package (Libreswan 4.10 on Debian 12). Another installation (for example Libreswan 5.2
unpacked next to it) provides extra bind mounts that put its files in place inside the host, an
environment, and its own pluto argv.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass, field

__all__ = ["Installation", "system_installation", "InstallationError"]

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class InstallationError(RuntimeError):
    """Libreswan is missing or its version cannot be read."""


@dataclass
class Installation:
    """One Libreswan build that lab hosts can run.

    `pluto_argv` is the argv prefix that starts pluto; the lab appends `--config`, `--nofork`
    and `--logfile`. `mounts` lists (source, target) bind mounts made inside a host before any
    command runs there; each target must already exist. `env` is added to the environment of
    every command run on a host. `whack_argv` is the argv prefix of whack, which the lab uses to
    wait for pluto and to shut it down.
    """

    version: str
    pluto_argv: list
    mounts: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    whack_argv: list = field(default_factory=lambda: ["ipsec", "whack"])

    def after_pluto_start(self, host) -> None:
        """Run extra start-up steps on `host` once `whack --status` succeeds on its control socket.

        The system installation needs none. An installation whose pluto cannot run its own
        start-up `addconn` overrides this to issue `whack --listen` and load connections.
        """


@functools.lru_cache(maxsize=None)
def system_installation() -> Installation:
    """Return the Libreswan installed by the distribution, with the version from `ipsec --version`."""
    try:
        completed = subprocess.run(
            ["ipsec", "--version"],
            capture_output=True,
            text=True,
            env=dict(C_LOCALE, PATH="/usr/sbin:/usr/bin:/sbin:/bin"),
            timeout=30,
            check=False,
        )
    except FileNotFoundError as error:
        raise InstallationError(
            "the ipsec command was not found; install Libreswan (bash scripts/bootstrap.sh)"
        ) from error
    match = re.search(r"Libreswan\s+(?:U|v)?(\d+(?:\.\d+)+)", completed.stdout + completed.stderr)
    if completed.returncode != 0 or match is None:
        raise InstallationError(
            "cannot read the Libreswan version: `ipsec --version` exited %d with %r"
            % (completed.returncode, (completed.stdout + completed.stderr).strip())
        )
    return Installation(version=match.group(1), pluto_argv=["/usr/libexec/ipsec/pluto"])
