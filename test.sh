#!/usr/bin/env bash
# Runs every check: formatting and lints, the benchmarks' smoke run, Rust unit tests, then
# the end-to-end suite, which starts the real `alcove` binary and drives it with boto3 and
# the AWS CLI.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
# The house rules: rustfmt.toml's format and clippy's lints (the workspace's [lints] in
# Cargo.toml) fail the run on any drift.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --release --locked
# Every benchmark, with tiny counts: proves each still runs and produces numbers (no
# timing is judged).
bench/run.sh --smoke
# Includes the fuzz targets' short pass (crates/alcove-fuzz): each replays its committed
# corpus, then runs generated inputs for about a second (docs/FUZZING.md). The PostgreSQL
# tests run on the server ALCOVE_TEST_POSTGRES names; without one, tests/e2e/postgres.py
# starts a throwaway cluster for them (they skip when PostgreSQL is not installed).
if [ -n "${ALCOVE_TEST_POSTGRES:-}" ]; then
  cargo test --workspace --locked
else
  python3 tests/e2e/postgres.py run -- cargo test --workspace --locked
fi
node --test runtimes/nodejs/test/bootstrap.test.mjs
ALCOVE_BIN="$PWD/target/release/alcove" python3 -m pytest tests/e2e -q "$@"
# The whole suite again with every server on a PostgreSQL store (one database each on a
# throwaway PostgreSQL server), when PostgreSQL is installed; the tests that start their
# own PostgreSQL (clusters, the store flag, the harness) ran above already.
if python3 -c 'import sys; sys.path.insert(0, "tests/e2e"); import postgres; sys.exit(postgres.find_bindir() is None)'; then
  ALCOVE_TEST_STORE=postgres ALCOVE_BIN="$PWD/target/release/alcove" python3 -m pytest tests/e2e -q \
    --ignore=tests/e2e/test_cluster.py --ignore=tests/e2e/test_store.py \
    --ignore=tests/e2e/test_postgres_harness.py "$@"
fi
