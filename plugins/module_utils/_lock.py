# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""One lock per pluto, so that concurrent module runs on a host do not interleave.

Two runs that read the status, the definition records or a secrets file and then
write them would otherwise lose each other's updates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError

__all__ = ["PlutoLock", "LOCK_FILE"]

LOCK_FILE = "ansible-ipsec-libreswan.lock"


class PlutoLock(object):
    """An exclusive flock on a file in pluto's run directory, taken for the whole module run.

    Without a run directory (pluto never started) there is nothing to serialise against
    and the lock is a no-op.
    """

    def __init__(self, ctlsocket, timeout=300):
        self.path = os.path.join(os.path.dirname(ctlsocket) or ".", LOCK_FILE)
        self.timeout = timeout
        self._handle = None

    def __enter__(self):
        if not os.path.isdir(os.path.dirname(self.path) or "."):
            return self
        try:
            self._handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return self
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.time() >= deadline:
                os.close(self._handle)
                self._handle = None
                raise LibreswanError(
                    "Timed out after %ss waiting for another ipsec.libreswan task on this host (lock %s)"
                    % (self.timeout, self.path),
                    hint="Let the other task finish; a lock left by a killed process is released with it")
            time.sleep(0.1)

    def __exit__(self, *exc_info):
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None
        return False
