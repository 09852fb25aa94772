#!/usr/bin/env bash
# The whole test suite: unit tests, end-to-end tests against the real example
# skills, the benchmark in test mode (each case run once), and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
rm -rf target/test-artifacts
# The MCP tests use a client we did not write: the official Python SDK,
# with every dependency pinned in tests/mcp/requirements.txt.
if [ ! -x target/mcp-venv/bin/python ]; then
  python3 -m venv target/mcp-venv
fi
target/mcp-venv/bin/pip install --quiet --disable-pip-version-check -r tests/mcp/requirements.txt
# ... and the official TypeScript SDK, the MCP Inspector CLI and the MCP
# conformance suite, with Node 22 for the latter two, pinned in
# tests/mcp/package-lock.json.
npm ci --prefix tests/mcp --no-audit --no-fund --loglevel=error
cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml
# The Python SDK: its own unit tests (stdlib only), then the Python example
# skills, built once with a pinned componentize-py into target/polyglot.
target/mcp-venv/bin/python -m unittest discover -s sdk/python/tests -t sdk/python
./scripts/build-polyglot.sh target/mcp-venv
cargo fmt --all --check
cargo fmt --all --check --manifest-path skills-examples/Cargo.toml
# The library as an embedder gets it (no dead code behind the one door),
# then everything with the `internal` feature the tests and benches use.
cargo clippy -p skillhost --lib --bins -- -D warnings
cargo clippy --workspace --all-targets --features skillhost/internal -- -D warnings
# The disk-full test mounts a tmpfs; here (root) it must not skip.
SKILLHOST_REQUIRE_TMPFS=1 cargo test --workspace --all-targets --features skillhost/internal
# Doc tests without `internal`: the compile-fail tests of the one door
# must see the crate as an embedder does.
cargo test --workspace --doc

# Fuzzing: every target of the policy crate for 30 s (the README records
# the longer runs). Nightly and cargo-fuzz are set up here if missing.
./scripts/fuzz.sh 30

# The secrets tests keep their data dirs and captured CLI output under
# target/test-artifacts. None of it may hold the test token (TEST_TOKEN in
# tests/e2e/servers.rs) in raw, base64 or hex form.
token=sk-test-9f8e7d6c5b4a3921
for form in "$token" "$(printf %s "$token" | base64)" "$(printf %s "$token" | od -An -tx1 | tr -d ' \n')"; do
  if grep -rqF -- "$form" target/test-artifacts; then
    echo "secret leak: the test token appears in target/test-artifacts" >&2
    exit 1
  fi
done
echo "secret scan: the test token appears nowhere in target/test-artifacts"
