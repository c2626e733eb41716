#!/usr/bin/env bash
# Builds Alcove and installs the `alcove` binary into cargo's bin directory (~/.cargo/bin).
set -euo pipefail
cd "$(dirname "$0")"
cargo install --locked --path crates/alcove
echo "installed: $(command -v alcove || echo "$HOME/.cargo/bin/alcove")"
