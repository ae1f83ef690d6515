"""ipsec_connections: many connections in one task, on real pluto 4.10 in the lab."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.lab

SECRETS = '198.51.100.1 198.51.100.2 : PSK "bulk-test-0123456789"\n'
PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: converge
      ipsec.libreswan.ipsec_connections:
        connections: "{{ conns }}"
        purge: "{{ purge | default(false) }}"
      ignore_errors: true
"""


def connections(count, state="routed", extra=None):
    result = []
    for index in range(count):
        definition = {"left": "198.51.100.1", "right": "198.51.100.2", "authby": "secret",
                      "leftsubnet": "203.0.113.%d/32" % index, "rightsubnet": "203.0.113.%d/32" % (128 + index)}
        result.append({"name": "bulk%02d" % index, "state": state, "definition": definition})
    return result + (extra or [])


@pytest.fixture
def psk_lab(clean_lab):
    for host in clean_lab:
        host.write_secrets(SECRETS)
        host.whack("--rereadsecrets")
    return clean_lab


def serials(status):
    return dict(re.findall(r'"(bulk\d+)":.*conn serial: \$(\d+)', status))


def test_many_connections_converge_then_noop(psk_lab, run_playbook):
    run = run_playbook(PLAYBOOK, extra_vars={"conns": connections(20)})
    result = run.result("converge", "west")
    assert result["changed"] is True, result
    assert result["summary"] == {"total": 20, "changed": 20, "failed": 0, "unchanged": 0}
    adds = [cmd for cmd in result["commands"] if "addconn" in cmd[1]]
    assert len(adds) == 1 and adds[0][-20:] == ["bulk%02d" % index for index in range(20)]
    first = serials(psk_lab["west"].status())
    assert len(first) == 20

    again = run_playbook(PLAYBOOK, extra_vars={"conns": connections(20)}).result("converge", "west")
    assert again["changed"] is False
    assert again["commands"] == []
    assert again["libreswan_commands"] == 1, "a no-op run reads the status once and runs nothing else"
    assert serials(psk_lab["west"].status()) == first


def test_purge_removes_unlisted_and_keeps_others(psk_lab, run_playbook):
    run_playbook(PLAYBOOK, extra_vars={"conns": connections(5)})
    before = serials(psk_lab["west"].status())
    run = run_playbook(PLAYBOOK, extra_vars={"conns": connections(4), "purge": True})
    result = run.result("converge", "west")
    assert result["changed"] is True
    purged = [item for item in result["connections"] if item["name"] == "bulk04"]
    assert purged and purged[0]["state"] == "absent"
    after = serials(psk_lab["west"].status())
    assert "bulk04" not in after
    assert after == {name: serial for name, serial in before.items() if name != "bulk04"}
    assert not psk_lab["west"].path("ipsec.d/bulk04.conf").exists()


def test_failing_connection_reported_others_converge(psk_lab, run_playbook):
    missing = [{"name": "notdefined", "state": "routed"}]
    run = run_playbook(PLAYBOOK, extra_vars={"conns": connections(3, extra=missing)})
    result = run.result("converge", "west")
    assert result["_lab_status"] == "ignored"
    assert result["failed_connections"] == ["notdefined"]
    assert "1 of 4 connections" in result["msg"]
    assert len(serials(psk_lab["west"].status())) == 3


def test_check_mode_predicts_commands(psk_lab, run_playbook):
    predicted = run_playbook(PLAYBOOK, extra_vars={"conns": connections(3)}, check=True).result("converge", "west")
    assert serials(psk_lab["west"].status()) == {}
    applied = run_playbook(PLAYBOOK, extra_vars={"conns": connections(3)}).result("converge", "west")
    assert predicted["commands"] == applied["commands"]
