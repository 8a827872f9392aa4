#!/usr/bin/env bash
# Runs every test: forge's Solidity suites, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== forge test =="
toolchain/bin/forge test
echo "== pytest =="
.venv/bin/python -m pytest "$@"
