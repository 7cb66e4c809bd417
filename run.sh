#!/usr/bin/env bash
# Builds and starts Valence: installs what is missing (Debian packages, libtorch from PyPI,
# cached under ~/.cache/valence), builds a release binary, runs it with your arguments.
set -euo pipefail
cd "$(dirname "$0")"
command -v cargo >/dev/null || { echo "run.sh: cargo (Rust) is required: see README.md" >&2; exit 1; }
env_file="$(bash libtorch-setup/setup.sh)"
# shellcheck disable=SC1090
. "$env_file"
cargo build --release --locked --bin valence --bin valence-engine >&2
exec target/release/valence "$@"
