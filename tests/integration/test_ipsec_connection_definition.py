"""ipsec_connection with `definition`: the managed file, validation, replace and rollback, on real pluto 4.10."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import summarise
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status

pytestmark = pytest.mark.lab

SECRETS = '@west @east : PSK "definition-test-0123456789"\n'
DEFINITION = {
    "left": "198.51.100.1",
    "leftid": "@west",
    "right": "198.51.100.2",
    "rightid": "@east",
    "authby": "secret",
    "ikelifetime": "3h",
    "keyingtries": 1,
}

PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: applied
      ipsec.libreswan.ipsec_connection:
        name: "{{ conn }}"
        state: "{{ target | default('routed') }}"
        definition: "{{ definition }}"
        backup: "{{ backup | default(false) }}"
      ignore_errors: true
    - name: repeated
      ipsec.libreswan.ipsec_connection:
        name: "{{ conn }}"
        state: "{{ target | default('routed') }}"
        definition: "{{ definition }}"
      when: repeat | default(true)
      ignore_errors: true
"""


@pytest.fixture
def psk_lab(clean_lab):
    for host in clean_lab:
        host.write_secrets(SECRETS)
        host.whack("--rereadsecrets")
    return clean_lab


def routed_between_west_and_east(host, name="managed"):
    """True when `name` is loaded and routed with west's and east's IDs (any Libreswan version)."""
    status = parse_status(host.status())
    entry = status["connections"].get(name)
    return (entry is not None and summarise(status, name)["routed"]
            and entry["local"]["id"] == "@west" and entry["remote"]["id"] == "@east")


def conn_serial(host, name="managed"):
    return parse_status(host.status())["connections"][name]["conn_serial"]


def conn_file(lab, name="managed"):
    return lab["west"].path("ipsec.d/%s.conf" % name)


def test_definition_from_nothing_then_unchanged(psk_lab, run_playbook):
    lab = psk_lab
    run = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION})
    applied = run.result("applied", "west")
    repeated = run.result("repeated", "west")
    assert applied["changed"] is True, applied
    text = conn_file(lab).read_text()
    assert text.startswith("# Managed by the ipsec.libreswan Ansible collection")
    assert "\tkeyingtries=1\n" in text
    assert repeated["changed"] is False, repeated
    assert repeated["commands"] == []
    mtime = conn_file(lab).stat().st_mtime_ns
    again = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False})
    assert again.result("applied", "west")["changed"] is False
    assert conn_file(lab).stat().st_mtime_ns == mtime, "an unchanged definition is not written"
    assert routed_between_west_and_east(lab["west"])


def test_changed_keyword_replaces_connection(psk_lab, run_playbook):
    lab = psk_lab
    run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False})
    changed = dict(DEFINITION, ikelifetime="2h")
    run = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": changed, "backup": True})
    applied = run.result("applied", "west")
    assert applied["changed"] is True
    assert [step["action"] for step in applied["plan"]] == ["delete", "add", "route"]
    assert parse_status(lab["west"].status())["connections"]["managed"]["ike_life"] == 7200
    backup = lab["west"].path("ipsec.d/" + os.path.basename(applied["backup_file"]))
    assert "ikelifetime=3h" in backup.read_text()
    assert run.result("repeated", "west")["changed"] is False


def test_invalid_keyword_keeps_old_file_and_connection(psk_lab, run_playbook):
    lab = psk_lab
    run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False})
    before = conn_file(lab).read_bytes()
    serial = conn_serial(lab["west"])

    broken = dict(DEFINITION, ikelifetimes="3h")
    run = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": broken, "repeat": False})
    applied = run.result("applied", "west")
    assert applied["_lab_status"] == "ignored"
    assert "ikelifetimes" in applied["msg"]
    assert conn_file(lab).read_bytes() == before
    assert routed_between_west_and_east(lab["west"])
    assert conn_serial(lab["west"]) == serial


def test_rejected_at_add_time_rolls_back(psk_lab, run_playbook):
    lab = psk_lab
    run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False})
    before = conn_file(lab).read_bytes()
    # addconn --checkconfig accepts this; pluto rejects it when adding (no such certificate).
    rejected = dict(DEFINITION, authby="rsasig", leftcert="no-such-certificate", rightrsasigkey="%cert")
    run = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": rejected, "repeat": False})
    applied = run.result("applied", "west")
    assert applied["_lab_status"] == "ignored"
    assert applied["rolled_back"] is True
    assert "Rolled back" in applied["msg"]
    assert conn_file(lab).read_bytes() == before
    assert routed_between_west_and_east(lab["west"])


def test_absent_removes_only_managed_file(psk_lab, run_playbook):
    lab = psk_lab
    run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False})
    lab["west"].write_file("ipsec.d/handwritten.conf", "conn handwritten\n\tleft=198.51.100.1\n\tright=198.51.100.2\n\tauthby=secret\n")
    playbook = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: managed
      ipsec.libreswan.ipsec_connection: {name: managed, state: absent}
    - name: handwritten
      ipsec.libreswan.ipsec_connection: {name: handwritten, state: absent}
"""
    run = run_playbook(playbook)
    assert run.result("managed", "west")["changed"] is True
    assert not conn_file(lab).exists()
    assert run.result("handwritten", "west")["changed"] is False
    assert conn_file(lab, "handwritten").exists()
    assert '"managed"' not in lab["west"].status()


def test_diff_mode_shows_file_text(psk_lab, run_playbook):
    lab = psk_lab
    run = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False},
                       check=True, diff=True)
    applied = run.result("applied", "west")
    assert applied["changed"] is True
    file_diff = [d for d in applied["diff"] if d.get("after_header", "").endswith("managed.conf")][0]
    assert file_diff["before"] == ""
    assert "conn managed" in file_diff["after"]
    assert not conn_file(lab).exists(), "check mode writes nothing"
    assert applied["commands"][0][-1] == "managed"


def test_absent_with_definition_stays_absent(psk_lab, run_playbook):
    lab = psk_lab
    run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "repeat": False})
    run = run_playbook(PLAYBOOK, extra_vars={"conn": "managed", "definition": DEFINITION, "target": "absent"})
    assert run.result("applied", "west")["changed"] is True
    assert not conn_file(lab).exists()
    repeated = run.result("repeated", "west")
    assert repeated["changed"] is False, repeated
    assert not conn_file(lab).exists(), "a definition given with state=absent is never written"
