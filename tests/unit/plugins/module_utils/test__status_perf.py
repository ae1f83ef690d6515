"""parse_status() time grows linearly with the number of connections."""

import gc
import time

from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status

# One connection as pluto 4.x prints it, with an established IKE SA and Child SA.
CONNECTION = """\
000 "c{n}": 203.0.113.0/26===198.51.100.1[@gw.example.net]...198.51.100.2[@peer{n}.example.net]===203.0.113.64/26; erouted; eroute owner: #{child}
000 "c{n}":     oriented; my_ip=unset; their_ip=unset; my_updown=ipsec _updown;
000 "c{n}":   xauth us:none, xauth them:none,  my_username=[any]; their_username=[any]
000 "c{n}":   our auth:secret, their auth:secret, our autheap:none, their autheap:none;
000 "c{n}":   modecfg info: us:none, them:none, modecfg policy:push, dns:unset, domains:unset, cat:unset;
000 "c{n}":   sec_label:unset;
000 "c{n}":   ike_life: 10800s; ipsec_life: 28800s; ipsec_max_bytes: 2^63B; ipsec_max_packets: 2^63; \
replay_window: 128; rekey_margin: 540s; rekey_fuzz: 100%; keyingtries: 1;
000 "c{n}":   retransmit-interval: 500ms; retransmit-timeout: 60s; iketcp:no; iketcp-port:4500;
000 "c{n}":   initial-contact:no; cisco-unity:no; fake-strongswan:no; send-vendorid:no; send-no-esp-tfc:no;
000 "c{n}":   policy: IKEv2+PSK+ENCRYPT+TUNNEL+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES;
000 "c{n}":   v2-auth-hash-policy: none;
000 "c{n}":   conn_prio: 32,32; interface: eth0; metric: 0; mtu: unset; sa_prio:auto; sa_tfc:none;
000 "c{n}":   nflog-group: unset; mark: unset; vti-iface:unset; vti-routing:no; vti-shared:no; nic-offload:auto;
000 "c{n}":   our idtype: ID_FQDN; our id=@gw.example.net; their idtype: ID_FQDN; their id=@peer{n}.example.net
000 "c{n}":   liveness: passive; dpdaction:hold; dpddelay:0s; retransmit-timeout:60s
000 "c{n}":   nat-traversal: encaps:auto; keepalive:20s
000 "c{n}":   newest IKE SA: #{ike}; newest IPsec SA: #{child}; conn serial: ${n};
"""
STATES = """\
000 #{ike}: "c{n}":500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 10054s; REPLACE in 10799s; newest; idle;
000 #{child}: "c{n}":500 STATE_V2_ESTABLISHED_CHILD_SA (established Child SA); REKEY in 27000s; newest; eroute owner; IKE SA #{ike}; idle;
000 #{child}: "c{n}" esp.{n:08x}@198.51.100.2 esp.{ike:08x}@198.51.100.1 tun.0@198.51.100.2 tun.0@198.51.100.1 Traffic: ESPin={n}B ESPout=84B ESPmax=2^63B
"""


def synthetic_status(count):
    parts = ["000 Connection list:\n000  \n"]
    for n in range(1, count + 1):
        parts.append(CONNECTION.format(n=n, ike=2 * n - 1, child=2 * n))
    parts.append("000  \n000 Total IPsec connections: loaded %d, active %d\n000  \n" % (count, count))
    for n in range(1, count + 1):
        parts.append(STATES.format(n=n, ike=2 * n - 1, child=2 * n))
    return "".join(parts)


def best_time(text, rounds=5):
    """Return the fastest of several parses, with the garbage collector paused as timeit does."""
    best = None
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _round in range(rounds):
            start = time.perf_counter()
            result = parse_status(text)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
    finally:
        if enabled:
            gc.enable()
    return best, result


def test_synthetic_status_parses_completely():
    result = parse_status(synthetic_status(50))
    assert result["warnings"] == []
    assert len(result["connections"]) == 50
    assert len(result["states"]) == 100
    assert result["connections"]["c50"]["newest_ipsec_sa"] == 100
    assert result["states"][100]["esp"]["in_bytes"] == 50
    assert result["states"][100]["esp"]["spi_out"] == "00000032"


def test_parse_time_scales_linearly():
    small_time, _small = best_time(synthetic_status(500))
    large_time, large = best_time(synthetic_status(2000))
    assert large["warnings"] == []
    assert len(large["connections"]) == 2000
    assert len(large["states"]) == 4000
    # The input is four times larger, so a quadratic parser would take about sixteen
    # times as long. The bound is generous because shared CI machines are noisy.
    assert large_time < 8 * small_time + 0.05
    # Measured at 0.15 to 0.25 s on a 2-core machine with Python 3.11, so this bound
    # only catches a gross slowdown.
    assert large_time < 3.0
