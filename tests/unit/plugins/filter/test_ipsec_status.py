"""The ipsec_status filter on lab captures and on the shared Libreswan output corpus.

The filter plugin imports Ansible's controller code, and that import marks the whole Python
process as the controller, after which AnsibleModule.warn() in other unit tests no longer
records warnings. So the plugin is imported inside a fixture that restores the mark.
"""

import glob
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils import _internal

from ansible_collections.ipsec.libreswan.plugins.module_utils._info import status_facts
from ansible_collections.ipsec.libreswan.plugins.module_utils._status import parse_status
from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import parse_trafficstatus

TOP = Path(__file__).resolve().parents[4]
FIXTURES = TOP / "tests" / "unit" / "plugins" / "module_utils" / "fixtures" / "status"
CORPUS = os.environ.get("LIBRESWAN_CORPUS", "/work/shared/corpus")
MISSING = "Libreswan output corpus not found at %s (set LIBRESWAN_CORPUS)" % CORPUS
STATUS_KEYS = ["connections", "listening", "sas", "shunts", "totals", "version", "warnings"]


def fixture(name):
    return (FIXTURES / name).read_text()


def corpus_params(*patterns):
    paths = []
    for pattern in patterns:
        paths += sorted(glob.glob(os.path.join(CORPUS, pattern)))
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING))]
    return [os.path.relpath(path, CORPUS) for path in paths]


def read_corpus(relative):
    with open(os.path.join(CORPUS, relative)) as handle:
        text = handle.read()
    if text.startswith("##source"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


@pytest.fixture
def plugin(monkeypatch):
    """Return the filter plugin module; the controller mark is restored after the test."""
    monkeypatch.setattr(_internal, "is_controller", _internal.is_controller)
    return importlib.import_module("ansible_collections.ipsec.libreswan.plugins.filter.ipsec_status")


@pytest.fixture
def ipsec_status(plugin):
    return plugin.ipsec_status


@pytest.fixture
def shown_warnings(monkeypatch, plugin):
    shown = []
    monkeypatch.setattr(plugin.display, "warning", lambda message, *args, **kwargs: shown.append(message))
    return shown


def test_filter_registered(plugin):
    assert plugin.FilterModule().filters() == {"ipsec_status": plugin.ipsec_status}


def test_status_filter_matches_info_structure(ipsec_status, shown_warnings):
    text = fixture("4.10-ike-established.status.txt")
    result = ipsec_status(text)
    assert sorted(result) == STATUS_KEYS
    expected = status_facts(parse_status(text))
    for key in ("connections", "sas", "shunts", "totals", "version", "listening"):
        assert result[key] == expected[key]
    assert result["warnings"] == []
    assert shown_warnings == []
    assert result["connections"]["h2h"]["ike_established"] is True


def test_status_filter_accepts_lines_and_results(ipsec_status):
    text = fixture("4.10-routed.status.txt")
    from_text = ipsec_status(text)
    assert ipsec_status(text.splitlines()) == from_text
    assert ipsec_status({"stdout": text, "rc": 0}) == from_text


def test_status_filter_merges_trafficstatus(ipsec_status):
    status = fixture("5.x-site-b-established.txt")
    traffic = fixture("5.x-trafficstatus.txt")
    sas = {sa["serial"]: sa for sa in ipsec_status(status, traffic)["sas"]}
    assert sas[2]["add_time"] == 1700000000
    assert sas[7]["lease"] == "203.0.113.129/32"
    assert ipsec_status(status)["sas"][1]["add_time"] is None


def test_status_filter_name_argument(ipsec_status):
    result = ipsec_status(fixture("4.10-routed.status.txt"), name="s2s")
    assert list(result["connections"]) == ["s2s"]


def test_status_filter_shows_warnings(ipsec_status, shown_warnings):
    result = ipsec_status("000 something pluto never printed\n")
    assert result["warnings"] == ["unrecognised status line: '000 something pluto never printed'"]
    assert shown_warnings == ["ipsec_status: unrecognised status line: '000 something pluto never printed'"]


@pytest.mark.parametrize("value", [42, None, {"rc": 0}])
def test_status_filter_rejects_other_input(ipsec_status, value):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="ipsec_status"):
        ipsec_status(value)


@pytest.mark.parametrize("relative", corpus_params("libreswan-*/*/whack--status.txt", "libreswan-*/*/ipsec-status.txt"))
def test_status_filter_on_live_captures(ipsec_status, relative):
    scenario = os.path.dirname(os.path.join(CORPUS, relative))
    traffic_path = os.path.join(scenario, "whack--trafficstatus.txt")
    traffic = read_corpus(os.path.relpath(traffic_path, CORPUS)) if os.path.exists(traffic_path) else None
    result = ipsec_status(read_corpus(relative), traffic)
    assert result["warnings"] == []
    assert result["version"] in ("4.10", "5.2")
    # The "idle" scenario has no connection loaded; the others have h2h and the split s2s.
    if result["connections"]:
        assert {"h2h", "s2s"} <= set(result["connections"])
        assert sorted(result["connections"]["s2s"]["children"]) == ["s2s/1x0", "s2s/2x0"]
    json.dumps(result)


@pytest.mark.parametrize("relative", corpus_params("upstream/status/*.txt"))
def test_status_filter_on_upstream_outputs(ipsec_status, relative):
    text = read_corpus(relative)
    result = ipsec_status(text)
    assert result["warnings"] == []
    # Every SA belongs to a connection the status shows, unless only the SA lines were kept.
    status = parse_status(text)
    for sa in result["sas"]:
        if sa["connection"] in status["connections"]:
            assert sa["name"] in result["connections"]
    json.dumps(result)


@pytest.mark.parametrize("relative", corpus_params("upstream/status/*_trafficstatus-*.txt"))
def test_status_filter_takes_upstream_trafficstatus(ipsec_status, relative):
    text = read_corpus(relative)
    result = ipsec_status("", text)
    assert result["warnings"] == []
    assert len(result["sas"]) == len(parse_trafficstatus(text)["sas"])
    assert all(sa["kind"] == "Child" for sa in result["sas"])


def test_filter_documentation_renders():
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    if not ansible_doc.exists():
        pytest.skip("ansible-doc is not installed beside %s" % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(TOP / ".build" / "collections"))
    for name in ("ipsec_status", "ipsec_trafficstatus"):
        completed = subprocess.run([str(ansible_doc), "-t", "filter", "ipsec.libreswan.%s" % name],
                                   capture_output=True, text=True, env=env, timeout=120, check=False)
        assert completed.returncode == 0, completed.stderr
        assert "ERROR" not in completed.stderr
        assert "ipsec.libreswan.%s" % name in completed.stdout


PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  vars:
    status_text: "{{ lookup('ansible.builtin.file', status_file) }}"
    traffic_text: "{{ lookup('ansible.builtin.file', traffic_file) }}"
  tasks:
    - name: Parse with the filters
      ansible.builtin.copy:
        dest: "{{ output_file }}"
        content: "{{ {'status': status_text | ipsec.libreswan.ipsec_status(traffic_text),
                      'traffic': traffic_text | ipsec.libreswan.ipsec_trafficstatus} | to_json }}"
        mode: "0600"
"""


def test_filters_run_in_a_playbook(tmp_path):
    playbook_binary = Path(sys.executable).parent / "ansible-playbook"
    if not playbook_binary.exists():
        pytest.skip("ansible-playbook is not installed beside %s" % sys.executable)
    playbook = tmp_path / "filters.yml"
    playbook.write_text(PLAYBOOK)
    output = tmp_path / "result.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(TOP / ".build" / "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    extra = {"status_file": str(FIXTURES / "5.x-site-b-established.txt"),
             "traffic_file": str(FIXTURES / "5.x-trafficstatus.txt"), "output_file": str(output),
             "ansible_python_interpreter": sys.executable}
    completed = subprocess.run([str(playbook_binary), "-i", "localhost,", "-c", "local", str(playbook),
                                "-e", json.dumps(extra)], capture_output=True, text=True, env=env, timeout=300,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(output.read_text())
    assert result["status"]["connections"]["site-b"]["up"] is True
    assert [sa["serial"] for sa in result["traffic"]] == [2, 7]
