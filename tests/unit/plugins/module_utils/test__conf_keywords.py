"""The ipsec.conf keyword tables and value rules of Libreswan 3.x, 4.x and 5.x."""

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._keywords import (
    Keywords,
    parse_bool,
    parse_duration,
    parse_version,
)

KINDS = {"string", "list", "also", "bool", "time", "time_ms", "number", "percent", "binary", "byte", "enum",
         "loose", "obsolete"}


@pytest.mark.parametrize("text, expected", [("4", (4, None)), ("4.10", (4, 10)), ("5.2", (5, 2)),
                                            ("Libreswan 5.2", (5, 2)), ("v3.32", (3, 32)), (5, (5, None))])
def test_version_text_parsed(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "five", "2.6", "1"])
def test_version_text_rejected(text):
    with pytest.raises(ValueError):
        parse_version(text)


def test_newer_series_uses_5_rules():
    assert Keywords("6.0").series == 5
    assert Keywords("6.0").minor is None


def test_later_minor_uses_last_known_table():
    assert Keywords("4.99").minor == 15
    assert Keywords("3.10").minor is None


@pytest.mark.parametrize("value, series, expected", [
    ("3600", 4, 3600), ("1h", 4, 3600), ("5m", 4, 300), ("2d", 4, 172800), ("1w", 4, 604800), ("1H", 4, 3600),
    ("1.5h", 4, None), ("%forever", 4, None), ("", 4, None), ("1x", 4, None),
    ("1.5h", 5, 5400), ("500ms", 5, 0.5), ("30", 5, 30), (".5m", 5, 30), ("%forever", 5, None), ("", 5, None),
])
def test_duration_by_series(value, series, expected):
    assert parse_duration(value, series) == expected


def test_duration_default_unit_milliseconds():
    assert parse_duration("500", 4, "ms") == 0.5
    assert parse_duration("2s", 5, "ms") == 2


@pytest.mark.parametrize("value, series, expected", [
    ("yes", 4, True), ("off", 4, False), ("Yes", 4, None), ("1", 4, None),
    ("Yes", 5, True), ("1", 5, True), ("0", 5, False), ("maybe", 5, None),
])
def test_boolean_by_series(value, series, expected):
    assert parse_bool(value, series) is expected


@pytest.mark.parametrize("series", ["3", "4", "5"])
def test_table_entries_consistent(series):
    keywords = Keywords(series)
    assert keywords.end.leftright
    for name, keyword in keywords.by_name.items():
        assert keyword.kind in KINDS, name
        assert keyword.sections, name
        assert keyword.sections <= {"setup", "conn"}, name
        assert keyword.group is None or keyword.group in keywords.by_name, name
        assert name == name.lower()


@pytest.mark.parametrize("series", ["3", "4", "5"])
def test_core_conn_keywords_known(series):
    keywords = Keywords(series)
    for word in ("left", "right", "leftsubnet", "rightsubnets", "leftid", "authby", "auto", "also", "type",
                 "ikelifetime", "salifetime", "rekeymargin", "esp", "ike", "pfs", "leftcert"):
        match = keywords.find(word)
        assert match is not None, word
        assert "conn" in match.keyword.sections, word


def test_find_sides_and_case():
    keywords = Keywords("5")
    assert keywords.find("LeftSubnet").key == "leftsubnet"
    assert keywords.find("LeftSubnet").side == "left"
    assert keywords.find("right").key == "right"
    assert keywords.find("right-id").key == "rightid"
    assert keywords.find("subnet").bare
    assert keywords.find("middlesubnet") is None
    assert Keywords("4").find("right-id") is None


def test_aliases_share_setting():
    keywords = Keywords("4")
    assert keywords.find("keylife").keyword.setting == keywords.find("salifetime").keyword.setting
    assert keywords.find("plutostderrlog").keyword.setting == "logfile"
    assert "keylife" in keywords.members(keywords.find("salifetime").keyword.setting)


def test_status_follows_release():
    assert Keywords("5.2").status(Keywords("5.2").find("virtual_private").keyword) == "ok"
    assert Keywords("5.3").status(Keywords("5.3").find("virtual_private").keyword) == "obsolete"
    assert Keywords("5.1").status(Keywords("5.1").find("iptfs").keyword) == "missing"
    assert Keywords("5").status(Keywords("5").find("iptfs").keyword) == "ok"
    assert Keywords("4.10").status(Keywords("4.10").find("forceencaps").keyword) == "obsolete"


def test_unknown_hints():
    keywords = Keywords("4.10")
    assert "fragmentation" in keywords.unknown_hint("ike_frag")
    assert "removed in 4.0" in keywords.unknown_hint("nat_traversal")
    assert "Libreswan 5" in keywords.unknown_hint("iptfs")
    assert keywords.unknown_hint("leftsubnett") == "did you mean 'leftsubnet'?"
    assert keywords.unknown_hint("completely-unrelated") is None
    assert "added in Libreswan 5.2" in Keywords("5.1").unknown_hint("iptfs")
    assert "encapsulation=yes" in Keywords("5").unknown_hint("forceencaps")
