#!/usr/bin/env bash
# Builds Alcove and the lambda_runtime fixture in release mode and runs the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
python3 bench/cold_start.py "$@"
