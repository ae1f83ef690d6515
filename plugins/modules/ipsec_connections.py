#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ipsec_connections
short_description: Bring many Libreswan connections to their states in one task
version_added: 0.1.0
description:
  - The many-connection form of M(ipsec.libreswan.ipsec_connection), with the same states and
    the same per-connection options, for gateways with hundreds of connections.
  - One C(whack --status) and one parse of the configuration serve the whole list. The commands of
    all connections then run phase by phase. Every delete, one C(addconn) that names every
    connection to add, every route, every initiate (asynchronous), every terminate and unroute.
    When connections were initiated and I(wait=true), the status is read again until all are up or
    I(timeout) passes.
  - A no-op run reads the status once and runs nothing else.
  - A connection that fails (not in the configuration, rejected by pluto, Child SA rejected) is
    reported in C(connections) and C(failed_connections); the others still converge. The task fails
    when any connection failed.
author:
  - ipsec.libreswan developers (!UNKNOWN)
extends_documentation_fragment:
  - ipsec.libreswan.libreswan
  - ansible.builtin.action_common_attributes
  - ipsec.libreswan.libreswan.attributes
attributes:
  check_mode:
    support: full
    details:
      - Runs only read-only commands and returns the commands a real run would execute, per
        connection and in total.
  diff_mode:
    support: full
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
options:
  connections:
    description:
      - The connections, each with the options of M(ipsec.libreswan.ipsec_connection) that apply
        to one connection.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the connection.
        type: str
        required: true
      state:
        description: Requested state, as for M(ipsec.libreswan.ipsec_connection).
        type: str
        choices: [present, up, down, routed, ondemand, absent]
        default: present
      force:
        description: Replace the connection even when its loaded definition matches.
        type: bool
        default: false
      unroute:
        description: With I(state=down), also remove the route.
        type: bool
        default: false
      definition:
        description: The connection's keywords, rendered to I(definition_path).
        type: dict
      definition_path:
        description: The file for the rendered definition; defaults to C(/etc/ipsec.d/NAME.conf).
        type: path
      backup:
        description: Keep a copy of the previous definition file when it is replaced.
        type: bool
        default: false
  purge:
    description:
      - Also bring to C(absent) every connection whose definition file in I(managed_dir) was written
        by this collection but that is not in I(connections), and remove that file.
    type: bool
    default: false
  managed_dir:
    description: Where I(purge) looks for definition files this collection wrote.
    type: path
    default: /etc/ipsec.d
  wait:
    description: Wait until every initiated connection has an established Child SA.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for all initiated connections together.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Converge every branch tunnel of the concentrator, removing the ones no longer listed
  ipsec.libreswan.ipsec_connections:
    purge: true
    connections:
      - name: branch-1
        state: routed
        definition:
          left: 198.51.100.1
          right: 198.51.100.11
          authby: secret
      - name: branch-2
        state: routed
        definition:
          left: 198.51.100.1
          right: 198.51.100.12
          authby: secret
"""

RETURN = r"""
changed:
  description: Whether any connection changed.
  returned: always
  type: bool
connections:
  description:
    - One result per connection with C(name), C(state), C(changed), C(commands), C(differences),
      C(before) and C(after) as in M(ipsec.libreswan.ipsec_connection), and C(failed) and C(msg)
      when it failed. Purged connections are included with state C(absent).
  returned: always
  type: list
  elements: dict
commands:
  description: Every command that changed pluto, or would in check mode, for all connections.
  returned: always
  type: list
  elements: list
failed_connections:
  description: Names of the connections that did not reach their state.
  returned: always
  type: list
  elements: str
libreswan_commands:
  description: How many Libreswan commands ran, read-only ones (C(whack --status)) included.
  returned: always
  type: int
summary:
  description: Counts of connections C(total), C(changed), C(unchanged) and C(failed).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ipsec.libreswan.plugins.module_utils._bulk import ensure_connections
from ansible_collections.ipsec.libreswan.plugins.module_utils._connection import ConnectionRequest
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError, ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._files import ModuleFiles
from ansible_collections.ipsec.libreswan.plugins.module_utils._fingerprint import DefinitionRecords
from ansible_collections.ipsec.libreswan.plugins.module_utils._lock import PlutoLock
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient, ModuleRunner


def argument_spec():
    connection = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "up", "down", "routed", "ondemand", "absent"]),
        force=dict(type="bool", default=False),
        unroute=dict(type="bool", default=False),
        definition=dict(type="dict"),
        definition_path=dict(type="path"),
        backup=dict(type="bool", default=False),
    )
    return dict(
        connections=dict(type="list", elements="dict", required=True, options=connection),
        purge=dict(type="bool", default=False),
        managed_dir=dict(type="path", default="/etc/ipsec.d"),
        config=dict(type="path", default="/etc/ipsec.conf"),
        ctlsocket=dict(type="path", default="/run/pluto/pluto.ctl"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=60),
    )


def requests_from(module):
    requests = []
    seen = set()
    for entry in module.params["connections"]:
        for warning in validate_connection_name(entry["name"], allow_child=False):
            module.warn(warning)
        if entry["name"] in seen:
            raise ValidationError("Connection %r is listed twice in connections" % entry["name"],
                                  hint="List each connection once")
        seen.add(entry["name"])
        requests.append(ConnectionRequest(
            entry["name"], state=entry["state"], force=entry["force"], unroute=entry["unroute"],
            definition=entry["definition"], definition_path=entry["definition_path"], backup=entry["backup"],
            timeout=module.params["timeout"], wait=module.params["wait"]))
    return requests


def run(module):
    params = module.params
    requests = requests_from(module)
    runner = ModuleRunner(module)
    client = LibreswanClient(runner, ipsec=runner.find("ipsec"), ctlsocket=params["ctlsocket"], config=params["config"])
    with PlutoLock(params["ctlsocket"]):
        result = ensure_connections(
            client, requests, check_mode=module.check_mode, records=DefinitionRecords(params["ctlsocket"]),
            files=ModuleFiles(module), purge_dir=params["managed_dir"] if params["purge"] else None,
            wait=params["wait"], timeout=params["timeout"])
    for warning in result.pop("warnings", []):
        module.warn(warning)
    result["libreswan_commands"] = client.command_count
    if module._diff:
        result["diff"] = {
            "before": dict((item["name"], item["before"]) for item in result["connections"]),
            "after": dict((item["name"], item["after"]) for item in result["connections"]),
        }
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = run(module)
    except LibreswanError as error:
        module.fail_json(**error.to_result())
    if result["failed_connections"]:
        module.fail_json(msg="%d of %d connections did not reach their state: %s" % (
            len(result["failed_connections"]), result["summary"]["total"],
            "; ".join("%s: %s" % (item["name"], item["msg"]) for item in result["connections"] if item.get("failed"))),
            **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
