"""ipsec_pluto against real pluto 4.10 daemons in the namespace lab: each operation and its effect.

- rereadsecrets and rereadall: after both peers' PSK changed and only east reread it, IKE from
  west fails; after the module ran on west, it succeeds.
- ready: an address added to west's interface is listened on only after the module ran.
- rereadcerts: after west's certificate was replaced in the NSS database, pluto holds the new
  key only after the module ran.
- fetchcrls: pluto's pending CRL fetch, which failed while nothing served the CRL, succeeds
  right after the module ran, not an hour later at the next crlcheckinterval.
- purgeocsp: runs; emptying NSS's OCSP cache has no effect visible without an OCSP responder.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.lab.commands import run_command

pytestmark = pytest.mark.lab

CAPTURE_SCRIPT = (Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "fixtures"
                  / "listings" / "capture.py")

CONN = """\
conn h2h
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tkeyingtries=1
\tauto=ignore
"""
OLD_PSK = "ipsec-pluto-old-secret-0123456789abcdef"
NEW_PSK = "ipsec-pluto-new-secret-fedcba9876543210"
EXTRA_ADDRESS = "198.51.100.11"

PLAYBOOK = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: predicted
      ipsec.libreswan.ipsec_pluto: {command: "{{ command }}"}
      check_mode: true
    - name: applied
      ipsec.libreswan.ipsec_pluto: {command: "{{ command }}"}
"""


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def whack_argv(option):
    return ["/usr/sbin/ipsec", "whack", "--ctlsocket", "/run/pluto/pluto.ctl", option]


def run_command_module(run_playbook, command, **extra):
    """Run the check-mode and the real task; assert what every operation shares and return the real result."""
    run = run_playbook(PLAYBOOK, extra_vars=dict(command=command, **extra))
    predicted = run.result("predicted", "west")
    applied = run.result("applied", "west")
    assert predicted["changed"] is True
    assert predicted["output"] == []
    assert applied["_lab_status"] == "ok", applied
    assert applied["changed"] is True
    assert applied["commands"] == predicted["commands"]
    assert applied["version"] == "4.10"
    return applied


def secrets(psk):
    return '@west @east : PSK "%s"\n' % psk


def initiate(host, name):
    host.whack("--name", name, "--initiate", check=False, timeout=90)


def delete_ike(host, name):
    host.whack("--name", name, "--terminate", check=False)


@pytest.mark.parametrize("command", ["rereadsecrets", "rereadall"])
def test_changed_secret_used_only_after_reread(clean_lab, run_playbook, command):
    west, east = clean_lab["west"], clean_lab["east"]
    for host in (west, east):
        host.write_file("ipsec.d/h2h.conf", CONN)
        host.write_secrets(secrets(OLD_PSK))
        host.whack("--rereadsecrets")
        host.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", "h2h"])
    initiate(west, "h2h")
    assert wait_for(lambda: west.ike_sa_established("h2h")), west.status()
    delete_ike(west, "h2h")
    assert wait_for(lambda: not east.ike_sa_established("h2h")), east.status()

    for host in (west, east):
        host.write_secrets(secrets(NEW_PSK))
    east.whack("--rereadsecrets")
    initiate(west, "h2h")
    assert not west.ike_sa_established("h2h"), "west still uses the old PSK, so IKE_AUTH must fail"
    assert "AUTHENTICATION_FAILED" in west.read_log() + east.read_log()

    applied = run_command_module(run_playbook, command)
    assert applied["commands"] == [whack_argv("--" + command)]
    assert 'loading secrets from "/etc/ipsec.secrets"' in applied["output"]
    assert applied.get("warnings", []) == []

    initiate(west, "h2h")
    assert wait_for(lambda: west.ike_sa_established("h2h")), west.status()


def test_check_mode_runs_nothing(clean_lab, run_playbook):
    west = clean_lab["west"]
    # pluto logs every reading of the secrets, the first one at start-up.
    readings = west.read_log().count("loading secrets from")
    assert readings >= 1
    run = run_playbook(PLAYBOOK.replace("    - name: applied\n      ipsec.libreswan.ipsec_pluto: {command: \"{{ command }}\"}\n", ""),
                       extra_vars={"command": "rereadsecrets"})
    predicted = run.result("predicted", "west")
    assert predicted["changed"] is True
    assert predicted["commands"] == [whack_argv("--rereadsecrets")]
    assert west.read_log().count("loading secrets from") == readings


def test_ready_listens_on_new_address(clean_lab, run_playbook):
    west = clean_lab["west"]
    listening = "interface eth0 UDP %s:500" % EXTRA_ADDRESS
    run_command(["ip", "-n", west.namespace, "addr", "add", EXTRA_ADDRESS + "/24", "dev", "eth0"])
    try:
        time.sleep(1)
        assert listening not in west.status()
        applied = run_command_module(run_playbook, "ready")
        assert applied["commands"] == [whack_argv("--listen")]
        assert "adding UDP interface eth0 %s:500" % EXTRA_ADDRESS in applied["output"]
        assert listening in west.status()
    finally:
        run_command(["ip", "-n", west.namespace, "addr", "del", EXTRA_ADDRESS + "/24", "dev", "eth0"])
        west.whack("--listen")
    assert listening not in west.status()


# --- certificates and CRLs ----------------------------------------------------------------


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


def key_ids(host):
    return set(re.findall(r"RSA Key (\S+) \(has private key\)", host.whack("--listpubkeys").stdout))


def test_rereadcerts_loads_replaced_certificate(clean_lab, run_playbook, tmp_path):
    west = clean_lab["west"]
    capture = load_capture_script()
    pki = capture.NssPki(west.nss_dir, tmp_path / "pki")
    try:
        pki.create_ca()
        pki.issue("west", "west.example.net", san="dns:west.example.net,ip:198.51.100.1")
        pki.issue("east", "east.example.net", san="dns:east.example.net,ip:198.51.100.2", key_in_host=False)
        west.write_file("ipsec.d/certs.conf", capture.CERT_CONNS.split("\nconn short")[0])
        west.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", "certs"])
        old_keys = key_ids(west)
        assert len(old_keys) == 1

        # A renewed certificate: same nickname, new key.
        pki.delete_key_and_cert("west")
        pki.issue("west", "west.example.net", san="dns:west.example.net,ip:198.51.100.1")
        assert key_ids(west) == old_keys

        applied = run_command_module(run_playbook, "rereadcerts")
        assert applied["commands"] == [whack_argv("--rereadcerts")]
        assert any("reloaded leftcert='west'" in line for line in applied["output"]), applied["output"]
        new_keys = key_ids(west) - old_keys
        assert len(new_keys) == 1
    finally:
        fresh_nss(west)


def crl_listing(host):
    return host.whack("--listcrls").stdout


def test_fetchcrls_fetches_pending_crl(clean_lab, run_playbook, tmp_path):
    west, east = clean_lab["west"], clean_lab["east"]
    capture = load_capture_script()
    url = "http://%s:8080/lab.crl" % east.address
    pki = capture.NssPki(west.nss_dir, tmp_path / "pki", crl_url=url)
    served = tmp_path / "www"
    served.mkdir()
    server = None
    try:
        pki.create_ca()
        shutil.copy(pki.make_crl([1999], import_into_host=False), served / "lab.crl")
        # An hour between checks: a fetch within the test can only come from fetchcrls.
        west.write_config("config setup\n\tcrlcheckinterval=1h\n\ninclude /etc/ipsec.d/*.conf\n")
        west.restart_pluto()
        # pluto queues the fetch 5 seconds after it starts; nothing serves the URL yet.
        assert wait_for(lambda: "trials: 1" in crl_listing(west), timeout=30), crl_listing(west)
        assert "revoked certs" not in crl_listing(west)

        server = subprocess.Popen(
            [str(east.wrapper), "python3", "-m", "http.server", "--bind", east.address, "--directory", str(served), "8080"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: east.run(["ss", "-ltn"]).stdout.count(":8080") > 0, timeout=10)
        time.sleep(2)
        assert "revoked certs" not in crl_listing(west)

        applied = run_command_module(run_playbook, "fetchcrls")
        assert applied["commands"] == [whack_argv("--fetchcrls")]
        assert wait_for(lambda: "revoked certs: 1" in crl_listing(west), timeout=15), crl_listing(west)
        assert "List of CRL fetch requests" not in crl_listing(west)
        assert "imported CRL for 'C=XX, O=ipsec.libreswan tests, CN=Lab CA' from: %s" % url in west.read_log()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        fresh_nss(west)


def test_purgeocsp_runs(clean_lab, run_playbook):
    applied = run_command_module(run_playbook, "purgeocsp")
    assert applied["commands"] == [whack_argv("--purgeocsp")]
    assert applied["output"] == []


FAILING = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: obsolete
      ipsec.libreswan.ipsec_pluto: {command: rereadcrls}
      ignore_errors: true
    - name: no pluto
      ipsec.libreswan.ipsec_pluto: {command: rereadsecrets, ctlsocket: /run/pluto/absent.ctl}
      ignore_errors: true
    - name: no pluto in check mode
      ipsec.libreswan.ipsec_pluto: {command: rereadsecrets, ctlsocket: /run/pluto/absent.ctl}
      check_mode: true
      ignore_errors: true
"""


def test_obsolete_operation_and_missing_pluto_fail(clean_lab, run_playbook):
    west = clean_lab["west"]
    run = run_playbook(FAILING)
    obsolete = run.result("obsolete", "west")
    assert obsolete["_lab_status"] == "ignored"
    assert obsolete["msg"].startswith("command=rereadcrls is not supported")
    assert "command=fetchcrls" in obsolete["msg"]
    assert "rereadcrls" not in west.read_log()
    for task in ("no pluto", "no pluto in check mode"):
        result = run.result(task, "west")
        assert result["_lab_status"] == "ignored"
        assert "control socket /run/pluto/absent.ctl does not exist" in result["msg"]


def test_examples_run(clean_lab, run_playbook):
    from ansible_collections.ipsec.libreswan.plugins.modules import ipsec_pluto

    tasks = "\n".join("    " + line if line else "" for line in ipsec_pluto.EXAMPLES.strip("\n").splitlines())
    run = run_playbook("- hosts: west\n  gather_facts: false\n  tasks:\n" + tasks + "\n")
    assert run.rc == 0, str(run)
    assert run.failed() == 0
    assert run.changed("west") == 3
