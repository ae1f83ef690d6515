# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Parser for pluto's listings: ``whack --listcerts``, ``--listcacerts``, ``--listpubkeys``,
``--listcrls`` and ``--checkpubkeys`` (and ``--listall``, which prints them one after another).

Pure text in, plain dicts out; nothing here runs a command or raises on odd input. A line
that is not understood is quoted in ``warnings``.

Dates come out as ISO 8601 strings. pluto prints certificate and CRL dates in UTC without
saying so (NSS ``PR_GMTParameters``), and key and fetch-request dates in pluto's local time,
or in UTC followed by the word ``UTC`` when whack ran with ``--utc``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import re
import time

from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import strip_line_code

__all__ = ["parse_listing", "format_timestamp", "EXPIRY_STATES"]

# Values of a public key's "expiry": pluto's "ok", "ok (expires never)", "warning (expires in
# N days)" (less than 14 days left in 3.25 to 5.x) and "fatal (expired)" ("warning (expired)"
# in some 3.x paths).
EXPIRY_STATES = ("ok", "never", "warning", "expired", "other")

_MONTHS = dict((name, number) for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1))

# NSS PR_FormatTime("%a %b %d %H:%M:%S %Y"): "Fri Dec 04 21:16:25 2026", always UTC.
_NSS_TIME_RE = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$")
# pluto's jam_realtime(): "Dec 04 21:16:38 2026" (local) or "Dec 04 21:16:38 UTC 2026".
_REALTIME_RE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})( UTC)? (\d{4})$")
# jam_realtime() of the zero time, which pluto uses for "never".
_NEVER_RE = re.compile(r"^--- -- --:--:--(?: UTC)? ----$")

# "List of CRLs:", and 4.x's "List of Pre-shared secrets (from /etc/ipsec.secrets)" without a colon.
_SECTION_RE = re.compile(r"^List of ([^:(]*?)(?: \(.*\))?:?$")
_CERT_RE = re.compile(r'^(Root )?(CA|End) certificate "(.*)" - SN: (\S+)$')
_CERT_KEY_RE = re.compile(r"^(\d+) bit(?: (RSA)|\((other)\))?(: has private key)?$")
_PUBKEY_RE = re.compile(
    r"^(.*?), +(-?\d+) (\S+) Key (\S+) \((\w+) private key\), until (.*?) "
    r"(ok \(expires never\)|ok|fatal \(expired\)|warning \([^)]*\))$")
_PUBKEY_ID_RE = re.compile(r"^([A-Z][A-Z0-9_]*) '(.*)'$")
_QUOTED_RE = re.compile(r"^'(.*)'$")
_FETCH_RE = re.compile(r"^(.*), trials: (\d+)$")
# pluto's log messages that can appear among listing lines: 5.x loads its cache of root CA
# certificates on first use (programs/pluto/root_certs.c). 3.x and 4.x mark log messages with a
# code other than 000.
_LOG_MESSAGE_RE = re.compile(r"^(?:adding the CA\+root cert |freeing root certificate cache)")

# Section titles, as printed by 3.25 to 5.x, mapped to the key their entries go to.
# 3.x printed "List of RSA Public Keys".
_SECTIONS = {
    "X.509 End Certificates": "certs",
    "X.509 CA Certificates": "cacerts",
    "Public Keys": "pubkeys",
    "RSA Public Keys": "pubkeys",
    "CRLs": "crls",
    "CRL fetch requests": "crl_fetch_requests",
}


def format_timestamp(seconds, utc=True):
    """Return ``seconds`` since the epoch as ISO 8601: ``...Z`` in UTC, else local time with its offset."""
    if seconds is None:
        return None
    if utc:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    return datetime.datetime.fromtimestamp(seconds).astimezone().isoformat()


def _timestamp(parts, is_utc):
    """Return epoch seconds for (year, month, day, hour, minute, second), or None when invalid."""
    try:
        datetime.datetime(*parts)
    except ValueError:
        return None
    if is_utc:
        return calendar.timegm(parts + (0, 0, 0))
    # NOTE: a local time is read in this process's time zone, which is pluto's only when both
    # use the same zone (the system's, unless TZ is set for one of them).
    return int(time.mktime(parts + (0, 0, -1)))


def _parse_nss_time(text):
    match = _NSS_TIME_RE.match(text.strip())
    if match is None or match.group(1) not in _MONTHS:
        return None
    month, day, hour, minute, second, year = match.groups()
    return _timestamp((int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second)), True)


def _parse_realtime(text):
    """Return ``(seconds, never)`` for a jam_realtime() date; ``(None, False)`` when it is not one."""
    text = text.strip()
    if _NEVER_RE.match(text):
        return None, True
    match = _REALTIME_RE.match(text)
    if match is None or match.group(1) not in _MONTHS:
        return None, False
    month, day, hour, minute, second, utc_word, year = match.groups()
    parts = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    return _timestamp(parts, utc_word is not None), False


class _Listing(object):
    """Parsing state: the current section and the entry that following lines add to."""

    def __init__(self, utc):
        self.utc = utc
        self.result = {
            "certs": [],
            "cacerts": [],
            "pubkeys": [],
            "crls": [],
            "crl_fetch_requests": [],
            "messages": [],
            "warnings": [],
        }
        self.section = None
        self.entry = None
        self.raw = None

    def warn(self, message):
        self.result["warnings"].append("%s: %r" % (message, self.raw))

    def nss_time(self, text):
        seconds = _parse_nss_time(text)
        if seconds is None:
            self.warn("unrecognised date in listing line")
        return format_timestamp(seconds, self.utc)

    def realtime(self, text):
        seconds, never = _parse_realtime(text)
        if seconds is None and not never:
            self.warn("unrecognised date in listing line")
        return format_timestamp(seconds, self.utc)

    # One handler per kind of entry; each returns False for a line it does not understand.

    def cert_line(self, line):
        match = _CERT_RE.match(line)
        if match is not None:
            root, kind, nickname, serial = match.groups()
            self.entry = {
                "nickname": nickname,
                "kind": kind,
                "root": root is not None,
                "serial": serial,
                "serial_number": int(serial, 16) if re.match(r"^0x[0-9a-fA-F]+$", serial) else None,
                "subject": None,
                "issuer": None,
                "not_before": None,
                "not_after": None,
                "key_bits": None,
                "key_type": None,
                "has_private_key": False,
            }
            self.result["cacerts" if kind == "CA" else "certs"].append(self.entry)
            return True
        if self.entry is None or "nickname" not in self.entry:
            return False
        key, sep, value = line.partition(": ")
        if sep and key in ("subject", "issuer"):
            self.entry[key] = value
            return True
        if sep and key in ("not before", "not after"):
            self.entry[key.replace(" ", "_")] = self.nss_time(value)
            return True
        bits = _CERT_KEY_RE.match(line)
        if bits is not None:
            self.entry["key_bits"] = int(bits.group(1))
            self.entry["key_type"] = bits.group(2) or bits.group(3)
            self.entry["has_private_key"] = bits.group(4) is not None
            return True
        return False

    def pubkey_line(self, line):
        match = _PUBKEY_RE.match(line)
        if match is not None:
            installed, bits, key_type, keyid, private, until, expiry = match.groups()
            until_seconds, never = _parse_realtime(until)
            if until_seconds is None and not never:
                self.warn("unrecognised date in listing line")
            self.entry = {
                "installed": self.realtime(installed),
                "key_bits": int(bits),
                "key_type": key_type,
                "keyid": keyid,
                "private_key": private,
                "has_private_key": private in ("has", "loaded"),
                "until": format_timestamp(until_seconds, self.utc),
                "expiry": _expiry_state(expiry),
                "expiry_message": expiry,
                "id_type": None,
                "id": None,
                "issuer": None,
            }
            self.result["pubkeys"].append(self.entry)
            return True
        if self.entry is None or "keyid" not in self.entry:
            return False
        if line.startswith("Issuer '") and line.endswith("'"):
            self.entry["issuer"] = line[len("Issuer '"):-1]
            return True
        identity = _PUBKEY_ID_RE.match(line)
        if identity is not None and self.entry["id_type"] is None:
            id_type = identity.group(1)
            # 5.4 and later print the ID type without its ID_ prefix (IPV4_ADDR).
            self.entry["id_type"] = id_type if id_type.startswith("ID_") else "ID_" + id_type
            self.entry["id"] = identity.group(2)
            return True
        return False

    def crl_line(self, line):
        key, sep, value = line.partition(": ")
        if sep and key == "issuer":
            self.entry = {"issuer": value, "revoked": None, "this_update": None, "next_update": None}
            self.result["crls"].append(self.entry)
            return True
        if self.entry is None or "revoked" not in self.entry:
            return False
        if sep and key == "revoked certs":
            self.entry["revoked"] = int(value) if value.isdigit() else None
            return True
        if line.startswith("updates: this "):
            self.entry["this_update"] = self.nss_time(line[len("updates: this "):])
            return True
        if line.startswith("next "):
            self.entry["next_update"] = self.nss_time(line[len("next "):])
            return True
        return False

    def fetch_line(self, line):
        match = _FETCH_RE.match(line)
        if match is not None:
            self.entry = {
                "requested": self.realtime(match.group(1)),
                "trials": int(match.group(2)),
                "issuer": None,
                "distribution_points": [],
            }
            self.result["crl_fetch_requests"].append(self.entry)
            return True
        if self.entry is None or "trials" not in self.entry:
            return False
        key, sep, value = line.partition(":")
        quoted = _QUOTED_RE.match(value.strip()) if sep else _QUOTED_RE.match(line)
        if quoted is None:
            return False
        if sep and key == "issuer":
            self.entry["issuer"] = quoted.group(1)
        elif (sep and key == "distPts") or not sep:
            self.entry["distribution_points"].append(quoted.group(1))
        else:
            return False
        return True

    def feed(self, raw):
        self.raw = raw
        code, line = strip_line_code(raw)
        line = line.strip()
        if not line:
            return
        if (code is not None and code != "000") or _LOG_MESSAGE_RE.match(line):
            self.result["messages"].append(line)
            return
        section = _SECTION_RE.match(line)
        if section is not None:
            self.section = _SECTIONS.get(section.group(1), "unknown")
            self.entry = None
            if self.section == "unknown":
                self.warn("unrecognised listing section")
            return
        if self.section in ("certs", "cacerts"):
            understood = self.cert_line(line)
        elif self.section == "crls":
            understood = self.crl_line(line)
        elif self.section == "crl_fetch_requests":
            understood = self.fetch_line(line)
        elif self.section == "unknown":
            return
        else:
            # "pubkeys", or no title at all: --checkpubkeys prints key lines only.
            understood = self.pubkey_line(line)
        if not understood:
            self.warn("unrecognised listing line")


def _expiry_state(message):
    if message == "ok":
        return "ok"
    if message == "ok (expires never)":
        return "never"
    if message.startswith("warning (expired") or message.startswith("fatal"):
        return "expired"
    if message.startswith("warning"):
        return "warning"
    return "other"


def parse_listing(text, utc=True):
    """Parse the output of pluto's list commands (any mix of them) of Libreswan 3.25 to 5.x.

    Returns ``{"certs": [...], "cacerts": [...], "pubkeys": [...], "crls": [...],
    "crl_fetch_requests": [...], "messages": [...], "warnings": [...]}``; ``messages`` contains
    pluto's log messages found among the listing lines. Dates are ISO 8601 strings, in UTC
    (``2026-12-04T21:16:25Z``) when ``utc`` is true and otherwise in this machine's local time
    with its offset; a date pluto prints as "never" or that cannot be read is None. Lines of a
    section this parser does not know are skipped with one warning for the title.
    """
    listing = _Listing(utc)
    for raw in (text or "").splitlines():
        listing.feed(raw)
    return listing.result
