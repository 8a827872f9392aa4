"""Compile every contract under contracts/ with py-solc-x through the offline solc shim, cached by source hash.

Why a cache: a solcjs compile costs seconds; agents, tests and the CLI all need the artifacts, and the sources
rarely change. The cache key covers every source byte, the compiler version and the settings, so a stale
artifact can never be served.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import ToolchainError
from core.paths import BUILD_DIR, CONTRACTS_DIR, PROJECT_ROOT, tool_path

EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200
ARTIFACT_DIR = BUILD_DIR / "artifacts"


@dataclass(frozen=True)
class ContractArtifact:
    """ABI and creation bytecode of one compiled contract."""

    name: str
    source_path: str
    abi: list[dict]
    bytecode: str

    @property
    def abi_json(self) -> bytes:
        """The canonical ABI bytes: what `abi/<Name>.json` holds and `abi_sha256` hashes, so `sha256sum` checks it."""
        return json.dumps(self.abi, sort_keys=True, separators=(",", ":")).encode()

    @property
    def abi_sha256(self) -> str:
        return hashlib.sha256(self.abi_json).hexdigest()

    @property
    def deployable(self) -> bool:
        return len(self.bytecode) > 2


def source_files(root: Path = CONTRACTS_DIR) -> list[Path]:
    return sorted(p for p in root.rglob("*.sol") if p.is_file())


def _base_path(root: Path) -> Path:
    """Source unit names are paths relative to the project root (or to `root` for sources outside the project)."""
    root = root.resolve()
    return PROJECT_ROOT if root.is_relative_to(PROJECT_ROOT) else root


def _standard_input(files: list[Path], base: Path = PROJECT_ROOT) -> dict:
    return {
        "language": "Solidity",
        "sources": {str(p.resolve().relative_to(base)): {"content": p.read_text()} for p in files},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


@lru_cache(maxsize=1)
def compiler_version() -> str:
    out = subprocess.run([str(tool_path("solc")), "--version"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ToolchainError(f"solc --version failed: {out.stderr.strip()}")
    return out.stdout.strip().splitlines()[-1]


def cache_key(files: list[Path], base: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256(compiler_version().encode())
    digest.update(json.dumps(_standard_input([])["settings"], sort_keys=True).encode())
    for path in files:
        digest.update(str(path.resolve().relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_solc(standard_input: dict, base: Path) -> dict:
    import solcx  # imported here: py-solc-x is only needed when the cache misses

    try:
        return solcx.compile_standard(standard_input, solc_binary=str(tool_path("solc")), base_path=str(base))
    except solcx.exceptions.SolcError as exc:
        raise ToolchainError(f"Solidity compilation failed:\n{exc.message}") from None


def _artifacts_from_output(output: dict) -> dict[str, ContractArtifact]:
    artifacts: dict[str, ContractArtifact] = {}
    for source, contracts in output.get("contracts", {}).items():
        for name, data in contracts.items():
            artifact = ContractArtifact(name, source, data["abi"], "0x" + data["evm"]["bytecode"]["object"])
            artifacts[f"{source}:{name}"] = artifact
            # Short names are what callers use; on a clash the deployable contract wins, interfaces never shadow it.
            existing = artifacts.get(name)
            if existing is None or (artifact.deployable and not existing.deployable):
                artifacts[name] = artifact
    return artifacts


def compile_contracts(root: Path = CONTRACTS_DIR, *, use_cache: bool = True) -> dict[str, ContractArtifact]:
    """Artifacts keyed by contract name (and by 'path:Name'), compiled or loaded from build/artifacts/."""
    files = source_files(root)
    if not files:
        raise ToolchainError(f"no Solidity sources under {root}")
    base = _base_path(root)
    key = cache_key(files, base)
    cache_file = ARTIFACT_DIR / f"{key}.json"
    if use_cache and cache_file.exists():
        output = json.loads(cache_file.read_text())
    else:
        output = _run_solc(_standard_input(files, base), base)
        output = {"contracts": output.get("contracts", {})}
        ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
        # Atomic write: concurrent test workers may compile at the same time.
        fd, tmp = tempfile.mkstemp(dir=ARTIFACT_DIR, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(output, handle)
        os.replace(tmp, cache_file)
    return _artifacts_from_output(output)

