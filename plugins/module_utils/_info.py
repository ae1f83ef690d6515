# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Facts about one pluto for ipsec_info and the status filters.

``status_facts`` turns parsed ``whack --status`` (and ``--trafficstatus``) output into the
structures ipsec_info returns; it is pure, so the filter plugins use it on captured text.
``gather_info`` runs the read-only commands each requested subset needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import CommandError, ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._listings import parse_listing
from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import is_routed
from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import (
    parse_trafficstatus,
    split_connection_name,
)

__all__ = [
    "SUBSETS",
    "DEFAULT_SUBSETS",
    "resolve_subsets",
    "status_facts",
    "config_facts",
    "gather_info",
]

# Subsets read from whack --status (and --trafficstatus for sas): cheap, gathered by default.
DEFAULT_SUBSETS = ("connections", "sas", "shunts", "totals", "version", "listening")
# Subsets gathered only on request (gather_subset: all, or by name).
_EXTRA_SUBSETS = ("config", "certs", "cacerts", "pubkeys", "crls", "expiring")
SUBSETS = DEFAULT_SUBSETS + _EXTRA_SUBSETS

_STATUS_SUBSETS = frozenset(DEFAULT_SUBSETS + ("config",))
_CONNECTION_KEY_RE = re.compile(r"^(.*?)((?:\[\d+\])*)$")


def resolve_subsets(requested):
    """Return the subsets to gather, in SUBSETS order, for a gather_subset list.

    ``all`` adds every subset, a name adds that subset, ``!name`` removes it and ``!all``
    removes every subset not named explicitly. Without any name to add, the default
    subsets are the starting point. Raises ValidationError on an unknown name.
    """
    included = set()
    excluded = set()
    exclude_all = False
    for item in requested or []:
        item = str(item).strip()
        negate = item.startswith("!")
        word = item[1:] if negate else item
        if word != "all" and word not in SUBSETS:
            raise ValidationError(
                "Invalid gather_subset entry %r: %r is not a subset" % (item, word),
                hint="Use all, %s, or one of them prefixed with '!' to leave it out" % ", ".join(SUBSETS),
            )
        if negate and word == "all":
            exclude_all = True
        elif negate:
            excluded.add(word)
        elif word == "all":
            included.update(SUBSETS)
        else:
            included.add(word)
    if not included and not exclude_all:
        included.update(DEFAULT_SUBSETS)
    return [subset for subset in SUBSETS if subset in included and subset not in excluded]


# --- connections -------------------------------------------------------------------


def _split_key(key):
    """Return ``(name, instances)`` of a status key such as ``rw[3]``."""
    match = _CONNECTION_KEY_RE.match(key)
    return match.group(1), match.group(2)


def _base_name(status, key):
    entry = status["connections"].get(key)
    if entry is not None:
        return entry["base"]
    return split_connection_name(*_split_key(key))[0]


def _state(status, serial):
    return status["states"].get(serial) if serial else None


def _entry_facts(status, entry, states):
    """Return the facts of one pluto connection entry (a child or an instance)."""
    facts = copy.deepcopy(entry)
    ike = _state(status, entry["newest_ike_sa"])
    child = _state(status, entry["newest_ipsec_sa"])
    facts["child_established"] = bool(child and child["established"] and child["kind"] == "Child")
    facts["ike_established"] = bool(ike and ike["established"]) or any(
        state["kind"] == "IKE" and state["established"] for state in states)
    facts["up"] = facts["child_established"]
    facts["sas"] = [state["serial"] for state in states]
    return facts


def _agreed(values):
    """Return the one value every child shares, or None when they differ."""
    values = list(values)
    if values and all(value == values[0] for value in values):
        return values[0]
    return None


def _is_instance(key, entry):
    # Template instances ("rw[3]") and the members of an opportunistic group
    # ("private-or-clear#192.0.2.0/24") are instances; a split conn's "s2s/1x0" is a child.
    return entry["instance"] is not None or (key != entry["base"] and entry["child"] is None)


def _has_own_sas(child, states_by_key, carried, family):
    """Tell whether ``child`` has an SA that deleting it would remove.

    An IKE SA that also carries another connection's Child SA does not count, as in
    _livestate.summarise(). ``carried`` maps an IKE SA's serial to the connections of the
    Child SAs it carries, so no pass over every state is needed per connection.
    """
    for state in states_by_key.get(child["name"], []):
        if state["kind"] == "Child" or not (carried.get(state["serial"], set()) - family):
            return True
    return False


def _connection_facts(status, base, entries, states_by_key, carried):
    """Return the facts of connection ``base`` from its pluto entries (children and instances)."""
    children = {}
    instances = {}
    for key in sorted(entries):
        facts = _entry_facts(status, entries[key], states_by_key.get(key, []))
        if _is_instance(key, entries[key]):
            instances[key] = facts
        else:
            children[key] = facts
    members = [children[key] for key in sorted(children)] or [instances[key] for key in sorted(instances)]
    # The connection's own entry, or its first child, speaks for settings shared by all children.
    primary = members[0]
    family = set(children)

    local = copy.deepcopy(primary["local"])
    remote = copy.deepcopy(primary["remote"])
    for member in members[1:]:
        for end, merged in ((member["local"], local), (member["remote"], remote)):
            for subnet in end["subnets"]:
                if subnet not in merged["subnets"]:
                    merged["subnets"].append(subnet)

    loaded_children = list(children.values())
    newest_ike = [member["newest_ike_sa"] for member in members if member["newest_ike_sa"]]
    newest_child = [member["newest_ipsec_sa"] for member in members if member["newest_ipsec_sa"]]
    return {
        "name": base,
        "loaded": True,
        "up": bool(loaded_children) and all(child["up"] for child in loaded_children),
        "routed": bool(loaded_children) and all(is_routed(child["routing"], child["routing_raw"])
                                                for child in loaded_children),
        "ike_established": any(child["ike_established"] for child in loaded_children),
        "has_sas": any(_has_own_sas(child, states_by_key, carried, family) for child in loaded_children),
        "oriented": bool(loaded_children) and all(child["oriented"] is not False for child in loaded_children),
        "routing": _agreed(member["routing"] for member in members),
        "routing_raw": _agreed(member["routing_raw"] for member in members),
        "ike_version": primary["ike_version"],
        "policy": primary["policy"],
        "local": local,
        "remote": remote,
        "ids": primary["ids"],
        "auth": primary["auth"],
        "newest_ike_sa": max(newest_ike) if newest_ike else None,
        "newest_ipsec_sa": max(newest_child) if newest_child else None,
        "sas": sorted(serial for facts in list(children.values()) + list(instances.values())
                      for serial in facts["sas"]),
        "children": children,
        "instances": instances,
    }


def _connections(status, name):
    by_base = {}
    for key, entry in status["connections"].items():
        if name is None or entry["base"] == name:
            by_base.setdefault(entry["base"], {})[key] = entry
    states_by_key = {}
    carried = {}
    for serial in sorted(status["states"]):
        state = status["states"][serial]
        states_by_key.setdefault(state["connection"], []).append(state)
        if state["kind"] == "Child" and state["parent"]:
            carried.setdefault(state["parent"], set()).add(state["connection"])
    return dict((base, _connection_facts(status, base, entries, states_by_key, carried))
                for base, entries in by_base.items())


# --- SAs ---------------------------------------------------------------------------


_TRAFFIC_KEYS = ("traffic_type", "in_bytes", "out_bytes", "max_bytes", "add_time", "peer_id", "username", "lease")


def _traffic_fields(traffic, state):
    """Return the counters of a Child SA: from --trafficstatus when given, else from the status's SA line."""
    esp = (state or {}).get("esp") or {}
    if traffic is None:
        return {
            "traffic_type": esp.get("protocol"),
            "in_bytes": esp.get("in_bytes"),
            "out_bytes": esp.get("out_bytes"),
            "max_bytes": esp.get("max_bytes"),
            "add_time": None,
            "peer_id": None,
            "username": (state or {}).get("username"),
            "lease": None,
        }
    return {
        "traffic_type": traffic["type"],
        "in_bytes": traffic["in_bytes"],
        "out_bytes": traffic["out_bytes"],
        "max_bytes": traffic["max_bytes"],
        "add_time": traffic["add_time"],
        "peer_id": traffic["id"],
        "username": traffic["username"] or (state or {}).get("username"),
        "lease": traffic["lease"],
    }


def _sa_facts(status, serial, state, traffic):
    key = state["connection"] if state else traffic["connection"]
    events = dict(state["events"]) if state else {}
    facts = {
        "serial": serial,
        "connection": key,
        "name": _base_name(status, key),
        "kind": state["kind"] if state else "Child",
        "ike_version": state["ike_version"] if state else None,
        "state": state["state"] if state else None,
        "state_name": state["state_name"] if state else None,
        "description": state["description"] if state else None,
        # trafficstatus lists only Child SAs that carry traffic, so those are established.
        "established": state["established"] if state else True,
        "newest": state["newest"] if state else None,
        "parent": state["parent"] if state else None,
        "peer": (state or traffic)["instance_address"],
        "remote_port": state["remote_port"] if state else None,
        "tcp": state["tcp"] if state else None,
        "events": events,
        "rekey_in": events.get("REKEY"),
        "replace_in": events.get("REPLACE"),
        "expire_in": events.get("EXPIRE"),
        "esp": copy.deepcopy(state["esp"]) if state else None,
    }
    if facts["kind"] == "Child":
        facts.update(_traffic_fields(traffic, state))
    else:
        facts.update(dict((key, None) for key in _TRAFFIC_KEYS))
    return facts


def _sas(status, traffic, name):
    traffic_by_serial = dict((record["serial"], record) for record in traffic or [])
    serials = sorted(set(status["states"]) | set(traffic_by_serial))
    sas = []
    for serial in serials:
        facts = _sa_facts(status, serial, status["states"].get(serial), traffic_by_serial.get(serial))
        if name is None or facts["name"] == name:
            sas.append(facts)
    return sas


def status_facts(status, traffic=None, name=None, subsets=DEFAULT_SUBSETS):
    """Return the status-based subsets from parse_status() output.

    ``traffic`` is the ``sas`` list of parse_trafficstatus(), or None when
    ``--trafficstatus`` was not read (Child SA counters then come from the status's SA
    lines). ``name`` keeps only that connection (every child and instance of it) in
    ``connections`` and ``sas``.
    """
    facts = {}
    if "connections" in subsets:
        facts["connections"] = _connections(status, name)
    if "sas" in subsets:
        facts["sas"] = _sas(status, traffic, name)
    if "shunts" in subsets:
        facts["shunts"] = copy.deepcopy(status["bare_shunts"])
    if "totals" in subsets:
        totals = dict(status["totals"])
        totals["ike_sas"] = copy.deepcopy(status["ike_sas"])
        totals["ipsec_sas"] = copy.deepcopy(status["ipsec_sas"])
        facts["totals"] = totals
    if "version" in subsets:
        facts["version"] = status["version"]
    if "listening" in subsets:
        facts["listening"] = copy.deepcopy(status["interfaces"])
    return facts


# --- configuration -----------------------------------------------------------------


def config_facts(config, status, name=None):
    """Compare the conns defined in ``config`` (a _conf.Config) with the connections pluto loaded."""
    loaded = set(entry["base"] for entry in status["connections"].values())
    conns = {}
    for conn_name in sorted(config.conns):
        if conn_name.startswith("%") or (name is not None and conn_name != name):
            continue
        conn = config.conns[conn_name]
        conns[conn_name] = {
            "file": conn.file,
            "line": conn.line,
            "loaded": conn_name in loaded,
            "auto": conn.get("auto"),
            "children": list(conn.children),
            "problems": [problem.to_dict() for problem in conn.problems],
        }
    return {
        "conns": conns,
        "defined_not_loaded": [conn_name for conn_name in conns if not conns[conn_name]["loaded"]],
        "loaded_not_defined": sorted(base for base in loaded
                                     if base not in config.conns and (name is None or base == name)),
        "files": list(config.files),
        "problems": [problem.to_dict() for problem in config.problems],
    }


# --- gathering ---------------------------------------------------------------------


def _read(client, argv, description):
    """Run a read-only whack command and return its stdout; raise when it fails."""
    client.ensure_running()
    rc, out, err = client.run(argv, record=False)
    if rc != 0:
        # status() raises PlutoNotRunningError when pluto cannot be reached at all.
        client.status()
        raise CommandError("%s failed (rc %d)" % (description, rc), argv, rc, out, err)
    return out


# Listing subsets: (subset, argv builder name, key of parse_listing(), description of the command).
_LISTINGS = (
    ("certs", "argv_listcerts", "certs", "listing the end certificates (whack --listcerts)"),
    ("cacerts", "argv_listcacerts", "cacerts", "listing the CA certificates (whack --listcacerts)"),
    ("pubkeys", "argv_listpubkeys", "pubkeys", "listing the public keys (whack --listpubkeys)"),
    ("crls", "argv_listcrls", "crls", "listing the CRLs (whack --listcrls)"),
    ("expiring", "argv_checkpubkeys", "pubkeys", "checking the public keys (whack --checkpubkeys)"),
)


def _listing_facts(client, subsets, utc, warnings):
    facts = {}
    for subset, builder, key, description in _LISTINGS:
        if subset not in subsets:
            continue
        # whack always gets --utc, so dates are read without guessing pluto's time zone;
        # ``utc`` only chooses how they are returned.
        listing = parse_listing(_read(client, getattr(client, builder)(utc=True), description), utc=utc)
        warnings.extend(listing["warnings"])
        if subset == "expiring":
            # --checkpubkeys of 4.x and 5.x also prints keys that never expire.
            facts[subset] = [key_facts for key_facts in listing[key] if key_facts["expiry"] in ("warning", "expired")]
        else:
            facts[subset] = listing[key]
        if subset == "crls":
            facts["crl_fetch_requests"] = listing["crl_fetch_requests"]
    return facts


def _load_config(client):
    # Imported here: only the config subset needs the configuration parser.
    from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import parse_config

    return parse_config(client.config, version=client.version or "4")


def gather_info(client, subsets, name=None, utc=False, load_config=_load_config):
    """Gather ``subsets`` (from resolve_subsets) from the pluto behind ``client``.

    Runs only read-only commands. Returns the facts by subset name, plus ``warnings`` with
    every output line the parsers did not understand. Raises PlutoNotRunningError when pluto
    cannot be reached and CommandError when a command fails.
    """
    warnings = []
    facts = {}
    status = None
    if _STATUS_SUBSETS.intersection(subsets):
        status = client.status()
        warnings.extend(status["warnings"])
    traffic = None
    if "sas" in subsets:
        text = _read(client, client.argv_trafficstatus(), "reading the traffic status (whack --trafficstatus)")
        parsed = parse_trafficstatus(text)
        warnings.extend(parsed["warnings"])
        traffic = parsed["sas"]
    if status is not None:
        facts.update(status_facts(status, traffic, name, subsets))
    if "version" in subsets and not facts.get("version"):
        facts["version"] = client.detect_version()
    if "config" in subsets:
        facts["config"] = config_facts(load_config(client), status, name)
    facts.update(_listing_facts(client, subsets, utc, warnings))
    facts["warnings"] = warnings
    return facts
