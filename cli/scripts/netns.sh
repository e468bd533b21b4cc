#!/bin/sh
# Test network for the namespace integration test (cli/src/test/java/org/polypi/cli/NetworkNamespaceTest.java):
# one namespace per host, each joined to a bridge (in namespace PREFIX-lan) by a veth pair, addresses 10.77.0.0/24:
#   PREFIX-client 10.77.0.11, PREFIX-dealer 10.77.0.12, PREFIX-srv1 10.77.0.13, PREFIX-srv2 10.77.0.14,
#   PREFIX-lb 10.77.0.15 (HAProxy in front of srv1 and srv2).
# Usage (as root): netns.sh up|down [PREFIX]    (default prefix: pp)
set -eu
action=${1:?usage: netns.sh up|down [PREFIX]}
P=${2:-pp}
HOSTS="client dealer srv1 srv2 lb"

down() {
    for h in $HOSTS lan; do
        ip netns del "$P-$h" 2>/dev/null || true
    done
}

up() {
    down
    ip netns add "$P-lan"
    ip -n "$P-lan" link set lo up
    ip -n "$P-lan" link add br0 type bridge
    ip -n "$P-lan" link set br0 up
    i=11
    for h in $HOSTS; do
        ip netns add "$P-$h"
        ip -n "$P-$h" link set lo up
        # Both ends are created in the host's namespace, then moved: names are at most 15 characters.
        ip link add "$P-$h-0" type veth peer name "$P-$h-1"
        ip link set "$P-$h-0" netns "$P-$h"
        ip link set "$P-$h-1" netns "$P-lan"
        ip -n "$P-$h" addr add "10.77.0.$i/24" dev "$P-$h-0"
        ip -n "$P-$h" link set "$P-$h-0" up
        ip -n "$P-lan" link set "$P-$h-1" master br0
        ip -n "$P-lan" link set "$P-$h-1" up
        i=$((i + 1))
    done
}

case "$action" in
    up) up ;;
    down) down ;;
    *) echo "usage: netns.sh up|down [PREFIX]" >&2; exit 2 ;;
esac
