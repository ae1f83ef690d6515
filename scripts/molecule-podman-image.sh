#!/usr/bin/env bash
# Prepare this machine for the molecule podman scenario (run as root on Debian 12):
#   1. install podman, runc, catatonit, netavark and debootstrap from Debian when missing;
#   2. build the scenario's image with debootstrap and `podman import`, unless it exists;
#   3. create the scenario's podman network (internal, no DNS, 198.51.100.0/24), unless it exists.
# `scripts/molecule-podman-image.sh --remove` removes the network and the image again.
# podman reads molecule/podman/containers.conf and registries.conf instead of /etc/containers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
image=${MOLECULE_PODMAN_IMAGE:-localhost/ipsec-libreswan-molecule:bookworm}
network=${MOLECULE_PODMAN_NETWORK:-ipsec-libreswan-molecule}
subnet=198.51.100.0/24
suite=bookworm
export CONTAINERS_CONF="$top/molecule/podman/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$top/molecule/podman/registries.conf"

if [ "${1:-}" = "--remove" ]; then
    if command -v podman >/dev/null 2>&1; then
        podman network exists "$network" && podman network rm "$network"
        podman image exists "$image" && podman image rm "$image"
    fi
    exit 0
fi

packages=(podman runc catatonit netavark debootstrap)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "molecule-podman: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! podman image exists "$image"; then
    # The mirror this machine's apt uses, so debootstrap needs no other host.
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /var/tmp/ipsec-libreswan-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    echo "molecule-podman: building $image from $suite ($mirror)"
    started=$(date +%s)
    # bind9-host is named because libreswan depends on the virtual package `host`.
    debootstrap --variant=minbase \
        --include=python3,python3-apt,libreswan,bind9-host,iproute2,iputils-ping,procps \
        "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }
    rm -f "$rootfs.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["sleep", "infinity"]' - "$image" >/dev/null
    echo "molecule-podman: $image built in $(( $(date +%s) - started ))s"
fi

if ! podman network exists "$network"; then
    podman network create --internal --disable-dns --subnet "$subnet" "$network" >/dev/null
    echo "molecule-podman: created network $network ($subnet, internal, no DNS)"
fi
