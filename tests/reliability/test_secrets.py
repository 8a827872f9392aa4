"""Issue #15 "Secrets": a private key reaches the processes through the environment only, and never comes back out.

Each test runs real `symphony` processes with anvil dev keys in their environment, every Python logger at DEBUG
(tests/reliability/secrets_capture.py), and then searches everything they produced for any of anvil's ten dev
keys (hex, any case, with or without 0x, and the raw bytes in binary files): stdout, stderr, the DEBUG logs of every
process, configurations, state files and SQLite databases, JSON results and run directories, and the messages of
the errors a wrong key or an unreachable chain produce.

Why all ten keys and not only the one a process was given: a process that printed the key list of anvil (or of
another account) leaks just as much. Why real processes: a leak is most likely where a key crosses a process
boundary (the CLI reading the environment, a launcher handing a key to a child) or in a library's DEBUG log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT
from tests.reliability.secrets_capture import anvil_dev_keys, debug_env, debug_logs, files_under, find_keys

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]
KEYS = anvil_dev_keys(10)


def _no_key_anywhere(work: Path, *outputs: str) -> None:
    """Fails naming where a key appeared; also checks the DEBUG logs were really written (a capture that saw
    nothing proves nothing)."""
    logs = debug_logs(work)
    assert logs and any(b"DEBUG" in p.read_bytes() for p in logs), "no DEBUG log was captured"
    texts: dict[str, str | bytes] = {f"output #{i}": o for i, o in enumerate(outputs)}
    texts.update(files_under(work))
    assert find_keys(KEYS, texts) == []


def _worker_config(chain, work: Path, model: Path) -> Path:
    manifest = chain.manifest.save(work / "deployment.json")
    config = {"chain": {"manifest": str(manifest)},
              "agent": {"name": "keeper", "capability": "careful arithmetic", "capacity": 1,
                        "state_dir": str(work / "state"), "heartbeat_interval_s": 30,
                        "llm": {"model": str(model), "device": "cpu", "max_new_tokens": 8, "temperature": 0.0}}}
    path = work / "keeper.json"
    path.write_text(json.dumps(config))
    return path


def test_worker_and_requester_never_reveal_their_keys(chain, tiny_model_path, tmp_path):
    """`symphony agent run` and `symphony ask --json` through a whole task (plan, bid, execute, commit, reveal,
    settle, provenance), both at DEBUG; the worker's key has 0x and upper case, the requester's neither."""
    config = _worker_config(chain, tmp_path, tiny_model_path)
    env = debug_env(tmp_path, {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")})
    env.update({"SYMPHONY_STATE_DIR": str(tmp_path / "state"), "OMP_NUM_THREADS": "1"})
    worker_log = open(tmp_path / "keeper.out", "w")
    worker = subprocess.Popen([*SYMPHONY, "agent", "run", "--config", str(config)], cwd=PROJECT_ROOT,
                              env={**env, "SYMPHONY_PRIVATE_KEY": "0x" + KEYS[6].upper()},  # any case must work
                              stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        reader = chain.contracts(0)
        deadline = time.monotonic() + 120
        while reader.ledger.active_count() < 1:
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "keeper.out").read_text()[-3000:]
            time.sleep(0.2)
        ask_env = {**env, "SYMPHONY_PRIVATE_KEY": KEYS[5], "SYMPHONY_LLM__MODEL": str(tiny_model_path),  # without 0x
                   "SYMPHONY_REQUESTER__BID_WINDOW_S": "2", "SYMPHONY_REQUESTER__MIN_PLAN_STEPS": "1",
                   "SYMPHONY_REQUESTER__MAX_PLAN_STEPS": "1", "SYMPHONY_LLM__MAX_NEW_TOKENS": "8"}
        manifest = str(tmp_path / "deployment.json")
        ask = subprocess.run([*SYMPHONY, "ask", "What is 2 + 3?", "--manifest", manifest, "--chains", "1", "--json"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180, env=ask_env)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        worker_log.close()
    assert ask.returncode in (0, 1), ask.stderr[-3000:]  # 1: the tiny model's only chain may abstain
    result = json.loads(ask.stdout.splitlines()[-1])
    assert result["event"] == "result" and len(result["chains"]) == 1
    assert "agent keeper stopped" in (tmp_path / "keeper.out").read_text()
    _no_key_anywhere(tmp_path, ask.stdout + ask.stderr)


def test_errors_about_keys_and_chains_do_not_echo_the_key(chain, tmp_path):
    """The error paths a key goes through: a key that is not valid (one digit too many, one non-hex digit), and a
    valid key with a chain that does not answer. Each is one line, exit status 2, and holds no key material."""
    manifest = chain.manifest.save(tmp_path / "deployment.json")
    env = debug_env(tmp_path, {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")})
    cases = {"too long": ("0x" + KEYS[4] + "0", []), "not hex": (KEYS[4][:-1] + "z", []),
             "no chain": (KEYS[4], ["--rpc-url", "http://127.0.0.1:9"])}
    outputs = []
    for name, (key, extra) in cases.items():
        run = subprocess.run([*SYMPHONY, "ask", "What is 2 + 3?", "--manifest", str(manifest), *extra],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                             env={**env, "SYMPHONY_PRIVATE_KEY": key})
        assert run.returncode == 2 and "Traceback" not in run.stderr, (name, run.stderr[-2000:])
        outputs.append(run.stdout + run.stderr)
    # The mangled keys still carry 63-64 digits of KEYS[4]: search for their longest common part too.
    texts = {f"{name}": out.lower() for name, out in zip(cases, outputs)}
    assert not [n for n, t in texts.items() if KEYS[4][:60] in t], texts
    _no_key_anywhere(tmp_path, *outputs)


def test_detector_never_reveals_its_key(chain, tmp_path):
    """`symphony detect run` committing a prediction (its salt goes to the state file) and revealing it on SIGTERM."""
    from marl_detector.onchain.accounts import chain_time, mine_at
    from marl_detector.onchain.evaluation import EvaluationLogClient
    from tests.detector.campaign import staked_market
    from tests.detector.live_process import KEY_ENV, DetectRun

    market, manifest = staked_market(chain.node, chain.manifest, ["OLD"], detectors=(3,))
    path = manifest.save(tmp_path / "deployment.json")
    operator = chain.client(0)
    mine_at(operator.w3, chain_time(operator.w3) + 100)
    EvaluationLogClient(chain.client(2), market.log).open_window(market.pools["OLD"].pool.address, 1_200, lead=20)
    env = debug_env(tmp_path)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # DetectRun starts its process with this process's environment
    try:
        run = DetectRun(chain.node, path, tmp_path / "state" / "state.json")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        run.wait_for("committed evaluation #0", timeout=120)
        assert run.stop(signal.SIGTERM) == 0, run.transcript()
    finally:
        run.kill()
    assert (tmp_path / "state" / "state.json").exists()
    assert KEY_ENV not in (tmp_path / "state" / "state.json").read_text()
    _no_key_anywhere(tmp_path, run.transcript())


def test_echo_run_never_reveals_the_publisher_key(tmp_path):
    """`symphony echo run --mode sequential`: an embedded anvil, the registry deployed and a policy version
    published with dev key 0, handed to the trainer process through its environment (and its spec file must not
    hold it)."""
    run_dir = tmp_path / "run"
    env = debug_env(tmp_path, {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")})
    env["OMP_NUM_THREADS"] = "1"
    run = subprocess.run([*SYMPHONY, "echo", "run", "--mode", "sequential", "--tiny", "--steps", "1", "--samplers", "1",
                          "--group-size", "2", "--groups-per-step", "1", "--max-new-tokens", "4", "--threads", "1",
                          "--run-dir", str(run_dir), "--json"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout[run.stdout.index("{"):])
    assert summary["versions_published"] >= 1, summary  # the key was used: something was signed
    assert len(debug_logs(tmp_path)) >= 3  # the launcher, the trainer and the sampler each logged
    _no_key_anywhere(tmp_path, run.stdout + run.stderr)
