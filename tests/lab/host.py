"""One lab host: a network namespace that looks like a separate Libreswan machine.

A command runs on a host through the host's wrapper script, `LABROOT/bin/on-<host>`:

    ip netns exec NAMESPACE /bin/sh -c 'set -e; mount --bind DIR/run /run/pluto; ...; exec "$@"' ...

`ip netns exec` enters the namespace, creates a mount namespace for that one command and
bind-mounts every entry of /etc/netns/NAMESPACE/ over the same name in /etc. The lab puts
ipsec.conf, ipsec.secrets and ipsec.d there as symbolic links to the host's own files. The
wrapper then bind-mounts the host's run directory over /run/pluto, its NSS database over the
installation's NSS directory and any extra mounts of the installation. `ip netns exec` makes /
a recursive slave first, so none of these mounts propagates back to the machine.

Because /etc/ipsec.conf and /etc/ipsec.secrets are mount points inside a host, replacing them
with rename(2) fails with EBUSY there. Ansible's atomic_move then needs `unsafe_writes`.
Files under /etc/ipsec.d are ordinary files and can be renamed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path, PurePosixPath

from . import registry
from .commands import LabError, c_locale_env, run_command

__all__ = ["Host", "ETC_ENTRIES", "DEFAULT_CONFIG", "DEFAULT_SECRETS"]

# Entries of /etc that are private to each host, and whether each one is a directory.
ETC_ENTRIES = {"ipsec.conf": False, "ipsec.secrets": False, "ipsec.d": True}
RUN_DIR = "/run/pluto"
NSS_DIR = "/var/lib/ipsec/nss"
TARGET_PYTHON = "/usr/bin/python3"
HOST_POLICIES_DIR = "/etc/ipsec.d/policies"

# The same layout as Debian's default files: everything is included from /etc/ipsec.d.
DEFAULT_CONFIG = "config setup\n\ninclude /etc/ipsec.d/*.conf\n"
DEFAULT_SECRETS = "include /etc/ipsec.d/*.secrets\n"

# 4.x prints STATE_V2_ESTABLISHED_IKE_SA, 5.1-5.3 ESTABLISHED_IKE_SA, 5.4 and later only the
# description "established IKE SA".
IKE_ESTABLISHED_RE = r"ESTABLISHED_IKE_SA|established IKE SA|PARENT SA established"
CHILD_ESTABLISHED_RE = r"ESTABLISHED_CHILD_SA|established Child SA|IPsec SA established"


class Host:
    """A lab host: its namespace, addresses, private files and pluto.

    `name` is the inventory name, such as "west". `address` and `address6` are on the lab link;
    `address6` is None without IPv6. `subnets` lists the interface addresses on the subnet link
    in CIDR form. `dir` contains the host's files. `wrapper` runs a command on the host and
    `python` runs the target Python there.
    """

    def __init__(self, lab, name, namespace, address, address6, subnets, installation):
        self.lab = lab
        self.name = name
        self.namespace = namespace
        self.address = address
        self.address6 = address6
        self.subnets = list(subnets)
        self.installation = installation
        self.dir = Path(lab.root) / name
        self.wrapper = Path(lab.root) / "bin" / ("on-" + name)
        self.python = Path(lab.root) / "bin" / ("python-" + name)
        self.log_path = self.dir / "pluto.log"
        self.output_path = self.dir / "pluto.out"
        self.run_dir = self.dir / "run"
        self.nss_dir = self.dir / "nss"
        self.etc_netns = Path(registry.ETC_NETNS_DIR) / namespace
        self._process = None

    def __repr__(self) -> str:
        return "<Host %s %s %s>" % (self.name, self.namespace, self.address)

    # Building

    def prepare(self) -> None:
        """Create the host's files, NSS database, wrapper scripts and /etc/netns entries."""
        for path in (self.dir, self.dir / "ipsec.d", self.run_dir, self.nss_dir):
            path.mkdir(parents=True, exist_ok=True)
        if os.path.isdir(HOST_POLICIES_DIR):
            shutil.copytree(HOST_POLICIES_DIR, self.dir / "ipsec.d" / "policies", dirs_exist_ok=True)
        self.write_config(DEFAULT_CONFIG)
        self.write_secrets(DEFAULT_SECRETS)
        run_command(["ipsec", "initnss", "--nssdir", self.nss_dir])
        self._write_wrappers()
        self.etc_netns.mkdir(parents=True, exist_ok=True)
        for entry in ETC_ENTRIES:
            link = self.etc_netns / entry
            if not link.is_symlink():
                link.symlink_to(self.dir / entry)

    def _write_wrappers(self) -> None:
        mounts = [(self.run_dir, RUN_DIR), (self.nss_dir, NSS_DIR)] + list(self.installation.mounts)
        inner = ["set -e"]
        for source, target in mounts:
            inner.append("mount --bind %s %s" % (shlex.quote(str(source)), shlex.quote(str(target))))
        inner.append('exec "$@"')
        ip_binary = shutil.which("ip", path=c_locale_env()["PATH"]) or "ip"
        exports = "".join(
            "export %s=%s\n" % (name, shlex.quote(str(value))) for name, value in sorted(self.installation.env.items())
        )
        wrapper = (
            "#!/bin/sh\n"
            "# Run a command on lab host %(name)s (network namespace %(namespace)s) with the\n"
            "# host's own /etc/ipsec.*, /run/pluto and NSS database.\n"
            "%(exports)s"
            'exec %(ip)s netns exec %(namespace)s /bin/sh -c %(inner)s %(arg0)s "$@"\n'
        ) % {
            "name": self.name,
            "namespace": shlex.quote(self.namespace),
            "exports": exports,
            "ip": shlex.quote(ip_binary),
            "inner": shlex.quote("; ".join(inner)),
            "arg0": shlex.quote(self.wrapper.name),
        }
        python = (
            "#!/bin/sh\n"
            "# The target-side Python of lab host %s, for ansible_python_interpreter.\n"
            'exec %s %s "$@"\n'
        ) % (self.name, shlex.quote(str(self.wrapper)), TARGET_PYTHON)
        self.wrapper.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((self.wrapper, wrapper), (self.python, python)):
            path.write_text(text)
            path.chmod(0o755)

    # Commands and files

    def env(self, extra: dict | None = None) -> dict:
        """Return the environment for a command on this host: C locale, the installation's variables, `extra`.

        The wrapper script also exports the installation's variables, so commands started by
        Ansible or `python -m tests.lab exec` get them too.
        """
        env = c_locale_env(self.installation.env)
        if extra:
            env.update(extra)
        return env

    def run(self, argv, check=True, env=None, input=None, timeout=60) -> subprocess.CompletedProcess:
        """Run `argv` on this host and return the CompletedProcess (text output, C locale).

        Raises CommandFailed when `check` is true and the command exits non-zero.
        """
        if isinstance(argv, str):
            raise TypeError("Host.run takes an argv list, not a shell string: %r" % argv)
        return run_command([self.wrapper, *argv], check=check, env=self.env(env), input=input, timeout=timeout)

    def path(self, relpath) -> Path:
        """Return where the host's /etc/`relpath` lives on the machine.

        `relpath` may start with /etc/ and must lie in ipsec.conf, ipsec.secrets or ipsec.d/,
        the only parts of /etc that are private to a host.
        """
        parts = PurePosixPath(relpath).parts
        if parts[:2] == ("/", "etc"):
            parts = parts[2:]
        if not parts or parts[0] not in ETC_ENTRIES or ".." in parts or (len(parts) > 1 and not ETC_ENTRIES[parts[0]]):
            raise ValueError(
                "%r is not private to a lab host: use ipsec.conf, ipsec.secrets or a path under ipsec.d/" % str(relpath)
            )
        return self.dir.joinpath(*parts)

    def write_file(self, relpath, text: str, mode: int = 0o644) -> Path:
        """Write `text` to the host's /etc/`relpath` and return the path on the machine.

        The file is rewritten in place, never replaced, because running commands of the host
        hold bind mounts of /etc/ipsec.conf and /etc/ipsec.secrets to the existing inode.
        """
        path = self.path(relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "w") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(text)
        return path

    def read_file(self, relpath) -> str:
        return self.path(relpath).read_text()

    def remove_file(self, relpath) -> None:
        path = self.path(relpath)
        if path.parts[-1] in ETC_ENTRIES and path.parent == self.dir:
            raise ValueError("%s is a mount point inside the host and cannot be removed" % relpath)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    def write_config(self, text: str) -> Path:
        return self.write_file("ipsec.conf", text, 0o644)

    def write_secrets(self, text: str) -> Path:
        return self.write_file("ipsec.secrets", text, 0o600)

    def clear_ipsec_d(self) -> None:
        """Remove everything in the host's /etc/ipsec.d except the policies directory."""
        for entry in (self.dir / "ipsec.d").iterdir():
            if entry.name == "policies":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def read_log(self) -> str:
        """Return pluto's log file, empty before pluto wrote one."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # pluto

    @property
    def pluto_pid(self) -> int | None:
        entry = self.lab.record.get("processes", {}).get(self.name)
        return entry["pid"] if entry else None

    def pluto_running(self) -> bool:
        entry = self.lab.record.get("processes", {}).get(self.name)
        if not entry:
            return False
        if self._process is not None and self._process.poll() is not None:
            return False
        return registry.process_start_time(entry["pid"]) == entry["start_time"]

    def whack(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.run([*self.installation.whack_argv, *args], check=check, timeout=timeout)

    def status(self) -> str:
        """Return the output of `whack --status` on this host."""
        return self.whack("--status").stdout

    def ike_sa_established(self, conn: str) -> bool:
        """Tell whether pluto on this host has an established IKE SA for connection `conn`."""
        return self._state_matches(conn, IKE_ESTABLISHED_RE)

    def child_sa_established(self, conn: str) -> bool:
        """Tell whether pluto on this host has an established Child (IPsec) SA for `conn`."""
        return self._state_matches(conn, CHILD_ESTABLISHED_RE)

    def _state_matches(self, conn: str, pattern: str) -> bool:
        state_line = re.compile(r'#\d+: "%s"(\[\d+\])?[^\n]*(%s)' % (re.escape(conn), pattern))
        return bool(state_line.search(self.status()))

    def start_pluto(self, timeout: float = 20) -> None:
        """Start pluto on this host and wait until `whack --status` succeeds."""
        self.launch_pluto()
        self.wait_for_pluto(timeout)

    def launch_pluto(self) -> None:
        """Start pluto in the foreground (`--nofork`) and record its pid; do not wait for it."""
        if self.pluto_running():
            raise LabError("pluto already runs on %s (pid %d)" % (self.name, self.pluto_pid))
        for stale in ("pluto.pid", "pluto.ctl"):
            (self.run_dir / stale).unlink(missing_ok=True)
        # --logfile comes after --config so that it wins over a logfile= in config setup.
        argv = [
            str(self.wrapper),
            *self.installation.pluto_argv,
            "--config",
            "/etc/ipsec.conf",
            "--nofork",
            "--logfile",
            str(self.log_path),
        ]
        with open(self.output_path, "ab") as output:
            # A new session keeps a terminal's Ctrl-C away from pluto; the lab stops it itself.
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.env(),
                start_new_session=True,
            )
        # `ip netns exec` and the wrapper's shell both exec, so this pid is pluto's.
        self.lab.record_process(self.name, self._process.pid)

    def wait_for_pluto(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.pluto_running():
                raise LabError("pluto on %s exited during start-up\n%s" % (self.name, self._diagnostics()))
            if self.whack("--status", check=False, timeout=timeout).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise LabError(
                    "timed out after %gs waiting for whack --status to succeed on %s\n%s"
                    % (timeout, self.name, self._diagnostics())
                )
            time.sleep(0.05)
        self.installation.after_pluto_start(self)

    def stop_pluto(self, timeout: float = 10) -> None:
        """Stop pluto with `whack --shutdown`, then by signal if it is still running."""
        entry = self.lab.record.get("processes", {}).get(self.name)
        if entry is None:
            return
        if self.pluto_running():
            try:
                self.whack("--shutdown", check=False, timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + timeout
            while self.pluto_running() and time.monotonic() < deadline:
                time.sleep(0.02)
        registry.stop_process(entry["pid"], entry["start_time"])
        if self._process is not None:
            self._process.wait()
            self._process = None
        self.lab.forget_process(self.name)

    def restart_pluto(self, timeout: float = 20) -> None:
        self.stop_pluto()
        self.start_pluto(timeout)

    def _diagnostics(self) -> str:
        output = self.output_path.read_text(errors="replace") if self.output_path.exists() else ""
        log_tail = "\n".join(self.read_log().splitlines()[-20:])
        return "pluto output:\n%s\npluto log (last lines):\n%s" % (output.strip(), log_tail)

    # Resetting between tests

    def reset(self, restart: bool = True) -> None:
        """Bring the host back to a fresh state: default files, empty ipsec.d, no connections.

        With `restart`, pluto is stopped, the namespace's XFRM states and policies are flushed,
        the log is rotated (see rotate_log) and pluto starts again. Without it, every loaded
        connection is deleted with `whack --delete` and the secrets are read again.
        """
        self.reset_files()
        if restart or not self.pluto_running():
            self.stop_pluto()
            self.flush_kernel_state()
            self.rotate_log()
            self.start_pluto()
            return
        for conn in self.connection_names():
            self.whack("--delete", "--name", conn, check=False)
        self.whack("--rereadsecrets")

    def reset_files(self) -> None:
        """Write the default ipsec.conf and ipsec.secrets and empty /etc/ipsec.d (policies stay)."""
        self.clear_ipsec_d()
        self.write_config(DEFAULT_CONFIG)
        self.write_secrets(DEFAULT_SECRETS)

    def flush_kernel_state(self) -> None:
        """Delete every XFRM state and policy in the host's namespace (pluto removes its own on shutdown)."""
        for table in ("state", "policy"):
            run_command(["ip", "-n", self.namespace, "xfrm", table, "flush"])

    def rotate_log(self) -> None:
        """Move pluto's log to pluto.log.old so that read_log() shows only what follows."""
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_name(self.log_path.name + ".old"))

    def connection_names(self) -> list:
        """Return the names of the connections pluto has loaded, instances excluded."""
        names = []
        for match in re.finditer(r'^(?:\d{3} )?"([^"]+)":', self.status(), re.MULTILINE):
            if match.group(1) not in names:
                names.append(match.group(1))
        return names
