"""The Ansible inventory and environment that run modules inside lab hosts.

Every host uses the local connection with `ansible_python_interpreter` set to the host's
`python-<host>` script, which runs /usr/bin/python3 through the host's wrapper. Modules
therefore run inside the host's namespace and see its /etc/ipsec.* and its pluto.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

__all__ = ["render_inventory", "ansible_environment", "COLLECTIONS_PATH"]

REPOSITORY = Path(__file__).resolve().parents[2]
COLLECTIONS_PATH = REPOSITORY / ".build" / "collections"


def _networks(addresses) -> list:
    return [str(ipaddress.ip_interface(address).network) for address in addresses]


def host_variables(lab, host) -> dict:
    """Return the inventory variables of `host`; `lab_peer` is the next host, wrapping around."""
    names = list(lab.hosts)
    others = [name for name in names if name != host.name]
    peer = lab.hosts[names[(names.index(host.name) + 1) % len(names)]] if others else None
    variables = {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(host.python),
        "lab_namespace": host.namespace,
        "lab_address": host.address,
        "lab_address6": host.address6,
        "lab_subnets": _networks(host.subnets),
        "lab_peers": others,
        "lab_libreswan_version": host.installation.version,
    }
    if peer is not None:
        variables.update(
            {
                "lab_peer": peer.name,
                "lab_peer_address": peer.address,
                "lab_peer_address6": peer.address6,
                "lab_peer_subnets": _networks(peer.subnets),
            }
        )
    return variables


def render_inventory(lab) -> str:
    """Return a YAML inventory with every lab host in group `lab`; values are JSON scalars, valid YAML."""
    lines = [
        "# Inventory of lab %s (%s), written by tests.lab." % (lab.id, lab.root),
        "all:",
        "  children:",
        "    lab:",
        "      vars:",
        "        lab_id: %s" % json.dumps(lab.id),
        "        lab_root: %s" % json.dumps(str(lab.root)),
        "      hosts:",
    ]
    for host in lab.hosts.values():
        lines.append("        %s:" % host.name)
        for key, value in host_variables(lab, host).items():
            lines.append("          %s: %s" % (key, json.dumps(value)))
    return "\n".join(lines) + "\n"


def ansible_environment(lab, extra: dict | None = None) -> dict:
    """Return os.environ plus the settings for running Ansible against `lab`.

    ANSIBLE_UNSAFE_WRITES=1 is set because /etc/ipsec.conf and /etc/ipsec.secrets are bind
    mounts inside a lab host, where atomic_move's rename fails with EBUSY; Ansible then writes
    the file in place. Files under /etc/ipsec.d are renamed as on a real host.
    """
    ansible_dir = Path(lab.root) / "ansible"
    (ansible_dir / "local").mkdir(parents=True, exist_ok=True)
    (ansible_dir / "remote").mkdir(parents=True, exist_ok=True)
    config = ansible_dir / "ansible.cfg"
    if not config.exists():
        config.write_text("[defaults]\n")
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(config),
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_INVENTORY": str(Path(lab.root) / "inventory.yml"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(ansible_dir / "local"),
            "ANSIBLE_REMOTE_TMP": str(ansible_dir / "remote"),
            "ANSIBLE_UNSAFE_WRITES": "1",
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
        }
    )
    env.pop("ANSIBLE_FORCE_COLOR", None)
    if extra:
        env.update(extra)
    return env
