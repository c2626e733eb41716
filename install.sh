#!/usr/bin/env bash
# Builds Alcove and installs the `alcove` binary into cargo's bin directory
# (~/.cargo/bin), plus the host runtime pieces functions need: the official Python
# runtime interface client (awslambdaric) for python3.* functions. Node.js functions use
# the host's `node` with Alcove's own bootstrap, which ships inside the binary.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install --quiet --disable-pip-version-check "awslambdaric==4.2.2"
cargo install --locked --path crates/alcove
echo "installed: $(command -v alcove || echo "$HOME/.cargo/bin/alcove")"
