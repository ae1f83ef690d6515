"""Tests of the test lab itself: namespaces, plutos, IKE between hosts, Ansible inside hosts, teardown."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.lab import Installation, Lab, LabError, esp_probe, esp_supported, network, registry, system_installation

pytestmark = pytest.mark.lab

REPOSITORY = Path(__file__).resolve().parents[2]
LAB_NETWORKS = [ipaddress.ip_network(text) for text in ("198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
# 32 bytes or more, so pluto does not warn that the PSK is too short for HMAC-SHA2-512.
PSK = "lab-only-pre-shared-key-0123456789abcdef"


def psk_conn(name: str, left: str, right: str) -> str:
    return textwrap.dedent("""\
        conn {name}
        \tleft={left}
        \tright={right}
        \tauthby=secret
        \tikev2=insist
        \tauto=add
        """).format(name=name, left=left, right=right)


def load_psk_conn(lab, name: str, left: str, right: str) -> None:
    for host in lab:
        host.write_file("ipsec.d/%s.conf" % name, psk_conn(name, left, right))
        host.write_file("ipsec.d/%s.secrets" % name, '%s %s : PSK "%s"\n' % (left, right, PSK), 0o600)
        host.whack("--rereadsecrets")
        host.run(["ipsec", "auto", "--add", name])


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def host_mounts() -> str:
    with open("/proc/self/mountinfo") as stream:
        return stream.read()


def netns_inode(path: str) -> tuple:
    status = os.stat(path)
    return status.st_dev, status.st_ino


def leftovers(snapshot: dict) -> list:
    """Return what still exists of a lab described by `snapshot` (id, root, namespaces, pids)."""
    found = []
    existing = network.list_namespaces()
    found += ["namespace %s" % name for name in snapshot["namespaces"] if name in existing]
    found += ["/etc/netns/%s" % name for name in snapshot["namespaces"] if os.path.lexists("/etc/netns/%s" % name)]
    found += [
        "pluto pid %d" % entry["pid"]
        for entry in snapshot["processes"].values()
        if registry.process_start_time(entry["pid"]) == entry["start_time"]
    ]
    if os.path.exists(snapshot["root"]):
        found.append("directory %s" % snapshot["root"])
    mounts = host_mounts()
    # mountinfo shows a bind mount's source relative to its file system, so look for the
    # directory's own name, which appears whatever file system contains it.
    if os.path.basename(snapshot["root"]) in mounts:
        found.append("a mount from %s" % snapshot["root"])
    found += ["mount of %s" % name for name in snapshot["namespaces"] if "/run/netns/%s " % name in mounts]
    if os.path.exists(os.path.join(registry.RECORD_DIR, snapshot["id"] + ".json")):
        found.append("lab record %s" % snapshot["id"])
    return found


def snapshot_of(lab) -> dict:
    return {
        "id": lab.id,
        "root": str(lab.root),
        "namespaces": lab.namespaces,
        "processes": json.loads(json.dumps(lab.record["processes"])),
    }


# Hosts, plutos and isolation


def test_plutos_run_inside_their_hosts(lab):
    for host in lab:
        assert host.pluto_running(), host.read_log()[-2000:]
        pid = host.pluto_pid
        assert netns_inode("/proc/%d/ns/net" % pid) == netns_inode("/run/netns/%s" % host.namespace)
        assert host.run(["cat", "/run/pluto/pluto.pid"]).stdout.strip() == str(pid)
        assert "interface eth0 UDP %s:500" % host.address in host.status()
        assert "Starting Pluto" in host.read_log()


def test_host_addresses_are_usable_at_once(lab):
    west = lab["west"]
    addresses = west.run(["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
    assert "inet %s/24" % west.address in addresses
    assert "inet6 %s/64" % west.address6 in addresses
    assert "tentative" not in addresses
    subnet_addresses = west.run(["ip", "-o", "addr", "show", "dev", "lan0"]).stdout
    for address in ("203.0.113.1/28", "203.0.113.17/28", "2001:db8:1::1/64"):
        assert address in subnet_addresses
    assert west.run(["ping", "-c", "1", "-W", "2", lab["east"].address], check=False).returncode == 0
    assert west.run(["ping", "-6", "-c", "1", "-W", "2", lab["east"].address6], check=False).returncode == 0


def test_lab_namespaces_have_no_route_out(lab):
    assert lab.namespaces
    for namespace in lab.namespaces:
        assert network.default_routes(namespace) == []
        for family in ("-4", "-6"):
            routes = subprocess.run(
                ["ip", family, "-n", namespace, "-j", "route", "show"], capture_output=True, text=True, check=True
            )
            for route in json.loads(routes.stdout or "[]"):
                destination = ipaddress.ip_network(route["dst"])
                if destination.is_link_local or destination.is_multicast:
                    continue
                assert any(
                    destination.version == allowed.version and destination.subnet_of(allowed)
                    for allowed in LAB_NETWORKS
                ), "%s routes to %s" % (namespace, route)
    unreachable = lab["west"].run(["ip", "route", "get", "192.0.2.1"], check=False)
    assert unreachable.returncode != 0


def test_host_sees_its_own_ipsec_files(clean_lab):
    west, east = clean_lab["west"], clean_lab["east"]
    west.write_config("# west marker\nconfig setup\n\ninclude /etc/ipsec.d/*.conf\n")
    east.write_file("ipsec.d/only-east.conf", "# east marker\n")
    assert "# west marker" in west.run(["cat", "/etc/ipsec.conf"]).stdout
    assert "# west marker" not in east.run(["cat", "/etc/ipsec.conf"]).stdout
    assert east.run(["ls", "/etc/ipsec.d"]).stdout.split() == ["only-east.conf", "policies"]
    assert west.run(["ls", "/etc/ipsec.d"]).stdout.split() == ["policies"]
    with open("/etc/ipsec.conf") as machine_config:
        assert "# west marker" not in machine_config.read()


def test_write_file_rejects_shared_paths(lab):
    west = lab["west"]
    for path in ("passwd", "/etc/hosts", "ipsec.d/../../x", "ipsec.conf/x", ""):
        with pytest.raises(ValueError):
            west.write_file(path, "x")


def mount_points(mountinfo: str) -> set:
    return {line.split()[4] for line in mountinfo.splitlines()}


def test_mounts_stay_inside_hosts(lab):
    inside = lab["west"].run(["cat", "/proc/self/mountinfo"]).stdout
    assert {"/run/pluto", "/var/lib/ipsec/nss", "/etc/ipsec.conf", "/etc/ipsec.d"} <= mount_points(inside)
    assert lab.root.name in inside

    outside = host_mounts()
    assert lab.root.name not in outside
    assert not {"/run/pluto", "/var/lib/ipsec/nss", "/etc/ipsec.conf", "/etc/ipsec.d"} & mount_points(outside)


def test_single_host_lab_without_ipv6(lab_available):
    with Lab(hosts=("solo",), ipv6=False, start=False) as lab:
        solo = lab["solo"]
        assert solo.address == "198.51.100.1"
        assert solo.address6 is None
        assert not solo.pluto_running()
        links = solo.run(["ip", "-br", "link"]).stdout
        assert [line.split()[0] for line in links.splitlines()] == ["lo"]
        solo.start_pluto()
        assert solo.pluto_running()
    assert lab.namespaces[0] not in network.list_namespaces()


class MarkedInstallation(Installation):
    def after_pluto_start(self, host):
        host.write_file("ipsec.d/started-by-installation", "yes\n")


def test_installation_mounts_env_and_hook(lab_available, tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    (source / "marker").write_text("from the installation\n")
    base = system_installation()
    installation = MarkedInstallation(
        version=base.version,
        pluto_argv=list(base.pluto_argv),
        mounts=[(str(source), str(target))],
        env={"LAB_INSTALLATION_MARKER": "set for east"},
    )
    with Lab(hosts=("west", "east"), installation={"east": installation}) as lab:
        east, west = lab["east"], lab["west"]
        assert east.run(["cat", str(target / "marker")]).stdout == "from the installation\n"
        assert west.run(["ls", str(target)]).stdout == ""
        printed = subprocess.run(
            [str(east.python), "-c", "import os; print(os.environ['LAB_INSTALLATION_MARKER'])"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert printed.stdout == "set for east\n"
        assert east.read_file("ipsec.d/started-by-installation") == "yes\n"
        assert not (west.dir / "ipsec.d" / "started-by-installation").exists()
    assert not (target / "marker").exists()


# IKE between the hosts


@pytest.mark.parametrize("family", [4, 6])
def test_psk_conn_establishes_ike_sa(clean_lab, family):
    west, east = clean_lab["west"], clean_lab["east"]
    left, right = (west.address, east.address) if family == 4 else (west.address6, east.address6)
    load_psk_conn(clean_lab, "labpsk", left, right)
    assert west.connection_names() == ["labpsk"]

    # `ipsec auto --up` exits 0 even when the Child SA fails, so the outcome is read from pluto.
    west.run(["ipsec", "auto", "--up", "labpsk"], check=False, timeout=90)

    assert wait_for(lambda: west.ike_sa_established("labpsk")), west.status()
    assert wait_for(lambda: east.ike_sa_established("labpsk")), east.status()
    if esp_supported():
        assert wait_for(lambda: west.child_sa_established("labpsk")), west.status()
    else:
        assert not west.child_sa_established("labpsk")
        assert "TS_UNACCEPTABLE" in west.read_log()


def test_reset_removes_conns_and_files(clean_lab):
    west = clean_lab["west"]
    load_psk_conn(clean_lab, "labreset", west.address, clean_lab["east"].address)
    old_pid = west.pluto_pid

    clean_lab.reset(restart=True)

    assert west.connection_names() == []
    assert west.pluto_pid != old_pid
    assert [entry.name for entry in (west.dir / "ipsec.d").iterdir()] == ["policies"]


def test_reset_without_restart_deletes_conns(clean_lab):
    west = clean_lab["west"]
    load_psk_conn(clean_lab, "labdelete", west.address, clean_lab["east"].address)
    old_pid = west.pluto_pid

    clean_lab.reset(restart=False)

    assert west.connection_names() == []
    assert west.pluto_pid == old_pid


# Ansible inside the hosts


def run_ad_hoc(lab, inventory, host: str, command: str) -> subprocess.CompletedProcess:
    from tests.lab import ansible_environment

    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "-i", str(inventory), host, "-m", "command", "-a", command],
        capture_output=True,
        text=True,
        env=ansible_environment(lab),
        timeout=300,
        check=False,
    )


def test_ansible_ad_hoc_runs_inside_host(clean_lab, inventory):
    west, east = clean_lab["west"], clean_lab["east"]
    west.write_config("# config of west\nconfig setup\n\ninclude /etc/ipsec.d/*.conf\n")

    addresses = run_ad_hoc(clean_lab, inventory, "west", "ip -br addr")
    assert addresses.returncode == 0, addresses.stdout + addresses.stderr
    assert west.address in addresses.stdout
    assert east.address not in addresses.stdout

    config = run_ad_hoc(clean_lab, inventory, "west", "cat /etc/ipsec.conf")
    assert config.returncode == 0, config.stdout + config.stderr
    assert "# config of west" in config.stdout


def test_inventory_describes_hosts(lab, inventory):
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    hostvars = json.loads(completed.stdout)["_meta"]["hostvars"]
    assert set(hostvars) == {"west", "east"}
    west = hostvars["west"]
    assert west["ansible_connection"] == "local"
    assert west["ansible_python_interpreter"] == str(lab["west"].python)
    assert west["lab_address"] == "198.51.100.1"
    assert west["lab_address6"] == "2001:db8:0:1::1"
    assert west["lab_peer"] == "east"
    assert west["lab_peer_address"] == "198.51.100.2"
    assert west["lab_subnets"] == ["203.0.113.0/28", "203.0.113.16/28", "2001:db8:1::/64"]
    assert west["lab_peer_subnets"] == ["203.0.113.128/28", "2001:db8:2::/64"]


PLAYBOOK = """\
- hosts: lab
  gather_facts: false
  tasks:
    - name: Show addresses
      ansible.builtin.command: ip -br addr show dev eth0
      changed_when: false

    - name: Write a conn file
      ansible.builtin.copy:
        dest: /etc/ipsec.d/fromansible.conf
        content: "# {{ inventory_hostname }} {{ lab_address }} peer {{ lab_peer_address }}\\n"
        mode: "0644"

    - name: Replace ipsec.secrets
      ansible.builtin.copy:
        dest: /etc/ipsec.secrets
        content: "include /etc/ipsec.d/*.secrets\\n# {{ marker }}\\n"
        mode: "0600"

    - name: Fail on east only
      ansible.builtin.command: "false"
      when: inventory_hostname == 'east'
      ignore_errors: true
"""


def test_run_playbook_reports_tasks_and_recap(clean_lab, run_playbook):
    run = run_playbook(PLAYBOOK, extra_vars={"marker": "set by ansible"})

    assert run.rc == 0, str(run)
    assert run.result("Show addresses", "west")["stdout"].split()[2].startswith("198.51.100.1/")
    assert run.result("Show addresses", "east")["stdout"].split()[2].startswith("198.51.100.2/")
    assert run.result("Write a conn file", "west")["changed"] is True
    assert run.result("Fail on east only", "east")["_lab_status"] == "ignored"
    assert run.result("Fail on east only", "west")["_lab_status"] == "skipped"
    assert run.changed("west") == 2
    assert run.failed() == 0
    assert run.stats["east"]["ignored"] == 1
    assert clean_lab["west"].read_file("ipsec.d/fromansible.conf") == "# west 198.51.100.1 peer 198.51.100.2\n"
    assert "# set by ansible" in clean_lab["east"].read_file("ipsec.secrets")
    assert "set by ansible" not in Path("/etc/ipsec.secrets").read_text()

    again = run_playbook(PLAYBOOK, extra_vars={"marker": "set by ansible"}, check=True, diff=True)
    assert again.rc == 0, str(again)
    assert again.changed() == 0


# Teardown


def test_teardown_leaves_nothing_behind(lab_available):
    lab = Lab(hosts=("west", "east", "north"), ipv6=True)
    snapshot = snapshot_of(lab)
    try:
        assert len(snapshot["namespaces"]) == 4  # three hosts and the bridge
        assert lab["west"].run(["ping", "-c", "1", "-W", "2", lab["north"].address], check=False).returncode == 0
        assert len(leftovers(snapshot)) > 3
    finally:
        lab.teardown()
    assert leftovers(snapshot) == []
    lab.teardown()  # a second call is harmless


def test_failed_build_cleans_up(lab_available, monkeypatch, tmp_path):
    lab_ids = []

    def remember_lab_id(real=registry.new_lab_id):
        lab_ids.append(real())
        return lab_ids[-1]

    def fail_prepare(host):
        raise LabError("simulated failure while preparing %s" % host.name)

    monkeypatch.setattr(registry, "new_lab_id", remember_lab_id)
    monkeypatch.setattr("tests.lab.host.Host.prepare", fail_prepare)

    with pytest.raises(LabError, match="simulated failure"):
        Lab(hosts=("west", "east"), root=tmp_path / "lsw-failed-build")

    namespaces = [registry.namespace_name(lab_ids[0], name) for name in ("west", "east")]
    snapshot = {"id": lab_ids[0], "root": str(tmp_path / "lsw-failed-build"), "namespaces": namespaces, "processes": {}}
    assert leftovers(snapshot) == []


# A shell starts background jobs with SIGINT ignored, and the child would inherit that, so the
# script restores Python's own SIGINT handler first, as in an interactive run.
CHILD_SCRIPT = """\
import json, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {repository!r})
from tests.lab import Lab
lab = Lab(hosts=("west", "east"))
print(json.dumps({{"id": lab.id, "root": str(lab.root), "namespaces": lab.namespaces,
                  "processes": lab.record["processes"]}}), flush=True)
time.sleep(120)
"""


def start_lab_process():
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD_SCRIPT.format(repository=str(REPOSITORY))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("the lab process exited early: %s" % process.stderr.read())
    return process, json.loads(line)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_tears_lab_down(lab_available, signum):
    process, snapshot = start_lab_process()
    try:
        assert len(leftovers(snapshot)) > 3
        process.send_signal(signum)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert leftovers(snapshot) == []


def test_cleanup_removes_killed_lab(lab_available):
    process, snapshot = start_lab_process()
    process.kill()
    process.wait()
    assert leftovers(snapshot)

    completed = subprocess.run(
        [sys.executable, "-m", "tests.lab", "cleanup", "--stale"],
        cwd=str(REPOSITORY),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "removed lab %s" % snapshot["id"] in completed.stdout
    assert leftovers(snapshot) == []


def test_cleanup_keeps_labs_of_live_processes(lab):
    report = registry.cleanup(stale_only=True)
    assert any(line.startswith("kept lab %s" % lab.id) for line in report)
    assert lab["west"].pluto_running()


# Command line


def lab_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.lab", *args],
        cwd=str(REPOSITORY),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_up_exec_down(lab_available, tmp_path):
    lab_dir = tmp_path / "lsw-cli-lab"
    up = lab_cli("up", "--dir", str(lab_dir), "--no-subnets")
    assert up.returncode == 0, up.stdout + up.stderr
    record = next(record for record in registry.load_records() if record["root"] == str(lab_dir))
    snapshot = {
        "id": record["id"],
        "root": record["root"],
        "namespaces": record["namespaces"],
        "processes": record["processes"],
    }
    try:
        assert "inventory.yml" in up.stdout
        status = lab_cli("exec", "--id", record["id"], "west", "ipsec", "whack", "--status")
        assert status.returncode == 0, status.stderr
        assert "interface eth0 UDP 198.51.100.1:500" in status.stdout
        addresses = lab_cli("exec", "--dir", str(lab_dir), "east", "ip", "-br", "addr")
        assert "198.51.100.2/24" in addresses.stdout
    finally:
        down = lab_cli("down", "--id", record["id"])
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers(snapshot) == []


# ESP


def test_esp_probe_leaves_no_namespace(lab_available):
    before = set(network.list_namespaces())
    results = esp_probe()
    assert set(results) == {"aes_gcm", "aes_cbc-sha2_256"}
    # Only the probe's own namespaces count: another test run may add and remove labs meanwhile.
    assert [name for name in set(network.list_namespaces()) - before if name.endswith("-esp")] == []
    assert esp_supported() is all(error is None for error in results.values())
