"""Prove that the guest kernel installs ESP SAs and carries traffic through them."""

from __future__ import annotations

import os

from .result import GuestCheckError, GuestResult
from .runner import PACKAGE_DIR, run_in_guest

__all__ = ["ESP_CHECK_SCRIPT", "esp_in_guest_check"]

ESP_CHECK_SCRIPT = os.path.join(PACKAGE_DIR, "esp_check.sh")


def esp_in_guest_check(timeout: float = 120, result_dir=None, **options) -> GuestResult:
    """Boot a guest and run esp_check.sh in it; return the result or raise GuestCheckError.

    The script adds two network namespaces joined by a veth pair, installs IPv4 and IPv6 ESP SAs
    with rfc4106(gcm(aes)) and tunnel-mode policies, and pings through them. `options` are passed
    on to run_in_guest.
    """
    result = run_in_guest(
        ["/bin/bash", ESP_CHECK_SCRIPT], timeout=timeout, result_dir=result_dir, **options
    )
    if result.returncode != 0:
        raise GuestCheckError(
            "ESP check failed in the guest with status %d:\n%s"
            % (result.returncode, result.output),
            result,
        )
    return result
