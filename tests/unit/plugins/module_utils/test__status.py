"""parse_status() and normalise_routing() on hand-written outputs in the shapes of Libreswan 3.x to 5.x."""

import json
import os

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._status import (
    ROUTING_STATES,
    normalise_routing,
    parse_status,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "status")


def read_fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# --- routing words ----------------------------------------------------------------

ROUTING_WORDS = [
    # 3.x and 4.x (routing_story in programs/pluto/pluto_constants.c)
    ("unrouted", "unrouted"),
    ("unrouted HOLD", "negotiating"),
    ("eroute eclipsed", "routed"),
    ("prospective erouted", "routed"),
    ("erouted HOLD", "negotiating"),
    ("fail erouted", "failed"),
    ("erouted", "established"),
    ("keyed, unrouted", "established"),
    # 5.x (routing_names in programs/pluto/routing_names.c)
    ("routed-never-negotiate", "routed"),
    ("routed-ondemand", "routed"),
    ("unrouted-bare-negotiation", "negotiating"),
    ("unrouted-negotiation", "negotiating"),
    ("routed-negotiation", "negotiating"),
    ("routed-failure", "failed"),
    ("unrouted-inbound", "negotiating"),
    ("unrouted-inbound-negotiation", "negotiating"),
    ("routed-inbound-negotiation", "negotiating"),
    ("routed-tunnel", "established"),
    ("unrouted-tunnel", "established"),
    ("unoriented", "unoriented"),
]


@pytest.mark.parametrize("word, expected", ROUTING_WORDS)
def test_routing_word_maps_to_state(word, expected):
    assert normalise_routing(word) == expected


def test_routing_states_are_the_documented_set():
    assert ROUTING_STATES == ("unrouted", "routed", "negotiating", "established", "failed", "unoriented", "other")
    assert set(expected for _word, expected in ROUTING_WORDS) | {"other"} == set(ROUTING_STATES)


@pytest.mark.parametrize("word", ["wibbling", "", None, "routed tunnel"])
def test_unknown_routing_word_is_other(word):
    assert normalise_routing(word) == "other"


def test_routing_word_ignores_case_and_blanks():
    assert normalise_routing("  Erouted   hold ") == "negotiating"


def test_unknown_routing_word_warns_once():
    text = (
        '"x": 198.51.100.1...198.51.100.2; wibbling; my_ip=unset; their_ip=unset;\n'
        '"x":   routing: wibbling;\n'
    )
    result = parse_status(text)
    assert result["connections"]["x"]["routing"] == "other"
    assert result["connections"]["x"]["routing_raw"] == "wibbling"
    assert result["warnings"] == ["unrecognised routing word 'wibbling' of connection 'x'"]


# --- line codes, blank lines and unknown lines ------------------------------------


def test_code_000_with_blanks_is_empty_line():
    result = parse_status("000  \n000 \n000\n \n\n")
    assert result["warnings"] == []
    assert result["connections"] == {}


def test_unknown_code_on_known_line_parses():
    result = parse_status("003 Total IPsec connections: loaded 2, active 1\n")
    assert result["warnings"] == []
    assert result["totals"] == {"loaded": 2, "active": 1, "routed": None}


def test_unknown_line_warns_with_quote():
    result = parse_status("000 Connection list:\n003 WARNING: using a weak secret (PSK)\n")
    assert result["warnings"] == ["unrecognised status line: '003 WARNING: using a weak secret (PSK)'"]


def test_every_unknown_line_warns_in_order():
    result = parse_status("first odd line\n000 Connection list:\nsecond odd line\n")
    assert result["warnings"] == [
        "unrecognised status line: 'first odd line'",
        "unrecognised status line: 'second odd line'",
    ]


@pytest.mark.parametrize("text", [
    None,
    "",
    "\x00\x01\x02",
    '"',
    '"unterminated: 1.2.3.4...5.6.7.8; erouted',
    '"x": ...; ;;;',
    '"x":   ;;;; ,, ==',
    "#",
    "#1:",
    '#1: "x":',
    '#1: "x":500 ',
    '#2: "x" esp.@ Traffic: ESPin= ESPout=!',
    "000 interface",
    "Total IPsec connections: loaded many",
    "IKE SAs: total(",
    "=" * 50,
    "000 " * 200,
    '"a"[1][2]: [[[...]]]; erouted',
])
def test_odd_input_never_raises(text):
    result = parse_status(text)
    assert isinstance(result["warnings"], list)
    json.dumps(result)


# --- connection header: the topology of both ends ----------------------------------


def parse_one(line):
    result = parse_status(line)
    assert result["warnings"] == []
    (conn,) = list(result["connections"].values())
    return conn


def test_header_3x_end_with_every_part():
    conn = parse_one(
        '000 "l2tp": 198.51.100.1<gw.example.org>:4500[@west,MS+XS+S=C]:17/1701---198.51.100.254'
        '...198.51.100.9<198.51.100.9>[@east]:17/1701; unrouted; eroute owner: #0'
    )
    assert conn["local"] == {
        "host": "198.51.100.1", "subnets": [], "id": "@west", "protoport": "17/1701",
        "nexthop": "198.51.100.254", "hostname": "gw.example.org", "port": 4500,
    }
    assert conn["remote"]["host"] == "198.51.100.9"
    assert conn["remote"]["hostname"] is None
    assert conn["remote"]["id"] == "@east"
    assert conn["remote"]["protoport"] == "17/1701"
    assert conn["owner"] is None


def test_header_4x_client_with_protocol_port():
    conn = parse_one(
        '000 "l2tp": 203.0.113.0/26:UDP/1701===198.51.100.1[@west]...198.51.100.9[@east]'
        '===203.0.113.64/26:UDP/1701; prospective erouted; eroute owner: #0'
    )
    assert conn["local"]["subnets"] == ["203.0.113.0/26"]
    assert conn["local"]["protoport"] == "UDP/1701"
    assert conn["remote"]["subnets"] == ["203.0.113.64/26"]
    assert conn["routing"] == "routed"


def test_header_5x_selector_protocol_port():
    conn = parse_one(
        '"l2tp": 203.0.113.0/26/UDP/1701===198.51.100.1[@west]...198.51.100.9===203.0.113.64/26/UDP;'
        ' routed-ondemand; my_ip=unset; their_ip=unset;'
    )
    assert conn["local"]["protoport"] == "UDP/1701"
    assert conn["remote"]["protoport"] == "UDP"
    assert conn["remote"]["id"] == "198.51.100.9"
    assert conn["fields"]["my_ip"] == "unset"


def test_header_ipv6_wrapped_hosts_and_nexthops():
    conn = parse_one(
        '"v6": 2001:db8:1::/64===[2001:db8::1]:4500[@west]---2001:db8::fe...2001:db8::fd---[2001:db8::2]:4500'
        '[@east]===2001:db8:2::/64; routed-tunnel; my_ip=unset; their_ip=unset;'
    )
    assert conn["local"]["host"] == "2001:db8::1"
    assert conn["local"]["port"] == 4500
    assert conn["local"]["nexthop"] == "2001:db8::fe"
    assert conn["local"]["subnets"] == ["2001:db8:1::/64"]
    assert conn["remote"]["host"] == "2001:db8::2"
    assert conn["remote"]["nexthop"] == "2001:db8::fd"
    assert conn["remote"]["subnets"] == ["2001:db8:2::/64"]


def test_header_ipv6_subnet_is_not_protoport():
    conn = parse_one('"o": fe80::1/128===198.51.100.1[@foo,+S?C]...198.51.100.2[@bar,+S?C]===fe80::2/128;'
                     ' unoriented; my_ip=unset; their_ip=unset;')
    assert conn["local"]["subnets"] == ["fe80::1/128"]
    assert conn["local"]["protoport"] is None
    assert conn["local"]["id"] == "@foo"
    assert conn["routing"] == "unoriented"
    assert conn["oriented"] is False


def test_header_dns_name_and_hidden_addresses():
    conn = parse_one('"dns": <address>[@west]...%dns<peer.example.org>[@peer]; unrouted; my_ip=unset; their_ip=unset;')
    assert conn["local"]["host"] == "<address>"
    assert conn["local"]["id"] == "@west"
    assert conn["remote"]["host"] == "%dns"
    assert conn["remote"]["hostname"] == "peer.example.org"


def test_header_dn_ids_keep_commas():
    conn = parse_one(
        '000 "dn": 198.51.100.1[C=XX, O=Example, CN=west.example.net]...%any[%fromcert,+MC+XS+S=C]'
        '==={203.0.113.10-203.0.113.20}; unrouted; eroute owner: #0'
    )
    assert conn["local"]["id"] == "C=XX, O=Example, CN=west.example.net"
    assert conn["remote"]["host"] == "%any"
    assert conn["remote"]["id"] == "%fromcert"
    assert conn["remote"]["subnets"] == ["203.0.113.10-203.0.113.20"]


def test_several_spd_lines_add_subnets():
    text = (
        '"multi": 203.0.113.0/28===198.51.100.1...198.51.100.9===203.0.113.64/28; routed-ondemand; my_ip=unset;\n'
        '"multi": 203.0.113.16/28===198.51.100.1...198.51.100.9===203.0.113.64/28; routed-ondemand; my_ip=unset;\n'
    )
    conn = parse_one(text)
    assert conn["local"]["subnets"] == ["203.0.113.0/28", "203.0.113.16/28"]
    assert conn["remote"]["subnets"] == ["203.0.113.64/28"]
    assert conn["local"]["host"] == "198.51.100.1"


def test_one_space_reply_is_message_not_connection():
    result = parse_status('002 "h2h": added IKEv2 connection\n"h2h" #1: initiating IKEv2 connection\n')
    assert result["warnings"] == []
    assert result["connections"] == {}
    assert result["messages"] == [
        {"code": "002", "connection": "h2h", "serial": None, "text": "added IKEv2 connection"},
        {"code": None, "connection": "h2h", "serial": 1, "text": "initiating IKEv2 connection"},
    ]


def test_instance_message_without_serial():
    result = parse_status('"rw"[1] 2001:db8::7: deleting connection instance\n')
    assert result["warnings"] == []
    assert result["messages"] == [
        {"code": None, "connection": "rw[1]", "serial": None, "text": "deleting connection instance"}]


# --- connection names -------------------------------------------------------------


@pytest.mark.parametrize("line, key, base, child, instance", [
    ('"s2s/1x0": 198.51.100.1...198.51.100.2; unrouted; x=y', "s2s/1x0", "s2s", "1x0", None),
    ('"north/0x2": 198.51.100.1...198.51.100.2; unrouted; x=y', "north/0x2", "north", "0x2", None),
    ('"rw"[3]: 198.51.100.1...198.51.100.2; erouted; x=y', "rw[3]", "rw", None, 3),
    ('"oe#203.0.113.0/24"[1]: 198.51.100.1...198.51.100.2; erouted; x=y', "oe#203.0.113.0/24[1]", "oe", None, 1),
    ('"a/b": 198.51.100.1...198.51.100.2; unrouted; x=y', "a/b", "a/b", None, None),
])
def test_connection_name_parts(line, key, base, child, instance):
    result = parse_status(line)
    conn = result["connections"][key]
    assert conn["name"] == key
    assert conn["base"] == base
    assert conn["child"] == child
    assert conn["instance"] == instance


# --- connection detail lines ------------------------------------------------------


def test_detail_lines_fill_named_values():
    result = parse_status(read_fixture("4.x-site-b-established.txt"))
    conn = result["connections"]["site-b"]
    assert conn["auth"] == {"local": "secret", "remote": "secret"}
    assert conn["ike_life"] == 3600
    assert conn["ipsec_life"] == 28800
    assert conn["ipsec_max_bytes"] == 2 ** 63
    assert conn["rekey_margin"] == 540
    assert conn["rekey_fuzz"] == 100
    assert conn["keyingtries"] == 0
    assert conn["policy"] == ["IKEv2", "PSK", "ENCRYPT", "TUNNEL", "PFS", "UP", "IKE_FRAG_ALLOW", "ESN_NO"]
    assert conn["ike_version"] == 2
    assert conn["ids"] == {"local_type": "ID_FQDN", "local": "@gw.example.net",
                           "remote_type": "ID_FQDN", "remote": "@peer.example.net"}
    assert conn["ike_algorithm_newest"] == "AES_GCM_16_256-HMAC_SHA2_512-MODP2048"
    assert conn["esp_algorithm_newest"] == "AES_GCM_16_256-NONE"
    assert conn["ike_algorithms"] is None
    assert conn["conn_serial"] == 1


def test_detail_lines_keep_other_pairs_in_fields():
    conn = parse_status(read_fixture("4.x-site-b-established.txt"))["connections"]["site-b"]
    fields = conn["fields"]
    assert fields["my_updown"] == "ipsec _updown"
    assert fields["xauth us"] == "none"
    assert fields["xauth them"] == "none"
    assert fields["my_username"] == "[any]"
    assert fields["their_username"] == "[any]"
    assert fields["our autheap"] == "none"
    assert fields["replay_window"] == "128"
    assert fields["ipsec_max_packets"] == "2^63"
    assert fields["pfsgroup"] == "<Phase1>"
    assert "ike_life" not in fields


def test_detail_list_values_stay_whole():
    text = (
        '"c":   modecfg info: us:server, them:client, modecfg policy:push, dns:198.51.100.53, 198.51.100.54, domains:unset, cat:unset;\n'
        '"c":   our idtype: ID_DER_ASN1_DN; our id=C=XX, O=Example, CN=west; their idtype: %fromcert; their id=%fromcert\n'
        '"c":   IKE algorithms: AES_CBC_256-HMAC_SHA2_256-MODP2048, AES_GCM_16_256-HMAC_SHA2_512-DH19\n'
        '"c":   conn serial: $2, instantiated from: $1;\n'
        '"c":   aliases: one two\n'
    )
    conn = parse_status(text)["connections"]["c"]
    assert conn["fields"]["dns"] == "198.51.100.53, 198.51.100.54"
    assert conn["fields"]["modecfg policy"] == "push"
    assert conn["ids"]["local"] == "C=XX, O=Example, CN=west"
    assert conn["ike_algorithms"] == "AES_CBC_256-HMAC_SHA2_256-MODP2048, AES_GCM_16_256-HMAC_SHA2_512-DH19"
    assert conn["conn_serial"] == 2
    assert conn["instantiated_from"] == 1
    assert conn["aliases"] == ["one", "two"]


def test_detail_line_without_pairs_warns():
    result = parse_status('"c":   something new here\n')
    assert result["warnings"] == ["unrecognised status line: '\"c\":   something new here'"]


def test_serial_zero_means_none():
    conn = parse_status('000 "c":   newest ISAKMP SA: #0; newest IPsec SA: #0;\n')["connections"]["c"]
    assert conn["newest_ike_sa"] is None
    assert conn["newest_ipsec_sa"] is None


def test_5x_owner_lines():
    text = (
        '"h2h": 198.51.100.1...198.51.100.2; routed-negotiation; my_ip=unset; their_ip=unset;\n'
        '"h2h":   host: oriented; local: 198.51.100.1; remote: 198.51.100.2; established IKE SA: #1;\n'
        '"h2h":   routing: routed-negotiation; owner: Child SA #2; established IKE SA: #1; negotiating Child SA: #2;\n'
    )
    conn = parse_status(text)["connections"]["h2h"]
    assert conn["oriented"] is True
    assert conn["routing"] == "negotiating"
    assert conn["routed"] is True
    assert conn["newest_ike_sa"] == 1
    assert conn["newest_ipsec_sa"] is None
    assert conn["negotiating_ipsec_sa"] == 2
    assert conn["owner"] == 2


def test_routing_line_without_header_sets_routing():
    conn = parse_status('"TUNNEL-B":   routing: routed-tunnel; established IPsec SA: #3;\n')["connections"]["TUNNEL-B"]
    assert conn["routing"] == "established"
    assert conn["routing_raw"] == "routed-tunnel"
    assert conn["newest_ipsec_sa"] == 3
    assert conn["local"]["host"] is None


# --- state lines ------------------------------------------------------------------


def test_ikev1_states_3x():
    text = (
        '000 #1: "c":500 STATE_MAIN_I4 (ISAKMP SA established); EVENT_SA_REPLACE in  2790s; newest ISAKMP; '
        'lastdpd=-1s(seq in:0 out:0); idle; import:admin initiate\n'
        '000 #2: "c":500 STATE_QUICK_I2 (sent QI2, IPsec SA established); EVENT_SA_REPLACE in  27990s; newest IPSEC; '
        'eroute owner; isakmp#1; idle; import:admin initiate\n'
        '000 #3: "c":500 STATE_QUICK_I1 (sent QI1, expecting QR1); EVENT_RETRANSMIT in  XXs; idle\n'
    )
    states = parse_status(text)["states"]
    assert states[1]["kind"] == "IKE"
    assert states[1]["ike_version"] == 1
    assert states[1]["established"] is True
    assert states[1]["newest"] is True
    assert states[1]["events"] == {"REPLACE": 2790}
    assert states[2]["kind"] == "Child"
    assert states[2]["parent"] == 1
    assert states[2]["eroute_owner"] is True
    assert states[2]["description"] == "sent QI2, IPsec SA established"
    assert states[3]["established"] is False
    assert states[3]["events"] == {"RETRANSMIT": None}


@pytest.mark.parametrize("word, state_name, kind, version", [
    ("STATE_PARENT_I3", "PARENT_I3", "IKE", 2),
    ("STATE_V2_IPSEC_I", "IPSEC_I", "Child", 2),
    ("STATE_V2_ESTABLISHED_IKE_SA", "ESTABLISHED_IKE_SA", "IKE", 2),
    ("STATE_V2_ESTABLISHED_CHILD_SA", "ESTABLISHED_CHILD_SA", "Child", 2),
    ("ESTABLISHED_IKE_SA", "ESTABLISHED_IKE_SA", "IKE", 2),
    ("ESTABLISHED_CHILD_SA", "ESTABLISHED_CHILD_SA", "Child", 2),
    ("NEW_CHILD_I1", "NEW_CHILD_I1", "Child", 2),
    ("REKEY_IKE_I1", "REKEY_IKE_I1", "IKE", 2),
    ("IKE_SA_INIT_I", "IKE_SA_INIT_I", "IKE", 2),
    ("STATE_MAIN_R3", "MAIN_R3", "IKE", 1),
    ("STATE_AGGR_I2", "AGGR_I2", "IKE", 1),
    ("STATE_QUICK_R2", "QUICK_R2", "Child", 1),
    ("STATE_XAUTH_R1", "XAUTH_R1", "IKE", 1),
])
def test_state_word_classified(word, state_name, kind, version):
    state = parse_status('#4: "c":500 %s (some story); idle;' % word)["states"][4]
    assert state["state"] == word
    assert state["state_name"] == state_name
    assert state["kind"] == kind
    assert state["ike_version"] == version


@pytest.mark.parametrize("description, kind, version, established, state_name", [
    ("established IKE SA", "IKE", 2, True, "ESTABLISHED_IKE_SA"),
    ("established Child SA", "Child", 2, True, "ESTABLISHED_CHILD_SA"),
    ("ISAKMP SA established", "IKE", 1, True, None),
    ("IPsec SA established", "Child", 1, True, None),
    ("sent Quick Mode request", "Child", 1, False, None),
    ("sent IKE_SA_INIT request", "IKE", 2, False, None),
    ("sent CREATE_CHILD_SA request to rekey IKE SA", "IKE", 2, False, None),
    ("sent CREATE_CHILD_SA request for new IPsec SA", "Child", 2, False, None),
])
def test_54_description_only_state(description, kind, version, established, state_name):
    state = parse_status('#5: "c":500 %s; REPLACE in 100s; idle;' % description)["states"][5]
    assert state["state"] == description
    assert state["description"] == description
    assert state["state_name"] == state_name
    assert state["kind"] == kind
    assert state["ike_version"] == version
    assert state["established"] is established
    assert state["events"] == {"REPLACE": 100}


def test_state_version_falls_back_to_connection():
    text = (
        '"c":   policy: IKEv1+PSK+ENCRYPT+TUNNEL;\n'
        '#5: "c":500 deleted state; idle;\n'
    )
    assert parse_status(text)["states"][5]["ike_version"] == 1


def test_instance_state_address_port_and_tcp():
    text = (
        '"rw"[3]: 198.51.100.1[@west]...198.51.100.77[@road]==={203.0.113.9/32}; routed-tunnel; my_ip=unset;\n'
        '#7: "rw"[3] 198.51.100.77:4500(tcp) ESTABLISHED_IKE_SA (established IKE SA); newest; idle;\n'
        '#9: "rw"[3] 2001:db8::77:500 ESTABLISHED_CHILD_SA (established Child SA); newest; IKE SA #7; idle;\n'
        '#9: "rw"[3] 2001:db8::77 used 5s ago; esp.aa@2001:db8::77 esp.bb@2001:db8::1 tun.0@2001:db8::77 '
        'tun.0@2001:db8::1 Traffic: ESPin=1KiB ESPout=3MB ESPmax=4MiB \n'
        '#11: "rw"[3] 198.51.100.77:EPHEM IPsec SA established; REPLACE in XXs; ISAKMP SA #7; idle;\n'
    )
    result = parse_status(text)
    assert result["warnings"] == []

    conn = result["connections"]["rw[3]"]
    assert conn["instance"] == 3
    assert conn["instance_address"] == "198.51.100.77"
    assert conn["remote"]["subnets"] == ["203.0.113.9/32"]

    ike = result["states"][7]
    assert ike["connection"] == "rw[3]"
    assert ike["instance"] == 3
    assert ike["instance_address"] == "198.51.100.77"
    assert ike["remote_port"] == 4500
    assert ike["tcp"] is True

    child = result["states"][9]
    assert child["instance_address"] == "2001:db8::77"
    assert child["remote_port"] == 500
    assert child["parent"] == 7
    assert child["esp"]["in_bytes"] == 1024
    assert child["esp"]["out_bytes"] == 3 * 1024 * 1024
    assert child["esp"]["max_bytes"] == 4 * 1024 * 1024
    assert child["esp"]["spi_out"] == "aa"
    assert child["esp"]["spi_in"] == "bb"

    assert result["states"][11]["remote_port"] is None
    assert result["states"][11]["parent"] == 7


def test_esp_line_without_state_line_is_established_child():
    result = parse_status('#4: "c" esp.1@198.51.100.2 esp.2@198.51.100.1 Traffic: ESPin=84B ESPout=84B ESPmax=2^63B\n')
    state = result["states"][4]
    assert state["kind"] == "Child"
    assert state["established"] is True
    assert state["esp"]["max_bytes"] == 2 ** 63


def test_pending_child_lines():
    text = (
        '#1: pending Child SA for "west-east"\n'
        '000 #3: pending Phase 2 for "rw"[2] 198.51.100.77 replacing #2\n'
    )
    result = parse_status(text)
    assert result["warnings"] == []
    assert result["pending"] == [
        {"serial": 1, "what": "Child SA", "connection": "west-east", "replacing": None},
        {"serial": 3, "what": "Phase 2", "connection": "rw[2]", "replacing": 2},
    ]


def test_trafficstatus_lines_in_status():
    result = parse_status('006 #2: "c", type=ESP, add_time=1700000000, inBytes=84, outBytes=84, id=\'@east\'\n')
    assert result["warnings"] == []
    assert [(sa["serial"], sa["in_bytes"]) for sa in result["traffic"]] == [(2, 84)]


# --- global lines -----------------------------------------------------------------


def test_global_header_lines_recognised():
    result = parse_status(read_fixture("5.x-site-b-established.txt"))
    assert result["warnings"] == []
    assert result["version"] == "5.1"
    assert result["kernel_interface"] == "xfrm"
    assert result["interfaces"] == [
        {"name": "eth0", "address": "198.51.100.1", "port": 4500, "protocol": "UDP", "nat": True},
        {"name": "eth0", "address": "198.51.100.1", "port": 500, "protocol": "UDP", "nat": False},
    ]
    assert result["config_setup"]["fips mode"] == "disabled"
    assert result["config_setup"]["logfile"] == "'/var/log/pluto.log'"
    assert result["config_setup"]["keep-alive"] == "20"
    assert result["state_information"] == "DDoS cookies not required, Accepting new IKE connections"
    assert result["ike_sas"] == {"total": 1, "half_open": 0, "open": 0, "authenticated": 1, "anonymous": 0}
    assert result["ipsec_sas"] == {"total": 1, "authenticated": 1, "anonymous": 0}
    assert result["totals"] == {"loaded": 1, "active": 1, "routed": None}
    assert result["bare_shunts"] == []


@pytest.mark.parametrize("line, expected", [
    ("000 interface lo/lo 127.0.0.1@4500", {"name": "lo", "address": "127.0.0.1", "port": 4500, "protocol": "UDP", "nat": False}),
    ("000 interface eth0/eth0 2001:db8::1:500", {"name": "eth0", "address": "2001:db8::1", "port": 500, "protocol": "UDP", "nat": False}),
    ("000 interface eth0 TCP 198.51.100.1:4500", {"name": "eth0", "address": "198.51.100.1", "port": 4500, "protocol": "TCP", "nat": False}),
    ("000 interface eth0 UDP [2001:db8::1]:500", {"name": "eth0", "address": "2001:db8::1", "port": 500, "protocol": "UDP", "nat": False}),
    ("interface eth0 2001:db8::1:UDP/4500 (NAT)", {"name": "eth0", "address": "2001:db8::1", "port": 4500, "protocol": "UDP", "nat": True}),
])
def test_interface_line_each_version(line, expected):
    result = parse_status(line)
    assert result["warnings"] == []
    assert result["interfaces"] == [expected]


def test_53_totals_with_routed_count():
    assert parse_status("Total IPsec connections: loaded 4, routed 3, active 2")["totals"] == {
        "loaded": 4, "routed": 3, "active": 2}


def test_brief_connection_status_total_line():
    result = parse_status("# Total IPsec connections: loaded 3, active 0\n")
    assert result["warnings"] == []
    assert result["totals"]["loaded"] == 3


@pytest.mark.parametrize("line, expected", [
    ("000 198.51.100.1/32:0 -0-> 203.0.113.7/32:0 => %pass 0    oe-failing",
     {"source": "198.51.100.1/32:0", "protocol": 0, "destination": "203.0.113.7/32:0", "shunt": "%pass",
      "reason": "oe-failing", "conn_serial": None}),
    ("198.51.100.1/32 -0-> 203.0.113.7/32 => %drop    oe-failing $7",
     {"source": "198.51.100.1/32", "protocol": 0, "destination": "203.0.113.7/32", "shunt": "%drop",
      "reason": "oe-failing", "conn_serial": 7}),
])
def test_bare_shunt_lines(line, expected):
    result = parse_status("Bare Shunt list:\n \n" + line)
    assert result["warnings"] == []
    (shunt,) = result["bare_shunts"]
    printed = line[4:] if line.startswith("000 ") else line
    assert shunt.pop("line") == printed
    assert shunt == expected


def test_result_is_json_serialisable():
    result = parse_status(read_fixture("4.x-site-b-established.txt"))
    assert json.loads(json.dumps(result))["states"]["2"]["esp"]["in_bytes"] == 2048


# --- the same state printed by 4.x and by 5.x -------------------------------------


def comparable(result):
    """Return the values that 4.x and 5.x print alike for one established connection."""
    conn = result["connections"]["site-b"]
    states = result["states"]
    return {
        "connection": dict((key, conn[key]) for key in (
            "name", "base", "child", "instance", "routing", "routed", "oriented", "ike_version", "policy",
            "auth", "ike_life", "ipsec_life", "rekey_margin", "rekey_fuzz", "ids", "newest_ike_sa",
            "newest_ipsec_sa", "owner", "conn_serial", "local", "remote", "ike_algorithm_newest",
            "esp_algorithm_newest")),
        "states": dict((serial, dict((key, state[key]) for key in (
            "serial", "connection", "kind", "state_name", "description", "established", "ike_version",
            "parent", "newest", "eroute_owner", "events", "username"))) for serial, state in states.items()),
        "traffic": dict((serial, (state["esp"]["in_bytes"], state["esp"]["out_bytes"], state["esp"]["spi_in"],
                                  state["esp"]["spi_out"])) for serial, state in states.items() if state["esp"]),
        "totals": result["totals"],
        "ike_sas": result["ike_sas"],
        "ipsec_sas": result["ipsec_sas"],
        "warnings": result["warnings"],
    }


def test_4x_and_5x_outputs_give_same_result():
    prefixed = parse_status(read_fixture("4.x-site-b-established.txt"))
    plain = parse_status(read_fixture("5.x-site-b-established.txt"))
    assert comparable(prefixed) == comparable(plain)


def test_4x_and_5x_outputs_expected_values():
    for name in ("4.x-site-b-established.txt", "5.x-site-b-established.txt"):
        result = parse_status(read_fixture(name))
        conn = result["connections"]["site-b"]
        assert conn["routing"] == "established"
        assert conn["local"]["subnets"] == ["203.0.113.0/26"]
        assert conn["remote"]["id"] == "@peer.example.net"
        child = result["states"][2]
        assert child["kind"] == "Child"
        assert child["established"] is True
        assert child["parent"] == 1
        assert child["username"] == "bob"
        assert child["esp"]["in_bytes"] == 2048
        assert child["esp"]["out_bytes"] == 1024


def test_4x_and_5x_counter_differences():
    prefixed = parse_status(read_fixture("4.x-site-b-established.txt"))["states"][2]["esp"]
    plain = parse_status(read_fixture("5.x-site-b-established.txt"))["states"][2]["esp"]
    assert prefixed["max_bytes"] == 4 * 1024 * 1024
    assert (prefixed["ref"], prefixed["refhim"]) == (0, 0)
    assert plain["max_bytes"] == 2 ** 63
    assert (plain["ref"], plain["refhim"]) == (None, None)


# 4.10 in the guest kernel: an IPv6 Child SA's SA IDs use ':' between protocol and SPI.
IPV6_CHILD_SA = """\
000 #5: "v6":500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 28060s; REPLACE in 28799s; newest; idle;
000 #6: "v6":500 STATE_V2_ESTABLISHED_CHILD_SA (established Child SA); REKEY in 27957s; REPLACE in 28799s; newest; eroute owner; IKE SA #5; idle;
000 #6: "v6" esp:c9531750@2001:db8:0:1::2 esp:3f7ea6a6@2001:db8:0:1::1 tun:0@2001:db8:0:1::2 tun:0@2001:db8:0:1::1 Traffic: ESPin=84B ESPout=168B ESPmax=2^63B
"""


def test_ipv6_sa_line_keeps_child_sa_established():
    status = parse_status(IPV6_CHILD_SA)
    child = status["states"][6]
    assert status["warnings"] == []
    assert child["kind"] == "Child"
    assert child["established"] is True
    assert child["parent"] == 5
    assert child["esp"]["in_bytes"] == 84
    assert child["esp"]["out_bytes"] == 168
    assert child["esp"]["spi_in"] == "3f7ea6a6"
    assert child["esp"]["spi_out"] == "c9531750"
