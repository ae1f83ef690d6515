# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is private to the ipsec.libreswan collection; its API may change
# without notice.
"""Bring many connections to their states with a constant number of status reads.

One ``whack --status`` and one configuration parse serve every connection. The
per-connection plans come from ``_connection.plan``, and their commands then run
phase by phase. First every delete, then one ``addconn`` naming every connection
to add, then every route. Every initiate is asynchronous, followed by one status
read per poll until all are up or the timeout passes. Terminates and unroutes
come last. A connection that fails is reported on its own, and the others still
converge.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import time

from ansible_collections.ipsec.libreswan.plugins.module_utils._compare import comparable_settings
from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import parse_config
from ansible_collections.ipsec.libreswan.plugins.module_utils._connection import (
    AddFailedError,
    ConnectionRequest,
    _definition_differences,
    _predict_after,
    _reason,
    _serials,
    _verify,
    plan,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._definition import (
    ManagedDefinition,
    OverlayReader,
    check_with_addconn,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError
from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import summarise
from ansible_collections.ipsec.libreswan.plugins.module_utils._render import is_managed
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import output_lines

__all__ = ["ensure_connections", "managed_connection_files", "PHASES"]

# Order in which the actions of all plans run.
PHASES = ("delete", "add", "route", "initiate", "terminate", "unroute")
POLL_INTERVAL = 0.5


def managed_connection_files(directory):
    """Return {conn name: path} for the files in ``directory`` this collection wrote."""
    found = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.conf"))):
        try:
            with open(path) as handle:
                head = handle.read(4096)
        except (IOError, OSError):
            continue
        if not is_managed(head):
            continue
        for line in head.splitlines():
            if line.startswith("conn "):
                found[line[5:].strip()] = path
                break
    return found


class _Item(object):
    """One connection of the list: its request, gathered state, plan and outcome."""

    def __init__(self, request):
        self.request = request
        self.name = request.name
        self.before = None
        self.managed = None
        self.conn = None
        self.differences = []
        self.steps = []
        self.error = None
        self.outputs = []
        self.after = None
        self.remove_file = False

    @property
    def file_changed(self):
        return bool(self.managed is not None and self.managed.changed)

    def result(self):
        result = {
            "name": self.name,
            "state": self.request.requested_state,
            "changed": bool(self.steps) or self.file_changed or self.remove_file,
            "commands": [step.argv for step in self.steps],
            "differences": self.differences,
            "before": self.before,
            "after": self.after if self.after is not None else self.before,
        }
        if self.error is not None:
            result["failed"] = True
            result["msg"] = self.error.to_result()["msg"]
        return result


def _prepare(client, items, status, records, purge_dir):
    """Gather state, parse the configuration once and plan every item; return the Config."""
    for item in items:
        item.before = summarise(status, item.name)
        if item.request.definition is not None or item.request.state == "absent":
            path = item.request.definition_path
            if path is None and purge_dir and item.request.state == "absent":
                path = os.path.join(purge_dir, "%s.conf" % item.name)
            definition = item.request.definition if item.request.state != "absent" else None
            item.managed = ManagedDefinition(item.name, definition, path)
            item.remove_file = item.request.state == "absent" and item.managed.removable

    overlay = dict((item.managed.path, item.managed.text) for item in items if item.file_changed)
    config = parse_config(client.config, version=client.version or "4", reader=OverlayReader(overlay))
    config.ignored_problems = config.raise_for_errors_affecting([item.name for item in items if item.request.state != "absent"])

    for item in items:
        if item.request.state == "absent":
            item.steps = plan(client, item.request, item.before, None, [])
            continue
        try:
            if item.managed is not None:
                if item.request.definition is not None:
                    item.managed.check_replaceable(client.config)
                item.managed.check_in(config, client.config)
            item.conn = config.conns.get(item.name)
            if item.conn is None:
                close = config.close_names(item.name)
                raise LibreswanError("Connection %r is not defined in %s or the files it includes" % (item.name, client.config),
                                     hint=("Did you mean: %s?" % ", ".join(close)) if close else None)
            if item.before["loaded"]:
                item.differences = _definition_differences(item.request, item.conn, status, records)
            item.steps = plan(client, item.request, item.before, item.conn, item.differences, item.file_changed)
        except LibreswanError as error:
            item.error = error
    return config


def _batches(client, items):
    """Return ``[(phase, argv, [(item, step), ...])]`` in the order they run; all adds share one addconn."""
    batches = []
    for phase in PHASES:
        phase_items = [(item, step) for item in items if item.error is None for step in item.steps if step.action == phase]
        if not phase_items:
            continue
        if phase == "add":
            names = []
            for item, step in phase_items:
                if step.target not in names:
                    names.append(step.target)
            batches.append((phase, client.argv_add_many(names), phase_items))
            continue
        for item, step in phase_items:
            argv = client.argv_initiate(step.target, wait=False) if phase == "initiate" else step.argv
            batches.append((phase, argv, [(item, step)]))
    return batches


def _run_batches(client, batches):
    """Run the batches; return the initiated (item, child) pairs.

    After the adds, the status shows which connections pluto refused even though addconn
    exited 0; their later commands are skipped and ``_conclude`` rolls their files back.
    """
    initiated = []
    added_checked = False
    for phase, argv, members in batches:
        if phase != "add" and not added_checked and any(p == "add" for p, unused_argv, unused_members in batches):
            added_checked = True
            status = client.status()
            for batch_phase, unused_argv, batch_members in batches:
                if batch_phase != "add":
                    continue
                for item, step in batch_members:
                    if item.error is None and not summarise(status, item.name)["loaded"]:
                        item.error = AddFailedError(
                            "Connection %r is not loaded after adding it: pluto rejected the definition" % item.name,
                            hint="Fix the definition; pluto's messages are in the connection's result")
        members = [(item, step) for item, step in members if item.error is None]
        if not members:
            continue
        rc, out, err = client.run(argv)
        lines = output_lines(out, err)
        for item, step in members:
            item.outputs.append(lines)
            if phase == "initiate":
                initiated.append((item, step.target))
            if rc != 0 and phase in ("route", "unroute", "delete") and item.error is None:
                item.error = LibreswanError("'%s' of connection %r failed (rc=%s): %s" % (
                    phase, step.target, rc, "; ".join(_reason(lines)) or "no output"))
    return initiated


def _wait_for_tunnels(client, items, initiated, timeout):
    """Poll the status until every initiated child is up or ``timeout`` seconds passed; return the status."""
    deadline = time.time() + timeout
    while True:
        status = client.status()
        pending = [(item, child) for item, child in initiated
                   if not summarise(status, item.name)["children"].get(child, {}).get("child_established")]
        if not pending or time.time() >= deadline:
            return status
        time.sleep(POLL_INTERVAL)


def ensure_connections(client, requests, check_mode=False, records=None, files=None, purge_dir=None,
                       wait=True, timeout=60):
    """Bring every request to its state; return {"changed", "connections", "failed", "summary", ...}.

    ``purge_dir``, when set, adds an ``absent`` request for every connection whose managed
    file lies there but is not listed.
    """
    status = client.status()
    items = [_Item(request) for request in requests]
    if purge_dir:
        listed = set(request.name for request in requests)
        loaded_or_file = managed_connection_files(purge_dir)
        for name in sorted(loaded_or_file):
            if name not in listed:
                items.append(_Item(ConnectionRequest(name, "absent", definition_path=loaded_or_file[name])))
    for item in items:
        item.request.wait = wait

    config = _prepare(client, items, status, records, purge_dir)
    changed_files = [item.managed for item in items if item.error is None and item.file_changed]
    if changed_files:
        check_with_addconn(client, changed_files)

    batches = _batches(client, items)
    if not check_mode:
        for item in items:
            if item.error is None and item.file_changed:
                files.write(item.managed.path, item.managed.text, item.request.backup)
        initiated = _run_batches(client, batches)
        if initiated and wait:
            status = _wait_for_tunnels(client, items, initiated, timeout)
        elif any(item.steps for item in items):
            status = client.status()
        _conclude(client, items, status, records, files)
    else:
        for item in items:
            item.after = _predict_after(item.before, item.request) if item.steps else item.before

    results = [item.result() for item in items]
    failed = [result["name"] for result in results if result.get("failed")]
    return {
        "changed": any(result["changed"] for result in results),
        "connections": results,
        "commands": [argv for unused_phase, argv, unused_members in batches],
        "failed_connections": failed,
        "summary": {
            "total": len(results),
            "changed": sum(1 for result in results if result["changed"]),
            "failed": len(failed),
            "unchanged": sum(1 for result in results if not result["changed"] and not result.get("failed")),
        },
        "warnings": list(status.get("warnings", [])) + [
            "Libreswan will not load another connection: %s" % problem for problem in config.ignored_problems],
    }


def _conclude(client, items, status, records, files):
    """Verify each item against the status after the run, roll back rejected definitions, update records."""
    for item in items:
        item.after = summarise(status, item.name)
        if item.error is None:
            try:
                _verify(item.request, item.after, item.outputs)
            except LibreswanError as error:
                item.error = error
        if item.error is not None:
            if item.file_changed and any(step.action == "add" for step in item.steps) and not item.after["loaded"]:
                _restore_file(client, item, files)
            continue
        if item.remove_file:
            files.remove(item.managed.path)
        if records is None:
            continue
        if item.request.state == "absent":
            records.forget(item.name)
        elif item.conn is not None:
            serials = _serials(status, item.name)
            if any(step.action == "add" for step in item.steps) or records.lookup(item.name, serials) is None:
                records.remember(item.name, comparable_settings(item.conn), serials)
    if records is not None:
        records.save()


def _restore_file(client, item, files):
    """Put the previous file back and, when the connection was loaded, its previous definition."""
    if item.managed.old_text is None:
        files.remove(item.managed.path)
    else:
        files.write(item.managed.path, item.managed.old_text, False)
    restored = ["restored the previous %s" % item.managed.path]
    if item.before["loaded"]:
        client.run(client.argv_add(item.name))
        children = sorted(summarise(client.status(), item.name)["children"])
        if item.before["routed"]:
            for child in children:
                client.run(client.argv_route(child))
        restored.append("re-added the previous definition")
    item.error.message = "%s. Rolled back: %s" % (item.error.message.rstrip("."), ", ".join(restored))
