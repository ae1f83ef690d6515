# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Connection definitions the collection writes to their own file, validated before they land.

Before a rendered file replaces the old one, the whole configuration as it
would be is checked twice: by the collection's parser (reading the new text in
place of the file) and by Libreswan's own ``addconn --checkconfig`` on a copy
in a temporary directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import FileReader, parse_config
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError, ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._render import is_managed, render_conn
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import output_lines

__all__ = ["OverlayReader", "ManagedDefinition", "default_definition_path"]


def default_definition_path(name):
    return "/etc/ipsec.d/%s.conf" % name


class OverlayReader(FileReader):
    """Read files from disk, except one path whose text is given (and that may not exist yet)."""

    def __init__(self, path, text):
        self.path = os.path.normpath(path)
        self.text = text

    def read_text(self, path):
        if os.path.normpath(path) == self.path:
            return self.text
        return FileReader.read_text(self, path)

    def exists(self, path):
        return os.path.normpath(path) == self.path or FileReader.exists(self, path)

    def list_dir(self, path):
        names = FileReader.list_dir(self, path) if FileReader.is_dir(self, path) else []
        if os.path.normpath(path) == os.path.dirname(self.path):
            names = sorted(set(names) | set([os.path.basename(self.path)]))
        return names

    def is_dir(self, path):
        return os.path.normpath(path) == os.path.dirname(self.path) or FileReader.is_dir(self, path)


class ManagedDefinition(object):
    """The file that holds one connection's rendered definition."""

    def __init__(self, name, definition, path=None):
        self.name = name
        self.path = path or default_definition_path(name)
        self.text = render_conn(name, definition) if definition is not None else None
        self.old_text = self._read()

    def _read(self):
        try:
            with open(self.path, "rb") as handle:
                return handle.read().decode("utf-8", "surrogateescape")
        except (IOError, OSError) as error:
            if getattr(error, "errno", None) == 2:
                return None
            raise LibreswanError("Cannot read %s: %s" % (self.path, error.strerror or error),
                                 hint="Check the path and its permissions")

    @property
    def changed(self):
        return self.text is not None and self.text != self.old_text

    @property
    def removable(self):
        """True when the file exists and was written by this collection."""
        return self.old_text is not None and is_managed(self.old_text)

    def validate(self, client):
        """Parse the configuration with the new text in place; return the Config or raise."""
        config = parse_config(client.config, version=client.version or "4", reader=OverlayReader(self.path, self.text))
        config.raise_for_errors()
        if os.path.normpath(self.path) not in [os.path.normpath(path) for path in config.files]:
            raise ValidationError(
                "%s is not read by %s: no include line matches it" % (self.path, client.config),
                hint="Add 'include %s/*.conf' to %s, or set definition_path to a file it includes"
                % (os.path.dirname(self.path), client.config))
        conn = config.conns.get(self.name)
        if conn is None or os.path.normpath(conn.file) != os.path.normpath(self.path):
            where = "%s:%s" % (conn.file, conn.line) if conn is not None else "nowhere"
            raise ValidationError(
                "Connection %r is already defined at %s, which Libreswan reads before %s" % (self.name, where, self.path),
                hint="Remove the other definition, or manage that file instead")
        return config

    def check_with_addconn(self, client):
        """Run Libreswan's ``addconn --checkconfig`` on a copy with the new text; raise on errors."""
        directory = tempfile.mkdtemp(prefix="ipsec-libreswan-check-")
        try:
            candidate = os.path.join(directory, os.path.basename(self.path))
            main = os.path.join(directory, "ipsec.conf")
            with open(candidate, "w") as handle:
                handle.write(self.text)
            # The candidate comes first so its conn is the one checked; the rest of the
            # configuration follows so also= targets and the config setup section resolve.
            with open(main, "w") as handle:
                handle.write("include %s\ninclude %s\n" % (candidate, client.config))
            argv = client.argv_checkconfig_file(main)
            rc, out, err = client.run(argv, record=False)
            lines = [line.replace(candidate, self.path).replace(main, client.config) for line in output_lines(out, err)]
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        # addconn --checkconfig exits 0 for some semantic errors, so its messages count too.
        errors = [line for line in lines if "error" in line.lower() or "cannot" in line.lower() or "invalid" in line.lower()]
        if rc != 0 or errors:
            raise ValidationError(
                "Libreswan rejects the definition of %r: %s" % (self.name, " | ".join(errors or lines) or "rc=%s" % rc),
                hint="Fix the keyword named above in the definition; %s was not changed" % self.path,
                cmd=argv, rc=rc)
        return lines
