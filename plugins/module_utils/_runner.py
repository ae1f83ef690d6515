# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""The one seam through which the collection runs Libreswan commands.

``ModuleRunner`` wraps ``AnsibleModule.run_command``; tests substitute any
object with the same ``run(argv, timeout=None)`` method. ``LibreswanClient``
builds the argv lists for ``ipsec whack`` and ``ipsec addconn`` and
interprets their results.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import (
    CommandError,
    PlutoNotRunningError,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status

__all__ = ["C_LOCALE", "ModuleRunner", "LibreswanClient", "parse_version", "output_lines"]

# Parsed output must not depend on the target host's language settings.
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}

_VERSION_RE = re.compile(r"Libreswan\s+v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_PLUTO_VERSION_RE = re.compile(r"pluto_version=v?(\d+(?:\.\d+)*)")
# whack's messages when it cannot reach the control socket (3.x to 5.x wording).
_NOT_RUNNING_RE = re.compile(r"Pluto is not running|connect\(\) for .* failed|No such file or directory", re.IGNORECASE)
_ADDRESS_RE = re.compile(r"\sinet6?\s+([0-9A-Fa-f.:]+)/")
# Up to 4.x every whack line starts with a three-digit code; 5.0 dropped it.
_CODE_PREFIX_RE = re.compile(r"^\d{3} ")


def parse_version(text):
    """Return the version string from ``ipsec --version`` or a status header, or None."""
    match = _VERSION_RE.search(text or "") or _PLUTO_VERSION_RE.search(text or "")
    return match.group(1) if match else None


def output_lines(*texts):
    """Split command output into lines without the numeric prefix of 4.x and older."""
    lines = []
    for text in texts:
        for line in (text or "").splitlines():
            line = _CODE_PREFIX_RE.sub("", line).rstrip()
            if line:
                lines.append(line)
    return lines


class ModuleRunner(object):
    """Run argv lists through ``module.run_command`` with the C locale.

    Uses only ``module.run_command`` and ``module.get_bin_path``.
    """

    def __init__(self, module):
        self._module = module

    def find(self, name):
        return self._module.get_bin_path(name, required=True)

    def run(self, argv, timeout=None):
        if timeout:
            # AnsibleModule.run_command has no timeout, so coreutils' timeout(1) ends a
            # command that would otherwise block the play (rc 124 when it fires).
            argv = [self.find("timeout"), "--kill-after=5", str(int(timeout))] + list(argv)
        rc, out, err = self._module.run_command(argv, check_rc=False, environ_update=C_LOCALE)
        return rc, out, err


class LibreswanClient(object):
    """Build and run ``ipsec whack`` and ``ipsec addconn`` commands for one pluto.

    Every command that ran is appended to ``history`` as
    ``{"cmd": argv, "rc": rc, "stdout": ..., "stderr": ...}``.
    """

    def __init__(self, runner, ipsec="ipsec", ctlsocket="/run/pluto/pluto.ctl", config="/etc/ipsec.conf"):
        self.runner = runner
        self.ipsec = ipsec
        self.ctlsocket = ctlsocket
        self.config = config
        self.history = []
        self.version = None
        # Every command run, read-only ones included: pluto round-trips for benchmarks.
        self.command_count = 0

    # argv builders: pure, so tests can assert the exact lists.
    def whack_argv(self, *args):
        return [self.ipsec, "whack", "--ctlsocket", self.ctlsocket] + list(args)

    def addconn_argv(self, *args):
        return [self.ipsec, "addconn", "--ctlsocket", self.ctlsocket, "--config", self.config] + list(args)

    def argv_status(self):
        return self.whack_argv("--status")

    def argv_trafficstatus(self):
        return self.whack_argv("--trafficstatus")

    def argv_add(self, name):
        return self.addconn_argv(name)

    def argv_add_many(self, names):
        # addconn takes several names; 3.x to 5.x add each in turn.
        return self.addconn_argv(*names)

    def argv_checkconfig(self):
        return self.addconn_argv("--checkconfig")

    def argv_checkconfig_file(self, path):
        return [self.ipsec, "addconn", "--config", path, "--checkconfig"]

    def argv_delete(self, name):
        return self.whack_argv("--name", name, "--delete")

    def argv_route(self, name):
        return self.whack_argv("--name", name, "--route")

    def argv_unroute(self, name):
        return self.whack_argv("--name", name, "--unroute")

    def argv_initiate(self, name, wait=True):
        if wait:
            return self.whack_argv("--name", name, "--initiate")
        return self.whack_argv("--asynchronous", "--name", name, "--initiate")

    def argv_terminate(self, name):
        return self.whack_argv("--name", name, "--terminate")

    def argv_listen(self):
        return self.whack_argv("--listen")

    def argv_version(self):
        return [self.ipsec, "--version"]

    # Running.
    def run(self, argv, timeout=None, record=True):
        rc, out, err = self.runner.run(argv, timeout=timeout)
        self.command_count += 1
        if record:
            self.history.append({"cmd": list(argv), "rc": rc, "stdout": out, "stderr": err})
        return rc, out, err

    def local_addresses(self):
        """Return the host's interface addresses (``ip -o addr show``), or None when unknown."""
        find = getattr(self.runner, "find", None)
        argv = [find("ip") if find else "ip", "-o", "addr", "show"]
        rc, out, err = self.run(argv, record=False)
        if rc != 0:
            return None
        return [match.group(1) for match in _ADDRESS_RE.finditer(out)]

    def ensure_running(self):
        """Raise PlutoNotRunningError when the control socket does not exist."""
        if not os.path.exists(self.ctlsocket):
            raise PlutoNotRunningError(
                "pluto is not running: control socket %s does not exist" % self.ctlsocket,
                hint="Start the IPsec service (for example 'systemctl start ipsec') or set ctlsocket "
                "to the socket of the pluto you want to manage",
            )

    def status(self):
        """Read and parse ``whack --status``; also learn pluto's version from it."""
        self.ensure_running()
        argv = self.argv_status()
        rc, out, err = self.run(argv, record=False)
        if rc != 0:
            text = "%s %s" % (out, err)
            if _NOT_RUNNING_RE.search(text):
                raise PlutoNotRunningError(
                    "pluto is not running or refuses connections on %s: %s" % (self.ctlsocket, " ".join(output_lines(out, err))),
                    hint="Start the IPsec service or check the ctlsocket option",
                    cmd=argv, rc=rc,
                )
            raise CommandError("reading pluto's status failed", argv, rc, out, err)
        status = parse_status(out)
        if status.get("version"):
            self.version = status["version"]
        return status

    def detect_version(self):
        """Return the Libreswan version, asking ``ipsec --version`` only when the status had none."""
        if self.version:
            return self.version
        rc, out, err = self.run(self.argv_version(), record=False)
        self.version = parse_version(out) or parse_version(err)
        return self.version

    # Listings and pluto-wide operations (ipsec_info, ipsec_pluto). ``utc`` adds whack's
    # --utc, which makes pluto print key and fetch-request dates in UTC.
    def _list_argv(self, option, utc):
        return self.whack_argv("--utc", option) if utc else self.whack_argv(option)

    def argv_listcerts(self, utc=False):
        return self._list_argv("--listcerts", utc)

    def argv_listcacerts(self, utc=False):
        return self._list_argv("--listcacerts", utc)

    def argv_listpubkeys(self, utc=False):
        return self._list_argv("--listpubkeys", utc)

    def argv_listcrls(self, utc=False):
        return self._list_argv("--listcrls", utc)

    def argv_checkpubkeys(self, utc=False):
        return self._list_argv("--checkpubkeys", utc)

    def argv_rereadsecrets(self):
        return self.whack_argv("--rereadsecrets")

    def argv_rereadall(self):
        return self.whack_argv("--rereadall")

    def argv_rereadcerts(self):
        return self.whack_argv("--rereadcerts")

    def argv_fetchcrls(self):
        return self.whack_argv("--fetchcrls")

    def argv_purgeocsp(self):
        return self.whack_argv("--purgeocsp")
