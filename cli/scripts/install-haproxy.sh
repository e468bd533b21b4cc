#!/bin/sh
# Installs HAProxy (Debian package haproxy) for the network-namespace test and for deployments with server replicas
# (docs/deployment.md). Idempotent: does nothing when haproxy is already on the PATH. Uses sudo only when not root.
set -eu
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
    echo "haproxy already installed: $(/usr/sbin/haproxy -v 2>/dev/null | head -n 1 || haproxy -v | head -n 1)"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "error: installing haproxy needs root (apt-get install -y haproxy)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null
/usr/sbin/haproxy -v | head -n 1
