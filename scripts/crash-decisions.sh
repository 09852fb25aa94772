#!/usr/bin/env bash
# Repeat the kill -9 owner-decision test (50 kills per run) with N seeds
# (default 20, so 1,000 kills): no decision may be live without its record.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
for seed in $(seq 1 "$runs"); do
  SKILLHOST_CRASH_SEED="$seed" cargo test -q -p skillhost --features internal --test e2e crash_decisions >/dev/null
  echo "seed $seed: ok"
done
