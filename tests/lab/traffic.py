"""Traffic between lab hosts: ping from a host, and packet captures on a host's interface.

    with PacketCapture(lab["west"], lab.root / "west.pcap") as capture:
        result = ping(lab["west"], "203.0.113.129", source="203.0.113.1")
    capture.summaries()  # one line per packet, as `tcpdump -n -r` prints it

A capture records egress only by default. On the receiving side of a tunnel, the kernel passes
each decrypted packet through the interface's capture point a second time, so an ingress capture
would show inner packets that never crossed the link in clear.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .commands import LabError, c_locale_env, run_command
from .network import LINK_NAME

__all__ = ["PingResult", "PacketCapture", "ping"]

_STATISTICS_RE = re.compile(r"(\d+) packets transmitted, (\d+) received")


@dataclass
class PingResult:
    """The outcome of one ping run: echo requests sent, replies received, exit status and output."""

    destination: str
    source: str | None
    transmitted: int
    received: int
    returncode: int
    output: str

    @property
    def all_replied(self) -> bool:
        return self.transmitted > 0 and self.received == self.transmitted


def ping(host, destination: str, source: str | None = None, count: int = 3, interval: float = 0.2, wait: float = 2):
    """Ping `destination` from `host` and return a PingResult; never raises on lost packets.

    `source` is the source address (`ping -I`), needed to send from a protected subnet. `wait` is
    how many seconds ping waits for each reply (`-W`).
    """
    argv = ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", str(wait)]
    if source is not None:
        argv += ["-I", source]
    argv.append(destination)
    completed = run_command(
        ["ip", "netns", "exec", host.namespace, *argv], check=False, timeout=count * (interval + wait) + 30
    )
    output = completed.stdout + completed.stderr
    statistics = _STATISTICS_RE.search(output)
    return PingResult(
        destination=destination,
        source=source,
        transmitted=int(statistics.group(1)) if statistics else 0,
        received=int(statistics.group(2)) if statistics else 0,
        returncode=completed.returncode,
        output=output,
    )


class PacketCapture:
    """tcpdump on one interface of a lab host, writing the packets to a pcap file.

    `direction` is tcpdump's `-Q` value: out (the default), in or inout. Entering the `with` block
    waits until tcpdump listens; leaving it stops tcpdump, so the file is complete afterwards.
    """

    def __init__(self, host, path, interface: str = LINK_NAME, direction: str = "out", start_timeout: float = 10):
        self.host = host
        self.path = Path(path)
        self.interface = interface
        self.direction = direction
        self.start_timeout = start_timeout
        self._process = None
        self._messages = ""

    def __enter__(self) -> "PacketCapture":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        """Start tcpdump and wait until it reports that it is listening."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # -Z root keeps root's rights for writing the file; --immediate-mode and -U hand every packet to the
        # file at once, so nothing captured stays in a buffer when tcpdump is stopped.
        argv = ["ip", "netns", "exec", self.host.namespace, "tcpdump", "-i", self.interface, "-Q", self.direction]
        argv += ["-n", "-U", "--immediate-mode", "-Z", "root", "-w", str(self.path)]
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=c_locale_env(),
        )
        deadline = time.monotonic() + self.start_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stderr, selectors.EVENT_READ)
            while "listening on" not in self._messages:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._process.poll() is not None:
                    self.stop()
                    raise LabError(
                        "tcpdump on %s of %s did not start listening within %gs: %s"
                        % (self.interface, self.host.name, self.start_timeout, self._messages.strip())
                    )
                if selector.select(remaining):
                    chunk = os.read(self._process.stderr.fileno(), 4096)
                    self._messages += chunk.decode(errors="replace")

    def stop(self, timeout: float = 10) -> None:
        """Stop tcpdump with SIGTERM, or SIGKILL after `timeout` seconds; safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._messages += process.stderr.read().decode(errors="replace")
        process.stderr.close()

    def summaries(self) -> list:
        """Return one line per captured packet, as `tcpdump -n -r FILE` prints it."""
        if self._process is not None:
            raise LabError("stop the capture before reading it")
        completed = run_command(["tcpdump", "-n", "-r", str(self.path)], check=False)
        if completed.returncode != 0:
            raise LabError("reading capture %s failed: %s" % (self.path, completed.stderr.strip()))
        return [line for line in completed.stdout.splitlines() if line.strip()]
