#!/usr/bin/env bash
# Runs the whole test suite and the lint gate: installs what is missing (Debian packages incl.
# the test fixture encoders, libtorch from PyPI, cached under ~/.cache/valence), then
# `cargo fmt --check`, clippy with warnings as errors, and cargo test.
set -euo pipefail
cd "$(dirname "$0")"
command -v cargo >/dev/null || { echo "test.sh: cargo (Rust) is required: see README.md" >&2; exit 1; }
env_file="$(bash libtorch-setup/setup.sh --with-test-deps)"
# shellcheck disable=SC1090
. "$env_file"
# The lint gate needs rustfmt and clippy; rustup's default profile has both.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null; then
        rustup component add rustfmt clippy
    else
        echo "test.sh: cargo fmt and cargo clippy are required (Debian: apt-get install rustfmt rust-clippy)" >&2
        exit 1
    fi
fi
# A one-off build gains nothing from incremental caches but their disk space.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
echo "test.sh: cargo fmt --check" >&2
cargo fmt --check
echo "test.sh: cargo clippy --all-targets --locked -- -D warnings" >&2
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked "$@"
