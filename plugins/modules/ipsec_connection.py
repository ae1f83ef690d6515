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
  - ipsec.libreswan developers (!UNKNOWN)
extends_documentation_fragment:
  - ipsec.libreswan.libreswan
  - ansible.builtin.action_common_attributes
  - ipsec.libreswan.libreswan.attributes
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
  platform:
    support: full
    platforms: posix
options:
  name:
    description:
      - Name of the connection, as in the C(conn NAME) section of the configuration.
      - A connection split by C(leftsubnets=) or C(rightsubnets=) is addressed by this base name
        and every child (C(NAME/1x0), ...) is handled.
      - "Letters, digits and C(. _ - @ + : ~ %) only. Names with blanks, quotes, C(#), C(=), braces,
        brackets, shell characters or a leading C(-) are rejected before anything runs."
    type: str
    required: true
  state:
    description:
      - The state to bring the connection to; see the description above for what each one
        guarantees.
      - C(rendered) only renders I(definition) and returns the text in C(rendered) and the commands a
        real run would make on a host where the connection is not loaded yet; it touches nothing
        and needs no pluto.
    type: str
    choices: [present, up, down, routed, ondemand, absent, rendered]
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
      - C(false) is C(ipsec auto --asynchronous --up). The negotiation is started and the task
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
  definition:
    description:
      - The connection's keywords, as a dict. When given, the module renders C(conn NAME) with
        them to its own file, I(definition_path), and loads that definition.
      - Values are strings, numbers, booleans (written C(yes)/C(no)) or lists (C(leftsubnets) and
        C(rightsubnets) are written as C({a b}), other lists comma-separated). A value of C(null)
        leaves the keyword out. Values with blanks or C(#) are double-quoted; a value with a double
        quote or a line break is rejected, because ipsec.conf has no way to write it.
      - Before the file is replaced, the whole configuration as it would be is checked by the
        collection's parser and by C(ipsec addconn --checkconfig) on a copy. An invalid definition
        fails with the keyword and the reason, and the old file stays as it was.
      - When the file changes and the connection is loaded, it is replaced. If pluto rejects the
        new definition at add time, the previous file is restored, the previous definition is
        added again (routed and initiated again when it was), and the task fails with pluto's
        reason.
    type: dict
  definition_path:
    description:
      - The file that holds the rendered definition. It must be read by I(config) through an
        C(include) line. Written through a temporary file and a rename, keeping the owner, mode and
        SELinux context of the file it replaces.
      - With I(state=absent), this file is removed when it exists and starts with the header this
        module writes; a file the module did not write is never removed.
      - Defaults to C(/etc/ipsec.d/NAME.conf).
    type: path
  backup:
    description:
      - Keep a timestamped copy of the previous definition file when it is replaced.
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

- name: Define a subnet-to-subnet connection in /etc/ipsec.d/branch.conf and bring it up
  ipsec.libreswan.ipsec_connection:
    name: branch
    state: up
    backup: true
    definition:
      left: 198.51.100.1
      leftid: "@hq"
      leftsubnets: [203.0.113.0/28, 203.0.113.16/28]
      right: 198.51.100.2
      rightid: "@branch"
      rightsubnet: 203.0.113.128/28
      authby: secret
      ikev2: insist

- name: Show the text a definition renders to, without a host
  ipsec.libreswan.ipsec_connection:
    name: branch
    state: rendered
    definition:
      left: 198.51.100.1
      right: 198.51.100.2
      authby: secret
  delegate_to: localhost
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
libreswan_commands:
  description: How many Libreswan commands ran, read-only ones (C(whack --status)) included.
  returned: unless I(state=rendered)
  type: int
rendered:
  description: The text of the definition file.
  returned: when I(state=rendered)
  type: str
backup_file:
  description: Path of the copy of the previous definition file.
  returned: when I(backup=true) and the file was replaced
  type: str
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
from ansible_collections.ipsec.libreswan.plugins.module_utils._render import render_conn
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError
from ansible_collections.ipsec.libreswan.plugins.module_utils._files import ModuleFiles
from ansible_collections.ipsec.libreswan.plugins.module_utils._fingerprint import DefinitionRecords
from ansible_collections.ipsec.libreswan.plugins.module_utils._lock import PlutoLock
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient, ModuleRunner


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=list(STATES) + ["rendered"]),
        config=dict(type="path", default="/etc/ipsec.conf"),
        ctlsocket=dict(type="path", default="/run/pluto/pluto.ctl"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=60),
        unroute=dict(type="bool", default=False),
        verbose=dict(type="bool", default=False),
        definition=dict(type="dict"),
        definition_path=dict(type="path"),
        backup=dict(type="bool", default=False),
    )


def _diff(result):
    diffs = [{
        "before_header": "run-time state",
        "after_header": "run-time state",
        "before": {"state": result["before"]},
        "after": {"state": result["after"], "definition_differences": result["differences"]},
    }]
    if "file" in result:
        diffs.append({
            "before_header": result["file"]["path"],
            "after_header": result["file"]["path"],
            "before": result["file"]["before"],
            "after": result["file"]["after"],
        })
    return diffs


def render(module):
    params = module.params
    if not params["definition"]:
        module.fail_json(msg="state=rendered needs definition: give the connection's keywords")
    text = render_conn(params["name"], params["definition"])
    add = ["ipsec", "addconn", "--ctlsocket", params["ctlsocket"], "--config", params["config"], params["name"]]
    return {"changed": False, "rendered": text, "commands": [add]}


def run(module):
    params = module.params
    for warning in validate_connection_name(params["name"], allow_child=False):
        module.warn(warning)
    if params["timeout"] <= 0:
        module.fail_json(msg="Invalid timeout %r: give a number of seconds greater than 0" % params["timeout"])

    if params["state"] == "rendered":
        return render(module)

    runner = ModuleRunner(module)
    client = LibreswanClient(runner, ipsec=runner.find("ipsec"), ctlsocket=params["ctlsocket"], config=params["config"])
    request = ConnectionRequest(
        params["name"], state=params["state"], force=params["force"], wait=params["wait"],
        timeout=params["timeout"], unroute=params["unroute"], definition=params["definition"],
        definition_path=params["definition_path"], backup=params["backup"],
    )
    with PlutoLock(params["ctlsocket"]):
        records = DefinitionRecords(params["ctlsocket"])
        result = ensure_connection(client, request, check_mode=module.check_mode, records=records,
                                   files=ModuleFiles(module))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    result["libreswan_commands"] = client.command_count
    outputs = result.pop("output", None)
    if params["verbose"] and outputs:
        result["output"] = outputs
    if module._diff:
        result["diff"] = _diff(result)
    result.pop("file", None)
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
