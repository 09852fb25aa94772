#!/usr/bin/env bash
# The main job: build the host and the example skills, then run a skill.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml
cargo build -p skillhost

export SKILLHOST_DATA_DIR="${SKILLHOST_DATA_DIR:-$PWD/target/demo-data}"
target/debug/skillhost run skills-examples/target/wasm32-wasip2/release/word_stats.wasm \
  --usage \
  --input '{"text": "the quick brown fox jumps over the lazy dog and the cat", "top": 2}'
