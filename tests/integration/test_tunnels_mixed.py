"""Tunnels that need ESP (run in the guest kernel on this machine): a 4.10/5.2 pair carrying
traffic, and ipsec_info's SA counters against the kernel's own.
"""

from __future__ import annotations

import time

import pytest

from tests.lab import Lab, esp_supported, ping, xfrm_states

pytestmark = [pytest.mark.lab, pytest.mark.esp]

CONN = """\
conn h2h
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tesp=aes_gcm256
\tauto=ignore
"""
SECRETS = '@west @east : PSK "mixed-pair-0123456789"\n'


def bring_up(lab):
    west, east = lab["west"], lab["east"]
    for host in (west, east):
        host.write_file("ipsec.d/h2h.conf", CONN)
        host.write_secrets(SECRETS)
        host.whack("--rereadsecrets")
        host.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", "h2h"])
    west.whack("--asynchronous", "--name", "h2h", "--initiate", check=False)
    deadline = time.monotonic() + 30
    while not west.child_sa_established("h2h") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert west.child_sa_established("h2h"), west.status()


def esp_bytes(host, destination):
    return sum(state.bytes or 0 for state in xfrm_states(host) if state.proto == "esp" and state.dst == destination)


def test_mixed_410_and_52_pair_carries_traffic(lab_available):
    if not esp_supported():
        pytest.fail("this kernel cannot install ESP SAs; the esp_guest plugin runs this test in the guest")
    from tests.lab.libreswan52 import FetchError, libreswan_52_installation

    try:
        installation = libreswan_52_installation()
    except FetchError as error:
        pytest.skip("Libreswan 5.2 could not be fetched: %s" % error)
    with Lab(hosts=("west", "east"), ipv6=False, installation={"east": installation}) as lab:
        assert lab["east"].run(["ipsec", "--version"]).stdout.strip().endswith("5.2")
        bring_up(lab)
        assert lab["east"].child_sa_established("h2h"), lab["east"].status()
        before = esp_bytes(lab["west"], "198.51.100.2")
        result = ping(lab["west"], "198.51.100.2", count=3)
        assert result.all_replied, result.output
        assert esp_bytes(lab["west"], "198.51.100.2") > before


INFO = """\
- hosts: west
  gather_facts: false
  tasks:
    - name: info
      ipsec.libreswan.ipsec_info:
        gather_subset: [sas]
        name: h2h
"""


def test_info_counters_match_kernel(clean_lab, run_playbook):
    if not esp_supported():
        pytest.fail("this kernel cannot install ESP SAs; the esp_guest plugin runs this test in the guest")
    bring_up(clean_lab)
    result = ping(clean_lab["west"], "198.51.100.2", count=3)
    assert result.all_replied, result.output
    info = run_playbook(INFO).result("info", "west")
    children = [sa for sa in info["sas"] if sa["kind"] == "Child" and sa["established"]]
    assert len(children) == 1, info["sas"]
    child = children[0]
    kernel = {state.spi: state.bytes for state in xfrm_states(clean_lab["west"]) if state.proto == "esp"}
    assert child["out_bytes"] > 0
    assert child["out_bytes"] == kernel[int(child["esp"]["spi_out"], 16)]
    assert child["in_bytes"] == kernel[int(child["esp"]["spi_in"], 16)]
