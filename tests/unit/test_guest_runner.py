"""Unit tests of the guest runner's pieces; nothing here boots a guest or needs root."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

# NOTE: pytest puts only tests/ and the test's own directory on sys.path, so the project's top
# directory is added here until pytest.ini sets `pythonpath = .`.
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if TOP not in sys.path:
    sys.path.insert(0, TOP)

from tests.guest import __main__ as cli  # noqa: E402
from tests.guest import control, kernel, machine, processes, runner  # noqa: E402
from tests.guest.result import (  # noqa: E402
    GuestBootError,
    GuestError,
    GuestResult,
    GuestTimeoutError,
    GuestUnavailableError,
)


def build_argv(tmp_path, **changes):
    options = dict(
        memory_bytes=1 << 30,
        init_script="/work/main/tests/guest/init.sh",
        results_dir=str(tmp_path),
        uml_dir=str(tmp_path / "uml"),
        umid="guest-test",
        output_fd=7,
    )
    options.update(changes)
    return kernel.uml_argv("/usr/bin/linux.uml", **options)


# The UML command line.


def test_uml_argv_boots_read_only_hostfs(tmp_path):
    argv = build_argv(tmp_path)
    assert argv[0] == "/usr/bin/linux.uml"
    assert "root=/dev/root" in argv
    assert "rootfstype=hostfs" in argv
    assert "rootflags=/" in argv
    assert "ro" in argv
    assert "rw" not in argv


def test_uml_argv_sets_memory_in_kibibytes(tmp_path):
    argv = build_argv(tmp_path, memory_bytes=512 << 20)
    assert "mem=524288K" in argv


def test_uml_argv_has_no_network_card(tmp_path):
    argv = build_argv(tmp_path)
    assert not [argument for argument in argv if argument.startswith(("eth", "vec"))]


def test_uml_argv_consoles_need_no_stdin(tmp_path):
    argv = build_argv(tmp_path, output_fd=9)
    assert "con=null" in argv
    assert "con0=null,fd:1" in argv
    assert "ssl=null" in argv
    assert "ssl0=null,fd:9" in argv
    assert not [argument for argument in argv if "fd:0" in argument]


def test_uml_argv_runs_init_script_through_bash(tmp_path):
    argv = build_argv(tmp_path)
    assert "init=/bin/bash" in argv
    assert argv[-2] == "--"
    assert argv[-1] == "/work/main/tests/guest/init.sh"


def test_uml_argv_passes_results_and_uml_dir(tmp_path):
    argv = build_argv(tmp_path)
    assert "guest_results=%s" % tmp_path in argv
    assert "uml_dir=%s" % (tmp_path / "uml") in argv
    assert "umid=guest-test" in argv
    assert "noreboot" in argv


def test_uml_argv_rejects_results_dir_with_space(tmp_path):
    with pytest.raises(ValueError, match="white space"):
        build_argv(tmp_path, results_dir=str(tmp_path / "with space"))


@pytest.mark.parametrize(
    "name", ["a b", "a,b", "a:b", 'a"b', "a'b", "a\\b", "caf\u00e9", "tab\there"]
)
def test_check_host_path_rejects_unsafe_characters(tmp_path, name):
    with pytest.raises(ValueError, match="plain path"):
        kernel.check_host_path(tmp_path / name, "results directory")


def test_check_host_path_resolves_symlinks(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    assert kernel.check_host_path(tmp_path / "link", "results directory") == str(target)


def test_check_host_path_makes_relative_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert kernel.check_host_path("sub", "results directory") == str(tmp_path / "sub")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1G", 1 << 30),
        ("512M", 512 << 20),
        ("512m", 512 << 20),
        ("262144K", 256 << 20),
        (str(200 << 20), 200 << 20),
        (1 << 30, 1 << 30),
    ],
)
def test_parse_memory_accepts_sizes(text, expected):
    assert kernel.parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "1.5G", "1T", "G", "-1G", "0", "abc", "1 G"])
def test_parse_memory_rejects_invalid_sizes(text):
    with pytest.raises(ValueError, match="invalid guest memory size"):
        kernel.parse_memory(text)


def test_parse_memory_rejects_tiny_guest():
    with pytest.raises(ValueError, match="minimum"):
        kernel.parse_memory("64M")


# Writable directories.


def test_writable_directories_orders_parents_first(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c").mkdir()
    chosen = kernel.writable_directories([tmp_path / "c", tmp_path / "a"], optional=())
    assert chosen == [str(tmp_path / "a"), str(tmp_path / "c")]


def test_writable_directories_drops_nested_entries(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    chosen = kernel.writable_directories([tmp_path / "a" / "b", tmp_path / "a"], optional=())
    assert chosen == [str(tmp_path / "a")]


def test_writable_directories_keeps_name_prefix_siblings(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work2").mkdir()
    chosen = kernel.writable_directories([tmp_path / "work", tmp_path / "work2"], optional=())
    assert chosen == [str(tmp_path / "work"), str(tmp_path / "work2")]


def test_writable_directories_removes_duplicates(tmp_path):
    chosen = kernel.writable_directories([tmp_path, tmp_path], optional=(str(tmp_path),))
    assert chosen == [str(tmp_path)]


def test_writable_directories_skips_missing_defaults(tmp_path):
    chosen = kernel.writable_directories([], optional=(str(tmp_path / "missing"), str(tmp_path)))
    assert chosen == [str(tmp_path)]


def test_writable_directories_rejects_missing_request(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        kernel.writable_directories([tmp_path / "missing"], optional=())


def test_writable_directories_rejects_root():
    with pytest.raises(ValueError, match="root directory"):
        kernel.writable_directories(["/"], optional=())


def test_default_writable_covers_package_state():
    for directory in ("/etc", "/var", "/tmp", "/root", "/usr"):
        assert directory in kernel.DEFAULT_WRITABLE


def test_default_modules_include_esp_and_ipv6():
    for module in ("esp4", "esp6", "ipv6", "xfrm_user", "gcm", "veth"):
        assert module in kernel.DEFAULT_MODULES


# Control files.


@pytest.mark.parametrize(
    "entries",
    [[], [""], ["a b", "line\nbreak", "tab\t", "quote'\"", "$(not run)", "caf\u00e9", "", "last"]],
)
def test_write_list_round_trips_entries(tmp_path, entries):
    path = str(tmp_path / "list")
    control.write_list(path, entries)
    assert control.read_list(path) == entries


def test_write_list_terminates_each_entry(tmp_path):
    path = tmp_path / "list"
    control.write_list(str(path), ["a", "b"])
    assert path.read_bytes() == b"a\0b\0"


def test_write_list_is_private_to_owner(tmp_path):
    path = tmp_path / "list"
    control.write_list(str(path), ["SECRET=1"])
    assert path.stat().st_mode & 0o777 == 0o600


def test_write_list_rejects_nul(tmp_path):
    with pytest.raises(ValueError, match="NUL"):
        control.write_list(str(tmp_path / "list"), ["a\0b"])


def test_read_list_rejects_unterminated_file(tmp_path):
    path = tmp_path / "list"
    path.write_bytes(b"a\0b")
    with pytest.raises(ValueError, match="NUL"):
        control.read_list(str(path))


def test_write_request_writes_every_control_file(tmp_path):
    control.write_request(
        str(tmp_path),
        argv=["/bin/echo", "a b", "c;d"],
        env={"A": "1", "LC_ALL": "C"},
        cwd="/work/main",
        writable=["/etc", "/usr"],
        modules=["esp4"],
    )
    assert control.read_list(str(tmp_path / "argv")) == ["/bin/echo", "a b", "c;d"]
    assert control.read_list(str(tmp_path / "env")) == ["A=1", "LC_ALL=C"]
    assert control.read_list(str(tmp_path / "cwd")) == ["/work/main"]
    assert control.read_list(str(tmp_path / "writable")) == ["/etc", "/usr"]
    assert control.read_list(str(tmp_path / "modules")) == ["esp4"]


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {}, "empty"),
        (["A=1"], {}, "contains '='"),
        (["true", "a\0b"], {}, "NUL"),
        (["true"], {"": "1"}, "invalid environment variable name"),
        (["true"], {"A=B": "1"}, "invalid environment variable name"),
        (["true"], {"A": "1\0"}, "NUL"),
    ],
)
def test_check_command_rejects_unusable_input(argv, env, message):
    with pytest.raises(ValueError, match=message):
        control.check_command(argv, env)


def test_prepare_control_directory_replaces_old_run(tmp_path):
    old = tmp_path / control.CONTROL_DIRECTORY
    old.mkdir()
    (old / "status").write_text("0\n")
    (tmp_path / "junit.xml").write_text("<testsuite/>")
    created = control.prepare_control_directory(str(tmp_path))
    assert created == str(old)
    assert os.listdir(created) == []
    assert (tmp_path / "junit.xml").exists()


def test_prepare_control_directory_rejects_file(tmp_path):
    (tmp_path / control.CONTROL_DIRECTORY).write_text("not a directory")
    with pytest.raises(ValueError, match="not a directory"):
        control.prepare_control_directory(str(tmp_path))


def test_read_status_without_file_is_none(tmp_path):
    assert control.read_status(str(tmp_path)) is None


def test_read_status_reads_number(tmp_path):
    (tmp_path / "status").write_text("137\n")
    assert control.read_status(str(tmp_path)) == 137


def test_read_status_rejects_garbage(tmp_path):
    (tmp_path / "status").write_text("oops\n")
    with pytest.raises(ValueError, match="not a number"):
        control.read_status(str(tmp_path))


def test_remove_environment_deletes_env_file(tmp_path):
    control.write_list(str(tmp_path / "env"), ["TOKEN=secret"])
    control.remove_environment(str(tmp_path))
    control.remove_environment(str(tmp_path))
    assert not (tmp_path / "env").exists()


# Process tracking.


def test_parse_stat_handles_odd_command_names():
    info = processes.parse_stat("4242 (a (b) c) S 1 4200 4100 0 -1 4194560 0 0")
    assert info == processes.ProcessInfo(pid=4242, state="S", ppid=1, pgid=4200, sid=4100)


def test_list_processes_includes_caller():
    pids = [info.pid for info in processes.list_processes()]
    assert os.getpid() in pids


def test_process_tree_refuses_caller_session():
    with pytest.raises(ValueError, match="own session"):
        processes.ProcessTree(os.getsid(0))


def test_process_tree_kills_session_and_subgroups():
    # A session leader with one child in its own process group, as UML's helpers could be.
    script = "sleep 60 & (set -m; sleep 60 & wait) & wait"
    leader = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    try:
        tree = processes.ProcessTree(leader.pid)
        deadline = time.monotonic() + 10
        while len(tree.survivors()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(tree.survivors()) >= 4
        assert tree.kill_all() == []
        assert tree.survivors() == []
    finally:
        leader.kill()
        leader.wait()


# Running the host side of a guest with a stand-in for UML.


def fake_machine(tmp_path, script, timeout=10.0, on_output=None):
    """Run `script` in bash in place of UML; it gets the output descriptor number as $1."""
    uml_dir = tmp_path / "uml"
    uml_dir.mkdir(exist_ok=True)
    return machine.run_machine(
        lambda output_fd: ["bash", "-c", script, "fake-uml", str(output_fd)],
        uml_dir=str(uml_dir),
        console_path=str(tmp_path / "console.log"),
        started_path=str(tmp_path / "started"),
        timeout=timeout,
        on_output=on_output,
    )


def session_survivors(pgid):
    return [
        info.pid
        for info in processes.list_processes()
        if info.sid == pgid and info.state not in ("Z", "X")
    ]


def test_run_machine_collects_output_and_console(tmp_path):
    received = []
    run = fake_machine(
        tmp_path, 'echo console; printf "out\\n" >&"$1"; touch started', on_output=received.append
    )
    assert run.output == b"out\n"
    assert b"".join(received) == b"out\n"
    assert (tmp_path / "console.log").read_bytes() == b"console\n"
    assert not run.timed_out


def test_run_machine_measures_boot_time(tmp_path):
    started = tmp_path / "started"
    run = fake_machine(tmp_path, "sleep 0.3; touch %s; sleep 0.2" % started)
    assert run.boot_seconds is not None
    assert 0.25 <= run.boot_seconds <= run.wall_seconds


def test_run_machine_gives_uml_its_own_tmpdir(tmp_path):
    run = fake_machine(tmp_path, 'printf "%s|%s" "$TMPDIR" "$PWD" >&"$1"')
    uml_dir = str(tmp_path / "uml")
    assert run.output.decode() == "%s|%s" % (uml_dir, uml_dir)


def test_run_machine_timeout_kills_session(tmp_path):
    script = 'echo begun >&"$1"; sleep 60 & (set -m; sleep 60 & wait) & sleep 60'
    run = fake_machine(tmp_path, script, timeout=1.0)
    assert run.timed_out
    assert run.output == b"begun\n"
    assert session_survivors(run.pgid) == []


def test_run_machine_interrupt_kills_session(tmp_path):
    pgids = []

    def interrupt(data):
        pgids.extend(info.sid for info in processes.list_processes() if info.ppid == os.getpid())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fake_machine(tmp_path, 'sleep 60 & echo begun >&"$1"; sleep 60', on_output=interrupt)
    assert pgids
    for pgid in pgids:
        assert session_survivors(pgid) == []


def test_run_machine_waits_for_helpers_holding_pipes(tmp_path):
    # The main process exits while a helper keeps the output pipe open for a moment.
    run = fake_machine(tmp_path, '(sleep 0.5; echo late >&"$1") & echo early >&"$1"')
    assert run.output == b"early\nlate\n"


# run_in_guest argument checks that come before any boot.


def test_run_in_guest_rejects_nonpositive_timeout():
    with pytest.raises(ValueError, match="timeout"):
        runner.run_in_guest(["true"], timeout=0)


def test_run_in_guest_rejects_cwd_hidden_in_guest():
    with pytest.raises(ValueError, match="replaces"):
        runner.run_in_guest(["true"], cwd="/proc")


def test_run_in_guest_rejects_missing_cwd(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        runner.run_in_guest(["true"], cwd=tmp_path / "missing")


def test_run_in_guest_rejects_writable_under_run():
    with pytest.raises(ValueError, match="replaces"):
        runner.run_in_guest(["true"], writable=["/run"])


def test_run_in_guest_rejects_empty_command():
    with pytest.raises(ValueError, match="empty"):
        runner.run_in_guest([])


def test_run_in_guest_reports_missing_kernel(tmp_path):
    with pytest.raises(GuestUnavailableError, match="user-mode-linux"):
        runner.run_in_guest(
            ["true"], uml_binary=str(tmp_path / "linux.uml"), result_dir=tmp_path / "results"
        )
    assert not (tmp_path / "results").exists()


def test_sigterm_becomes_guest_error_after_cleanup():
    received = []

    def record(signum, frame):
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, record)
    try:
        with pytest.raises(GuestError, match="SIGTERM"):
            with runner._sigterm_raises():
                signal.raise_signal(signal.SIGTERM)
                time.sleep(1)
        assert received == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is record
    finally:
        signal.signal(signal.SIGTERM, previous)


# Results.


def test_guest_result_paths(tmp_path):
    result = GuestResult(["true"], 0, "", str(tmp_path), 1.0, 0.5, 123)
    assert result.control_dir == str(tmp_path / "guest-run")
    assert result.console_log == str(tmp_path / "guest-run" / "console.log")
    assert result.read_console() == ""


def test_guest_result_reads_console_tail(tmp_path):
    (tmp_path / "guest-run").mkdir()
    (tmp_path / "guest-run" / "console.log").write_text("x" * 50 + "end")
    result = GuestResult(["true"], 0, "", str(tmp_path), 1.0, 0.5, 123)
    assert result.read_console(3) == "end"


# Command line.


def test_split_command_at_first_separator():
    assert cli.split_command(["--timeout", "5", "--", "ls", "--", "-l"]) == (
        ["--timeout", "5"],
        ["ls", "--", "-l"],
    )


def test_split_command_without_separator():
    assert cli.split_command(["--timeout", "5"]) == (["--timeout", "5"], [])


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    calls = []

    def run(argv, **options):
        calls.append((argv, options))
        options["on_output"](b"hello\n")
        return GuestResult(list(argv), 3, "hello\n", str(tmp_path / "results"), 2.0, 1.0, 1)

    monkeypatch.setattr(cli, "run_in_guest", run)
    return calls


def test_cli_exits_with_command_status(fake_run, capfd):
    assert cli.main(["--timeout", "30", "--results", "/tmp/x", "--", "ls", "-l"]) == 3
    argv, options = fake_run[0]
    assert argv == ["ls", "-l"]
    assert options["timeout"] == 30.0
    assert options["result_dir"] == "/tmp/x"
    assert capfd.readouterr().out == "hello\n"


def test_cli_accepts_command_without_separator(fake_run):
    assert cli.main(["--memory", "512M", "ls", "-l"]) == 3
    argv, options = fake_run[0]
    assert argv == ["ls", "-l"]
    assert options["memory"] == "512M"


def test_cli_removes_temporary_results(fake_run, tmp_path):
    (tmp_path / "results").mkdir()
    cli.main(["--", "true"])
    assert fake_run[0][1]["result_dir"] is None
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--"],
        ["--timeout", "0", "--", "true"],
        ["--timeout", "x", "--", "true"],
        ["--memory", "1T", "--", "true"],
        ["a", "--", "b"],
    ],
)
def test_cli_rejects_bad_arguments(fake_run, arguments):
    with pytest.raises(SystemExit) as raised:
        cli.main(arguments)
    assert raised.value.code == 2
    assert fake_run == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (GuestTimeoutError("timed out"), cli.EXIT_TIMEOUT),
        (GuestBootError("no status"), cli.EXIT_GUEST_FAILED),
        (GuestUnavailableError("no kernel"), cli.EXIT_GUEST_FAILED),
    ],
)
def test_cli_maps_guest_errors_to_exit_codes(monkeypatch, capfd, error, code):
    def run(argv, **options):
        raise error

    monkeypatch.setattr(cli, "run_in_guest", run)
    assert cli.main(["--", "true"]) == code
    assert str(error) in capfd.readouterr().err


# Shell scripts.


@pytest.mark.parametrize("name", ["init.sh", "esp_check.sh"])
def test_guest_script_parses(name):
    path = os.path.join(runner.PACKAGE_DIR, name)
    completed = subprocess.run(["bash", "-n", path], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_guest_scripts_pass_shellcheck():
    paths = [os.path.join(runner.PACKAGE_DIR, name) for name in ("init.sh", "esp_check.sh")]
    paths.append(os.path.join(TOP, "scripts", "guest-run"))
    completed = subprocess.run(["shellcheck", *paths], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout
