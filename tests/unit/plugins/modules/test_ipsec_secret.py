"""ipsec_secret end to end on real files; only the command runner (ModuleRunner) is replaced."""

import base64
import json
import os
import stat

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import ModuleRunner
from ansible_collections.ipsec.libreswan.plugins.module_utils._secrets import parse_secrets
from ansible_collections.ipsec.libreswan.plugins.modules import ipsec_secret

IPSEC = "/usr/sbin/ipsec"
KEY = "unit-test-key-0123456789abcdef"
AWKWARD = 'aw"k\\ward\nline-\u00e9\u2603-9f3e1c'


class FakeRunner:
    """Record every argv and reply from `answers` (argv tuple to (rc, out, err)), else with rc 0."""

    calls = []
    answers = {}

    def find(self, name):
        return "/usr/sbin/%s" % name

    def run(self, argv, timeout=None):
        FakeRunner.calls.append(list(argv))
        return FakeRunner.answers.get(tuple(argv), (0, '002 loading secrets from "/etc/ipsec.secrets"\n', ""))


@pytest.fixture(autouse=True)
def clear_ansible_warnings(monkeypatch):
    """Start each test with an empty process-wide warning store, on the module side.

    AnsibleModule.warn() collects into a store that outlives one module run, and it stops
    recording once another test has imported controller code, which sets is_controller.
    """
    monkeypatch.setattr(_internal, "is_controller", False)
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()


@pytest.fixture(autouse=True)
def fake_runner(monkeypatch):
    FakeRunner.calls = []
    FakeRunner.answers = {}
    monkeypatch.setattr(ModuleRunner, "run", FakeRunner.run)
    monkeypatch.setattr(ModuleRunner, "find", FakeRunner.find)
    return FakeRunner


@pytest.fixture
def host(tmp_path):
    """A fake /etc: main secrets file including ipsec.d/*.secrets, and a control socket path."""
    etc = tmp_path / "etc"
    (etc / "ipsec.d").mkdir(parents=True)
    main = etc / "ipsec.secrets"
    main.write_text("include %s/ipsec.d/*.secrets\n" % etc)
    socket = tmp_path / "pluto.ctl"
    socket.write_text("")

    class Host:
        pass

    result = Host()
    result.etc = etc
    result.main = main
    result.socket = socket
    result.path = etc / "ipsec.d" / "west-east.secrets"
    return result


def run_module(host, capsys, **args):
    params = {
        "name": "west-east",
        "path": str(host.path),
        "selectors": ["@west", "@east"],
        "secret": KEY,
        "secrets_file": str(host.main),
        "ctlsocket": str(host.socket),
    }
    params.update(args)
    params = {key: value for key, value in params.items() if value is not None}
    with patch_module_args(params):
        with pytest.raises(SystemExit):
            ipsec_secret.main()
    output = capsys.readouterr().out
    return json.loads(output), output


def reread_argv(host):
    return [IPSEC, "whack", "--ctlsocket", str(host.socket), "--rereadsecrets"]


def warnings_of(result):
    return [warning if isinstance(warning, str) else warning["event"]["msg"] for warning in result.get("warnings", [])]


def decoded_entries(path):
    return parse_secrets(path.read_bytes(), str(path)).entries


# Creating and idempotency


def test_new_entry_creates_private_file(host, capsys, fake_runner):
    result, _output = run_module(host, capsys)
    assert result["changed"] is True
    assert result["action"] == "added"
    assert host.path.read_bytes() == b'@west @east : PSK "%s"\n' % KEY.encode()
    assert stat.S_IMODE(os.stat(host.path).st_mode) == 0o600
    assert fake_runner.calls == [reread_argv(host)]
    assert result["commands"] == [reread_argv(host)]
    assert result["reread"] is True


def test_second_run_changes_nothing(host, capsys, fake_runner):
    run_module(host, capsys)
    fake_runner.calls = []
    result, _output = run_module(host, capsys, selectors=["@east", "@west"])
    assert result["changed"] is False
    assert result["action"] == "unchanged"
    assert result["reread"] is False
    assert fake_runner.calls == []


def test_same_key_in_hex_is_unchanged(host, capsys, fake_runner):
    host.path.write_bytes(b"@west @east : PSK 0x%s\n" % KEY.encode().hex().encode())
    os.chmod(host.path, 0o600)
    result, _output = run_module(host, capsys)
    assert result["changed"] is False
    assert fake_runner.calls == []


def test_rotation_replaces_secret_in_place(host, capsys, fake_runner):
    before = (
        "# managed by hand\n"
        "@west @east : PSK \"old-key-0123456789\"   # rotated yearly\n"
        "@road : XAUTH \"password\"\n"
    )
    host.path.write_text(before)
    os.chmod(host.path, 0o600)
    result, _output = run_module(host, capsys, selectors=["@EAST", "@west"])
    assert result["action"] == "updated"
    assert host.path.read_text() == before.replace("old-key-0123456789", KEY)
    assert fake_runner.calls == [reread_argv(host)]


def test_duplicates_are_removed_with_warning(host, capsys):
    host.path.write_text(': PSK "first-0123456789"\n# gap\n: PSK "second-0123456789"\n')
    result, _output = run_module(host, capsys, selectors=[])
    assert result["duplicates_removed"] == 1
    assert host.path.read_text() == ': PSK "%s"\n# gap\n' % KEY
    assert any("Removed 1 other entry" in warning for warning in warnings_of(result))
    again, _output = run_module(host, capsys, selectors=[])
    assert again["changed"] is False


def test_awkward_secret_round_trips_as_base64(host, capsys):
    result, output = run_module(host, capsys, secret=AWKWARD)
    content = host.path.read_bytes()
    assert b"0s" + base64.b64encode(AWKWARD.encode("utf-8")) in content
    assert decoded_entries(host.path)[0].secret == AWKWARD.encode("utf-8")
    assert "9f3e1c" not in output


def test_hex_secret_format(host, capsys):
    run_module(host, capsys, secret="0x00ff10", secret_format="hex")
    assert decoded_entries(host.path)[0].secret == b"\x00\xff\x10"


def test_base64_secret_format(host, capsys):
    run_module(host, capsys, secret=base64.b64encode(b"\x01\x02binary").decode(), secret_format="base64")
    assert decoded_entries(host.path)[0].secret == b"\x01\x02binary"


@pytest.mark.parametrize("secret, secret_format", [("abc", "hex"), ("zz", "hex"), ("***", "base64"), ("", "text")])
def test_invalid_secret_fails_without_echo(host, capsys, secret, secret_format):
    result, output = run_module(host, capsys, secret=secret, secret_format=secret_format)
    assert result["failed"] is True
    assert "Invalid secret" in result["msg"]
    if secret:
        assert secret not in result["msg"]
    assert not host.path.exists()


def test_ppks_entry_is_written(host, capsys):
    run_module(host, capsys, type="PPKS", ppk_id="PPK_ID_1", secret="0x0102030405060708", secret_format="hex")
    assert host.path.read_text() == '@west @east : PPKS "PPK_ID_1" 0sAQIDBAUGBwg=\n'
    entry = decoded_entries(host.path)[0]
    assert entry.ppk_id == "PPK_ID_1"
    assert entry.secret == bytes(range(1, 9))


def test_ppks_needs_ppk_id(host, capsys):
    result, _output = run_module(host, capsys, type="PPKS")
    assert result["failed"] is True
    assert "ppk_id is required" in result["msg"]


def test_invalid_name_is_rejected(host, capsys):
    result, _output = run_module(host, capsys, name="bad name", path=None)
    assert result["failed"] is True
    assert "Invalid connection name" in result["msg"]


def test_default_path_uses_name(host, capsys):
    result, _output = run_module(host, capsys, path=None, state="absent", secret=None, _ansible_check_mode=True)
    assert result["path"] == "/etc/ipsec.d/west-east.secrets"


def test_wrong_mode_is_fixed_without_reread(host, capsys, fake_runner):
    host.path.write_text('@west @east : PSK "%s"\n' % KEY)
    os.chmod(host.path, 0o644)
    result, _output = run_module(host, capsys)
    assert result["changed"] is True
    assert result["mode_changed"] is True
    assert stat.S_IMODE(os.stat(host.path).st_mode) == 0o600
    assert fake_runner.calls == []


# Check mode and diff mode


def test_check_mode_writes_nothing(host, capsys, fake_runner):
    result, _output = run_module(host, capsys, _ansible_check_mode=True)
    assert result["changed"] is True
    assert result["commands"] == [reread_argv(host)]
    assert fake_runner.calls == []
    assert not host.path.exists()


def test_diff_shows_fingerprints_not_secrets(host, capsys):
    host.path.write_text('# note\n@west @east : PSK "old-key-0123456789"\n@x : PSK "other-key-0123456789"\n')
    result, output = run_module(host, capsys, secret=AWKWARD, _ansible_diff=True)
    diff = result["diff"]
    assert diff["before"].startswith("# <comment hidden>\n@west @east : PSK <secret hmac:")
    assert "old-key" not in output
    assert "other-key" not in output
    assert "9f3e1c" not in output
    assert base64.b64encode(AWKWARD.encode("utf-8")).decode() not in output
    before_lines = diff["before"].splitlines()
    after_lines = diff["after"].splitlines()
    assert before_lines[1] != after_lines[1]
    assert before_lines[2] == after_lines[2]


# Secrets never leave the module


def test_secrets_of_other_files_become_no_log_values(host, capsys):
    (host.etc / "ipsec.d" / "other.secrets").write_text('@peer : PSK "foreign-secret-42"\n@bad : PSK 0sBROKEN!\n')
    params = {
        "name": "west-east", "path": str(host.path), "selectors": ["@west"], "secret": KEY,
        "secrets_file": str(host.main), "ctlsocket": str(host.socket),
    }
    with patch_module_args(params):
        module = ipsec_secret.AnsibleModule(argument_spec=ipsec_secret.argument_spec(), supports_check_mode=True)
    result, failure = ipsec_secret.run(module)
    assert failure is None
    for value in ("foreign-secret-42", "0sBROKEN!", KEY, base64.b64encode(KEY.encode()).decode()):
        assert value in module.no_log_values


def test_failed_reread_output_is_masked(host, capsys, fake_runner):
    fake_runner.answers[tuple(reread_argv(host))] = (1, "", "whack: echo of %s\n" % KEY)
    result, output = run_module(host, capsys)
    assert result["failed"] is True
    assert result["changed"] is True
    assert "re-read its secrets failed" in result["msg"]
    assert KEY not in output


# pluto and the main secrets file


def test_pluto_not_running_writes_and_warns(host, capsys, fake_runner):
    host.socket.unlink()
    result, _output = run_module(host, capsys)
    assert result["changed"] is True
    assert result["reread"] is False
    assert fake_runner.calls == []
    assert host.path.exists()
    assert any("pluto is not running" in warning for warning in warnings_of(result))


def test_whack_reporting_no_pluto_only_warns(host, capsys, fake_runner):
    fake_runner.answers[tuple(reread_argv(host))] = (33, "", 'whack: Pluto is not running (no "%s")\n' % host.socket)
    result, _output = run_module(host, capsys)
    assert "failed" not in result
    assert result["reread"] is False
    assert any("pluto is not running" in warning for warning in warnings_of(result))


def test_reread_disabled_runs_nothing(host, capsys, fake_runner):
    result, _output = run_module(host, capsys, reread=False)
    assert result["changed"] is True
    assert fake_runner.calls == []


def test_file_outside_includes_is_warned(host, capsys):
    host.main.write_text('# nothing included\n')
    result, _output = run_module(host, capsys)
    assert any("pluto does not read" in warning for warning in warnings_of(result))


def test_included_file_gives_no_include_warning(host, capsys):
    result, _output = run_module(host, capsys)
    assert not any("pluto does not read" in warning for warning in warnings_of(result))


def test_relative_include_is_resolved_from_including_file(host, capsys):
    host.main.write_text("include ipsec.d/*.secrets\n")
    result, _output = run_module(host, capsys)
    assert not any("pluto does not read" in warning for warning in warnings_of(result))


def test_conflict_in_other_file_is_warned(host, capsys):
    (host.etc / "ipsec.d" / "legacy.secrets").write_text('@east @west : PSK "legacy-0123456789"\n')
    result, output = run_module(host, capsys)
    messages = warnings_of(result)
    assert any("contain different secrets" in warning and "legacy.secrets:1" in warning for warning in messages)
    assert "legacy-0123456789" not in output


def test_entry_that_kills_pluto_blocks_the_write(host, capsys, fake_runner):
    (host.etc / "ipsec.d" / "broken.secrets").write_text("@x :\n")
    result, _output = run_module(host, capsys)
    assert result["failed"] is True
    assert "pluto would exit" in result["msg"]
    assert "broken.secrets:1" in result["msg"]
    assert result["changed"] is False
    assert not host.path.exists()
    assert fake_runner.calls == []


def test_ignored_entries_are_reported(host, capsys):
    (host.etc / "ipsec.d" / "old.secrets").write_text(': RSA "nickname"\n')
    result, output = run_module(host, capsys)
    assert result["problems"][0]["severity"] == "warning"
    assert "NSS" in result["problems"][0]["message"]


def test_missing_directory_fails_in_check_mode_too(host, capsys):
    for check in (True, False):
        result, _output = run_module(host, capsys, path=str(host.etc / "missing" / "x.secrets"), _ansible_check_mode=check)
        assert result["failed"] is True
        assert "does not exist" in result["msg"]


# Removing


def test_absent_removes_only_that_entry(host, capsys, fake_runner):
    host.path.write_text('# keep\n@west @east : PSK "%s"\n@x : PSK "other-key"\n' % KEY)
    os.chmod(host.path, 0o600)
    result, _output = run_module(host, capsys, state="absent", secret=None)
    assert result["action"] == "removed"
    assert host.path.read_text() == '# keep\n@x : PSK "other-key"\n'
    assert fake_runner.calls == [reread_argv(host)]


def test_absent_deletes_emptied_file(host, capsys):
    host.path.write_text('@west @east : PSK "%s"\n' % KEY)
    result, _output = run_module(host, capsys, state="absent", secret=None)
    assert result["changed"] is True
    assert not host.path.exists()


def test_absent_without_file_is_unchanged(host, capsys, fake_runner):
    result, _output = run_module(host, capsys, state="absent", secret=None)
    assert result["changed"] is False
    assert result["action"] == "absent"
    assert fake_runner.calls == []


def test_absent_warns_about_copies_elsewhere(host, capsys):
    (host.etc / "ipsec.d" / "elsewhere.secrets").write_text('@west @east : PSK "%s"\n' % KEY)
    result, _output = run_module(host, capsys, state="absent", secret=None)
    assert any("remains in" in warning and "elsewhere.secrets:1" in warning for warning in warnings_of(result))
