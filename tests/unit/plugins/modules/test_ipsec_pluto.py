"""ipsec_pluto run through AnsibleModule, with run_command returning the outputs pluto 4.10 and 5.2 printed in the lab."""

import json
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ipsec.libreswan.plugins.modules import ipsec_pluto

STATUS_4 = (Path(__file__).resolve().parents[1] / "module_utils" / "fixtures" / "status"
            / "4.10-added.status.txt").read_text()
STATUS_3 = STATUS_4.replace("pluto_version=4.10", "pluto_version=3.32")

# What pluto 4.10 printed in the lab for each operation.
OUTPUTS = {
    "--rereadsecrets": '002 loading secrets from "/etc/ipsec.secrets"\n002 no secrets filename matched "/etc/ipsec.d/*.secrets"\n',
    "--rereadall": ('002 loading secrets from "/etc/ipsec.secrets"\n'
                    '003 ipsec whack: rereadcrls command obsoleted did you mean ipsec whack --fetchcrls\n'),
    "--listen": "002 listening for IKE messages\n",
    "--rereadcerts": "",
    "--fetchcrls": "",
    "--purgeocsp": "",
}


def warning_texts(result):
    """Return the module's warnings as text; ansible-core 2.19 and later send them as event dicts."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


@pytest.fixture
def run_module(monkeypatch, tmp_path, capsys):
    """Return run(args, status=STATUS_4, answers=None, check_mode=False) -> (result, whack options run)."""
    socket = tmp_path / "pluto.ctl"
    socket.write_text("")

    def run(args, status=STATUS_4, answers=None, check_mode=False):
        calls = []

        def run_command(self, argv, check_rc=False, environ_update=None, **kwargs):
            assert argv[:4] == ["/usr/sbin/ipsec", "whack", "--ctlsocket", str(socket)]
            option = argv[-1]
            calls.append(option)
            if option == "--status":
                return status if isinstance(status, tuple) else (0, status, "")
            return (answers or {}).get(option, (0, OUTPUTS.get(option, ""), ""))

        # AnsibleModule keeps warnings in a module-level collection that outlives one module run.
        monkeypatch.setattr(ansible_warnings, "_global_warnings", type(ansible_warnings._global_warnings)())
        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/sbin/" + name)
        module_args = dict({"ctlsocket": str(socket)}, **args)
        if check_mode:
            module_args["_ansible_check_mode"] = True
        with patch_module_args(module_args), pytest.raises(SystemExit):
            ipsec_pluto.main()
        return json.loads(capsys.readouterr().out), calls

    run.socket = str(socket)
    return run


@pytest.mark.parametrize("command, option", [
    ("ready", "--listen"),
    ("rereadsecrets", "--rereadsecrets"),
    ("rereadall", "--rereadall"),
    ("rereadcerts", "--rereadcerts"),
    ("fetchcrls", "--fetchcrls"),
    ("purgeocsp", "--purgeocsp"),
])
def test_ipsec_pluto_runs_operation(run_module, command, option):
    result, calls = run_module({"command": command})
    assert result["changed"] is True
    assert result["command"] == command
    assert result["commands"] == [["/usr/sbin/ipsec", "whack", "--ctlsocket", run_module.socket, option]]
    assert calls == ["--status", option]
    assert result["version"] == "4.10"
    assert warning_texts(result) == []


def test_ipsec_pluto_returns_output_without_codes(run_module):
    result, _calls = run_module({"command": "rereadsecrets"})
    assert result["output"] == ['loading secrets from "/etc/ipsec.secrets"',
                                'no secrets filename matched "/etc/ipsec.d/*.secrets"']


def test_ipsec_pluto_check_mode_runs_only_status(run_module):
    result, calls = run_module({"command": "rereadsecrets"}, check_mode=True)
    assert result["changed"] is True
    assert result["commands"] == [["/usr/sbin/ipsec", "whack", "--ctlsocket", run_module.socket, "--rereadsecrets"]]
    assert result["output"] == []
    assert calls == ["--status"]


def test_ipsec_pluto_rereadall_notice_not_warned(run_module):
    result, _calls = run_module({"command": "rereadall"})
    assert warning_texts(result) == []
    assert "ipsec whack: rereadcrls command obsoleted did you mean ipsec whack --fetchcrls" in result["output"]


def test_ipsec_pluto_warns_on_reported_problem(run_module):
    malformed = ('002 loading secrets from "/etc/ipsec.secrets"\n'
                 '003 "/etc/ipsec.secrets" line 2: PSK data malformed (input does not begin with format prefix): "x\n')
    result, _calls = run_module({"command": "rereadsecrets"}, answers={"--rereadsecrets": (0, malformed, "")})
    assert result["changed"] is True
    assert warning_texts(result) == [
        'pluto reported: "/etc/ipsec.secrets" line 2: PSK data malformed (input does not begin with format prefix): "x']


def test_ipsec_pluto_warns_on_5x_problem(run_module):
    failed = "reloading leftcert='west' failed: not found in the NSS database\n"
    result, _calls = run_module({"command": "rereadcerts"}, answers={"--rereadcerts": (0, failed, "")})
    assert warning_texts(result) == ["pluto reported: reloading leftcert='west' failed: not found in the NSS database"]


def test_ipsec_pluto_command_failure(run_module):
    result, _calls = run_module({"command": "purgeocsp"}, answers={"--purgeocsp": (20, "", "whack: something failed\n")})
    assert result["failed"] is True
    assert result["rc"] == 20
    assert "whack --ctlsocket %s --purgeocsp failed (rc 20)" % run_module.socket in result["msg"]
    assert result["cmd"][-1] == "--purgeocsp"


@pytest.mark.parametrize("command, replacement", [
    ("rereadcrls", "command=fetchcrls"),
    ("rereadcacerts", "command=rereadcerts"),
    ("listcerts", "gather_subset: [certs]"),
    ("checkpubkeys", "gather_subset: [expiring]"),
    ("listall", "gather_subset: [all]"),
    ("status", "gather_subset: [connections, sas]"),
])
def test_ipsec_pluto_replaced_operation_fails(run_module, command, replacement):
    result, calls = run_module({"command": command})
    assert result["failed"] is True
    assert result["msg"].startswith("command=%s is not supported" % command)
    assert replacement in result["msg"]
    assert calls == []


def test_ipsec_pluto_rereadcerts_needs_4(run_module):
    result, calls = run_module({"command": "rereadcerts"}, status=STATUS_3)
    assert result["failed"] is True
    assert "needs Libreswan 4.0 or later; this pluto is 3.32" in result["msg"]
    assert calls == ["--status"]


def test_ipsec_pluto_rereadsecrets_on_3x(run_module):
    result, calls = run_module({"command": "rereadsecrets"}, status=STATUS_3)
    assert result["changed"] is True
    assert calls == ["--status", "--rereadsecrets"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_ipsec_pluto_pluto_not_running(run_module, check_mode):
    refused = (1, "", "whack: connect() for \"/run/pluto/pluto.ctl\" failed (111 Connection refused)\n")
    result, calls = run_module({"command": "rereadsecrets"}, status=refused, check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"].startswith("pluto is not running or refuses connections")
    assert calls == ["--status"]


def test_ipsec_pluto_missing_socket(run_module, tmp_path):
    result, calls = run_module({"command": "ready", "ctlsocket": str(tmp_path / "none.ctl")})
    assert result["failed"] is True
    assert "control socket %s does not exist" % (tmp_path / "none.ctl") in result["msg"]
    assert calls == []


@pytest.mark.parametrize("version, expected", [("4.10", (4, 10)), ("3.25", (3, 25)), ("5.3.1", (5, 3, 1)), ("", ())])
def test_version_tuple(version, expected):
    assert ipsec_pluto.version_tuple(version) == expected
