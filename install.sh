#!/usr/bin/env bash
# Builds Alcove and installs the `alcove` binary into cargo's bin directory
# (~/.cargo/bin), plus the host pieces functions need: bubblewrap for the sandbox,
# slirp4netns for the outbound network of functions that have it, the official Python
# runtime interface client (awslambdaric) for python3.* functions, and AWS's SAM
# translator (aws-sam-translator), which CloudFormation runs for templates declaring
# `Transform: AWS::Serverless-2016-10-31`. Node.js functions use
# the host's `node` with Alcove's own bootstrap, which ships inside the binary.
set -euo pipefail
cd "$(dirname "$0")"
# bubblewrap builds each execution environment's sandbox; slirp4netns gives egress.
if ! command -v bwrap >/dev/null 2>&1 || ! command -v slirp4netns >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap slirp4netns
  else
    echo "install bubblewrap (bwrap) and slirp4netns with your package manager, or run alcove serve --insecure-no-sandbox" >&2
  fi
fi
python3 -m pip install --quiet --disable-pip-version-check "awslambdaric==4.2.2" "aws-sam-translator==1.115.0"
cargo install --locked --path crates/alcove
echo "installed: $(command -v alcove || echo "$HOME/.cargo/bin/alcove")"
