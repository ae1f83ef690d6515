#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ipsec_pluto
short_description: Run pluto-wide operations such as rereading secrets or certificates
version_added: 0.1.0
description:
  - Runs one of pluto's global operations with C(ipsec whack), the ones ipsec_auto(8) offers
    besides connection management.
  - "C(ready): C(whack --listen) (C(ipsec auto --ready)). pluto looks for new or removed interface
    addresses and listens on them; Libreswan 4.x also rereads the secrets."
  - "C(rereadsecrets): C(whack --rereadsecrets). pluto forgets its secrets and reads
    C(ipsec.secrets) and the files it includes again; new negotiations use the new secrets."
  - "C(rereadcerts): C(whack --rereadcerts) (Libreswan 4.0 and later). pluto reloads the
    certificate of every loaded connection from its NSS database, by nickname."
  - "C(rereadall): C(whack --rereadall). The secrets, and from 4.0 on the certificates; pluto
    also starts fetching CRLs as for C(fetchcrls). pluto 3.x and 4.x add a harmless notice that
    C(rereadcrls) is obsolete, which the module leaves out of its warnings."
  - "C(fetchcrls): C(whack --fetchcrls). pluto's CRL fetcher processes the pending fetch requests
    (see C(crl_fetch_requests) of M(ipsec.libreswan.ipsec_info)), downloading each CRL from its
    distribution point into the NSS database."
  - "C(purgeocsp): C(whack --purgeocsp). pluto empties NSS's cache of OCSP responses."
  - "Operations that Libreswan removed or that other modules provide fail before anything runs,
    with a message naming the replacement: C(rereadcrls) (use C(fetchcrls)), C(rereadcacerts) (use
    C(rereadcerts)), and the listings C(listcerts), C(listcacerts), C(listpubkeys), C(listcrls),
    C(checkpubkeys), C(listall) and C(status) (use M(ipsec.libreswan.ipsec_info))."
author:
  - ipsec.libreswan developers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ipsec.libreswan.libreswan.attributes
attributes:
  check_mode:
    support: full
    details:
      - Runs only C(whack --status), to fail as a real run would when pluto is not running, and
        returns in C(commands) the command a real run executes.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run executes the operation and reports a change (also in check mode), because pluto
        does not tell whether the operation changed anything.
  platform:
    support: full
    platforms: posix
options:
  command:
    description:
      - The operation to run; see the description above for what each one does.
    type: str
    required: true
    choices: [ready, rereadsecrets, rereadall, rereadcerts, fetchcrls, purgeocsp, rereadcrls, rereadcacerts,
              listcerts, listcacerts, listpubkeys, listcrls, checkpubkeys, listall, status]
  ctlsocket:
    description:
      - Path of pluto's control socket, as for C(ipsec whack --ctlsocket).
    type: path
    default: /run/pluto/pluto.ctl
notes:
  - pluto reports problems it meets during the operation (for example a malformed line in
    C(ipsec.secrets)) in its messages while C(whack) still exits 0. The module returns those lines
    as warnings and every message in C(output).
requirements:
  - Libreswan 3.25 or later with a running pluto on the managed host.
seealso:
  - module: ipsec.libreswan.ipsec_info
  - name: ipsec_auto(8)
    description: The Libreswan command whose global operations this module replaces.
    link: https://libreswan.org/man/ipsec_auto.8.html
"""

EXAMPLES = r"""
- name: Make pluto use the secrets just written to /etc/ipsec.secrets
  ipsec.libreswan.ipsec_pluto:
    command: rereadsecrets

- name: Listen on an address added to an interface
  ipsec.libreswan.ipsec_pluto:
    command: ready

- name: Reload the certificates of loaded connections after renewing them in the NSS database
  ipsec.libreswan.ipsec_pluto:
    command: rereadcerts
"""

RETURN = r"""
changed:
  description: Always true; see the idempotent attribute.
  returned: always
  type: bool
command:
  description: The operation, as given in I(command).
  returned: always
  type: str
  sample: rereadsecrets
commands:
  description: The command that ran (in check mode, the command a real run executes), as an argv list.
  returned: always
  type: list
  elements: list
  sample: [["/usr/sbin/ipsec", "whack", "--ctlsocket", "/run/pluto/pluto.ctl", "--rereadsecrets"]]
output:
  description: pluto's messages, without the numeric prefixes of Libreswan 4.x and older. Empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ['loading secrets from "/etc/ipsec.secrets"']
version:
  description: The Libreswan version of the running pluto.
  returned: when pluto reports it
  type: str
  sample: "4.10"
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import (
    CommandError,
    LibreswanError,
    ValidationError,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient, ModuleRunner, output_lines
from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import strip_line_code

# Operation: (LibreswanClient argv builder, lowest Libreswan version that has it).
# whack --rereadcerts appeared in Libreswan 4.0.
OPERATIONS = {
    "ready": ("argv_listen", (3,)),
    "rereadsecrets": ("argv_rereadsecrets", (3,)),
    "rereadall": ("argv_rereadall", (3,)),
    "rereadcerts": ("argv_rereadcerts", (4, 0)),
    "fetchcrls": ("argv_fetchcrls", (3,)),
    "purgeocsp": ("argv_purgeocsp", (3,)),
}

_USE_INFO = "use the ipsec.libreswan.ipsec_info module with gather_subset: [%s]"
REPLACED = {
    "rereadcrls": (
        "Libreswan made rereadcrls obsolete: 3.x and 4.x pluto only answer that it is obsolete, "
        "ipsec auto --rereadcrls exits 1 and whack 5.4 rejects it",
        "Use command=fetchcrls to fetch CRLs from their distribution points, or import a CRL into "
        "the NSS database with crlutil"),
    "rereadcacerts": (
        "Libreswan removed rereadcacerts before 3.x (whack rejects --rereadcacerts); CA certificates "
        "are read from the NSS database when they are needed",
        "Use command=rereadcerts to reload the certificates of loaded connections"),
    "listcerts": ("listcerts is a listing, not an operation", _USE_INFO % "certs"),
    "listcacerts": ("listcacerts is a listing, not an operation", _USE_INFO % "cacerts"),
    "listpubkeys": ("listpubkeys is a listing, not an operation", _USE_INFO % "pubkeys"),
    "listcrls": ("listcrls is a listing, not an operation", _USE_INFO % "crls"),
    "checkpubkeys": ("checkpubkeys is a listing, not an operation", _USE_INFO % "expiring"),
    "listall": ("listall is a listing, not an operation", _USE_INFO % "all"),
    "status": ("status is a listing, not an operation", _USE_INFO % "connections, sas"),
}

# Messages that report a problem although whack exits 0: 3.x/4.x mark them with code 003
# (RC_LOG_SERIOUS); 5.x has no codes, so the wording is matched.
_PROBLEM_RE = re.compile(r"\bline \d+: |error|warning|failed|malformed|cannot|not found|unrecognized|invalid",
                         re.IGNORECASE)
# Libreswan 3.x/4.x define --rereadall to include the obsolete rereadcrls bit, so every
# rereadall prints this notice.
_REREADALL_NOTICE = "rereadcrls command obsoleted"


def argument_spec():
    return dict(
        command=dict(type="str", required=True, choices=list(OPERATIONS) + list(REPLACED)),
        ctlsocket=dict(type="path", default="/run/pluto/pluto.ctl"),
    )


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text or ""))


def problem_lines(command, stdout, stderr):
    """Return the lines of pluto's messages that report a problem."""
    problems = []
    for raw in (stdout or "").splitlines() + (stderr or "").splitlines():
        code, text = strip_line_code(raw)
        text = text.strip()
        if not text or (command == "rereadall" and _REREADALL_NOTICE in text):
            continue
        if code == "003" or _PROBLEM_RE.search(text):
            problems.append(text)
    return problems


def run(module, client):
    command = module.params["command"]
    if command in REPLACED:
        message, hint = REPLACED[command]
        raise ValidationError("command=%s is not supported: %s" % (command, message), hint=hint)

    # Read-only: raises PlutoNotRunningError, and stores the running pluto's version in client.version.
    client.status()
    builder, minimum = OPERATIONS[command]
    version = client.version
    if version and version_tuple(version) < minimum:
        needed = ".".join(str(number) for number in minimum)
        raise ValidationError(
            "command=%s needs Libreswan %s or later; this pluto is %s" % (command, needed, version),
            hint="Libreswan 3.x reads a connection's certificate when the connection is added: "
            "replace the connection (ipsec.libreswan.ipsec_connection with force=true)",
        )
    argv = getattr(client, builder)()
    result = {"changed": True, "command": command, "commands": [argv], "output": []}
    if version:
        result["version"] = version
    if module.check_mode:
        return result

    rc, out, err = client.run(argv)
    if rc != 0:
        raise CommandError("%s failed (rc %d): %s" % (" ".join(argv[1:]), rc, " ".join(output_lines(out, err))),
                           argv, rc, out, err)
    for line in problem_lines(command, out, err):
        module.warn("pluto reported: %s" % line)
    result["output"] = output_lines(out, err)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        runner = ModuleRunner(module)
        client = LibreswanClient(runner, ipsec=runner.find("ipsec"), ctlsocket=module.params["ctlsocket"])
        result = run(module, client)
    except LibreswanError as error:
        module.fail_json(**error.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
