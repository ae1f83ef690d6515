# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Connection definitions the collection writes to their own file, validated before they land.

Before a rendered file replaces the old one, the whole configuration as it
would be is checked twice. The collection's parser reads the new text in place
of the file, and Libreswan's own ``addconn --checkconfig`` checks a copy in a
temporary directory.
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

__all__ = ["OverlayReader", "ManagedDefinition", "check_with_addconn", "default_definition_path"]


def default_definition_path(name):
    return "/etc/ipsec.d/%s.conf" % name


class OverlayReader(FileReader):
    """Read files from disk, except the paths in ``texts`` ({path: text}), which may not exist yet."""

    def __init__(self, texts):
        self.texts = dict((os.path.normpath(path), text) for path, text in texts.items())
        self.directories = set(os.path.dirname(path) for path in self.texts)

    def read_text(self, path):
        path = os.path.normpath(path)
        if path in self.texts:
            return self.texts[path]
        return FileReader.read_text(self, path)

    def exists(self, path):
        return os.path.normpath(path) in self.texts or FileReader.exists(self, path)

    def list_dir(self, path):
        path = os.path.normpath(path)
        names = FileReader.list_dir(self, path) if FileReader.is_dir(self, path) else []
        extra = [os.path.basename(name) for name in self.texts if os.path.dirname(name) == path]
        return sorted(set(names) | set(extra))

    def is_dir(self, path):
        return os.path.normpath(path) in self.directories or FileReader.is_dir(self, path)


def check_with_addconn(client, manageds):
    """Run Libreswan's ``addconn --checkconfig`` on a copy holding the new texts; raise on errors.

    The candidates come first so their conns are the ones checked; the rest of the
    configuration follows so also= targets and the config setup section resolve.
    """
    directory = tempfile.mkdtemp(prefix="ipsec-libreswan-check-")
    replacements = []
    try:
        includes = []
        for index, managed in enumerate(manageds):
            candidate = os.path.join(directory, "%d-%s" % (index, os.path.basename(managed.path)))
            with open(candidate, "w") as handle:
                handle.write(managed.text)
            includes.append(candidate)
            replacements.append((candidate, managed.path))
        main = os.path.join(directory, "ipsec.conf")
        replacements.append((main, client.config))
        with open(main, "w") as handle:
            handle.write("".join("include %s\n" % path for path in includes + [client.config]))
        argv = client.argv_checkconfig_file(main)
        rc, out, err = client.run(argv, record=False)
        lines = output_lines(out, err)
        for temporary, real in replacements:
            lines = [line.replace(temporary, real) for line in lines]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    # addconn --checkconfig exits 0 for some semantic errors, so its messages count too, but
    # only those naming a candidate: other connections' problems are not this definition's.
    words = ("error", "cannot", "invalid", "bad ")
    names = ["'%s'" % managed.name for managed in manageds] + ['"%s"' % managed.name for managed in manageds]
    paths = [managed.path for managed in manageds]
    errors = [line for line in lines if any(word in line.lower() for word in words)
              and (rc != 0 or any(token in line for token in names + paths))]
    if errors or rc != 0:
        names = ", ".join(repr(managed.name) for managed in manageds)
        raise ValidationError(
            "Libreswan rejects the definition of %s: %s" % (names, " | ".join(errors or lines) or "rc=%s" % rc),
            hint="Fix the keyword named above in the definition; %s unchanged"
            % ("the file was" if len(manageds) == 1 else "no file was"),
            cmd=argv, rc=rc)
    return lines


class ManagedDefinition(object):
    """The file that contains one connection's rendered definition."""

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
        """True when the file exists, was written by this collection and defines this connection."""
        return self.old_text is not None and is_managed(self.old_text) and self._defines_only_this()

    def _defines_only_this(self):
        names = [line[5:].strip() for line in self.old_text.splitlines() if line.startswith("conn ")]
        return names == [self.name]

    def check_replaceable(self, main_config):
        """Raise unless writing this file can only replace this connection's own managed file."""
        if os.path.normpath(self.path) == os.path.normpath(main_config):
            raise ValidationError("definition_path %s is the main configuration file" % self.path,
                                  hint="Give each connection a file of its own, such as /etc/ipsec.d/%s.conf" % self.name)
        if not os.path.isabs(self.path):
            raise ValidationError("definition_path %r is not an absolute path" % self.path,
                                  hint="Give the full path, such as /etc/ipsec.d/%s.conf" % self.name)
        if self.old_text is None or not self.changed:
            return
        if not is_managed(self.old_text):
            raise ValidationError(
                "Refusing to replace %s: this module did not write it (it lacks the managed header)" % self.path,
                hint="Move its connections elsewhere, or choose another definition_path")
        if not self._defines_only_this():
            raise ValidationError(
                "Refusing to replace %s: it defines other connections than %r" % (self.path, self.name),
                hint="Give each connection a file of its own")

    def validate(self, client):
        """Parse the configuration with the new text in place; return the Config or raise."""
        self.check_replaceable(client.config)
        config = parse_config(client.config, version=client.version or "4", reader=OverlayReader({self.path: self.text}))
        config.ignored_problems = config.raise_for_errors_affecting([self.name])
        self.check_in(config, client.config)
        return config

    def check_in(self, config, main_config):
        """Raise unless ``config`` reads this file and takes the connection's definition from it."""
        files = getattr(config, "normalised_files", None)
        if files is None:
            # One set per parsed configuration: ipsec_connections checks hundreds of files against it.
            files = config.normalised_files = set(os.path.normpath(path) for path in config.files)
        if os.path.normpath(self.path) not in files:
            raise ValidationError(
                "%s is not read by %s: no include line matches it" % (self.path, main_config),
                hint="Add 'include %s/*.conf' to %s, or set definition_path to a file it includes"
                % (os.path.dirname(self.path), main_config))
        conn = config.conns.get(self.name)
        if conn is None or os.path.normpath(conn.file) != os.path.normpath(self.path):
            where = "%s:%s" % (conn.file, conn.line) if conn is not None else "nowhere"
            raise ValidationError(
                "Connection %r is already defined at %s, which Libreswan reads before %s" % (self.name, where, self.path),
                hint="Remove the other definition, or manage that file instead")

    def check_with_addconn(self, client):
        return check_with_addconn(client, [self])
