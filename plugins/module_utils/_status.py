# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Parser for ``ipsec whack --status`` (``ipsec status``) output of Libreswan 3.x to 5.x.

Pure text in, plain JSON-serialisable dicts out, in one pass over the lines with
precompiled patterns. A line that is not understood is quoted in ``warnings`` and
parsing goes on, so odd input gives warnings rather than exceptions.

The same function also reads the outputs of ``--showstates``, ``--briefstatus``,
``--shuntstatus``, ``--connectionstatus`` and ``--trafficstatus``, which print subsets
of the same lines, and the progress lines that ``--add``/``--up`` print
(collected in ``messages``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import (
    connection_key,
    instance_address,
    parse_byte_count,
    parse_traffic_line,
    split_connection_name,
    strip_line_code,
)

__all__ = ["parse_status", "normalise_routing", "ROUTING_STATES"]

ROUTING_STATES = ("unrouted", "routed", "negotiating", "established", "failed", "unoriented", "other")

# Routing words as pluto prints them (lower-cased here), mapped to ROUTING_STATES.
# The second value is True when a kernel policy (trap or tunnel) is installed.
#
#   3.x/4.x word (routing_story)   5.x word (routing_names)         state        policy
#   unrouted                       unrouted                         unrouted     no
#   prospective erouted            routed-ondemand                  routed       yes
#   eroute eclipsed                -                                routed       yes
#   -                              routed-never-negotiate           routed       yes
#   unrouted HOLD                  unrouted-negotiation             negotiating  no
#   -                              unrouted-bare-negotiation        negotiating  no
#   erouted HOLD                   routed-negotiation               negotiating  yes
#   -                              unrouted-inbound                 negotiating  no
#   -                              unrouted-inbound-negotiation     negotiating  no
#   -                              routed-inbound-negotiation       negotiating  yes
#   fail erouted                   routed-failure                   failed       yes
#   erouted                        routed-tunnel                    established  yes
#   keyed, unrouted                unrouted-tunnel                  established  no
#   -                              unoriented                       unoriented   no
#
# The "inbound" words mean the inbound half of the Child SA is installed while the
# outbound half is still negotiating, so they count as negotiating. "keyed, unrouted"
# (RT_UNROUTED_KEYED) has keyed SAs whose policy became an outer policy, so it counts
# as established. Any other word maps to "other" and parse_status() warns.
_ROUTING = {
    "unrouted": ("unrouted", False),
    "prospective erouted": ("routed", True),
    "eroute eclipsed": ("routed", True),
    "unrouted hold": ("negotiating", False),
    "erouted hold": ("negotiating", True),
    "fail erouted": ("failed", True),
    "erouted": ("established", True),
    "keyed, unrouted": ("established", False),
    "routed-ondemand": ("routed", True),
    "routed-never-negotiate": ("routed", True),
    "unrouted-negotiation": ("negotiating", False),
    "unrouted-bare-negotiation": ("negotiating", False),
    "routed-negotiation": ("negotiating", True),
    "unrouted-inbound": ("negotiating", False),
    "unrouted-inbound-negotiation": ("negotiating", False),
    "routed-inbound-negotiation": ("negotiating", True),
    "routed-failure": ("failed", True),
    "routed-tunnel": ("established", True),
    "unrouted-tunnel": ("established", False),
    "unoriented": ("unoriented", False),
}


def normalise_routing(raw_word):
    """Return the ROUTING_STATES value for a routing word of any Libreswan version ("other" if unknown)."""
    if raw_word is None:
        return "other"
    return _ROUTING.get(" ".join(raw_word.split()).lower(), ("other", None))[0]


def _routing_has_policy(raw_word):
    return _ROUTING.get(" ".join(raw_word.split()).lower(), ("other", None))[1]


# --- connection lines -------------------------------------------------------------

# '"name"[N]' at the start of a line, then ':' for connection lines.
_CONN_PREFIX_RE = re.compile(r'^"([^"]*)"((?:\[\d+\])*)')
# Progress line: '"name"[N] 198.51.100.9 #3: text' (pluto's log output of --up and friends);
# without "#N" for messages about the connection rather than one SA.
_CONN_MESSAGE_RE = re.compile(r'^"([^"]*)"((?:\[\d+\])*)(.*?)(?: #(\d+))?: (.*)$')
# 3.x: 'added connection description "name"'.
_ADDED_RE = re.compile(r'^added connection description "([^"]*)"$')

# A ", " inside a value starts a new item only when a lower-case key follows.
# X.509 DN parts ("ST=Ontario") and DNS lists ("8.8.8.8") stay in the value.
_LOWER_KEY_RE = re.compile(r"[a-z][a-z0-9_ -]*[:=]")
_SERIAL_RE = re.compile(r"[#$](\d+)")
_SECONDS_RE = re.compile(r"^(-?\d+)s$")
_PERCENT_RE = re.compile(r"^(\d+)%$")
# A client (subnet) with a protocol and port: 3.x "10.0.1.0/24:17/1701", 4.x
# "10.0.1.0/24:UDP/1701", 5.x "10.0.1.0/24/UDP/1701" or "10.0.1.0/24/UDP".
_CLIENT_COLON_PROTOPORT_RE = re.compile(r"^(.*/\d+):(\w+/[\w%-]+)$")
_CLIENT_SLASH_PROTOPORT_RE = re.compile(r"^(.+?)/([A-Za-z]\w*(?:/[\w-]+)?)$")
_PROTOPORT_TAIL_RE = re.compile(r":(\d+/(?:\d+|%any))$")
_HOSTNAME_RE = re.compile(r"<([^>]*)>")
_WRAPPED_HOST_RE = re.compile(r"^\[([^\]]*)\]:(\d+)$")
_IPV4_PORT_RE = re.compile(r"^([0-9.]+|%[a-z]+):(\d+)$")
# Options pluto appends inside an end's [id] (MS, +MC, +CAT, +XS, +XC, +S=C, ...).
_END_OPTIONS_RE = re.compile(r"(?:^|,)((?:MS)?(?:\+(?:MC|CAT|XS|XC|S-C|S\?C|S=C|UNKNOWN))*)$")


def _new_end():
    return {"host": None, "subnets": [], "id": None, "protoport": None, "nexthop": None,
            "hostname": None, "port": None}


def _new_connection(key, name, instances):
    base, child, instance = split_connection_name(name, instances)
    return {
        "name": key,
        "base": base,
        "child": child,
        "instance": instance,
        "instance_address": None,
        "routing": "other",
        "routing_raw": None,
        "routed": None,
        "local": _new_end(),
        "remote": _new_end(),
        "oriented": None,
        "ike_version": None,
        "policy": [],
        "auth": {"local": None, "remote": None},
        "ike_life": None,
        "ipsec_life": None,
        "ipsec_max_bytes": None,
        "rekey_margin": None,
        "rekey_fuzz": None,
        "keyingtries": None,
        "ike_algorithms": None,
        "esp_algorithms": None,
        "ike_algorithm_newest": None,
        "esp_algorithm_newest": None,
        "ids": {"local_type": None, "local": None, "remote_type": None, "remote": None},
        "newest_ike_sa": None,
        "newest_ipsec_sa": None,
        "negotiating_ike_sa": None,
        "negotiating_ipsec_sa": None,
        "owner": None,
        "conn_serial": None,
        "instantiated_from": None,
        "aliases": [],
        "fields": {},
    }


def _split_outside_brackets(text, separator, last=False):
    """Split ``text`` at the first (or last) ``separator`` that is not inside ``[...]``.

    Returns ``(before, after)``, or ``(text, None)`` when there is no such separator.
    X.509 IDs in brackets may contain any character, so they are skipped.
    """
    index = text.rfind(separator) if last else text.find(separator)
    while index >= 0:
        if text.count("[", 0, index) == text.count("]", 0, index):
            return text[:index], text[index + len(separator):]
        index = text.rfind(separator, 0, index) if last else text.find(separator, index + 1)
    return text, None


def _parse_client(text):
    """Return ``(subnet, protoport)`` for one end's client as pluto prints it."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    match = _CLIENT_COLON_PROTOPORT_RE.match(text) or _CLIENT_SLASH_PROTOPORT_RE.match(text)
    if match is None:
        return text, None
    return match.group(1), match.group(2)


def _parse_host(text, end):
    """Fill host, hostname, port, id and protoport of ``end`` from ``HOST[<NAME>][:PORT][[ID]]``."""
    text = text.strip()
    # The ID is the last [...] group, after an optional "[address]:port" host.
    id_start = text.find("[", 1) if _starts_wrapped(text) else text.find("[")
    id_text = None
    if id_start >= 0:
        tail = text[id_start:]
        match = _PROTOPORT_TAIL_RE.search(tail)
        if match is not None:
            end["protoport"] = match.group(1)
            tail = tail[:match.start()]
        if tail.endswith("]"):
            id_text = tail[1:-1]
            text = text[:id_start]
    else:
        match = _PROTOPORT_TAIL_RE.search(text)
        if match is not None:
            end["protoport"] = match.group(1)
            text = text[:match.start()]

    if text == "<address>":
        host = text
    else:
        hostname = _HOSTNAME_RE.search(text)
        if hostname is not None:
            # 3.x prints <name> even when it is the address itself; 4.x and later omit it then.
            end["hostname"] = hostname.group(1)
            text = text[:hostname.start()] + text[hostname.end():]
        host = text
        wrapped = _WRAPPED_HOST_RE.match(host)
        plain = _IPV4_PORT_RE.match(host)
        if wrapped is not None:
            host, port = wrapped.group(1), wrapped.group(2)
            end["port"] = int(port)
        elif plain is not None:
            host, port = plain.group(1), plain.group(2)
            end["port"] = int(port)
    end["host"] = host or None
    if end["hostname"] == end["host"]:
        end["hostname"] = None

    if id_text is not None:
        options = _END_OPTIONS_RE.search(id_text)
        if options is not None and options.group(1):
            id_text = id_text[:options.start()]
    end["id"] = id_text if id_text else end["host"]


def _starts_wrapped(text):
    return text.startswith("[") and "]:" in text


def _parse_topology(topology, conn):
    """Fill ``conn['local']`` and ``conn['remote']`` from ``LEFT...RIGHT``."""
    # NOTE: pluto prints the local end first once a connection is oriented. For an
    # unoriented one (oriented False) "local" and "remote" are only the printed order.
    left, right = _split_outside_brackets(topology, "...")
    if right is None:
        return False
    local = conn["local"]
    remote = conn["remote"]
    first_spd = local["host"] is None and remote["host"] is None

    # Left end: [CLIENT===]HOST[<NAME>][:PORT][[ID]][---NEXTHOP]
    client, rest = _split_outside_brackets(left, "===")
    if rest is None:
        client, rest = None, left
    rest, hop = _split_outside_brackets(rest, "---", last=True)
    end = _new_end()
    _parse_host(rest, end)
    end["nexthop"] = hop
    _merge_end(local, end, client, first_spd)

    # Right end, mirrored: [NEXTHOP---]HOST[<NAME>][:PORT][[ID]][===CLIENT]
    rest, client = _split_outside_brackets(right, "===", last=True)
    hop, host_part = _split_outside_brackets(rest, "---")
    if host_part is None:
        hop, host_part = None, rest
    end = _new_end()
    _parse_host(host_part, end)
    end["nexthop"] = hop
    _merge_end(remote, end, client, first_spd)
    return True


def _merge_end(target, parsed, client, first_spd):
    """Copy a parsed end into ``target``; later SPD lines of one connection only add subnets."""
    if first_spd:
        subnets = target["subnets"]
        target.update(parsed)
        target["subnets"] = subnets
    if client:
        subnet, protoport = _parse_client(client)
        if subnet not in target["subnets"]:
            target["subnets"].append(subnet)
        if protoport and target["protoport"] is None:
            target["protoport"] = protoport


def _split_items(body):
    """Split a connection detail body into ``(key, value)`` pairs; a bare word has value None."""
    pairs = []
    for piece in body.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        items = []
        if ", " in piece:
            for part in piece.split(", "):
                part = part.strip()
                if items and not _LOWER_KEY_RE.match(part):
                    items[-1] = items[-1] + ", " + part
                elif part:
                    items.append(part)
        else:
            items.append(piece)
        for item in items:
            colon = item.find(":")
            equals = item.find("=")
            if colon < 0 and equals < 0:
                pairs.append((item, None))
                continue
            if colon < 0 or 0 <= equals < colon:
                split_at = equals
            else:
                split_at = colon
            pairs.append((item[:split_at].strip(), item[split_at + 1:].strip()))
    return tuple(pairs)


def _serial(value):
    """Return N from '#N' or '$N'; 0 (pluto's "none") and anything else give None."""
    match = _SERIAL_RE.search(value)
    if match is None:
        return None
    return int(match.group(1)) or None


def _seconds(value):
    match = _SECONDS_RE.match(value)
    return int(match.group(1)) if match else None


def _percent(value):
    match = _PERCENT_RE.match(value)
    return int(match.group(1)) if match else None


def _integer(value):
    return int(value) if value.isdigit() else None


def _text(value):
    return value


# Detail keys with a named place in the connection dict: key -> (path, converter).
# A path of two names is a nested dict, for example ("auth", "local").
# 3.x/4.x print "newest ISAKMP SA: #1; newest IPsec SA: #2"; 5.x prints
# "established IKE SA: #1; established Child SA: #2" (ISAKMP/IPsec SA for IKEv1).
_NAMED_ITEMS = {
    "ike_life": (("ike_life",), _seconds),
    "ipsec_life": (("ipsec_life",), _seconds),
    "rekey_margin": (("rekey_margin",), _seconds),
    "rekey_fuzz": (("rekey_fuzz",), _percent),
    "keyingtries": (("keyingtries",), _integer),
    "ipsec_max_bytes": (("ipsec_max_bytes",), parse_byte_count),
    "our auth": (("auth", "local"), _text),
    "their auth": (("auth", "remote"), _text),
    "our idtype": (("ids", "local_type"), _text),
    "our id": (("ids", "local"), _text),
    "their idtype": (("ids", "remote_type"), _text),
    "their id": (("ids", "remote"), _text),
    "newest IKE SA": (("newest_ike_sa",), _serial),
    "newest ISAKMP SA": (("newest_ike_sa",), _serial),
    "established IKE SA": (("newest_ike_sa",), _serial),
    "established ISAKMP SA": (("newest_ike_sa",), _serial),
    "newest IPsec SA": (("newest_ipsec_sa",), _serial),
    "established Child SA": (("newest_ipsec_sa",), _serial),
    "established IPsec SA": (("newest_ipsec_sa",), _serial),
    "negotiating IKE SA": (("negotiating_ike_sa",), _serial),
    "negotiating ISAKMP SA": (("negotiating_ike_sa",), _serial),
    "negotiating Child SA": (("negotiating_ipsec_sa",), _serial),
    "negotiating IPsec SA": (("negotiating_ipsec_sa",), _serial),
    "owner": (("owner",), _serial),
    "eroute owner": (("owner",), _serial),
    "conn serial": (("conn_serial",), _serial),
    "instantiated from": (("instantiated_from",), _serial),
    "IKE algorithms": (("ike_algorithms",), _text),
    "IKE algorithm newest": (("ike_algorithm_newest",), _text),
    "IKEv1 algorithm newest": (("ike_algorithm_newest",), _text),
    "IKEv2 algorithm newest": (("ike_algorithm_newest",), _text),
    "ESP algorithms": (("esp_algorithms",), _text),
    "ESP algorithm newest": (("esp_algorithm_newest",), _text),
}


def _set_routing(conn, raw, result):
    if raw != conn["routing_raw"] and normalise_routing(raw) == "other":
        result["warnings"].append("unrecognised routing word %r of connection %r" % (raw, conn["name"]))
    conn["routing_raw"] = raw
    conn["routing"] = normalise_routing(raw)
    conn["routed"] = _routing_has_policy(raw)


def _item_orientation(conn, key, value, result):
    # 3.x/4.x: '"c":     oriented; my_ip=unset; ...'
    conn["oriented"] = key == "oriented"


def _item_policy(conn, key, value, result):
    conn["policy"] = [word for word in value.split("+") if word]
    words = set(conn["policy"])
    # 4.x and later name the version; 3.x has IKEV1_ALLOW and/or IKEV2_ALLOW.
    if "IKEv2" in words or ("IKEV2_ALLOW" in words and "IKEV1_ALLOW" not in words):
        conn["ike_version"] = 2
    elif "IKEv1" in words or ("IKEV1_ALLOW" in words and "IKEV2_ALLOW" not in words):
        conn["ike_version"] = 1


def _item_aliases(conn, key, value, result):
    for alias in value.split():
        if alias not in conn["aliases"]:
            conn["aliases"].append(alias)


def _item_host(conn, key, value, result):
    # 5.x: '"c":   host: oriented; local: 198.51.100.1; remote: 198.51.100.2;'
    if value in ("oriented", "unoriented"):
        conn["oriented"] = value == "oriented"
    else:
        conn["fields"].setdefault(key, value)


def _item_host_address(conn, key, value, result):
    # 5.x prints local:/remote: when oriented and left:/right: when not.
    side = "local" if key in ("local", "left") else "remote"
    if conn[side]["host"] is None:
        conn[side]["host"] = value
        conn[side]["id"] = conn[side]["id"] or value
    conn["fields"].setdefault(key, value)


def _item_routing(conn, key, value, result):
    # 5.x "routing:" line. Under an "unoriented" header it shows "unrouted", so the
    # header's more specific word is kept.
    if conn["routing_raw"] == "unoriented":
        conn["fields"].setdefault(key, value)
        return
    _set_routing(conn, value, result)


# Detail keys that need more than a stored value.
_ITEM_HANDLERS = {
    "policy": _item_policy,
    "aliases": _item_aliases,
    "host": _item_host,
    "local": _item_host_address,
    "remote": _item_host_address,
    "left": _item_host_address,
    "right": _item_host_address,
    "routing": _item_routing,
}


def _compile_items(body):
    """Return ``(understood, fields, values, operations)`` for one connection detail body.

    ``fields`` contains the pairs stored as they are, ``values`` the ``(path, value)`` of
    pairs with a named place, and ``operations`` the ``(handler, key, value)`` of the rest.
    ``understood`` is False when the body held no key/value pair at all.
    """
    fields = []
    values = []
    operations = []
    understood = False
    for key, value in _split_items(body):
        if value is None:
            if key in ("oriented", "unoriented"):
                operations.append((_item_orientation, key, None))
                understood = True
            continue
        understood = True
        named = _NAMED_ITEMS.get(key)
        handler = _ITEM_HANDLERS.get(key)
        if named is not None:
            path, convert = named
            values.append((path, convert(value)))
        elif handler is not None:
            operations.append((handler, key, value))
        else:
            fields.append((key, value))
    return understood, tuple(fields), tuple(values), tuple(operations)


def _apply_items(conn, body, result, cache=None):
    """Store one connection detail body in ``conn``; return False if it held no key/value pair.

    ``cache`` maps bodies already compiled to their result. Most detail lines repeat from
    one connection to the next, so this keeps outputs with thousands of connections fast.
    """
    if cache is None:
        compiled = _compile_items(body)
    else:
        compiled = cache.get(body)
        if compiled is None:
            compiled = cache[body] = _compile_items(body)
    understood, fields, values, operations = compiled
    conn_fields = conn["fields"]
    for key, value in fields:
        # The first value wins when a key repeats (4.x and 5.x print retransmit-timeout twice).
        if key not in conn_fields:
            conn_fields[key] = value
    for path, value in values:
        if len(path) == 1:
            conn[path[0]] = value
        else:
            conn[path[0]][path[1]] = value
    for handler, key, value in operations:
        handler(conn, key, value, result)
    return understood


def _connection(result, name, instances):
    key = connection_key(name, instances)
    conn = result["connections"].get(key)
    if conn is None:
        conn = _new_connection(key, name, instances)
        result["connections"][key] = conn
    return conn


def _parse_header(result, name, instances, body):
    """Parse ``TOPOLOGY; ROUTING; ...``; return False when ``body`` is no connection header."""
    pieces = body.split(";")
    topology = pieces[0].strip()
    if len(pieces) < 2 or "..." not in topology:
        return False
    conn = _connection(result, name, instances)
    if not _parse_topology(topology, conn):
        return False
    routing = pieces[1].strip()
    # A connection with several SPDs prints one header per SPD; the first one's word is kept.
    if conn["routing_raw"] is None:
        _set_routing(conn, routing, result)
    if routing == "unoriented":
        conn["oriented"] = False
    _apply_items(conn, ";".join(pieces[2:]), result)
    return True


def _parse_connection_line(line, code, result):
    # Lines of one connection come in a row, so the previous line's prefix usually matches.
    prefix, name, instances = result["_last_prefix"]
    if prefix and line.startswith(prefix) and line[len(prefix):len(prefix) + 1] in (":", " "):
        rest = line[len(prefix):]
    else:
        match = _CONN_PREFIX_RE.match(line)
        if match is None:
            return False
        name, instances = match.group(1), match.group(2)
        result["_last_prefix"] = (match.group(0), name, instances)
        rest = line[match.end():]
    if rest.startswith(":  "):
        conn = _connection(result, name, instances)
        return _apply_items(conn, rest[1:], result, result["_cache"])
    if rest.startswith(": "):
        if _parse_header(result, name, instances, rest[2:]):
            return True
        # '"name": added IKEv2 connection' and other one-line replies of whack.
        _add_message(result, code, connection_key(name, instances), None, rest[2:])
        return True
    message = _CONN_MESSAGE_RE.match(line)
    if message is not None:
        serial = message.group(4)
        _add_message(result, code, connection_key(name, instances), int(serial) if serial else None, message.group(5))
        return True
    return False


def _add_message(result, code, connection, serial, text):
    result["messages"].append({"code": code, "connection": connection, "serial": serial, "text": text})


# --- state lines ------------------------------------------------------------------

# '#3: "name"[2] 198.51.100.9:4500 STATE_MAIN_R3 (sent MR3, ISAKMP SA established); EVENT_SA_REPLACE in  XXs; ...'
# The port is a number, or a word such as "EPHEM" in Libreswan's sanitised test output.
_STATE_RE = re.compile(r'^#(\d+): "([^"]*)"((?:\[\d+\])*)(.*?):(\d+|[A-Z]+)(\(tcp\))? (.*)$')
_STATE_NAME_RE = re.compile(r"^([A-Z][A-Z0-9_]*) \((.*?)\)(?:;|$)")
_BARE_STATE_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EVENT_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*) in\s+(-?\d+|X+)s$")
_PARENT_RE = re.compile(r"^(?:(?:IKE|ISAKMP|PARENT) SA #|isakmp#)(\d+)$")
# '#2: "name" esp.1a2b3c4d@198.51.100.2 esp.5e6f7a8b@198.51.100.1 tun.0@... Traffic: ESPin=84B ...'
# Each "esp.SPI@ADDRESS" is an SA ID (SAID in Libreswan's terms).
# An SA ID is "esp.SPI@ADDRESS" for IPv4 and "esp:SPI@ADDRESS" for IPv6 (4.10 and 5.2 print both forms).
_ESP_HEAD_RE = re.compile(r'^#(\d+): "([^"]*)"((?:\[\d+\])*)(.*?) (?:used \S+ ago; )?(?=(?:esp|ah|comp|tun)[.:])')
_SAID_RE = re.compile(r"\b(esp|ah|comp|tun)[.:]([^@\s]+)@(\S+)")
_COUNTER_RE = re.compile(r"\b(ESP|AH|IPCOMP)(in|out|max)=(\S+)")
_REF_RE = re.compile(r"\b(ref|refhim|username)=(\S+)")
_PENDING_RE = re.compile(r'^#(\d+): pending (.+?) for "([^"]*)"((?:\[\d+\])*)(.*?)(?: replacing #(\d+))?$')

# 5.4 and later print only a state's description; these two are fixed strings of
# programs/pluto/ikev2_states.c, so they map back to the state name.
_DESCRIPTION_NAMES = {
    "established IKE SA": "ESTABLISHED_IKE_SA",
    "established Child SA": "ESTABLISHED_CHILD_SA",
}
_CHILD_NAME_WORDS = ("CHILD", "QUICK", "IPSEC", "CREATE")
_IKEV1_DESCRIPTION_RE = re.compile(
    r"ISAKMP|Main Mode|Aggressive Mode|Quick Mode|XAUTH|ModeCfg|MODE_CFG|IPsec SA established|Informational Exchange")
_IKEV2_DESCRIPTION_RE = re.compile(
    r"IKE SA|Child SA|IKE_SA_INIT|IKE_AUTH|CREATE_CHILD_SA|IKE_INTERMEDIATE|IKE_SESSION_RESUME|IKE_FOLLOWUP_KE")
_IKE_DESCRIPTION_RE = re.compile(r"IKE SA|ISAKMP SA|IKE_SA|rekey IKE|REKEY_IKE|Main Mode|Aggressive Mode|XAUTH|ModeCfg")
_CHILD_DESCRIPTION_RE = re.compile(r"Child SA|IPsec SA|Quick Mode|CHILD")


def _new_state(serial, name, instances):
    base, child, instance = split_connection_name(name, instances)
    return {
        "serial": serial,
        "connection": connection_key(name, instances),
        "kind": None,
        "state": None,
        "state_name": None,
        "description": None,
        "established": False,
        "ike_version": None,
        "parent": None,
        "newest": False,
        "eroute_owner": False,
        "events": {},
        "instance": instance,
        "instance_address": None,
        "remote_port": None,
        "tcp": False,
        "username": None,
        "esp": None,
        "details": [],
    }


def _classify_state_name(name):
    """Return ``(state_name, kind, ike_version)`` for a raw state word such as STATE_V2_IPSEC_I."""
    core = name[6:] if name.startswith("STATE_") else name
    if core.startswith("V2_"):
        core = core[3:]
    kind = "Child" if any(word in core for word in _CHILD_NAME_WORDS) else "IKE"
    if name.startswith(("STATE_V2_", "STATE_PARENT_")) or not name.startswith("STATE_"):
        # 5.1 and later drop the STATE_V2_ prefix of IKEv2 states but keep STATE_ for IKEv1.
        version = 2
    elif core in ("IKESA_DEL", "CHILDSA_DEL"):
        version = 2
    elif core in ("UNDEFINED", "ADDED", "LOADED", "FAILED", "INVALID", "INCOMPLETE"):
        version = None
    else:
        version = 1
    return core, kind, version


def _classify_description(description, has_parent):
    """Return ``(kind, ike_version)`` from a 5.4+ state description, which has no state name."""
    if has_parent:
        kind = "Child"
    elif _IKE_DESCRIPTION_RE.search(description):
        kind = "IKE"
    elif _CHILD_DESCRIPTION_RE.search(description):
        kind = "Child"
    else:
        kind = "IKE"
    if _IKEV1_DESCRIPTION_RE.search(description):
        version = 1
    elif _IKEV2_DESCRIPTION_RE.search(description):
        version = 2
    else:
        version = None
    return kind, version


def _state_entry(result, serial, name, instances):
    state = result["states"].get(serial)
    if state is None:
        state = _new_state(serial, name, instances)
        result["states"][serial] = state
    return state


def _parse_state_line(line, result):
    match = _STATE_RE.match(line)
    if match is None:
        return False
    serial = int(match.group(1))
    state = _state_entry(result, serial, match.group(2), match.group(3))
    state["instance_address"] = instance_address(match.group(4))
    port = match.group(5)
    state["remote_port"] = int(port) if port.isdigit() else None
    state["tcp"] = match.group(6) is not None
    body = match.group(7)

    name = None
    description = None
    named = _STATE_NAME_RE.match(body)
    if named is not None:
        name, description = named.group(1), named.group(2)
        segments = body[named.end():].split(";")
    else:
        segments = body.split(";")
        first = segments.pop(0).strip()
        if _BARE_STATE_NAME_RE.match(first):
            name = first
        else:
            description = first

    parent = None
    for segment in segments:
        segment = segment.strip()
        if not segment:
            continue
        if segment == "newest" or segment.startswith("newest "):
            state["newest"] = True
        elif segment == "eroute owner":
            state["eroute_owner"] = True
        else:
            event = _EVENT_RE.match(segment)
            if event is not None:
                state["events"][_event_name(event.group(1))] = _event_seconds(event.group(2))
                continue
            parent_match = _PARENT_RE.match(segment)
            if parent_match is not None:
                parent = int(parent_match.group(1)) or None
                continue
            state["details"].append(segment)

    if name is not None:
        state_name, kind, version = _classify_state_name(name)
        state["state"] = name
    else:
        state_name = _DESCRIPTION_NAMES.get(description)
        kind, version = _classify_description(description or "", parent is not None)
        state["state"] = description
    if parent is not None:
        kind = "Child"
    state["state_name"] = state_name
    state["description"] = description
    state["kind"] = kind
    state["ike_version"] = version
    state["parent"] = parent
    text = (description or "") + " " + (state_name or "")
    state["established"] = "established" in text.lower() and "not established" not in text.lower()
    return True


def _event_name(word):
    """Return an event name without 3.x's EVENT_/EVENT_SA_ prefixes: EVENT_SA_REPLACE is REPLACE."""
    for prefix in ("EVENT_", "SA_", "v1_", "v2_"):
        if word.startswith(prefix):
            word = word[len(prefix):]
    return word


def _event_seconds(text):
    return int(text) if text.lstrip("-").isdigit() else None


def _parse_esp_line(line, result):
    match = _ESP_HEAD_RE.match(line)
    if match is None:
        return False
    serial = int(match.group(1))
    state = result["states"].get(serial)
    if state is None:
        # The state line was filtered out (for example by grep); an SA with SPIs is an
        # established Child SA.
        state = _state_entry(result, serial, match.group(2), match.group(3))
        state["kind"] = "Child"
        state["established"] = True
    if state["instance_address"] is None:
        state["instance_address"] = instance_address(match.group(4))
    body = line[match.end():]

    esp = {"protocol": None, "in_bytes": None, "out_bytes": None, "max_bytes": None,
           "spi_in": None, "spi_out": None, "ref": None, "refhim": None}
    spis = [said for said in _SAID_RE.findall(body) if said[0] in ("esp", "ah")]
    if spis:
        esp["protocol"] = spis[0][0].upper()
        # pluto prints the outbound SA (to the peer) first, then the inbound one.
        esp["spi_out"] = spis[0][1]
        if len(spis) > 1:
            esp["spi_in"] = spis[1][1]
    for protocol, direction, value in _COUNTER_RE.findall(body):
        if esp["protocol"] is None:
            esp["protocol"] = protocol
        if protocol != esp["protocol"]:
            continue
        esp[direction + "_bytes"] = parse_byte_count(value)
    for key, value in _REF_RE.findall(body):
        if key == "username":
            state["username"] = value
        else:
            esp[key] = int(value) if value.isdigit() else None
    state["esp"] = esp
    return True


def _parse_pending_line(line, result):
    match = _PENDING_RE.match(line)
    if match is None:
        return False
    replacing = match.group(6)
    result["pending"].append({
        "serial": int(match.group(1)),
        "what": match.group(2),
        "connection": connection_key(match.group(3), match.group(4)),
        "replacing": int(replacing) if replacing else None,
    })
    return True


def _parse_hash_line(line, code, result):
    if line.startswith("# "):
        # 5.x --briefconnectionstatus: "# Total IPsec connections: loaded 3, active 0"
        return _parse_global_line(line[2:], code, result)
    # The SA line must be tried before the state line: an IPv6 SA address such as
    # "esp.1a2b@2001:db8::1 " also fits the state line's ":PORT " pattern.
    if " Traffic:" in line and _parse_esp_line(line, result):
        return True
    traffic = parse_traffic_line(line)
    if traffic is not None:
        result["traffic"].append(traffic)
        return True
    if _parse_state_line(line, result):
        return True
    return _parse_pending_line(line, result)


# --- global lines -----------------------------------------------------------------

# Section titles and fixed lines of the global part; their content is not needed.
_GLOBAL_EXACT = frozenset([
    "Connection list:",
    "Bare Shunt list:",
    "config setup options:",
    "ESP algorithms supported:",
    "Kernel algorithms supported:",
    "IKE algorithms supported:",
    "virtual-private (%priv):",
])
# Lines recognised by their start and skipped: algorithm tables, db_ops statistics,
# the debug set, the virtual-private list and its "showing only N of M!" notice.
_GLOBAL_SKIPPED_PREFIXES = ("algorithm ", "stats db_ops:", "- ", "showing only ")
_DEBUG_RE = re.compile(r"^debug(?:$|[ :])")
_KEY_VALUE_LINE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ .-]*=")
_TOTALS_RE = re.compile(r"\b(loaded|routed|active) (\d+)")
_SA_COUNT_RE = re.compile(r"([a-z-]+)\((\d+)\)")
_SHUNT_RE = re.compile(r"^(\S+) -(\d+)-> (\S+) => (\S+)(?: (\d+))?\s+(.*?)(?:\s+\$(\d+))?$")
# 3.x "interface eth0/eth0 198.51.100.1@500", 4.x "interface eth0 UDP 198.51.100.1:500",
# 5.x "interface eth0 198.51.100.1:UDP/4500 (NAT)".
_IFACE_V5_RE = re.compile(r"^interface (\S+) (\S+?):(UDP|TCP)/(\d+)(?: \(([^)]*)\))?$")
_IFACE_V4_RE = re.compile(r"^interface (\S+) (UDP|TCP) (\S+?):(\d+)$")
_IFACE_V3_RE = re.compile(r"^interface (\S+) (\S+?)[@:](\d+)$")


def _parse_key_values(text, target):
    """Store ``key=value, key=value`` items in ``target``; a piece without '=' extends the previous value."""
    last = None
    for piece in text.split(", "):
        key, sep, value = piece.partition("=")
        if sep and key.strip():
            last = key.strip()
            target[last] = value.strip().rstrip(",;")
        elif last is not None and piece.strip():
            target[last] = target[last] + ", " + piece.strip().rstrip(",;")


# Pattern, then the group numbers of name, address, port and protocol (3.x prints no protocol).
_IFACE_PATTERNS = (
    (_IFACE_V5_RE, (1, 2, 4, 3)),
    (_IFACE_V4_RE, (1, 3, 4, 2)),
    (_IFACE_V3_RE, (1, 2, 3, None)),
)


def _parse_interface(line):
    for pattern, fields in _IFACE_PATTERNS:
        match = pattern.match(line)
        if match is None:
            continue
        name_at, address_at, port_at, protocol_at = fields
        address = match.group(address_at)
        if address.startswith("[") and address.endswith("]"):
            address = address[1:-1]
        nat = pattern is _IFACE_V5_RE and match.group(5) == "NAT"
        return {
            "name": match.group(name_at).split("/")[0],
            "address": address,
            "port": int(match.group(port_at)),
            "protocol": match.group(protocol_at) if protocol_at else "UDP",
            "nat": nat,
        }
    return None


def _global_interface(line, result):
    interface = _parse_interface(line)
    if interface is None:
        return False
    result["interfaces"].append(interface)
    return True


def _global_kernel_interface(line, result):
    result["kernel_interface"] = line.split(":", 1)[1].strip()
    return True


def _global_totals(line, result):
    for word, number in _TOTALS_RE.findall(line):
        result["totals"][word] = int(number)
    return True


def _global_state_information(line, result):
    result["state_information"] = line.split(":", 1)[1].strip()
    return True


def _global_sa_counts(line, result):
    counts = dict((key.replace("-", "_"), int(number)) for key, number in _SA_COUNT_RE.findall(line))
    result["ike_sas" if line.startswith("IKE") else "ipsec_sas"] = counts
    return True


def _global_nat_traversal(line, result):
    # 5.x: "nat-traversal: keep-alive=20, nat-ikeport=4500"
    _parse_key_values(line[len("nat-traversal: "):], result["config_setup"])
    return True


# Global lines recognised by their start, with the function that stores them.
_GLOBAL_PREFIXES = (
    ("interface ", _global_interface),
    ("using kernel interface:", _global_kernel_interface),
    ("Total IPsec connections:", _global_totals),
    ("State Information:", _global_state_information),
    ("IKE SAs:", _global_sa_counts),
    ("IPsec SAs:", _global_sa_counts),
    ("nat-traversal: ", _global_nat_traversal),
)


def _parse_shunt(line, result):
    shunt = _SHUNT_RE.match(line)
    if shunt is None:
        return False
    conn_serial = shunt.group(7)
    result["bare_shunts"].append({
        "source": shunt.group(1),
        "protocol": int(shunt.group(2)),
        "destination": shunt.group(3),
        "shunt": shunt.group(4),
        "reason": shunt.group(6),
        "conn_serial": int(conn_serial) if conn_serial else None,
        "line": line,
    })
    return True


def _parse_global_line(line, code, result):
    if line in _GLOBAL_EXACT or line.startswith(_GLOBAL_SKIPPED_PREFIXES) or _DEBUG_RE.match(line):
        return True

    for prefix, handler in _GLOBAL_PREFIXES:
        if line.startswith(prefix):
            return handler(line, result)

    added = _ADDED_RE.match(line)
    if added is not None:
        _add_message(result, code, added.group(1), None, line)
        return True

    if _parse_shunt(line, result):
        return True

    if _KEY_VALUE_LINE_RE.match(line):
        # "config setup options:" lines, "fips mode=disabled;", "SElinux=...", "nat-traversal=yes, ..."
        _parse_key_values(line, result["config_setup"])
        return True
    return False


# --- entry point ------------------------------------------------------------------


def _new_result():
    return {
        "version": None,
        "connections": {},
        "states": {},
        "totals": {"loaded": None, "active": None, "routed": None},
        "ike_sas": None,
        "ipsec_sas": None,
        "interfaces": [],
        "bare_shunts": [],
        "kernel_interface": None,
        "state_information": None,
        "config_setup": {},
        "pending": [],
        "traffic": [],
        "messages": [],
        "warnings": [],
        "_cache": {},
        "_last_prefix": (None, None, None),
    }


def _finish(result):
    """Fill values that need the whole output: version, instance addresses, IKE versions."""
    del result["_cache"]
    del result["_last_prefix"]
    result["version"] = result["config_setup"].get("pluto_version") or None
    connections = result["connections"]
    for state in result["states"].values():
        conn = connections.get(state["connection"])
        if conn is None:
            continue
        if state["ike_version"] is None:
            state["ike_version"] = conn["ike_version"]
        if conn["instance_address"] is None and state["instance_address"] is not None:
            conn["instance_address"] = state["instance_address"]
    for traffic in result["traffic"]:
        conn = connections.get(traffic["connection"])
        if conn is not None and conn["instance_address"] is None:
            conn["instance_address"] = traffic["instance_address"]


def parse_status(text):
    """Parse ``ipsec whack --status`` output of Libreswan 3.x, 4.x or 5.x into plain dicts.

    The optional three-digit line code of 3.x/4.x is stripped, and ``000`` followed only
    by blanks is an empty line. Connections are keyed by the name pluto prints (``h2h``,
    ``s2s/1x0``, ``rw[3]``) and states by their serial number (an int). Every line that
    is not understood is quoted in ``warnings`` instead of raising an exception.

    Besides the documented keys, the result has ``kernel_interface``,
    ``state_information``, ``config_setup`` (the ``key=value`` lines of the global part),
    ``pending`` (Child SAs waiting for an IKE SA), ``traffic`` (trafficstatus lines, as
    parse_trafficstatus() returns them) and ``messages`` (progress lines of
    ``--add``/``--up``: code, connection, serial and text). A connection also has
    ``routed`` (True when its routing word means a kernel policy is installed, None for an
    unknown word), ``ike_version``, ``owner``, ``negotiating_ike_sa``,
    ``negotiating_ipsec_sa`` and ``instantiated_from``, and each end has ``hostname`` and
    ``port``. A connection whose routing word is not in the output (grep'd lines) has
    routing "other" and routing_raw None. A state also has ``state_name`` (the state word
    without STATE_ and V2_), ``eroute_owner``, ``remote_port``, ``tcp``, ``username``,
    ``instance_address`` and ``details`` (the other ``;`` items of its line).
    """
    result = _new_result()
    warnings = result["warnings"]
    for raw in (text or "").splitlines():
        code, line = strip_line_code(raw)
        line = line.strip()
        if not line:
            continue
        first = line[0]
        if first == '"':
            understood = _parse_connection_line(line, code, result)
        elif first == "#":
            understood = _parse_hash_line(line, code, result)
        else:
            understood = _parse_global_line(line, code, result)
        if not understood:
            warnings.append("unrecognised status line: %r" % raw)
    _finish(result)
    return result
