# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""A connection's run-time state, summarised from parsed ``whack --status`` output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

__all__ = ["connection_entries", "summarise", "is_routed", "ROUTED_STATES"]

# Normalised routing values that mean a trap or tunnel policy is installed.
ROUTED_STATES = ("routed", "established")


def is_routed(routing, routing_raw):
    """Return True when the connection's policy (trap or tunnel) is installed in the kernel.

    5.x words such as ``routed-negotiation`` and 4.x ``erouted HOLD`` normalise to
    "negotiating" but still mean the policy is installed, so the raw word is consulted too.
    """
    raw = routing_raw or ""
    # 4.x: "erouted HOLD" and "fail erouted" keep the policy while a negotiation waits or failed.
    return routing in ROUTED_STATES or raw.startswith("routed-") or "erouted" in raw


class _Index(object):
    """Lookups over one parsed status, built in one pass so that many summaries stay linear."""

    def __init__(self, status):
        self.status = status
        self.entries = {}
        self.instances = {}
        for key, entry in status.get("connections", {}).items():
            base = entry.get("base") or key
            if entry.get("instance") is not None:
                self.instances.setdefault(base, []).append(key)
            elif key == base or entry.get("child"):
                self.entries.setdefault(base, {})[key] = entry
        self.states = {}
        self.child_parents = {}
        for state in status.get("states", {}).values():
            self.states.setdefault(state.get("connection"), []).append(state)
            if state.get("kind") == "Child" and state.get("parent"):
                self.child_parents.setdefault(state.get("parent"), set()).add(state.get("connection"))
        for states in self.states.values():
            states.sort(key=lambda state: state.get("serial") or 0)


# The index of the most recent status; a reference to the status itself makes the identity check safe.
_LAST = {}


def _index(status):
    if _LAST.get("status") is not status:
        _LAST["status"] = status
        _LAST["index"] = _Index(status)
    return _LAST["index"]


def connection_entries(status, name):
    """Return ``{child name: status entry}`` for ``name`` and its split children, without instances."""
    return dict(_index(status).entries.get(name, {}))


def _instances(status, name):
    return sorted(_index(status).instances.get(name, []))


def _state(status, serial):
    if not serial:
        return None
    return status.get("states", {}).get(serial) or status.get("states", {}).get(str(serial))


def _states_of(status, names):
    index = _index(status)
    states = []
    for name in names:
        states.extend(index.states.get(name, []))
    return sorted(states, key=lambda state: state.get("serial") or 0)


def _shared_ike_serials(status, names):
    """Return serials of IKE SAs that carry a Child SA of a connection outside ``names``."""
    names = set(names)
    return set(parent for parent, connections in _index(status).child_parents.items() if connections - names)


def summarise_child(status, entry, family):
    ike = _state(status, entry.get("newest_ike_sa"))
    child = _state(status, entry.get("newest_ipsec_sa"))
    own_states = _states_of(status, [entry["name"]])
    shared = _shared_ike_serials(status, family)
    child_established = bool(child and child.get("established") and child.get("kind") == "Child")
    ike_established = bool(ike and ike.get("established")) or any(
        state.get("kind") == "IKE" and state.get("established") for state in own_states)
    return {
        "routing": entry.get("routing"),
        "routing_raw": entry.get("routing_raw"),
        "oriented": entry.get("oriented"),
        "newest_ike_sa": entry.get("newest_ike_sa"),
        "newest_ipsec_sa": entry.get("newest_ipsec_sa"),
        "ike_established": ike_established,
        "child_established": child_established,
        "states": [state.get("serial") for state in own_states],
        "child_sas": [state.get("serial") for state in own_states if state.get("kind") == "Child"],
        # IKE SAs of this child that no connection outside its family shares.
        "ike_sas": [state.get("serial") for state in own_states
                    if state.get("kind") == "IKE" and state.get("serial") not in shared],
        # IKE SAs that also carry another connection's Child SA stay after a down; they do not count.
        "own_sas": [state.get("serial") for state in own_states
                    if state.get("kind") == "Child" or state.get("serial") not in shared],
        "conn_serial": entry.get("conn_serial"),
    }


def summarise(status, name):
    """Return the run-time summary of connection ``name`` used by plans, results and diffs."""
    entries = connection_entries(status, name)
    family = list(entries)
    children = dict((child, summarise_child(status, entry, family)) for child, entry in entries.items())
    loaded = bool(children)
    return {
        "name": name,
        "loaded": loaded,
        "children": children,
        "instances": _instances(status, name),
        "routed": loaded and all(is_routed(c["routing"], c["routing_raw"]) for c in children.values()),
        "up": loaded and all(c["child_established"] for c in children.values()),
        "ike_established": loaded and any(c["ike_established"] for c in children.values()),
        "has_sas": any(c["own_sas"] for c in children.values()),
        "oriented": loaded and all(c["oriented"] is not False for c in children.values()),
    }
