#!/usr/bin/env bash
# Issue 6 acceptance: W1-W3 secure inference across three processes (polypi dealer and polypi server as child JVMs,
# this bench JVM the client) over TCP with TLS 1.3 against the in-memory transport, top-1 per image on 1,000
# Fashion-MNIST test images at batch 64 (org.polypi.bench.ProcessAgreement). Writes bench/results/network-agreement.md
# and .csv. Exit status 0 when every image agrees (or differs only by a tie within the secure rounding, stated).
#
# Usage: bench/run-agreement.sh [--no-build] [ProcessAgreement options]   (--help lists them)
#   --images N         test images (default 1000)      --batch B      images per query (default 64)
#   --select LIST      models, e.g. w1/pillar,w2/relu,w3/pillar (default: w1/pillar,w1/relu,w2/pillar,w2/relu,w3/pillar)
#   --out DIR          output folder (default bench/results)
# Environment: see bench/run-main.sh (JAVA25_HOME, BUILD_SUFFIX, BENCH_JAVA_OPTS).
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = "--no-build" ]; then shift; exec bash "$here/run-main.sh" --no-build org.polypi.bench.ProcessAgreement "$@"; fi
exec bash "$here/run-main.sh" org.polypi.bench.ProcessAgreement "$@"
