"""Reported ipsec.conf problems: column-0 keywords, unknown keywords, conn names with blanks,
quoting rules and include globs.

Each kind of fault is tested twice: on the reported input (read from the shared case
directory, skipped when it is absent) and on this project's own fixture of the same kind.
"""

import os

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config

BOTH = ["4", "5"]
CASES = os.path.join(os.environ.get("IPSEC_SHARED_DIR", "/work/shared"), "cases", "inputs")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "conf")


def case_path(name):
    path = os.path.join(CASES, name)
    if not os.path.isfile(path):
        pytest.skip("reported case input %s not found" % path)
    return path


def fixture_path(name):
    return os.path.join(FIXTURES, name)


def read_bundle(path):
    """Read a bundle: each '=== /path ===' line starts a file; a path ending in '/' is a directory."""
    files, directories = {}, []
    current = None
    with open(path) as handle:
        for line in handle.read().split("\n"):
            if line.startswith("=== "):
                name = line[4:].split()[0]
                if name.endswith("/"):
                    directories.append(name)
                    current = None
                else:
                    current = files.setdefault(name, [])
            elif current is not None:
                current.append(line)
    texts = dict((name, "\n".join(lines).rstrip("\n") + "\n") for name, lines in files.items())
    return MemoryReader(texts, directories)


def error_lines(config):
    return [(os.path.basename(p.file), p.line) for p in config.errors]


# Keyword lines that start in column 0


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("source", ["reported", "fixture"])
def test_column_zero_lines_reported_with_place(source, version):
    if source == "reported":
        path, name, lines, conn, stray = case_path("BR-01.conf"), "BR-01.conf", [4, 12], "office", "auto"
        tab_key, tab_value = "rightsubnet", "10.2.0.0/24"
    else:
        path, name, lines, conn, stray = fixture_path("column-zero.conf"), "column-zero.conf", [5, 13], "branch", "auto"
        tab_key, tab_value = "leftsubnet", "10.20.0.0/16"
    config = parse_config(path, version=version)
    assert error_lines(config) == [(name, line) for line in lines]
    assert config.fatal_errors == config.errors
    assert all("column 0" in problem.message for problem in config.errors)
    assert list(config.conns) == [conn]
    assert config.conns[conn].get(stray) is None
    assert config.conns[conn].get(tab_key) == tab_value
    assert config.errors[-1].section == "conn %s" % conn


# Unknown, renamed and misplaced keywords


@pytest.mark.parametrize("version", BOTH)
def test_reported_unknown_keys_all_listed(version):
    config = parse_config(case_path("BR-02.conf"), version=version)
    assert error_lines(config) == [("BR-02.conf", 11), ("BR-02.conf", 12)]
    assert [p.section for p in config.errors] == ["conn site-a", "conn site-a"]
    assert "'Protocol'" in config.errors[0].message
    assert "'Topology'" in config.errors[1].message
    assert config.fatal_errors
    assert config.conns["site-b"].errors == []
    assert config.conns["site-a"].get("auto") == "start"


@pytest.mark.parametrize("version", BOTH)
def test_reported_old_spelling_marked(version):
    config = parse_config(case_path("BR-02.conf"), version=version)
    old = [p for p in config.warnings if p.line == 4]
    assert len(old) == 1
    assert "virtual_private" in old[0].message
    expected = "old spelling of 'virtual-private'" if version == "4" else "5.3 and later ignore it"
    assert expected in old[0].message


@pytest.mark.parametrize("version", BOTH)
def test_fixture_foreign_keywords_all_reported(version):
    config = parse_config(fixture_path("foreign-keywords.conf"), version=version)
    reported = dict((p.line, p) for p in config.problems)
    assert sorted(reported) == [3, 4, 9, 10, 11]
    assert reported[9].severity == "error"
    assert reported[10].severity == "error"
    assert "'cipher'" in reported[9].message
    assert "'Keepalive'" in reported[10].message
    assert ("old spelling" if version == "4" else "5.3 and later") in reported[3].message
    assert "conn keyword" in reported[4].message
    assert "config setup keyword" in reported[11].message
    misplaced = "error" if version == "4" else "warning"
    assert reported[4].severity == misplaced
    assert reported[11].severity == misplaced
    assert config.conns["generated"].get("auto") == "add"
    assert config.conns["untouched"].errors == []
    assert config.fatal_errors


# Conn names with blanks


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("source", ["reported", "fixture"])
def test_blank_in_conn_name_names_second_word(source, version):
    if source == "reported":
        path, word, ipv6_name = case_path("BR-03.conf"), "office", "gw-2001:db8::1-to-2001:db8::2"
    else:
        path, word, ipv6_name = fixture_path("conn-names.conf"), "office", "peer-2001:db8:1::1-2001:db8:2::1"
    config = parse_config(path, version=version)
    assert [p.line for p in config.errors] == [2]
    assert "'%s'" % word in config.errors[0].message
    assert config.fatal_errors
    assert ipv6_name in config.conns


# Quoting, braces and '#'


REPORTED_VALUES = {
    "leftupdown": "/usr/local/sbin/updown.sh --tag #1",
    "modecfgbanner": "Welcome#1",
    "modecfgdomains": "corp.example.com",
    "x-note": "free text # an x- key keeps the rest of the line",
    "modecfgdns": "192.0.2.53 198.51.100.53",
    "leftid": "%fromcert",
}

FIXTURE_VALUES = {
    "rightupdown": "/usr/libexec/updown --label #7",
    "modecfgbanner": "Hello#7",
    "modecfgdomains": "example.net",
    "x_remark": "everything # stays",
    "modecfgdns": "198.51.100.53 203.0.113.53",
    "rightid": "%fromcert",
    "leftid": "@gw#west",
}


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("source", ["reported", "fixture"])
def test_lexer_values_quote_brace_hash(source, version):
    if source == "reported":
        path, conn, expected = case_path("BR-04.conf"), "quoting", REPORTED_VALUES
    else:
        path, conn, expected = fixture_path("quoting.conf"), "values", FIXTURE_VALUES
    config = parse_config(path, version=version)
    settings = config.conns[conn]
    for key, value in expected.items():
        assert settings.get(key) == value, key
    assert [p for p in config.problems if p.line < 12] == []


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("source", ["reported", "fixture"])
def test_quote_then_brace_value_rejected(source, version):
    if source == "reported":
        path, line, token = case_path("BR-04.conf"), 17, "'{b'"
    else:
        path, line, token = fixture_path("quoting.conf"), 16, "'{y'"
    config = parse_config(path, version=version)
    assert [p.line for p in config.errors] == [line]
    assert token in config.errors[0].message
    assert config.fatal_errors


# include globs


def test_reported_includes_with_4_rules():
    reader = read_bundle(case_path("BR-07.bundle"))
    config = parse_config("/etc/ipsec.conf", version="4", cwd="/", reader=reader)
    assert list(config.conns) == ["site-a", "site-b"]
    assert config.errors == []
    twice = [p for p in config.warnings if "defined twice" in p.message]
    assert [p.section for p in twice] == ["conn site-a", "conn site-b"]
    assert "site-a.conf:1" in twice[0].message
    missing = [p for p in config.warnings if p.line == 7]
    assert "file not found" in missing[0].message
    assert [p.line for p in config.warnings if p.line in (5, 6)] == []


def test_reported_includes_with_5_rules():
    reader = read_bundle(case_path("BR-07.bundle"))
    config = parse_config("/etc/ipsec.conf", version="5", cwd="/", reader=reader)
    assert list(config.conns) == ["site-a", "site-b"]
    assert config.errors == []
    assert [p for p in config.warnings if "defined twice" in p.message] == []
    by_line = dict((p.line, p.message) for p in config.warnings)
    assert sorted(by_line) == [4, 7]
    assert "does not expand {a,b}" in by_line[4]
    assert "file not found" in by_line[7]


@pytest.mark.parametrize("version", BOTH)
def test_fixture_includes_follow_libreswan(version):
    reader = read_bundle(fixture_path("includes.bundle"))
    config = parse_config("/srv/vpn/ipsec.conf", version=version, cwd="/run/work", reader=reader)
    assert config.errors == []
    if version == "4":
        assert list(config.conns) == ["west", "east", "beside-working-directory"]
        assert len([p for p in config.warnings if "defined twice" in p.message]) == 2
    else:
        assert list(config.conns) == ["east", "west", "beside-working-directory"]
    lines = [p.line for p in config.warnings if "defined twice" not in p.message]
    assert lines == ([7] if version == "4" else [4, 7])
    assert "beside-including-file" not in config.conns
