"""The chain commands of the `symphony` CLI, as a user runs them (subprocesses), including bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.chain.helpers import read_until

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
        output = read_until(up.stdout, "press Ctrl-C", timeout=60)
        assert "anvil running at http://127.0.0.1:" in output
        for name in ("CapabilityLedger", "TaskBeacon", "VoteCommitment"):
            assert name in output
        assert re.search(r"#1 0x[0-9a-fA-F]{40} 0x[0-9a-f]{64}", output), output  # dev accounts, as anvil prints them
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


def test_task_show_reads_a_settled_task_as_the_chain_records_it(chain, tmp_path):
    """`symphony task show` against a task driven through the bindings: the numbers it prints are the chain's."""
    from chain.bindings.beacon import ChainSpec
    from chain.bindings.vote import commitment
    from tests.chain.helpers import near, register, vector

    manifest = chain.manifest.save(tmp_path / "deployment.json")
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2, 3)]
    requirement = vector(3)
    for i, c in enumerate(agents):
        register(c, f"agent{i}", near(requirement, 20 + 20 * i, i))
    task = requester.beacon.post_task([ChainSpec((requirement,), b'{"q":"2+2"}')], bid_window=30, exec_window=300,
                                      executors=3, reward=10**13)
    beacon = task.beacon(0, 0)
    for c in agents:
        c.beacon.bid(beacon, [requirement])
    chain.node.increase_time(31)
    requester.beacon.close(beacon)
    opened = []
    for c, answer in zip(agents, ("4", "4", "5")):
        result, salt = f'{{"answer":"{answer}"}}'.encode(), os.urandom(32)
        c.beacon.commit_result(beacon, commitment(task.task_id, c.client.address, answer, result, salt))
        opened.append((c, answer, result, salt))
    for c, answer, result, salt in opened:
        c.vote.reveal(task.task_id, answer, result, salt)

    number = str(int.from_bytes(task.task_id, "big"))
    shown = run("task", "show", number, "--manifest", str(manifest), "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    step = record["chains"][0]["steps"][0]
    assert step["beacon"] == beacon and step["final"] and step["status"] == "completed"
    assert {b["agent"]: b["score"] for b in step["bids"]} == {b.agent: b.score / 1e18 for b in requester.beacon.bids(beacon)}
    assert {e["agent"] for e in step["executors"]} == {c.client.address for c in agents}
    assert all(e["delivered"] for e in step["executors"])
    vote = requester.vote.get(task.task_id)
    assert record["vote"]["phase"] == "finalized" and record["vote"]["winning_answer"] == vote.winning_answer == "4"
    assert record["vote"]["winning_weight"] == vote.winning_weight / 1e18 and record["settled"]
    text = run("task", "show", "0x" + task.task_id.hex(), "--manifest", str(manifest))  # the id as `ask` prints it
    assert text.returncode == 0 and f"beacon {beacon}" in text.stdout and "winning answer '4'" in text.stdout

    assert "no task 99 on this chain" in one_line_error(run("task", "show", "99", "--manifest", str(manifest)))
    assert "not a task id" in one_line_error(run("task", "show", "seven", "--manifest", str(manifest)))


def test_ctrl_c_cancels_ask_cleanly(chain, tmp_path, tiny_model_path):
    """Ctrl-C during `ask`: it stops within a second, posts nothing more, ends the task on chain (its unassigned
    step closed, the escrow withdrawn) and says what is left open."""
    from agents.capability import encode_vector
    from chain.bindings.beacon import BeaconStatus

    manifest = chain.manifest.save(tmp_path / "deployment.json")
    ledger = chain.contracts(1).ledger
    ledger.register("idle", "m", "", [], encode_vector("arithmetic"), 1, ledger.min_stake())  # lets ask's preflight pass
    env = {**os.environ, "SYMPHONY_PRIVATE_KEY": chain.node.dev_accounts[2].key.to_0x_hex(),
           "SYMPHONY_LLM__MODEL": str(tiny_model_path), "SYMPHONY_LLM__MAX_NEW_TOKENS": "8",
           "SYMPHONY_REQUESTER__BID_WINDOW_S": "120", "SYMPHONY_REQUESTER__CHAINS": "1",
           "SYMPHONY_REQUESTER__MIN_PLAN_STEPS": "1", "SYMPHONY_REQUESTER__MAX_PLAN_STEPS": "1"}
    ask = subprocess.Popen([*SYMPHONY, "ask", "What is 2 + 3?", "--manifest", str(manifest)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    try:
        read_until(ask.stderr, "posted task", timeout=120)
        height = chain.client(0).w3.eth.block_number
        ask.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, rest = ask.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if ask.poll() is None:
            ask.kill()
    assert ask.returncode == 130, rest
    assert "Traceback" not in rest
    assert took < 60, took  # well inside the 120 s bid window it would otherwise wait out
    last = rest.strip().splitlines()[-1]
    assert last.startswith("symphony: cancelled task") and "nothing more posted" in last, rest
    assert "1 unassigned step(s) closed on chain" in last, rest
    contracts = chain.contracts(0)
    task_id = (1).to_bytes(32, "big") if contracts.beacon.task_count() == 1 else None
    assert task_id is not None and contracts.beacon.is_cancelled(task_id)
    (beacon,), = contracts.beacon.task_beacons(task_id)
    assert contracts.beacon.get(beacon).status == BeaconStatus.UNFILLED
    requester = chain.node.dev_accounts[2].address
    assert contracts.beacon.credits(requester) == 0  # the refund was withdrawn
    # After the cancel: one cancelTask and at most one withdrawal, nothing posted, closed or re-opened.
    sent = [contracts.client.w3.eth.get_block(b, full_transactions=True)["transactions"]
            for b in range(height + 1, contracts.client.w3.eth.block_number + 1)]
    selectors = [bytes(tx["input"])[:4] for block in sent for tx in block]
    beacon_fns = contracts.beacon.contract.functions
    allowed = {bytes.fromhex(beacon_fns.cancelTask(task_id)._encode_transaction_data()[2:10]),
               bytes.fromhex(beacon_fns.withdrawCredit()._encode_transaction_data()[2:10])}
    assert selectors and set(selectors) <= allowed and len(selectors) <= 2, selectors


def test_task_cancel_ends_a_task_left_open(chain, tmp_path):
    """`symphony task cancel ID` with the requester's key: the unassigned step closes, the assigned one stays
    payable, the refund is withdrawn; another key, a second cancel and an unknown task get one line, exit 2."""
    from chain.bindings.beacon import BeaconStatus, ChainSpec
    from tests.chain.helpers import near, register, vector

    manifest = chain.manifest.save(tmp_path / "deployment.json")
    requester, agent = chain.contracts(0), chain.contracts(1)
    requirement = vector(3)
    register(agent, "agent", near(requirement, 20, 1))
    task = requester.beacon.post_task([ChainSpec((requirement,), b'{"q":"2+2"}')] * 2, bid_window=30, exec_window=300,
                                      executors=1, reward=10**13)
    assigned, waiting = task.beacon(0, 0), task.beacon(1, 0)
    agent.beacon.bid(assigned, [requirement])
    chain.node.increase_time(31)
    requester.beacon.close(assigned)
    key = lambda i: {**os.environ, "SYMPHONY_PRIVATE_KEY": chain.node.dev_accounts[i].key.to_0x_hex()}  # noqa: E731

    stranger = run("task", "cancel", "1", "--manifest", str(manifest), env=key(3))
    assert "was posted by" in one_line_error(stranger) and not requester.beacon.is_cancelled(task.task_id)
    done = run("task", "cancel", "1", "--manifest", str(manifest), env=key(0))
    assert done.returncode == 0, done.stderr
    assert "cancelled task 1" in done.stdout and "1 still assigned" in done.stdout and f"{10**13} wei refunded" in done.stdout
    assert requester.beacon.is_cancelled(task.task_id) and requester.beacon.credits(requester.client.address) == 0
    assert requester.beacon.get(waiting).status == BeaconStatus.UNFILLED
    assert requester.beacon.get(assigned).status == BeaconStatus.ASSIGNED  # its executor may still deliver
    assert "already cancelled" in one_line_error(run("task", "cancel", "1", "--manifest", str(manifest), env=key(0)))
    assert "no task 9 on this chain" in one_line_error(run("task", "cancel", "9", "--manifest", str(manifest), env=key(0)))
    shown = run("task", "show", "1", "--manifest", str(manifest))
    assert "cancelled" in shown.stdout.splitlines()[0]
