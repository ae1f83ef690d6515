# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Validation of connection names before they reach a command line or a file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ValidationError

__all__ = ["validate_connection_name", "MAX_NAME_LENGTH"]

MAX_NAME_LENGTH = 200

# A base name, optionally followed by the /LxR suffix pluto gives the children
# of a connection split by leftsubnets= or rightsubnets=.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@+~%-]*(/\d+x\d+)?$")
_FORBIDDEN = {
    " ": "a blank",
    "\t": "a tab",
    "\n": "a newline",
    "\r": "a carriage return",
    '"': "a double quote",
    "'": "a single quote",
    "#": "'#' (starts a comment in ipsec.conf)",
    "=": "'=' (separates keyword and value in ipsec.conf)",
    "{": "'{'",
    "}": "'}'",
    "[": "'[' (pluto uses NAME[N] for instances)",
    "]": "']'",
}


def validate_connection_name(name, allow_child=True):
    """Raise ValidationError unless ``name`` is a connection name Libreswan accepts.

    Returns a list of warnings for names that load but make status output
    ambiguous (``:`` appears in names built from IPv6 addresses).
    """
    if not isinstance(name, str) or not name:
        raise ValidationError("Invalid connection name %r: the name is empty" % (name,),
                              hint="Give the name of a conn section of ipsec.conf")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError("Invalid connection name %r: longer than %d characters" % (name[:40] + "...", MAX_NAME_LENGTH))
    for character, description in _FORBIDDEN.items():
        if character in name:
            raise ValidationError(
                "Invalid connection name %r: it contains %s" % (name, description),
                hint="Use letters, digits and . _ - @ + : ~ only",
            )
    if name.startswith("-"):
        raise ValidationError("Invalid connection name %r: it starts with '-', which commands read as an option" % name,
                              hint="Start the name with a letter or digit")
    if not _NAME_RE.match(name) or (not allow_child and "/" in name):
        raise ValidationError(
            "Invalid connection name %r: only letters, digits and . _ - @ + : ~ %% are allowed"
            "%s" % (name, ", and a /LxR suffix for a child of a split connection" if allow_child else ""),
            hint="Rename the conn section; shell characters and blanks are rejected",
        )
    warnings = []
    if ":" in name:
        warnings.append("Connection name %r contains ':'; it works, but such names are hard to tell apart "
                        "in status output. Consider replacing ':' with '-'." % name)
    return warnings
