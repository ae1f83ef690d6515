"""A lab of Libreswan hosts in network namespaces, each with its own pluto.

    with Lab(hosts=("west", "east"), subnets=PROTECTED_SUBNETS) as lab:
        lab["west"].write_config(...)
        lab["west"].run(["ipsec", "auto", "--add", "conn"])

Two hosts share one veth pair; with more hosts, every host joins a bridge that lives in a
namespace of its own. Host number i (from 1) gets address i of the lab subnet and of the IPv6
subnet. Teardown runs on leaving the `with` block, at interpreter exit and on SIGINT, SIGTERM
and SIGHUP; `python -m tests.lab cleanup` removes what a killed process left behind.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from . import inventory, network, registry
from .commands import LabError
from .host import NSS_DIR, RUN_DIR, Host
from .installations import Installation, system_installation

__all__ = ["Lab", "PROTECTED_SUBNETS", "DEFAULT_SUBNET", "DEFAULT_SUBNET6"]

log = logging.getLogger("tests.lab")

DEFAULT_SUBNET = "198.51.100.0/24"
DEFAULT_SUBNET6 = "2001:db8:0:1::/64"

# Interface addresses of the protected subnets behind each host, for subnet-to-subnet
# connections: west has 203.0.113.0/28, 203.0.113.16/28 and 2001:db8:1::/64, east has
# 203.0.113.128/28 and 2001:db8:2::/64.
PROTECTED_SUBNETS = {
    "west": ("203.0.113.1/28", "203.0.113.17/28", "2001:db8:1::1/64"),
    "east": ("203.0.113.129/28", "2001:db8:2::1/64"),
}

HOST_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
BRIDGE_HOST = "bridge"
# Only these ranges are used for lab hosts: the documentation ranges of RFC 5737 and RFC 3849.
ALLOWED_NETWORKS = [
    ipaddress.ip_network(network_text) for network_text in ("198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


class Lab:
    """Network namespaces that act as Libreswan hosts, built on construction.

    `hosts` are the inventory names. `subnet` and `subnet6` are the lab link's networks;
    `ipv6=False` leaves IPv6 addresses off. `subnets` maps a host name to interface addresses
    (CIDR form) put on a second link in that host, such as PROTECTED_SUBNETS. `installation` is
    one Installation for every host or a dict by host name; the default is the system's. The
    lab's files go to `root` (a new directory under the temporary directory by default), which
    teardown removes unless `keep`. `start=False` leaves pluto stopped. `persistent` marks a lab
    left running on purpose, which `cleanup --stale` keeps.
    """

    def __init__(
        self,
        hosts=("west", "east"),
        subnet: str = DEFAULT_SUBNET,
        ipv6: bool = True,
        installation=None,
        subnets: dict | None = None,
        subnet6: str = DEFAULT_SUBNET6,
        root: str | os.PathLike | None = None,
        keep: bool = False,
        start: bool = True,
        persistent: bool = False,
    ):
        self.timings = {}
        self._torn_down = False
        host_names = _check_host_names(hosts)
        network4 = _check_network(subnet, 4)
        network6 = _check_network(subnet6, 6) if ipv6 else None
        subnets = dict(subnets or {})
        for host, addresses in subnets.items():
            if host not in host_names:
                raise ValueError("subnets names %r, which is not one of the hosts %s" % (host, ", ".join(host_names)))
            for address in addresses:
                _check_network(str(ipaddress.ip_interface(address).network), None)

        self.id = registry.new_lab_id()
        self.root = Path(root) if root is not None else None
        self.record = {
            "id": self.id,
            "root": None,
            "keep": keep,
            "persistent": persistent,
            "owner_pid": os.getpid(),
            "owner_start": registry.process_start_time(os.getpid()),
            "namespaces": [],
            "processes": {},
            "hosts": {},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        self.hosts = {}
        self.bridge_namespace = None
        registry.track(self)
        try:
            started = time.monotonic()
            self._create_root()
            for index, name in enumerate(host_names, start=1):
                self.hosts[name] = Host(
                    self,
                    name,
                    registry.namespace_name(self.id, name),
                    _nth_address(network4, index),
                    _nth_address(network6, index) if network6 else None,
                    subnets.get(name, ()),
                    _installation_for(installation, name),
                )
            self._build_network(network4, network6)
            self.timings["network"] = time.monotonic() - started
            started = time.monotonic()
            for host in self.hosts.values():
                host.prepare()
            self._save()
            self.inventory_path = self.write_inventory()
            self.timings["files"] = time.monotonic() - started
            if start:
                self.start_pluto()
        except BaseException as error:
            try:
                self.teardown()
            except LabError as teardown_error:
                log.error("cleaning up after a failed build of lab %s: %s", self.id, teardown_error)
            raise error

    # Access

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def __iter__(self):
        return iter(self.hosts.values())

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc_info) -> None:
        self.teardown()

    def __repr__(self) -> str:
        return "<Lab %s %s at %s>" % (self.id, ",".join(self.hosts), self.root)

    def host(self, name: str) -> Host:
        return self.hosts[name]

    @property
    def namespaces(self) -> list:
        return list(self.record["namespaces"])

    # Building

    def _create_root(self) -> None:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="lsw-lab-%s-" % self.id))
        else:
            self.root = self.root.resolve()
            if self.root.exists() and any(self.root.iterdir()):
                raise LabError("lab directory %s exists and is not empty; pass a new or empty directory" % self.root)
            self.root.mkdir(parents=True, exist_ok=True)
        (self.root / registry.MARKER_NAME).write_text(self.id + "\n")
        self.record["root"] = str(self.root)
        self._save()

    def _build_network(self, network4, network6) -> None:
        _create_mount_points()
        namespaces = [host.namespace for host in self.hosts.values()]
        if len(self.hosts) > 2:
            self.bridge_namespace = registry.namespace_name(self.id, BRIDGE_HOST)
            namespaces.append(self.bridge_namespace)
        # The record lists each namespace before it exists, so a crash leaves nothing unlisted.
        self.record["namespaces"] = namespaces
        self._save()
        for namespace in namespaces:
            network.add_namespace(namespace)

        hosts = list(self.hosts.values())
        if len(hosts) == 2:
            network.connect_pair(hosts[0].namespace, hosts[1].namespace)
        elif len(hosts) > 2:
            network.connect_bridge(self.bridge_namespace, {host.name: host.namespace for host in hosts})
        for host in hosts:
            addresses = ["%s/%d" % (host.address, network4.prefixlen)]
            if network6 is not None:
                addresses.append("%s/%d" % (host.address6, network6.prefixlen))
            network.configure_host(host.namespace, addresses if len(hosts) > 1 else [], host.subnets)
        for host in hosts:
            devices = []
            if len(hosts) > 1:
                devices.append(network.LINK_NAME)
            if host.subnets:
                devices.append(network.SUBNET_LINK_NAME)
            network.wait_until_up(host.namespace, devices)

    def _save(self) -> None:
        self.record["hosts"] = {
            host.name: {
                "namespace": host.namespace,
                "address": host.address,
                "address6": host.address6,
                "subnets": host.subnets,
                "wrapper": str(host.wrapper),
                "python": str(host.python),
                "version": host.installation.version,
            }
            for host in self.hosts.values()
        }
        registry.save_record(self.record)

    def record_process(self, host: str, pid: int) -> None:
        self.record["processes"][host] = {"pid": pid, "start_time": registry.process_start_time(pid)}
        self._save()

    def forget_process(self, host: str) -> None:
        self.record["processes"].pop(host, None)
        self._save()

    # pluto

    def start_pluto(self, hosts=None, timeout: float = 20) -> None:
        """Start pluto on `hosts` (all by default), all at once, and wait until `whack --status` succeeds on each."""
        started = time.monotonic()
        selected = [self.hosts[name] for name in (hosts or self.hosts)]
        for host in selected:
            host.launch_pluto()
        for host in selected:
            host.wait_for_pluto(timeout)
        self.timings["pluto_start"] = time.monotonic() - started

    def stop_pluto(self, hosts=None) -> None:
        for name in hosts or self.hosts:
            self.hosts[name].stop_pluto()

    def restart_pluto(self, host: str) -> None:
        self.hosts[host].restart_pluto()

    def reset(self, restart: bool = True) -> None:
        """Give every host the default files and a pluto without connections (see Host.reset).

        With `restart`, all plutos are stopped and then started together, which is faster
        than restarting them one after the other.
        """
        started = time.monotonic()
        if not restart:
            for host in self:
                host.reset(restart=False)
        else:
            for host in self:
                host.stop_pluto()
                host.reset_files()
                host.flush_kernel_state()
                host.rotate_log()
            self.start_pluto()
        self.timings["reset"] = time.monotonic() - started

    # Ansible

    def write_inventory(self, path: str | os.PathLike | None = None) -> Path:
        """Write a YAML inventory of the lab's hosts and return its path (LABROOT/inventory.yml by default)."""
        path = Path(path) if path is not None else self.root / "inventory.yml"
        path.write_text(inventory.render_inventory(self))
        return path

    # Teardown

    def teardown(self) -> None:
        """Stop every pluto, delete the namespaces and /etc/netns entries, remove the lab directory.

        Safe to call more than once. Raises LabError listing what could not be removed.
        """
        if self._torn_down:
            return
        started = time.monotonic()
        for host in list(self.hosts.values()):
            try:
                host.stop_pluto()
            except (LabError, OSError) as error:
                log.warning("stopping pluto on %s failed, killing it: %s", host.name, error)
        registry.destroy_record(self.record)
        self._torn_down = True
        registry.untrack(self)
        self.timings["teardown"] = time.monotonic() - started


def _create_mount_points() -> None:
    """Create the directories that every host's wrapper bind-mounts over, where they are missing.

    A freshly booted system can lack them: the UML guest's /run is an empty tmpfs, and /var/lib/ipsec/nss
    exists only once Libreswan's package has been installed.
    """
    for directory in (RUN_DIR, NSS_DIR):
        os.makedirs(directory, exist_ok=True)


def _check_host_names(hosts) -> list:
    names = list(hosts)
    if not names:
        raise ValueError("a lab needs at least one host")
    for name in names:
        if not HOST_NAME_RE.match(name) or name == BRIDGE_HOST:
            raise ValueError(
                "invalid host name %r: use a lowercase letter then up to 11 lowercase letters or digits, not %r"
                % (name, BRIDGE_HOST)
            )
    if len(set(names)) != len(names):
        raise ValueError("host names repeat: %s" % ", ".join(names))
    return names


def _check_network(text: str, version: int | None):
    value = ipaddress.ip_network(text, strict=True)
    if version is not None and value.version != version:
        raise ValueError("%s is not an IPv%d network" % (text, version))
    if not any(value.version == allowed.version and value.subnet_of(allowed) for allowed in ALLOWED_NETWORKS):
        raise ValueError("%s is outside the lab ranges 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32" % text)
    return value


def _nth_address(value, index: int) -> str:
    if index >= value.num_addresses - 1:
        raise ValueError("%s has no room for host number %d" % (value, index))
    return str(value[index])


def _installation_for(installation, host: str) -> Installation:
    if installation is None:
        return system_installation()
    if isinstance(installation, dict):
        return installation.get(host) or system_installation()
    return installation
