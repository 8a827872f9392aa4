#!/usr/bin/env bash
# Runs every test: forge's Solidity suites, the slither gate (contracts/SLITHER_TRIAGE.md), then pytest. Extra
# arguments go to pytest.
# The browser test of the scheduler's live page needs Debian's chromium; it is installed here when the machine
# allows it (root with apt-get), otherwise that one test skips and says why.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x /usr/bin/chromium ]] && command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
  echo "== installing chromium for the browser test =="
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed; the browser test will skip"
fi
echo "== forge test =="
toolchain/bin/forge test
echo "== slither (fails on an unexplained High finding) =="
.venv/bin/python scripts/slither_check.py
echo "== pytest =="
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false HF_HUB_DISABLE_PROGRESS_BARS=1
.venv/bin/python -m pytest "$@"
