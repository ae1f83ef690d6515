#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ipsec_connection
short_description: Bring a Libreswan connection to a state by comparing it with pluto's live state
version_added: 0.1.0
description:
  - Reads pluto's live state (C(ipsec whack --status)) and the connection's definition in the
    configuration, and runs only the Libreswan operations that close the gap. A run that finds
    nothing to do runs no command that changes pluto and never negotiates a new SA.
  - "States, what each guarantees and what it runs when needed:"
  - "C(absent): the connection is not loaded. Runs C(whack --delete) for the connection (every child
    of a split connection), which also removes its routes and SAs. Nothing when it is not loaded."
  - "C(present): the connection is loaded with the definition the configuration has now. Runs
    C(addconn) when it is not loaded. When the loaded definition differs from the configuration, or
    I(force=true), it is replaced (C(whack --delete) then C(addconn)); its route and, when it was
    established, its tunnel are then restored. Routing and SAs are otherwise left alone."
  - "C(routed) and C(ondemand) (the same end state; both names come from ipsec_auto(8)): present
    and routed, so the kernel holds a trap policy and the first matching packet brings the tunnel
    up. Runs C(whack --route) for each child that is not routed. An established connection already
    counts as routed."
  - "C(up): present and established, with an IKE SA and a Child SA for every child of a split
    connection. Runs C(whack --initiate) only for children without an established Child SA, so a
    live tunnel is never renegotiated. Success is read from pluto's state, not from whack's exit
    code: a rejected Child SA fails the task with pluto's reason."
  - "C(down): present with no SA of its own. Runs C(whack --terminate) for each child that has
    SAs. The route stays as C(ipsec auto --down) leaves it, so no packet leaves in clear, unless
    I(unroute=true), which also runs C(whack --unroute). An IKE SA that also carries another
    connection's Child SA stays. The peer keeps its half until it notices, through liveness checks
    or its own lifetimes."
  - "How changes are detected: the module compares what the status shows (both ends, subnets and
    split children, IDs, authentication, IKE and IPsec lifetimes, rekey margin, keying tries,
    tunnel or transport, PFS) with the configuration, and a field is compared only when both
    sides are known exactly. For connections it added itself (or adopted once they matched), it
    also records the effective keywords with pluto's connection serials in pluto's run directory,
    which catches every other keyword, such as C(ike=) and C(esp=) proposals."
  - "ipsec_auto(8) operations and what replaces them: C(--add) is I(state=present);
    C(--replace) is I(state=present) on a changed definition, or with I(force=true);
    C(--delete) is I(state=absent); C(--route) and C(--ondemand) are I(state=routed) or
    I(state=ondemand); C(--unroute) is I(state=down) with I(unroute=true); C(--up) and
    C(--start) are I(state=up) (from a loaded or from an unloaded connection);
    C(--down) is I(state=down); C(--asynchronous) is I(wait=false); C(--showonly) is check mode;
    C(--config) is I(config); C(--ctlsocket) is I(ctlsocket); C(--verbose) is I(verbose)."
author:
  - ipsec.libreswan developers
extends_documentation_fragment:
  - ipsec.libreswan.libreswan
attributes:
  check_mode:
    support: full
    details:
      - Runs only read-only commands, fails on the same errors a real run would hit (pluto not
        running, connection not in the configuration, invalid configuration) and returns in
        C(commands) the commands a real run would execute.
  diff_mode:
    support: full
    details:
      - Shows the connection's run-time state before and after, and the definition fields that
        differ between pluto and the configuration.
  idempotent:
    support: full
    details:
      - A second run with the same parameters and an unchanged configuration reports no change and
        negotiates nothing, unless the tunnel went down in between (for I(state=up)) or came back
        (for I(state=down)), which it then repairs.
options:
  name:
    description:
      - Name of the connection, as in the C(conn NAME) section of the configuration.
      - A connection split by C(leftsubnets=) or C(rightsubnets=) is addressed by this base name
        and every child (C(NAME/1x0), ...) is handled.
      - Letters, digits and C(. _ - @ + : ~ %) only; names with blanks, quotes, C(#), C(=), braces,
        brackets, shell characters or a leading C(-) are rejected before anything runs.
    type: str
    required: true
  state:
    description:
      - The state to bring the connection to; see the description above for what each one
        guarantees.
    type: str
    choices: [present, up, down, routed, ondemand, absent]
    default: present
  force:
    description:
      - Replace the connection (delete it and add it again from the configuration) even when its
        loaded definition matches. Drops its SAs. Ignored for I(state=absent).
    type: bool
    default: false
  wait:
    description:
      - For I(state=up), wait until pluto reports the outcome of the negotiation and fail unless
        every child has an established Child SA.
      - C(false) is C(ipsec auto --asynchronous --up): the negotiation is started and the task
        returns at once, reporting a change.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for one C(whack --initiate) when I(wait=true). The task fails when the
        negotiation has not finished by then; pluto keeps trying as its C(keyingtries=) says.
    type: int
    default: 60
  unroute:
    description:
      - With I(state=down), also remove the connection's route (trap policy), as
        C(ipsec auto --down) followed by C(ipsec auto --unroute).
    type: bool
    default: false
  verbose:
    description:
      - Return pluto's messages for every command that ran in C(output).
    type: bool
    default: false
notes:
  - Adding a connection that is already loaded replaces it and drops its SAs (Libreswan's
    C(addconn) deletes a loaded connection of the same name first), so the module adds only
    when the connection is not loaded or its definition changed.
  - Pluto's exit codes are not trusted where they are known to be wrong (C(whack --initiate)
    exits 0 when the Child SA is rejected); the outcome is read from C(whack --status).
seealso:
  - name: ipsec_auto(8)
    description: The Libreswan command whose operations this module replaces.
    link: https://libreswan.org/man/ipsec_auto.8.html
"""

EXAMPLES = r"""
- name: Load the connection from /etc/ipsec.conf and bring it up
  ipsec.libreswan.ipsec_connection:
    name: west-east
    state: up

- name: Install the trap policy so that the first packet brings the tunnel up
  ipsec.libreswan.ipsec_connection:
    name: west-east
    state: routed

- name: Take the tunnel down and remove its route as well
  ipsec.libreswan.ipsec_connection:
    name: west-east
    state: down
    unroute: true

- name: Start the negotiation without waiting for it
  ipsec.libreswan.ipsec_connection:
    name: west-east
    state: up
    wait: false

- name: Unload the connection
  ipsec.libreswan.ipsec_connection:
    name: west-east
    state: absent
"""

RETURN = r"""
changed:
  description: Whether any command that changes pluto ran (or would run, in check mode).
  returned: always
  type: bool
commands:
  description:
    - The commands that changed pluto, in order, as argv lists. In check mode, the commands a real
      run would execute. Read-only commands (C(whack --status)) are not listed.
  returned: always
  type: list
  elements: list
  sample: [["ipsec", "addconn", "--ctlsocket", "/run/pluto/pluto.ctl", "--config", "/etc/ipsec.conf", "west-east"]]
plan:
  description: The same commands with the action, the connection they act on and the reason.
  returned: always
  type: list
  elements: dict
before:
  description:
    - The connection's run-time state before the task. C(loaded), C(routed), C(up) (every child has
      an established Child SA), C(ike_established), C(has_sas), C(oriented), C(instances), and per
      child in C(children) the normalised C(routing), the raw C(routing_raw) word, newest IKE and
      IPsec SA serials and the serials of its states.
  returned: always
  type: dict
after:
  description: The same structure after the task; predicted in check mode.
  returned: always
  type: dict
differences:
  description:
    - The definition fields that differ between pluto and the configuration, each with
      C(connection), C(field), C(config) and C(loaded) values. Empty when they match.
  returned: always
  type: list
  elements: dict
version:
  description: The Libreswan version pluto reports.
  returned: when pluto reports it
  type: str
  sample: "4.10"
output:
  description: pluto's messages for each command that ran, without 4.x's numeric prefixes.
  returned: when I(verbose=true) and a command ran
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ipsec.libreswan.plugins.module_utils._connection import (
    STATES,
    ConnectionRequest,
    ensure_connection,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError
from ansible_collections.ipsec.libreswan.plugins.module_utils._fingerprint import DefinitionRecords
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient, ModuleRunner


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=list(STATES)),
        config=dict(type="path", default="/etc/ipsec.conf"),
        ctlsocket=dict(type="path", default="/run/pluto/pluto.ctl"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=60),
        unroute=dict(type="bool", default=False),
        verbose=dict(type="bool", default=False),
    )


def _diff(result):
    return {
        "before": {"state": result["before"]},
        "after": {"state": result["after"], "definition_differences": result["differences"]},
    }


def run(module):
    params = module.params
    for warning in validate_connection_name(params["name"], allow_child=False):
        module.warn(warning)
    if params["timeout"] <= 0:
        module.fail_json(msg="Invalid timeout %r: give a number of seconds greater than 0" % params["timeout"])

    runner = ModuleRunner(module)
    client = LibreswanClient(runner, ipsec=runner.find("ipsec"), ctlsocket=params["ctlsocket"], config=params["config"])
    records = DefinitionRecords(params["ctlsocket"])
    request = ConnectionRequest(
        params["name"], state=params["state"], force=params["force"], wait=params["wait"],
        timeout=params["timeout"], unroute=params["unroute"],
    )
    result = ensure_connection(client, request, check_mode=module.check_mode, records=records)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    outputs = result.pop("output", None)
    if params["verbose"] and outputs:
        result["output"] = outputs
    if module._diff:
        result["diff"] = _diff(result)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = run(module)
    except LibreswanError as error:
        module.fail_json(**error.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
