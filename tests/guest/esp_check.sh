#!/usr/bin/env bash
# Proves inside the guest that the kernel installs ESP SAs with AES-GCM and carries traffic
# through them. Two network namespaces are joined by a veth pair and get one IPv4 and one IPv6 SA
# pair in tunnel mode with policies in both directions. Pings succeed only if their replies pass
# the inbound SAs. The namespaces exist only inside the guest, have no route out and are removed
# on exit.
set -euo pipefail

west=espcheck-west
east=espcheck-east
# AES-GCM-128 key (16 bytes) plus a 4-byte salt; any constant works for a local check.
key=0x0123456789abcdef0123456789abcdef01234567

cleanup() {
    ip netns delete "$west" 2>/dev/null || true
    ip netns delete "$east" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$west"
ip netns add "$east"
ip link add veth-west netns "$west" type veth peer name veth-east netns "$east"
for side in west east; do
    namespace=espcheck-$side
    ip -n "$namespace" link set lo up
    ip -n "$namespace" link set "veth-$side" up
done
ip -n "$west" address add 198.51.100.1/24 dev veth-west
ip -n "$east" address add 198.51.100.2/24 dev veth-east
ip -n "$west" address add 2001:db8:100::1/64 dev veth-west nodad
ip -n "$east" address add 2001:db8:100::2/64 dev veth-east nodad

# add_sa_pair NAMESPACE LOCAL REMOTE OUT_SPI IN_SPI: the outbound and inbound SA of one end,
# with tunnel-mode policies that send all traffic between LOCAL and REMOTE through them.
add_sa_pair() {
    local namespace=$1 local_address=$2 remote_address=$3 out_spi=$4 in_spi=$5
    ip -n "$namespace" xfrm state add src "$local_address" dst "$remote_address" proto esp \
        spi "$out_spi" reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' "$key" 128
    ip -n "$namespace" xfrm state add src "$remote_address" dst "$local_address" proto esp \
        spi "$in_spi" reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' "$key" 128
    ip -n "$namespace" xfrm policy add src "$local_address" dst "$remote_address" dir out \
        tmpl src "$local_address" dst "$remote_address" proto esp reqid 1 mode tunnel
    ip -n "$namespace" xfrm policy add src "$remote_address" dst "$local_address" dir in \
        tmpl src "$remote_address" dst "$local_address" proto esp reqid 1 mode tunnel
}

add_sa_pair "$west" 198.51.100.1 198.51.100.2 0x1001 0x1002
add_sa_pair "$east" 198.51.100.2 198.51.100.1 0x1002 0x1001
add_sa_pair "$west" 2001:db8:100::1 2001:db8:100::2 0x2001 0x2002
add_sa_pair "$east" 2001:db8:100::2 2001:db8:100::1 0x2002 0x2001

ip netns exec "$west" ping -q -c 2 -i 0.2 -W 2 198.51.100.2
ip netns exec "$west" ping -6 -q -c 2 -i 0.2 -W 2 2001:db8:100::2

# The replies come back through the inbound SAs of west, so their packet counters must be
# above zero. `ip -s xfrm state` prints "lifetime current:" followed by "N(bytes), M(packets)".
inbound_packets() {
    ip -n "$west" -s xfrm state list spi "$1" \
        | awk '/lifetime current:/ { getline; sub(/\(packets\).*/, ""); sub(/.*, /, ""); print; exit }'
}
for spi in 0x1002 0x2002; do
    count=$(inbound_packets "$spi")
    if [ -z "$count" ] || [ "$count" -eq 0 ]; then
        echo "esp check: inbound SA $spi of $west counted no packets" >&2
        ip -n "$west" -s xfrm state >&2
        exit 1
    fi
    echo "esp check: inbound SA $spi counted $count packets"
done
echo "esp check: ESP with AES-GCM works"
