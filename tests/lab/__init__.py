"""A test lab: network namespaces that act as Libreswan hosts, each with its own pluto.

See lab.py for the Lab class, host.py for how a command runs "on a host", traffic.py and xfrm.py
for pings, packet captures and the kernel's SAs and policies, and `python -m tests.lab --help`
for the command line.
"""

from .commands import CommandFailed, LabError
from .esp import esp_probe, esp_supported
from .host import DEFAULT_CONFIG, DEFAULT_SECRETS, Host
from .installations import Installation, InstallationError, system_installation
from .inventory import ansible_environment
from .lab import DEFAULT_SUBNET, DEFAULT_SUBNET6, PROTECTED_SUBNETS, Lab
from .registry import cleanup
from .traffic import PacketCapture, PingResult, ping
from .xfrm import XfrmPolicy, XfrmState, xfrm_policies, xfrm_states

__all__ = [
    "Lab",
    "Host",
    "Installation",
    "InstallationError",
    "LabError",
    "CommandFailed",
    "PROTECTED_SUBNETS",
    "DEFAULT_SUBNET",
    "DEFAULT_SUBNET6",
    "DEFAULT_CONFIG",
    "DEFAULT_SECRETS",
    "ansible_environment",
    "cleanup",
    "esp_probe",
    "esp_supported",
    "system_installation",
    "ping",
    "PingResult",
    "PacketCapture",
    "xfrm_states",
    "xfrm_policies",
    "XfrmState",
    "XfrmPolicy",
]
