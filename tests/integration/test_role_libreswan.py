"""The ipsec.libreswan.libreswan role: its filters, and converges against real pluto 4.10 in a lab.

The lab tests use a lab of their own with three hosts (west, east, north) on a bridge. The host
kernel has no ESP, so connections are `routed` or `present`: a ping through a trap policy
establishes the IKE SA, and the Child SA is rejected by the kernel.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab import PROTECTED_SUBNETS, Lab, ansible_environment

REPOSITORY = Path(__file__).resolve().parents[2]
ROLE = REPOSITORY / "roles" / "libreswan"
CALLBACK_PLUGINS = Path(__file__).resolve().parent / "callback_plugins"
# The role's filters, wherever they live: in the collection's plugins/filter/ or in the role.
FILTER_FILES = (REPOSITORY / "plugins" / "filter" / "libreswan_role.py", ROLE / "filter_plugins" / "libreswan.py")

MASTER = "role-test-master-key-not-for-production-0123456789"
S2S_SECRET = "role-test-subnet-psk-0123456789abcdef"
S2S = "west-east-subnets"
PLAYBOOK_TIMEOUT = 600

PLAYBOOK = """\
- name: Converge the libreswan role
  hosts: lab
  gather_facts: false
  roles:
    - ipsec.libreswan.libreswan
"""


def filter_file() -> Path:
    for path in FILTER_FILES:
        if path.exists():
            return path
    raise AssertionError("the role's filter plugin is in none of %s" % ", ".join(str(path) for path in FILTER_FILES))


def filter_error():
    """Return ansible.errors.AnsibleFilterError, imported only when a test runs.

    Importing controller code switches ansible-core into controller mode for the whole
    process, which silences AnsibleModule warnings in module unit tests collected alongside.
    """
    from ansible.errors import AnsibleFilterError

    return AnsibleFilterError


def load_filters():
    spec = importlib.util.spec_from_file_location("libreswan_role_filters", filter_file())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def filters():
    return load_filters()


def hostvars(**members):
    return {name: dict(values) for name, values in members.items()}


# Filters


def test_mesh_names_match_on_both_ends(filters):
    variables = hostvars(west={"libreswan_mesh_address": "198.51.100.1"},
                         east={"libreswan_mesh_address": "198.51.100.2"},
                         north={"libreswan_mesh_address": "198.51.100.3"})
    members = ["west", "east", "north"]
    from_west = filters.mesh_connections(members, "west", variables, state="routed")
    from_east = filters.mesh_connections(members, "east", variables, state="routed")
    assert [item["name"] for item in from_west] == ["mesh-east-west", "mesh-north-west"]
    assert [item["name"] for item in from_east] == ["mesh-east-north", "mesh-east-west"]
    west_east = from_west[0]["definition"]
    assert west_east["left"] == "198.51.100.1"
    assert west_east["right"] == "198.51.100.2"
    assert west_east["leftid"] == "@west"
    assert west_east["rightid"] == "@east"
    assert west_east["authby"] == "secret"
    assert from_west[0]["selectors"] == ["@west", "@east"]


def test_mesh_skips_host_outside_group(filters):
    assert filters.mesh_connections(["west", "east"], "north", hostvars(west={}, east={}, north={})) == []


def test_mesh_up_initiated_by_first_name(filters):
    variables = hostvars(west={}, east={})
    west = filters.mesh_connections(["west", "east"], "west", variables, state="up")[0]
    east = filters.mesh_connections(["west", "east"], "east", variables, state="up")[0]
    assert (east["state"], east["initiate"]) == ("up", True)
    assert (west["state"], west["initiate"]) == ("routed", False)


def test_mesh_rejects_invalid_host_name(filters):
    with pytest.raises(filter_error(), match="libreswan_mesh_name"):
        filters.mesh_connections(["west", "bad:name"], "west", hostvars(west={}, **{"bad:name": {}}))


def test_mesh_accepts_renamed_host(filters):
    variables = hostvars(west={}, **{"bad:name": {"libreswan_mesh_name": "good"}})
    names = [item["name"] for item in filters.mesh_connections(["west", "bad:name"], "west", variables)]
    assert names == ["mesh-good-west"]


def test_mesh_rejects_colliding_names(filters):
    variables = hostvars(**{"a-b": {}, "c": {}, "a": {}, "b-c": {}})
    with pytest.raises(filter_error(), match="would both be named 'mesh-a-b-c'"):
        filters.mesh_connections(["a-b", "c", "a", "b-c"], "a", variables)


def test_mesh_rejects_keywords_it_sets(filters):
    with pytest.raises(filter_error(), match="rightid is set by the mesh"):
        filters.mesh_connections(["west", "east"], "west", hostvars(west={}, east={}), definition={"rightid": "@x"})


def test_mesh_cert_needs_nickname(filters):
    with pytest.raises(filter_error(), match="libreswan_mesh_cert"):
        filters.mesh_connections(["west", "east"], "west", hostvars(west={}, east={}), auth="cert")


def test_mesh_cert_definition(filters):
    variables = hostvars(west={"libreswan_mesh_cert": "west-cert"}, east={"libreswan_mesh_cert": "east-cert"})
    definition = filters.mesh_connections(["west", "east"], "west", variables, auth="cert")[0]["definition"]
    assert definition["leftcert"] == "west-cert"
    assert definition["leftid"] == "%fromcert"
    assert definition["rightca"] == "%same"
    assert "authby" not in definition


def test_mesh_psk_is_hmac_of_sorted_pair(filters):
    expected = hmac.new(MASTER.encode(), b"east|west", hashlib.sha256).hexdigest()
    assert filters.mesh_psk(MASTER, ["west", "east"]) == expected
    assert filters.mesh_psk(MASTER, ["east", "west"]) == expected
    assert filters.mesh_psk(MASTER + "x", ["east", "west"]) != expected


def test_mesh_psk_rejects_short_master(filters):
    with pytest.raises(filter_error()) as raised:
        filters.mesh_psk("short-master", ["east", "west"])
    assert "short-master" not in str(raised.value)
    assert "16 characters" in str(raised.value)


def test_plan_adds_auto_from_state(filters):
    plan = filters.connection_plan([
        {"name": "a", "definition": {"left": "198.51.100.1"}},
        {"name": "b", "state": "routed", "definition": {"left": "198.51.100.1"}},
        {"name": "c", "state": "present", "definition": {"left": "198.51.100.1", "auto": "ignore"}},
        {"name": "d", "state": "absent"},
    ])
    by_name = {entry["name"]: entry for entry in plan}
    assert by_name["a"]["definition"]["auto"] == "start"
    assert (by_name["a"]["load_state"], by_name["a"]["initiate"]) == ("present", True)
    assert by_name["b"]["definition"]["auto"] == "route"
    assert by_name["c"]["definition"]["auto"] == "ignore"
    assert "definition" not in by_name["d"]


def test_plan_contains_no_secret(filters):
    plan = filters.connection_plan([{"name": "a", "secret": {"selectors": [], "secret": S2S_SECRET}}])
    assert S2S_SECRET not in json.dumps(plan)
    assert plan[0]["has_secret"] is True


def test_plan_requires_secret_selectors(filters):
    with pytest.raises(filter_error(), match="secret.selectors is missing"):
        filters.connection_plan([{"name": "a", "secret": {"secret": S2S_SECRET}}])


def test_plan_rejects_duplicate_names(filters):
    mesh = [{"name": "mesh-east-west", "state": "routed", "definition": {}, "pair": ["east", "west"],
             "selectors": [], "auth": "psk"}]
    with pytest.raises(filter_error(), match="already used by the mesh"):
        filters.connection_plan([{"name": "mesh-east-west"}], mesh)


def test_plan_rejects_invalid_state(filters):
    with pytest.raises(filter_error(), match="invalid state 'started'"):
        filters.connection_plan([{"name": "a", "state": "started"}])


def test_config_text_renders_setup_and_includes(filters):
    text = filters.config_text({"uniqueids": True, "plutodebug": "base tmi", "logfile": None},
                               ["/etc/ipsec.d/*.conf"], "4.10")
    assert "\nconfig setup\n\tplutodebug=\"base tmi\"\n\tuniqueids=yes\n\ninclude /etc/ipsec.d/*.conf\n" in text
    assert "logfile" not in text


def test_config_text_rejects_conn_keyword(filters):
    with pytest.raises(filter_error(), match="'left' is a conn keyword"):
        filters.config_text({"left": "198.51.100.1"}, [], "4.10")


def test_purge_list_skips_listed_connections(filters):
    import base64

    def slurped(path, name):
        text = "# Managed by the ipsec.libreswan Ansible collection (ipsec_connection).\nconn %s\n\tleft=x\n" % name
        return {"item": path, "source": path, "content": base64.b64encode(text.encode()).decode()}

    plan = [{"name": "kept", "state": "up"}]
    results = {"results": [slurped("/etc/ipsec.d/old.conf", "old"), slurped("/etc/ipsec.d/other.conf", "kept"),
                           slurped("/etc/ipsec.d/bad.conf", "-bad")]}
    assert filters.purge_list(results, plan) == [{"name": "old", "path": "/etc/ipsec.d/old.conf"}]
    assert filters.unlisted_files(["/etc/ipsec.d/kept.conf", "/etc/ipsec.d/old.conf"], plan) == ["/etc/ipsec.d/old.conf"]


# Converges in a lab


def role_environment(lab, extra=None) -> dict:
    env = ansible_environment(lab, extra)
    env["ANSIBLE_PIPELINING"] = "1"
    # Roles inside a collection do not load plugins from their own directory; while the filters
    # live in the role, Ansible finds them through this setting.
    role_filters = ROLE / "filter_plugins"
    if role_filters.is_dir():
        env["ANSIBLE_FILTER_PLUGINS"] = str(role_filters)
    return env


class Converge:
    """The outcome of one ansible-playbook run of the role: rc, output and, with JSON, tasks and stats."""

    def __init__(self, completed, document):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.plays = document["plays"] if document else []
        self.stats = document["stats"] if document else {}

    def changed(self, host=None) -> int:
        hosts = [host] if host else list(self.stats)
        return sum(self.stats[name]["changed"] for name in hosts)

    def failed(self) -> int:
        return sum(stats["failures"] + stats["unreachable"] for stats in self.stats.values())

    def changed_tasks(self, host) -> list:
        names = []
        for play in self.plays:
            for task in play["tasks"]:
                result = task["hosts"].get(host)
                if result and result.get("changed"):
                    # Role tasks are named "ipsec.libreswan.libreswan : NAME".
                    names.append(task["task"]["name"].split(" : ", 1)[-1])
        return names

    def __str__(self) -> str:
        return "ansible-playbook exited %d\nstderr:\n%s\nstdout:\n%s" % (self.rc, self.stderr[-3000:], self.stdout[-6000:])


def write_inventory(lab, members, connections: dict) -> Path:
    """Write an inventory beside the lab's: group `mesh` with `members`, each host's connections."""
    hosts = {}
    for host in lab:
        hosts[host.name] = {
            "libreswan_mesh_address": host.address,
            "libreswan_connections": connections.get(host.name, []),
        }
    document = {"all": {"hosts": hosts, "children": {"mesh": {"hosts": {name: {} for name in members}}}}}
    path = Path(lab.root) / "role-inventory.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def converge(lab, members, connections, purge=True, verbosity=0, diff=False, check=False, extra=None) -> Converge:
    """Run the role on every lab host: the mesh of `members` (state routed) plus `connections` by host."""
    inventory = write_inventory(lab, members, connections)
    variables = {
        # A lab host shares the machine's init system, so the role must not use systemd there.
        "libreswan_service_manager": "direct",
        "libreswan_mesh_group": "mesh" if members else "",
        "libreswan_mesh_state": "routed",
        "libreswan_mesh_psk_master": MASTER,
        "libreswan_purge": purge,
    }
    variables.update(extra or {})
    runs = Path(lab.root) / "ansible" / "role-runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = "%d-%d" % (os.getpid(), time.monotonic_ns())
    playbook = runs / ("converge-%s.yml" % stamp)
    playbook.write_text(PLAYBOOK)
    variables_path = runs / ("vars-%s.json" % stamp)
    variables_path.write_text(json.dumps(variables))
    result_path = runs / ("result-%s.json" % stamp)

    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory_path),
               "-i", str(inventory), "--extra-vars", "@%s" % variables_path, str(playbook)]
    if verbosity:
        command.append("-" + "v" * verbosity)
    if diff:
        command.append("--diff")
    if check:
        command.append("--check")
    extra_env = {}
    if not verbosity:
        extra_env = {"ANSIBLE_STDOUT_CALLBACK": "lab_json", "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
                     "LAB_PLAYBOOK_RESULT": str(result_path)}
    completed = subprocess.run(command, capture_output=True, text=True, env=role_environment(lab, extra_env),
                               cwd=str(runs), timeout=PLAYBOOK_TIMEOUT, check=False)
    document = json.loads(result_path.read_text()) if result_path.exists() else None
    return Converge(completed, document)


def s2s_connections() -> dict:
    definition = {
        "left": "198.51.100.1",
        "leftid": "@west-net",
        "leftsubnet": "203.0.113.0/28",
        "right": "198.51.100.2",
        "rightid": "@east-net",
        "rightsubnet": "203.0.113.128/28",
        "authby": "secret",
    }
    secret = {"selectors": ["@west-net", "@east-net"], "secret": S2S_SECRET}
    return {
        "west": [{"name": S2S, "state": "routed", "definition": definition, "secret": secret}],
        "east": [{"name": S2S, "state": "present", "definition": definition, "secret": secret}],
    }


def serials(host) -> dict:
    """Return {connection: conn serial} of the connections pluto on `host` has loaded."""
    matches = re.finditer(r'"([^"]+)":.* conn serial: \$(\d+)', host.status())
    return {match.group(1): int(match.group(2)) for match in matches}


def ike_serials(host, conn) -> list:
    """Return the serials of the established IKE SAs of `conn` on `host` (4.x status format)."""
    pattern = r'#(\d+): "%s":\S* STATE_V2_ESTABLISHED_IKE_SA' % re.escape(conn)
    return [int(serial) for serial in re.findall(pattern, host.status())]


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def mesh_names(members, host):
    return sorted("mesh-%s" % "-".join(sorted((host, other))) for other in members if other != host)


def secrets_of_run(lab) -> list:
    """Return every secret a converge hands to pluto: the master key, each pair's PSK and the s2s PSK."""
    names = [host.name for host in lab]
    psks = [hmac.new(MASTER.encode(), ("%s|%s" % tuple(sorted((a, b)))).encode(), hashlib.sha256).hexdigest()
            for index, a in enumerate(names) for b in names[index + 1:]]
    return [MASTER, S2S_SECRET] + psks


@pytest.fixture(scope="module")
def mesh_lab(lab_available):
    with Lab(hosts=("west", "east", "north"), subnets=PROTECTED_SUBNETS) as lab:
        yield lab


@pytest.fixture
def clean_mesh_lab(mesh_lab):
    mesh_lab.reset(restart=True)
    return mesh_lab


ALL = ("west", "east", "north")


@pytest.mark.lab
def test_converge_then_nothing_changes(clean_mesh_lab):
    lab = clean_mesh_lab
    pids = {host.name: host.pluto_pid for host in lab}
    # uniqueids=yes is the default, so the effective config setup stays the same and pluto keeps running.
    setup = {"libreswan_config_setup": {"uniqueids": True}}
    first = converge(lab, ALL, s2s_connections(), extra=setup)
    assert first.rc == 0, first
    assert first.failed() == 0, first
    for host in lab:
        expected = mesh_names(ALL, host.name) + ([S2S] if host.name in ("west", "east") else [])
        assert sorted(host.connection_names()) == expected, host.status()
        for name in expected:
            assert host.path("ipsec.d/%s.secrets" % name).stat().st_mode & 0o777 == 0o600
        assert "\tuniqueids=yes\n" in host.read_file("ipsec.conf")
        # The lab's hosts have Libreswan, an NSS database and a running pluto: none is touched.
        assert host.pluto_running()
        assert host.pluto_pid == pids[host.name]
        touched = [name for name in first.changed_tasks(host.name)
                   if re.search(r"pluto|package|NSS", name, re.IGNORECASE)]
        assert touched == []
    assert "prospective erouted" in re.search(r'"%s":.*' % S2S, lab["west"].status()).group(0)
    assert "unrouted" in re.search(r'"%s":.*' % S2S, lab["east"].status()).group(0)
    before = {host.name: serials(host) for host in lab}

    second = converge(lab, ALL, s2s_connections(), extra=setup)
    assert second.rc == 0, second
    for host in lab:
        assert second.changed(host.name) == 0, (host.name, second.changed_tasks(host.name))
        assert serials(host) == before[host.name]


@pytest.mark.lab
def test_purge_removes_only_unlisted(clean_mesh_lab):
    lab = clean_mesh_lab
    run = converge(lab, ALL, s2s_connections())
    assert run.rc == 0, run
    west, east = lab["west"], lab["east"]
    # The first packet through the trap policy brings up the IKE SA of mesh-east-west.
    west.run(["ping", "-c", "1", "-W", "1", east.address], check=False)
    assert wait_for(lambda: ike_serials(west, "mesh-east-west")), west.status()
    ike_before = ike_serials(west, "mesh-east-west")
    before = {host.name: serials(host) for host in lab}

    purged = converge(lab, ALL, {})
    assert purged.rc == 0, purged
    for host in (west, east):
        assert S2S not in host.connection_names()
        assert not host.path("ipsec.d/%s.conf" % S2S).exists()
        assert not host.path("ipsec.d/%s.secrets" % S2S).exists()
        after = serials(host)
        expected = {name: serial for name, serial in before[host.name].items() if name != S2S}
        assert after == expected
    assert serials(lab["north"]) == before["north"]
    assert ike_serials(west, "mesh-east-west") == ike_before


@pytest.mark.lab
def test_added_host_adds_only_its_connections(clean_mesh_lab):
    lab = clean_mesh_lab
    two = converge(lab, ("west", "east"), s2s_connections())
    assert two.rc == 0, two
    assert lab["north"].connection_names() == []
    before = {host.name: serials(host) for host in lab}

    predicted = converge(lab, ALL, s2s_connections(), check=True)
    assert predicted.rc == 0, predicted
    assert predicted.changed("north") > 0
    for host in lab:
        assert serials(host) == before[host.name], "check mode changed nothing in pluto"
    assert not lab["west"].path("ipsec.d/mesh-north-west.conf").exists()

    three = converge(lab, ALL, s2s_connections())
    assert three.rc == 0, three
    for host in lab:
        after = serials(host)
        added = sorted(set(after) - set(before[host.name]))
        assert added == [name for name in mesh_names(ALL, host.name) if "north" in name]
        assert {name: after[name] for name in before[host.name]} == before[host.name]


@pytest.mark.lab
def test_no_secret_in_verbose_output(clean_mesh_lab):
    lab = clean_mesh_lab
    run = converge(lab, ALL, s2s_connections(), verbosity=3, diff=True)
    assert run.rc == 0, run
    assert "failed=0" in run.stdout
    output = run.stdout + run.stderr
    for secret in secrets_of_run(lab):
        assert secret not in output
    psk = secrets_of_run(lab)[2]
    assert psk in lab["west"].read_file("ipsec.d/mesh-east-west.secrets")


@pytest.mark.lab
def test_invalid_config_setup_changes_nothing(clean_mesh_lab):
    lab = clean_mesh_lab
    before = lab["west"].read_file("ipsec.conf")
    run = converge(lab, ALL, {}, extra={"libreswan_config_setup": {"rightsubnet": "203.0.113.0/28"}})
    assert run.rc != 0
    assert "'rightsubnet' is a conn keyword" in run.stdout
    assert lab["west"].read_file("ipsec.conf") == before
    assert lab["west"].connection_names() == []


@pytest.mark.lab
def test_direct_mode_starts_pluto(lab_available):
    with Lab(hosts=("solo",), ipv6=False, start=False) as lab:
        host = lab["solo"]
        variables = {"libreswan_direct_logfile": str(host.dir / "role-pluto.log")}
        first = converge(lab, (), {}, extra=variables)
        assert first.rc == 0, first
        assert "Start pluto, which detaches and loads the connections marked auto=" in first.changed_tasks("solo")
        assert host.run(["ipsec", "whack", "--status"], check=False).returncode == 0
        pid = host.run(["cat", "/run/pluto/pluto.pid"]).stdout.strip()

        second = converge(lab, (), {}, extra=variables)
        assert second.rc == 0, second
        assert second.changed("solo") == 0, second.changed_tasks("solo")
        assert host.run(["cat", "/run/pluto/pluto.pid"]).stdout.strip() == pid
