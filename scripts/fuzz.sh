#!/usr/bin/env bash
# Run every cargo-fuzz target of host/policy for SECONDS each (default 30)
# and print libFuzzer's final stats. Needs the nightly toolchain; installs
# cargo-fuzz if it is missing. Findings land in host/policy/fuzz/artifacts
# and fail the run.
set -euo pipefail
cd "$(dirname "$0")/../host/policy"
seconds="${1:-30}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
cargo +nightly fuzz build
log="$(mktemp)"
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for ${seconds}s"
  status=0
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^stat::(number_of_executed_units|new_units_added)|panicked|SUMMARY' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target found a failure (see host/policy/fuzz/artifacts/$target)" >&2
    exit 1
  fi
done
rm -f "$log"
