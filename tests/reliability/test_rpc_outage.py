"""Issue #15 fault: the RPC link is cut for several seconds in the middle of a task.

A real worker (`symphony agent run`, tiny model) and a real requester (`symphony ask`) reach anvil only through
tests/reliability/rpc_proxy.py, one proxy each. First the requester's own transaction meets a cut: its close of the
step (which assigns it) reaches the node, the answer never comes back, and the link stays down for a few seconds. Then
the requester's link is cut again while it waits for the vote, and the worker's link is cut the moment it delivers:
its transaction reaches the node but the answer never comes back, and nothing gets through for the next few seconds;
then the requester's link is cut a third time at its first read of the vote. What must hold: the task still settles
on chain with the worker's vote revealed and the requester's chain answered (not abandoned), every slot has exactly
one delivery (a transaction whose answer was lost is resent as the same signed bytes, which the node already has),
and both processes carried on by themselves (the worker is one process from start to end; both logs say they rode
out a cut at a send).

Why one proxy each: the worker's cut is triggered by its own delivery, which pins the fault to the worst moment
(landed, unacknowledged) without racing the tiny model's execution time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT
from tests.reliability.rpc_proxy import RpcProxy
from tests.reliability.secrets_capture import anvil_dev_keys

pytestmark = pytest.mark.faults

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]
CUT_S = 6.0


def _deliveries(contracts, task_id: bytes) -> dict[int, list[str]]:
    """Every delivery on chain for the task, per beacon: ResultSubmitted (inner steps) and VoteCommitted (final steps)."""
    out: dict[int, list[str]] = {}
    for event in contracts.beacon.contract.events.ResultSubmitted().get_logs(from_block=0, argument_filters={"taskId": task_id}):
        out.setdefault(int(event["args"]["beaconId"]), []).append(event["args"]["agent"])
    for event in contracts.vote.contract.events.VoteCommitted().get_logs(from_block=0, argument_filters={"taskId": task_id}):
        out.setdefault(int(event["args"]["beaconId"]), []).append(event["args"]["voter"])
    return out


def _wait(condition, timeout: float, what: str, log: Path) -> None:  # noqa: ANN001 - a predicate
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def test_a_task_survives_an_rpc_outage_mid_task(chain, tiny_model_path, tmp_path):
    direct = chain.contracts(0)  # the test's own view: straight to anvil, never through the proxy
    with RpcProxy(chain.node.rpc_url) as proxy, RpcProxy(chain.node.rpc_url) as worker_proxy:
        manifest = chain.manifest.save(tmp_path / "deployment.json")
        config = {"chain": {"manifest": str(manifest), "rpc_url": worker_proxy.url},
                  "agent": {"name": "steady", "capability": "careful arithmetic", "capacity": 1,
                            "state_dir": str(tmp_path / "state"), "heartbeat_interval_s": 60,
                            "llm": {"model": str(tiny_model_path), "device": "cpu", "max_new_tokens": 48,
                                    "temperature": 0.0}}}
        (tmp_path / "steady.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
        env.update({"SYMPHONY_STATE_DIR": str(tmp_path / "state"), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
        keys = anvil_dev_keys(8)
        log_path = tmp_path / "steady.log"
        with open(log_path, "w") as log:
            worker = subprocess.Popen([*SYMPHONY, "agent", "run", "--config", str(tmp_path / "steady.json")],
                                      cwd=PROJECT_ROOT, env={**env, "SYMPHONY_PRIVATE_KEY": keys[7]},
                                      stdout=log, stderr=subprocess.STDOUT)
        ask = None
        try:
            _wait(lambda: direct.ledger.active_count() >= 1, 120, "registration", log_path)
            # The delivery is a signed transaction carrying commitResult's calldata: its selector, in the raw
            # transaction's hex, marks that one request (the bid before it carries another selector, and the gas
            # estimate of the delivery is no eth_sendRawTransaction*).
            selector = direct.beacon.contract.get_function_by_name("commitResult")(0, b"\0" * 32)._encode_transaction_data()[2:10]
            worker_proxy.cut_on((b"eth_sendRawTransaction", selector.encode()), CUT_S, also=(proxy,))  # and the requester's
            # The requester's own transaction meets a cut first: its close of the step (which assigns it) reaches
            # the node, the answer is lost, and the link is down for CUT_S (before: "cannot reach RPC endpoint", and
            # the chain was abandoned).
            close = direct.beacon.contract.get_function_by_name("close")(0)._encode_transaction_data()[2:10]
            proxy.cut_on((b"eth_sendRawTransaction", close.encode()), CUT_S)
            ask = subprocess.Popen([*SYMPHONY, "ask", "What is 2 + 3?", "--manifest", str(manifest), "--rpc-url", proxy.url,
                                    "--chains", "1", "--json"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env={**env, "SYMPHONY_PRIVATE_KEY": keys[5], "SYMPHONY_LLM__MODEL": str(tiny_model_path),
                                                   "SYMPHONY_REQUESTER__BID_WINDOW_S": "2", "SYMPHONY_REQUESTER__MIN_PLAN_STEPS": "1",
                                                   "SYMPHONY_REQUESTER__MAX_PLAN_STEPS": "1", "SYMPHONY_LLM__MAX_NEW_TOKENS": "8"})
            _wait(lambda: proxy.triggered_at is not None, 120, "the requester's close", log_path)
            close_cut_at = proxy.triggered_at
            # A later outage for the requester, inside the vote wait: its first read of the vote (a direct eth_call
            # of getVote, not the event router, which retries by itself) is lost, and the link is down again.
            get_vote = direct.vote.contract.get_function_by_name("getVote")(b"\0" * 32)._encode_transaction_data()[2:10]
            proxy.cut_on((b"eth_call", get_vote.encode()), CUT_S)
            _wait(lambda: worker_proxy.triggered_at is not None, 120, "the worker's delivery", log_path)
            out, err = ask.communicate(timeout=240)
            ask_done = time.time() - (worker_proxy.triggered_at or 0)
        finally:
            if ask is not None and ask.poll() is None:
                ask.kill()
            alive_after_task = worker.poll() is None
            worker.terminate()
            worker.wait(timeout=60)
    text = log_path.read_text()
    assert ask.returncode in (0, 1), err[-3000:]  # 1: the tiny model's only chain may abstain
    result = json.loads(out.splitlines()[-1])
    assert result["event"] == "result", (out[-2000:], err[-3000:], ask.returncode)
    assert alive_after_task, text[-3000:]  # the same process all along: no restart
    assert proxy.refused > 0, ("the requester did not meet the cut", worker_proxy.triggered_at,
                               [round(t - (worker_proxy.triggered_at or 0), 2) for t in proxy.accepted_at], ask_done)
    assert worker_proxy.triggered_at is not None, "the worker never delivered through its proxy"
    assert proxy.triggered_at is not None and proxy.triggered_at != close_cut_at, "the requester never read the vote through its proxy"
    assert "did not answer a send" in err, err[-3000:]  # the requester's close met its cut and rode it out
    task_id = bytes.fromhex(result["task_id"].removeprefix("0x"))
    deliveries = _deliveries(direct, task_id)
    assert deliveries and all(len(agents) == 1 for agents in deliveries.values()), deliveries  # nothing counted twice
    assert direct.beacon.get_task(task_id).settled  # the task finished on chain
    assert not result["chains"][0]["error"], result
    assert "did not answer a send" in text, text[-3000:]  # the worker met the outage at its delivery, rode it out
    stats = text[text.index("stopped: WorkerStats"):]
    assert "revealed=1" in stats, stats  # its vote, revealed after the outage
    reveals = direct.vote.contract.events.VoteRevealed().get_logs(from_block=0, argument_filters={"taskId": task_id})
    assert [e["args"]["voter"] for e in reveals] == [chain.node.dev_accounts[7].address]
