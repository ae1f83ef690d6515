#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ipsec_info
short_description: Read pluto's connections, SAs, certificates and keys
version_added: 0.1.0
description:
  - Reads the live state of a Libreswan pluto with read-only C(ipsec whack) commands and returns
    it as structured data. Never changes anything.
  - "Subsets read from C(whack --status) (gathered by default): C(connections), C(sas) (which also
    reads C(whack --trafficstatus)), C(shunts), C(totals), C(version) and C(listening)."
  - "Subsets gathered only on request: C(config) (parses the configuration file and compares it
    with what pluto loaded), C(certs) (C(whack --listcerts)), C(cacerts) (C(whack --listcacerts)),
    C(pubkeys) (C(whack --listpubkeys)), C(crls) (C(whack --listcrls)) and C(expiring)
    (C(whack --checkpubkeys))."
  - "ipsec_auto(8) operations and what replaces them: C(--status) is the default subsets together;
    C(--listcerts), C(--listcacerts), C(--listpubkeys), C(--listcrls) and C(--checkpubkeys) are the
    subsets C(certs), C(cacerts), C(pubkeys), C(crls) and C(expiring); C(--listall) is
    I(gather_subset=all); C(--utc) is I(utc=true)."
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
      - The module runs only read-only commands, so check mode returns the same facts.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Never reports a change.
  platform:
    support: full
    platforms: posix
options:
  gather_subset:
    description:
      - The subsets to gather. C(all) adds every subset, a subset name adds that subset, C(!NAME)
        leaves a subset out and C(!all) leaves out every subset not named explicitly.
      - Without a name to add (for example only C(!sas)), the default subsets are the starting point.
      - "Subsets: C(connections), C(sas), C(shunts), C(totals), C(version), C(listening) (the
        default ones), C(config), C(certs), C(cacerts), C(pubkeys), C(crls), C(expiring)."
    type: list
    elements: str
    default: [connections, sas, shunts, totals, version, listening]
  name:
    description:
      - Return only this connection in C(connections), C(sas) and C(config). A connection split by
        C(leftsubnets=) or C(rightsubnets=) comes with every child (C(NAME/1x0), ...), and a
        template with every instance (C(NAME[1]), ...).
      - Other subsets are not filtered.
      - A name that pluto has not loaded gives an empty C(connections) dict, not an error.
    type: str
  utc:
    description:
      - Return dates in UTC (C(2026-12-04T21:16:25Z)), as C(ipsec auto --utc) prints them.
      - With C(false), dates are in the managed host's local time with its UTC offset
        (C(2026-12-04T22:16:25+01:00)).
      - Affects the C(certs), C(cacerts), C(pubkeys), C(crls) and C(expiring) subsets. The module
        always runs C(whack --utc) and converts the dates, so the result does not depend on pluto's
        time zone.
    type: bool
    default: false
notes:
  - Lines of pluto's output that the parsers do not recognise are returned as warnings, with the
    line quoted; please report them.
  - The C(expiring) subset lists the keys that C(whack --checkpubkeys) reports as expiring within 14
    days or expired. Libreswan 4.x and 5.x also print keys that never expire there; they are left out.
seealso:
  - module: ipsec.libreswan.ipsec_connection
  - module: ipsec.libreswan.ipsec_pluto
  - name: ipsec_auto(8)
    description: The Libreswan command whose listing operations this module replaces.
    link: https://libreswan.org/man/ipsec_auto.8.html
"""

EXAMPLES = r"""
- name: Read connections and SAs
  ipsec.libreswan.ipsec_info:
  register: ipsec

- name: Show whether the tunnel is up
  ansible.builtin.debug:
    msg: "west-east is {{ 'up' if ipsec.connections['west-east'].up | default(false) else 'not up' }}"

- name: Read one connection and the configuration it comes from
  ipsec.libreswan.ipsec_info:
    name: west-east
    gather_subset: [connections, config]
  register: west_east

- name: Fail when a conn in ipsec.conf is not loaded
  ansible.builtin.assert:
    that: west_east.config.defined_not_loaded == []

- name: Read certificates, keys and CRLs, with dates in UTC
  ipsec.libreswan.ipsec_info:
    gather_subset: [certs, cacerts, pubkeys, crls, expiring]
    utc: true
  register: pki

- name: Everything except the traffic counters
  ipsec.libreswan.ipsec_info:
    gather_subset: [all, "!sas"]
"""

RETURN = r"""
gather_subset:
  description: The subsets gathered, after C(all) and C(!NAME) entries were resolved.
  returned: always
  type: list
  elements: str
  sample: [connections, sas, shunts, totals, version, listening]
connections:
  description:
    - Every loaded connection, by the name of its conn section.
    - C(loaded), C(up) (every child has an established Child SA), C(routed) (every child has its
      trap or tunnel policy), C(ike_established), C(has_sas), C(oriented).
    - C(routing) (one of C(unrouted), C(routed), C(negotiating), C(established), C(failed),
      C(unoriented), C(other)) and the raw word pluto printed in C(routing_raw), when all children
      agree; otherwise null, and each child has its own.
    - C(local) and C(remote) ends (C(host), C(id), C(subnets) of all children, C(protoport),
      C(port), C(nexthop), C(hostname)), C(ids), C(auth), C(policy), C(ike_version).
    - C(newest_ike_sa) and C(newest_ipsec_sa) (the highest serials among the children) and C(sas),
      the serials of all its SAs.
    - C(children) (the connection itself, or each C(NAME/NxM) of a split connection) and
      C(instances) (C(NAME[N]) of a template, and members of an opportunistic group), each with
      everything pluto shows for it, C(child_established), C(ike_established), C(up) and C(sas).
  returned: when the connections subset is gathered
  type: dict
  sample:
    h2h:
      name: h2h
      loaded: true
      up: false
      routed: true
      ike_established: true
      has_sas: true
      routing: routed
      routing_raw: prospective erouted
      local: {host: 198.51.100.1, id: "@west", subnets: []}
      remote: {host: 198.51.100.2, id: "@east", subnets: []}
      newest_ike_sa: 1
      newest_ipsec_sa: null
      sas: [1]
      children: {h2h: {routing: routed, newest_ike_sa: 1, up: false}}
      instances: {}
sas:
  description:
    - IKE and Child SAs, sorted by serial. C(serial), C(connection) (the name pluto prints, such as
      C(rw[3]) or C(s2s/1x0)), C(name) (the conn section), C(kind) (C(IKE) or C(Child)),
      C(ike_version), C(state) (as printed), C(state_name), C(description), C(established),
      C(newest), C(parent) (the IKE SA of a Child SA), C(peer), C(remote_port), C(tcp).
    - C(events) holds the timers pluto shows, in seconds (C(REKEY), C(REPLACE), C(EXPIRE), ...);
      C(rekey_in), C(replace_in) and C(expire_in) repeat the usual three.
    - For Child SAs, from C(whack --trafficstatus) - C(traffic_type), C(in_bytes), C(out_bytes),
      C(max_bytes), C(add_time) (seconds since the epoch), C(peer_id), C(username) (XAUTH) and
      C(lease) (the address given to the peer) - and in C(esp) the SPIs and counters of the
      status. Null for IKE SAs.
  returned: when the sas subset is gathered
  type: list
  elements: dict
shunts:
  description: Bare shunts (C(source), C(protocol), C(destination), C(shunt), C(reason), C(conn_serial), C(line)).
  returned: when the shunts subset is gathered
  type: list
  elements: dict
totals:
  description:
    - Connection counts C(loaded), C(active) and C(routed) (5.3 and later; null before), and the
      IKE and IPsec SA counts pluto prints (C(ike_sas), C(ipsec_sas)).
  returned: when the totals subset is gathered
  type: dict
  sample: {loaded: 3, active: 0, routed: null, ike_sas: {total: 1, authenticated: 1}}
version:
  description: The Libreswan version of the running pluto (or of C(ipsec --version) when the status has none).
  returned: when the version subset is gathered
  type: str
  sample: "4.10"
listening:
  description: The interfaces pluto listens on (C(name), C(address), C(port), C(protocol), C(nat)).
  returned: when the listening subset is gathered
  type: list
  elements: dict
config:
  description:
    - The conns defined in the configuration file and the files it includes, compared with what
      pluto loaded. C(conns) by name with C(file), C(line), C(loaded), C(auto), C(children) and
      C(problems); C(defined_not_loaded) and C(loaded_not_defined) (sorted names); C(files) read;
      C(problems) found in the files.
  returned: when the config subset is gathered
  type: dict
  sample:
    conns: {h2h: {file: /etc/ipsec.d/h2h.conf, line: 1, loaded: true, auto: add, children: [], problems: []}}
    defined_not_loaded: []
    loaded_not_defined: [manual]
certs:
  description:
    - End certificates in pluto's NSS database. C(nickname), C(kind), C(root), C(serial) (as
      printed, hexadecimal), C(serial_number), C(subject), C(issuer), C(not_before), C(not_after)
      (ISO 8601), C(key_bits), C(key_type) (C(RSA) or C(other)), C(has_private_key).
  returned: when the certs subset is gathered
  type: list
  elements: dict
cacerts:
  description: CA certificates in pluto's NSS database, with the same keys as C(certs).
  returned: when the cacerts subset is gathered
  type: list
  elements: dict
pubkeys:
  description:
    - Public keys pluto holds. C(installed), C(until) (ISO 8601; null when the key never
      expires), C(key_bits), C(key_type), C(keyid), C(private_key) (C(has), C(loaded) or C(no)),
      C(has_private_key), C(expiry) (C(ok), C(never), C(warning), C(expired)), C(expiry_message)
      as printed, C(id_type) (such as C(ID_FQDN)), C(id), C(issuer).
  returned: when the pubkeys subset is gathered
  type: list
  elements: dict
crls:
  description: CRLs in pluto's NSS database. C(issuer), C(revoked) (count), C(this_update), C(next_update).
  returned: when the crls subset is gathered
  type: list
  elements: dict
crl_fetch_requests:
  description: Pending CRL fetches. C(requested), C(trials), C(issuer), C(distribution_points).
  returned: when the crls subset is gathered
  type: list
  elements: dict
expiring:
  description: Public keys that expire within 14 days or have expired, with the same keys as C(pubkeys).
  returned: when the expiring subset is gathered
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError
from ansible_collections.ipsec.libreswan.plugins.module_utils._info import DEFAULT_SUBSETS, gather_info, resolve_subsets
from ansible_collections.ipsec.libreswan.plugins.module_utils._names import validate_connection_name
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient, ModuleRunner

# Parser warnings beyond this many are summed up in one line.
MAX_WARNINGS = 20


def argument_spec():
    return dict(
        gather_subset=dict(type="list", elements="str", default=list(DEFAULT_SUBSETS)),
        name=dict(type="str"),
        utc=dict(type="bool", default=False),
        config=dict(type="path", default="/etc/ipsec.conf"),
        ctlsocket=dict(type="path", default="/run/pluto/pluto.ctl"),
    )


def run(module):
    params = module.params
    if params["name"] is not None:
        for warning in validate_connection_name(params["name"], allow_child=False):
            module.warn(warning)
    subsets = resolve_subsets(params["gather_subset"])

    runner = ModuleRunner(module)
    client = LibreswanClient(runner, ipsec=runner.find("ipsec"), ctlsocket=params["ctlsocket"], config=params["config"])
    facts = gather_info(client, subsets, name=params["name"], utc=params["utc"])

    warnings = facts.pop("warnings")
    for warning in warnings[:MAX_WARNINGS]:
        module.warn("%s; please report this output line to the ipsec.libreswan developers" % warning)
    if len(warnings) > MAX_WARNINGS:
        module.warn("%d more output lines were not recognised" % (len(warnings) - MAX_WARNINGS))
    facts["gather_subset"] = subsets
    facts["changed"] = False
    return facts


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = run(module)
    except LibreswanError as error:
        module.fail_json(**error.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
