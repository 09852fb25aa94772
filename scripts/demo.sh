#!/usr/bin/env bash
# The main job: build the host and the example skills, then add, approve and
# invoke a skill as an owner would.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml
cargo build -p skillhost

skillhost=target/debug/skillhost
export SKILLHOST_DATA_DIR="${SKILLHOST_DATA_DIR:-$PWD/target/demo-data}"
wasm=skills-examples/target/wasm32-wasip2/release/word_stats.wasm

# 1. Add: validates the component, reads its metadata in the sandbox and
#    prints what it requests. It is pending: it cannot run yet.
"$skillhost" skill add "$wasm"

# 2. Approve exactly the bytes that were reviewed (their SHA-256).
digest="sha256:$(sha256sum "$wasm" | cut -d' ' -f1)"
"$skillhost" skill approve word-stats --digest "$digest" ||
  echo "(already approved in $SKILLHOST_DATA_DIR)"

# 3. Invoke by name.
"$skillhost" invoke word-stats --usage \
  --input '{"text": "the quick brown fox jumps over the lazy dog and the cat", "top": 2}'
