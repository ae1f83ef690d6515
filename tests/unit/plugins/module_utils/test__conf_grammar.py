"""ipsec.conf lexing: lines, comments, quoting, keywords and values, per Libreswan series.

Expected results were checked against addconn and readwriteconf of Libreswan 4.10 and 5.2.
"""

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config_text

BOTH = ["4", "5"]


def parse(text, version="4"):
    return parse_config_text(text, filename="/etc/ipsec.conf", version=version, cwd="/", reader=MemoryReader({}))


def conn_text(*lines):
    body = "".join("\t%s\n" % line for line in lines)
    return "conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n" + body


def messages(config, severity=None):
    return [p.message for p in config.problems if severity is None or p.severity == severity]


def lines_of(config, severity="error"):
    return [p.line for p in config.problems if p.severity == severity]


# Lines and sections


@pytest.mark.parametrize("version", BOTH)
def test_blanks_and_tabs_both_indent(version):
    config = parse("conn a\n    left=192.0.2.1\n\tright=192.0.2.2\n \t authby=secret\n", version)
    assert config.problems == []
    assert config.conns["a"].get("authby") == "secret"


@pytest.mark.parametrize("version", BOTH)
def test_column_zero_keyword_is_fatal_and_not_attached(version):
    config = parse("conn a\n\tleft=192.0.2.1\nauto=start\n\tright=192.0.2.2\n", version)
    assert lines_of(config) == [3]
    assert config.fatal_errors == config.errors
    assert "column 0" in config.errors[0].message
    assert config.errors[0].section == "conn a"
    assert config.conns["a"].get("auto") is None
    assert config.conns["a"].get("right") == "192.0.2.2"
    assert list(config.conns) == ["a"]


@pytest.mark.parametrize("version", BOTH)
def test_comment_lines_do_not_end_a_section(version):
    config = parse("conn a\n\tleft=192.0.2.1\n# column 0 comment\n\n   # indented\n\tright=192.0.2.2\n", version)
    assert config.problems == []
    assert config.conns["a"].get("right") == "192.0.2.2"


@pytest.mark.parametrize("version", BOTH)
def test_indented_section_word_rejected(version):
    config = parse("conn a\n\tleft=192.0.2.1\n\tinclude /etc/x.conf\n\tconn b\n", version)
    assert lines_of(config) == [3, 4]
    assert all("column 0" in message for message in messages(config))


@pytest.mark.parametrize("version", BOTH)
def test_indented_line_before_any_section_rejected(version):
    config = parse("\tleft=192.0.2.1\nconn a\n\tright=192.0.2.2\n", version)
    assert lines_of(config) == [1]
    assert "outside any section" in config.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_missing_final_newline_accepted(version):
    config = parse("conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2", version)
    assert config.problems == []
    assert config.conns["a"].get("right") == "192.0.2.2"


@pytest.mark.parametrize("version", BOTH)
def test_last_line_comment_without_newline_needs_blank(version):
    config = parse("conn a\n\tleft=192.0.2.1\n#note", version)
    assert lines_of(config) == [4 - 1]
    assert "newline" in config.errors[0].message
    assert parse("conn a\n\tleft=192.0.2.1\n# note", version).problems == []


@pytest.mark.parametrize("version", BOTH)
def test_crlf_line_endings_reported(version):
    config = parse("conn a\r\n\tleft=192.0.2.1\r\n\tright=192.0.2.2\r\n", version)
    assert "CRLF" in config.errors[0].message
    assert list(config.conns) == ["a\r"]
    assert config.conns["a\r"].get("left") == "192.0.2.1\r"


@pytest.mark.parametrize("version", BOTH)
def test_config_setup_with_extra_word_rejected(version):
    config = parse("config setup extra\n\tlogfile=/var/log/pluto.log\n", version)
    assert lines_of(config) == [1]
    assert config.setup["logfile"].value == "/var/log/pluto.log"


def test_second_config_setup_ignored_by_4():
    text = "config setup\n\tlogfile=/tmp/one\nconn a\n\tleft=192.0.2.1\nconfig setup\n\tuniqueids=no\n"
    config4 = parse(text, "4")
    assert sorted(config4.setup) == ["logfile"]
    assert "second 'config setup'" in messages(config4, "warning")[0]
    config5 = parse(text, "5")
    assert sorted(config5.setup) == ["logfile", "uniqueids"]
    assert config5.problems == []


@pytest.mark.parametrize("version", BOTH)
def test_version_only_as_first_statement(version):
    assert parse("# header\n\nversion 2\nconn a\n\tleft=192.0.2.1\n", version).problems == []
    assert parse("version 2.0\nconn a\n\tleft=192.0.2.1\n", version).problems == []
    config = parse("conn a\n\tleft=192.0.2.1\nversion 2\n", version)
    assert lines_of(config) == [3]
    assert config.fatal_errors


# Conn names


@pytest.mark.parametrize("version", BOTH)
def test_conn_name_with_blank_rejected(version):
    config = parse("conn branch office\n\tleft=192.0.2.1\n", version)
    assert lines_of(config) == [1]
    assert "'office'" in config.errors[0].message
    assert "blanks" in config.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_quoted_conn_name_unquoted(version):
    config = parse('conn "a b"\n\tleft=192.0.2.1\n', version)
    assert config.problems == []
    assert list(config.conns) == ["a b"]


@pytest.mark.parametrize("version", BOTH)
def test_conn_name_with_colons_accepted(version):
    config = parse("conn gw-2001:db8::1-to-2001:db8::2\n\tleft=2001:db8::1\n", version)
    assert config.problems == []
    assert list(config.conns) == ["gw-2001:db8::1-to-2001:db8::2"]


def test_digit_only_conn_name_by_version():
    assert parse("conn 123\n\tleft=192.0.2.1\n", "4").fatal_errors
    assert parse("conn 123\n\tleft=192.0.2.1\n", "5").problems == []


@pytest.mark.parametrize("version", BOTH)
def test_conn_without_name_rejected(version):
    assert lines_of(parse("conn\n\tleft=192.0.2.1\n", version)) == [1, 2]


# Comments and values


@pytest.mark.parametrize("version", BOTH)
def test_trailing_comment_after_blank_ignored(version):
    config = parse(conn_text("leftid=@west # note", "rightid=@east\t#tab then note"), version)
    assert config.problems == []
    assert config.conns["a"].get("leftid") == "@west"
    assert config.conns["a"].get("rightid") == "@east"


@pytest.mark.parametrize("version", BOTH)
def test_hash_inside_value_is_data(version):
    config = parse(conn_text("leftid=@west#notacomment", 'leftupdown="/sbin/updown --tag #1"'), version)
    assert config.problems == []
    assert config.conns["a"].get("leftid") == "@west#notacomment"
    assert config.conns["a"].get("leftupdown") == "/sbin/updown --tag #1"


@pytest.mark.parametrize("version", BOTH)
def test_trailing_comment_without_blank_rejected(version):
    config = parse(conn_text("leftid=@west #note"), version)
    assert lines_of(config) == [4]
    assert "'#note'" in config.errors[0].message
    assert "'# note'" in config.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_blanks_around_equals_and_key_case(version):
    config = parse("conn a\n\tLeft = 192.0.2.1\n\tRIGHT\t=\t192.0.2.2\n\tAuto=add\n", version)
    assert config.problems == []
    assert config.conns["a"].settings["left"].value == "192.0.2.1"
    assert config.conns["a"].get("Right") == "192.0.2.2"
    assert config.conns["a"].get("auto") == "add"


@pytest.mark.parametrize("version", BOTH)
def test_equals_inside_value_kept(version):
    config = parse(conn_text('leftid="C=CH, O=Example, CN=west"', "rightid=CN=east", "leftcert==x"), version)
    assert config.problems == []
    assert config.conns["a"].get("leftid") == "C=CH, O=Example, CN=west"
    assert config.conns["a"].get("rightid") == "CN=east"
    assert config.conns["a"].get("leftcert") == "=x"


@pytest.mark.parametrize("version", BOTH)
def test_quotes_removed_without_escapes(version):
    config = parse(conn_text('leftid="@we st"', "rightid='@east'", 'modecfgbanner=""'), version)
    assert config.problems == []
    assert config.conns["a"].get("leftid") == "@we st"
    assert config.conns["a"].get("rightid") == "'@east'"
    assert config.conns["a"].get("modecfgbanner") == ""


@pytest.mark.parametrize("version", BOTH)
def test_braces_removed_content_verbatim(version):
    config = parse(conn_text("leftsubnets={ 10.0.1.0/24, 10.0.2.0/24 }", "modecfgdns={192.0.2.53 198.51.100.53}",
                             "modecfgdomains={ }"), version)
    assert config.problems == []
    assert config.conns["a"].get("leftsubnets") == " 10.0.1.0/24, 10.0.2.0/24 "
    assert config.conns["a"].get("modecfgdns") == "192.0.2.53 198.51.100.53"
    assert config.conns["a"].get("modecfgdomains") == " "


@pytest.mark.parametrize("version", BOTH)
def test_braces_run_to_last_closing_brace(version):
    config = parse(conn_text("modecfgdns={a} # c}"), version)
    assert config.problems == []
    assert config.conns["a"].get("modecfgdns") == "a} # c"


@pytest.mark.parametrize("version", BOTH)
def test_raw_value_may_hold_one_quote_or_brace(version):
    config = parse(conn_text('leftid=a"b', "rightid=a{b", "leftcert={a}x"), version)
    assert config.problems == []
    assert config.conns["a"].get("leftid") == 'a"b'
    assert config.conns["a"].get("rightid") == "a{b"
    assert config.conns["a"].get("leftcert") == "{a}x"


@pytest.mark.parametrize("version", BOTH)
def test_quote_then_brace_splits_value(version):
    config = parse(conn_text('leftid=a"{b'), version)
    assert lines_of(config) == [4]
    assert "'{b'" in config.errors[0].message
    assert config.fatal_errors


@pytest.mark.parametrize("version", BOTH)
def test_text_after_quoted_value_rejected(version):
    config = parse(conn_text('leftid="a b"c'), version)
    assert lines_of(config) == [4]


@pytest.mark.parametrize("version", BOTH)
def test_second_assignment_on_line_rejected(version):
    config = parse(conn_text("auto=add authby=secret"), version)
    assert lines_of(config) == [4]
    assert "'authby'" in config.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_missing_equals_rejected(version):
    config = parse(conn_text("leftid"), version)
    assert lines_of(config) == [4]
    assert "missing '='" in config.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_text_between_keyword_and_equals_dropped(version):
    config = parse(conn_text("leftid foo=bar"), version)
    assert config.errors == []
    assert "'foo'" in messages(config, "warning")[0]
    assert config.conns["a"].get("leftid") == "bar"


def test_empty_value_by_version():
    text = conn_text("rightsubnet=", 'leftid=""')
    conn4 = parse(text, "4").conns["a"]
    assert conn4.get("rightsubnet") is None
    assert conn4.get("leftid") == ""
    conn5 = parse(text, "5").conns["a"]
    assert conn5.get("rightsubnet") == ""
    assert conn5.get("leftid") == ""


@pytest.mark.parametrize("keyword", ["pfs", "ikelifetime", "rekeyfuzz"])
def test_empty_typed_value_fatal_in_4(keyword):
    config = parse(conn_text(keyword + "="), "4")
    assert lines_of(config) == [4]
    assert config.fatal_errors


@pytest.mark.parametrize("keyword", ["pfs", "ikelifetime", "keyingtries"])
def test_empty_typed_value_ignored_by_5(keyword):
    config = parse(conn_text(keyword + "="), "5.2")
    assert config.errors == []
    assert lines_of(config, "warning") == [4]
    assert config.conns["a"].get(keyword) is None


# Typed values


@pytest.mark.parametrize("value, accepted", [("yes", True), ("no", True), ("y", True), ("off", True), ('"yes"', True),
                                             ("Yes", False), ("maybe", False), ("1", False)])
def test_boolean_words_strict_in_4(value, accepted):
    config = parse(conn_text("pfs=" + value), "4")
    assert (config.errors == []) is accepted


@pytest.mark.parametrize("value, accepted", [("Yes", True), ("1", True), ("off", True), ("maybe", False)])
def test_boolean_invalid_ignored_by_5(value, accepted):
    config = parse(conn_text("pfs=" + value), "5")
    assert config.errors == []
    assert (config.conns["a"].get("pfs") == value) is accepted


def test_boolean_with_extra_letters_warned_in_4():
    config = parse(conn_text("pfs=xyes"), "4")
    assert config.errors == []
    assert config.conns["a"].get("pfs") == "yes"
    assert "'x'" in messages(config, "warning")[0]


def test_percent_needs_sign_in_4():
    assert parse(conn_text("rekeyfuzz=50"), "4").fatal_errors
    assert parse(conn_text("rekeyfuzz=50%"), "4").problems == []
    config5 = parse(conn_text("rekeyfuzz=50"), "5")
    assert config5.errors == []
    assert config5.conns["a"].get("rekeyfuzz") is None


@pytest.mark.parametrize("version", BOTH)
def test_invalid_duration_ignored_with_warning(version):
    config = parse(conn_text("ikelifetime=1x", "rekeymargin=%forever", "salifetime=8h"), version)
    assert config.errors == []
    assert lines_of(config, "warning") == [4, 5]
    assert config.conns["a"].get("ikelifetime") is None
    assert config.conns["a"].get("salifetime") == "8h"


def test_digit_only_string_value_breaks_conn_in_4():
    config = parse(conn_text("mark=5"), "4")
    assert config.fatal_errors == []
    assert "double quotes" in config.conns["a"].errors[0].message
    assert parse(conn_text('mark="5"'), "4").problems == []
    assert parse(conn_text("mark=5"), "5").problems == []


# Comment keys


@pytest.mark.parametrize("version", BOTH)
def test_comment_key_takes_rest_of_line(version):
    config = parse(conn_text("x-note=free text # kept", "X_Other=  spaced"), version)
    assert config.problems == []
    assert config.conns["a"].get("x-note") == "free text # kept"
    assert config.conns["a"].get("x_other") == "  spaced"


def test_empty_comment_key_swallows_next_line_in_4():
    text = conn_text("x-note=", "auto=add")
    config4 = parse(text, "4")
    assert config4.conns["a"].get("x-note") == "\tauto=add"
    assert config4.conns["a"].get("auto") is None
    assert lines_of(config4, "warning") == [4]
    config5 = parse(text, "5")
    assert config5.problems == []
    assert config5.conns["a"].get("auto") == "add"


def test_comment_key_without_equals_by_version():
    assert parse(conn_text("x-note"), "4").fatal_errors
    assert parse(conn_text("x-note"), "5").problems == []


# Keywords


@pytest.mark.parametrize("version", BOTH)
def test_unknown_keywords_all_reported(version):
    config = parse(conn_text("Protocol=udp", "topology=subnet"), version)
    assert lines_of(config) == [4, 5]
    assert [p.section for p in config.errors] == ["conn a", "conn a"]
    assert "'Protocol'" in config.errors[0].message
    assert len(config.fatal_errors) == 2


@pytest.mark.parametrize("version", BOTH)
def test_typo_gets_suggestion(version):
    config = parse(conn_text("leftsubnett=10.0.0.0/8"), version)
    assert "did you mean 'leftsubnet'?" in config.errors[0].message


def test_removed_keyword_names_replacement():
    config = parse(conn_text("ike_frag=yes"), "4")
    assert "use 'fragmentation' instead" in config.errors[0].message
    config = parse("config setup\n\tnat_traversal=yes\n", "5")
    assert "removed in 4.0" in config.errors[0].message


def test_forceencaps_obsolete_then_removed():
    config4 = parse(conn_text("forceencaps=yes"), "4")
    assert config4.errors == []
    assert "encapsulation=yes" in messages(config4, "warning")[0]
    config5 = parse(conn_text("forceencaps=yes"), "5")
    assert "encapsulation=yes" in config5.errors[0].message


@pytest.mark.parametrize("version", ["4.10", "5.2"])
def test_obsolete_keyword_warned_and_dropped(version):
    config = parse("config setup\n\tinterfaces=%defaultroute\n", version)
    assert config.errors == []
    assert "obsolete" in messages(config, "warning")[0]
    assert "interfaces" not in config.setup


def test_old_spelling_virtual_private_warned():
    config4 = parse("config setup\n\tvirtual_private=%v4:10.0.0.0/8\n", "4")
    assert config4.errors == []
    assert "old spelling of 'virtual-private'" in messages(config4, "warning")[0]
    assert config4.setup["virtual_private"].value == "%v4:10.0.0.0/8"
    config52 = parse("config setup\n\tvirtual_private=%v4:10.0.0.0/8\n", "5.2")
    assert config52.errors == []
    config53 = parse("config setup\n\tvirtual_private=%v4:10.0.0.0/8\n", "5.3")
    assert "virtual_private" not in config53.setup
    assert "obsolete" in messages(config53, "warning")[0]


def test_conn_keyword_in_setup_by_version():
    config4 = parse("config setup\n\tauthby=secret\n", "4")
    assert config4.fatal_errors
    assert config4.errors[0].section == "config setup"
    config5 = parse("config setup\n\tauthby=secret\n", "5")
    assert config5.errors == []
    assert "conn keyword" in messages(config5, "warning")[0]


def test_setup_keyword_in_conn_by_version():
    config4 = parse(conn_text("logfile=/tmp/x"), "4")
    assert "config setup keyword" in config4.errors[0].message
    assert config4.conns["a"].get("logfile") is None
    config5 = parse(conn_text("logfile=/tmp/x"), "5")
    assert config5.errors == []
    assert "config setup keyword" in messages(config5, "warning")[0]


def test_keyword_obsolete_in_later_release_warned():
    config = parse("config setup\n\tinterfaces=%defaultroute\n", "4")
    assert config.errors == []
    assert "4.8 and later ignore it" in messages(config, "warning")[0]
    assert parse("config setup\n\tinterfaces=%defaultroute\n", "4.7").problems == []


def test_keyword_added_later_rejected_for_release():
    assert parse(conn_text("iptfs=yes"), "5.1").fatal_errors
    assert parse(conn_text("iptfs=yes"), "5.2").problems == []
    assert parse(conn_text("iptfs=yes"), "4").fatal_errors


def test_dash_after_side_only_in_5():
    assert parse(conn_text("left-subnet=10.0.0.0/8"), "5").conns["a"].get("leftsubnet") == "10.0.0.0/8"
    assert parse(conn_text("left-subnet=10.0.0.0/8"), "4").fatal_errors


def test_bare_side_keyword_sets_right():
    config = parse(conn_text("subnet=10.0.0.0/8"), "4")
    assert config.conns["a"].get("rightsubnet") == "10.0.0.0/8"
    assert "rightsubnet" in messages(config, "warning")[0]
    assert parse(conn_text("subnet=10.0.0.0/8"), "5.4").fatal_errors


def test_dns_match_id_spelling_explained():
    config = parse(conn_text("dns-match-id=yes"), "4")
    assert "comma" in config.errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_stray_quote_before_keyword_warned(version):
    config = parse(conn_text('"leftid"=@x'), version)
    assert config.errors == []
    assert config.conns["a"].get("leftid") == "@x"


def test_invalid_version_rejected():
    with pytest.raises(ValueError):
        parse("conn a\n", "two")
    with pytest.raises(ValueError):
        parse("conn a\n", "2.6")


def test_release_string_accepted():
    assert parse("conn a\n\tleft=192.0.2.1\n", "Libreswan 5.2").rules == "5.2"
    assert parse("conn a\n\tleft=192.0.2.1\n", "4.10").rules == "4.10"
    assert parse("conn a\n\tleft=192.0.2.1\n", "3").rules == "3.x"


# Word values


def test_unknown_word_value_fatal_in_4():
    config = parse(conn_text("auto=begin"), "4")
    assert config.fatal_errors
    assert "ignore, add, ondemand" in config.errors[0].message


def test_word_value_case_ignored():
    assert parse(conn_text("auto=ADD"), "4").problems == []
    assert parse(conn_text("auto=ADD"), "5").problems == []


def test_second_word_value_by_4_rules():
    assert parse(conn_text("type=tunnel,transport"), "4").fatal_errors
    assert parse(conn_text("auto=add,bogus"), "4").problems == []


def test_unknown_word_value_ignored_by_5():
    config = parse(conn_text("auto=begin"), "5")
    assert config.errors == []
    assert "ignores the setting" in messages(config, "warning")[0]
    assert config.conns["a"].get("auto") is None


def test_word_values_of_5_only_rejected_by_4():
    assert parse(conn_text("keyexchange=ikev2"), "5").problems == []
    assert parse(conn_text("keyexchange=ikev2"), "4").fatal_errors


@pytest.mark.parametrize("version", BOTH)
def test_seccomp_needs_build_option(version):
    config = parse("config setup\n\tseccomp=enabled\n", version)
    assert config.errors == []
    assert "built with seccomp support" in messages(config, "warning")[0]
