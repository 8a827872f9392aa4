"""The chain commands of the `symphony` CLI, as a user runs them (subprocesses), including bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]


def run(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*SYMPHONY, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_chain_up_status_agents_list(tmp_path):
    manifest = tmp_path / "deployment.json"
    up = subprocess.Popen([*SYMPHONY, "chain", "up", "--port", "0", "--manifest", str(manifest)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            lines.append(line)
            if "press Ctrl-C" in line or not line:
                break
        output = "".join(lines)
        assert "anvil running at http://127.0.0.1:" in output
        for name in ("CapabilityLedger", "TaskBeacon", "VoteCommitment"):
            assert name in output
        assert manifest.exists()
        status = run("chain", "status", "--manifest", str(manifest))
        assert status.returncode == 0, status.stderr
        assert "agents       0 active" in status.stdout and "NO CODE" not in status.stdout
        listing = run("agents", "list", "--manifest", str(manifest))
        assert listing.returncode == 0 and "no active agents" in listing.stdout
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0
    assert "stopped" in out


def test_deploy_to_anvil_with_key_from_environment(anvil, tmp_path):
    manifest = tmp_path / "m.json"
    env = {"SYMPHONY_PRIVATE_KEY": anvil.dev_accounts[5].key.to_0x_hex()}
    result = run("deploy", "--rpc-url", anvil.rpc_url, "--manifest", str(manifest), env=env)
    assert result.returncode == 0, result.stderr
    assert manifest.exists()
    assert anvil.dev_accounts[5].key.hex() not in result.stdout + result.stderr  # the key is never printed


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("deploy", "--rpc-url", "http://127.0.0.1:9"), {"SYMPHONY_PRIVATE_KEY": "0x" + "11" * 32}, "cannot reach RPC endpoint"),
        (("deploy", "--rpc-url", "http://127.0.0.1:9"), {"SYMPHONY_PRIVATE_KEY": ""}, "no private key"),
        (("deploy", "--rpc-url", "http://127.0.0.1:9"), {"SYMPHONY_PRIVATE_KEY": "0xnothex"}, "not hold a valid private key"),
        (("chain", "status", "--manifest", "/nonexistent/m.json"), {}, "no deployment manifest"),
        (("chain", "up", "--port", "70000"), {}, "invalid configuration at chain.local.port"),
    ],
)
def test_bad_input_gets_one_line(args, env, expected):
    assert expected in one_line_error(run(*args, env=env))


def test_wrong_chain_id_is_refused(anvil):
    env = {"SYMPHONY_PRIVATE_KEY": anvil.dev_accounts[5].key.to_0x_hex()}
    line = one_line_error(run("deploy", "--rpc-url", anvil.rpc_url, "--chain-id", "1", env=env))
    assert "expected chain 1" in line


def test_unfunded_deployer_is_refused(anvil):
    env = {"SYMPHONY_PRIVATE_KEY": "0x" + "22" * 32}
    assert "has no funds" in one_line_error(run("deploy", "--rpc-url", anvil.rpc_url, env=env))


def test_manifest_pointing_at_no_contract(chain, tmp_path):
    broken = chain.manifest.model_copy(deep=True)
    broken.contracts["CapabilityLedger"].address = "0x000000000000000000000000000000000000dEaD"
    path = broken.save(tmp_path / "m.json")
    assert "no contract answers" in one_line_error(run("agents", "list", "--manifest", str(path)))
