"""A worker killed mid-task: the subtask is completed by the restarted worker or by reassignment, exactly once.

Workers run as real `symphony agent run` processes on the tiny random model; the test posts beacons through
the typed bindings, kills a worker with SIGKILL while its state says it is executing, and reads the chain logs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.payloads import SubtaskPayload
from chain.bindings.beacon import BeaconStatus, ChainSpec
from agents.capability import encode_vector

PLAN = ("Read the numbers", "Add them", "State the final answer")


ALPHA = "careful arithmetic and step by step reasoning about numbers"
BETA = "poetry and creative writing about nature and seasons"


def _start_worker(chain, index: int, name: str, model: Path, state_dir: Path, work: Path, max_new_tokens: int, capability: str = ALPHA) -> subprocess.Popen:
    manifest = chain.manifest.save(work / "deployment.json")
    config = {"chain": {"manifest": str(manifest)},
              "agent": {"name": name, "capability": capability, "capacity": 1,
                        "state_dir": str(state_dir), "heartbeat_interval_s": 30,
                        "llm": {"model": str(model), "device": "cpu", "max_new_tokens": max_new_tokens, "temperature": 0.0}}}
    path = work / f"{name}.json"
    path.write_text(json.dumps(config))
    env = {**os.environ, "SYMPHONY_PRIVATE_KEY": chain.node.dev_accounts[index].key.to_0x_hex(), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = open(work / f"{name}.log", "a")
    return subprocess.Popen([sys.executable, "-m", "symphony.cli.main", "agent", "run", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT, env=env)


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory) -> Path:
    """A tiny random model whose greedy continuation of the test subtask never emits EOS (seed 3): executing the
    subtask takes all of max_new_tokens, which leaves time to kill the worker mid-execution."""
    from agents.llm.base import SamplingParams
    from agents.llm.tiny import build_tiny_model
    from agents.llm.transformers_backend import TransformersBackend
    from agents.profile import AgentProfile
    from agents.prompts import step_messages

    path = build_tiny_model(tmp_path_factory.mktemp("slow") / "tiny", seed=3)
    backend = TransformersBackend(path, device="cpu")
    messages = step_messages(AgentProfile(name="x", capability="x").system_prompt, SubtaskPayload.decode(_payload()))
    completion = backend.generate([messages], SamplingParams(max_new_tokens=200)).completions[0][0]
    assert completion.finish_reason == "length", "the slow test model stops early; pick another seed"
    return path


def _payload() -> bytes:
    """The chain's payload, which is also exactly what its first step is executed on (no earlier results)."""
    return SubtaskPayload("What is 12 + 35?", PLAN, 0).encode(8192)


def _wait(condition, timeout: float, what: str, proc_logs: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    logs = "".join(p.read_text()[-2000:] for p in proc_logs.glob("*.log")) if proc_logs else ""
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def _row(state_dir: Path, name: str, beacon_id: int, columns: str) -> tuple | None:
    """`columns` of the worker's state row for `beacon_id` (None while the worker has none, or holds the file)."""
    for db in state_dir.glob(f"{name}-*.sqlite"):
        if db.name.endswith(".events.sqlite"):
            continue
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                return conn.execute(f"SELECT {columns} FROM assignments WHERE beacon_id=?", (beacon_id,)).fetchone()
        except sqlite3.OperationalError:
            return None
    return None


def _status(state_dir: Path, name: str, beacon_id: int) -> tuple[str, int] | None:
    row = _row(state_dir, name, beacon_id, "status, attempts")
    return (row[0], row[1]) if row else None


def _post(chain, requester, exec_window: int) -> int:
    """A three-step chain; returns its first step (the one the tests follow)."""
    # The requirement is alpha's own declared capability: alpha is the best match by construction.
    requirement = encode_vector(ALPHA)
    task = requester.beacon.post_task([ChainSpec((requirement,) * len(PLAN), _payload())], bid_window=3,
                                      exec_window=exec_window, executors=1)
    return task.beacon(0, 0)


def _results(requester, beacon_id: int) -> list:
    events = requester.beacon.contract.events.ResultSubmitted().get_logs(from_block=0, argument_filters={"beaconId": beacon_id})
    return [e["args"]["agent"] for e in events]


def _close_when_open(chain, requester, beacon_id: int, bidders: int, work: Path) -> None:
    _wait(lambda: len(requester.beacon.bids(beacon_id)) >= bidders, 60, f"{bidders} bids", work)
    info = requester.beacon.get(beacon_id)
    chain_now = requester.client.w3.eth.get_block("latest")["timestamp"]  # the chain's clock, not ours
    chain.node.increase_time(max(info.bid_deadline - chain_now, 0) + 2)
    requester.beacon.close(beacon_id)


def _kill_while_executing(proc, state_dir, name, beacon_id, work) -> None:
    _wait(lambda: (_status(state_dir, name, beacon_id) or ("", 0))[0] == "executing", 60, "execution to start", work)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_restarted_worker_finishes_the_subtask_once(chain, slow_model, tmp_path):
    requester = chain.contracts(0)
    state = tmp_path / "state"
    worker = _start_worker(chain, 6, "alpha", slow_model, state, tmp_path, max_new_tokens=1500)
    try:
        _wait(lambda: requester.ledger.active_count() >= 1, 240, "registration", tmp_path)
        beacon_id = _post(chain, requester, exec_window=600)
        _close_when_open(chain, requester, beacon_id, 1, tmp_path)
        _kill_while_executing(worker, state, "alpha", beacon_id, tmp_path)
        assert _results(requester, beacon_id) == []  # killed before delivering

        worker = _start_worker(chain, 6, "alpha", slow_model, state, tmp_path, max_new_tokens=1500)
        _wait(lambda: requester.beacon.get(beacon_id).status == BeaconStatus.COMPLETED, 180, "completion after restart", tmp_path)
        assert _results(requester, beacon_id) == [chain.node.dev_accounts[6].address]  # exactly one result
        assert _status(state, "alpha", beacon_id) == ("submitted", 2)  # resumed: a second attempt, not a new task
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_dead_worker_is_replaced_by_reassignment(chain, slow_model, tiny_model_path, tmp_path):
    requester = chain.contracts(0)
    state = tmp_path / "state"
    # alpha's capability is the closer match, so it wins the beacon; beta is the runner-up bidder.
    alpha = _start_worker(chain, 6, "alpha", slow_model, state, tmp_path, max_new_tokens=1500)
    beta = _start_worker(chain, 7, "beta", tiny_model_path, state, tmp_path, max_new_tokens=16, capability=BETA)
    try:
        _wait(lambda: requester.ledger.active_count() >= 2, 240, "registration", tmp_path)
        beacon_id = _post(chain, requester, exec_window=60)
        _close_when_open(chain, requester, beacon_id, 2, tmp_path)
        assert requester.beacon.executors(beacon_id) == [chain.node.dev_accounts[6].address]  # alpha won
        survivor = chain.node.dev_accounts[7].address
        _kill_while_executing(alpha, state, "alpha", beacon_id, tmp_path)
        chain.node.increase_time(61)
        requester.beacon.reclaim_expired(beacon_id)
        assert requester.beacon.executors(beacon_id) == [survivor]
        _wait(lambda: requester.beacon.get(beacon_id).status == BeaconStatus.COMPLETED, 120, "completion by the replacement", tmp_path)
        assert _results(requester, beacon_id) == [survivor]
    finally:
        for p in (alpha, beta):
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)


def _vote_state(state_dir: Path, name: str, beacon_id: int) -> str | None:
    row = _row(state_dir, name, beacon_id, "vote_state")
    return row[0] if row else None


def test_a_worker_killed_between_commit_and_reveal_reveals_after_restart(chain, tiny_model_path, tmp_path):
    """Lifecycle point "between commit and reveal": alpha commits its final answer and dies before the reveal
    phase opens; the phase opens while it is down; restarted, it reveals from its state (the answer and salt it
    committed), exactly once, so it is counted — not fined as a silent voter — and the vote finalizes."""
    import os as _os

    from chain.bindings.vote import VotePhase, commitment

    requester = chain.contracts(0)
    other = chain.contracts(8)  # a second voter driven by the test, so the commit phase waits for it
    state = tmp_path / "state"
    alpha = _start_worker(chain, 6, "alpha", tiny_model_path, state, tmp_path, max_new_tokens=16)
    try:
        other.ledger.register("other", "test", "", [], encode_vector(BETA), 1, other.ledger.min_stake())
        _wait(lambda: requester.ledger.active_count() >= 2, 240, "registration", tmp_path)
        requirement = encode_vector(ALPHA)
        task = requester.beacon.post_task([ChainSpec((requirement,), _payload())] * 2, bid_window=3, exec_window=600, executors=1)
        first, second = task.beacon(0, 0), task.beacon(1, 0)
        other.beacon.bid(second, (requirement,))
        _wait(lambda: len(requester.beacon.bids(first)) >= 1 and len(requester.beacon.bids(second)) >= 2, 60, "bids", tmp_path)
        chain_now = requester.client.w3.eth.get_block("latest")["timestamp"]
        chain.node.increase_time(max(requester.beacon.get(first).bid_deadline - chain_now, 0) + 2)
        requester.beacon.close(first)
        requester.beacon.close(second)  # alpha already holds chain 0 of this task: chain 1 goes to the other voter
        alpha_address, other_address = chain.node.dev_accounts[6].address, chain.node.dev_accounts[8].address
        assert requester.beacon.executors(first) == [alpha_address]
        assert requester.beacon.executors(second) == [other_address]

        _wait(lambda: _vote_state(state, "alpha", first) == "committed", 120, "alpha's commitment", tmp_path)
        alpha.send_signal(signal.SIGKILL)
        alpha.wait()
        salt = _os.urandom(32)
        result = b'{"answer":"47"}'
        other.beacon.commit_result(second, commitment(task.task_id, other_address, "47", result, salt))
        assert requester.vote.get(task.task_id).phase == VotePhase.REVEAL, "every live voter committed"

        alpha = _start_worker(chain, 6, "alpha", tiny_model_path, state, tmp_path, max_new_tokens=16)
        _wait(lambda: _vote_state(state, "alpha", first) == "revealed", 120, "alpha's reveal after restart", tmp_path)
        other.vote.reveal(task.task_id, "47", result, salt)
        assert requester.vote.get(task.task_id).phase == VotePhase.FINALIZED
        revealed = requester.vote.contract.events.VoteRevealed().get_logs(from_block=0, argument_filters={"taskId": task.task_id})
        assert sorted(e["args"]["voter"] for e in revealed) == sorted([alpha_address, other_address]), "each voter once"
        penalised = requester.vote.contract.events.VotePenalized().get_logs(from_block=0, argument_filters={"taskId": task.task_id})
        assert penalised == [], "nobody was fined as silent"
    finally:
        if alpha.poll() is None:
            alpha.terminate()
            alpha.wait(timeout=30)


def test_a_worker_resumes_by_itself_when_the_node_restarts_from_a_dump_mid_task(artifacts, slow_model, tmp_path):
    """Lifecycle point "node restart": anvil stops while the worker executes an assigned step (SIGTERM, which
    writes its state dump), stays down a few seconds, and restarts from the dump on the same port. The worker —
    never restarted — reconnects by itself and delivers the step exactly once; the chain it finds is the same
    chain (blocks, hashes and logs come back with the dump, so its event stream sees no reorg)."""
    from chain.client import ChainClient
    from chain.deploy import deploy_symphony
    from chain.node import AnvilNode
    from chain.settings import ChainSettings
    from tests.conftest import ChainFixture

    dump = tmp_path / "anvil-state.json"
    node = AnvilNode(dump_state=dump).start()
    alpha = None
    try:
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        manifest = deploy_symphony(deployer, ChainSettings(min_stake_wei=10**16, deregister_cooldown_s=60), artifacts=artifacts)
        chain = ChainFixture(node, manifest)
        requester = chain.contracts(0)
        state = tmp_path / "state"
        alpha = _start_worker(chain, 6, "alpha", slow_model, state, tmp_path, max_new_tokens=1500)
        _wait(lambda: requester.ledger.active_count() >= 1, 240, "registration", tmp_path)
        beacon_id = _post(chain, requester, exec_window=600)
        _close_when_open(chain, requester, beacon_id, 1, tmp_path)
        _wait(lambda: (_status(state, "alpha", beacon_id) or ("", 0))[0] == "executing", 60, "execution to start", tmp_path)
        head = requester.client.w3.eth.block_number
        head_hash = requester.client.w3.eth.get_block(head)["hash"]

        port = node.port
        node.stop()
        assert dump.is_file(), "anvil wrote no state dump on SIGTERM"
        time.sleep(3)  # down while the worker executes (and, if it finishes first, while it tries to deliver)
        node = AnvilNode(port=port, load_state=dump).start()
        chain = ChainFixture(node, manifest)
        requester = chain.contracts(0)
        assert requester.client.w3.eth.get_block(head)["hash"] == head_hash, "the dump restored the same chain"

        _wait(lambda: requester.beacon.get(beacon_id).status == BeaconStatus.COMPLETED, 240, "delivery after the restart", tmp_path)
        assert _results(requester, beacon_id) == [node.dev_accounts[6].address], "delivered exactly once"
        assert alpha.poll() is None, "the worker kept running through the outage"
        assert _status(state, "alpha", beacon_id) == ("submitted", 1), "one attempt: resumed, not redone"
    finally:
        if alpha is not None and alpha.poll() is None:
            alpha.terminate()
            alpha.wait(timeout=30)
        node.stop()
