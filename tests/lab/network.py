"""Network namespaces and links of a lab, built with iproute2.

Every link is created directly inside lab namespaces, so the machine's own namespace never
contains a lab interface. No namespace gets a default route, a route out or NAT: the hosts reach
only each other.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time

from .commands import LabError, run_command

__all__ = [
    "LINK_NAME",
    "SUBNET_LINK_NAME",
    "BRIDGE_NAME",
    "add_namespace",
    "delete_namespace",
    "namespace_exists",
    "namespace_pids",
    "list_namespaces",
    "connect_pair",
    "connect_bridge",
    "configure_host",
    "wait_until_up",
    "default_routes",
]

# Interface names inside each host namespace.
LINK_NAME = "eth0"
SUBNET_LINK_NAME = "lan0"
BRIDGE_NAME = "br0"
NETNS_DIR = "/run/netns"


def ip(*args: str, check: bool = True):
    return run_command(["ip", *args], check=check)


def list_namespaces() -> list:
    """Return the names of all named network namespaces (those under /run/netns)."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def namespace_exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def add_namespace(name: str) -> None:
    """Create namespace `name` with loopback up and IPv6 duplicate address detection off."""
    if namespace_exists(name):
        raise LabError("network namespace %s already exists" % name)
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    # Links created later in this namespace copy the "default" settings, so their IPv6
    # addresses are usable at once instead of staying tentative for a second or more. A kernel
    # without IPv6 has no such settings, which is fine for a lab without IPv6.
    keys = ["net.ipv6.conf.%s.accept_dad=0" % key for key in ("all", "default")]
    ip("netns", "exec", name, "sysctl", "-q", "-w", *keys, check=False)


def delete_namespace(name: str) -> None:
    if namespace_exists(name):
        ip("netns", "delete", name)


def namespace_pids(name: str) -> list:
    """Return the ids of the processes that run in namespace `name`."""
    if not namespace_exists(name):
        return []
    completed = ip("netns", "pids", name, check=False)
    return [int(word) for word in completed.stdout.split() if word.isdigit()]


# Interface indexes of the lab links. Linux processes link events at most once a second
# unless they are urgent, and a link event counts as urgent only when the link's index differs
# from its peer's (linkwatch_urgent_event in net/core/link_watch.c). Two fresh namespaces give
# index 2 to their first veth, so without explicit indexes a host's link stayed in operational
# state DOWN for 0.7 to 1 s here. Host number i gets HOST_INDEX_BASE + i, and the bridge side
# of its link gets BRIDGE_INDEX_BASE + i.
HOST_INDEX_BASE = 100
BRIDGE_INDEX_BASE = 1100


def connect_pair(first: str, second: str) -> None:
    """Join two namespaces with one veth pair named LINK_NAME at both ends."""
    ip(
        "link",
        "add",
        LINK_NAME,
        "index",
        str(HOST_INDEX_BASE + 1),
        "netns",
        first,
        "type",
        "veth",
        "peer",
        "name",
        LINK_NAME,
        "index",
        str(HOST_INDEX_BASE + 2),
        "netns",
        second,
    )


def connect_bridge(bridge_namespace: str, hosts: dict) -> None:
    """Join the namespaces in `hosts` ({host name: namespace}) to one bridge.

    The bridge lives in `bridge_namespace`; each host's end of its veth pair is LINK_NAME and the
    bridge's end is named after the host.
    """
    ip("-n", bridge_namespace, "link", "add", BRIDGE_NAME, "type", "bridge")
    ip("-n", bridge_namespace, "link", "set", BRIDGE_NAME, "up")
    for number, (host, namespace) in enumerate(hosts.items(), start=1):
        ip(
            "link",
            "add",
            LINK_NAME,
            "index",
            str(HOST_INDEX_BASE + number),
            "netns",
            namespace,
            "type",
            "veth",
            "peer",
            "name",
            host,
            "index",
            str(BRIDGE_INDEX_BASE + number),
            "netns",
            bridge_namespace,
        )
        ip("-n", bridge_namespace, "link", "set", host, "master", BRIDGE_NAME, "up")


def configure_host(namespace: str, addresses: list, subnet_addresses: list) -> None:
    """Put `addresses` on LINK_NAME and `subnet_addresses` on SUBNET_LINK_NAME, all up.

    Each address is an interface address in CIDR form, such as 198.51.100.1/24. A host alone
    in its lab has no LINK_NAME and gets no `addresses`.
    """
    if addresses:
        for address in addresses:
            add_address(namespace, address, LINK_NAME)
        ip("-n", namespace, "link", "set", LINK_NAME, "up")
    if subnet_addresses:
        # A veth pair with both ends in the host replaces a dummy link, because some
        # kernels (such as this project's CI kernel) are built without the dummy driver.
        peer = SUBNET_LINK_NAME + "p"
        ip("-n", namespace, "link", "add", SUBNET_LINK_NAME, "type", "veth", "peer", "name", peer)
        for address in subnet_addresses:
            add_address(namespace, address, SUBNET_LINK_NAME)
        ip("-n", namespace, "link", "set", peer, "up")
        ip("-n", namespace, "link", "set", SUBNET_LINK_NAME, "up")


def wait_until_up(namespace: str, devices: list, timeout: float = 5.0) -> None:
    """Wait until every device in `devices` has operational state UP (carrier on)."""
    deadline = time.monotonic() + timeout
    while True:
        links = json.loads(ip("-j", "-n", namespace, "link", "show").stdout)
        states = {link["ifname"]: link.get("operstate") for link in links}
        if all(states.get(device) == "UP" for device in devices):
            return
        if time.monotonic() > deadline:
            raise LabError("links of %s are not up after %gs: %s" % (namespace, timeout, states))
        time.sleep(0.02)


def add_address(namespace: str, address: str, device: str) -> None:
    interface = ipaddress.ip_interface(address)
    flags = ["nodad"] if interface.version == 6 else []
    ip("-n", namespace, "addr", "add", str(interface), "dev", device, *flags)


def default_routes(namespace: str) -> list:
    """Return the IPv4 and IPv6 default routes of `namespace`, one line each."""
    lines = []
    for family in ("-4", "-6"):
        completed = ip(family, "-n", namespace, "route", "show", "default")
        lines.extend(line for line in completed.stdout.splitlines() if line.strip())
    return lines
