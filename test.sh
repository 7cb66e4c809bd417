#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (Debian packages incl. the test
# fixture encoders, libtorch from PyPI, cached under ~/.cache/valence), then cargo test.
set -euo pipefail
cd "$(dirname "$0")"
command -v cargo >/dev/null || { echo "test.sh: cargo (Rust) is required: see README.md" >&2; exit 1; }
env_file="$(bash libtorch-setup/setup.sh --with-test-deps)"
# shellcheck disable=SC1090
. "$env_file"
cargo test --locked "$@"
