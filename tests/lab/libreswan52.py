"""Libreswan 5.2, Debian 13's package, as an Installation that lab hosts run beside 4.10.

scripts/fetch-libreswan-5.2.sh downloads the package and extracts it into .build/libreswan-5.2.
Inside a lab host, bind mounts put 5.2's programs at the standard paths: /usr/sbin/ipsec and
/usr/libexec/ipsec. The unmodified `ipsec` command, the collection's modules and pluto's own
compiled-in /usr/libexec/ipsec paths (its start-up `addconn --autoall`, the default `_updown`
script) then all run 5.2. Without these mounts, pluto 5.2 would start the 4.10 `addconn` and
reject its messages with "Mismatched versions of userland tools".

Debian 13's pluto needs glibc 2.38 through libldap2, newer than Debian 12's 2.36. The fetch script
therefore writes DEST/wrappers/pluto, which starts pluto through Debian 13's dynamic loader; the
mounts place that wrapper at /usr/libexec/ipsec/pluto.
"""

from __future__ import annotations

import functools
import os
import subprocess

from .commands import c_locale_env
from .installations import Installation, InstallationError

__all__ = [
    "DEFAULT_DEST",
    "FETCH_SCRIPT",
    "DOWNLOAD_FAILED",
    "FetchError",
    "is_complete",
    "libreswan_52_installation",
    "fetch_libreswan_52",
    "libreswan_52_mounts",
]

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DEST = os.path.join(PROJECT, ".build", "libreswan-5.2")
FETCH_SCRIPT = os.path.join(PROJECT, "scripts", "fetch-libreswan-5.2.sh")
VERSION = "5.2"
# The download is about 4.5 MB; apt-get update of trixie's package lists adds about 10 MB.
FETCH_TIMEOUT = 900
EXECDIR = "/usr/libexec/ipsec"
IPSEC_COMMAND = "/usr/sbin/ipsec"


# Exit status of the fetch script when apt could not download the package lists or packages.
DOWNLOAD_FAILED = 3


class FetchError(InstallationError):
    """Failure to download or extract Libreswan 5.2.

    `download_failed` is True when apt could not download from the mirror, for example because
    the machine has no network. It is False for every other failure of the fetch script.
    """

    def __init__(self, message: str, download_failed: bool = False):
        super().__init__(message)
        self.download_failed = download_failed


def is_complete(dest: str) -> bool:
    """Return True when `dest` contains a finished fetch: the script writes VERSION last."""
    return os.path.isfile(os.path.join(dest, "VERSION")) and os.access(
        os.path.join(dest, "wrappers", "pluto"), os.X_OK
    )


def fetch_libreswan_52(dest: str) -> None:
    """Run scripts/fetch-libreswan-5.2.sh for `dest`; raise FetchError with its output on failure."""
    try:
        completed = subprocess.run(
            ["bash", FETCH_SCRIPT, dest],
            capture_output=True,
            text=True,
            env=c_locale_env(),
            timeout=FETCH_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise FetchError(
            "%s %s timed out after %d s" % (FETCH_SCRIPT, dest, FETCH_TIMEOUT), download_failed=True
        ) from error
    if completed.returncode != 0 or not is_complete(dest):
        raise FetchError(
            "%s %s failed with exit code %d; run it again by hand to retry\nstdout: %s\nstderr: %s"
            % (FETCH_SCRIPT, dest, completed.returncode, completed.stdout.strip(), completed.stderr.strip()),
            download_failed=completed.returncode == DOWNLOAD_FAILED,
        )


def libreswan_52_mounts(dest: str) -> list:
    """Return the (source, target) bind mounts that put the 5.2 tree in `dest` at the standard paths.

    The mounts must be made in list order: each wrapper is mounted over a file inside the
    /usr/libexec/ipsec that the first mount provides.
    """
    root = os.path.join(dest, "root")
    mounts = [
        (os.path.join(root, EXECDIR.lstrip("/")), EXECDIR),
        (os.path.join(root, IPSEC_COMMAND.lstrip("/")), IPSEC_COMMAND),
    ]
    wrappers = os.path.join(dest, "wrappers")
    for name in sorted(os.listdir(wrappers)):
        if not name.startswith("."):
            mounts.append((os.path.join(wrappers, name), os.path.join(EXECDIR, name)))
    return mounts


@functools.lru_cache(maxsize=None)
def _installation(dest: str) -> Installation:
    if not is_complete(dest):
        fetch_libreswan_52(dest)
    return Installation(
        version=VERSION,
        pluto_argv=[os.path.join(dest, "wrappers", "pluto")],
        mounts=libreswan_52_mounts(dest),
        env={},
    )


def libreswan_52_installation(dest: str | None = None) -> Installation:
    """Return Libreswan 5.2 as an Installation, fetching it into `dest` first when it is missing.

    `dest` defaults to DEFAULT_DEST. Raises FetchError when the fetch script fails.
    """
    return _installation(os.path.abspath(dest or DEFAULT_DEST))
