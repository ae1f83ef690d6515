"""Real IPsec tunnels that ipsec_connection builds between west and east, carrying traffic in ESP.

These tests need a kernel that installs ESP SAs. Where this kernel lacks ESP, the esp_guest plugin
runs them in one User-Mode Linux guest (see esp_guest.py); the test code is the same in both places.

West initiates three connections to east:
- h2h: IPv4 host to host with a PSK; the IDs are the addresses.
- s2s: IPv4 subnet to subnet with two leftsubnets, so pluto has two children, s2s/1x0 and
  s2s/2x0; the IDs are @west and @east.
- v6: IPv6 subnet to subnet over the lab's IPv6 link.
The IDs differ between h2h and s2s, so they never share an IKE SA and replacing one leaves the
other alone.

The tests share the lab state and run in file order, each with at most one ansible-playbook run
(one run costs seconds in the guest). The module fixture loads every connection on east and
brings them up from west, twice in one playbook. The next tests check that state and the traffic.
The proposal test then replaces h2h, and the last tests take the connections down, routed and
absent.

The lab hosts have no default route, and Libreswan 4.10's updown script adds a route to the peer's
subnet only when the kernel reports "No route to host" for it, so the fixture adds routes to the
peer's protected subnets via the peer. Without an IPsec policy, that traffic would pass in clear.
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
# Libreswan 4.10 `whack --status` lines, after the optional "000 " prefix.
NEWEST_RE = re.compile(r'^(?:\d{3} )?"([^"]+)":\s+newest IKE SA: #(\d+); newest IPsec SA: #(\d+);', re.M)
ESP_LINE_RE = re.compile(r'^(?:\d{3} )?#(\d+): "([^"]+)"(?:\[\d+\])? esp[.:]([0-9a-f]+)@(\S+) esp[.:]([0-9a-f]+)@(\S+)', re.M)
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
    """One connection under test: its children as pluto names them and one ping per child.

    `pings` pairs each child with (source, destination); a source of None lets the kernel pick.
    `outer` is the pair of west's and east's lab addresses that carry its ESP packets.
    """

    conn: str
    children: tuple
    pings: tuple
    outer: tuple
    subnets: tuple


def describe_tunnels(lab) -> dict:
    west, east = lab["west"], lab["east"]
    return {
        "h2h": Tunnel(
            "h2h",
            ("h2h",),
            ((None, east.address),),
            (west.address, east.address),
            (("%s/32" % west.address, "%s/32" % east.address),),
        ),
        "s2s": Tunnel(
            "s2s",
            ("s2s/1x0", "s2s/2x0"),
            tuple((str(source.ip), str(EAST4[0].ip)) for source in WEST4),
            (west.address, east.address),
            tuple((str(source.network), str(EAST4[0].network)) for source in WEST4),
        ),
        "v6": Tunnel(
            "v6",
            ("v6",),
            ((str(WEST6[0].ip), str(EAST6[0].ip)),),
            (west.address6, east.address6),
            ((str(WEST6[0].network), str(EAST6[0].network)),),
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
    """Return a play that brings every connection in `conns` to `state` on `host`."""
    return (
        "- name: %(host)s %(state)s\n"
        "  hosts: %(host)s\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: %(host)s %(state)s\n"
        '      ipsec.libreswan.ipsec_connection: {name: "{{ item }}", state: %(state)s}\n'
        '      loop: "{{ conns }}"\n'
    ) % {"host": host, "state": state}


# Plays 0 and 1 are the first run, plays 2 and 3 the same plays again.
UP_TWICE = play("east", "present") + play("west", "up") + play("east", "present") + play("west", "up")


def loop_results(run, play_index: int, host: str) -> dict:
    """Return {connection: module result} of the looped task in play number `play_index`."""
    outcome = run.plays[play_index]["tasks"][0]["hosts"][host]
    return {entry["item"]: entry for entry in outcome.get("results", [])}


def newest_serials(host) -> dict:
    """Return {child: (newest IKE SA, newest IPsec SA)} from `whack --status`."""
    return {match[0]: (int(match[1]), int(match[2])) for match in NEWEST_RE.findall(host.status())}


def esp_spis(host, child: str) -> tuple:
    """Return (outbound SPI, inbound SPI) of `child`'s newest IPsec SA, from `whack --status`."""
    status = host.status()
    serials = newest_serials(host)
    assert child in serials, "no %r in the status:\n%s" % (child, status)
    newest_ipsec = serials[child][1]
    for match in ESP_LINE_RE.finditer(status):
        if int(match.group(1)) == newest_ipsec and match.group(2) == child:
            return int(match.group(3), 16), int(match.group(5), 16)
    raise AssertionError("no ESP line of %s #%d in the status:\n%s" % (child, newest_ipsec, status))


def traffic(host) -> dict:
    """Return {child: (inBytes, outBytes)} from `whack --trafficstatus`."""
    text = host.whack("--trafficstatus").stdout
    return {match[1]: (int(match[2]), int(match[3])) for match in TRAFFIC_RE.findall(text)}


def sa_bytes(host) -> dict:
    """Return {SPI: bytes} of the ESP SAs in `host`'s kernel."""
    return {state.spi: state.bytes for state in xfrm_states(host) if state.proto == "esp" and not state.larval}


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


@dataclass
class TunnelLab:
    """The module's shared state: the lab, the connections under test and the first playbook run."""

    lab: object
    tunnels: dict
    up_run: object
    capture_dir: object


@pytest.fixture(scope="module")
def tunnel_lab(lab, run_playbook):
    if not esp_supported():
        pytest.fail("this kernel cannot install ESP SAs (%s); the esp_guest plugin should have run these tests "
                    "in the UML guest" % esp_probe())
    lab.reset()
    west, east = lab["west"], lab["east"]
    west.write_file(CONFIG_FILE, render_config(lab, WEST_H2H_ESP))
    east.write_file(CONFIG_FILE, render_config(lab, EAST_H2H_ESP))
    for host in (west, east):
        host.write_secrets(render_secrets(lab))
        host.whack("--rereadsecrets")
    routes = subnet_routes(lab)
    try:
        for host, network, gateway in routes:
            run_command(["ip", "-n", host.namespace, "route", "replace", network, "via", gateway])
        up_run = run_playbook(UP_TWICE, extra_vars={"conns": CONNS})
        yield TunnelLab(lab, describe_tunnels(lab), up_run, lab.root / "captures")
    finally:
        for host, network, gateway in routes:
            run_command(["ip", "-n", host.namespace, "route", "del", network, "via", gateway], check=False)
        lab.reset()


def ping_with_capture(tunnel_lab, name: str, tunnel: Tunnel, count: int = 3, wait: float = 2):
    """Ping once per child of `tunnel` while capturing west's egress; return (ping results, packet lines)."""
    west = tunnel_lab.lab["west"]
    path = tunnel_lab.capture_dir / ("%s-%s.pcap" % (tunnel.conn, name))
    with PacketCapture(west, path) as capture:
        results = [ping(west, destination, source=source, count=count, wait=wait) for source, destination in tunnel.pings]
    return results, capture.summaries()


def test_up_establishes_every_connection(tunnel_lab):
    run = tunnel_lab.up_run
    assert run.failed() == 0, run
    loaded = loop_results(run, 0, "east")
    established = loop_results(run, 1, "west")
    for conn in CONNS:
        assert loaded[conn]["changed"] is True, loaded[conn]
        assert established[conn]["changed"] is True, established[conn]
        assert established[conn]["after"]["up"] is True, established[conn]
        for child in tunnel_lab.tunnels[conn].children:
            assert tunnel_lab.lab["west"].child_sa_established(child), child


def test_second_run_changes_nothing(tunnel_lab):
    run = tunnel_lab.up_run
    for play_index, host in ((2, "east"), (3, "west")):
        results = loop_results(run, play_index, host)
        for conn in CONNS:
            assert results[conn]["changed"] is False, results[conn]
            assert results[conn]["commands"] == [], results[conn]


def test_second_run_keeps_sa_serials(tunnel_lab):
    first = loop_results(tunnel_lab.up_run, 1, "west")
    second = loop_results(tunnel_lab.up_run, 3, "west")
    live = newest_serials(tunnel_lab.lab["west"])
    for conn in CONNS:
        for child in tunnel_lab.tunnels[conn].children:
            before = first[conn]["after"]["children"][child]
            after = second[conn]["after"]["children"][child]
            assert after["newest_ike_sa"] == before["newest_ike_sa"], (child, before, after)
            assert after["newest_ipsec_sa"] == before["newest_ipsec_sa"], (child, before, after)
            assert live[child] == (before["newest_ike_sa"], before["newest_ipsec_sa"]), (child, live)


@pytest.mark.parametrize("conn", CONNS)
def test_up_installs_esp_sas_and_policies(tunnel_lab, conn):
    west = tunnel_lab.lab["west"]
    tunnel = tunnel_lab.tunnels[conn]
    local, remote = tunnel.outer
    states = {state.spi: state for state in keyed_esp_states(west)}
    policies = xfrm_policies(west)
    for child, (source_net, destination_net) in zip(tunnel.children, tunnel.subnets):
        outbound, inbound = esp_spis(west, child)
        assert outbound in states, (child, hex(outbound), states)
        assert inbound in states, (child, hex(inbound), states)
        assert (states[outbound].src, states[outbound].dst, states[outbound].mode) == (local, remote, "tunnel")
        assert (states[inbound].src, states[inbound].dst, states[inbound].mode) == (remote, local, "tunnel")
        out_policies = [p for p in policies if (p.src, p.dst, p.direction) == (source_net, destination_net, "out")]
        assert len(out_policies) == 1, (child, policies)
        template = out_policies[0].template
        assert template is not None, out_policies
        assert (template["src"], template["dst"], template["mode"]) == (local, remote, "tunnel"), template


@pytest.mark.parametrize("conn", CONNS)
def test_ping_travels_only_as_esp(tunnel_lab, conn):
    west = tunnel_lab.lab["west"]
    tunnel = tunnel_lab.tunnels[conn]
    spis = {child: esp_spis(west, child) for child in tunnel.children}
    bytes_before = sa_bytes(west)
    traffic_before = traffic(west)

    results, packets = ping_with_capture(tunnel_lab, "up", tunnel)

    for result in results:
        assert result.all_answered, result.output
    bytes_after = sa_bytes(west)
    traffic_after = traffic(west)
    esp_counts = esp_packets_by_spi(packets)
    for child, (outbound, inbound) in spis.items():
        assert bytes_after[outbound] > bytes_before[outbound], (child, "outbound SA counter")
        assert bytes_after[inbound] > bytes_before[inbound], (child, "inbound SA counter")
        assert traffic_after[child][0] > traffic_before[child][0], (child, "trafficstatus inBytes")
        assert traffic_after[child][1] > traffic_before[child][1], (child, "trafficstatus outBytes")
        assert esp_counts.get(outbound, 0) >= 3, (child, hex(outbound), packets)
    assert clear_packets(packets) == [], packets


def test_proposal_change_replaces_connection(tunnel_lab, run_playbook):
    lab = tunnel_lab.lab
    west = lab["west"]
    assert re.search(r'"h2h":\s+ESP algorithm newest: AES_GCM_16_256', west.status()), west.status()
    serials_before = newest_serials(west)

    west.write_file(CONFIG_FILE, render_config(lab, CHANGED_H2H_ESP))
    run = run_playbook(play("west", "up"), extra_vars={"conns": CONNS})

    assert run.failed() == 0, run
    results = loop_results(run, 0, "west")
    h2h = results["h2h"]
    assert h2h["changed"] is True, h2h
    assert "esp" in {difference["field"] for difference in h2h["differences"]}, h2h["differences"]
    assert [step["action"] for step in h2h["plan"]] == ["delete", "add", "initiate"], h2h["plan"]
    for conn in ("s2s", "v6"):
        assert results[conn]["changed"] is False, results[conn]

    status = west.status()
    assert re.search(r'"h2h":\s+ESP algorithm newest: AES_CBC_128-HMAC_SHA2_256_128', status), status
    serials_after = newest_serials(west)
    assert serials_after["h2h"][1] != serials_before["h2h"][1]
    for child in ("s2s/1x0", "s2s/2x0", "v6"):
        assert serials_after[child] == serials_before[child], child
    outbound, _ = esp_spis(west, "h2h")
    algorithms = {state.spi: state.algorithms for state in keyed_esp_states(west)}[outbound]
    assert algorithms == {"enc": "cbc(aes)", "auth-trunc": "hmac(sha256)"}, algorithms
    result = ping(west, lab["east"].address, count=2)
    assert result.all_answered, result.output


def test_down_removes_sas_and_blocks_clear_traffic(tunnel_lab, run_playbook):
    west = tunnel_lab.lab["west"]
    run = run_playbook(play("west", "down"), extra_vars={"conns": CONNS})

    assert run.failed() == 0, run
    results = loop_results(run, 0, "west")
    for conn in CONNS:
        assert results[conn]["changed"] is True, results[conn]
        assert results[conn]["after"]["has_sas"] is False, results[conn]
    assert keyed_esp_states(west) == []
    # The trap policies stay: the kernel holds matching packets for pluto instead of sending them in clear.
    trapped = {(p.src, p.dst) for p in xfrm_policies(west) if p.direction == "out" and p.template}
    for tunnel in tunnel_lab.tunnels.values():
        for selector in tunnel.subnets:
            assert selector in trapped, (selector, trapped)

    for tunnel in tunnel_lab.tunnels.values():
        results, packets = ping_with_capture(tunnel_lab, "down", tunnel, count=1, wait=1)
        for result in results:
            assert result.received == 0, result.output
        assert clear_packets(packets) == [], packets


def test_routed_brings_tunnel_up_on_demand(tunnel_lab, run_playbook):
    west = tunnel_lab.lab["west"]
    # Unloading first clears any negotiation that earlier pings started through the trap policies.
    run = run_playbook(play("west", "absent") + play("west", "routed"), extra_vars={"conns": CONNS})

    assert run.failed() == 0, run
    results = loop_results(run, 1, "west")
    for conn in CONNS:
        assert results[conn]["changed"] is True, results[conn]
        assert results[conn]["after"]["routed"] is True, results[conn]
    assert keyed_esp_states(west) == []

    for tunnel in tunnel_lab.tunnels.values():
        # The first packet only triggers the negotiation; the kernel drops it.
        for source, destination in tunnel.pings:
            ping(west, destination, source=source, count=1, wait=1)
        for child in tunnel.children:
            assert wait_for(lambda: west.child_sa_established(child), timeout=20), (child, west.status())
        pings, packets = ping_with_capture(tunnel_lab, "routed", tunnel)
        for result in pings:
            assert result.all_answered, result.output
        esp_counts = esp_packets_by_spi(packets)
        for child in tunnel.children:
            outbound, _ = esp_spis(west, child)
            assert esp_counts.get(outbound, 0) >= 3, (child, packets)
        assert clear_packets(packets) == [], packets


def test_absent_removes_sas_and_policies(tunnel_lab, run_playbook):
    west, east = tunnel_lab.lab["west"], tunnel_lab.lab["east"]
    run = run_playbook(play("west", "absent"), extra_vars={"conns": CONNS})

    assert run.failed() == 0, run
    results = loop_results(run, 0, "west")
    for conn in CONNS:
        assert results[conn]["changed"] is True, results[conn]
        assert results[conn]["after"]["loaded"] is False, results[conn]
    assert keyed_esp_states(west) == []
    selectors = {selector for tunnel in tunnel_lab.tunnels.values() for selector in tunnel.subnets}
    policies = xfrm_policies(west)
    assert [p for p in policies if p.template is not None] == []
    assert [p for p in policies if (p.src, p.dst) in selectors or (p.dst, p.src) in selectors] == []
    # West's delete notifications make east remove its half as well.
    assert wait_for(lambda: keyed_esp_states(east) == [], timeout=10), xfrm_states(east)
