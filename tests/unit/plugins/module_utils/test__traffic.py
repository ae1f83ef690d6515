"""parse_trafficstatus() and the counter and name helpers it shares with parse_status()."""

import json
import os

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import (
    instance_address,
    parse_byte_count,
    parse_trafficstatus,
    split_connection_name,
    strip_line_code,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "status")


def read_fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.mark.parametrize("text, expected", [
    ("84B", 84),
    ("0B", 0),
    ("336B!", 336),
    ("4194303B", 4194303),
    ("2^63B", 2 ** 63),
    ("2^63", 2 ** 63),
    ("1KiB", 1024),
    ("1MiB", 1024 ** 2),
    ("3GiB", 3 * 1024 ** 3),
    ("12KB", 12 * 1024),
    ("5MB", 5 * 1024 ** 2),
    ("84", 84),
    (" 84B ", 84),
])
def test_byte_count_formats(text, expected):
    assert parse_byte_count(text) == expected


@pytest.mark.parametrize("text", ["XX", "", None, "B", "84QB", "-1B", "2^B", "1.5KiB"])
def test_byte_count_rejects_other_text(text):
    assert parse_byte_count(text) is None


@pytest.mark.parametrize("line, expected", [
    ("000 Connection list:", ("000", "Connection list:")),
    ("006 #2: x", ("006", "#2: x")),
    ("1v2 \"c\" #1: initiating", ("1v2", "\"c\" #1: initiating")),
    ("000", ("000", "")),
    ("000  ", ("000", " ")),
    ("Connection list:", (None, "Connection list:")),
    ("192.0.2.1/32 -0-> x", (None, "192.0.2.1/32 -0-> x")),
    ("1234 x", (None, "1234 x")),
])
def test_line_code_stripped(line, expected):
    assert strip_line_code(line) == expected


@pytest.mark.parametrize("name, instances, expected", [
    ("h2h", "", ("h2h", None, None)),
    ("s2s/1x0", "", ("s2s", "1x0", None)),
    ("s2s/12x3", "", ("s2s", "12x3", None)),
    ("rw", "[3]", ("rw", None, 3)),
    ("rw", "[1][2]", ("rw", None, 2)),
    ("private-or-clear#203.0.113.0/24", "[1]", ("private-or-clear", None, 1)),
    ("a/bxc", "", ("a/bxc", None, None)),
])
def test_connection_name_split(name, instances, expected):
    assert split_connection_name(name, instances) == expected


@pytest.mark.parametrize("suffix, expected", [
    ("", None),
    (" 198.51.100.9", "198.51.100.9"),
    (" 2001:db8::9", "2001:db8::9"),
    (" 203.0.113.1/32=== ...198.51.100.23", "198.51.100.23"),
    (" ...198.51.100.23===203.0.113.64/26", "198.51.100.23"),
])
def test_instance_address_from_suffix(suffix, expected):
    assert instance_address(suffix) == expected


def test_4x_and_5x_trafficstatus_give_same_sas():
    prefixed = parse_trafficstatus(read_fixture("4.x-trafficstatus.txt"))
    plain = parse_trafficstatus(read_fixture("5.x-trafficstatus.txt"))
    assert prefixed["warnings"] == []
    assert plain["warnings"] == []
    for sas in (prefixed["sas"], plain["sas"]):
        first, second = sas
        assert first["serial"] == 2
        assert first["connection"] == "site-b"
        assert first["username"] == "bob"
        assert first["id"] is None
        assert (first["in_bytes"], first["out_bytes"]) == (2048, 1024)
        assert second["connection"] == "rw[4]"
        assert second["instance"] == 4
        assert second["instance_address"] == "198.51.100.77"
        assert second["id"] == "C=XX, O=Example, CN=road.example.net"
        assert second["lease"] == "203.0.113.129/32"
        assert second["add_time"] == 1700000100
    assert prefixed["sas"][0]["max_bytes"] == 4 * 1024 * 1024
    assert plain["sas"][0]["max_bytes"] == 2 ** 63


def test_sa_without_max_bytes():
    result = parse_trafficstatus("006 #2: \"west\", type=ESP, add_time=1234567890, inBytes=336, outBytes=336, id='@east'\n")
    assert result["warnings"] == []
    assert result["sas"] == [{
        "serial": 2, "connection": "west", "base": "west", "child": None, "instance": None,
        "instance_address": None, "type": "ESP", "add_time": 1234567890, "in_bytes": 336, "out_bytes": 336,
        "max_bytes": None, "id": "@east", "username": None, "lease": None,
    }]


def test_opportunistic_instance_name():
    line = ("#2: \"private-or-clear#198.51.100.0/24\"[1] 203.0.113.1/32=== ...198.51.100.23, type=ESP, "
            "add_time=1, inBytes=84, outBytes=84, maxBytes=2^63B, id='ID_NULL', lease=203.0.113.1/32")
    (sa,) = parse_trafficstatus(line)["sas"]
    assert sa["connection"] == "private-or-clear#198.51.100.0/24[1]"
    assert sa["base"] == "private-or-clear"
    assert sa["instance_address"] == "198.51.100.23"
    assert sa["lease"] == "203.0.113.1/32"


def test_split_child_connection():
    (sa,) = parse_trafficstatus('#5: "s2s/2x0", type=ESP, add_time=1, inBytes=0, outBytes=0, maxBytes=2^63B, id=\'@b\'')["sas"]
    assert sa["connection"] == "s2s/2x0"
    assert sa["base"] == "s2s"
    assert sa["child"] == "2x0"


def test_empty_output_has_no_sas():
    assert parse_trafficstatus("") == {"sas": [], "warnings": []}
    assert parse_trafficstatus(None) == {"sas": [], "warnings": []}
    assert parse_trafficstatus("000  \n \n") == {"sas": [], "warnings": []}


def test_unknown_lines_warn_and_parsing_continues():
    text = (
        "021 no connection named \"nope\"\n"
        "#2: \"c\", type=ESP, add_time=1, inBytes=1, outBytes=2, id='@x'\n"
        "#3: \"c\" type=ESP\n"
    )
    result = parse_trafficstatus(text)
    assert [sa["serial"] for sa in result["sas"]] == [2]
    assert result["warnings"] == [
        "unrecognised trafficstatus line: '021 no connection named \"nope\"'",
        "unrecognised trafficstatus line: '#3: \"c\" type=ESP'",
    ]


def test_trafficstatus_is_json_serialisable():
    json.dumps(parse_trafficstatus(read_fixture("4.x-trafficstatus.txt")))
