#!/usr/bin/env bash
# Issue 6 soak (org.polypi.bench.SoakBench): consecutive W2 inferences through ONE polypi server process and one
# polypi dealer process (TLS 1.3), the client in the bench JVM: first one session with every inference a query, then
# sessions of 100 queries, on the same processes; counts failures and predictions that differ from the plaintext
# model, samples the server's and the dealer's VmRSS. Writes bench/results/soak.md and .csv.
#
# Usage: bench/run-soak.sh [--no-build] [--inferences N] [SoakBench options]   (--help lists them)
#   --inferences N      inferences per phase (default 10000)
#   --mode M            single | sessions | both (default both)
#   --session-queries Q queries per session in the sessions phase (default 100)
#   --sample-every K    inferences between memory samples (default 100)
#   --warm-up W         inferences after which memory counts as warm (default 1000)
#   --child-jvm-options "OPTS"  extra JVM options of server and dealer, e.g. "-Xmx512m"
#   --out DIR           output folder (default bench/results)
# Environment: see bench/run-main.sh (JAVA25_HOME, BUILD_SUFFIX, BENCH_JAVA_OPTS).
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = "--no-build" ]; then shift; exec bash "$here/run-main.sh" --no-build org.polypi.bench.SoakBench "$@"; fi
exec bash "$here/run-main.sh" org.polypi.bench.SoakBench "$@"
