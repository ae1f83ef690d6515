"""Libreswan 5.2 (Debian 13's package) on lab hosts, beside the machine's own 4.10.

The 5.2 tree comes from scripts/fetch-libreswan-5.2.sh, which downloads from the Debian mirror
this machine already uses. These tests skip when not root or when that download fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time

import pytest

from tests.lab import Lab
from tests.lab.libreswan52 import FetchError, libreswan_52_installation

pytestmark = pytest.mark.lab

# 32 bytes or more, so pluto does not warn that the PSK is too short for HMAC-SHA2-512.
PSK = "lab-only-pre-shared-key-0123456789abcdef"
CONN = "mixed"
# Up to 4.x every line of `whack --status` starts with a three-digit code; 5.0 dropped it.
NUMERIC_PREFIX_RE = re.compile(r"^\d{3} ", re.MULTILINE)


@pytest.fixture(scope="module")
def libreswan_52(lab_available):
    """The 5.2 Installation; skips only when the download from the mirror fails."""
    try:
        return libreswan_52_installation()
    except FetchError as error:
        if error.download_failed:
            pytest.skip("Libreswan 5.2 could not be downloaded from the Debian mirror: %s" % error)
        raise


@pytest.fixture(scope="module")
def mixed_lab(libreswan_52):
    """west runs the machine's Libreswan (4.10), east runs 5.2."""
    with Lab(hosts=("west", "east"), ipv6=False, installation={"east": libreswan_52}) as lab:
        yield lab


@pytest.fixture(scope="module")
def lab_52(libreswan_52):
    """Both hosts run 5.2."""
    with Lab(hosts=("west", "east"), ipv6=False, installation=libreswan_52) as lab:
        yield lab


def psk_conn(left: str, right: str) -> str:
    return textwrap.dedent(
        """\
        conn {name}
        \tleft={left}
        \tleftid=@west
        \tright={right}
        \trightid=@east
        \tauthby=secret
        \tauto=add
        """
    ).format(name=CONN, left=left, right=right)


def write_psk_conn(lab) -> None:
    west, east = lab["west"], lab["east"]
    for host in lab:
        host.write_file("ipsec.d/%s.conf" % CONN, psk_conn(west.address, east.address))
        host.write_file("ipsec.d/%s.secrets" % CONN, '@west @east : PSK "%s"\n' % PSK, 0o600)


def add_conn(host) -> None:
    """Load CONN with the command that the host's Libreswan documents (5.x deprecates `auto`)."""
    host.whack("--rereadsecrets")
    if host.installation.version.startswith("4."):
        host.run(["ipsec", "auto", "--add", CONN])
    else:
        host.run(["ipsec", "add", CONN])


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ipsec_version(host) -> str:
    return host.run(["ipsec", "--version"]).stdout.strip()


# The 5.2 tree and the commands a host runs


def test_fetched_programs_report_52(libreswan_52):
    assert libreswan_52.version == "5.2"
    pluto = subprocess.run([*libreswan_52.pluto_argv, "--version"], capture_output=True, text=True, check=True)
    assert pluto.stdout.startswith("Libreswan 5.2")
    execdir = dict((target, source) for source, target in libreswan_52.mounts)["/usr/libexec/ipsec"]
    whack = subprocess.run([os.path.join(execdir, "whack"), "--version"], capture_output=True, text=True, check=True)
    assert whack.stdout.strip() == "Libreswan 5.2"


def test_ipsec_command_version_per_host(mixed_lab):
    assert ipsec_version(mixed_lab["west"]).startswith("Libreswan 4.")
    assert ipsec_version(mixed_lab["east"]) == "Libreswan 5.2"
    machine = subprocess.run(["/usr/sbin/ipsec", "--version"], capture_output=True, text=True, check=True)
    assert machine.stdout.startswith("Libreswan 4.")


def test_status_format_per_host(mixed_lab):
    west_status = mixed_lab["west"].status()
    east_status = mixed_lab["east"].status()
    assert NUMERIC_PREFIX_RE.search(west_status), west_status[:500]
    assert "using kernel interface: xfrm" in east_status
    assert not NUMERIC_PREFIX_RE.search(east_status), east_status[:500]


def test_pluto_52_process_is_named_pluto(mixed_lab):
    east = mixed_lab["east"]
    with open("/proc/%d/comm" % east.pluto_pid) as comm:
        assert comm.read().strip() == "pluto"
    assert str(east.pluto_pid) in east.run(["pidof", "pluto"]).stdout.split()


def test_pluto_52_start_up_loads_conns(mixed_lab):
    # pluto runs `addconn --autoall` from its compiled-in /usr/libexec/ipsec at start-up. With
    # 4.10 there, pluto 5.2 rejects that addconn with "Mismatched versions of userland tools"
    # and loads no conns.
    east = mixed_lab["east"]
    write_psk_conn(mixed_lab)
    try:
        east.restart_pluto()
        assert wait_for(lambda: CONN in east.connection_names(), timeout=10), east.read_log()[-2000:]
        assert "Mismatched versions" not in east.read_log()
    finally:
        mixed_lab.reset(restart=True)


# IKE between 4.10 and 5.2, and between two 5.2 hosts


@pytest.mark.parametrize("initiator", ["west", "east"])
def test_mixed_pair_establishes_ike_sa(mixed_lab, initiator):
    mixed_lab.reset(restart=True)
    write_psk_conn(mixed_lab)
    for host in mixed_lab:
        add_conn(host)

    # The exit code of an initiation does not reflect the SAs, so the outcome is read from
    # pluto's state on both hosts.
    mixed_lab[initiator].whack("--name", CONN, "--initiate", "--asynchronous")

    for host in mixed_lab:
        assert wait_for(lambda host=host: host.ike_sa_established(CONN)), "%s:\n%s" % (host.name, host.status())
    assert "Mismatched versions" not in mixed_lab["east"].read_log()


def test_both_52_establish_ike_sa(lab_52):
    for host in lab_52:
        assert ipsec_version(host) == "Libreswan 5.2"
    write_psk_conn(lab_52)
    for host in lab_52:
        add_conn(host)

    lab_52["west"].whack("--name", CONN, "--initiate", "--asynchronous")

    for host in lab_52:
        assert wait_for(lambda host=host: host.ike_sa_established(CONN)), "%s:\n%s" % (host.name, host.status())
        assert "Mismatched versions" not in host.read_log()
