#!/usr/bin/env bash
# Builds libpolypi.so, the optional native kernels (a ceiling for the Java kernels, see native/src/main/c/polypi.h).
#
# Usage: build-native.sh <c source dir> <output classes dir>
# The library goes to <output classes dir>/native/<os>-<arch>/libpolypi.so, so it is packaged into the jar and
# found on the class path as /native/<os>-<arch>/libpolypi.so.
#
# The build is optional on purpose: without gcc (or on an unsupported OS/CPU) it prints one line and succeeds,
# and NativeRingKernels.isAvailable() then says false at run time.
#
# The library is compiled with -march=native: it is tuned for the build machine and may not run on an older CPU.
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: $0 <c source dir> <output classes dir>" >&2
    exit 2
fi
src_dir=$1
out_root=$2

if ! command -v gcc >/dev/null 2>&1; then
    echo "polypi-native: gcc not found, native kernels skipped"
    exit 0
fi

os=$(uname -s)
arch=$(uname -m)
if [ "$os" != "Linux" ] || [ "$arch" != "x86_64" ]; then
    echo "polypi-native: only linux-x86_64 is supported (this is $os-$arch), native kernels skipped"
    exit 0
fi

out_dir="$out_root/native/linux-x86_64"
out_lib="$out_dir/libpolypi.so"
mkdir -p "$out_dir"

# Skip the compile when the library is newer than every source (keeps repeated `mvn test` fast).
if [ -f "$out_lib" ] && [ -z "$(find "$src_dir" -newer "$out_lib" -type f -print -quit)" ] \
    && [ "$out_lib" -nt "$0" ]; then
    exit 0
fi

tmp_lib="$out_lib.tmp.$$"
gcc -std=c11 -O3 -march=native -mprefer-vector-width=512 -fPIC -shared -fvisibility=hidden -fstack-clash-protection \
    -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion \
    -o "$tmp_lib" "$src_dir"/*.c
mv -f "$tmp_lib" "$out_lib"
echo "polypi-native: built $out_lib"
