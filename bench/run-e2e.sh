#!/usr/bin/env bash
# Runs the end-to-end benchmark (org.polypi.bench.EndToEndBench): writes bench/results/<date>-<commit>.md, .csv,
# PNG charts and latest.*; with --engine-report, bench/results/engine.md and engine.csv. Run it on an otherwise idle
# machine: the full matrix takes about an hour, --quick under 3 minutes, --engine-report about 10 minutes.
#
# Usage: bench/run-e2e.sh [--no-build] [EndToEndBench options]   (--help lists them)
#   --quick            a subset that answers the goals, under 3 minutes
#   --engine-report    the issue-4 engine report (in memory)
#   --filter GLOBS     only some cells, e.g. 'w2/*/lan/*,w3/pillar/*/1' (--list prints the selection)
#   --out DIR          output folder (default bench/results)
# Environment: see bench/run-main.sh (JAVA25_HOME, BUILD_SUFFIX, BENCH_JAVA_OPTS).
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = "--no-build" ]; then shift; exec bash "$here/run-main.sh" --no-build org.polypi.bench.EndToEndBench "$@"; fi
exec bash "$here/run-main.sh" org.polypi.bench.EndToEndBench "$@"
