# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ipsec.libreswan.libreswan role: ipsec.conf text, mesh pairs and their keys, the plan.

They run on the controller and turn role variables into data the role's tasks pass to the
collection's modules. None of them returns a secret except libreswan_mesh_psk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config_text
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name
from ansible_collections.ipsec.libreswan.plugins.module_utils._render import render_value

__all__ = [
    "FilterModule",
    "config_text",
    "connection_plan",
    "managed_conn_name",
    "mesh_connections",
    "mesh_psk",
    "purge_list",
    "unlisted_files",
]

CONFIG_HEADER = (
    "# Managed by the ipsec.libreswan.libreswan role; local changes are overwritten on the next run.\n"
    "# Define connections in files under /etc/ipsec.d/, which the include line below reads.\n"
)
STATES = ("present", "up", "down", "routed", "ondemand", "absent")
# auto= written into a definition that has none, so that pluto loads the connection again on
# its own after a restart. "route" is valid in Libreswan 3.x to 5.x.
AUTO_BY_STATE = {"up": "start", "routed": "route", "ondemand": "route", "present": "add", "down": "add"}
MESH_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
KEYWORD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
MIN_MASTER_LENGTH = 16
# Keywords the mesh sets itself; libreswan_mesh_definition may not set them.
MESH_OWN_KEYWORDS = ("left", "right", "leftid", "rightid", "leftcert", "rightcert", "authby", "rightca")
SECRET_KEYS = ("selectors", "type", "secret", "secret_format", "ppk_id")


def config_text(config_setup, includes, version="4"):
    """Render /etc/ipsec.conf: the `config setup` section from a dict, then the include lines.

    Values follow the collection's renderer (booleans as yes/no, lists comma-separated, values
    with blanks quoted). The text is parsed with the collection's parser for `version`, and
    unknown keywords or conn keywords in `config setup` raise AnsibleFilterError.
    """
    if config_setup is None:
        config_setup = {}
    if not isinstance(config_setup, dict):
        raise AnsibleFilterError("libreswan_config_setup must be a dict of config setup keywords, not %s"
                                 % type(config_setup).__name__)
    lines = [CONFIG_HEADER.rstrip("\n"), "", "config setup"]
    for key in sorted(config_setup, key=lambda name: to_text(name).lower()):
        value = config_setup[key]
        if not isinstance(key, str) or not KEYWORD_RE.match(key):
            raise AnsibleFilterError("libreswan_config_setup: invalid keyword %r: use letters, digits, '-' and '_', "
                                     "starting with a letter" % (key,))
        if value is None:
            continue
        try:
            lines.append("\t%s=%s" % (key, render_value(key, value)))
        except ValidationError as error:
            raise AnsibleFilterError("libreswan_config_setup: %s" % error)
    lines.append("")
    for include in includes or []:
        if not include or any(character in include for character in " \t\n\"#"):
            raise AnsibleFilterError("invalid include path %r: give one path or glob without blanks, quotes or '#'"
                                     % (include,))
        lines.append("include %s" % include)
    text = "\n".join(lines) + "\n"

    # Include lines resolve to nothing here, so only config setup is checked.
    parsed = parse_config_text(text, filename="/etc/ipsec.conf", version=to_text(version or "4"),
                               cwd="/", reader=MemoryReader({}))
    errors = [problem for problem in parsed.problems if problem.severity == "error"]
    if errors:
        raise AnsibleFilterError("libreswan_config_setup is rejected by the rules of Libreswan %s: %s"
                                 % (version, "; ".join(to_text(problem) for problem in errors)))
    return text


def _check_connection_name(name, where):
    if not isinstance(name, str) or not name:
        raise AnsibleFilterError("%s: every connection needs a non-empty string `name`" % where)
    try:
        validate_connection_name(name, allow_child=False)
    except ValidationError as error:
        raise AnsibleFilterError("%s: %s" % (where, error))


def _with_auto(definition, state):
    """Return the definition with auto= set from `state` when it has no auto= of its own."""
    if definition is None or state not in AUTO_BY_STATE:
        return definition
    if any(to_text(key).lower() == "auto" for key in definition):
        return definition
    result = dict(definition)
    result["auto"] = AUTO_BY_STATE[state]
    return result


def _plan_entry(name, state, definition, source, initiate=None):
    entry = {
        "name": name,
        "state": state,
        # The first pass loads every connection and routes or takes down those that ask for it.
        # An `up` connection is initiated in a second pass, after every host loaded its side.
        "load_state": "present" if state == "up" else state,
        "initiate": state == "up" if initiate is None else initiate,
        "source": source,
    }
    if definition is not None:
        entry["definition"] = _with_auto(definition, state)
    return entry


def connection_plan(connections, mesh=None):
    """Return the connections to apply, mesh connections first, without any secret.

    `connections` is libreswan_connections; `mesh` the output of libreswan_mesh_connections.
    Each entry has `name`, `state`, `load_state` (the state of the first pass), `initiate`
    (whether the second pass brings it up), `source` ("list" or "mesh"), `definition` when one
    was given (with auto= added from the state), and for mesh entries `pair`, `selectors` and
    `auth`. Raises AnsibleFilterError on invalid entries and on names used twice.
    """
    plan = []
    seen = {}
    for item in mesh or []:
        entry = _plan_entry(item["name"], item["state"], item["definition"], "mesh", item.get("initiate"))
        entry.update({"pair": list(item["pair"]), "selectors": list(item["selectors"]), "auth": item["auth"]})
        seen[entry["name"]] = "the mesh"
        plan.append(entry)

    for index, item in enumerate(connections or []):
        where = "libreswan_connections[%d]" % index
        if not isinstance(item, dict):
            raise AnsibleFilterError("%s: each connection is a dict with name, state, definition and secret" % where)
        name = item.get("name")
        _check_connection_name(name, where)
        where = "libreswan_connections[%d] (%s)" % (index, name)
        unknown = sorted(set(item) - set(("name", "state", "definition", "secret")))
        if unknown:
            raise AnsibleFilterError("%s: unknown keys %s; a connection has name, state, definition and secret"
                                     % (where, ", ".join(unknown)))
        state = item.get("state") or "up"
        if state not in STATES:
            raise AnsibleFilterError("%s: invalid state %r; use one of %s" % (where, state, ", ".join(STATES)))
        definition = item.get("definition")
        if definition is not None and not isinstance(definition, dict):
            raise AnsibleFilterError("%s: definition must be a dict of conn keywords" % where)
        secret = item.get("secret")
        if secret is not None:
            if not isinstance(secret, dict):
                raise AnsibleFilterError("%s: secret must be a dict with selectors, type and secret" % where)
            unknown = sorted(set(secret) - set(SECRET_KEYS))
            if unknown:
                raise AnsibleFilterError("%s: unknown keys in secret: %s; use %s"
                                         % (where, ", ".join(unknown), ", ".join(SECRET_KEYS)))
            if not isinstance(secret.get("selectors"), list):
                raise AnsibleFilterError("%s: secret.selectors is missing; list the IDs or addresses the secret "
                                         "applies to, or give [] for a catch-all entry" % where)
        if name in seen:
            raise AnsibleFilterError("%s: the name %r is already used by %s" % (where, name, seen[name]))
        seen[name] = "libreswan_connections"
        entry = _plan_entry(name, state, definition, "list")
        entry["has_secret"] = secret is not None
        plan.append(entry)
    return plan


def _member(hostvars, host, auth):
    variables = hostvars[host]
    name = to_text(variables.get("libreswan_mesh_name") or host)
    if not MESH_NAME_RE.match(name):
        raise AnsibleFilterError(
            "mesh member %s: %r cannot be part of a connection name; only letters, digits, '.', '_' and '-' "
            "are allowed. Set libreswan_mesh_name for this host to such a name" % (host, name))
    address = variables.get("libreswan_mesh_address") or variables.get("ansible_host") or host
    default_id = "%fromcert" if auth == "cert" else "@" + name
    member = {
        "host": host,
        "name": name,
        "address": to_text(address),
        "id": to_text(variables.get("libreswan_mesh_id") or default_id),
        "cert": variables.get("libreswan_mesh_cert"),
    }
    if auth == "cert" and not member["cert"]:
        raise AnsibleFilterError("mesh member %s: libreswan_mesh_auth is cert, so set libreswan_mesh_cert to the "
                                 "nickname of this host's certificate in its NSS database" % host)
    return member


def _mesh_definition(local, peer, auth, extra):
    definition = {
        "left": local["address"],
        "leftid": local["id"],
        "right": peer["address"],
        "rightid": peer["id"],
    }
    if auth == "cert":
        definition["leftcert"] = to_text(local["cert"])
        # Only a certificate from the CA that issued this host's own is accepted.
        definition["rightca"] = "%same"
    else:
        definition["authby"] = "secret"
    for key, value in (extra or {}).items():
        if to_text(key).lower() in MESH_OWN_KEYWORDS:
            raise AnsibleFilterError("libreswan_mesh_definition: %s is set by the mesh from each host's "
                                     "libreswan_mesh_* variables and cannot be given here" % key)
        definition[key] = value
    return definition


def mesh_connections(members, local, hostvars, prefix="mesh", separator="-", state="up", auth="psk", definition=None):
    """Return the host-to-host connections from `local` to every other host of `members`.

    A pair's connection is named PREFIX-A-B with A and B the sorted mesh names of its hosts
    (each host's libreswan_mesh_name, default its inventory name), so both ends and every run
    use the same name. The local host is always `left`. With state `up`, only the host whose
    name sorts first initiates; the other routes the connection, so traffic from either end
    brings the tunnel up. Returns [] when `local` is not a member. Raises AnsibleFilterError on
    names that are invalid or that two pairs would share.
    """
    members = list(members or [])
    if local not in members:
        return []
    if state not in ("up", "routed", "ondemand", "present", "down"):
        raise AnsibleFilterError("libreswan_mesh_state: invalid state %r; use up, routed, ondemand, present or down"
                                 % (state,))
    if auth not in ("psk", "cert"):
        raise AnsibleFilterError("libreswan_mesh_auth: invalid value %r; use psk or cert" % (auth,))
    if definition is not None and not isinstance(definition, dict):
        raise AnsibleFilterError("libreswan_mesh_definition must be a dict of conn keywords")
    infos = [_member(hostvars, host, auth) for host in members]
    by_name = {}
    for info in infos:
        if info["name"] in by_name:
            raise AnsibleFilterError("mesh members %s and %s have the same mesh name %r; set libreswan_mesh_name"
                                     % (by_name[info["name"]]["host"], info["host"], info["name"]))
        by_name[info["name"]] = info

    names = {}
    for first_index, first in enumerate(infos):
        for second in infos[first_index + 1:]:
            pair = sorted((first["name"], second["name"]))
            name = separator.join(([prefix] if prefix else []) + pair)
            if name in names:
                raise AnsibleFilterError("the mesh pairs %s and %s would both be named %r; change "
                                         "libreswan_mesh_separator or the hosts' libreswan_mesh_name"
                                         % ("/".join(names[name]), "/".join(pair), name))
            names[name] = pair

    me = next(info for info in infos if info["host"] == local)
    result = []
    for peer in infos:
        if peer is me:
            continue
        pair = sorted((me["name"], peer["name"]))
        name = separator.join(([prefix] if prefix else []) + pair)
        _check_connection_name(name, "mesh connection")
        initiator = pair[0] == me["name"]
        local_state = state
        if state == "up" and not initiator:
            local_state = "routed"
        result.append({
            "name": name,
            "pair": pair,
            "peer": peer["host"],
            "state": local_state,
            "initiate": state == "up" and initiator,
            "auth": auth,
            "selectors": [me["id"], peer["id"]],
            "definition": _mesh_definition(me, peer, auth, definition),
        })
    return sorted(result, key=lambda item: item["name"])


def mesh_psk(master, pair):
    """Return the pre-shared key of a mesh pair: HMAC-SHA256(master, "A|B") in hex (64 characters).

    A and B are the pair's mesh names, sorted, so both ends derive the same key without storing
    it anywhere. Error messages never contain the master key.
    """
    master_text = to_text(master) if master is not None else ""
    if len(master_text) < MIN_MASTER_LENGTH:
        raise AnsibleFilterError("libreswan_mesh_psk_master is empty or shorter than %d characters; set it to a "
                                 "long random string, kept in Ansible Vault" % MIN_MASTER_LENGTH)
    names = sorted(to_text(name) for name in pair)
    if len(names) != 2:
        raise AnsibleFilterError("libreswan_mesh_psk needs a pair of two mesh names")
    message = "|".join(names)
    return hmac.new(to_bytes(master_text), to_bytes(message), hashlib.sha256).hexdigest()


def managed_conn_name(text):
    """Return the name of the first `conn` section in a file's text, or None."""
    match = re.search(r"^conn[ \t]+(\S+)", to_text(text), re.MULTILINE)
    return match.group(1) if match else None


def unlisted_files(paths, plan):
    """Return the paths among `paths` that are not the default file of a connection in `plan`.

    The role writes every definition to /etc/ipsec.d/NAME.conf, so only the other managed files
    need to be read to find the connection they hold.
    """
    listed = set(entry["name"] + ".conf" for entry in plan if entry["state"] != "absent")
    return sorted(path for path in paths or [] if os.path.basename(path) not in listed)


def purge_list(slurped, plan):
    """Return [{name, path}] for the managed files read with slurp whose connection is not in `plan`.

    `slurped` is the registered result of a slurp loop. A file whose conn name is invalid is
    skipped, because its name would reach a command line.
    """
    listed = set(entry["name"] for entry in plan if entry["state"] != "absent")
    result = []
    for item in (slurped or {}).get("results", []):
        if item.get("skipped") or item.get("failed") or "content" not in item:
            continue
        text = base64.b64decode(item["content"]).decode("utf-8", "replace")
        name = managed_conn_name(text)
        if name is None or name in listed:
            continue
        try:
            validate_connection_name(name, allow_child=False)
        except ValidationError:
            continue
        result.append({"name": name, "path": item.get("source") or item["item"]})
    return sorted(result, key=lambda entry: entry["name"])


class FilterModule(object):
    def filters(self):
        return {
            "libreswan_config_text": config_text,
            "libreswan_connection_plan": connection_plan,
            "libreswan_mesh_connections": mesh_connections,
            "libreswan_mesh_psk": mesh_psk,
            "libreswan_purge_list": purge_list,
            "libreswan_unlisted_files": unlisted_files,
        }
