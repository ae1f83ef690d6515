#!/usr/bin/env bash
# Install everything the demo and the tests need on a fresh Debian 12 machine (run as root):
# Libreswan 4.10 and lab tools from Debian, and a Python virtual environment with ansible-core
# and the test tools in .venv. Safe to run again: each step is skipped when already done.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

apt_packages=(libreswan iproute2 iputils-ping tcpdump procps util-linux user-mode-linux kmod)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    # policy-rc.d keeps the package from starting a pluto on the host itself.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
fi

# ansible-core 2.20 and later need Python 3.12 on the controller; 2.19 is the last for 3.11.
python=""
for candidate in python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python=$(command -v "$candidate")
        break
    fi
done
if [ -z "$python" ]; then
    echo "bootstrap: no Python 3.11 or newer found; install python3 (3.11+) and run again" >&2
    exit 1
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: creating .venv with $python"
    "$python" -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
    echo "$want" > "$stamp"
fi

# ansible finds the collection through this path, which points back at the work tree.
mkdir -p .build/collections/ansible_collections/ipsec
ln -sfn "$top" .build/collections/ansible_collections/ipsec/libreswan
mkdir -p /run/pluto
