#!/usr/bin/env bash
# The molecule podman scenario on this machine (run as root on Debian 12, from any directory):
#
#   bash scripts/molecule-podman.sh            prepare, then `molecule test -s podman`
#   bash scripts/molecule-podman.sh prepare    only prepare
#   bash scripts/molecule-podman.sh remove     remove the scenario's network and image
#
# Preparing installs podman, runc, catatonit, netavark and debootstrap from Debian when they are
# missing. It builds the scenario's image with debootstrap and `podman import` and creates its
# podman network (internal, no DNS, 198.51.100.0/24), each unless it exists. podman reads
# molecule/podman/containers.conf and registries.conf, never /etc/containers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
image=localhost/ipsec-libreswan-molecule:bookworm
network=ipsec-libreswan-molecule
subnet=198.51.100.0/24
suite=bookworm
export CONTAINERS_CONF="$top/molecule/podman/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$top/molecule/podman/registries.conf"

install_tools() {
    local packages=(podman runc catatonit netavark debootstrap) missing=() package
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "molecule-podman: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

build_image() {
    podman image exists "$image" && return 0
    # The mirror this machine's apt uses, so debootstrap needs no other host.
    local mirror rootfs started
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /var/tmp/ipsec-libreswan-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
    echo "molecule-podman: building $image from $suite ($mirror)"
    started=$(date +%s)
    # bind9-host is named because libreswan depends on the virtual package `host`.
    if ! debootstrap --variant=minbase \
        --include=python3,python3-apt,libreswan,bind9-host,iproute2,iputils-ping,procps \
        "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
        tail -20 "$rootfs.log" >&2
        exit 1
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["sleep", "infinity"]' - "$image" >/dev/null 2>&1
    echo "molecule-podman: $image built in $(( $(date +%s) - started ))s"
}

create_network() {
    podman network exists "$network" && return 0
    podman network create --internal --disable-dns --subnet "$subnet" "$network" >/dev/null
    echo "molecule-podman: created network $network ($subnet, internal, no DNS)"
}

case "${1:-test}" in
    prepare)
        install_tools
        build_image
        create_network
        ;;
    test)
        install_tools
        build_image
        create_network
        cd "$top"
        PATH="$top/.venv/bin:$PATH" exec molecule test -s podman
        ;;
    remove)
        if command -v podman >/dev/null 2>&1; then
            if podman network exists "$network"; then podman network rm "$network" >/dev/null; fi
            if podman image exists "$image"; then podman image rm "$image" >/dev/null; fi
        fi
        ;;
    *)
        echo "usage: $0 [test|prepare|remove]" >&2
        exit 2
        ;;
esac
