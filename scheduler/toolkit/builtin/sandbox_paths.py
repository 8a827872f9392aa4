"""Resolve user-supplied file paths inside an agent's root folder.

Why: a planner (an LLM) chooses the paths; an agent serving a document folder must not read /etc/passwd
because a prompt asked it to. Symlinks are resolved before the check.
"""

from __future__ import annotations

from pathlib import Path

from tools.errors import PermanentToolError


def inside(root: Path, relative: str) -> Path:
    root = root.resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise PermanentToolError(f"path {relative!r} is outside the agent's folder")
    if not candidate.exists():
        raise PermanentToolError(f"no such file: {relative!r}")
    return candidate
