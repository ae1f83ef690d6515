# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Parser for ``ipsec whack --trafficstatus`` output, and the line primitives it shares with ``_status``.

Pure text in, plain dicts out. Nothing here runs a command, and a line that is not
understood becomes a warning rather than an exception.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

__all__ = [
    "parse_trafficstatus",
    "parse_traffic_line",
    "parse_byte_count",
    "strip_line_code",
    "split_connection_name",
    "connection_key",
    "instance_address",
]

# Up to 4.x every whack line starts with a three-digit code ("000 ", "006 ", "002 ").
# Libreswan's test suite rewrites progress codes such as 181 to "1v2"; both forms are stripped.
_CODE_RE = re.compile(r"^(\d(?:\d\d|v\d))(?: |$)")

# Binary multipliers used by pluto's counters: "84B", "12KB" (3.x to 5.x ESPin/ESPout),
# "4MiB" (jam_humber, 4.x and later), "2^63B" (the default, unlimited ipsec_max_bytes).
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "KIB": 1024,
    "M": 1024 ** 2,
    "MB": 1024 ** 2,
    "MIB": 1024 ** 2,
    "G": 1024 ** 3,
    "GB": 1024 ** 3,
    "GIB": 1024 ** 3,
    "T": 1024 ** 4,
    "TIB": 1024 ** 4,
    "P": 1024 ** 5,
    "PIB": 1024 ** 5,
    "E": 1024 ** 6,
    "EIB": 1024 ** 6,
}
_COUNT_RE = re.compile(r"^(?:(\d+)|2\^(\d+))([A-Za-z]*)$")

_INSTANCE_RE = re.compile(r"\[(\d+)\]")

# '#2: "conn"[1] 198.51.100.1, ' up to the first ", key=" item.
_TRAFFIC_HEAD_RE = re.compile(r'^#(\d+): "([^"]*)"((?:\[\d+\])*)(.*?), (?=[A-Za-z_]+=)')
# One ", key=value" item; a quoted value (id='C=CA, O=Example') may contain commas.
_TRAFFIC_ITEM_RE = re.compile(r"([A-Za-z_]+)=('[^']*'|[^,]*)(?:, |,?\s*$)")


def strip_line_code(line):
    """Split an optional whack line code off ``line``; return ``(code or None, rest)``."""
    # Plain string tests come first because this runs once per line of outputs with
    # many thousand lines.
    if not line[:1].isdigit():
        return None, line
    code = line[:3]
    if code.isdigit() and line[3:4] in (" ", ""):
        return code, line[4:]
    match = _CODE_RE.match(line)
    if match is not None:
        return match.group(1), line[match.end():]
    return None, line


def parse_byte_count(text):
    """Return the byte count of a pluto counter such as ``84B``, ``1KiB`` or ``2^63B``.

    A trailing ``!`` (3.x prints ``ESPout=336B!``) is ignored. Returns None for text that
    is not a counter, such as the ``XX`` that Libreswan's test suite substitutes.
    """
    if text is None:
        return None
    text = text.strip().rstrip("!")
    match = _COUNT_RE.match(text)
    if match is None:
        return None
    unit = _UNITS.get(match.group(3).upper())
    if unit is None:
        return None
    if match.group(1) is not None:
        return int(match.group(1)) * unit
    return (2 ** int(match.group(2))) * unit


def connection_key(name, instances):
    """Return the key pluto's name maps to: ``name`` plus its ``[N]`` instance brackets."""
    return name + (instances or "")


def split_connection_name(name, instances=""):
    """Return ``(base, child, instance)`` for a connection name as pluto prints it.

    ``s2s/1x0`` is child ``1x0`` of ``s2s`` (one of ``leftsubnets={...}``); ``rw`` with
    ``[3]`` is instance 3 of template ``rw``. An opportunistic group instance such as
    ``private-or-clear#198.51.100.0/24`` has base ``private-or-clear``.
    """
    numbers = _INSTANCE_RE.findall(instances or "")
    instance = int(numbers[-1]) if numbers else None
    base = name
    child = None
    slash = base.rfind("/")
    if slash > 0:
        tail = base[slash + 1:]
        left, sep, right = tail.partition("x")
        if sep and left.isdigit() and right.isdigit():
            child = tail
            base = base[:slash]
    hash_mark = base.find("#")
    if hash_mark > 0:
        base = base[:hash_mark]
    return base, child, instance


def instance_address(suffix):
    """Return the peer address in the text pluto prints after an instance's ``[N]``.

    Ordinary instances print ``" 198.51.100.9"``; opportunistic ones print
    ``" 203.0.113.1/32=== ...198.51.100.23"`` (local client, then the peer after ``...``).
    """
    text = (suffix or "").strip()
    if not text:
        return None
    if "..." in text:
        text = text.rsplit("...", 1)[1]
        text = text.split("===", 1)[0]
    text = text.strip()
    return text or None


def parse_traffic_line(line):
    """Parse one trafficstatus line (code already stripped); return a dict, or None if it is not one."""
    head = _TRAFFIC_HEAD_RE.match(line)
    if head is None:
        return None
    items = {}
    position = head.end()
    while position < len(line):
        item = _TRAFFIC_ITEM_RE.match(line, position)
        if item is None or item.end() == position:
            return None
        value = item.group(2)
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            value = value[1:-1]
        items[item.group(1)] = value.strip()
        position = item.end()

    name = head.group(2)
    instances = head.group(3)
    base, child, instance = split_connection_name(name, instances)
    add_time = items.get("add_time")
    return {
        "serial": int(head.group(1)),
        "connection": connection_key(name, instances),
        "base": base,
        "child": child,
        "instance": instance,
        "instance_address": instance_address(head.group(4)),
        "type": items.get("type"),
        "add_time": int(add_time) if add_time and add_time.isdigit() else None,
        "in_bytes": parse_byte_count(items.get("inBytes")),
        "out_bytes": parse_byte_count(items.get("outBytes")),
        "max_bytes": parse_byte_count(items.get("maxBytes")),
        "id": items.get("id"),
        "username": items.get("username"),
        "lease": items.get("lease"),
    }


def parse_trafficstatus(text):
    """Parse ``ipsec whack --trafficstatus`` output of any Libreswan version from 3.x on.

    Returns ``{"sas": [...], "warnings": [...]}``. Each SA dict contains serial, connection
    (the status key, for example ``rw[3]``), type, add_time, in_bytes, out_bytes,
    max_bytes (None before ~4.8, which did not print it), id, username and lease.
    Every line that is not understood is quoted in ``warnings``; nothing raises.
    """
    sas = []
    warnings = []
    for raw in (text or "").splitlines():
        code, line = strip_line_code(raw)
        line = line.strip()
        if not line:
            continue
        record = parse_traffic_line(line)
        if record is None:
            warnings.append("unrecognised trafficstatus line: %r" % raw)
            continue
        sas.append(record)
    return {"sas": sas, "warnings": warnings}
