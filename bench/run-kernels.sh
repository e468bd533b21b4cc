#!/usr/bin/env bash
# Runs the kernel benchmark suite (JMH) and writes bench/results/kernels.md, kernels.csv and kernels.svg.
# Takes about ten minutes on two cores: run it on an otherwise idle machine.
#
# Usage: bench/run-kernels.sh [--no-build] [KernelReport options]
#   --no-build        reuse bench/target${BUILD_SUFFIX}/benchmarks.jar instead of running Maven first
#   --quick           1 x 0.2 s warm-up and measurement per benchmark (a smoke test, not a result)
#   --include REGEX   only the JMH benchmarks matching REGEX, e.g. 'GemmBench'
#   --out DIR         output folder (default bench/results)
# Environment: see bench/run-main.sh (JAVA25_HOME, BUILD_SUFFIX).
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = "--no-build" ]; then shift; exec bash "$here/run-main.sh" --no-build org.polypi.bench.KernelReport "$@"; fi
exec bash "$here/run-main.sh" org.polypi.bench.KernelReport "$@"
