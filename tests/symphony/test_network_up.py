"""`symphony network up` as a user runs it: chain, contracts and workers in one command, then `ask` against it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from agents.network import NETWORK
from core.paths import PROJECT_ROOT
from tests.chain.helpers import read_until

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]


def _anvil_dev_keys(n: int) -> list[str]:
    """anvil's well-known dev keys (its default mnemonic), as lowercase hex without 0x."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    mnemonic = "test test test test test test test test test test test junk"
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.hex().removeprefix("0x")
            for i in range(n)]


def readme_quick_start() -> list[str]:
    """The commands of the README's quick start, as written (comments dropped)."""
    text = (PROJECT_ROOT / "README.md").read_text()
    block = text[text.index("A local network in one command"):].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_quick_start_works_as_written(tmp_path):
    """Each command of the README's quick start, word for word, from one folder (state in ./.symphony). Only the
    environment differs from a user's: a free port instead of 8545, and one-step plans with short answers to keep
    the test short; the agents are the whole network on the default model, as `network up` starts it."""
    commands = readme_quick_start()
    assert commands[0] == "source .venv/bin/activate" and commands[1] == "symphony network up", commands
    ask_line, show_line = commands[2], commands[3]
    assert ask_line.startswith("SYMPHONY_PRIVATE_KEY=0x… symphony ask ") and show_line == "symphony task show 1"
    bin_dir = Path(sys.executable).parent  # what `source .venv/bin/activate` puts first on PATH
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "SYMPHONY_CHAIN__LOCAL__PORT": "0",
                "SYMPHONY_REQUESTER__BID_WINDOW_S": "2", "SYMPHONY_REQUESTER__MIN_PLAN_STEPS": "1",
                "SYMPHONY_REQUESTER__MAX_PLAN_STEPS": "1", "SYMPHONY_LLM__MAX_NEW_TOKENS": "16"})
    shell = lambda line, **kw: subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True,  # noqa: E731
                                              text=True, **kw)
    up = subprocess.Popen(["bash", "-c", f"exec {commands[1]}"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        output = read_until(up.stdout, "press Ctrl-C", timeout=600)
        assert f"{len(NETWORK)} agents registered" in output
        for agent in NETWORK:
            assert re.search(rf"{agent.name}\s+0x[0-9a-fA-F]{{40}}\s+dev account #\d", output), output
        key = re.search(r"SYMPHONY_PRIVATE_KEY=(0x[0-9a-f]{64}) symphony ask", output).group(1)
        ask = shell(ask_line.replace("0x…", key), timeout=600)
        assert ask.returncode == 0, ask.stderr[-2000:]
        assert re.search(r"^answer: '.*'  \(vote weight", ask.stdout, re.M) and "posted task 1" in ask.stderr
        shown = shell(show_line, timeout=120)
        assert shown.returncode == 0 and "finalized" in shown.stdout, shown.stderr
        record = json.loads(shell(show_line + " --json", timeout=120).stdout)
        executors = [e["agent"] for c in record["chains"] for s in c["steps"] for e in s["executors"]]
        assert len(record["chains"]) == 3 and len(set(executors)) == 3, record  # one chain per agent
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=120)
    assert up.returncode == 0, rest
    assert "stopped" in rest
    # Keys reach the workers through their environment only: no configuration, state file, log or result holds one.
    keys = _anvil_dev_keys(len(NETWORK) + 2)  # the workers' keys and the requester's
    assert key[2:] in keys
    written = [p for p in (tmp_path / ".symphony").rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in written) and any(p.suffix == ".json" for p in written)
    for path in written:
        data = path.read_bytes().decode("utf-8", "replace").lower()
        assert not any(k in data for k in keys), f"a private key in {path}"
    assert not any(k in ask.stdout + ask.stderr for k in keys)


def test_network_up_ask_json_streams_progress_then_the_provenance(tmp_path, tiny_model_path):
    manifest = tmp_path / "deployment.json"
    env = {**os.environ, "SYMPHONY_STATE_DIR": str(tmp_path / "state"), "SYMPHONY_LLM__MODEL": str(tiny_model_path)}
    up = subprocess.Popen([*SYMPHONY, "network", "up", "--port", "0", "--manifest", str(manifest), "--workdir", str(tmp_path / "net"),
                           "--agents", "generalist,logician"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        read_until(up.stdout, "press Ctrl-C", timeout=300)
        ask_env = {**env, "SYMPHONY_PRIVATE_KEY": _anvil_dev_keys(4)[3], "SYMPHONY_REQUESTER__BID_WINDOW_S": "2",
                   "SYMPHONY_REQUESTER__MIN_PLAN_STEPS": "1", "SYMPHONY_REQUESTER__MAX_PLAN_STEPS": "1",
                   "SYMPHONY_LLM__MAX_NEW_TOKENS": "16"}
        ask = subprocess.run([*SYMPHONY, "ask", "What is 2 + 3?", "--manifest", str(manifest), "--json", "--chains", "2"],
                             capture_output=True, text=True, timeout=300, env=ask_env)
        assert ask.returncode in (0, 1), ask.stderr[-2000:]  # 1: the tiny model's chains may all abstain
        lines = [json.loads(line) for line in ask.stdout.splitlines()]  # one object per line, progress first
        kinds = [e["event"] for e in lines]
        assert kinds[0] == "planning" and kinds[-1] == "result" and kinds.count("assigned") == 2, kinds
        assert all(e["message"] for e in lines[:-1]) and len(lines[-1]["chains"]) == 2
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=60)


def test_network_up_with_an_unknown_agent_is_one_line(tmp_path):
    result = subprocess.run([*SYMPHONY, "network", "up", "--port", "0", "--manifest", str(tmp_path / "m.json"),
                             "--workdir", str(tmp_path / "net"), "--agents", "generalist,wizard"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "unknown network agent(s) wizard" in result.stderr
