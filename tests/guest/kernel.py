"""The User-Mode Linux command line of a guest, and checks of the host paths it names.

Debian's `user-mode-linux` package provides the kernel as /usr/bin/linux.uml and its modules
under /usr/lib/uml/modules/<release>. The guest mounts the host's root file system read-only
through hostfs, so every path that the guest uses is a host path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from .result import GuestUnavailableError

__all__ = [
    "UML_BINARY",
    "UML_MODULES_ROOT",
    "DEFAULT_MODULES",
    "DEFAULT_WRITABLE",
    "find_uml_binary",
    "uml_release",
    "check_host_path",
    "parse_memory",
    "writable_directories",
    "uml_argv",
]

UML_BINARY = "/usr/bin/linux.uml"
UML_MODULES_ROOT = "/usr/lib/uml/modules"

# In Debian's UML 6.1 kernel these are modules, not built in. The kernel loads other algorithms on
# demand through modprobe, which works in the guest once /lib/modules is linked.
DEFAULT_MODULES = (
    "ipv6",
    "xfrm_user",
    "esp4",
    "esp6",
    "xfrm4_tunnel",
    "xfrm6_tunnel",
    "gcm",
    "ghash-generic",
    "ctr",
    "seqiv",
    "echainiv",
    "authenc",
    "authencesn",
    "cbc",
    "hmac",
    "sha512",
    "veth",
    "dummy",
)

# Directories that get a tmpfs-backed overlay in every guest, so that package state, /etc/netns
# entries, pluto's files and Python caches can be written without touching the host.
DEFAULT_WRITABLE = ("/etc", "/var", "/tmp", "/root", "/usr")

# The kernel splits its command line at white space, mount(8) splits options at commas and
# overlayfs splits lowerdir at colons, so host paths given to the guest must avoid them.
_UNSAFE_PATH_CHARACTERS = re.compile(r"[\s,:\"'\\]|[^\x21-\x7e]")
_MEMORY = re.compile(r"([1-9][0-9]*)([KMG]?)", re.IGNORECASE)
_MEMORY_FACTORS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_MINIMUM_MEMORY = 128 << 20


def find_uml_binary(binary: str = UML_BINARY) -> str:
    """Return the absolute path of the UML kernel, or raise GuestUnavailableError."""
    path = binary if os.path.isabs(binary) else shutil.which(binary)
    if not path or not os.access(path, os.X_OK):
        raise GuestUnavailableError(
            "UML kernel %s not found; install Debian's user-mode-linux package "
            "(bash scripts/bootstrap.sh does)" % binary
        )
    return path


def uml_release(binary: str) -> str:
    """Return the kernel release of a UML binary (for example 6.1.176) from `--version`."""
    completed = subprocess.run(
        [binary, "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    release = completed.stdout.strip()
    if completed.returncode != 0 or not release:
        raise GuestUnavailableError(
            "%s --version failed with status %d: %s"
            % (binary, completed.returncode, (completed.stderr or completed.stdout).strip())
        )
    return release


def check_host_path(path: str | os.PathLike, description: str) -> str:
    """Return `path` made absolute and resolved; raise ValueError if the guest cannot use it."""
    resolved = os.path.realpath(os.fspath(path))
    if _UNSAFE_PATH_CHARACTERS.search(resolved):
        raise ValueError(
            "%s %r contains white space, a comma, colon, quote, backslash or non-ASCII "
            "character, which the guest cannot mount; use a plain path" % (description, resolved)
        )
    return resolved


def parse_memory(memory: str | int) -> int:
    """Return the guest memory size in bytes; `memory` is bytes or a size such as 512M or 1G."""
    text = str(memory).strip()
    match = _MEMORY.fullmatch(text)
    if not match:
        raise ValueError(
            "invalid guest memory size %r; use bytes or a size such as 512M or 1G" % memory
        )
    size = int(match.group(1)) * _MEMORY_FACTORS[match.group(2).upper()]
    if size < _MINIMUM_MEMORY:
        raise ValueError("guest memory size %r is below the minimum of 128M" % memory)
    return size


def _is_within(path: str, directory: str) -> bool:
    return directory == "/" or path == directory or path.startswith(directory + "/")


def writable_directories(requested, optional=DEFAULT_WRITABLE) -> list:
    """Return the directories to overlay: each exists, none lies inside another, parents first.

    `optional` entries that do not exist on the host are left out. A missing `requested` entry
    raises ValueError, and so does the root directory, because the guest cannot overlay "/".
    """
    candidates = []
    for directory in optional:
        if os.path.isdir(directory):
            candidates.append(check_host_path(directory, "writable directory"))
    for directory in requested:
        resolved = check_host_path(directory, "writable directory")
        if not os.path.isdir(resolved):
            raise ValueError("writable directory %r does not exist on the host" % resolved)
        if resolved == "/":
            raise ValueError("the root directory cannot be writable; name its subdirectories")
        candidates.append(resolved)

    chosen = []
    for directory in sorted(set(candidates), key=lambda path: (path.count("/"), path)):
        if not any(_is_within(directory, parent) for parent in chosen):
            chosen.append(directory)
    return chosen


def uml_argv(
    binary: str,
    *,
    memory_bytes: int,
    init_script: str,
    results_dir: str,
    uml_dir: str,
    umid: str,
    output_fd: int,
) -> list:
    """Build the argv that boots the guest.

    The guest has no network card. Its console (con0) writes to the UML process's stdout, and the
    serial line ssl0 (/dev/ttyS0 in the guest) writes to the host file descriptor `output_fd`.
    Neither reads input, so the guest needs no stdin. Bash runs `init_script`, so the script
    needs no execute bit; the kernel passes `guest_results` to it as an environment variable.
    """
    return [
        binary,
        "mem=%dK" % (memory_bytes >> 10),
        "root=/dev/root",
        "rootfstype=hostfs",
        "rootflags=/",
        "ro",
        "quiet",
        "noreboot",
        "con=null",
        "con0=null,fd:1",
        "ssl=null",
        "ssl0=null,fd:%d" % output_fd,
        "uml_dir=%s" % check_host_path(uml_dir, "UML directory"),
        "umid=%s" % umid,
        "guest_results=%s" % check_host_path(results_dir, "results directory"),
        "init=/bin/bash",
        "--",
        check_host_path(init_script, "init script"),
    ]
