# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Records of the definitions this collection loaded into pluto.

``whack --status`` does not show every keyword (proposals, for example, are
printed in pluto's own normalised form). So each time the collection adds a
connection it records the connection's effective keywords together with
pluto's connection serials (``conn serial: $N``) and pluto's pid. A later run
trusts a record only while pluto's pid and the serials are unchanged, so a
connection re-added by anything else, or a restarted pluto, is never compared
with a stale record.

The file lives in pluto's run directory next to the control socket, so it
disappears with pluto's run-time state on reboot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

__all__ = ["DefinitionRecords", "RECORD_FILE"]

RECORD_FILE = "ansible-ipsec-libreswan.json"


class DefinitionRecords(object):
    """Load, query and atomically save the definition records of one pluto."""

    def __init__(self, ctlsocket):
        self.rundir = os.path.dirname(ctlsocket) or "."
        self.path = os.path.join(self.rundir, RECORD_FILE)
        self.pid = self._read_pid()
        self.connections = {}
        self._dirty = False
        self._load()

    def _read_pid(self):
        try:
            with open(os.path.join(self.rundir, "pluto.pid")) as handle:
                return handle.read().strip() or None
        except (IOError, OSError):
            return None

    def _load(self):
        if self.pid is None:
            return
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (IOError, OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("pluto_pid") == self.pid and isinstance(data.get("connections"), dict):
            # A record of the wrong shape (edited by hand, or by another tool) is dropped, not trusted.
            self.connections = dict(
                (name, record) for name, record in data["connections"].items()
                if isinstance(record, dict) and isinstance(record.get("settings"), dict)
                and isinstance(record.get("serials"), dict))

    @property
    def usable(self):
        return self.pid is not None

    def lookup(self, name, serials):
        """Return the recorded settings of ``name`` if the record still describes what pluto has."""
        record = self.connections.get(name)
        if not record or record.get("serials") != serials:
            return None
        return record.get("settings")

    def remember(self, name, settings, serials):
        if not self.usable:
            return
        self.connections[name] = {"settings": settings, "serials": serials}
        self._dirty = True

    def forget(self, name):
        if self.connections.pop(name, None) is not None:
            self._dirty = True

    def save(self):
        """Write the records through a temporary file and a rename; a failure only loses the records."""
        if not self._dirty or not self.usable:
            return
        data = {"pluto_pid": self.pid, "connections": self.connections}
        try:
            handle, temporary = tempfile.mkstemp(prefix=".%s." % RECORD_FILE, dir=self.rundir)
            with os.fdopen(handle, "w") as stream:
                json.dump(data, stream, sort_keys=True)
            os.chmod(temporary, 0o600)
            os.rename(temporary, self.path)
        except (IOError, OSError):
            return
        self._dirty = False


def settings_differences(name, recorded, current):
    """Return one difference per keyword whose value differs between two settings dicts."""
    differences = []
    for key in sorted(set(recorded) | set(current)):
        if recorded.get(key) != current.get(key):
            differences.append({"connection": name, "field": key, "config": current.get(key), "loaded": recorded.get(key)})
    return differences


__all__.append("settings_differences")
