"""Probe whether this kernel can install ESP SAs, which a Child SA needs.

A kernel with XFRM but without ESP (CONFIG_INET_ESP) lets IKE SAs establish, but pluto's
"Add SA" fails with errno 38 (Function not implemented), so tunnels never carry traffic.
"""

from __future__ import annotations

import functools
import os

from . import network, registry
from .commands import run_command

__all__ = ["esp_probe", "esp_supported"]

# One SA per transform that Libreswan's default ESP proposals use: AES-GCM first, then AES-CBC
# with HMAC-SHA2. The keys are random bytes; the SAs exist only in a scratch namespace.
TRANSFORMS = {
    "aes_gcm": lambda: ["aead", "rfc4106(gcm(aes))", "0x" + os.urandom(20).hex(), "128"],
    "aes_cbc-sha2_256": lambda: [
        "enc",
        "cbc(aes)",
        "0x" + os.urandom(16).hex(),
        "auth-trunc",
        "hmac(sha256)",
        "0x" + os.urandom(32).hex(),
        "128",
    ],
}


def esp_probe() -> dict:
    """Try to add one ESP SA per transform in a scratch namespace and return {transform: error or None}.

    None means the kernel accepted the SA. Raises LabError when the namespace cannot be made
    (not root, no `ip netns`).
    """
    lab_id = registry.new_lab_id()
    namespace = registry.namespace_name(lab_id, "esp")
    record = {
        "id": lab_id,
        "root": None,
        "namespaces": [namespace],
        "processes": {},
        "owner_pid": os.getpid(),
        "owner_start": registry.process_start_time(os.getpid()),
    }
    registry.save_record(record)
    results = {}
    try:
        network.add_namespace(namespace)
        for spi, (name, transform) in enumerate(TRANSFORMS.items(), start=0x1000):
            completed = run_command(
                [
                    "ip",
                    "-n",
                    namespace,
                    "xfrm",
                    "state",
                    "add",
                    "src",
                    "198.51.100.1",
                    "dst",
                    "198.51.100.2",
                    "proto",
                    "esp",
                    "spi",
                    hex(spi),
                    "reqid",
                    "1",
                    "mode",
                    "tunnel",
                    *transform(),
                ],
                check=False,
            )
            results[name] = (
                None if completed.returncode == 0 else (completed.stderr.strip() or "exit %d" % completed.returncode)
            )
    finally:
        registry.destroy_record(record)
    return results


@functools.lru_cache(maxsize=None)
def esp_supported() -> bool:
    """Return True when the kernel accepts ESP SAs with AES-GCM and with AES-CBC; cached per process.

    Returns False, without raising, when the probe itself cannot run.
    """
    try:
        results = esp_probe()
    except Exception:  # noqa: BLE001 - any failure to probe means ESP cannot be used here
        return False
    return all(error is None for error in results.values())
