"""ipsec_info's gathering: subset resolution, status facts, config comparison and the commands run.

Status inputs are lab captures of pluto 4.10 (fixtures/status/) and hand-written 5.x outputs;
listing inputs are the captures in fixtures/listings/. Only the runner seam is replaced.
"""

import glob
import json
import os
from pathlib import Path

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config_text
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import (
    CommandError,
    PlutoNotRunningError,
    ValidationError,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._info import (
    DEFAULT_SUBSETS,
    SUBSETS,
    config_facts,
    gather_info,
    resolve_subsets,
    status_facts,
)
from ansible_collections.ipsec.libreswan.plugins.module_utils._livestate import summarise
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status
from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import parse_trafficstatus

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = os.environ.get("LIBRESWAN_CORPUS", "/work/shared/corpus")
SCENARIOS = ["added", "routed", "ike-established", "down"]


def status_capture(name):
    return (FIXTURES / "status" / name).read_text()


def listing_capture(name):
    return (FIXTURES / "listings" / name).read_text()


# --- gather_subset ---------------------------------------------------------------------


@pytest.mark.parametrize("requested, expected", [
    (None, list(DEFAULT_SUBSETS)),
    ([], list(DEFAULT_SUBSETS)),
    (["all"], list(SUBSETS)),
    (["certs"], ["certs"]),
    (["certs", "sas"], ["sas", "certs"]),
    (["!sas"], ["connections", "shunts", "totals", "version", "listening"]),
    (["all", "!sas", "!certs"], [s for s in SUBSETS if s not in ("sas", "certs")]),
    (["!all"], []),
    (["!all", "version"], ["version"]),
    ([" config "], ["config"]),
])
def test_gather_subset_resolution(requested, expected):
    assert resolve_subsets(requested) == expected


@pytest.mark.parametrize("entry", ["nonsense", "!nonsense", "ALL", ""])
def test_unknown_subset_rejected(entry):
    with pytest.raises(ValidationError, match="is not a subset"):
        resolve_subsets([entry])


def test_default_subsets_are_the_cheap_ones():
    assert DEFAULT_SUBSETS == ("connections", "sas", "shunts", "totals", "version", "listening")


# --- connections -----------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_connection_summary_matches_livestate(scenario):
    status = parse_status(status_capture("4.10-%s.status.txt" % scenario))
    connections = status_facts(status)["connections"]
    assert sorted(connections) == ["h2h", "s2s"]
    for name, facts in connections.items():
        summary = summarise(status, name)
        for key in ("loaded", "up", "routed", "ike_established", "has_sas", "oriented"):
            assert facts[key] == summary[key], (scenario, name, key)
        assert sorted(facts["children"]) == sorted(summary["children"])


def test_idle_connection_unrouted():
    h2h = status_facts(parse_status(status_capture("4.10-added.status.txt")))["connections"]["h2h"]
    assert h2h["routing"] == "unrouted"
    assert h2h["routing_raw"] == "unrouted"
    assert h2h["routed"] is False
    assert h2h["up"] is False
    assert h2h["sas"] == []
    assert h2h["local"]["host"] == "198.51.100.1"
    assert h2h["local"]["id"] == "@west"
    assert h2h["remote"]["id"] == "@east"
    assert h2h["auth"] == {"local": "secret", "remote": "secret"}
    assert h2h["ike_version"] == 2
    assert list(h2h["children"]) == ["h2h"]
    assert h2h["instances"] == {}


def test_ike_established_connection():
    facts = status_facts(parse_status(status_capture("4.10-ike-established.status.txt")))
    h2h = facts["connections"]["h2h"]
    assert h2h["ike_established"] is True
    assert h2h["up"] is False
    assert h2h["routing"] == "routed"
    assert h2h["routing_raw"] == "prospective erouted"
    assert h2h["newest_ike_sa"] == 1
    assert h2h["newest_ipsec_sa"] is None
    assert h2h["sas"] == [1]
    child = h2h["children"]["h2h"]
    assert child["ike_established"] is True
    assert child["child_established"] is False
    assert child["sas"] == [1]


def test_split_connection_children_and_subnets():
    s2s = status_facts(parse_status(status_capture("4.10-routed.status.txt")))["connections"]["s2s"]
    assert sorted(s2s["children"]) == ["s2s/1x0", "s2s/2x0"]
    assert s2s["local"]["subnets"] == ["203.0.113.0/28", "203.0.113.16/28"]
    assert s2s["remote"]["subnets"] == ["203.0.113.128/28"]
    assert s2s["children"]["s2s/2x0"]["local"]["subnets"] == ["203.0.113.16/28"]
    assert s2s["routed"] is True
    assert s2s["routing"] == "routed"


def test_children_disagreeing_give_no_routing():
    text = status_capture("4.10-routed.status.txt").replace(
        '"s2s/2x0": 203.0.113.16/28===198.51.100.1...198.51.100.2===203.0.113.128/28; prospective erouted;',
        '"s2s/2x0": 203.0.113.16/28===198.51.100.1...198.51.100.2===203.0.113.128/28; unrouted;')
    s2s = status_facts(parse_status(text))["connections"]["s2s"]
    assert s2s["routing"] is None
    assert s2s["routing_raw"] is None
    assert s2s["routed"] is False
    assert s2s["children"]["s2s/1x0"]["routing"] == "routed"


def test_name_keeps_one_connection():
    status = parse_status(status_capture("4.10-ike-established.status.txt"))
    facts = status_facts(status, name="s2s")
    assert list(facts["connections"]) == ["s2s"]
    assert facts["sas"] == []
    assert [sa["serial"] for sa in status_facts(status, name="h2h")["sas"]] == [1]
    assert status_facts(status, name="missing")["connections"] == {}


INSTANCES = """\
"rw": 198.51.100.1[@gw]...%any; unrouted; my_ip=unset; their_ip=unset;
"rw":   policy: IKEv2+PSK+ENCRYPT+TUNNEL+PFS;
"rw":   newest IKE SA: #0; newest IPsec SA: #0; conn serial: $1;
"rw"[1]: 198.51.100.1[@gw]...198.51.100.77[@road]===203.0.113.130/32; erouted; eroute owner: #2
"rw"[1]:   policy: IKEv2+PSK+ENCRYPT+TUNNEL+PFS;
"rw"[1]:   newest IKE SA: #1; newest IPsec SA: #2; conn serial: $2, instantiated from: $1;
#1: "rw"[1] 198.51.100.77:500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 28000s; REPLACE in 28700s; newest;
#2: "rw"[1] 198.51.100.77:500 STATE_V2_ESTABLISHED_CHILD_SA (established Child SA); REKEY in 27000s; REPLACE in 28000s; newest; eroute owner; IKE SA #1;
#2: "rw"[1] 198.51.100.77 esp.aa@198.51.100.77 esp.bb@198.51.100.1 tun.0@198.51.100.77 tun.0@198.51.100.1 Traffic: ESPin=84B ESPout=168B ESPmax=2^63B
"""
INSTANCE_TRAFFIC = ("#2: \"rw\"[1] 198.51.100.77, type=ESP, add_time=1700000000, inBytes=840, outBytes=1680, "
                    "maxBytes=2^63B, id='@road', lease=203.0.113.130/32\n")


def test_template_instances():
    status = parse_status(INSTANCES)
    rw = status_facts(status)["connections"]["rw"]
    assert list(rw["children"]) == ["rw"]
    assert list(rw["instances"]) == ["rw[1]"]
    instance = rw["instances"]["rw[1]"]
    assert instance["up"] is True
    assert instance["instance_address"] == "198.51.100.77"
    assert instance["sas"] == [1, 2]
    # The template itself carries no SA.
    assert rw["up"] is False
    assert rw["sas"] == [1, 2]


# --- SAs -------------------------------------------------------------------------------


def test_sas_take_counters_from_trafficstatus():
    status = parse_status(INSTANCES)
    traffic = parse_trafficstatus(INSTANCE_TRAFFIC)["sas"]
    sas = status_facts(status, traffic)["sas"]
    assert [sa["serial"] for sa in sas] == [1, 2]
    ike, child = sas
    assert ike["kind"] == "IKE"
    assert ike["in_bytes"] is None
    assert ike["rekey_in"] == 28000
    assert ike["replace_in"] == 28700
    assert child["kind"] == "Child"
    assert child["name"] == "rw"
    assert child["connection"] == "rw[1]"
    assert child["parent"] == 1
    assert child["peer"] == "198.51.100.77"
    assert child["in_bytes"] == 840
    assert child["out_bytes"] == 1680
    assert child["max_bytes"] == 2 ** 63
    assert child["add_time"] == 1700000000
    assert child["peer_id"] == "@road"
    assert child["lease"] == "203.0.113.130/32"
    assert child["esp"]["spi_out"] == "aa"


def test_sas_fall_back_to_status_counters():
    child = status_facts(parse_status(INSTANCES))["sas"][1]
    assert child["in_bytes"] == 84
    assert child["out_bytes"] == 168
    assert child["add_time"] is None
    assert child["traffic_type"] == "ESP"


def test_sa_only_in_trafficstatus_is_kept():
    status = parse_status(status_capture("5.x-site-b-established.txt"))
    traffic = parse_trafficstatus(status_capture("5.x-trafficstatus.txt"))["sas"]
    sas = {sa["serial"]: sa for sa in status_facts(status, traffic)["sas"]}
    assert sorted(sas) == [1, 2, 7]
    assert sas[2]["username"] == "bob"
    assert sas[7]["name"] == "rw"
    assert sas[7]["state"] is None
    assert sas[7]["established"] is True
    assert sas[7]["peer_id"] == "C=XX, O=Example, CN=road.example.net"


def test_other_status_subsets():
    facts = status_facts(parse_status(status_capture("4.10-ike-established.status.txt")))
    assert facts["version"] == "4.10"
    assert facts["totals"]["loaded"] == 3
    assert facts["totals"]["active"] == 0
    assert facts["totals"]["ike_sas"]["total"] == 1
    assert {"name": "eth0", "address": "198.51.100.1", "port": 500, "protocol": "UDP", "nat": False} in facts["listening"]
    assert facts["shunts"] == []
    json.dumps(facts)


def test_status_subsets_limit_keys():
    facts = status_facts(parse_status(INSTANCES), subsets=("version", "totals"))
    assert sorted(facts) == ["totals", "version"]


def corpus_status_files():
    paths = sorted(glob.glob(os.path.join(CORPUS, "upstream", "status", "*.txt")))
    paths += sorted(glob.glob(os.path.join(CORPUS, "libreswan-*", "*", "whack--status.txt")))
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason="Libreswan output corpus not found at %s" % CORPUS))]
    return [os.path.relpath(path, CORPUS) for path in paths]


@pytest.mark.parametrize("relative", corpus_status_files())
def test_corpus_summary_matches_livestate(relative):
    with open(os.path.join(CORPUS, relative)) as handle:
        text = handle.read()
    if text.startswith("##source"):
        text = text.split("\n", 1)[1]
    status = parse_status(text)
    facts = status_facts(status)
    for name, connection in facts["connections"].items():
        summary = summarise(status, name)
        for key in ("up", "routed", "ike_established", "has_sas", "oriented"):
            assert connection[key] == summary[key], (name, key)
    for sa in facts["sas"]:
        assert sa["name"] in facts["connections"] or sa["connection"] not in status["connections"]
    json.dumps(facts)


# --- config ----------------------------------------------------------------------------

CONFIG = """\
config setup

conn %default
\tkeyingtries=1

conn h2h
\tleft=198.51.100.1
\tright=198.51.100.2
\tauthby=secret
\tauto=add

conn spare
\tleft=198.51.100.1
\tright=198.51.100.9
\tauthby=secret
\tauto=ignore

conn s2s
\tleft=198.51.100.1
\tleftsubnets={203.0.113.0/28 203.0.113.16/28}
\tright=198.51.100.2
\trightsubnet=203.0.113.128/28
\tauthby=secret
"""


def parsed_config(text=CONFIG):
    return parse_config_text(text, filename="/etc/ipsec.conf", version="4.10", reader=MemoryReader({}))


def test_config_compared_with_loaded():
    status = parse_status(status_capture("4.10-added.status.txt").replace('"h2h"', '"manual"'))
    facts = config_facts(parsed_config(), status)
    assert sorted(facts["conns"]) == ["h2h", "s2s", "spare"]
    assert facts["defined_not_loaded"] == ["h2h", "spare"]
    assert facts["loaded_not_defined"] == ["manual"]
    spare = facts["conns"]["spare"]
    assert spare["file"] == "/etc/ipsec.conf"
    assert spare["line"] == 12
    assert spare["auto"] == "ignore"
    assert spare["loaded"] is False
    assert facts["conns"]["s2s"]["loaded"] is True
    assert facts["conns"]["s2s"]["children"] == ["s2s/1x0", "s2s/2x0"]
    assert facts["files"] == ["/etc/ipsec.conf"]
    assert facts["problems"] == []
    json.dumps(facts)


def test_config_filtered_by_name():
    status = parse_status(status_capture("4.10-added.status.txt").replace('"h2h"', '"manual"'))
    facts = config_facts(parsed_config(), status, name="spare")
    assert list(facts["conns"]) == ["spare"]
    assert facts["defined_not_loaded"] == ["spare"]
    assert facts["loaded_not_defined"] == []


def test_config_problems_reported():
    facts = config_facts(parsed_config(CONFIG + "\tnosuchkeyword=1\n"), parse_status(""))
    assert facts["problems"]
    assert facts["problems"][0]["line"] == 24


# --- gathering with a replaced runner --------------------------------------------------


class FakeRunner:
    """Return canned results for argv lists, looked up by the whack options after the control socket."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def run(self, argv, timeout=None):
        self.calls.append(list(argv))
        key = tuple(argv[4:]) if argv[1] == "whack" else tuple(argv[1:])
        return self.answers.get(key, (0, "", ""))


@pytest.fixture
def make_client(tmp_path):
    socket = tmp_path / "pluto.ctl"
    socket.write_text("")
    config = tmp_path / "ipsec.conf"
    config.write_text(CONFIG)

    def make(answers, socket_exists=True):
        if not socket_exists:
            socket.unlink()
        runner = FakeRunner(answers)
        return runner, LibreswanClient(runner, ipsec="ipsec", ctlsocket=str(socket), config=str(config))

    return make


STATUS_ANSWERS = {
    ("--status",): (0, status_capture("4.10-ike-established.status.txt"), ""),
    ("--trafficstatus",): (0, status_capture("4.10-ike-established.trafficstatus.txt"), ""),
}


def test_default_gathering_reads_status_and_traffic(make_client):
    runner, client = make_client(STATUS_ANSWERS)
    facts = gather_info(client, list(DEFAULT_SUBSETS))
    assert [call[4:] for call in runner.calls] == [["--status"], ["--trafficstatus"]]
    assert sorted(facts) == ["connections", "listening", "sas", "shunts", "totals", "version", "warnings"]
    assert facts["warnings"] == []
    assert facts["version"] == "4.10"


def test_listings_always_ask_pluto_for_utc(make_client):
    answers = {
        ("--utc", "--listcerts"): (0, listing_capture("4.10-listcerts.txt"), ""),
        ("--utc", "--listcacerts"): (0, listing_capture("4.10-listcacerts.txt"), ""),
        ("--utc", "--listpubkeys"): (0, listing_capture("4.10-listpubkeys-utc.txt"), ""),
        ("--utc", "--listcrls"): (0, listing_capture("4.10-listcrls.txt"), ""),
        ("--utc", "--checkpubkeys"): (0, listing_capture("4.10-checkpubkeys-utc.txt"), ""),
    }
    runner, client = make_client(answers)
    facts = gather_info(client, ["certs", "cacerts", "pubkeys", "crls", "expiring"], utc=True)
    assert [call[4:] for call in runner.calls] == [list(key) for key in answers]
    assert len(facts["certs"]) == 4
    assert facts["cacerts"][0]["nickname"] == "Lab CA"
    assert len(facts["pubkeys"]) == 10
    assert facts["crls"][0]["revoked"] == 1
    assert facts["crl_fetch_requests"][0]["trials"] == 1
    # --checkpubkeys also prints the two raw keys that never expire.
    assert [key["expiry"] for key in facts["expiring"]] == ["warning", "warning"]
    assert facts["warnings"] == []


def test_listing_failure_raises_command_error(make_client):
    answers = dict(STATUS_ANSWERS)
    answers[("--utc", "--listcerts")] = (1, "", "NSS: something broke")
    runner, client = make_client(answers)
    with pytest.raises(CommandError, match="listing the end certificates"):
        gather_info(client, ["certs"])


def test_listing_failure_of_stopped_pluto(make_client):
    refused = (1, "", "whack: connect() for \"/run/pluto/pluto.ctl\" failed (111 Connection refused)\n")
    runner, client = make_client({("--utc", "--listcerts"): refused, ("--status",): refused})
    with pytest.raises(PlutoNotRunningError):
        gather_info(client, ["certs"])


def test_missing_socket_raises_before_commands(make_client):
    runner, client = make_client(STATUS_ANSWERS, socket_exists=False)
    with pytest.raises(PlutoNotRunningError, match="control socket"):
        gather_info(client, list(DEFAULT_SUBSETS))
    with pytest.raises(PlutoNotRunningError):
        gather_info(client, ["pubkeys"])
    assert runner.calls == []


def test_version_falls_back_to_ipsec_version(make_client):
    text = status_capture("4.10-added.status.txt").replace("pluto_version=4.10, ", "")
    runner, client = make_client({("--status",): (0, text, ""), ("--version",): (0, "Libreswan 4.10\n", "")})
    facts = gather_info(client, ["version"])
    assert facts["version"] == "4.10"
    assert runner.calls[-1] == ["ipsec", "--version"]


def test_config_subset_uses_loader(make_client):
    runner, client = make_client(STATUS_ANSWERS)
    facts = gather_info(client, ["config"], load_config=lambda c: parsed_config())
    assert facts["config"]["defined_not_loaded"] == ["spare"]
    assert facts["config"]["loaded_not_defined"] == []


def test_config_subset_reads_the_file(make_client):
    runner, client = make_client(STATUS_ANSWERS)
    facts = gather_info(client, ["config"])
    assert facts["config"]["files"] == [client.config]
    assert facts["config"]["conns"]["spare"]["line"] == 12


def test_unrecognised_lines_become_warnings(make_client):
    answers = dict(STATUS_ANSWERS)
    answers[("--trafficstatus",)] = (0, "006 #9: something new\n", "")
    runner, client = make_client(answers)
    facts = gather_info(client, ["sas"])
    assert facts["warnings"] == ["unrecognised trafficstatus line: '006 #9: something new'"]
