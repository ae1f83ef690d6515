"""The definition renderer: every rendered file parses back to the same keywords."""

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config_text
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ValidationError
from ansible_collections.ipsec.libreswan.plugins.module_utils._render import is_managed, render_conn, render_value

ROUND_TRIPS = {
    "host to host": ({"left": "198.51.100.1", "right": "198.51.100.2", "authby": "secret"},
                     {"left": "198.51.100.1", "right": "198.51.100.2", "authby": "secret"}),
    "booleans and numbers": ({"pfs": True, "rekey": False, "keyingtries": 3, "ikelifetime": "8h"},
                             {"pfs": "yes", "rekey": "no", "keyingtries": "3", "ikelifetime": "8h"}),
    "subnet list": ({"leftsubnets": ["203.0.113.0/28", "203.0.113.16/28"], "rightsubnet": "203.0.113.128/28"},
                    {"leftsubnets": "203.0.113.0/28 203.0.113.16/28", "rightsubnet": "203.0.113.128/28"}),
    "proposal list": ({"ike": ["aes256-sha2_256;dh19", "aes128-sha2_256;dh19"]},
                      {"ike": "aes256-sha2_256;dh19,aes128-sha2_256;dh19"}),
    "blank in value": ({"leftupdown": "/usr/local/sbin/updown.sh --tag 1"},
                       {"leftupdown": "/usr/local/sbin/updown.sh --tag 1"}),
    "hash after blank": ({"x-note": "site a # primary"}, {"x-note": "site a # primary"}),
    "hash without blank": ({"modecfgbanner": "Welcome#1"}, {"modecfgbanner": "Welcome#1"}),
    "id with at sign": ({"leftid": "@west.example.com"}, {"leftid": "@west.example.com"}),
    "quoted DN": ({"leftid": "C=XX, O=Example, CN=west"}, {"leftid": "C=XX, O=Example, CN=west"}),
    "None leaves keyword out": ({"left": "198.51.100.1", "leftsubnet": None}, {"left": "198.51.100.1"}),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_rendered_definition_parses_to_same_keywords(name):
    definition, expected = ROUND_TRIPS[name]
    definition = dict(definition, right=definition.get("right", "198.51.100.2"))
    expected = dict(expected, right=expected.get("right", "198.51.100.2"))
    text = render_conn("example", definition)
    for version in ("4.10", "5.2"):
        config = parse_config_text(text, filename="/etc/ipsec.d/example.conf", version=version, reader=MemoryReader({}))
        assert config.errors == [], (version, [str(problem) for problem in config.errors])
        conn = config.conns["example"]
        for key, value in expected.items():
            assert conn.get(key) == value, (version, key)
        assert set(k for k, s in conn.settings.items() if s.origin == "conn") == set(expected)


def test_rendered_file_starts_with_managed_header():
    text = render_conn("example", {"left": "198.51.100.1"})
    assert is_managed(text)
    assert not is_managed("conn example\n\tleft=198.51.100.1\n")


@pytest.mark.parametrize("value, words", [
    ('say "hi"', "double quote"),
    ("two\nlines", "line break"),
    ("tab\x01", "control character"),
])
def test_unrepresentable_values_rejected(value, words):
    with pytest.raises(ValidationError) as error:
        render_value("leftupdown", value)
    assert words in error.value.message
    assert "leftupdown" in error.value.message


@pytest.mark.parametrize("key", ["bad key", "-x", "x=y", "", "1abc"])
def test_invalid_keyword_names_rejected(key):
    with pytest.raises(ValidationError) as error:
        render_conn("example", {key: "1"})
    assert "Invalid keyword" in error.value.message


def test_empty_definition_rejected():
    with pytest.raises(ValidationError):
        render_conn("example", {})


def test_list_item_with_blank_rejected():
    with pytest.raises(ValidationError):
        render_value("leftsubnets", ["203.0.113.0/28 x"])


def test_digit_string_written_quoted_and_reads_back():
    text = render_conn("example", {"left": "198.51.100.1", "right": "198.51.100.2", "mark": "5", "keyingtries": 3})
    assert '\tmark="5"\n' in text
    assert "\tkeyingtries=3\n" in text
    config = parse_config_text(text, filename="/etc/ipsec.d/example.conf", version="4.10", reader=MemoryReader({}))
    assert config.errors == []
    assert config.conns["example"].get("mark") == "5"
