"""Loading conns: %default, also=, repeated keywords, split children and the Config API.

Which conns Libreswan refuses ("conn NAME did not load properly") was checked with addconn
of Libreswan 4.10 and 5.2.
"""

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config_text
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import ConfigError

BOTH = ["4", "5"]


def parse(text, version="4"):
    return parse_config_text(text, filename="/etc/ipsec.conf", version=version, cwd="/", reader=MemoryReader({}))


def values(conn):
    return dict((key, setting.value) for key, setting in conn.settings.items())


# %default


@pytest.mark.parametrize("version", BOTH)
def test_default_applies_wherever_it_sits(version):
    text = ("conn %default\n\tikelifetime=1h\n"
            "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n"
            "conn %default\n\tikelifetime=2h\n\trekeymargin=4m\n")
    config = parse(text, version)
    assert config.problems == []
    assert list(config.conns) == ["a"]
    assert config.conns["a"].get("ikelifetime") == "2h"
    assert config.conns["a"].get("rekeymargin") == "4m"
    assert config.conns["a"].settings["ikelifetime"].origin == "%default"
    assert config.conns["a"].settings["ikelifetime"].line == 7


@pytest.mark.parametrize("version", BOTH)
def test_conn_value_overrides_default(version):
    text = "conn %default\n\tikelifetime=1h\nconn a\n\tleft=192.0.2.1\n\tikelifetime=3h\n"
    config = parse(text, version)
    assert config.problems == []
    assert config.conns["a"].get("ikelifetime") == "3h"
    assert config.conns["a"].settings["ikelifetime"].origin == "conn"


def test_also_in_default_by_version():
    text = ("conn base\n\tauthby=secret\n"
            "conn %default\n\talso=base\n"
            "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n")
    config4 = parse(text, "4")
    assert "also= is not valid in conn %default" in config4.errors[0].message
    assert config4.conns["a"].get("authby") == "secret"
    config5 = parse(text, "5")
    assert config5.errors == []
    assert "ignores it" in config5.warnings[0].message
    assert config5.conns["a"].get("authby") is None


def test_default_after_also_error_skipped_by_4():
    text = ("conn base\n\tauthby=secret\n"
            "conn %default\n\talso=base\n"
            "conn %default\n\tikelifetime=2h\n"
            "conn a\n\tleft=192.0.2.1\n")
    assert parse(text, "4").conns["a"].get("ikelifetime") is None
    assert parse(text, "5").conns["a"].get("ikelifetime") == "2h"


# also=


ALSO_ORDER = ("conn base\n\tikelifetime=1h\n\trekeymargin=3m\n\tauto=ignore\n"
              "conn a\n\tikelifetime=2h\n\talso=base\n\trekeymargin=5m\n\tleft=192.0.2.1\n\tright=192.0.2.2\n")


def test_also_values_conn_first_in_4():
    conn = parse(ALSO_ORDER, "4").conns["a"]
    assert conn.get("ikelifetime") == "2h"
    assert conn.get("rekeymargin") == "5m"
    assert conn.get("auto") == "ignore"
    assert conn.settings["auto"].origin == "also:base"


def test_also_values_in_place_in_5():
    conn = parse(ALSO_ORDER, "5").conns["a"]
    assert conn.get("ikelifetime") == "2h"
    assert conn.get("rekeymargin") == "3m"
    assert conn.settings["rekeymargin"].origin == "also:base"


@pytest.mark.parametrize("version", BOTH)
def test_conflicting_also_value_makes_conn_unloadable(version):
    config = parse(ALSO_ORDER, version)
    conn = config.conns["a"]
    assert [p.severity for p in conn.problems] == ["error", "error"]
    assert all("does not load conn a" in p.message for p in conn.errors)
    assert config.fatal_errors == []
    assert config.conns["base"].errors == []


@pytest.mark.parametrize("version", BOTH)
def test_same_number_through_also_accepted(version):
    text = ("conn base\n\tikelifetime=1h\n\tpfs=yes\n"
            "conn a\n\tleft=192.0.2.1\n\tikelifetime=60m\n\tpfs=y\n\talso=base\n")
    conn = parse(text, version).conns["a"]
    assert conn.errors == []
    assert len(conn.problems) == 2


@pytest.mark.parametrize("version", BOTH)
def test_same_string_through_also_still_refused(version):
    text = "conn base\n\tleftid=@a\nconn a\n\tleft=192.0.2.1\n\tleftid=@a\n\talso=base\n"
    conn = parse(text, version).conns["a"]
    assert len(conn.errors) == 1
    assert "even with the same value" in conn.errors[0].message


def test_same_address_through_also_by_version():
    text = "conn base\n\tleft=192.0.2.1\nconn a\n\tleft=192.0.2.1\n\talso=base\n"
    assert parse(text, "4").conns["a"].errors == []
    assert len(parse(text, "5").conns["a"].errors) == 1


@pytest.mark.parametrize("version", BOTH)
def test_missing_also_target_breaks_conn(version):
    config = parse("conn a\n\tleft=192.0.2.1\n\talso=nothere\n", version)
    conn = config.conns["a"]
    assert "conn 'nothere' not found" in conn.errors[0].message
    assert config.fatal_errors == []


def test_also_list_in_one_line_by_version():
    text = ("conn b1\n\tleftid=@b1\nconn b2\n\trightid=@b2\n"
            'conn a\n\tleft=192.0.2.1\n\talso="b1 b2"\n')
    conn4 = parse(text, "4").conns["a"]
    assert conn4.also == ["b1", "b2"]
    assert conn4.get("rightid") == "@b2"
    conn5 = parse(text, "5").conns["a"]
    assert "one conn name per also= line" in conn5.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_also_loops_tolerated(version):
    text = "conn b\n\talso=a\n\tleftid=@b\nconn a\n\tleft=192.0.2.1\n\talso=b\n"
    config = parse(text, version)
    assert config.problems == []
    assert config.conns["a"].get("leftid") == "@b"
    assert config.conns["a"].also == ["b"]
    assert config.conns["b"].also == ["a"]


def test_nested_also_order_by_version():
    text = ("conn c\n\trightid=@c\n"
            "conn b\n\talso=c\n\tleftid=@b\n"
            "conn d\n\tleftcert=d.pem\n"
            "conn a\n\tleft=192.0.2.1\n\talso=b\n\talso=d\n")
    assert parse(text, "4").conns["a"].also == ["b", "d", "c"]
    assert parse(text, "5").conns["a"].also == ["b", "c", "d"]


@pytest.mark.parametrize("version", BOTH)
def test_also_target_is_also_a_conn(version):
    config = parse(ALSO_ORDER, version)
    assert list(config.conns) == ["base", "a"]
    assert values(config.conns["base"]) == {"ikelifetime": "1h", "rekeymargin": "3m", "auto": "ignore"}


# Repeated keywords


def test_repeated_keyword_in_conn_by_version():
    text = "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleft=192.0.2.3\n"
    conn4 = parse(text, "4").conns["a"]
    assert "does not load conn a" in conn4.errors[0].message
    config5 = parse(text, "5")
    assert config5.errors == []
    assert config5.warnings[0].line == 4
    assert config5.conns["a"].get("left") == "192.0.2.1"


@pytest.mark.parametrize("version", BOTH)
def test_alias_pair_with_different_values_refused(version):
    conn = parse("conn a\n\tleft=192.0.2.1\n\tkeylife=1h\n\tsalifetime=2h\n", version).conns["a"]
    assert len(conn.errors) == 1
    assert conn.get("salifetime") == "1h"
    assert conn.get("keylife") == "1h"
    assert "keylife" in conn.settings


@pytest.mark.parametrize("version", BOTH)
def test_repeated_setup_keyword_last_wins(version):
    config = parse("config setup\n\tlogfile=/tmp/one\n\tlogfile=/tmp/two\n", version)
    assert config.errors == []
    assert config.setup["logfile"].value == "/tmp/two"
    assert config.setup["logfile"].line == 3
    assert "replacing" in config.warnings[0].message


@pytest.mark.parametrize("version", BOTH)
def test_setup_alias_replaces_earlier_name(version):
    config = parse("config setup\n\tlogfile=/tmp/one\n\tplutostderrlog=/tmp/two\n", version + ".0")
    assert sorted(config.setup) == ["plutostderrlog"]


@pytest.mark.parametrize("version", BOTH)
def test_subnets_lines_appended_in_4_only(version):
    text = "conn a\n\tleft=192.0.2.1\n\tleftsubnets=10.0.1.0/24\n\tleftsubnets=10.0.2.0/24\n"
    conn = parse(text, version).conns["a"]
    if version == "4":
        assert conn.get("leftsubnets") == "10.0.1.0/24 10.0.2.0/24"
    else:
        assert conn.get("leftsubnets") == "10.0.1.0/24"


# Duplicate conn names


@pytest.mark.parametrize("version", BOTH)
def test_duplicate_conn_keeps_first_with_warning(version):
    text = "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.3\n"
    config = parse(text, version)
    assert list(config.conns) == ["a"]
    assert config.conns["a"].get("right") == "192.0.2.2"
    assert config.errors == []
    warning = config.warnings[0]
    assert warning.line == 4
    assert "/etc/ipsec.conf:1" in warning.message
    assert "included twice" not in warning.message


# Children


def test_children_from_left_subnets():
    text = "conn s2s\n\tleft=192.0.2.1\n\tleftsubnets={10.0.1.0/24 10.0.2.0/24}\n\trightsubnet=10.0.9.0/24\n"
    config = parse(text)
    assert config.conns["s2s"].children == ["s2s/1x0", "s2s/2x0"]
    assert config.conn("s2s/2x0") is config.conns["s2s"]


def test_children_count_subnet_as_zero():
    text = ("conn m\n\tleft=192.0.2.1\n\tleftsubnet=10.0.0.0/24\n\tleftsubnets=10.0.1.0/24\n"
            "\trightsubnets=10.0.8.0/24,10.0.9.0/24\n")
    assert parse(text).conns["m"].children == ["m/0x1", "m/0x2", "m/1x1", "m/1x2"]


def test_children_skip_mixed_families_in_5():
    text = "conn m\n\tleft=192.0.2.1\n\tleftsubnets=10.0.1.0/24,2001:db8:1::/48\n\trightsubnet=10.0.9.0/24\n"
    assert parse(text, "4").conns["m"].children == ["m/1x0", "m/2x0"]
    assert parse(text, "5").conns["m"].children == ["m/1x0"]


def test_no_children_without_subnets_list():
    config = parse("conn h2h\n\tleft=192.0.2.1\n\tleftsubnet=10.0.0.0/24\n")
    assert config.conns["h2h"].children == []
    assert config.conn("h2h/1x0") is None


def test_children_from_also_section():
    text = "conn nets\n\tleftsubnets=10.0.1.0/24 \nconn a\n\tleft=192.0.2.1\n\talso=nets\n"
    assert parse(text).conns["a"].children == ["a/1x0"]


# Config API


def test_conn_lookup_and_close_names():
    config = parse("conn west-east\n\tleft=192.0.2.1\nconn east-west\n\tleft=192.0.2.2\n")
    assert config.conn("west-east") is config.conns["west-east"]
    assert config.conn("missing") is None
    assert config.close_names("west-eats") == ["west-east"]
    assert config.close_names("zzz") == []


def test_default_section_not_a_conn():
    config = parse("conn %default\n\tikelifetime=1h\nconn a\n\tleft=192.0.2.1\n")
    assert list(config.conns) == ["a"]
    assert config.conn("%default") is None


def test_raise_for_errors_lists_every_error():
    config = parse("conn a\n\tfoo=1\n\tbar=2\n\tleft=192.0.2.1\n")
    with pytest.raises(ConfigError) as error:
        config.raise_for_errors()
    assert len(error.value.problems) == 2
    assert error.value.line == 2
    assert "2 problems" in error.value.message


def test_raise_for_errors_ignores_warnings():
    config = parse("config setup\n\tlogfile=/a\n\tlogfile=/b\n")
    assert config.warnings
    config.raise_for_errors()


def test_conn_get_finds_alias_and_default():
    conn = parse("conn a\n\tleft=192.0.2.1\n\tkeylife=8h\n").conns["a"]
    assert conn.get("salifetime") == "8h"
    assert conn.get("ipsec-lifetime") == "8h"
    assert conn.get("rightid") is None
    assert conn.get("rightid", "%none") == "%none"


def test_setting_records_place_and_origin():
    config = parse("conn base\n\tauthby=secret\nconn a\n\tleft=192.0.2.1\n\talso=base\n")
    setting = config.conns["a"].settings["authby"]
    assert (setting.value, setting.file, setting.line, setting.origin) == ("secret", "/etc/ipsec.conf", 2, "also:base")
    assert config.conns["a"].file == "/etc/ipsec.conf"
    assert config.conns["a"].line == 3


def test_files_lists_main_file():
    assert parse("conn a\n\tleft=192.0.2.1\n").files == ["/etc/ipsec.conf"]


def test_comment_keys_not_inherited():
    text = "conn base\n\tx-owner=ops\nconn a\n\tleft=192.0.2.1\n\talso=base\n"
    assert parse(text).conns["a"].get("x-owner") is None
