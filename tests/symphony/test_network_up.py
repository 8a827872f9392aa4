"""`symphony network up` as a user runs it: chain, contracts and workers in one command, then `ask` against it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

from tests.chain.helpers import read_until

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]


def _anvil_dev_keys(n: int) -> list[str]:
    """anvil's well-known dev keys (its default mnemonic), as lowercase hex without 0x."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    mnemonic = "test test test test test test test test test test test junk"
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.hex().removeprefix("0x")
            for i in range(n)]


def test_network_up_runs_registered_workers_that_answer_an_ask(tmp_path, tiny_model_path):
    manifest = tmp_path / "deployment.json"
    env = {**os.environ, "SYMPHONY_STATE_DIR": str(tmp_path / "state"), "SYMPHONY_LLM__MODEL": str(tiny_model_path)}
    up = subprocess.Popen([*SYMPHONY, "network", "up", "--port", "0", "--manifest", str(manifest), "--workdir", str(tmp_path / "net"),
                           "--agents", "generalist,logician,calculator"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        output = read_until(up.stdout, "press Ctrl-C", timeout=300)
        assert "3 agents registered" in output
        for name in ("generalist", "logician", "calculator"):
            assert re.search(rf"{name}\s+0x[0-9a-fA-F]{{40}}\s+dev account #\d", output), output
        key = re.search(r"SYMPHONY_PRIVATE_KEY=(0x[0-9a-f]{64}) symphony ask", output).group(1)
        ask_env = {**env, "SYMPHONY_PRIVATE_KEY": key, "SYMPHONY_REQUESTER__BID_WINDOW_S": "2",
                   "SYMPHONY_REQUESTER__MIN_PLAN_STEPS": "1", "SYMPHONY_REQUESTER__MAX_PLAN_STEPS": "1",
                   "SYMPHONY_LLM__MAX_NEW_TOKENS": "16"}
        ask = subprocess.run([*SYMPHONY, "ask", "What is 2 + 3?", "--manifest", str(manifest), "--json"],
                             capture_output=True, text=True, timeout=300, env=ask_env)
        assert ask.returncode == 0, ask.stderr[-2000:]
        lines = [json.loads(line) for line in ask.stdout.splitlines()]  # --json: one object per line, progress first
        provenance = lines[-1]
        assert provenance["event"] == "result" and len(provenance["chains"]) == 3
        assert [e["event"] for e in lines].count("assigned") == 3 and lines[0]["event"] == "planning"
        executors = [s["executor"] for c in provenance["chains"] for s in c["steps"]]
        assert len(executors) == 3 and len(set(executors)) == 3, provenance  # one chain per agent
        shown = subprocess.run([*SYMPHONY, "task", "show", provenance["task_id"], "--manifest", str(manifest), "--json"],
                               capture_output=True, text=True, timeout=60, env=env)
        assert shown.returncode == 0 and json.loads(shown.stdout)["vote"]["phase"] == "finalized", shown.stderr
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest
    assert "stopped" in rest
    # Keys reach the workers through their environment only: no configuration, state file, log or result holds one.
    keys = _anvil_dev_keys(10)  # the workers' keys and the requester's
    assert key[2:] in keys
    written = [p for root in (tmp_path / "net", tmp_path / "state") for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in written) and any(p.suffix == ".json" for p in written)
    for path in written:
        data = path.read_bytes().decode("utf-8", "replace").lower()
        assert not any(k in data for k in keys), f"a private key in {path}"
    assert not any(k in ask.stdout + ask.stderr for k in keys)


def test_network_up_with_an_unknown_agent_is_one_line(tmp_path):
    result = subprocess.run([*SYMPHONY, "network", "up", "--port", "0", "--manifest", str(tmp_path / "m.json"),
                             "--workdir", str(tmp_path / "net"), "--agents", "generalist,wizard"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "unknown network agent(s) wizard" in result.stderr
