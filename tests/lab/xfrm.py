"""The kernel's IPsec state of a lab host: XFRM states (SAs) and policies, parsed from iproute2.

`ip -s xfrm state` and `ip xfrm policy` print one block per entry: a first line in column 0
(`src A dst B`) and indented lines after it. Only the fields the tests compare are kept; keys
are never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .commands import run_command

__all__ = ["XfrmState", "XfrmPolicy", "xfrm_states", "xfrm_policies", "parse_xfrm_states", "parse_xfrm_policies"]

_SELECTOR_RE = re.compile(r"^src (\S+) dst (\S+)\s*(.*)$")
_ID_RE = re.compile(r"^proto (\S+) spi (0x[0-9a-f]+)(?:\(\d+\))? reqid (\d+)(?:\(0x[0-9a-f]+\))? mode (\S+)")
# Algorithm lines: "aead rfc4106(gcm(aes)) 0xKEY 128", "enc cbc(aes) 0xKEY", "auth-trunc hmac(sha256) 0xKEY 128".
_ALGORITHM_RE = re.compile(r"^(aead|enc|auth|auth-trunc|comp) (\S+)")
_CURRENT_RE = re.compile(r"^(\d+)\(bytes\), (\d+)\(packets\)")
_DIRECTION_RE = re.compile(r"^(dir|socket) (in|out|fwd)\b")
_TEMPLATE_RE = re.compile(r"^tmpl src (\S+) dst (\S+)")
_TEMPLATE_ID_RE = re.compile(r"^proto (\S+) reqid (\d+) mode (\S+)")


@dataclass
class XfrmState:
    """One SA. `spi` 0 marks a larval state that the kernel made for an ACQUIRE; it carries no keys.

    `algorithms` maps the kind (aead, enc, auth-trunc) to the kernel's algorithm name, for example
    {"aead": "rfc4106(gcm(aes))"}. `bytes` and `packets` are the "lifetime current" counters, which
    only `ip -s` prints; they are None without it.
    """

    src: str
    dst: str
    proto: str = ""
    spi: int = 0
    reqid: int = 0
    mode: str = ""
    algorithms: dict = field(default_factory=dict)
    bytes: int | None = None
    packets: int | None = None

    @property
    def larval(self) -> bool:
        return self.spi == 0


@dataclass
class XfrmPolicy:
    """One policy: its selector, direction and, for IPsec policies, the template's fields.

    `selector_rest` is what the selector line has after the addresses, such as
    "proto ipv6-icmp type 135", or an empty string. `direction` is in, out or fwd; `socket` is True for per-socket policies, such as the ones pluto
    sets on its IKE sockets. `template` is None for policies without `tmpl`, otherwise a dict with
    src, dst, proto, reqid and mode. A trap policy (`routed` connection) has a template with
    addresses 0.0.0.0 or ::, reqid 0 and mode transport.
    """

    src: str
    dst: str
    selector_rest: str = ""
    direction: str = ""
    socket: bool = False
    template: dict | None = None


def _blocks(text: str) -> list:
    blocks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            blocks.append([line.strip()])
        elif blocks:
            blocks[-1].append(line.strip())
    return blocks


def parse_xfrm_states(text: str) -> list:
    """Parse the output of `ip xfrm state` or `ip -s xfrm state` into XfrmState objects."""
    states = []
    for block in _blocks(text):
        selector = _SELECTOR_RE.match(block[0])
        if selector is None:
            continue
        state = XfrmState(src=selector.group(1), dst=selector.group(2))
        current = False
        for line in block[1:]:
            identity = _ID_RE.match(line)
            algorithm = _ALGORITHM_RE.match(line)
            counters = _CURRENT_RE.match(line)
            if identity:
                state.proto = identity.group(1)
                state.spi = int(identity.group(2), 16)
                state.reqid = int(identity.group(3))
                state.mode = identity.group(4)
            elif algorithm:
                state.algorithms[algorithm.group(1)] = algorithm.group(2)
            elif line.startswith("lifetime current:"):
                current = True
            elif current and counters:
                state.bytes = int(counters.group(1))
                state.packets = int(counters.group(2))
                current = False
        states.append(state)
    return states


def parse_xfrm_policies(text: str) -> list:
    """Parse the output of `ip xfrm policy` into XfrmPolicy objects."""
    policies = []
    for block in _blocks(text):
        selector = _SELECTOR_RE.match(block[0])
        if selector is None:
            continue
        policy = XfrmPolicy(src=selector.group(1), dst=selector.group(2), selector_rest=selector.group(3).strip())
        for line in block[1:]:
            direction = _DIRECTION_RE.match(line)
            template = _TEMPLATE_RE.match(line)
            template_id = _TEMPLATE_ID_RE.match(line)
            if direction:
                policy.socket = direction.group(1) == "socket"
                policy.direction = direction.group(2)
            elif template:
                policy.template = {"src": template.group(1), "dst": template.group(2)}
            elif template_id and policy.template is not None:
                policy.template.update(
                    proto=template_id.group(1), reqid=int(template_id.group(2)), mode=template_id.group(3)
                )
        policies.append(policy)
    return policies


def xfrm_states(host) -> list:
    """Return the SAs in `host`'s namespace, with their byte and packet counters."""
    return parse_xfrm_states(run_command(["ip", "-n", host.namespace, "-s", "xfrm", "state"]).stdout)


def xfrm_policies(host) -> list:
    """Return the policies in `host`'s namespace."""
    return parse_xfrm_policies(run_command(["ip", "-n", host.namespace, "xfrm", "policy"]).stdout)
