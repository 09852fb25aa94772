#!/usr/bin/env bash
# Build the Python example skills (skills-examples/python) into
# target/polyglot/py_<name>.wasm with the Python SDK and a pinned
# componentize-py. Each is built once per run; the tests load them from
# there. Usage: scripts/build-polyglot.sh [VENV] (default target/mcp-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-target/mcp-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r sdk/python/requirements-build.txt
mkdir -p target/polyglot
for app in skills-examples/python/*.py; do
  name="$(basename "$app" .py)"
  PATH="$PWD/$venv/bin:$PATH" PYTHONPATH="$PWD/sdk/python" \
    "$venv/bin/python" -m skillhost_sdk build "$app" -o "target/polyglot/py_$name.wasm"
done
