# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Bring one connection to a requested state: gather, plan, apply, verify.

The plan is computed completely from the state gathered before anything runs,
so check mode reports exactly the commands a real run executes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.ipsec.libreswan.plugins.module_utils._compare import (
    comparable_settings,
    compare_definition,
    expected_children,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import parse_config
from ansible_collections.ipsec.libreswan.plugins.module_utils._definition import ManagedDefinition
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError
from ansible_collections.ipsec.libreswan.plugins.module_utils._fingerprint import settings_differences
from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import connection_entries, is_routed, summarise
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import output_lines

__all__ = ["STATES", "AddFailedError", "ConnectionRequest", "Step", "ensure_connection", "load_conn"]

STATES = ("present", "up", "down", "routed", "ondemand", "absent")

# Words in pluto's messages that explain why a negotiation failed.
_REASON_RE = re.compile(
    r"reject|fail|error|unacceptable|NO_PROPOSAL|AUTHENTICATION|INVALID|No response|no acceptable|"
    r"cannot|timeout|timed out|not |unable|refus|errno",
    re.IGNORECASE,
)


class ConnectionRequest(object):
    """The module parameters that decide what happens to one connection."""

    def __init__(self, name, state="present", force=False, wait=True, timeout=60, unroute=False,
                 definition=None, definition_path=None, backup=False):
        self.name = name
        self.definition = definition
        self.definition_path = definition_path
        self.backup = backup
        self.state = "routed" if state == "ondemand" else state
        self.requested_state = state
        self.force = force
        self.wait = wait
        self.timeout = timeout
        self.unroute = unroute


class AddFailedError(LibreswanError):
    """pluto rejected a definition at add time."""


class Step(object):
    """One command of a plan; ``verify`` names the check that follows it."""

    def __init__(self, action, target, argv, reason):
        self.action = action
        self.target = target
        self.argv = argv
        self.reason = reason

    def to_dict(self):
        return {"action": self.action, "connection": self.target, "cmd": self.argv, "reason": self.reason}


def load_conn(client, name):
    """Parse the configuration and return (config, conn) or raise a LibreswanError."""
    config = parse_config(client.config, version=client.version or "4")
    config.ignored_problems = config.raise_for_errors_affecting([name])
    conn = config.conns.get(name)
    if conn is None:
        close = config.close_names(name)
        raise LibreswanError(
            "Connection %r is not defined in %s or the files it includes" % (name, client.config),
            hint=("Did you mean: %s?" % ", ".join(close)) if close else
            "Add a 'conn %s' section, or set config to the file that defines it" % name,
            config_files=list(config.files),
        )
    return config, conn


def _definition_differences(request, conn, status, records):
    live = connection_entries(status, request.name)
    differences = compare_definition(request.name, conn, live)
    if records is not None:
        serials = dict((child, entry.get("conn_serial")) for child, entry in live.items())
        recorded = records.lookup(request.name, serials)
        if recorded is not None:
            differences.extend(settings_differences(request.name, recorded, comparable_settings(conn)))
    return differences


def plan(client, request, before, conn, differences, file_changed=False, listen=False):
    """Return the list of Steps that takes the connection from ``before`` to the requested state.

    ``listen`` puts ``whack --listen`` first, so pluto notices an address it missed and orients
    the connection before it is routed or initiated.
    """
    name = request.name
    steps = []
    children = sorted(before["children"])
    if listen:
        steps.append(Step("listen", name, client.argv_listen(),
                          "unoriented, and one of its ends is an address of this host that pluto has not noticed"))

    if request.state == "absent":
        for child in children:
            steps.append(Step("delete", child, client.argv_delete(child), "loaded; deleting also removes its routes and SAs"))
        return steps

    replaced = False
    if not before["loaded"]:
        steps.append(Step("add", name, client.argv_add(name), "not loaded"))
        replaced = True
    elif request.force or differences or file_changed:
        if differences or file_changed:
            reason = "loaded definition differs from the config"
        else:
            reason = "force is set"
        for child in children:
            steps.append(Step("delete", child, client.argv_delete(child), reason + "; live SAs are dropped"))
        steps.append(Step("add", name, client.argv_add(name), reason))
        replaced = True

    wanted = expected_children(name, conn) if replaced else children
    if replaced:
        fresh = dict((child, {"routing": "unrouted", "child_established": False, "own_sas": []}) for child in wanted)
    else:
        fresh = before["children"]

    restore_route = replaced and before["routed"]
    restore_up = replaced and before["up"]

    if request.state in ("present", "routed", "down"):
        route = request.state == "routed" or (restore_route and not (request.state == "down" and request.unroute))
        if route:
            for child in wanted:
                if not is_routed(fresh[child]["routing"], fresh[child].get("routing_raw")):
                    steps.append(Step("route", child, client.argv_route(child),
                                      "restoring the route it had before the replace" if request.state != "routed" else "not routed"))
        if restore_up and request.state != "down":
            for child in wanted:
                steps.append(Step("initiate", child, client.argv_initiate(child, request.wait),
                                  "restoring the tunnel it had before the replace"))

    if request.state == "up":
        for child in wanted:
            if not fresh[child]["child_established"]:
                steps.append(Step("initiate", child, client.argv_initiate(child, request.wait), "not established"))

    if request.state == "down":
        # pluto keeps an IKE SA while a sibling child still uses it ("IKE SA is shared - only
        # terminating IPsec SA"), so the children that own IKE SAs are terminated last.
        owners_last = sorted(wanted, key=lambda child: bool(fresh[child].get("ike_sas")))
        for child in owners_last:
            if fresh[child]["own_sas"]:
                steps.append(Step("terminate", child, client.argv_terminate(child), "has SAs"))
        if request.unroute:
            for child in wanted:
                if is_routed(fresh[child]["routing"], fresh[child].get("routing_raw")):
                    steps.append(Step("unroute", child, client.argv_unroute(child), "unroute is set"))
    return steps


def _reason(lines):
    reasons = [line for line in lines if _REASON_RE.search(line)]
    return reasons[-3:] if reasons else lines[-3:]


def _run_step(client, step, request):
    timeout = request.timeout if step.action == "initiate" and request.wait else None
    rc, out, err = client.run(step.argv, timeout=timeout)
    lines = output_lines(out, err)
    if rc == 124 and timeout:
        # pluto goes on negotiating (5.2 retries a rejected Child SA for a long time), so the
        # outcome is decided from its state like any other initiate. This line records why whack ended.
        lines.append("whack --initiate for %s timed out after %ss" % (step.target, timeout))
    # Exit codes of whack are not reliable: an --initiate whose Child SA is rejected exits 0.
    # So only add, route, unroute and delete failures are decided here, and pluto's state
    # decides the rest once every step has run.
    if rc != 0 and step.action in ("add", "route", "unroute", "delete"):
        error_type = AddFailedError if step.action == "add" else LibreswanError
        raise error_type(
            "'%s' of connection %r failed (rc=%s): %s" % (step.action, step.target, rc, "; ".join(_reason(lines)) or "no output"),
            hint="See pluto_output; the status before this command is in 'before'",
            cmd=step.argv, rc=rc, pluto_output=lines,
        )
    return lines


def _verify(request, after, outputs):
    name = request.name
    failures = []
    if request.state == "absent":
        if after["loaded"]:
            failures.append("connection %r is still loaded" % name)
    elif not after["loaded"]:
        lines = [line for step_lines in outputs for line in step_lines]
        raise AddFailedError(
            "Connection %r is not loaded after adding it: pluto rejected the definition. pluto said: %s"
            % (name, " | ".join(_reason(lines)) or "nothing"),
            hint="Fix the definition; pluto's messages are in 'pluto_output'", pluto_output=lines)
    else:
        if not after["oriented"]:
            failures.append("pluto cannot tell which end of %r is this host (unoriented): neither left= nor right= is "
                            "an address of this host" % name)
        if request.state == "routed" and not after["routed"]:
            failures.append("connection %r is not routed" % name)
        if request.state == "up" and request.wait:
            down = sorted(child for child, info in after["children"].items() if not info["child_established"])
            for child in down:
                info = after["children"][child]
                failures.append("%r has no established Child SA%s" % (
                    child, " (its IKE SA is established, so the Child SA was rejected; a peer that cannot install "
                    "the SA, for example on a kernel without ESP, also answers TS_UNACCEPTABLE, and its pluto log "
                    "has the reason)" if info["ike_established"] else ""))
        if request.state == "down":
            up = sorted(child for child, info in after["children"].items() if info["own_sas"])
            if up:
                failures.append("%s still %s SAs of its own" % (", ".join(up), "has" if len(up) == 1 else "have"))
            if request.unroute and after["routed"]:
                failures.append("connection %r is still routed" % name)
    if failures:
        lines = [line for step_lines in outputs for line in step_lines]
        reasons = _reason(lines)
        raise LibreswanError(
            "Connection %r did not reach state %s: %s%s" % (
                name, request.requested_state, "; ".join(failures),
                (". pluto said: " + " | ".join(reasons)) if reasons else ""),
            hint="The connection's state is in 'after' and pluto's messages in 'pluto_output'",
            pluto_output=lines, after=after,
        )


def ensure_connection(client, request, check_mode=False, records=None, files=None):
    """Gather, plan and (unless ``check_mode``) apply; return the result dict for the module.

    ``files`` writes and removes the managed definition file; it needs ``write(path, text,
    backup)`` returning the backup path or None, and ``remove(path)``.
    """
    status = client.status()
    before = summarise(status, request.name)

    managed = None
    if request.definition is not None or request.state == "absent":
        # With state=absent a definition only names the file to remove; it is never written.
        definition = request.definition if request.state != "absent" else None
        managed = ManagedDefinition(request.name, definition, request.definition_path)

    conn = None
    differences = []
    config_warnings = []
    if request.state != "absent":
        if request.definition is not None:
            config = managed.validate(client)
            conn = config.conns[request.name]
            if managed.changed:
                managed.check_with_addconn(client)
        else:
            config, conn = load_conn(client, request.name)
        config_warnings = ["Libreswan will not load another connection: %s" % problem
                           for problem in config.ignored_problems]
        if before["loaded"]:
            differences = _definition_differences(request, conn, status, records)

    file_changed = bool(managed and managed.changed)
    remove_file = bool(request.state == "absent" and managed and managed.removable)
    listen = _needs_listen(client, request, before, conn)
    steps = plan(client, request, before, conn, differences, file_changed=file_changed, listen=listen)
    result = {
        "changed": bool(steps) or file_changed or remove_file,
        "commands": [step.argv for step in steps],
        "plan": [step.to_dict() for step in steps],
        "before": before,
        "differences": differences,
        "version": client.version,
        "warnings": list(status.get("warnings", [])) + config_warnings,
    }
    if managed is not None and (file_changed or remove_file or request.definition is not None):
        if remove_file:
            after_text = ""
        elif managed.text is not None:
            after_text = managed.text
        else:
            after_text = managed.old_text or ""
        result["file"] = {"path": managed.path, "before": managed.old_text or "", "after": after_text}
    if request.state == "down" and not request.unroute and before["routed"]:
        result["warnings"].append(
            "Connection %r stays routed: traffic that matches it, or the peer, can bring it up again. "
            "Set unroute: true to remove the route as well." % request.name)

    if check_mode or not result["changed"]:
        result["after"] = _predict_after(before, request) if steps else before
        if not check_mode and records is not None and conn is not None and before["loaded"]:
            # Adopt a connection loaded by something else once its status matched the
            # config, so later runs also notice changes the status does not show.
            serials = _serials(status, request.name)
            if records.lookup(request.name, serials) is None:
                records.remember(request.name, comparable_settings(conn), serials)
                records.save()
        return result

    if file_changed:
        backup = files.write(managed.path, managed.text, request.backup)
        if backup:
            result["backup_file"] = backup
    outputs = []
    try:
        for step in steps:
            outputs.append(_run_step(client, step, request))
            if step.action == "add":
                if records is not None:
                    records.forget(request.name)
                # addconn exits 0 for some definitions pluto refuses (a bad subnet, for one).
                _check_added(client, request.name, outputs)
        _finish(client, request, conn, steps, outputs, records, result)
    except AddFailedError as error:
        if file_changed:
            _roll_back(client, request, before, managed, files, records, error)
        _annotate(error, client, before)
        raise
    except LibreswanError as error:
        _annotate(error, client, before)
        raise
    if remove_file:
        files.remove(managed.path)
    return result


def _check_added(client, name, outputs):
    """Raise AddFailedError unless ``name`` is loaded; the caller then rolls back."""
    if summarise(client.status(), name)["loaded"]:
        return
    lines = [line for step_lines in outputs for line in step_lines]
    raise AddFailedError(
        "Connection %r is not loaded after adding it: pluto rejected the definition. pluto said: %s"
        % (name, " | ".join(_reason(lines)) or "nothing (its log has the reason)"),
        hint="Fix the definition; pluto's messages are in 'pluto_output'", pluto_output=lines)


def _needs_listen(client, request, before, conn):
    """Decide what an unoriented connection needs before it can be routed or initiated.

    Return True when one end is an address of this host that pluto missed, because
    ``whack --listen`` fixes that. Raise when neither end is, because no command can help then.
    """
    if request.state not in ("up", "routed") or conn is None:
        return False
    if before["loaded"] and before["oriented"]:
        return False
    left, right = conn.get("left"), conn.get("right")
    ends = [value for value in (left, right) if value and _is_address(value)]
    if len(ends) < 2:
        return False
    local = client.local_addresses()
    if local is None:
        return False
    local_set = set(_normal_address(address) for address in local)
    if any(_normal_address(end) in local_set for end in ends):
        return before["loaded"]
    raise LibreswanError(
        "Connection %r is unoriented: neither left=%s nor right=%s is an address of this host (its addresses: %s)"
        % (request.name, left, right, ", ".join(local) or "none"),
        hint="Correct left= or right=, or add the address to an interface; pluto then needs "
        "'ipsec whack --listen', which this module runs when it finds the address",
    )


def _is_address(value):
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def _normal_address(value):
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value


def _annotate(error, client, before):
    # Commands already ran, so the failed task still reports what changed.
    error.details.setdefault("changed", True)
    error.details.setdefault("commands", [entry["cmd"] for entry in client.history])
    error.details.setdefault("before", before)


def _roll_back(client, request, before, managed, files, records, error):
    """Restore the previous file and, when it was loaded, the previous definition and its state."""
    if managed.old_text is None:
        files.remove(managed.path)
    else:
        files.write(managed.path, managed.old_text, False)
    restored = ["restored the previous %s" % managed.path if managed.old_text is not None else "removed %s" % managed.path]
    if before["loaded"]:
        for child in sorted(summarise(client.status(), request.name)["children"]):
            client.run(client.argv_delete(child))
        rc, out, err = client.run(client.argv_add(request.name))
        restored.append("re-added the previous definition" if rc == 0 else
                        "re-adding the previous definition failed: %s" % " | ".join(output_lines(out, err)))
        children = sorted(summarise(client.status(), request.name)["children"])
        if before["routed"]:
            for child in children:
                client.run(client.argv_route(child))
        if before["up"]:
            for child in children:
                client.run(client.argv_initiate(child, True), timeout=request.timeout)
            restored.append("re-initiated it")
        if records is not None:
            records.forget(request.name)
            records.save()
    error.message = "%s. Rolled back: %s" % (error.message.rstrip("."), ", ".join(restored))
    error.details["rolled_back"] = True


def _finish(client, request, conn, steps, outputs, records, result):
    """Read pluto's state after the commands, update the definition records and verify."""
    status = client.status()
    after = summarise(status, request.name)
    result["after"] = after
    result["output"] = outputs
    if records is not None:
        if request.state == "absent":
            records.forget(request.name)
        elif any(step.action == "add" for step in steps) or records.lookup(request.name, _serials(status, request.name)) is None:
            records.remember(request.name, comparable_settings(conn), _serials(status, request.name))
        records.save()
    _verify(request, after, outputs)


def _serials(status, name):
    return dict((child, entry.get("conn_serial")) for child, entry in connection_entries(status, name).items())


def _predict_after(before, request):
    """Return the summary a successful run would produce, for check and diff mode."""
    after = dict(before)
    if request.state == "absent":
        after.update(loaded=False, children={}, routed=False, up=False, has_sas=False)
        return after
    after["loaded"] = True
    if request.state == "routed":
        after["routed"] = True
    if request.state == "up":
        after.update(routed=True, up=True, ike_established=True, has_sas=True)
    if request.state == "down":
        after.update(up=False, has_sas=False)
        if request.unroute:
            after["routed"] = False
    after["children"] = {}
    return after
