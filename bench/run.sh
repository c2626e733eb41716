#!/usr/bin/env bash
# Builds Alcove, its fixtures and the benchmark harness in release mode, installs the
# peers (cargo-lambda from PyPI, lambda-local from npm) and runs every benchmark: warm
# invokes, cold starts, tenant churn, density and a two-node cluster. Arguments go to
# alcove-bench (see `target/release/alcove-bench --help`), e.g.:
#
#   bench/run.sh                         # everything, full counts (the churn alone takes long)
#   bench/run.sh --repeat 2 --tenants 10000
#   bench/run.sh --only cold,warm
#   bench/run.sh --smoke                 # seconds: proves every benchmark runs (no peers)
#
# The report (Markdown) goes to standard output, every run's figures to
# target/bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked

smoke=0
for arg in "$@"; do
  if [[ "$arg" == "--smoke" ]]; then smoke=1; fi
done

if [[ $smoke == 1 ]]; then
  # CI's check that every benchmark still runs: Alcove only, nothing installed.
  set -- "$@" --no-peers
else
  # The peers: cargo-lambda's prebuilt binary from PyPI, lambda-local from npm into a
  # directory of the build tree. Neither is needed by the tests.
  command -v cargo-lambda >/dev/null 2>&1 ||
    python3 -m pip install --quiet --disable-pip-version-check cargo-lambda
  if [[ ! -f target/bench-peers/node_modules/lambda-local/build/cli.js ]]; then
    npm install --silent --no-audit --no-fund --prefix target/bench-peers lambda-local@2
  fi
  # cargo lambda watch runs the fixture with `cargo run --release`: build it ahead so no
  # benchmark waits for a compiler.
  cargo build --release --locked -p lambda-echo
fi

json=target/bench/results.json
if [[ $smoke == 1 ]]; then json=target/bench/smoke.json; fi
# The cluster benchmark needs a PostgreSQL server: a throwaway one when PostgreSQL is
# installed and none is named (ALCOVE_TEST_POSTGRES); it is skipped otherwise.
if [[ -z "${ALCOVE_TEST_POSTGRES:-}" ]]; then
  exec python3 tests/e2e/postgres.py run -- target/release/alcove-bench --json "$json" "$@"
fi
exec target/release/alcove-bench --json "$json" "$@"
