# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ipsec_trafficstatus
short_description: Turn captured C(ipsec whack --trafficstatus) output into a list of Child SAs
version_added: 0.1.0
author:
  - ipsec.libreswan developers
description:
  - Parses the output of C(ipsec whack --trafficstatus) (or C(ipsec trafficstatus)) of Libreswan
    3.25 to 5.x into the Child SA entries that M(ipsec.libreswan.ipsec_info) returns in C(sas).
  - The traffic status has no state, timers or SPIs, so those keys are null; C(kind) is C(Child)
    and C(established) is true.
positional: _input
options:
  _input:
    description:
      - The output, as one string, a list of lines (C(stdout_lines)) or a registered command
        result (its C(stdout) is used).
    type: raw
    required: true
  name:
    description: Keep only the SAs of this connection (every child and instance of it).
    type: str
notes:
  - Lines the parser does not recognise are shown as warnings.
seealso:
  - module: ipsec.libreswan.ipsec_info
  - plugin: ipsec.libreswan.ipsec_status
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Capture the traffic counters
  ansible.builtin.command: ipsec whack --trafficstatus
  register: traffic
  changed_when: false

- name: Sum the bytes received over all tunnels
  ansible.builtin.debug:
    msg: "{{ traffic | ipsec.libreswan.ipsec_trafficstatus | map(attribute='in_bytes') | sum }}"
"""

RETURN = r"""
_value:
  description:
    - The Child SAs sorted by serial, with the keys of C(sas) in M(ipsec.libreswan.ipsec_info)
      (C(serial), C(connection), C(name), C(in_bytes), C(out_bytes), C(max_bytes), C(add_time),
      C(peer_id), C(username), C(lease), C(peer), ...).
  type: list
  elements: dict
"""

from ansible_collections.ipsec.libreswan.plugins.filter.ipsec_status import input_text, show_warnings
from ansible_collections.ipsec.libreswan.plugins.module_utils._info import status_facts
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status
from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import parse_trafficstatus


def ipsec_trafficstatus(value, name=None):
    parsed = parse_trafficstatus(input_text(value, "ipsec_trafficstatus"))
    show_warnings("ipsec_trafficstatus", parsed["warnings"])
    # An empty status: every SA then comes from the traffic status alone.
    return status_facts(parse_status(""), parsed["sas"], name=name, subsets=("sas",))["sas"]


class FilterModule(object):
    def filters(self):
        return {"ipsec_trafficstatus": ipsec_trafficstatus}
