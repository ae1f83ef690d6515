"""ipsec_info and the status filters against real pluto 4.10 daemons in the namespace lab.

West has an idle connection, a routed one (IPv6 subnets), one with an established IKE SA (its
Child SA is rejected because this kernel has no ESP), a split connection, a conn defined but not
loaded and a connection loaded from a file that was removed afterwards. The certificate test
puts a small PKI into west's NSS database and gives west a fresh database afterwards.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import time
from pathlib import Path

import pytest

from tests.lab.commands import run_command

pytestmark = pytest.mark.lab

CAPTURE_SCRIPT = (Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "fixtures"
                  / "listings" / "capture.py")

PSK = "ipsec-info-integration-0123456789abcdef"
CONNS = """\
conn idle
\tleft=198.51.100.1
\tleftid=@west-idle
\tright=198.51.100.2
\trightid=@east-idle
\tauthby=secret
\tauto=ignore

conn h2h
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tkeyingtries=1
\tauto=ignore

conn routed
\tleft=2001:db8:0:1::1
\tleftsubnet=2001:db8:1::/64
\tright=2001:db8:0:1::2
\trightsubnet=2001:db8:2::/64
\tauthby=secret
\tauto=ignore

conn s2s
\tleft=198.51.100.1
\tleftsubnets={203.0.113.0/28 203.0.113.16/28}
\tright=198.51.100.2
\trightsubnet=203.0.113.128/28
\tauthby=secret
\tauto=ignore

conn spare
\tleft=198.51.100.1
\tright=198.51.100.9
\tauthby=secret
\tauto=ignore
"""
MANUAL = "conn manual\n\tleft=198.51.100.1\n\tright=198.51.100.8\n\tauthby=secret\n\tauto=ignore\n"
SECRETS = (
    '@west @east : PSK "{psk}"\n'
    '@west-idle @east-idle : PSK "{psk}"\n'
    '198.51.100.1 198.51.100.2 : PSK "{psk}"\n'
    '2001:db8:0:1::1 2001:db8:0:1::2 : PSK "{psk}"\n'
).format(psk=PSK)

PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: info
      ipsec.libreswan.ipsec_info:
        gather_subset: [connections, sas, shunts, totals, version, listening, config]
    - name: info in check mode
      ipsec.libreswan.ipsec_info:
        gather_subset: [connections, config]
      check_mode: true
    - name: info of s2s
      ipsec.libreswan.ipsec_info:
        name: s2s
        gather_subset: [connections, sas, config]
    - name: status text
      ansible.builtin.command: ipsec whack --status
      changed_when: false
      register: status_text
    - name: traffic text
      ansible.builtin.command: ipsec whack --trafficstatus
      changed_when: false
      register: traffic_text
    - name: filtered
      ansible.builtin.set_fact:
        filtered: "{{ status_text | ipsec.libreswan.ipsec_status(traffic_text) }}"
"""


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def addconn(host, name):
    host.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", name])


@pytest.fixture
def populated_lab(clean_lab):
    west, east = clean_lab["west"], clean_lab["east"]
    for host in (west, east):
        host.write_file("ipsec.d/info.conf", CONNS)
        host.write_secrets(SECRETS)
        host.whack("--rereadsecrets")
    addconn(east, "h2h")
    for name in ("idle", "h2h", "routed", "s2s"):
        addconn(west, name)
    west.whack("--name", "routed", "--route")
    # `manual` stays loaded after its file is gone: loaded, but not defined.
    west.write_file("ipsec.d/manual.conf", MANUAL)
    addconn(west, "manual")
    west.remove_file("ipsec.d/manual.conf")
    west.whack("--name", "h2h", "--initiate", check=False, timeout=90)
    assert wait_for(lambda: west.ike_sa_established("h2h")), west.status()
    return clean_lab


def test_connections_of_each_kind(populated_lab, run_playbook):
    run = run_playbook(PLAYBOOK)
    info = run.result("info", "west")
    assert info["_lab_status"] == "ok", info
    assert info["changed"] is False
    connections = info["connections"]
    assert sorted(connections) == ["h2h", "idle", "manual", "routed", "s2s"]

    idle = connections["idle"]
    assert idle["loaded"] is True
    assert idle["routing"] == "unrouted"
    assert idle["routed"] is False
    assert idle["up"] is False
    assert idle["ike_established"] is False
    assert idle["sas"] == []
    assert idle["local"]["host"] == "198.51.100.1"
    assert idle["local"]["id"] == "@west-idle"
    assert idle["remote"]["id"] == "@east-idle"
    assert idle["auth"] == {"local": "secret", "remote": "secret"}

    routed = connections["routed"]
    assert routed["routing"] == "routed"
    assert routed["routing_raw"] == "prospective erouted"
    assert routed["routed"] is True
    assert routed["local"]["host"] == "2001:db8:0:1::1"
    assert routed["local"]["subnets"] == ["2001:db8:1::/64"]
    assert routed["remote"]["subnets"] == ["2001:db8:2::/64"]

    h2h = connections["h2h"]
    assert h2h["ike_established"] is True
    assert h2h["up"] is False, "this kernel has no ESP, so no Child SA can be up"
    assert h2h["has_sas"] is True
    assert h2h["newest_ike_sa"] in h2h["sas"]
    assert h2h["children"]["h2h"]["child_established"] is False

    s2s = connections["s2s"]
    assert sorted(s2s["children"]) == ["s2s/1x0", "s2s/2x0"]
    assert s2s["local"]["subnets"] == ["203.0.113.0/28", "203.0.113.16/28"]
    assert s2s["remote"]["subnets"] == ["203.0.113.128/28"]
    assert s2s["routing"] == "unrouted"
    assert s2s["children"]["s2s/2x0"]["local"]["subnets"] == ["203.0.113.16/28"]


def test_sas_and_global_subsets(populated_lab, run_playbook):
    info = run_playbook(PLAYBOOK).result("info", "west")
    sas = {sa["serial"]: sa for sa in info["sas"]}
    ike = sas[info["connections"]["h2h"]["newest_ike_sa"]]
    assert ike["kind"] == "IKE"
    assert ike["name"] == "h2h"
    assert ike["established"] is True
    assert ike["state"] == "STATE_V2_ESTABLISHED_IKE_SA"
    assert ike["ike_version"] == 2
    assert 0 < ike["replace_in"] <= 28800
    assert ike["in_bytes"] is None
    assert not any(sa["kind"] == "Child" and sa["established"] for sa in info["sas"])

    assert info["version"] == "4.10"
    # idle, h2h, routed, s2s/1x0, s2s/2x0 and manual.
    assert info["totals"]["loaded"] == 6
    assert info["totals"]["ike_sas"]["total"] >= 1
    listening = [(entry["name"], entry["address"], entry["port"]) for entry in info["listening"]]
    assert ("eth0", "198.51.100.1", 500) in listening
    assert ("eth0", "2001:db8:0:1::1", 4500) in listening
    assert info["shunts"] == []


def test_config_defined_and_loaded(populated_lab, run_playbook):
    config = run_playbook(PLAYBOOK).result("info", "west")["config"]
    assert config["defined_not_loaded"] == ["spare"]
    assert config["loaded_not_defined"] == ["manual"]
    assert sorted(config["conns"]) == ["h2h", "idle", "routed", "s2s", "spare"]
    spare = config["conns"]["spare"]
    assert spare["file"] == "/etc/ipsec.d/info.conf"
    assert spare["line"] == CONNS.splitlines().index("conn spare") + 1
    assert spare["auto"] == "ignore"
    assert spare["loaded"] is False
    assert config["conns"]["s2s"]["children"] == ["s2s/1x0", "s2s/2x0"]
    assert "/etc/ipsec.d/info.conf" in config["files"]


def test_check_mode_name_filter_and_filter_plugin(populated_lab, run_playbook):
    run = run_playbook(PLAYBOOK)
    info = run.result("info", "west")
    checked = run.result("info in check mode", "west")
    assert checked["changed"] is False
    assert sorted(checked["connections"]) == sorted(info["connections"])
    assert checked["config"]["defined_not_loaded"] == ["spare"]

    s2s_only = run.result("info of s2s", "west")
    assert list(s2s_only["connections"]) == ["s2s"]
    assert s2s_only["sas"] == []
    assert list(s2s_only["config"]["conns"]) == ["s2s"]
    assert s2s_only["config"]["defined_not_loaded"] == []
    assert s2s_only["config"]["loaded_not_defined"] == []

    filtered = run.result("filtered", "west")["ansible_facts"]["filtered"]
    assert filtered["warnings"] == []
    assert sorted(filtered["connections"]) == sorted(info["connections"])
    for name, connection in info["connections"].items():
        assert filtered["connections"][name]["routing"] == connection["routing"]
        assert filtered["connections"][name]["children"].keys() == connection["children"].keys()
    assert [sa["serial"] for sa in filtered["sas"]] == [sa["serial"] for sa in info["sas"]]


FAILING = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: missing socket
      ipsec.libreswan.ipsec_info:
        ctlsocket: /run/pluto/absent.ctl
      ignore_errors: true
    - name: refusing socket
      ipsec.libreswan.ipsec_info:
        ctlsocket: /run/pluto/stale.ctl
      ignore_errors: true
"""


def test_pluto_not_running_fails_clearly(clean_lab, run_playbook):
    west = clean_lab["west"]
    # A socket file that no process listens on, as a crashed pluto leaves behind.
    stale = west.run_dir / "stale.ctl"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(stale))
    listener.close()
    try:
        run = run_playbook(FAILING)
    finally:
        stale.unlink()
    missing = run.result("missing socket", "west")
    assert missing["_lab_status"] == "ignored"
    assert missing["msg"].startswith("pluto is not running: control socket /run/pluto/absent.ctl does not exist")
    refusing = run.result("refusing socket", "west")
    assert refusing["_lab_status"] == "ignored"
    assert refusing["msg"].startswith("pluto is not running or refuses connections on /run/pluto/stale.ctl")


# --- certificates, keys and CRLs -----------------------------------------------------------


def load_capture_script():
    spec = importlib.util.spec_from_file_location("listing_capture", CAPTURE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh_nss(host):
    """Give `host` an empty NSS database again; pluto is restarted to open it."""
    host.stop_pluto()
    for entry in host.nss_dir.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    run_command(["ipsec", "initnss", "--nssdir", host.nss_dir])
    host.start_pluto()


@pytest.fixture
def pki_lab(clean_lab, tmp_path):
    west = clean_lab["west"]
    capture = load_capture_script()
    pki = capture.NssPki(west.nss_dir, tmp_path / "pki")
    try:
        pki.create_ca()
        pki.issue("west", "west.example.net", san="dns:west.example.net,ip:198.51.100.1")
        pki.issue("east", "east.example.net", san="dns:east.example.net,ip:198.51.100.2", key_in_host=False)
        road = pki.issue("road", "road.example.net", months=12, key_in_host=False, key_type="ec")
        pki.issue_short_lived("short", "short.example.net", days=5)
        pki.make_crl([road])
        west.write_file("ipsec.d/certs.conf", capture.CERT_CONNS)
        for name in ("certs", "short"):
            addconn(west, name)
        yield clean_lab
    finally:
        fresh_nss(west)


CERTS_PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: pki
      ipsec.libreswan.ipsec_info:
        gather_subset: [certs, cacerts, pubkeys, crls, expiring]
        utc: true
"""


def test_certificates_keys_and_crls(pki_lab, run_playbook):
    info = run_playbook(CERTS_PLAYBOOK).result("pki", "west")
    assert info["_lab_status"] == "ok", info
    assert info["gather_subset"] == ["certs", "cacerts", "pubkeys", "crls", "expiring"]
    assert "connections" not in info

    certs = {cert["nickname"].split(":")[-1]: cert for cert in info["certs"]}
    assert sorted(certs) == ["east", "road", "short", "west"]
    assert certs["west"]["has_private_key"] is True
    assert certs["east"]["has_private_key"] is False
    assert certs["road"]["key_type"] == "other"
    assert certs["west"]["subject"] == "C=XX, O=ipsec.libreswan tests, CN=west.example.net"
    assert certs["short"]["not_after"].endswith("Z")

    [ca] = info["cacerts"]
    assert ca["nickname"] == "Lab CA"
    assert ca["root"] is True

    [crl] = info["crls"]
    assert crl["issuer"] == "C=XX, O=ipsec.libreswan tests, CN=Lab CA"
    assert crl["revoked"] == 1
    assert crl["this_update"] == "2026-12-01T00:00:00Z"
    assert info["crl_fetch_requests"] == []

    ids = {key["id"] for key in info["pubkeys"]}
    assert {"@west.example.net", "198.51.100.2", "198.51.100.3"} <= ids
    assert all(key["until"].endswith("Z") for key in info["pubkeys"])

    assert info["expiring"], info["pubkeys"]
    assert {key["id"] for key in info["expiring"]} == {"198.51.100.3", "C=XX, O=ipsec.libreswan tests, CN=short.example.net"}
    assert all(key["expiry"] == "warning" for key in info["expiring"])


def examples_playbook(module) -> str:
    """Return a playbook that runs the EXAMPLES of `module` on west."""
    tasks = "\n".join("    " + line if line else "" for line in module.EXAMPLES.strip("\n").splitlines())
    return "- hosts: west\n  gather_facts: false\n  tasks:\n" + tasks + "\n"


def test_examples_run(clean_lab, run_playbook):
    from ansible_collections.ipsec.libreswan.plugins.modules import ipsec_info

    west = clean_lab["west"]
    west.write_file("ipsec.d/west-east.conf", CONNS.split("\nconn h2h", maxsplit=1)[0].replace("conn idle", "conn west-east"))
    west.write_secrets(SECRETS)
    addconn(west, "west-east")
    run = run_playbook(examples_playbook(ipsec_info))
    assert run.rc == 0, str(run)
    assert run.failed() == 0
    assert run.result("Show whether the tunnel is up", "west")["msg"] == "west-east is not up"
    assert run.result("Read one connection and the configuration it comes from", "west")["config"]["conns"]["west-east"]["loaded"]
