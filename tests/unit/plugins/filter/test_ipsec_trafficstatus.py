"""The ipsec_trafficstatus filter on lab captures and on the shared Libreswan output corpus.

The plugin is imported inside a fixture for the reason given in test_ipsec_status.py.
"""

import glob
import importlib
import json
import os
from pathlib import Path

import pytest
from ansible.module_utils import _internal

from ansible_collections.ipsec.libreswan.plugins.module_utils._traffic import parse_trafficstatus

FIXTURES = Path(__file__).resolve().parents[1] / "module_utils" / "fixtures" / "status"
CORPUS = os.environ.get("LIBRESWAN_CORPUS", "/work/shared/corpus")
MISSING = "Libreswan output corpus not found at %s (set LIBRESWAN_CORPUS)" % CORPUS


def corpus_params(pattern):
    paths = sorted(glob.glob(os.path.join(CORPUS, pattern)))
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
    return importlib.import_module("ansible_collections.ipsec.libreswan.plugins.filter.ipsec_trafficstatus")


@pytest.fixture
def ipsec_trafficstatus(plugin):
    return plugin.ipsec_trafficstatus


def test_filter_registered(plugin):
    assert plugin.FilterModule().filters() == {"ipsec_trafficstatus": plugin.ipsec_trafficstatus}


@pytest.mark.parametrize("name", ["4.x-trafficstatus.txt", "5.x-trafficstatus.txt"])
def test_trafficstatus_filter_lists_child_sas(ipsec_trafficstatus, name):
    sas = ipsec_trafficstatus((FIXTURES / name).read_text())
    assert [sa["serial"] for sa in sas] == [2, 7]
    site, road = sas
    assert site["kind"] == "Child"
    assert site["established"] is True
    assert site["name"] == "site-b"
    assert site["username"] == "bob"
    assert site["in_bytes"] == 2048
    assert site["state"] is None
    assert road["connection"] == "rw[4]"
    assert road["name"] == "rw"
    assert road["peer"] == "198.51.100.77"
    assert road["peer_id"] == "C=XX, O=Example, CN=road.example.net"
    assert road["lease"] == "203.0.113.129/32"


def test_trafficstatus_filter_on_4x_counters(ipsec_trafficstatus):
    sas = ipsec_trafficstatus((FIXTURES / "4.x-trafficstatus.txt").read_text())
    assert sas[0]["max_bytes"] == 4 * 1024 ** 2


def test_trafficstatus_filter_name_and_lines(ipsec_trafficstatus):
    text = (FIXTURES / "5.x-trafficstatus.txt").read_text()
    assert [sa["serial"] for sa in ipsec_trafficstatus(text.splitlines(), name="rw")] == [7]
    assert ipsec_trafficstatus({"stdout": text}) == ipsec_trafficstatus(text)


def test_trafficstatus_filter_empty_output(ipsec_trafficstatus):
    assert ipsec_trafficstatus("") == []


def test_trafficstatus_filter_shows_warnings(ipsec_trafficstatus, monkeypatch):
    status_filter = importlib.import_module("ansible_collections.ipsec.libreswan.plugins.filter.ipsec_status")
    shown = []
    monkeypatch.setattr(status_filter.display, "warning", lambda message, *args, **kwargs: shown.append(message))
    assert ipsec_trafficstatus("006 #3: broken\n") == []
    assert shown == ["ipsec_trafficstatus: unrecognised trafficstatus line: '006 #3: broken'"]


@pytest.mark.parametrize("relative", corpus_params("upstream/status/*_trafficstatus-*.txt"))
def test_trafficstatus_filter_on_upstream_outputs(ipsec_trafficstatus, relative):
    text = read_corpus(relative)
    sas = ipsec_trafficstatus(text)
    assert len(sas) == len([line for line in text.splitlines() if "#" in line[:6]])
    assert sas == sorted(sas, key=lambda sa: sa["serial"])
    assert len(sas) == len(parse_trafficstatus(text)["sas"])
    json.dumps(sas)


@pytest.mark.parametrize("relative", corpus_params("libreswan-*/*/whack--trafficstatus.txt"))
def test_trafficstatus_filter_on_live_captures(ipsec_trafficstatus, relative):
    # The lab kernel had no ESP, so no Child SA came up and these outputs are empty.
    assert ipsec_trafficstatus(read_corpus(relative)) == []
