# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""The ipsec.conf keywords of Libreswan 3.x, 4.x and 5.x and the value rules tied to them.

The tables below list, per release series, every keyword that ``addconn`` accepts,
the section it belongs to and the kind of value it takes. They were compiled by
hand from the keyword tables of every tagged release from 3.25 to 5.4 (the
3.x table merges 3.25 to 3.32 without per-release detail). Keywords that only
some releases of a series accept carry ``since=``/``until=``; ``obsolete``
means Libreswan accepts the keyword, warns and ignores it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

__all__ = [
    "BOOLEAN_WORDS_4",
    "Keyword",
    "KeywordMatch",
    "Keywords",
    "parse_bool",
    "parse_duration",
    "parse_version",
]

# Values the 4.x (and 3.x) lexer accepts for a boolean keyword. They are
# case-sensitive there: "Yes" is a syntax error in 4.10.
BOOLEAN_WORDS_4 = ("yes", "no", "true", "false", "on", "off", "y", "n")

# 5.x compares boolean values case-insensitively and also takes 1 and 0.
_BOOLEANS_5 = {"yes": True, "y": True, "true": True, "on": True, "1": True,
               "no": False, "n": False, "false": False, "off": False, "0": False}

# Libreswan 4.x durations: digits and an optional unit; 5.x also allows a fraction and "us".
_DURATION_4 = re.compile(r"^([0-9]+)([a-zA-Z]*)$")
_DURATION_5 = re.compile(r"^([0-9]*)(?:\.([0-9]*))?([a-zA-Z]*)$")
_UNIT_SECONDS = {"us": 0.000001, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")

# Releases whose keyword table is known, per series; a later minor release is
# treated like the last one listed here.
_LAST_MINOR = {3: 32, 4: 15, 5: 4}
_FIRST_MINOR = {3: 25, 4: 0, 5: 0}

# Keywords that exist only in builds with an optional feature. Debian's 4.10 and 5.2
# packages reject seccomp= as unknown.
# NOTE: the other keywords behind build options (dnssec-*, nflog*, cat, nm-configured,
# ipsec-interface, xfrmlifetime, *secctx-attr-type) are accepted without a warning.
# The Debian builds have them, other builds may not.
_BUILD_OPTIONS = {
    "seccomp": "seccomp support (Debian's packages do not have it)",
}

# Advice for keywords that a series rejects, where the replacement is not
# another spelling of the same setting.
_EXTRA_HINTS = {
    "forceencaps": "use encapsulation=yes instead",
    "dns-match-id": "Libreswan's keyword table spells it 'dns-match-id,' (with a comma), "
                    "so this keyword cannot be set in ipsec.conf",
}

# Values of word-valued keywords, merged over 4.0-4.15 and over 5.0-5.2. Case does
# not matter. 3.x values are not checked. 5.3 and later check some values in pluto
# instead and may accept more.
_ENUM_TEXT = {
    "4": """
accept-redirect      yes no auto
auth                 never secret rsasig rsa ecdsa null eaponly
autheap              none tls
auto                 ignore add ondemand route start up keep
clientaddrfamily     ipv4 ipv6 v4 inet v6 inet6
ddos-mode            auto busy unlimited
dpdaction            hold clear restart restart_by_peer
enable-tcp           no yes fallback
encapsulation        yes no auto
esn                  yes no either
failureshunt         none passthrough drop hold reject
fragmentation        never no yes insist force
hostaddrfamily       ipv4 ipv6 v4 inet v6 inet6
ikev1-policy         accept reject drop
ikev2                never permit propose insist yes always no
keyexchange          ike
nat-ikev1-method     both rfc drafts none
negotiationshunt     passthrough drop hold
nic-offload          yes no auto
ocsp-method          get post
phase2               esp ah default
ppk                  never permit propose insist yes always no
remote-peer-type     cisco
remote_peer_type     cisco
seccomp              enabled disabled tolerant
send-redirect        yes no auto
sendca               none issuer all
sendcert             never sendifasked alwayssend always
type                 tunnel transport pass passthrough reject drop
xauthby              file pam alwaysok
xauthfail            hard soft
""",
    "5": """
auth                 never secret rsasig rsa ecdsa null eaponly
autheap              none tls
auto                 ignore add ondemand route start up keep
clientaddrfamily     ipv4 ipv6 v4 inet v6 inet6
ddos-mode            auto busy unlimited
enable-tcp           fallback yes no true false on off y n
encapsulation        auto yes no true false on off y n
esn                  either yes no true false on off y n
failureshunt         none passthrough drop hold reject
fragmentation        force never insist yes no true false on off y n
hostaddrfamily       ipv4 ipv6 v4 inet v6 inet6
ikepad               auto yes no true false on off y n
ikev1-policy         accept reject drop
ikev2                never propose permit insist always yes no true false on off y n
keyexchange          ike ikev1 ikev2
nat-ikev1-method     both rfc drafts none
negotiationshunt     passthrough drop hold
nic-offload          no crypto packet yes
ocsp-method          get post
phase2               esp ah default
ppk                  never permit propose insist always yes no true false on off y n
remote-peer-type     cisco
remote_peer_type     cisco
seccomp              enabled disabled tolerant
send-redirect        auto yes no true false on off y n
sendca               none issuer all
sendcert             never sendifasked alwayssend always
type                 tunnel transport pass passthrough reject drop
xauthby              file pam alwaysok
xauthfail            hard soft
""",
}


def parse_version(version):
    """Return (major, minor) for "4", "4.10", "5.2" or "Libreswan 5.2"; minor is None when absent.

    Raises ValueError for text without a version number or for a series before 3.
    """
    match = _VERSION.search(str(version))
    if not match:
        raise ValueError("invalid Libreswan version %r: expected a number such as '4' or '5.2'" % (version,))
    major = int(match.group(1))
    minor = int(match.group(2)) if match.group(2) is not None else None
    if major < 3:
        raise ValueError("unsupported Libreswan version %r: the oldest supported series is 3" % (version,))
    return major, minor


def parse_duration(value, major, default_unit="s"):
    """Return the seconds a Libreswan duration stands for, or None when the series rejects it.

    4.x takes digits with an optional unit (ms, s, m, h, d, w, any case); 5.x also
    takes a fraction and "us". A bare number is in ``default_unit`` (retransmit-interval
    uses "ms"). ``%forever`` is rejected: 4.10 drops it silently and 5.2 warns.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if major >= 5:
        match = _DURATION_5.match(text)
        if not match or not (match.group(1) or match.group(2)):
            return None
        number = float("%s.%s" % (match.group(1) or "0", match.group(2) or "0"))
        unit = match.group(3).lower() or default_unit
    else:
        match = _DURATION_4.match(text)
        if not match:
            return None
        number = int(match.group(1))
        unit = match.group(2).lower() or default_unit
    if unit not in _UNIT_SECONDS:
        return None
    seconds = number * _UNIT_SECONDS[unit]
    if isinstance(seconds, float) and seconds == int(seconds):
        seconds = int(seconds)
    return seconds


def parse_bool(value, major):
    """Return True/False for a boolean value as the series reads it, or None when it is not one."""
    if major >= 5:
        return _BOOLEANS_5.get(value.strip(" \t").lower())
    if value in ("yes", "true", "on", "y"):
        return True
    if value in ("no", "false", "off", "n"):
        return False
    return None


class Keyword(object):
    """One ipsec.conf keyword of one release series.

    ``kind`` is one of: string, list (values are appended), also, bool, time,
    time_ms (a bare number is milliseconds), number, percent, binary, byte,
    enum, loose (a fixed word or free text, such as left=), obsolete.
    ``group`` names the keyword whose setting this one also sets (an alias), or is None.
    """

    __slots__ = ("name", "sections", "leftright", "kind", "group", "since", "until", "obsolete_since")

    def __init__(self, name, sections, leftright, kind, group, since, until, obsolete_since):
        self.name = name
        self.sections = sections
        self.leftright = leftright
        self.kind = kind
        self.group = group
        self.since = since
        self.until = until
        self.obsolete_since = obsolete_since

    @property
    def setting(self):
        """Name of the setting this keyword sets; aliases share it."""
        return self.group or self.name

    def __repr__(self):
        return "Keyword(%r, %s, %s)" % (self.name, "/".join(sorted(self.sections)), self.kind)


class KeywordMatch(object):
    """A word from a file matched to a keyword.

    ``key`` is the lowercase name it sets ("leftsubnet", "right", "ikelifetime"),
    ``side`` is "left", "right" or None, and ``bare`` is True when a left/right
    keyword was written without its prefix.
    """

    __slots__ = ("keyword", "side", "key", "bare")

    def __init__(self, keyword, side, key, bare=False):
        self.keyword = keyword
        self.side = side
        self.key = key
        self.bare = bare


def _parse_table(text, major):
    table = {}
    for line in text.strip().splitlines():
        fields = line.split()
        name, sections, side, kind, group = fields[:5]
        since = until = obsolete_since = None
        for option in fields[5:]:
            if option == "obsolete":
                obsolete_since = 0
                continue
            label, _sep, release = option.partition("=")
            minor = int(release.split(".")[1])
            if label == "since":
                since = minor
            elif label == "until":
                until = minor
            elif label == "obsolete":
                obsolete_since = minor
        if kind == "obsolete":
            obsolete_since = 0
        table[name] = Keyword(
            "" if name == "(end)" else name,
            frozenset(sections.split(",")),
            side == "lr",
            kind,
            None if group == "-" else group,
            since,
            until,
            obsolete_since,
        )
    return table


class Keywords(object):
    """The keyword table of one Libreswan release series.

    A version with a minor release ("5.2") narrows the table to that release. With a
    bare series ("5"), every keyword that some release of the series accepts is accepted.
    """

    def __init__(self, version):
        self.major, minor = parse_version(version)
        self.series = min(self.major, 5)
        if minor is not None:
            if minor < _FIRST_MINOR[self.series] or self.major > 5:
                minor = None
            else:
                minor = min(minor, _LAST_MINOR[self.series])
        self.minor = minor
        self.table = _table(self.series)
        self.by_name = dict((name, keyword) for name, keyword in self.table.items() if name != "(end)")
        self.end = self.table["(end)"]

    def release(self):
        """Return the release the rules describe, such as "5.2" or "5.x"."""
        return "%d.%s" % (self.series, "x" if self.minor is None else self.minor)

    def find(self, word):
        """Match a keyword as written in a file, or return None.

        Matching is case-insensitive. Left/right keywords take a "left" or "right"
        prefix (5.x also "left-"); written without one they set the right side.
        """
        lower = word.lower()
        keyword = self.by_name.get(lower)
        if keyword is not None:
            if keyword.leftright:
                return KeywordMatch(keyword, "right", "right" + keyword.name, bare=True)
            return KeywordMatch(keyword, None, keyword.name)
        for side in ("left", "right"):
            if not lower.startswith(side):
                continue
            rest = lower[len(side):]
            if self.series >= 5 and rest.startswith("-"):
                rest = rest[1:]
            if rest == "":
                return KeywordMatch(self.end, side, side)
            keyword = self.by_name.get(rest)
            if keyword is not None and keyword.leftright:
                return KeywordMatch(keyword, side, side + keyword.name)
        return None

    def is_comment(self, word):
        """Tell whether a word is a user comment key (x-... or x_...)."""
        if self.series >= 5:
            return len(word) > 2 and word[0] in "xX" and word[1] in "-_"
        return len(word) >= 2 and word[0] in "xX" and word[1] in "-_"

    def status(self, keyword):
        """Return "ok", "obsolete" or "missing" for the release the rules describe."""
        minor = self.minor
        if minor is None:
            if keyword.obsolete_since == 0:
                return "obsolete"
            return "ok"
        if keyword.since is not None and minor < keyword.since:
            if keyword.obsolete_since is not None and minor >= keyword.obsolete_since:
                return "obsolete"
            return "missing"
        if keyword.obsolete_since is not None and minor >= keyword.obsolete_since:
            return "obsolete"
        if keyword.until is not None and minor > keyword.until:
            return "missing"
        return "ok"

    def release_note(self, keyword):
        """Describe the releases of the series that treat the keyword differently, or return None."""
        series = self.series
        if keyword.obsolete_since:
            return "Libreswan %d.%d and later ignore it" % (series, keyword.obsolete_since)
        if keyword.until is not None:
            return "Libreswan %d.%d and later reject it" % (series, keyword.until + 1)
        if keyword.since is not None:
            return "it needs Libreswan %d.%d or later" % (series, keyword.since)
        return None

    def old_spelling(self, keyword):
        """Return the current spelling when ``keyword`` is an underscore variant of it, or None."""
        if "_" in keyword.name and keyword.group and "_" not in keyword.group:
            return keyword.group
        return None

    def enum_values(self, keyword):
        """Return the words ``keyword`` accepts (lower case), or None when they are not checked."""
        if str(self.series) not in _ENUM_TEXT:
            return None
        if self.series not in _ENUMS:
            table = {}
            for line in _ENUM_TEXT[str(self.series)].strip().splitlines():
                fields = line.split()
                table[fields[0]] = tuple(fields[1:])
            _ENUMS[self.series] = table
        return _ENUMS[self.series].get(keyword.name)

    def build_option(self, name):
        """Return the optional build feature a keyword needs, or None."""
        return _BUILD_OPTIONS.get(name)

    def obsolete_hint(self, name):
        """Return advice for an obsolete keyword, or None."""
        return _EXTRA_HINTS.get(name)

    def members(self, setting):
        """Return the names of every keyword that sets ``setting`` (the name itself first)."""
        names = [setting]
        for name, keyword in self.by_name.items():
            if keyword.setting == setting and name != setting:
                names.append(name)
        return names

    def unknown_hint(self, word):
        """Explain why ``word`` is not a keyword of this release: added later, removed, renamed
        or a likely typo. Returns None when nothing useful is known."""
        match = self.find(word)
        if match is not None:
            keyword = match.keyword
            if keyword.since is not None and self.minor is not None and self.minor < keyword.since:
                return "it was added in Libreswan %d.%d" % (self.series, keyword.since)
            if keyword.until is not None and self.minor is not None and self.minor > keyword.until:
                return "Libreswan %d.%d removed it" % (self.series, keyword.until + 1)
            return None

        lower = word.lower()
        base, prefix = lower, ""
        for side in ("left", "right"):
            if lower.startswith(side) and len(lower) > len(side):
                base, prefix = lower[len(side):], side
                if self.series >= 5 and base.startswith("-"):
                    base = base[1:]
                break

        hints = []
        history = self._history_hint(lower, "") or (prefix and self._history_hint(base, prefix))
        if history:
            hints.append(history)
        extra = _EXTRA_HINTS.get(base) or _EXTRA_HINTS.get(lower)
        if extra:
            hints.append(extra)
        if not hints:
            close = difflib.get_close_matches(lower, self._spellings(), n=1, cutoff=0.8)
            if close:
                hints.append("did you mean '%s'?" % close[0])
        return "; ".join(hints) or None

    def _spellings(self):
        names = []
        for name, keyword in self.by_name.items():
            if keyword.leftright:
                names.extend(("left" + name, "right" + name))
            else:
                names.append(name)
        return names

    def _history_hint(self, name, prefix):
        """Describe ``name`` from the tables of the other series, or return None."""
        written = prefix + name
        earlier = [series for series in (5, 4, 3) if series < self.series]
        later = [series for series in (3, 4, 5) if series > self.series]
        for series in earlier + later:
            other = _table(series).get(name)
            if other is None or (prefix and not other.leftright):
                continue
            if series > self.series:
                return "'%s' needs Libreswan %d or later" % (written, series)
            removed_in = min(s for s in (4, 5) if s > series and (s == self.series or name not in _table(s)))
            if other.kind == "obsolete":
                text = "obsolete in Libreswan %d and removed in %d.0" % (series, removed_in)
            else:
                text = "removed in Libreswan %d.0" % removed_in
            replacement = self._replacement(other)
            if replacement:
                text += "; use '%s%s' instead" % (prefix, replacement)
            elif other.kind == "obsolete" and written not in _EXTRA_HINTS:
                text += "; delete the line"
            return text
        return None

    def _replacement(self, old):
        """Find the keyword of this series that sets what ``old`` set in another series."""
        for name in (old.group, old.name.replace("_", "-")):
            if not name:
                continue
            current = self.by_name.get(name)
            if current is not None and current.kind != "obsolete":
                return name
            for other in self.by_name.values():
                if other.group == name and other.kind != "obsolete" and "_" not in other.name:
                    return other.name
        return None


_TABLES = {}
_ENUMS = {}


def _table(series):
    if series not in _TABLES:
        _TABLES[series] = _parse_table(_TABLE_TEXT[str(series)], series)
    return _TABLES[series]


# Columns: keyword, sections, "lr" when it takes a left/right prefix, kind (see
# Keyword), the keyword it is an alias of, release limits within the series.
# "(end)" is the bare left=/right= keyword.
_TABLE_TEXT = {
    "3": """
(end)                         conn       lr loose    -
accept-redirect               conn       -  enum     -
accept-redirect-to            conn       -  string   -
addresspool                   conn       lr string   -
aggressive                    conn       -  bool     -
aggrmode                      conn       -  bool     aggressive
ah                            conn       -  string   esp
also                          conn       -  also     -
alsoflip                      conn       -  string   -
audit-log                     setup      -  bool     -
auth                          conn       lr enum     -
authby                        conn       -  string   -
auto                          conn       -  enum     -
ca                            conn       lr string   -
cat                           conn       lr bool     -
cert                          conn       lr string   -
cisco-unity                   conn       -  bool     -
cisco_unity                   conn       -  bool     cisco-unity
ckaid                         conn       lr string   -
clientaddrfamily              conn       -  enum     -
compress                      conn       -  bool     -
connaddrfamily                conn       -  obsolete -                    obsolete
connalias                     conn       -  list     -
crl-strict                    setup      -  bool     -
crl_strict                    setup      -  bool     crl-strict
crlcheckinterval              setup      -  time     -
curl-iface                    setup      -  string   -
curl-timeout                  setup      -  time     -
curl_iface                    setup      -  string   curl-iface
curl_timeout                  setup      -  time     curl-timeout
ddos-ike-threshold            setup      -  number   -
ddos-mode                     setup      -  enum     -
decap-dscp                    conn       -  bool     -
disable_port_floating         setup      -  obsolete -                    obsolete
disablearrivalcheck           conn       -  bool     -
dns-match-id,                 conn       -  bool     -
dnssec-anchors                setup      -  string   -
dnssec-enable                 setup      -  bool     -
dnssec-rootkey-file           setup      -  string   -
dpdaction                     conn       -  enum     -
dpddelay                      conn       -  time     -
dpdtimeout                    conn       -  time     -
drop-oppo-null                setup      -  bool     -
dumpdir                       setup      -  string   -
encapsulation                 conn       -  enum     -
esn                           conn       -  enum     -
esp                           conn       -  string   -
failureshunt                  conn       -  enum     -
fake-strongswan               conn       -  bool     -
force-busy                    setup      -  obsolete -                    obsolete
force_keepalive               setup      -  obsolete -                    obsolete
forceencaps                   conn       -  obsolete -                    obsolete
forwardcontrol                setup      -  obsolete -                    obsolete
fragicmp                      setup      -  bool     -
fragmentation                 conn       -  enum     -
global-redirect               setup      -  string   -
global-redirect-to            setup      -  string   -
hidetos                       setup      -  bool     -
hostaddrfamily                conn       -  enum     -
id                            conn       lr string   -
ike                           conn       -  string   -
ike-frag                      conn       -  enum     fragmentation
ike-socket-bufsize            setup      -  number   -
ike-socket-errqueue           setup      -  bool     -
ike_frag                      conn       -  enum     fragmentation
ikelifetime                   conn       -  time     -
ikepad                        conn       -  bool     -
ikeport                       setup      -  number   -
ikev2                         conn       -  enum     -
initial-contact               conn       -  bool     -
initial_contact               conn       -  bool     initial-contact
interface-ip                  conn       lr string   -
interfaces                    setup      -  string   -
ipsec-interface               conn       -  loose    -
ipsecdir                      setup      -  string   -
keep-alive                    setup      -  number   -
keep_alive                    setup      -  number   keep-alive
keyexchange                   conn       -  enum     -
keyingtries                   conn       -  number   -
keylife                       conn       -  time     salifetime
klipsdebug                    setup      -  enum     -
labeled-ipsec                 conn       -  bool     -
labeled_ipsec                 conn       -  bool     labeled-ipsec
lifetime                      conn       -  time     salifetime
listen                        setup      -  string   -
logappend                     setup      -  bool     -
logfile                       setup      -  string   -
logip                         setup      -  bool     -
logtime                       setup      -  bool     -
mark                          conn       -  string   -
mark-in                       conn       -  string   -
mark-out                      conn       -  string   -
max-halfopen-ike              setup      -  number   -
metric                        conn       -  number   -
mobike                        conn       -  bool     -
modecfgbanner                 conn       -  string   -
modecfgclient                 conn       lr bool     -
modecfgdns                    conn       -  string   -
modecfgdns1                   conn       -  string   modecfgdns
modecfgdns2                   conn       -  obsolete -                    obsolete
modecfgdomain                 conn       -  string   modecfgdomains
modecfgdomains                conn       -  string   -
modecfgpull                   conn       -  bool     -
modecfgserver                 conn       lr bool     -
modecfgwins1                  conn       -  obsolete -                    obsolete
modecfgwins2                  conn       -  obsolete -                    obsolete
ms-dh-downgrade               conn       -  bool     -
mtu                           conn       -  number   -
myvendorid                    setup      -  string   -
narrowing                     conn       -  bool     -
nat-ikeport                   setup      -  number   -
nat-ikev1-method              conn       -  enum     -
nat-keepalive                 conn       -  bool     -
nat_ikeport                   setup      -  number   nat-ikeport
nat_keepalive                 conn       -  bool     nat-keepalive
nat_traversal                 setup      -  obsolete -                    obsolete
negotiationshunt              conn       -  enum     -
nexthop                       conn       lr string   -
nflog                         conn       -  number   -
nflog-all                     setup      -  number   -
nhelpers                      setup      -  number   -
nic-offload                   conn       -  enum     -
nm-configured                 conn       -  bool     -
nm_configured                 conn       -  bool     nm-configured
nocrsend                      setup      -  obsolete -                    obsolete
nopmtudisc                    conn       -  bool     -
nssdir                        setup      -  string   -
ocsp-cache-max-age            setup      -  time     -
ocsp-cache-min-age            setup      -  time     -
ocsp-cache-size               setup      -  number   -
ocsp-enable                   setup      -  bool     -
ocsp-method                   setup      -  enum     -
ocsp-strict                   setup      -  bool     -
ocsp-timeout                  setup      -  number   -
ocsp-trustname                setup      -  string   -
ocsp-uri                      setup      -  string   -
ocsp_enable                   setup      -  bool     ocsp-enable
ocsp_strict                   setup      -  bool     ocsp-strict
ocsp_timeout                  setup      -  number   ocsp-timeout
ocsp_trust_name               setup      -  string   ocsp-trustname
ocsp_uri                      setup      -  string   ocsp-uri
oe                            setup      -  obsolete -                    obsolete
overlapip                     conn       -  bool     -
overridemtu                   setup      -  number   -
pam-authorize                 conn       -  bool     -
perpeerlog                    setup      -  bool     -
perpeerlogdir                 setup      -  string   -
pfs                           conn       -  bool     -
phase2                        conn       -  enum     -
phase2alg                     conn       -  string   esp
pluto                         setup      -  obsolete -                    obsolete
plutodebug                    setup      -  enum     -
plutofork                     setup      -  obsolete -                    obsolete
plutoopts                     setup      -  obsolete -                    obsolete
plutorestartoncrash           setup      -  obsolete -                    obsolete
plutostderrlog                setup      -  string   logfile
plutostderrlogtime            setup      -  bool     logtime
plutowait                     setup      -  obsolete -                    obsolete
policy-label                  conn       -  string   -
policy_label                  conn       -  string   policy-label
postpluto                     setup      -  obsolete -                    obsolete
ppk                           conn       -  enum     -
prepluto                      setup      -  obsolete -                    obsolete
priority                      conn       -  number   -
protoport                     conn       lr string   -
protostack                    setup      -  string   -
reauth                        conn       -  bool     -
redirect-to                   conn       -  string   -
rekey                         conn       -  bool     -
rekeyfuzz                     conn       -  percent  -
rekeymargin                   conn       -  time     -
remote-peer-type              conn       -  enum     -
remote_peer_type              conn       -  enum     remote-peer-type
replay-window                 conn       -  number   -
reqid                         conn       -  number   -
require-id-on-certificate     conn       -  bool     -
retransmit-interval           conn       -  number   -
retransmit-timeout            conn       -  time     -
rp_filter                     setup      -  obsolete -                    obsolete
rsasigkey                     conn       lr loose    -
rsasigkey2                    conn       lr loose    -
salifetime                    conn       -  time     -
sareftrack                    conn       -  enum     -
seccomp                       setup      -  enum     -
secctx-attr-type              setup      -  number   -
secctx-attr-value             setup      -  number   secctx-attr-type
secctx_attr_value             setup      -  number   secctx-attr-type
secretsfile                   setup      -  string   -
seedbits                      setup      -  number   -
send-no-esp-tfc               conn       -  bool     -
send-redirect                 conn       -  enum     -
send-vendorid                 conn       -  bool     -
send_vendorid                 conn       -  bool     send-vendorid
sendca                        conn       -  enum     -
sendcert                      conn       lr enum     -
sha2-truncbug                 conn       -  bool     -
sha2_truncbug                 conn       -  bool     sha2-truncbug
shuntlifetime                 setup      -  time     -
sourceip                      conn       lr string   -
statsbin                      setup      -  string   -
strictcrlpolicy               setup      -  bool     crl-strict
subnet                        conn       lr string   -
subnets                       conn       lr list     -
syslog                        setup      -  string   -
tfc                           conn       -  number   -
type                          conn       -  enum     -
uniqueids                     setup      -  bool     -
updown                        conn       lr string   -
username                      conn       lr string   -
virtual-private               setup      -  string   -
virtual_private               setup      -  string   virtual-private
vti                           conn       lr string   -
vti-interface                 conn       -  string   -
vti-routing                   conn       -  bool     -
vti-shared                    conn       -  bool     -
xauthby                       conn       -  enum     -
xauthclient                   conn       lr bool     -
xauthfail                     conn       -  enum     -
xauthname                     conn       lr string   username
xauthserver                   conn       lr bool     -
xauthusername                 conn       lr string   username
xfrmlifetime                  setup      -  number   -
""",
    "4": """
(end)                         conn       lr loose    -
accept-redirect               conn       -  enum     -
accept-redirect-to            conn       -  string   -
addresspool                   conn       lr string   -
aggressive                    conn       -  bool     -
aggrmode                      conn       -  bool     aggressive
ah                            conn       -  string   esp
also                          conn       -  also     -
alsoflip                      conn       -  string   -
audit-log                     setup      -  bool     -
auth                          conn       lr enum     -
authby                        conn       -  string   -
autheap                       conn       lr enum     -                    since=4.6
auto                          conn       -  enum     -
ca                            conn       lr string   -
cat                           conn       lr bool     -
cert                          conn       lr string   -
cisco-unity                   conn       -  bool     -
ckaid                         conn       lr string   -
clientaddrfamily              conn       -  enum     -
compress                      conn       -  bool     -
connalias                     conn       -  list     -
crl-strict                    setup      -  bool     -
crlcheckinterval              setup      -  time     -
curl-iface                    setup      -  string   -
curl-timeout                  setup      -  time     -
ddos-ike-threshold            setup      -  number   -
ddos-mode                     setup      -  enum     -
decap-dscp                    conn       -  bool     -
dns-match-id,                 conn       -  bool     -
dnssec-anchors                setup      -  string   -
dnssec-enable                 setup      -  bool     -
dnssec-rootkey-file           setup      -  string   -
dpdaction                     conn       -  enum     -
dpddelay                      conn       -  time     -
dpdtimeout                    conn       -  time     -
drop-oppo-null                setup      -  bool     -
dumpdir                       setup      -  string   -
ecdsakey                      conn       lr loose    -                    since=4.8
enable-tcp                    conn       -  enum     -
encapsulation                 conn       -  enum     -
esn                           conn       -  enum     -
esp                           conn       -  string   -
failureshunt                  conn       -  enum     -
fake-strongswan               conn       -  bool     -
forceencaps                   conn       -  obsolete -                    obsolete
fragmentation                 conn       -  enum     -
global-redirect               setup      -  string   -
global-redirect-to            setup      -  string   -
hostaddrfamily                conn       -  enum     -
id                            conn       lr string   -
ignore-peer-dns               conn       -  bool     -                    since=4.2
ike                           conn       -  string   -
ike-socket-bufsize            setup      -  number   -
ike-socket-errqueue           setup      -  bool     -
ikelifetime                   conn       -  time     -
ikepad                        conn       -  bool     -
ikeport                       conn       lr number   -
ikev1-policy                  setup      -  enum     -                    since=4.2
ikev1-secctx-attr-type        setup      -  number   -
ikev2                         conn       -  enum     -
initial-contact               conn       -  bool     -
interface-ip                  conn       lr string   -                    until=4.3
interfaces                    setup      -  string   -                    until=4.7 obsolete=4.8
intermediate                  conn       -  bool     -
ipsec-interface               conn       -  loose    -
ipsec-lifetime                conn       -  time     salifetime           since=4.8
ipsec-max-bytes               conn       -  byte     -                    since=4.8
ipsec-max-packets             conn       -  binary   -                    since=4.8
ipsecdir                      setup      -  string   -
keep-alive                    setup      -  number   -
keyexchange                   conn       -  enum     -
keyingtries                   conn       -  number   -
keylife                       conn       -  time     salifetime
lifetime                      conn       -  time     salifetime
listen                        setup      -  string   -
listen-tcp                    setup      -  bool     -
listen-udp                    setup      -  bool     -
logappend                     setup      -  bool     -
logfile                       setup      -  string   -
logip                         setup      -  bool     -
logtime                       setup      -  bool     -
mark                          conn       -  string   -
mark-in                       conn       -  string   -
mark-out                      conn       -  string   -
max-halfopen-ike              setup      -  number   -
metric                        conn       -  number   -
mobike                        conn       -  bool     -
modecfgbanner                 conn       -  string   -
modecfgclient                 conn       lr bool     -
modecfgdns                    conn       -  string   -
modecfgdomains                conn       -  string   -
modecfgpull                   conn       -  bool     -
modecfgserver                 conn       lr bool     -
ms-dh-downgrade               conn       -  bool     -
mtu                           conn       -  number   -
myvendorid                    setup      -  string   -
narrowing                     conn       -  bool     -
nat-ikev1-method              conn       -  enum     -
nat-keepalive                 conn       -  bool     -
negotiationshunt              conn       -  enum     -
nexthop                       conn       lr string   -
nflog                         conn       -  number   -
nflog-all                     setup      -  number   -
nhelpers                      setup      -  number   -
nic-offload                   conn       -  enum     -
nm-configured                 conn       -  bool     -
nopmtudisc                    conn       -  bool     -
nssdir                        setup      -  string   -
ocsp-cache-max-age            setup      -  time     -
ocsp-cache-min-age            setup      -  time     -
ocsp-cache-size               setup      -  number   -
ocsp-enable                   setup      -  bool     -
ocsp-method                   setup      -  enum     -
ocsp-strict                   setup      -  bool     -
ocsp-timeout                  setup      -  number   -
ocsp-trustname                setup      -  string   -
ocsp-uri                      setup      -  string   -
overlapip                     conn       -  bool     -
pam-authorize                 conn       -  bool     -
pfs                           conn       -  bool     -
phase2                        conn       -  enum     -
phase2alg                     conn       -  string   esp
plutodebug                    setup      -  enum     -
plutostderrlog                setup      -  string   logfile
policy-label                  conn       -  string   sec-label
ppk                           conn       -  enum     -
priority                      conn       -  number   -
protoport                     conn       lr string   -
protostack                    setup      -  string   -
pubkey                        conn       lr loose    -                    since=4.8
reauth                        conn       -  bool     -
redirect-to                   conn       -  string   -
rekey                         conn       -  bool     -
rekeyfuzz                     conn       -  percent  -
rekeymargin                   conn       -  time     -
remote-peer-type              conn       -  enum     -
remote_peer_type              conn       -  enum     remote-peer-type     since=4.2
replay-window                 conn       -  number   -
reqid                         conn       -  number   -
require-id-on-certificate     conn       -  bool     -
retransmit-interval           conn       -  time_ms  -
retransmit-timeout            conn       -  time     -
rsasigkey                     conn       lr loose    -
salifetime                    conn       -  time     -
sec-label                     conn       -  string   -                    since=4.2
seccomp                       setup      -  enum     -
secctx-attr-type              setup      -  number   ikev1-secctx-attr-type
secretsfile                   setup      -  string   -
seedbits                      setup      -  number   -
send-no-esp-tfc               conn       -  bool     -
send-redirect                 conn       -  enum     -
send-vendorid                 conn       -  bool     -
sendca                        conn       -  enum     -
sendcert                      conn       lr enum     -
sha2-truncbug                 conn       -  bool     -
shuntlifetime                 setup      -  time     -
sourceip                      conn       lr string   -
statsbin                      setup      -  string   -
subnet                        conn       lr string   -
subnets                       conn       lr list     -
syslog                        setup      -  string   -
tcp-remoteport                conn       -  number   -
tfc                           conn       -  number   -
type                          conn       -  enum     -
uniqueids                     setup      -  bool     -
updown                        conn       lr string   -
username                      conn       lr string   -
virtual-private               setup      -  string   -
virtual_private               setup      -  string   virtual-private
vti                           conn       lr string   -
vti-interface                 conn       -  string   -
vti-routing                   conn       -  bool     -
vti-shared                    conn       -  bool     -
xauthby                       conn       -  enum     -
xauthclient                   conn       lr bool     -
xauthfail                     conn       -  enum     -
xauthserver                   conn       lr bool     -
xauthusername                 conn       lr string   username             since=4.2
xfrmlifetime                  setup      -  number   -
""",
    "5": """
(end)                         conn       lr loose    -
accept-redirect               conn       -  bool     -
accept-redirect-to            conn       -  string   -
addresspool                   conn       lr string   -
aggressive                    conn       -  bool     -
aggrmode                      conn       -  bool     aggressive
ah                            conn       -  string   esp
also                          conn       -  also     -
audit-log                     setup      -  bool     -
auth                          conn       lr enum     -
authby                        conn       -  string   -
autheap                       conn       lr enum     -
auto                          conn       -  enum     -
ca                            conn       lr string   -
cat                           conn       lr bool     -
cert                          conn       lr string   -
cisco-split                   conn       -  string   -                    since=5.3
cisco-unity                   conn       -  bool     -
ckaid                         conn       lr string   -
clientaddrfamily              conn       -  enum     -                    until=5.2 obsolete=5.3
clones                        conn       -  string   -                    since=5.4
compress                      conn       -  bool     -
connalias                     conn       -  list     -
crl-strict                    setup      -  bool     -
crl-timeout                   setup      -  time     -                    since=5.3
crlcheckinterval              setup      -  time     -
curl-iface                    setup      -  string   -
curl-timeout                  setup      -  time     crl-timeout
ddos-ike-threshold            setup      -  number   -
ddos-mode                     setup      -  enum     -
debug                         setup,conn -  enum     -
decap-dscp                    conn       -  bool     -
dns-match-id,                 conn       -  bool     -
dns-resolver                  setup      -  string   -                    since=5.4
dnssec-anchors                setup      -  string   -
dnssec-enable                 setup      -  bool     -
dnssec-rootkey-file           setup      -  string   -
dpdaction                     conn       -  obsolete -                    obsolete
dpddelay                      conn       -  string   -
dpdtimeout                    conn       -  string   -
drop-oppo-null                setup      -  bool     -
dumpdir                       setup      -  string   -
ecdsakey                      conn       lr loose    -
eddsakey                      conn       lr string   -                    since=5.4
enable-tcp                    conn       -  enum     -
encap-dscp                    conn       -  bool     -
encapsulation                 conn       -  enum     -
esn                           conn       -  enum     -
esp                           conn       -  string   -
exampledir                    setup      -  string   -                    since=5.4
expire-lifetime               setup      -  time     -                    since=5.3
expire-shunt-interval         setup      -  time     -                    since=5.3
failureshunt                  conn       -  enum     -
fake-strongswan               conn       -  bool     -
fragmentation                 conn       -  enum     -
global-redirect               setup      -  enum     -
global-redirect-to            setup      -  string   -
groundhog                     conn       lr bool     -
hostaddrfamily                conn       -  enum     -
id                            conn       lr string   -
ignore-peer-dns               conn       -  bool     -
ike                           conn       -  string   -
ike-socket-bufsize            setup      -  number   -
ike-socket-errqueue           setup      -  bool     -
ikelifetime                   conn       -  time     -
ikepad                        conn       -  bool     -
ikeport                       conn       lr number   -
ikev1-dpdtimeout              conn       -  string   dpdtimeout
ikev1-policy                  setup      -  enum     -
ikev1-secctx-attr-type        setup      -  obsolete -                    obsolete
ikev2                         conn       -  enum     -
initial-contact               conn       -  bool     -
interface-ip                  conn       lr string   -
interfaces                    setup      -  obsolete -                    obsolete
intermediate                  conn       -  bool     -
ipsec-interface               conn       -  string   -
ipsec-interface-managed       setup      -  bool     -                    since=5.2
ipsec-lifetime                conn       -  time     -
ipsec-max-bytes               conn       -  byte     -
ipsec-max-packets             conn       -  binary   -
ipsecdir                      setup      -  string   -
iptfs                         conn       -  bool     -                    since=5.2
iptfs-drop-time               conn       -  time     -                    since=5.2
iptfs-fragmentation           conn       -  bool     -                    since=5.2
iptfs-init-delay              conn       -  time     -                    since=5.2
iptfs-max-queue-size          conn       -  binary   -                    since=5.2
iptfs-packet-size             conn       -  binary   -                    since=5.2
iptfs-reorder-window          conn       -  binary   -                    since=5.2
keep-alive                    setup      -  time     -
keyexchange                   conn       -  enum     -
keyingtries                   conn       -  number   -                    until=5.2 obsolete=5.3
keylife                       conn       -  time     ipsec-lifetime
lifetime                      conn       -  time     ipsec-lifetime
listen                        setup      -  string   -
listen-tcp                    setup      -  bool     -
listen-udp                    setup      -  bool     -
logappend                     setup      -  bool     -
logfile                       setup      -  string   -
logip                         setup      -  bool     -
loglimit                      setup      -  bool     -                    since=5.4
logstderr                     setup      -  string   -                    since=5.3
logtime                       setup      -  bool     -
mark                          conn       -  string   -
mark-in                       conn       -  string   -
mark-out                      conn       -  string   -
max-halfopen-ike              setup      -  number   -
metric                        conn       -  number   -
mobike                        conn       -  bool     -
modecfgbanner                 conn       -  string   -
modecfgclient                 conn       lr bool     -
modecfgdns                    conn       -  string   -
modecfgdomains                conn       -  string   -
modecfgpull                   conn       -  bool     -
modecfgserver                 conn       lr bool     -
ms-dh-downgrade               conn       -  bool     -
mtu                           conn       -  number   -
myvendorid                    setup      -  string   -
narrowing                     conn       -  bool     -
nat-ikev1-method              conn       -  enum     -
nat-keepalive                 conn       -  bool     -
negotiationshunt              conn       -  enum     -
nexthop                       conn       lr string   -
nflog                         conn       -  number   nflog-group
nflog-all                     setup      -  number   -
nflog-group                   conn       -  string   -                    since=5.3
nhelpers                      setup      -  number   -
nic-offload                   conn       -  enum     -
nm-configured                 conn       -  bool     -
nopmtudisc                    conn       -  bool     -
nssdir                        setup      -  string   -
ocsp-cache-max-age            setup      -  time     -
ocsp-cache-min-age            setup      -  time     -
ocsp-cache-size               setup      -  number   -
ocsp-enable                   setup      -  bool     -
ocsp-method                   setup      -  enum     -
ocsp-strict                   setup      -  bool     -
ocsp-timeout                  setup      -  time     -
ocsp-trustname                setup      -  string   -
ocsp-uri                      setup      -  string   -
overlapip                     conn       -  bool     -
pam-authorize                 conn       -  bool     -
pfs                           conn       -  bool     -
pfs-rekey-workaround          conn       -  bool     -
phase2                        conn       -  enum     -
phase2alg                     conn       -  string   esp
plutodebug                    setup,conn -  enum     debug
plutostderrlog                setup      -  string   logfile              until=5.2 obsolete=5.3
policy-label                  conn       -  string   sec-label
ppk                           conn       -  enum     -
ppk-ids                       conn       -  string   -
priority                      conn       -  number   -
protoport                     conn       lr string   -
protostack                    setup      -  string   -
pubkey                        conn       lr loose    -
reauth                        conn       -  bool     -
redirect-to                   conn       -  string   -
reject-simultaneous-ike-auth  conn       -  string   -                    since=5.4
rekey                         conn       -  bool     -
rekeyfuzz                     conn       -  percent  -
rekeymargin                   conn       -  time     -
remote-peer-type              conn       -  enum     -
remote_peer_type              conn       -  enum     remote-peer-type
replay-window                 conn       -  number   -
reqid                         conn       -  number   -
require-id-on-certificate     conn       -  bool     -
retransmit-interval           conn       -  time_ms  -
retransmit-timeout            conn       -  time     -
rsasigkey                     conn       lr loose    -
rundir                        setup      -  string   -                    since=5.3
salifetime                    conn       -  time     ipsec-lifetime
sec-label                     conn       -  string   -
seccomp                       setup      -  enum     -
secctx-attr-type              setup      -  obsolete -                    obsolete
secretsfile                   setup      -  string   -
seedbits                      setup      -  number   -
seeddev                       setup      -  string   -                    since=5.4
send-esp-tfc-padding-not-supported conn       -  bool     -                    since=5.3
send-no-esp-tfc               conn       -  bool     send-esp-tfc-padding-not-supported
send-redirect                 conn       -  enum     -
send-supported-auth-methods   conn       -  string   -                    since=5.4
send-vendorid                 conn       -  bool     -
sendca                        conn       -  enum     -
sendcert                      conn       lr enum     -
session-resumption            conn       -  bool     -                    since=5.2
sha2-truncbug                 conn       -  bool     -
share-lease                   conn       -  bool     -                    since=5.3
shuntlifetime                 setup      -  time     -
sourceip                      conn       lr string   -
statsbin                      setup      -  string   -
subnet                        conn       lr string   -
subnets                       conn       lr list     -
syslog                        setup      -  string   -                    until=5.2 obsolete=5.3
tcp-remoteport                conn       -  number   -
tfc                           conn       -  number   -
type                          conn       -  enum     -
uniqueids                     setup      -  bool     -
updown                        conn       lr string   -
updown-config                 conn       lr string   -                    since=5.4
username                      conn       lr string   -
virtual-private               setup      -  string   -
virtual_private               setup      -  string   virtual-private      until=5.2 obsolete=5.3
vti                           conn       lr string   -
vti-interface                 conn       -  string   -
vti-routing                   conn       -  bool     -
vti-shared                    conn       -  bool     -
xauthby                       conn       -  enum     -
xauthclient                   conn       lr bool     -
xauthfail                     conn       -  enum     -
xauthserver                   conn       lr bool     -
xauthusername                 conn       lr string   username
xfrmlifetime                  setup      -  time     expire-lifetime
""",
}
