# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Writing and removing definition files through AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError

__all__ = ["ModuleFiles"]


class ModuleFiles(object):
    """Write and remove the definition file with AnsibleModule's atomic_move and backup_local."""

    def __init__(self, module):
        self._module = module

    def write(self, path, text, backup):
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            raise LibreswanError("Cannot write %s: directory %s does not exist" % (path, directory),
                                 hint="Create the directory, or set definition_path")
        backup_file = self._module.backup_local(path) if backup and os.path.exists(path) else None
        try:
            handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
            with os.fdopen(handle, "w") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            if not os.path.exists(path):
                os.chmod(temporary, 0o644)
        except (IOError, OSError) as error:
            raise LibreswanError("Cannot write %s: %s" % (path, error.strerror or error),
                                 hint="Check that the directory is writable; nothing was changed")
        # atomic_move keeps the owner, mode and SELinux context of the file it replaces.
        self._module.atomic_move(temporary, path)
        return backup_file

    def remove(self, path):
        try:
            os.unlink(path)
        except OSError as error:
            if error.errno != 2:
                raise LibreswanError("Cannot remove %s: %s" % (path, error.strerror))
