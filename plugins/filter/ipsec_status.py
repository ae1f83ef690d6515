# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ipsec_status
short_description: Turn captured C(ipsec whack --status) output into connections and SAs
version_added: 0.1.0
author:
  - ipsec.libreswan developers
description:
  - Parses the output of C(ipsec whack --status) (or C(ipsec status), C(ipsec auto --status)) of
    Libreswan 3.25 to 5.x into the structures that M(ipsec.libreswan.ipsec_info) returns in
    C(connections), C(sas), C(shunts), C(totals), C(version) and C(listening).
  - Runs on the controller; nothing is run on a host. Use it on output captured with
    M(ansible.builtin.command), or on files kept from an earlier run.
positional: _input, trafficstatus
options:
  _input:
    description:
      - The status output, as one string, a list of lines (C(stdout_lines)) or a registered
        command result (its C(stdout) is used).
    type: raw
    required: true
  trafficstatus:
    description:
      - The output of C(ipsec whack --trafficstatus) captured at the same time, in any of the
        forms of I(_input). Its counters, peer IDs, XAUTH users and leases go into C(sas).
      - Without it, Child SA counters come from the SA lines of the status.
    type: raw
  name:
    description:
      - Keep only this connection (every child and instance of it) in C(connections) and C(sas).
    type: str
notes:
  - Lines the parser does not recognise are listed in C(warnings) and shown as warnings.
seealso:
  - module: ipsec.libreswan.ipsec_info
  - plugin: ipsec.libreswan.ipsec_trafficstatus
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Capture pluto's status
  ansible.builtin.command: ipsec whack --status
  register: status
  changed_when: false

- name: Capture the traffic counters
  ansible.builtin.command: ipsec whack --trafficstatus
  register: traffic
  changed_when: false

- name: Show which connections are up
  ansible.builtin.debug:
    msg: "{{ (status | ipsec.libreswan.ipsec_status(traffic)).connections | dict2items
             | selectattr('value.up') | map(attribute='key') | list }}"
"""

RETURN = r"""
_value:
  description:
    - A dictionary with C(connections), C(sas), C(shunts), C(totals), C(version) and C(listening),
      described in the RETURN section of M(ipsec.libreswan.ipsec_info), and C(warnings), the
      lines that were not recognised.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types
from ansible.utils.display import Display

from ansible_collections.ipsec.libreswan.plugins.module_utils._info import status_facts
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status
from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import parse_trafficstatus

display = Display()


def input_text(value, filter_name, argument="input"):
    """Return command output given as a string, a list of lines or a registered result."""
    if isinstance(value, dict):
        if "stdout" not in value:
            raise AnsibleFilterError("%s: the %s is a dict without 'stdout'; pass the output text or a registered "
                                     "command result" % (filter_name, argument))
        value = value["stdout"]
    if isinstance(value, (list, tuple)):
        return "\n".join(to_text(line) for line in value)
    if isinstance(value, string_types):
        return to_text(value)
    raise AnsibleFilterError("%s: the %s must be text, a list of lines or a registered command result, not %s"
                             % (filter_name, argument, type(value).__name__))


def show_warnings(filter_name, warnings):
    for warning in warnings:
        display.warning("%s: %s" % (filter_name, warning))


def ipsec_status(value, trafficstatus=None, name=None):
    status = parse_status(input_text(value, "ipsec_status"))
    warnings = list(status["warnings"])
    traffic = None
    if trafficstatus is not None:
        parsed = parse_trafficstatus(input_text(trafficstatus, "ipsec_status", "trafficstatus argument"))
        warnings.extend(parsed["warnings"])
        traffic = parsed["sas"]
    facts = status_facts(status, traffic, name=name)
    facts["warnings"] = warnings
    show_warnings("ipsec_status", warnings)
    return facts


class FilterModule(object):
    def filters(self):
        return {"ipsec_status": ipsec_status}
