# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Replace a file atomically, so readers see either the old or the new content.

The new content goes to a temporary file in the target's directory. mkstemp
creates it with mode 0600, so a secret is never readable by others, not even
briefly. The data is fsynced and the owner, group, mode and SELinux label of
the file being replaced are copied to the temporary file. A new file gets
``default_mode`` and the label that the policy gives files created in that
directory. Then the temporary file is renamed over the target and the
directory is fsynced. On any failure the temporary file is removed and the
target is left as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError

__all__ = ["AtomicWriteError", "write_file_atomic", "file_mode"]

_SELINUX_XATTR = "security.selinux"


class AtomicWriteError(LibreswanError):
    """A file could not be replaced; the original file, if any, is unchanged."""


def file_mode(path):
    """Return the permission bits of ``path`` (symbolic links followed), or None when it does not exist."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def write_file_atomic(path, data, mode=None, default_mode=0o600):
    """Replace the file at ``path`` with the bytes ``data``.

    ``mode`` forces the permission bits. Without it the replaced file's bits are
    kept, and a new file gets ``default_mode``. A symbolic link at ``path`` is
    followed and its target is replaced. Raises AtomicWriteError with the
    reason (missing or read-only directory, permission denied, a target that
    is a mount point, a full disk).
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise AtomicWriteError(
            "Cannot write %s: the directory %s does not exist" % (path, directory),
            hint="Create the directory first (Libreswan's packages create /etc/ipsec.d)",
        )
    existing = _stat_or_none(target)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise AtomicWriteError("Cannot write %s: it exists and is not a regular file" % path)

    try:
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(target), suffix=".tmp", dir=directory)
    except OSError as error:
        raise _error(path, "creating a temporary file in %s failed" % directory, error)

    try:
        try:
            _write_all(handle, data, path)
            try:
                os.fsync(handle)
            except OSError as error:
                raise _error(path, "flushing the temporary file to disk failed", error)
            _copy_metadata(handle, temporary, existing, target, mode, default_mode)
        finally:
            os.close(handle)
        try:
            os.rename(temporary, target)
        except OSError as error:
            raise _error(path, "renaming the temporary file over it failed", error)
    except BaseException:
        _remove_quietly(temporary)
        raise
    _fsync_directory(directory)


def _stat_or_none(path):
    try:
        return os.stat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise _error(path, "reading its attributes failed", error)


def _write_all(handle, data, path):
    view = memoryview(data)
    while view:
        try:
            written = os.write(handle, view)
        except OSError as error:
            raise _error(path, "writing the temporary file failed", error)
        view = view[written:]


def _copy_metadata(handle, temporary, existing, target, mode, default_mode):
    if mode is None:
        mode = stat.S_IMODE(existing.st_mode) if existing is not None else default_mode
    try:
        if existing is not None:
            os.fchown(handle, existing.st_uid, existing.st_gid)
        os.fchmod(handle, mode)
    except OSError as error:
        raise _error(target, "setting owner, group and mode on the temporary file failed", error)
    if existing is not None:
        _copy_selinux_label(target, temporary)


def _copy_selinux_label(source, destination):
    """Copy the ``security.selinux`` extended attribute; nothing to do where SELinux labels are absent."""
    if not hasattr(os, "getxattr"):
        return
    try:
        label = os.getxattr(source, _SELINUX_XATTR)
    except OSError as error:
        if error.errno in (errno.ENODATA, errno.ENOTSUP, getattr(errno, "ENOATTR", errno.ENODATA)):
            return
        raise _error(source, "reading its SELinux label failed", error)
    try:
        os.setxattr(destination, _SELINUX_XATTR, label)
    except OSError as error:
        raise _error(source, "copying its SELinux label to the temporary file failed", error)


def _fsync_directory(directory):
    """fsync the directory so the rename survives a crash; some file systems do not support it."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


_REASONS = {
    errno.EROFS: ("the file system is read-only", "Remount it read-write or choose a path on a writable file system"),
    errno.EACCES: ("permission denied", "Run the task with become: true or fix the directory's permissions"),
    errno.EPERM: ("operation not permitted", "Run the task with become: true"),
    errno.ENOSPC: ("no space left on the device", "Free space on that file system"),
    errno.EDQUOT: ("disk quota exceeded", "Free space or raise the quota"),
    errno.EBUSY: (
        "it is a mount point (for example a file bind-mounted into a container), which rename() cannot replace",
        "Manage a file in a directory that is not mounted over, and include it from the mounted file",
    ),
    errno.EXDEV: ("the temporary file is on another file system", "Check the mounts of the target directory"),
}


def _error(path, step, error):
    reason, hint = _REASONS.get(error.errno, (error.strerror or str(error), None))
    return AtomicWriteError("Cannot write %s: %s: %s" % (path, step, reason), hint=hint, errno=error.errno)
