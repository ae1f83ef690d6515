"""ipsec_info run through AnsibleModule, with run_command replaced by lookups of lab captures."""

import json
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ipsec.libreswan.plugins.modules import ipsec_info

FIXTURES = Path(__file__).resolve().parents[1] / "module_utils" / "fixtures"


def capture(kind, name):
    return (FIXTURES / kind / name).read_text()


def warning_texts(result):
    """Return the module's warnings as text; ansible-core 2.19 and later send them as event dicts."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


ANSWERS = {
    ("--status",): (0, capture("status", "4.10-ike-established.status.txt"), ""),
    ("--trafficstatus",): (0, capture("status", "4.10-ike-established.trafficstatus.txt"), ""),
    ("--utc", "--listcerts"): (0, capture("listings", "4.10-listcerts.txt"), ""),
    ("--utc", "--listcacerts"): (0, capture("listings", "4.10-listcacerts.txt"), ""),
    ("--utc", "--listpubkeys"): (0, capture("listings", "4.10-listpubkeys-utc.txt"), ""),
    ("--utc", "--listcrls"): (0, capture("listings", "4.10-listcrls.txt"), ""),
    ("--utc", "--checkpubkeys"): (0, capture("listings", "4.10-checkpubkeys-utc.txt"), ""),
}


@pytest.fixture
def run_module(monkeypatch, tmp_path, capsys):
    """Return run(args, answers=None, check_mode=False) -> (result dict, argv lists run).

    ``answers`` maps whack options to (rc, stdout, stderr) and defaults to ANSWERS.
    """
    socket = tmp_path / "pluto.ctl"
    socket.write_text("")
    config = tmp_path / "ipsec.conf"
    config.write_text("config setup\n\nconn h2h\n\tleft=198.51.100.1\n\tright=198.51.100.2\n\tauthby=secret\n"
                      "\nconn spare\n\tleft=198.51.100.1\n\tright=198.51.100.9\n\tauthby=secret\n")

    def run(args, answers=None, check_mode=False):
        if answers is None:
            answers = ANSWERS
        calls = []

        def run_command(self, argv, check_rc=False, environ_update=None, **kwargs):
            calls.append(list(argv))
            assert environ_update["LC_ALL"] == "C"
            return answers.get(tuple(argv[4:]), (0, "", ""))

        # AnsibleModule keeps warnings in a module-level collection that outlives one module run.
        monkeypatch.setattr(ansible_warnings, "_global_warnings", type(ansible_warnings._global_warnings)())
        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/sbin/" + name)
        module_args = dict({"ctlsocket": str(socket), "config": str(config)}, **args)
        if check_mode:
            module_args["_ansible_check_mode"] = True
        with patch_module_args(module_args), pytest.raises(SystemExit):
            ipsec_info.main()
        return json.loads(capsys.readouterr().out), calls

    run.socket = str(socket)
    return run


def test_ipsec_info_default_subsets(run_module):
    result, calls = run_module({})
    assert result["changed"] is False
    assert result["gather_subset"] == ["connections", "sas", "shunts", "totals", "version", "listening"]
    assert calls == [
        ["/usr/sbin/ipsec", "whack", "--ctlsocket", run_module.socket, "--status"],
        ["/usr/sbin/ipsec", "whack", "--ctlsocket", run_module.socket, "--trafficstatus"],
    ]
    assert sorted(result["connections"]) == ["h2h", "s2s"]
    assert result["connections"]["h2h"]["ike_established"] is True
    assert result["sas"][0]["serial"] == 1
    assert result["version"] == "4.10"
    assert "certs" not in result
    assert "warnings" not in result


def test_ipsec_info_check_mode_same_facts(run_module):
    normal, calls = run_module({})
    checked, check_calls = run_module({}, check_mode=True)
    assert checked["changed"] is False
    assert checked["connections"] == normal["connections"]
    assert check_calls == calls


def test_ipsec_info_all_subsets(run_module):
    result, calls = run_module({"gather_subset": ["all"], "utc": True})
    assert result["gather_subset"][-6:] == ["config", "certs", "cacerts", "pubkeys", "crls", "expiring"]
    assert result["config"]["defined_not_loaded"] == ["spare"]
    assert result["config"]["loaded_not_defined"] == ["s2s"]
    assert result["cacerts"][0]["not_after"].endswith("Z")
    assert len(result["expiring"]) == 2
    assert result["crl_fetch_requests"][0]["distribution_points"] == ["http://198.51.100.2:8080/lab.crl"]
    assert all("--utc" in call for call in calls[2:])


def test_ipsec_info_name_filter(run_module):
    result, _calls = run_module({"name": "s2s"})
    assert list(result["connections"]) == ["s2s"]
    assert result["sas"] == []


def test_ipsec_info_invalid_name_fails(run_module):
    result, calls = run_module({"name": "bad name"})
    assert result["failed"] is True
    assert "Invalid connection name" in result["msg"]
    assert calls == []


def test_ipsec_info_invalid_subset_fails(run_module):
    result, calls = run_module({"gather_subset": ["connections", "bogus"]})
    assert result["failed"] is True
    assert "'bogus' is not a subset" in result["msg"]
    assert calls == []


def test_ipsec_info_pluto_not_running(run_module):
    refused = (1, "", "whack: Pluto is not running (no \"/run/pluto/pluto.ctl\")\n")
    result, _calls = run_module({}, answers={("--status",): refused})
    assert result["failed"] is True
    assert result["msg"].startswith("pluto is not running")
    assert "systemctl start ipsec" in result["msg"] or "Start the IPsec service" in result["msg"]


def test_ipsec_info_unrecognised_lines_warn(run_module):
    answers = dict(ANSWERS)
    answers[("--trafficstatus",)] = (0, "".join("006 #%d: odd\n" % n for n in range(25)), "")
    result, _calls = run_module({"gather_subset": ["sas"]}, answers=answers)
    warnings = warning_texts(result)
    assert len(warnings) == 21
    assert warnings[0].startswith("unrecognised trafficstatus line: '006 #0: odd'")
    assert "please report" in warnings[0]
    assert warnings[-1] == "5 more output lines were not recognised"
