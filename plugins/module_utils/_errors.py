# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Exceptions raised by the collection's helpers; only a module's main() turns them into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

__all__ = [
    "LibreswanError",
    "ConfigProblem",
    "ConfigError",
    "CommandError",
    "PlutoNotRunningError",
    "ValidationError",
]


class LibreswanError(Exception):
    """Base class: ``message`` describes what failed and ``hint`` what the user can do next."""

    def __init__(self, message, hint=None, **details):
        super(LibreswanError, self).__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def to_result(self):
        """Return the keys that main() passes to fail_json."""
        msg = self.message
        if self.hint:
            msg = "%s. %s" % (msg.rstrip("."), self.hint)
        result = {"msg": msg}
        result.update(self.details)
        return result


class ConfigProblem(object):
    """One problem found in a configuration file, with the place it was found."""

    __slots__ = ("file", "line", "text", "message", "section", "severity")

    def __init__(self, file, line, text, message, section=None, severity="error"):
        self.file = file
        self.line = line
        self.text = text
        self.message = message
        self.section = section
        self.severity = severity

    def __str__(self):
        where = "%s:%s" % (self.file, self.line) if self.line else str(self.file)
        section = " (in %s)" % self.section if self.section else ""
        return "%s: %s%s: %r" % (where, self.message, section, self.text)

    def to_dict(self):
        return {
            "file": self.file,
            "line": self.line,
            "text": self.text,
            "message": self.message,
            "section": self.section,
            "severity": self.severity,
        }


class ConfigError(LibreswanError):
    """An ipsec.conf (or ipsec.secrets) file Libreswan would reject.

    ``problems`` lists every error found, the first one is also exposed as
    ``file``, ``line`` and ``text``.
    """

    def __init__(self, problems, hint=None):
        problems = list(problems)
        first = problems[0]
        if len(problems) == 1:
            message = "Invalid configuration: %s" % first
        else:
            message = "Invalid configuration, %d problems: %s" % (
                len(problems),
                "; ".join(str(p) for p in problems),
            )
        super(ConfigError, self).__init__(
            message,
            hint=hint or "Fix the file at the line shown; Libreswan would refuse to load it",
            problems=[p.to_dict() for p in problems],
        )
        self.problems = problems
        self.file = first.file
        self.line = first.line
        self.text = first.text


class CommandError(LibreswanError):
    """A Libreswan command failed; carries argv, rc, stdout and stderr."""

    def __init__(self, message, argv, rc, stdout, stderr, hint=None):
        super(CommandError, self).__init__(
            message, hint=hint, cmd=list(argv), rc=rc, stdout=stdout, stderr=stderr
        )
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class PlutoNotRunningError(LibreswanError):
    """Pluto's control socket is missing or refuses connections."""


class ValidationError(LibreswanError):
    """A module parameter was rejected before any command ran."""
