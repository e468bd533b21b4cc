#!/bin/sh
# Installs Fashion-MNIST (Debian package dataset-fashion-mnist) into /usr/share/datasets/fashion-mnist.
# Idempotent: does nothing when the four IDX files are already there. Uses sudo only when not root.
set -eu

DIR=/usr/share/datasets/fashion-mnist
PACKAGE=dataset-fashion-mnist
FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

present=yes
for f in $FILES; do
    [ -s "$DIR/$f" ] || present=no
done
if [ "$present" = yes ]; then
    echo "Fashion-MNIST already installed in $DIR"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    echo "error: installing $PACKAGE needs root, and sudo is not available; run as root:" >&2
    echo "  apt-get update && apt-get install -y $PACKAGE" >&2
    echo "or download the four IDX .gz files from https://github.com/zalandoresearch/fashion-mnist" >&2
    echo "and pass their directory with -Dpolypi.data.fashion=DIR" >&2
    exit 1
fi

$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$PACKAGE"

for f in $FILES; do
    if [ ! -s "$DIR/$f" ]; then
        echo "error: $PACKAGE is installed but $DIR/$f is missing" >&2
        exit 1
    fi
done
echo "Fashion-MNIST installed in $DIR"
