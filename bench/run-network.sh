#!/usr/bin/env bash
# Issue 6 network report (org.polypi.bench.NetworkReport): W2 and W3 x PILLAR and ReLU x batch 1 and 64 x inmem, lan
# (TCP loopback), lan-1g and wan (shaped), TLS 1.3 on: online latency median/p90, bytes, rounds, throughput, and the
# goal lines (lan <= 1.2x in-memory, wan <= 1.2x rounds x RTT + bytes / bandwidth, W3 poly). Writes
# bench/results/network.md and .csv. Run it on an otherwise idle machine.
#
# Usage: bench/run-network.sh [--no-build] [NetworkReport options]   (--help lists them)
#   --workloads w2,w3  --variants pillar,relu  --profiles inmem,lan,lan-1g,wan  --batches 1,64
#   --runs N (max measured queries per cell, default 20)  --cell-seconds S (default 15)  --out DIR
# Environment: see bench/run-main.sh (JAVA25_HOME, BUILD_SUFFIX, BENCH_JAVA_OPTS).
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = "--no-build" ]; then shift; exec bash "$here/run-main.sh" --no-build org.polypi.bench.NetworkReport "$@"; fi
exec bash "$here/run-main.sh" org.polypi.bench.NetworkReport "$@"
