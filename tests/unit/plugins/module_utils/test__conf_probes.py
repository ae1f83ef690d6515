"""The parser against recorded runs of the real addconn and readwriteconf (Libreswan 4.10 and 5.2).

Each probe directory holds an input ipsec.conf (written for /srv/probe/NAME/) and, per release,
the commands run on it with their output and exit code. The probes live outside the project;
the tests skip when they are absent.
"""

import os
import re

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import MemoryReader, parse_config
from ansible_collections.ipsec.libreswan.plugins.module_utils._keywords import parse_duration

SHARED = os.environ.get("IPSEC_SHARED_DIR", "/work/shared")
PROBES = os.path.join(SHARED, "corpus", "grammar-probes")
CAPTURES = [os.path.join(SHARED, "corpus", release, "config") for release in ("libreswan-4.10", "libreswan-5.2")]
RELEASES = ["4.10", "5.2"]

# Keys readwriteconf prints for every conn whatever the file contains, and also= (4.10 prints it,
# the parser keeps it in Conn.also instead).
PRINTED_DEFAULTS = {"type", "compress", "pfs", "ikepad", "authby", "phase2", "ikev2", "ppk", "esn", "auto", "also"}
# readwriteconf prints these in milliseconds (4.10) or seconds (5.2).
DURATIONS = {"ikelifetime", "rekeymargin", "salifetime", "dpddelay", "dpdtimeout"}


def probe_names():
    if not os.path.isdir(PROBES):
        return []
    return sorted(name for name in os.listdir(PROBES) if os.path.isdir(os.path.join(PROBES, name, "input")))


def require_probes():
    if not os.path.isdir(PROBES):
        pytest.skip("grammar probes not found at %s (set IPSEC_SHARED_DIR)" % PROBES)


class Run(object):
    """One recorded command: its argv text, working directory, output lines and exit code."""

    def __init__(self, command, cwd):
        self.command = command
        self.cwd = cwd
        self.output = []
        self.rc = None


def read_runs(name, release):
    runs = []
    with open(os.path.join(PROBES, name, release + ".txt"), newline="") as handle:
        for line in handle.read().split("\n"):
            if line.startswith("### $ "):
                match = re.search(r"\(cwd=([^)]*)\)", line)
                runs.append(Run(line[6:], match.group(1) if match else "/"))
            elif line.startswith("### rc="):
                runs[-1].rc = int(line[7:])
            else:
                runs[-1].output.append(line)
    return dict((key, run) for run in runs for key in ("checkconfig", "listall", "readwriteconf") if key in run.command)


def probe_reader(name):
    root = os.path.join(PROBES, name, "input")
    files = {}
    for directory, _subdirs, names in os.walk(root):
        for filename in names:
            full = os.path.join(directory, filename)
            with open(full, newline="") as handle:
                files["/srv/probe/%s/%s" % (name, os.path.relpath(full, root))] = handle.read()
    return MemoryReader(files)


def parse_probe(name, release, cwd="/"):
    return parse_config("/srv/probe/%s/ipsec.conf" % name, version=release, cwd=cwd, reader=probe_reader(name))


def printed_sections(run):
    """Return {section: {key: [values]}} from readwriteconf output."""
    sections = {}
    current = None
    for line in run.output:
        if line.startswith("conn ") or line == "config setup":
            current = sections.setdefault(line, {})
        elif line.startswith("\t") and current is not None and "=" in line and not line.startswith("\t#"):
            for item in line.split("\t")[1:]:
                key, _sep, value = item.partition("=")
                current.setdefault(key, []).append(value)
    return sections


def printed_form(key, value, release):
    """Return a parsed value as readwriteconf would print it, without quotes or braces."""
    if key in DURATIONS:
        seconds = parse_duration(value, int(release[0]))
        return str(seconds * 1000 if release.startswith("4") else seconds)
    return value


def unwrapped(printed):
    """Remove the double quotes or braces readwriteconf puts around some values."""
    if len(printed) >= 2 and (printed[0], printed[-1]) in (('"', '"'), ("{", "}")):
        return printed[1:-1]
    return printed


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", probe_names() or ["none"])
def test_probe_accept_or_reject_matches(name, release):
    require_probes()
    config = parse_probe(name, release)
    run = read_runs(name, release)["checkconfig"]
    assert bool(config.fatal_errors) == (run.rc != 0), [str(p) for p in config.problems]


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", probe_names() or ["none"])
def test_probe_reject_line_matches(name, release):
    require_probes()
    run = read_runs(name, release)["checkconfig"]
    if run.rc == 0:
        return
    lines = [int(match.group(1)) for match in re.finditer(r"ipsec\.conf:(\d+):", "\n".join(run.output))]
    config = parse_probe(name, release)
    assert config.fatal_errors[0].line == lines[-1]


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", probe_names() or ["none"])
def test_probe_conn_list_matches(name, release):
    require_probes()
    run = read_runs(name, release)["listall"]
    if run.rc != 0:
        return
    # stderr lines come first; the last line is the list.
    listed = [conn for conn in run.output[-1].split(" ") if conn]
    unique = [conn for index, conn in enumerate(listed) if conn not in listed[:index]]
    config = parse_probe(name, release)
    assert list(config.conns) == unique
    twice = [p for p in config.warnings if "defined twice" in p.message]
    assert bool(twice) == (len(listed) != len(unique))


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", probe_names() or ["none"])
def test_probe_warning_lines_reported(name, release):
    require_probes()
    run = read_runs(name, release)["checkconfig"]
    config = parse_probe(name, release)
    ours = set(p.line for p in config.problems)
    for line in run.output:
        match = re.search(r"ipsec\.conf:(\d+): warning:", line)
        if match:
            number = int(match.group(1))
            # 5.2 reports include problems one line late: it has already read the newline.
            assert (number - 1 if "include" in line else number) in ours, line


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", probe_names() or ["none"])
def test_probe_failed_conns_match(name, release):
    require_probes()
    run = read_runs(name, release)["checkconfig"]
    if run.rc != 0:
        return
    config = parse_probe(name, release)
    failed = set(conn for conn in config.conns if config.conns[conn].errors)
    # Libreswan also refuses conns whose values fail its semantic checks ("authby= value is
    # unknown" when CRLF line endings leave a carriage return in it); the parser does not
    # check values that far, so only failures from repeated keywords and also= are compared.
    text = "\n".join(line for line in run.output if "value is unknown" not in line)
    if release.startswith("4"):
        # 4.10 logs "while loading 'NAME': REASON" when a conn fails to load.
        assert failed == set(re.findall(r"while loading '([^']*)': (?!connection authby)", text))
    else:
        # 5.2 does not name the conn that failed; each failure leaves a "duplicate key" line.
        assert bool(failed) == ("duplicate key" in text)


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", probe_names() or ["none"])
def test_probe_printed_values_match(name, release):
    require_probes()
    run = read_runs(name, release)["readwriteconf"]
    if run.rc != 0:
        return
    config = parse_probe(name, release)
    for header, printed in printed_sections(run).items():
        if header == "config setup":
            for key, setting in config.setup.items():
                assert printed.get(key) == [setting.value], key
            continue
        conn = config.conns[header[5:]]
        if conn.errors:
            continue
        for key, values in printed.items():
            if key in conn.settings:
                expected = printed_form(key, conn.settings[key].value, release)
                assert expected in [unwrapped(value) for value in values], (header, key)
            else:
                assert key in PRINTED_DEFAULTS, (header, key)


@pytest.mark.parametrize("release", RELEASES)
def test_relative_include_follows_working_directory(release):
    require_probes()
    name = "p09-include-relative"
    if not os.path.isdir(os.path.join(PROBES, name)):
        pytest.skip("probe %s not found" % name)
    assert list(parse_probe(name, release, cwd="/").conns) == []
    assert list(parse_probe(name, release, cwd="/srv/probe/%s" % name).conns) == ["from-sub"]
    assert list(parse_probe(name, release, cwd="/srv/probe/%s/sub" % name).conns) == []


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("side", ["a", "b"])
def test_lab_captures_parse_cleanly(release, side):
    directory = CAPTURES[RELEASES.index(release)]
    path = os.path.join(directory, "ipsec.conf.side-" + side)
    if not os.path.isfile(path):
        pytest.skip("capture %s not found" % path)
    config = parse_config(path, version=release)
    assert config.errors == []
    assert list(config.conns) == ["h2h", "s2s"]
    assert config.conns["h2h"].children == []
    assert config.conns["s2s"].children == ["s2s/1x0", "s2s/2x0"]
    assert config.conn("s2s/1x0") is config.conns["s2s"]
