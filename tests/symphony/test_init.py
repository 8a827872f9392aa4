"""`symphony init` as a user runs it: the network's agents as configuration files that `agent run` starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from agents.network import NETWORK, network_profiles
from agents.settings import LLMSettings

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]


def _symphony(*args: str, cwd, env=None) -> subprocess.CompletedProcess:  # noqa: ANN001
    return subprocess.run([*SYMPHONY, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


def test_init_writes_each_network_agent_and_refuses_to_overwrite(tmp_path) -> None:
    done = _symphony("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = sorted((tmp_path / "agents").glob("agent-*.json"))
    assert [p.name for p in written] == sorted(f"agent-{a.name}.json" for a in NETWORK)
    expected = {p.name: p for p in network_profiles(LLMSettings(), tmp_path)}
    for path in written:
        agent = json.loads(path.read_text())["agent"]
        profile = expected[agent["name"]]
        assert agent["tools"] == profile.tools if profile.tools else "tools" not in agent
        assert agent["capability_examples"] == profile.capability_examples and agent["capability"] == profile.capability
        assert "private_key" not in path.read_text() and "0x" not in json.dumps(agent.get("llm", {}))
    assert json.loads((tmp_path / "agents" / "agent-counter.json").read_text())["agent"]["llm"]["max_new_tokens"] == 160

    again = _symphony("init", cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    assert _symphony("init", "--force", cwd=tmp_path).returncode == 0
    unknown = _symphony("init", "--dir", "other", "--agents", "speller,oracle", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown network agent(s) oracle" in unknown.stderr and not (tmp_path / "other").exists()


def test_an_initialised_agent_runs_and_registers(chain, tmp_path, tiny_model_path) -> None:
    manifest = chain.manifest.save(tmp_path / "deployment.json")
    assert _symphony("init", "--agents", "speller", "--manifest", str(manifest), cwd=tmp_path).returncode == 0
    config = tmp_path / "agents" / "agent-speller.json"
    env = {**os.environ, "SYMPHONY_PRIVATE_KEY": chain.node.dev_accounts[5].key.to_0x_hex(),
           "SYMPHONY_LLM__MODEL": str(tiny_model_path), "SYMPHONY_STATE_DIR": str(tmp_path / "state")}
    worker = subprocess.Popen([*SYMPHONY, "agent", "run", "--config", str(config)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ledger = chain.contracts(0).ledger
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            active = {a.agent: a for a in ledger.active_agents()}
            if chain.node.dev_accounts[5].address in active:
                break
            time.sleep(0.5)
        profile = active.get(chain.node.dev_accounts[5].address)
        assert profile is not None, worker.stdout.read() if worker.poll() is not None else "not registered in 120 s"
        from agents.assembly import capability_vector

        speller = next(p for p in network_profiles(LLMSettings(), tmp_path) if p.name == "speller")
        assert profile.name == "speller" and profile.tags == ("text", "tool:letter_counter")
        assert profile.declared_capability == capability_vector(speller)  # the centroid of its measured examples
    finally:
        worker.terminate()
        worker.wait(timeout=60)
