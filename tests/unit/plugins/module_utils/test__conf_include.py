"""include lines: glob order, missing files, braces, relative paths, nesting depth.

Expected results were checked against addconn --listall of Libreswan 4.10 and 5.2.
"""

import os

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config

BOTH = ["4", "5"]


def conn(name):
    return "conn %s\n\tleft=192.0.2.1\n\tright=192.0.2.2\n" % name


def parse(files, version="4", main="/etc/ipsec.conf", cwd="/", directories=(), **options):
    reader = MemoryReader(files, directories)
    return parse_config(main, version=version, cwd=cwd, reader=reader, **options)


def warnings(config):
    return [p.message for p in config.warnings]


@pytest.mark.parametrize("version", BOTH)
def test_glob_matches_in_sorted_order(version):
    files = {
        "/etc/ipsec.conf": "include /etc/ipsec.d/*.conf\n",
        "/etc/ipsec.d/b.conf": conn("b"),
        "/etc/ipsec.d/a.conf": conn("a"),
        "/etc/ipsec.d/.hidden.conf": conn("hidden"),
        "/etc/ipsec.d/c.secrets": "",
    }
    config = parse(files, version)
    assert config.problems == []
    assert list(config.conns) == ["a", "b"]
    assert config.files == ["/etc/ipsec.conf", "/etc/ipsec.d/a.conf", "/etc/ipsec.d/b.conf"]
    assert config.conns["a"].file == "/etc/ipsec.d/a.conf"


@pytest.mark.parametrize("version", BOTH)
def test_wildcard_in_directory_part(version):
    files = {
        "/etc/ipsec.conf": "include /etc/ipsec.d/*/*.conf\n",
        "/etc/ipsec.d/2/b.conf": conn("b"),
        "/etc/ipsec.d/1/z.conf": conn("z"),
        "/etc/ipsec.d/1/a.conf": conn("a"),
    }
    assert list(parse(files, version).conns) == ["a", "z", "b"]


@pytest.mark.parametrize("version", BOTH)
def test_empty_wildcard_match_silent(version):
    files = {"/etc/ipsec.conf": "include /etc/ipsec.d/*.conf\n" + conn("main")}
    config = parse(files, version, directories=["/etc/ipsec.d"])
    assert config.problems == []
    assert list(config.conns) == ["main"]


@pytest.mark.parametrize("version", BOTH)
def test_missing_plain_file_warns(version):
    files = {"/etc/ipsec.conf": "include /etc/ipsec.d/none.conf\n" + conn("main")}
    config = parse(files, version)
    assert config.errors == []
    assert "file not found" in warnings(config)[0]
    assert config.warnings[0].line == 1
    assert list(config.conns) == ["main"]


@pytest.mark.parametrize("version", BOTH)
def test_question_mark_without_match_warns(version):
    files = {"/etc/ipsec.conf": "include /etc/ipsec.d/?.conf\n"}
    config = parse(files, version, directories=["/etc/ipsec.d"])
    assert "file not found" in warnings(config)[0]


@pytest.mark.parametrize("version", BOTH)
def test_missing_directory_skips_whole_include(version):
    files = {"/etc/ipsec.conf": "include /etc/nodir/*.conf\n" + conn("main")}
    config = parse(files, version)
    assert config.errors == []
    assert "cannot read directory /etc/nodir" in warnings(config)[0]


def test_brace_include_by_version():
    files = {
        "/etc/ipsec.conf": "include /etc/ipsec.d/{site-b,site-a}.conf\n",
        "/etc/ipsec.d/site-a.conf": conn("site-a"),
        "/etc/ipsec.d/site-b.conf": conn("site-b"),
    }
    config4 = parse(files, "4")
    assert config4.problems == []
    assert list(config4.conns) == ["site-b", "site-a"]
    config5 = parse(files, "5")
    assert list(config5.conns) == []
    assert "does not expand {a,b}" in warnings(config5)[0]


def test_nested_braces_expand_in_order():
    files = {
        "/etc/ipsec.conf": "include /etc/{x,ipsec.d/{b,a}}.conf\n",
        "/etc/ipsec.d/a.conf": conn("a"),
        "/etc/ipsec.d/b.conf": conn("b"),
    }
    assert list(parse(files, "4").conns) == ["b", "a"]


@pytest.mark.parametrize("version", BOTH)
def test_relative_include_uses_working_directory(version):
    files = {
        "/etc/ipsec.conf": "include ipsec.d/site.conf\n",
        "/etc/ipsec.d/site.conf": conn("beside-file"),
        "/root/ipsec.d/site.conf": conn("beside-cwd"),
    }
    assert list(parse(files, version, cwd="/root").conns) == ["beside-cwd"]
    assert list(parse(files, version, cwd="/etc").conns) == ["beside-file"]


@pytest.mark.parametrize("version", BOTH)
def test_relative_main_path_uses_working_directory(version):
    files = {"/srv/conf/ipsec.conf": conn("a")}
    config = parse(files, version, main="conf/ipsec.conf", cwd="/srv")
    assert list(config.conns) == ["a"]
    assert config.files == ["/srv/conf/ipsec.conf"]


@pytest.mark.parametrize("version", BOTH)
def test_nesting_deeper_than_ten_skipped(version):
    files = {"/etc/ipsec.conf": conn("c0") + "include /etc/f1.conf\n"}
    for level in range(1, 13):
        files["/etc/f%d.conf" % level] = conn("c%d" % level) + "include /etc/f%d.conf\n" % (level + 1)
    config = parse(files, version)
    assert list(config.conns) == ["c%d" % level for level in range(10)]
    assert config.errors == []
    assert "nested more than 10 deep" in warnings(config)[0]
    assert config.warnings[0].file == "/etc/f9.conf"


def test_nesting_limit_is_a_parameter():
    files = {"/etc/ipsec.conf": conn("c0") + "include /etc/f1.conf\n",
             "/etc/f1.conf": conn("c1") + "include /etc/f2.conf\n",
             "/etc/f2.conf": conn("c2")}
    assert list(parse(files, max_include_depth=2).conns) == ["c0", "c1"]


@pytest.mark.parametrize("version", BOTH)
def test_file_included_twice_reports_duplicates(version):
    files = {
        "/etc/ipsec.conf": "include /etc/ipsec.d/a.conf\ninclude /etc/ipsec.d/*.conf\n",
        "/etc/ipsec.d/a.conf": conn("a"),
    }
    config = parse(files, version)
    assert list(config.conns) == ["a"]
    assert "included twice" in warnings(config)[0]


@pytest.mark.parametrize("version", BOTH)
def test_include_matching_directory_is_fatal(version):
    files = {"/etc/ipsec.conf": "include /etc/ipsec.d/*\n", "/etc/ipsec.d/a.conf": conn("a")}
    config = parse(files, version, directories=["/etc/ipsec.d/sub"])
    assert "matches the directory /etc/ipsec.d/sub" in config.fatal_errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_include_ends_the_section(version):
    files = {"/etc/ipsec.conf": conn("a") + "include /etc/x.conf\n\tauto=add\n", "/etc/x.conf": conn("x")}
    config = parse(files, version)
    assert [p.line for p in config.fatal_errors] == [5]
    assert config.conns["a"].get("auto") is None


@pytest.mark.parametrize("version", BOTH)
def test_included_file_must_start_a_section(version):
    files = {"/etc/ipsec.conf": conn("a") + "include /etc/x.conf\n", "/etc/x.conf": "\tauto=add\n" + conn("x")}
    config = parse(files, version)
    assert [(p.file, p.line) for p in config.fatal_errors] == [("/etc/x.conf", 1)]


@pytest.mark.parametrize("version", BOTH)
def test_version_line_inside_include_rejected(version):
    files = {"/etc/ipsec.conf": "include /etc/x.conf\n", "/etc/x.conf": "version 2\n" + conn("x")}
    assert [p.file for p in parse(files, version).fatal_errors] == ["/etc/x.conf"]


def test_words_after_include_name_by_version():
    files = {"/etc/ipsec.conf": "include /etc/x.conf extra\n", "/etc/x.conf": conn("x")}
    config4 = parse(files, "4")
    assert config4.errors == []
    assert list(config4.conns) == ["x"]
    assert "ignores 'extra'" in warnings(config4)[0]
    assert parse(files, "5").fatal_errors


@pytest.mark.parametrize("version", BOTH)
def test_unreadable_main_file_is_fatal(version):
    config = parse({}, version)
    assert config.fatal_errors[0].file == "/etc/ipsec.conf"
    assert "cannot read" in config.fatal_errors[0].message


@pytest.mark.parametrize("version", BOTH)
def test_real_files_read_from_disk(tmp_path, version):
    (tmp_path / "ipsec.d").mkdir()
    (tmp_path / "ipsec.d" / "b.conf").write_text(conn("b"))
    (tmp_path / "ipsec.d" / "a.conf").write_text(conn("a"))
    (tmp_path / "ipsec.conf").write_text("config setup\n\tlogfile=/tmp/pluto.log\ninclude ipsec.d/*.conf\n")
    config = parse_config(str(tmp_path / "ipsec.conf"), version=version, cwd=str(tmp_path))
    assert config.problems == []
    assert list(config.conns) == ["a", "b"]
    assert config.files[1] == os.path.join(str(tmp_path), "ipsec.d", "a.conf")
    missing = parse_config(str(tmp_path / "ipsec.conf"), version=version, cwd="/")
    assert "cannot read directory /ipsec.d" in missing.warnings[0].message
