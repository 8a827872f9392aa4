"""Offline compilation through the solc shim, and the artifact cache keyed by source hash."""

from __future__ import annotations

import shutil

import pytest

from chain import compile as compile_module
from core.errors import ToolchainError


def test_compiler_is_the_offline_shim():
    assert compile_module.compiler_version().startswith("Version: 0.8.")


def test_project_contracts_compile(artifacts):
    for name in ("CapabilityLedger", "TaskBeacon", "VoteCommitment"):
        assert artifacts[name].deployable, name
    assert not artifacts["ICapabilityLedger"].deployable


def test_cache_hit_skips_the_compiler(tmp_path, monkeypatch, probe_artifacts):
    src = tmp_path / "src"
    shutil.copytree(compile_module.PROJECT_ROOT / "tests" / "chain" / "fixtures", src)
    monkeypatch.setattr(compile_module, "ARTIFACT_DIR", tmp_path / "cache")
    calls = []
    real = compile_module._run_solc
    monkeypatch.setattr(compile_module, "_run_solc", lambda *a: calls.append(1) or real(*a))
    first = compile_module.compile_contracts(src)
    second = compile_module.compile_contracts(src)
    assert len(calls) == 1
    assert first["Probe"].bytecode == second["Probe"].bytecode
    assert first["Probe"].abi == probe_artifacts["Probe"].abi
    # Any change to a source invalidates the cache.
    probe = src / "Probe.sol"
    probe.write_text(probe.read_text().replace("1000", "999"))
    third = compile_module.compile_contracts(src)
    assert len(calls) == 2
    assert third["Probe"].bytecode != first["Probe"].bytecode


def test_syntax_error_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(compile_module, "ARTIFACT_DIR", tmp_path / "cache")
    (tmp_path / "Bad.sol").write_text("pragma solidity ^0.8.24; contract Bad { function f( }")
    with pytest.raises(ToolchainError, match="compilation failed"):
        compile_module.compile_contracts(tmp_path)


def test_no_sources_is_an_error(tmp_path):
    with pytest.raises(ToolchainError, match="no Solidity sources"):
        compile_module.compile_contracts(tmp_path)
