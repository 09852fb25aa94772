#!/usr/bin/env bash
# The whole test suite: unit tests, end-to-end tests against the real example
# skills, the benchmark in test mode (each case run once), and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml
cargo fmt --all --check
cargo fmt --all --check --manifest-path skills-examples/Cargo.toml
cargo test --workspace --all-targets
cargo test --workspace --doc
