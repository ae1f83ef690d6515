# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Decide whether the definition pluto has loaded differs from the configuration.

Two sources are combined. The status comparison looks at what ``whack --status``
shows (ends, subnets, ids, authentication, lifetimes, tunnel/transport, PFS) and
only compares a field when both sides are known exactly, so an unclear field can
never cause a needless replace. The definition record (see ``_fingerprint.py``)
then catches every other keyword, including proposals, for connections this
collection loaded itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

__all__ = ["expected_children", "split_list", "parse_duration", "compare_definition", "comparable_settings"]

# Longest IKE or IPsec SA lifetime pluto accepts (seconds); longer values are capped (4.10, 5.2).
MAX_LIFETIME = 86400
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# Keywords that do not change what pluto loads for the connection.
_NOT_LOADED = frozenset(["auto"])

# authby= values whose "our auth:" word in the status is certain.
_AUTH_WORDS = {"secret": "secret", "psk": "secret", "rsasig": "rsasig", "rsa": "rsasig", "ecdsa": "ecdsa", "null": "null"}

# keyword -> status field, all in seconds except rekey_fuzz (percent) and keyingtries (count).
_LIFETIME_FIELDS = (
    (("ikelifetime", "ike_lifetime"), "ike_life"),
    (("salifetime", "lifetime", "keylife", "ipsec-lifetime"), "ipsec_life"),
    (("rekeymargin", "keymargin"), "rekey_margin"),
)


def split_list(value):
    """Split a Libreswan list value: ``{a b}``, ``a,b`` or ``a b``."""
    if value is None:
        return []
    value = value.strip()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
    return [item for item in re.split(r"[\s,]+", value) if item]


def parse_duration(value):
    """Return seconds for a Libreswan duration (``90``, ``30s``, ``5m``, ``8h``, ``1d``, ``%forever``), or None."""
    if value is None:
        return None
    if value.strip().lower() == "%forever":
        return 0
    match = _DURATION_RE.match(value)
    if not match:
        return None
    return int(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]


def expected_children(name, conn):
    """Return the names pluto gives the connection once added.

    ``leftsubnets=``/``rightsubnets=`` with several entries split a connection into
    children named ``NAME/LxR``: L counts the left subnets from 1, or is 0 when
    there is no list on that side; R likewise for the right side.
    """
    left = split_list(conn.get("leftsubnets"))
    right = split_list(conn.get("rightsubnets"))
    if not left and not right:
        return [name]
    left_indexes = range(1, len(left) + 1) if left else [0]
    right_indexes = range(1, len(right) + 1) if right else [0]
    return ["%s/%dx%d" % (name, li, ri) for li in left_indexes for ri in right_indexes]


def _child_subnets(conn, child_name, side):
    """Return the subnets the config gives ``side`` of one child, or None when unknown."""
    many = split_list(conn.get(side + "subnets"))
    if many:
        match = re.search(r"/(\d+)x(\d+)$", child_name)
        if not match:
            return None
        index = int(match.group(1) if side == "left" else match.group(2))
        if index == 0:
            return None
        return [many[index - 1]]
    one = conn.get(side + "subnet")
    if one is None:
        return []
    if one.startswith("%") or one.startswith("vhost:") or one.startswith("vnet:"):
        return None
    return split_list(one)


def _address(value):
    try:
        return ipaddress.ip_address(value.strip())
    except (ValueError, AttributeError):
        return None


def _network(value):
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except (ValueError, AttributeError):
        return None


def _networks(values):
    networks = []
    for value in values:
        network = _network(value)
        if network is None:
            return None
        networks.append(network)
    return sorted(networks, key=lambda net: (net.version, net))


def _orient(conn, live):
    """Return ("left", "right") when the config's left end is pluto's local end, the reverse, or None."""
    local = _address((live.get("local") or {}).get("host") or "")
    left = _address(conn.get("left") or "")
    right = _address(conn.get("right") or "")
    if local is not None and left == local:
        return "left", "right"
    if local is not None and right == local:
        return "right", "left"
    return None


def _diff(differences, child, field, configured, loaded):
    differences.append({"connection": child, "field": field, "config": configured, "loaded": loaded})


def _compare_ends(differences, conn, child, live, sides):
    for role, side in zip(("local", "remote"), sides):
        end = live.get(role) or {}
        configured_host = _address(conn.get(side) or "")
        loaded_host = _address(end.get("host") or "")
        if configured_host is not None and loaded_host is not None and configured_host != loaded_host:
            _diff(differences, child, role + ".host", str(configured_host), str(loaded_host))

        configured_subnets = _child_subnets(conn, child, side)
        if configured_subnets is not None:
            wanted = _networks(configured_subnets)
            have = _networks(end.get("subnets") or [])
            if wanted is not None and have is not None and wanted != have:
                _diff(differences, child, role + ".subnets", [str(n) for n in wanted], [str(n) for n in have])

        configured_id = conn.get(side + "id")
        loaded_id = (live.get("ids") or {}).get(role)
        if configured_id is not None:
            configured_id = configured_id.strip().strip('"')
        if configured_id and not configured_id.startswith("%") and "=" not in configured_id and loaded_id:
            if configured_id != loaded_id and _address(configured_id) != _address(loaded_id):
                _diff(differences, child, role + ".id", configured_id, loaded_id)


def _compare_auth(differences, conn, child, live, sides):
    auth = live.get("auth") or {}
    for role, side in zip(("local", "remote"), sides):
        wanted = conn.get(side + "auth")
        if wanted is None:
            wanted = conn.get("authby")
        word = _AUTH_WORDS.get((wanted or "").strip().lower())
        loaded = _auth_word(auth.get(role))
        if word and loaded and word != loaded:
            _diff(differences, child, role + ".auth", word, loaded)


def _auth_word(loaded):
    """Return the method of a status auth field: 4.10 prints ``rsasig(RSASIG+RSASIG_v1_5)`` or ``RSASIG+RSASIG_v1_5``."""
    if not loaded:
        return None
    return loaded.split("(", 1)[0].split("+", 1)[0].strip().lower() or None


def _compare_lifetimes(differences, conn, child, live):
    for keys, field in _LIFETIME_FIELDS:
        configured = None
        for key in keys:
            if conn.get(key) is not None:
                configured = parse_duration(conn.get(key))
                break
        loaded = live.get(field)
        if configured is None or loaded is None or configured == loaded:
            continue
        # pluto caps IKE and IPsec lifetimes at 24h, replaces 0 with its default and shrinks a
        # rekey margin that does not fit the lifetime, so such values are not compared.
        if configured <= 0 or configured > MAX_LIFETIME:
            continue
        if field == "rekey_margin" and 2 * configured >= min(x for x in (live.get("ike_life"), live.get("ipsec_life"), MAX_LIFETIME) if x):
            continue
        _diff(differences, child, field, configured, loaded)

    tries = conn.get("keyingtries")
    if tries is not None and live.get("keyingtries") is not None:
        configured_tries = None
        if tries.strip().lower() == "%forever":
            configured_tries = 0
        elif tries.strip().isdigit():
            configured_tries = int(tries)
        if configured_tries is not None and configured_tries != live["keyingtries"]:
            _diff(differences, child, "keyingtries", configured_tries, live["keyingtries"])


def _compare_policy(differences, conn, child, live):
    policy = live.get("policy")
    if not policy:
        return
    kind = (conn.get("type") or "").strip().lower()
    if kind in ("tunnel", "transport"):
        loaded = "tunnel" if "TUNNEL" in policy else "transport"
        if kind != loaded:
            _diff(differences, child, "type", kind, loaded)
    pfs = (conn.get("pfs") or "").strip().lower()
    if pfs in ("yes", "no"):
        loaded = "yes" if "PFS" in policy else "no"
        if pfs != loaded:
            _diff(differences, child, "pfs", pfs, loaded)


def compare_definition(name, conn, live_connections):
    """Return the differences between config conn ``name`` and what pluto has loaded.

    ``live_connections`` maps child names to parsed status entries. Each
    difference is ``{"connection", "field", "config", "loaded"}``.
    """
    differences = []
    configured_children = expected_children(name, conn)
    if sorted(configured_children) != sorted(live_connections):
        _diff(differences, name, "children", sorted(configured_children), sorted(live_connections))
    for child in configured_children:
        live = live_connections.get(child)
        if live is None:
            continue
        sides = _orient(conn, live)
        if sides is None:
            # Neither end can be matched exactly (%defaultroute, %any, DNS names, or a status line
            # pluto cut short), so nothing per end is compared. The definition record still is.
            continue
        _compare_ends(differences, conn, child, live, sides)
        _compare_auth(differences, conn, child, live, sides)
        _compare_lifetimes(differences, conn, child, live)
        _compare_policy(differences, conn, child, live)
    return differences


def comparable_settings(conn):
    """Return the keyword values that decide what pluto loads, for the definition record."""
    result = {}
    for key, setting in conn.settings.items():
        if key in _NOT_LOADED or key.startswith("x-") or key.startswith("x_"):
            continue
        result[key] = setting.value
    return result
