"""docs/audit-with-cast.md as a third party runs it: every ```bash block of the guide, run with the project's cast
against a chain where one task went through its whole lifecycle and one EvaluationLog entry was resolved, each
output checked field by field against `chain.task_view.task_record` and the EvaluationLog's Python view.

Why the commands are read from the guide: the guide and this test cannot drift apart. The only edits made to them
are the values of the `export NAME=value` lines the guide asks the reader to set (RPC URL, manifest, task number,
beacon, reveal transaction, entry id); every other line runs verbatim.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

from chain.bindings.beacon import BeaconStatus, ChainSpec
from chain.bindings.vote import VotePhase, commitment
from chain.task_view import WAD, task_record
from core.paths import tool_path
from marl_detector.onchain import evaluation
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.deployment import EVALUATION_LOG
from marl_detector.onchain.evaluation import EvaluationLogClient, model_hash_of
from marl_detector.outcome import Label
from tests.chain.helpers import near, register, vector
from tests.detector.campaign import staked_market

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "audit-with-cast.md"
MARK = "@@@ audit block "
SETTING = re.compile(r"^export (\w+)=(\S+)", re.M)


# -- reading the guide and cast's output -------------------------------------------------------------------
def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)


def run_guide(blocks: list[str], settings: dict[str, str]) -> list[str]:
    """Run every block in one bash (later blocks use earlier blocks' variables); the output of each block.
    The optional `jq` block is left out (empty output) where jq is not installed."""
    used: set[str] = set()
    if shutil.which("jq") is None:
        blocks = ["true\n" if b.lstrip().startswith("jq ") else b for b in blocks]

    def fill(match: re.Match) -> str:
        if match[1] not in settings:
            return match[0]
        used.add(match[1])
        return f"export {match[1]}={settings[match[1]]}"

    script = "set -euo pipefail\n" + "".join(f"echo '{MARK}{i}'\n{SETTING.sub(fill, b)}\n" for i, b in enumerate(blocks))
    assert used == set(settings), f"the guide never asks to set {set(settings) - used}"
    path = f"{tool_path('cast').parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "LC_ALL": "C"})
    assert done.returncode == 0, f"the guide's commands failed:\n{done.stderr[-3000:]}\n{done.stdout[-3000:]}"
    parts = re.split(rf"^{MARK}(\d+)\n", done.stdout, flags=re.M)
    assert [int(i) for i in parts[1::2]] == list(range(len(blocks)))
    return parts[2::2]


_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|0x[0-9a-fA-F]*|-?\d+(?: \[[^\]]*\])?|true|false|[()\[\],])')


def parse_value(text: str):
    """One value as `cast call` prints it: tuples `( … )`, arrays `[ … ]`, quoted strings, hex, numbers with
    their rounded form in brackets, booleans."""
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"cannot read cast output at {text[pos:pos + 40]!r}"
        tokens.append(m[1])
        pos = m.end()

    def value(i: int):
        t = tokens[i]
        if t in "([":
            items, i = [], i + 1
            while tokens[i] not in ")]":
                item, i = value(i)
                items.append(item)
                if tokens[i] == ",":
                    i += 1
            return (tuple(items) if t == "(" else items), i + 1
        if t.startswith('"'):
            return json.loads(t), i + 1
        if t in ("true", "false"):
            return t == "true", i + 1
        if t.startswith("0x"):
            return t, i + 1
        return int(t.split()[0]), i + 1

    result, end = value(0)
    assert end == len(tokens), text
    return result


def fields(output: str) -> list:
    """A static struct decoded as plain values: one per line."""
    return [parse_value(line) for line in output.strip().splitlines()]


def parse_logs(output: str) -> list[dict]:
    """`cast logs` output: each entry's data, topics and transaction hash."""
    logs = []
    for entry in re.split(r"^- ", output, flags=re.M)[1:]:
        logs.append({
            "data": re.search(r"^\s*data: (0x[0-9a-f]*)$", entry, re.M)[1],
            "topics": re.findall(r"^\s+(0x[0-9a-f]{64})$", entry, re.M),
            "tx": re.search(r"^\s*transactionHash: (0x[0-9a-f]{64})$", entry, re.M)[1],
        })
    return logs


def topic_address(topic: str) -> str:
    return "0x" + topic[-40:]


def same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def canonical(param: dict) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(canonical(c) for c in param["components"]) + ")" + param["type"][len("tuple"):]
    return param["type"]


def is_static(param: dict) -> bool:
    if param["type"] == "tuple":
        return all(is_static(c) for c in param["components"])
    return param["type"] not in ("string", "bytes") and not param["type"].endswith("]")


# -- driving the chain ---------------------------------------------------------------------------------------
def drive_task(chain) -> dict:
    """One task of two chains (2 steps and 1 step, k = 2) through bids, assignment, deliveries, commitments and
    reveals; chain 0 answers "4" twice, chain 1 "5" once (one final slot per agent per task)."""
    requester = chain.contracts(0)
    agents = {c.client.address: c for c in (chain.contracts(i) for i in (1, 2, 3))}
    requirement = vector(5)
    for i, c in enumerate(agents.values()):
        register(c, f"agent{i}", near(requirement, 10 + 25 * i, i), capacity=3)
    payload = b'{"q":"2+2"}'
    task = requester.beacon.post_task([ChainSpec((requirement, requirement), payload), ChainSpec((requirement,), payload)],
                                      bid_window=30, exec_window=300, executors=2, reward=10**13)
    first, second, other = task.beacon(0, 0), task.beacon(0, 1), task.beacon(1, 0)
    for c in agents.values():
        c.beacon.bid(first, [requirement, requirement])
        c.beacon.bid(second, [requirement, requirement])
        c.beacon.bid(other, [requirement])
    chain.node.increase_time(31)
    requester.beacon.close(first)
    requester.beacon.close(other)
    results = {first: []}
    for agent in requester.beacon.executors(first):
        result = f"step 0 by {agent}".encode()
        agents[agent].beacon.submit_result(first, result)
        results[first].append((agent, result))
    votes = []
    for beacon, answer in ((second, "4"), (other, "5")):
        for agent in requester.beacon.executors(beacon):
            result, salt = json.dumps({"answer": answer}).encode(), os.urandom(32)
            c = commitment(task.task_id, agent, answer, result, salt)
            agents[agent].beacon.commit_result(beacon, c)
            votes.append({"agent": agent, "beacon": beacon, "answer": answer, "result": result, "salt": salt, "commitment": c})
    for v in votes:
        receipt = agents[v["agent"]].vote.reveal(task.task_id, v["answer"], v["result"], v["salt"])
        v["reveal_tx"] = receipt["transactionHash"].to_0x_hex()
    return {"task": task, "results": results, "votes": votes}


def drive_evaluation(chain) -> tuple[object, EvaluationLogClient, int]:
    """A Hide-and-Shill window on the core ledger: dev account 6 commits "no manipulation", reveals, and the entry
    is resolved (a flat market: a true negative)."""
    market, manifest = staked_market(chain.node, chain.manifest, ["AAA"], detectors=(6,))
    w3 = chain.client(0).w3
    mine_at(w3, chain_time(w3) + 100)
    window = EvaluationLogClient(chain.client(5), market.log).open_window(market.pools["AAA"].pool.address, 400, lead=20)
    detector = EvaluationLogClient(chain.client(6), market.log)
    pending = detector.commit(window.id, 0, 2_000, model_hash_of("audit-rule"))
    detector.reveal(pending)
    mine_at(w3, window.t0 + 400)
    EvaluationLogClient(chain.client(8), market.log).resolve(pending.eval_id)
    return manifest, detector, pending.eval_id


# -- the test ------------------------------------------------------------------------------------------------
def test_the_cast_audit_guide_reads_what_the_project_reads(chain, tmp_path):
    text = GUIDE.read_text()
    blocks = bash_blocks(text)
    check_signatures(blocks, chain)
    check_enums(text)

    driven = drive_task(chain)
    manifest, log, eval_id = drive_evaluation(chain)
    path = manifest.save(tmp_path / "deployment.json")
    contracts = chain.contracts(0)
    task = driven["task"]
    record = task_record(contracts, task.task_id)
    steps = [s for c in record["chains"] for s in c["steps"]]
    votes = driven["votes"]
    assert len(steps) == 3 and len(votes) == 3 and record["settled"]

    for step, vote in zip(steps, votes):  # every beacon of the task, and each reveal once
        settings = {"RPC": chain.node.rpc_url, "MANIFEST": str(path), "N": str(record["task"]), "B": str(step["beacon"]),
                    "REVEAL_TX": vote["reveal_tx"], "ID": str(eval_id)}
        outputs = run_guide(blocks, settings)
        checked: set[int] = set()

        def out(*needles: str, without: str | None = None) -> str:
            found = [i for i, b in enumerate(blocks) if all(n in b for n in needles) and (without is None or without not in b)]
            assert len(found) == 1, f"expected one block with {needles} in the guide, found {len(found)}"
            checked.add(found[0])
            return outputs[found[0]]

        # setup: the addresses, the chain
        line, chain_id = out("cast chain-id").strip().splitlines()
        assert line.split() == [manifest.address("TaskBeacon"), manifest.address("VoteCommitment"),
                                manifest.address(EVALUATION_LOG), str(manifest.deploy_block), record["task_id"]]
        assert int(chain_id) == manifest.chain_id
        jq = out("jq -r")
        if shutil.which("jq"):
            assert jq.split() == [manifest.address(n) for n in ("TaskBeacon", "VoteCommitment", EVALUATION_LOG)]
        interface = out("cast interface")
        assert "struct BeaconInfo {" in interface and "function getTask(bytes32 taskId)" in interface

        # the task
        count, *info = fields(out("taskCount()"))
        assert count == contracts.beacon.task_count() == record["task"]
        assert info == [record["requester"], record["chains"][0]["chain_id"], len(record["chains"]),
                        record["expected_voters"], record["settled"], record["kind"]]

        # chains, weights, beacons
        lines = out("for C in").strip().splitlines()
        assert len(lines) == len(record["chains"])
        for line, c in zip(lines, record["chains"]):
            m = re.fullmatch(r"chain (\d+) weight ([0-9.]+) beacons ([0-9 ]+)", line)
            assert m, line
            assert int(m[1]) == c["chain_id"]
            assert Decimal(m[2]) * WAD == contracts.beacon.chain_weight(c["chain_id"]) and float(Decimal(m[2])) == c["weight"]
            assert [int(b) for b in m[3].split()] == [s["beacon"] for s in c["steps"]]

        # the step
        b = fields(out('"$BEACON_INFO" $B'))
        assert len(b) == 19
        assert (b[0], b[1], b[3], b[6]) == (record["task_id"], step["beacon"] // 8, step["step"], step["final"])
        assert BeaconStatus(b[7]).name.lower() == step["status"] == "completed"
        assert (b[14], b[15], b[17], b[18]) == (step["reward_per_executor_wei"], len(step["bids"]),
                                                sum(e["delivered"] for e in step["executors"]), step["reassignment_rounds"])
        assert b[5] == 2 and b[16] == len(step["executors"])
        bids = parse_value(out("getBids("))
        assert [(a, s / WAD, n) for a, s, n in bids] == [(x["agent"], x["score"], x["newcomer"]) for x in step["bids"]]
        assert [(a, s) for a, s, _ in bids] == [(x.agent, x.score) for x in contracts.beacon.bids(step["beacon"])]
        assert len(bids) == 3
        executors = [line.split() for line in out("executorsOf(").strip().splitlines()]
        assert [(a, d == "true") for a, word, d in executors] == [(e["agent"], e["delivered"]) for e in step["executors"]]
        assert all(word == "delivered" for _, word, _ in executors) and executors

        # a non-final step's deliveries
        submitted = parse_logs(out("ResultSubmitted(", without="decode-abi"))
        texts = out("ResultSubmitted(", "decode-abi").splitlines()
        expected = driven["results"].get(step["beacon"], [])
        assert bool(expected) == (not step["final"])
        assert [(topic_address(x["topics"][2]).lower(), int(x["topics"][1], 16)) for x in submitted] == \
               [(a.lower(), step["beacon"]) for a, _ in expected]
        assert texts == [r.decode() for _, r in expected]
        if not step["final"]:
            assert {a.lower() for a, _ in expected} == {e["agent"].lower() for e in step["executors"] if e["delivered"]}

        # the vote
        v = record["vote"]
        (phase, _commit_deadline, _reveal_deadline, commits, reveals, expected_voters, winner, winning, total), voters = \
            fields(out("getVote("))
        assert VotePhase(phase).name.lower() == v["phase"] == "finalized"
        assert (commits, reveals, expected_voters, winner) == (v["commits"], v["reveals"], record["expected_voters"], v["winning_answer"])
        assert (winning / WAD, total / WAD) == (v["winning_weight"], v["total_weight"])
        exact = contracts.vote.get(task.task_id)  # the record's weights are floats: compare the wei exactly too
        assert (winning, total) == (exact.winning_weight, exact.total_weight)
        assert [(bb, r, ab, ans) for bb, _pos, r, ab, ans in voters] == \
               [(x["beacon"], x["revealed"], x["abstained"], x["answer"]) for x in v["voters"]]
        committed = parse_logs(out("VoteCommitted("))
        assert [(topic_address(x["topics"][2]).lower(), int(x["topics"][3], 16), x["data"]) for x in committed] == \
               [(x["agent"].lower(), x["beacon"], "0x" + x["commitment"].hex()) for x in votes]
        assert [int(x["topics"][3], 16) for x in committed] == [x["beacon"] for x in v["voters"]]
        revealed = [re.fullmatch(r'(0x[0-9a-f]{64}) ("(?:[^"\\]|\\.)*") (\d+)(?: \[[^\]]*\])? (0x[0-9a-f]*) ', line).groups()
                    for line in out("VoteRevealed(").splitlines()]
        weights: dict[str, int] = {}
        for (tx, answer, weight, result), x in zip(revealed, votes, strict=True):
            assert (tx, json.loads(answer), bytes.fromhex(result[2:])) == (x["reveal_tx"], x["answer"], x["result"])
            assert int(weight) == contracts.beacon.chain_weight(x["beacon"] // 8)
            weights[x["answer"]] = weights.get(x["answer"], 0) + int(weight)
        assert weights[v["winning_answer"]] == winning == max(weights.values()) and sum(weights.values()) == total
        assert v["winning_answer"] == "4" and set(weights) == {"4", "5"}
        voter, recomputed = out("REVEAL_TX").split()
        assert (voter, recomputed) == (vote["agent"], "0x" + vote["commitment"].hex())

        # the EvaluationLog entry
        count, *entry = fields(out("evaluationCount()"))
        e = log.get(eval_id)
        assert count == log.count() == 1
        assert len(entry) == 17
        assert evaluation.Status(entry[4]) == e.status == evaluation.Status.RESOLVED and Label(entry[7]) == e.outcome
        assert entry == [e.detector, e.t0, e.horizon, e.pool, e.status.value, e.predicted, e.confidence, e.outcome.value,
                         e.score, e.base, e.commitment, e.model_hash, e.r_peak_bp, e.r_end_bp, e.window_id, e.committed_at,
                         e.opener_entry]
        assert (e.predicted, e.confidence, e.score) == (0, 2_000, 1)
        assert out("Revealed(uint256").strip() == e.commitment

        quiet = {i for i, o in enumerate(outputs) if not o.strip()}  # settings and definitions print nothing
        unchecked = set(range(len(blocks))) - checked - quiet
        assert not unchecked, f"blocks of the guide this test does not check: {[blocks[i][:60] for i in sorted(unchecked)]}"


def check_signatures(blocks: list[str], chain) -> None:
    """Every `cast call` and `cast logs` signature of the guide is the deployed ABI's (a static struct may be read
    as its fields)."""
    from chain.compile import compile_contracts

    artifacts = compile_contracts()
    abis = {"BEACON": artifacts["TaskBeacon"].abi, "VOTE": artifacts["VoteCommitment"].abi, "LOG": artifacts["EvaluationLog"].abi}
    code = "\n".join(blocks)
    named = dict(re.findall(r"^(\w+)='([^']+)'$", code, re.M))
    calls = re.findall(r'cast call \$(\w+) "([^"]+)"', code)
    assert len(calls) >= 12, calls
    for contract, sig in calls:
        sig = named.get(sig[1:], sig) if sig.startswith("$") else sig
        m = re.fullmatch(r"(\w+)\(([^)]*)\)\((.*)\)", sig)
        assert m, sig
        name, args, returns = m.groups()
        (fn,) = [f for f in abis[contract] if f.get("type") == "function" and f["name"] == name]
        assert ",".join(canonical(i) for i in fn["inputs"]) == args, sig
        exact = ",".join(canonical(o) for o in fn["outputs"])
        flat = None
        if len(fn["outputs"]) == 1 and fn["outputs"][0]["type"] == "tuple" and is_static(fn["outputs"][0]):
            flat = ",".join(canonical(c) for c in fn["outputs"][0]["components"])
        assert returns in (exact, flat), f"{sig}: the ABI returns ({exact})"
    events = re.findall(r'cast logs .*?--address \$(\w+) "(\w+)\(([^)]*)\)"', code)
    assert len(events) >= 5, events
    for contract, name, params in events:
        (ev,) = [e for e in abis[contract] if e.get("type") == "event" and e["name"] == name]
        assert params == ",".join(canonical(i) + (" indexed" if i["indexed"] else "") for i in ev["inputs"]), name
    assert chain.manifest.contracts["TaskBeacon"].abi_sha256 == artifacts["TaskBeacon"].abi_sha256


def check_enums(text: str) -> None:
    """The enum values the guide lists are the Solidity sources' and the Python bindings'."""
    for qualified, source, python in [("ITaskBeacon.Status", "contracts/interfaces/ITaskBeacon.sol", BeaconStatus),
                                      ("IVoteCommitment.Phase", "contracts/interfaces/IVoteCommitment.sol", VotePhase),
                                      ("EvaluationLog.Status", "contracts/hideshill/EvaluationLog.sol", evaluation.Status),
                                      ("OutcomeLib.Outcome", "contracts/hideshill/OutcomeLib.sol", Label)]:
        m = re.search(rf"`{re.escape(qualified)}` in `{re.escape(source)}`:\s*((?:\d+ \w+,?\s*)+)", text)
        assert m, f"the guide does not say where {qualified} is defined"
        listed = [(int(k), n) for k, n in re.findall(r"(\d+) (\w+)", m[1])]
        body = re.search(rf"enum {qualified.split('.')[1]} \{{(.*?)\}}", (ROOT / source).read_text(), re.S)[1]
        names = [re.sub(r"//.*", "", x).strip() for x in re.sub(r"//[^\n]*", "", body).split(",")]
        assert listed == list(enumerate(n for n in names if n)), qualified
        assert [(k, n.upper()) for k, n in listed] == [(p.value, p.name) for p in python], qualified
