# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Render a connection definition (a dict of keywords) as an ipsec.conf conn section.

The rendering follows the lexer rules that the parser in ``_conf.py`` implements.
A raw value ends at the first blank, so values with blanks or ``#`` are
double-quoted. Double quotes have no escape, so a value containing ``"`` or a
line break cannot be written and is rejected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ValidationError

__all__ = ["MANAGED_HEADER", "render_conn", "render_value", "is_managed"]

MANAGED_HEADER = (
    "# Managed by the ipsec.libreswan Ansible collection (ipsec_connection).\n"
    "# Local changes are overwritten on the next run.\n"
)

_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NEEDS_QUOTES_RE = re.compile(r"[\s#]|^$|^\{")


def is_managed(text):
    """Return True when ``text`` is a file this collection wrote (it starts with the header)."""
    return (text or "").startswith(MANAGED_HEADER.splitlines()[0])


def render_value(key, value):
    """Return the ipsec.conf text of one value, or raise ValidationError naming the keyword."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [render_value(key, item) for item in value]
        for item in items:
            if item.startswith('"') or " " in item:
                raise ValidationError("Invalid value for %s: list item %r contains a blank" % (key, item),
                                      hint="Give each list item without blanks")
        if key.lower().endswith("subnets"):
            return "{%s}" % " ".join(items)
        return ",".join(items)
    if not isinstance(value, str):
        raise ValidationError("Invalid value for %s: %r is a %s; give a string, number, boolean or list"
                              % (key, value, type(value).__name__))
    if '"' in value:
        raise ValidationError(
            "Invalid value for %s: %r contains a double quote, which ipsec.conf cannot express" % (key, value),
            hint="Remove the double quote; ipsec.conf quoting has no escape character")
    if _CONTROL_RE.search(value):
        raise ValidationError(
            "Invalid value for %s: %r contains a line break or control character" % (key, value),
            hint="Values must fit on one line")
    if key.lower().startswith(("x-", "x_")):
        # A user comment keyword takes the rest of its line verbatim, quotes included.
        return value
    if value.isdigit():
        # A string of digits is written quoted: 4.x refuses a bare digits-only value where it
        # expects text (mark=, leftid=), and a quoted one reads back as the same string.
        return '"%s"' % value
    if _NEEDS_QUOTES_RE.search(value) and not (value.startswith("{") and value.endswith("}") and "#" not in value):
        return '"%s"' % value
    return value


def render_conn(name, definition):
    """Return the text of a managed file holding ``conn NAME`` with ``definition``'s keywords.

    Keywords keep the order of the dict; a value of None leaves the keyword out.
    """
    if not isinstance(definition, dict) or not definition:
        raise ValidationError("Invalid definition for %r: give a non-empty dict of conn keywords" % name)
    lines = [MANAGED_HEADER.rstrip("\n"), "conn %s" % name]
    for key, value in definition.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ValidationError("Invalid keyword %r in the definition of %r: keywords are letters, digits, '-' "
                                  "and '_', starting with a letter" % (key, name))
        if value is None:
            continue
        lines.append("\t%s=%s" % (key, render_value(key, value)))
    return "\n".join(lines) + "\n"
