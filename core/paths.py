"""Where the project's files live: the repository root, build outputs, toolchain binaries, the state folder.

Why a module: every layer needs the same answers, and `SYMPHONY_HOME` lets an installed copy point at a checkout.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from core.errors import ToolchainError

PROJECT_ROOT = Path(os.environ.get("SYMPHONY_HOME", Path(__file__).resolve().parents[1]))
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
BUILD_DIR = PROJECT_ROOT / "build"
STATE_DIR_ENV = "SYMPHONY_STATE_DIR"


def state_dir() -> Path:
    """Where commands keep what they write (the deployment manifest, worker state, unrevealed salts): the folder
    named by $SYMPHONY_STATE_DIR (`symphony --state-dir DIR` sets it), else `.symphony` in the current folder,
    so state belongs to where the user works, not to the checkout. Read on every call, never cached."""
    return Path(os.environ.get(STATE_DIR_ENV) or ".symphony")

_PLATFORM_PACKAGES = {"x86_64": "linux-amd64", "amd64": "linux-amd64", "aarch64": "linux-arm64", "arm64": "linux-arm64"}


def tool_path(name: str) -> Path:
    """Path of a toolchain executable: the native Foundry binary (anvil, forge, cast) or the solc shim.

    Foundry's npm packages ship a node wrapper and a platform package holding the real binary; we always start
    the real binary, because a killed node wrapper leaves its child (e.g. anvil) orphaned.
    """
    if name == "solc":
        path = PROJECT_ROOT / "toolchain" / "bin" / "solc"
    elif name in ("anvil", "forge", "cast"):
        arch = _PLATFORM_PACKAGES.get(platform.machine().lower())
        if arch is None:
            raise ToolchainError(f"unsupported architecture for Foundry binaries: {platform.machine()}")
        path = PROJECT_ROOT / "toolchain" / "node_modules" / "@foundry-rs" / f"{name}-{arch}" / "bin" / name
    else:
        raise ToolchainError(f"unknown tool {name!r}")
    if not path.exists():
        raise ToolchainError(f"{name} not found at {path}; run scripts/setup.sh (or `make setup`) first")
    return path
