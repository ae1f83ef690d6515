"""Facts about the machine and software a benchmark ran on, for its JSON record."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time

__all__ = ["machine_facts", "load_average", "source_revision"]


def _first_match(path: str, pattern: str) -> str | None:
    try:
        with open(path) as stream:
            match = re.search(pattern, stream.read(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1).strip() if match else None


def _command_output(argv: list) -> str | None:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (completed.stdout or completed.stderr).strip() or None


def load_average() -> list:
    """Return the 1, 5 and 15 minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def source_revision() -> dict:
    """Return the repository's commit and the files under plugins/ that differ from it."""
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = _command_output(["git", "-C", repository, "rev-parse", "HEAD"])
    changed = _command_output(["git", "-C", repository, "status", "--porcelain", "--", "plugins"])
    return {"commit": commit, "plugins_changes": changed.splitlines() if changed else []}


def machine_facts() -> dict:
    """Return the CPU, memory, kernel and software versions of this machine."""
    memory_kib = _first_match("/proc/meminfo", r"^MemTotal:\s+(\d+) kB")
    try:
        from ansible.release import __version__ as ansible_core_version
    except ImportError:
        ansible_core_version = None
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "nproc": os.cpu_count(),
        "cpu_model": _first_match("/proc/cpuinfo", r"^model name\s*:\s*(.+)$"),
        "memory_gib": round(int(memory_kib) / 1024 / 1024, 1) if memory_kib else None,
        "kernel": platform.release(),
        "os": _first_match("/etc/os-release", r'^PRETTY_NAME="?([^"\n]+)"?$'),
        "libreswan": _command_output(["ipsec", "--version"]),
        "ansible_core": ansible_core_version,
        "controller_python": platform.python_version(),
        "target_python": _command_output(["/usr/bin/python3", "--version"]),
        "source": source_revision(),
        "load_average_at_start": load_average(),
        "argv": sys.argv,
    }
