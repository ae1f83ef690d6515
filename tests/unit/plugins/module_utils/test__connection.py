"""Orchestration of ipsec_connection: the exact argv sequence per start state and requested state.

pluto's output is real `whack --status` captures from the lab (fixtures/status/4.10-*.txt,
made by scripts/capture_fixtures.py); only the runner seam is replaced.
"""

from pathlib import Path

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._connection import ConnectionRequest, ensure_connection
from ansible_collections.ipsec.libreswan.plugins.module_utils._errors import LibreswanError, PlutoNotRunningError
from ansible_collections.ipsec.libreswan.plugins.module_utils._runner import LibreswanClient

FIXTURES = Path(__file__).parent / "fixtures" / "status"

CONFIG = """\
config setup

conn h2h
\tleft=198.51.100.1
\tleftid=@west
\tright=198.51.100.2
\trightid=@east
\tauthby=secret
\tkeyingtries=1
\tauto=ignore

conn s2s
\tleft=198.51.100.1
\tleftsubnets={203.0.113.0/28 203.0.113.16/28}
\tright=198.51.100.2
\trightsubnet=203.0.113.128/28
\tauthby=secret
\tkeyingtries=1
\tike=aes256-sha2_256;dh19
\tauto=ignore
"""


def capture(scenario):
    return (FIXTURES / ("4.10-%s.status.txt" % scenario)).read_text()


class ReplayRunner:
    """Return `whack --status` output from a list of captures, and rc 0 for every other argv."""

    # `ip -o addr show` as west in the lab prints it.
    addresses = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        "2: eth0    inet 198.51.100.1/24 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    )

    def __init__(self, statuses, answers=None):
        self.statuses = list(statuses)
        self.answers = answers or {}
        self.calls = []

    def run(self, argv, timeout=None):
        self.calls.append(list(argv))
        if argv[1:] == ["-o", "addr", "show"]:
            return 0, self.addresses, ""
        if argv[-1] == "--status":
            text = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return 0, text, ""
        return self.answers.get(tuple(argv), (0, "", ""))


@pytest.fixture
def setup(tmp_path):
    config = tmp_path / "ipsec.conf"
    config.write_text(CONFIG)
    socket = tmp_path / "pluto.ctl"
    socket.write_text("")

    def make(statuses, answers=None):
        runner = ReplayRunner(statuses, answers)
        client = LibreswanClient(runner, ipsec="ipsec", ctlsocket=str(socket), config=str(config))
        return runner, client

    make.socket = str(socket)
    make.config = str(config)
    return make


def whack(setup, *args):
    return ["ipsec", "whack", "--ctlsocket", setup.socket] + list(args)


def addconn(setup, name):
    return ["ipsec", "addconn", "--ctlsocket", setup.socket, "--config", setup.config, name]


def changing_calls(runner):
    return [call for call in runner.calls if call[-1] not in ("--status", "show")]


def unoriented(text, name):
    """Return a capture with `name` unoriented, as 4.10 prints it: `"far":     unoriented; my_ip=unset;`."""
    return text.replace('"%s":     oriented;' % name, '"%s":     unoriented;' % name)


def test_present_adds_unloaded_connection(setup):
    runner, client = setup([capture("idle"), capture("added")])
    result = ensure_connection(client, ConnectionRequest("h2h", "present"))
    assert result["changed"] is True
    assert result["commands"] == [addconn(setup, "h2h")]
    assert changing_calls(runner) == [addconn(setup, "h2h")]
    assert result["after"]["loaded"] is True


def test_present_on_matching_connection_runs_nothing(setup):
    runner, client = setup([capture("ike-established")])
    result = ensure_connection(client, ConnectionRequest("h2h", "present"))
    assert result["changed"] is False
    assert result["commands"] == []
    assert result["differences"] == []
    assert changing_calls(runner) == []


def test_present_replaces_changed_subnet_and_restores_route(setup, tmp_path):
    (tmp_path / "ipsec.conf").write_text(CONFIG.replace("203.0.113.128/28", "203.0.113.144/28"))
    runner, client = setup([capture("routed"), capture("routed")])
    result = ensure_connection(client, ConnectionRequest("s2s", "present"), check_mode=True)
    assert result["changed"] is True
    fields = sorted(set(d["field"] for d in result["differences"]))
    assert fields == ["remote.subnets"]
    assert result["commands"] == [
        whack(setup, "--name", "s2s/1x0", "--delete"),
        whack(setup, "--name", "s2s/2x0", "--delete"),
        addconn(setup, "s2s"),
        whack(setup, "--name", "s2s/1x0", "--route"),
        whack(setup, "--name", "s2s/2x0", "--route"),
    ]
    assert changing_calls(runner) == []


def test_routed_routes_every_child(setup):
    runner, client = setup([capture("added"), capture("routed")])
    result = ensure_connection(client, ConnectionRequest("s2s", "ondemand"))
    assert result["commands"] == [
        whack(setup, "--name", "s2s/1x0", "--route"),
        whack(setup, "--name", "s2s/2x0", "--route"),
    ]
    assert result["after"]["routed"] is True


def test_routed_on_routed_connection_runs_nothing(setup):
    runner, client = setup([capture("routed")])
    result = ensure_connection(client, ConnectionRequest("h2h", "routed"))
    assert result["changed"] is False
    assert changing_calls(runner) == []


def test_up_with_rejected_child_sa_fails_with_reason(setup):
    rejected = (0, '003 "h2h" #2: IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE\n', "")
    runner, client = setup([capture("routed"), capture("ike-established")],
                           {tuple(whack(setup, "--name", "h2h", "--initiate")): rejected})
    with pytest.raises(LibreswanError) as error:
        ensure_connection(client, ConnectionRequest("h2h", "up"))
    assert "no established Child SA" in error.value.message
    assert "TS_UNACCEPTABLE" in error.value.message
    assert changing_calls(runner) == [whack(setup, "--name", "h2h", "--initiate")]


def test_up_without_wait_uses_asynchronous(setup):
    runner, client = setup([capture("added"), capture("added")])
    result = ensure_connection(client, ConnectionRequest("h2h", "up", wait=False))
    assert result["commands"] == [whack(setup, "--asynchronous", "--name", "h2h", "--initiate")]


def test_down_terminates_and_warns_route_stays(setup):
    runner, client = setup([capture("ike-established"), capture("down")])
    result = ensure_connection(client, ConnectionRequest("h2h", "down"))
    assert result["commands"] == [whack(setup, "--name", "h2h", "--terminate")]
    assert any("stays routed" in warning for warning in result["warnings"])


def test_down_with_unroute_terminates_then_unroutes(setup):
    runner, client = setup([capture("ike-established"), capture("added")])
    result = ensure_connection(client, ConnectionRequest("h2h", "down", unroute=True))
    assert result["commands"] == [
        whack(setup, "--name", "h2h", "--terminate"),
        whack(setup, "--name", "h2h", "--unroute"),
    ]


def test_down_on_idle_connection_runs_nothing(setup):
    runner, client = setup([capture("down")])
    result = ensure_connection(client, ConnectionRequest("h2h", "down"))
    assert result["changed"] is False


def test_absent_deletes_every_child(setup):
    runner, client = setup([capture("routed"), capture("idle")])
    result = ensure_connection(client, ConnectionRequest("s2s", "absent"))
    assert result["commands"] == [
        whack(setup, "--name", "s2s/1x0", "--delete"),
        whack(setup, "--name", "s2s/2x0", "--delete"),
    ]
    assert result["after"]["loaded"] is False


def test_absent_on_unloaded_connection_runs_nothing(setup):
    runner, client = setup([capture("idle")])
    result = ensure_connection(client, ConnectionRequest("h2h", "absent"))
    assert result["changed"] is False


def test_check_mode_reports_commands_without_running(setup):
    runner, client = setup([capture("idle")])
    result = ensure_connection(client, ConnectionRequest("h2h", "up"), check_mode=True)
    assert result["commands"] == [addconn(setup, "h2h"), whack(setup, "--name", "h2h", "--initiate")]
    assert changing_calls(runner) == []


def test_force_replaces_unchanged_connection(setup):
    runner, client = setup([capture("added"), capture("added")])
    result = ensure_connection(client, ConnectionRequest("h2h", "present", force=True))
    assert result["commands"] == [whack(setup, "--name", "h2h", "--delete"), addconn(setup, "h2h")]


def test_unknown_connection_suggests_close_names(setup):
    runner, client = setup([capture("idle")])
    with pytest.raises(LibreswanError) as error:
        ensure_connection(client, ConnectionRequest("h2x", "present"))
    assert "'h2x' is not defined" in error.value.message
    assert "h2h" in error.value.hint


def test_missing_socket_reports_pluto_not_running(setup, tmp_path):
    runner, client = setup([capture("idle")])
    client.ctlsocket = str(tmp_path / "absent.ctl")
    with pytest.raises(PlutoNotRunningError) as error:
        ensure_connection(client, ConnectionRequest("h2h", "present"))
    assert "pluto is not running" in error.value.message


def test_unoriented_with_local_end_listens_first(setup):
    runner, client = setup([unoriented(capture("added"), "h2h"), capture("routed")])
    result = ensure_connection(client, ConnectionRequest("h2h", "routed"))
    assert result["commands"] == [whack(setup, "--listen"), whack(setup, "--name", "h2h", "--route")]


def test_unoriented_without_local_end_fails_naming_addresses(setup, tmp_path):
    (tmp_path / "ipsec.conf").write_text(CONFIG.replace("198.51.100.1", "198.51.100.77"))
    runner, client = setup([unoriented(capture("added"), "h2h")])
    with pytest.raises(LibreswanError) as error:
        ensure_connection(client, ConnectionRequest("h2h", "up"), check_mode=True)
    assert "unoriented" in error.value.message
    assert "left=198.51.100.77" in error.value.message
    assert "right=198.51.100.2" in error.value.message
    assert "198.51.100.1" in error.value.message.split("its addresses:")[1]
    assert changing_calls(runner) == []
