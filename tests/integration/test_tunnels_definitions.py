"""Definitions and `down` on real tunnels: needs a kernel with ESP (the guest kernel on this machine).

- `definition` + `state: up` from nothing in one task, then unchanged (no SA renegotiated), a
  changed keyword (replaced and re-established) and an invalid keyword (old file, old tunnel kept).
- Two connections whose Child SAs share one IKE SA: `state: down` on one removes only its own Child
  SA; the sibling's Child SA and the shared IKE SA stay, and a second run changes nothing.
"""

from __future__ import annotations

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import summarise
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status

pytestmark = [pytest.mark.lab, pytest.mark.esp]

PSK = "tunnel-definitions-0123456789"
DEFINITION = {
    "left": "198.51.100.1",
    "leftid": "@west",
    "right": "198.51.100.2",
    "rightid": "@east",
    "authby": "secret",
    "esp": "aes_gcm256",
    "keyingtries": 1,
}

PLAY = """\
- hosts: lab
  gather_facts: false
  tasks:
    - name: secret
      ipsec.libreswan.ipsec_secret:
        name: "{{ conn }}"
        selectors: ["@west", "@east"]
        secret: "{{ psk }}"
    - name: responder
      ipsec.libreswan.ipsec_connection:
        name: "{{ conn }}"
        state: present
        definition: "{{ definition }}"
      when: inventory_hostname == 'east'
    - name: initiator
      ipsec.libreswan.ipsec_connection:
        name: "{{ conn }}"
        state: up
        definition: "{{ definition }}"
      when: inventory_hostname == 'west'
      ignore_errors: true
"""


def live(host, name):
    status = parse_status(host.status())
    return status, summarise(status, name)


def child_serials(host, name):
    status, summary = live(host, name)
    return sorted(serial for child in summary["children"].values() for serial in child["child_sas"])


@pytest.fixture
def esp_lab(clean_lab):
    from tests.lab import esp_supported

    if not esp_supported():
        pytest.fail("this kernel cannot install ESP SAs; the esp_guest plugin runs this test in the guest")
    return clean_lab


def test_definition_lifecycle_on_real_tunnel(esp_lab, run_playbook):
    west = esp_lab["west"]
    variables = {"conn": "defined", "definition": DEFINITION, "psk": PSK}

    first = run_playbook(PLAY, extra_vars=variables).result("initiator", "west")
    assert first["_lab_status"] == "ok", first
    assert first["changed"] is True
    status, summary = live(west, "defined")
    assert summary["up"] is True
    ike, children = summary["children"]["defined"]["newest_ike_sa"], child_serials(west, "defined")

    second = run_playbook(PLAY, extra_vars=variables).result("initiator", "west")
    assert second["changed"] is False
    assert second["commands"] == []
    status, summary = live(west, "defined")
    assert summary["children"]["defined"]["newest_ike_sa"] == ike
    assert child_serials(west, "defined") == children

    changed = dict(DEFINITION, esp="aes128-sha2_256")
    third = run_playbook(PLAY, extra_vars=dict(variables, definition=changed)).result("initiator", "west")
    assert third["_lab_status"] == "ok", third
    assert third["changed"] is True
    assert [step["action"] for step in third["plan"]] == ["delete", "add", "initiate"]
    status, summary = live(west, "defined")
    assert summary["up"] is True
    assert "AES_CBC_128" in west.status()
    assert "HMAC_SHA2_256" in west.status()
    replaced_children = child_serials(west, "defined")
    file_text = west.path("ipsec.d/defined.conf").read_text()

    broken = dict(changed, espp="aes128")
    fourth = run_playbook(PLAY, extra_vars=dict(variables, definition=broken)).result("initiator", "west")
    assert fourth["_lab_status"] == "ignored"
    assert "espp" in fourth["msg"]
    assert west.path("ipsec.d/defined.conf").read_text() == file_text
    status, summary = live(west, "defined")
    assert summary["up"] is True, "the tunnel it had stays up"
    assert child_serials(west, "defined") == replaced_children


SHARED = """\
conn shared-a
\tleft=198.51.100.1
\tleftid=@west
\tleftsubnet=203.0.113.0/28
\tright=198.51.100.2
\trightid=@east
\trightsubnet=203.0.113.128/28
\tauthby=secret
\tauto=ignore

conn shared-b
\tleft=198.51.100.1
\tleftid=@west
\tleftsubnet=203.0.113.16/28
\tright=198.51.100.2
\trightid=@east
\trightsubnet=203.0.113.128/28
\tauthby=secret
\tauto=ignore
"""
# Not `also=shared-a` with its own leftsubnet=: Libreswan 4.10 and 5.2 refuse a conn that sets a
# keyword its also= section sets too.

DOWN_PLAY = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: down
      ipsec.libreswan.ipsec_connection: {name: shared-a, state: down}
    - name: down again
      ipsec.libreswan.ipsec_connection: {name: shared-a, state: down}
"""


def test_down_keeps_sibling_and_shared_ike_sa(esp_lab, run_playbook):
    west, east = esp_lab["west"], esp_lab["east"]
    for host in (west, east):
        host.write_file("ipsec.d/shared.conf", SHARED)
        host.write_secrets('@west @east : PSK "%s"\n' % PSK)
        host.whack("--rereadsecrets")
        for name in ("shared-a", "shared-b"):
            host.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", name])
    for name in ("shared-a", "shared-b"):
        west.whack("--name", name, "--initiate", check=False, timeout=60)
    status = parse_status(west.status())
    a, b = summarise(status, "shared-a"), summarise(status, "shared-b")
    assert a["up"] and b["up"], west.status()
    sibling_children = child_serials(west, "shared-b")
    ike_serials = sorted(s["serial"] for s in status["states"].values() if s["kind"] == "IKE" and s["established"])
    assert len(ike_serials) == 1, "both Child SAs ride one IKE SA: %s" % west.status()

    run = run_playbook(DOWN_PLAY)
    down = run.result("down", "west")
    assert down["changed"] is True
    assert [step["action"] for step in down["plan"]] == ["terminate"]
    status = parse_status(west.status())
    assert summarise(status, "shared-a")["children"]["shared-a"]["child_sas"] == []
    assert child_serials(west, "shared-b") == sibling_children
    assert sorted(s["serial"] for s in status["states"].values() if s["kind"] == "IKE" and s["established"]) == ike_serials
    assert run.result("down again", "west")["changed"] is False
