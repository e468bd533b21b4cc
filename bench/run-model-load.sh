#!/usr/bin/env bash
# Measures loading W5 resnet50 from the model format; writes bench/results/model-load.md and .csv.
# Usage: bench/run-model-load.sh [--no-build] [OUTPUT_DIR]
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = "--no-build" ]; then shift; exec bash "$here/run-main.sh" --no-build org.polypi.bench.ModelLoadReport "$@"; fi
exec bash "$here/run-main.sh" org.polypi.bench.ModelLoadReport "$@"
