"""Issue #4, Symphony integration: detectors are agents on the capability ledger, a detection request is a task of
one-step chains, their verdicts are settled by the weighted vote — whose outcome is each detector's verified record
for detection work, which then weights its next bids — and resolved evaluations move their reputation.

Everything is real: anvil, the Symphony contracts and the Hide-and-Shill market, three detector agents (worker
threads with rule detectors of different thresholds) and one reasoning agent on a tiny random LLM, which must
not bid on detection work.
"""

from __future__ import annotations

import time

import pytest

from agents.capability import encode_vector
from agents.executor import StepExecutor
from agents.profile import AgentProfile
from agents.settings import LLMSettings
from agents.worker import AgentWorker
from chain.bindings.beacon import ChainSpec, chain_of
from chain.vectors import bid_score
from marl_detector.committee.agent import DETECTOR_TAG, build_detector_agent
from marl_detector.committee.request import DETECTION_KIND, MANIPULATION, ORGANIC, REQUIREMENT, DetectionRequest
from marl_detector.committee.requester import CommitteeSettings, DetectionRequester
from marl_detector.live import RuleDetector
from marl_detector.onchain.accounts import chain_time, mine_at
from marl_detector.onchain.book import PredictionBook
from marl_detector.onchain.deployment import WAD, bind_market, deploy_market
from marl_detector.onchain.market import OnchainMarket, Trade, launch_pool
from marl_detector.onchain.evaluation import EvaluationLogClient, Status
from marl_detector.onchain.posts import PostFeed
from marl_detector.outcome import Label
from symphony.cli.main import main
from tests.detector.campaign import TICKERS, pump_and_dump, stage_market

H = 1_200
DETECTORS = {  # name: (declared capability, detector); "skeptic" needs 50 posts in 30 min: it calls PUMP organic
    "hype": ("pump-and-dump detection from on-chain trades and bursts of social posts by coordinated young accounts",
             RuleDetector()),
    "graph": ("detecting shilling campaigns from social graph coordination and sybil clusters around DeFi tokens",
              RuleDetector(min_young_share=0.3)),
    "skeptic": ("general DeFi token market analysis", RuleDetector(min_posts=50)),
}


def _step_towards(target: int, current: int) -> int:
    """EvaluationLog's reputation step: 1/8 of the way to the target, rounded towards zero like Solidity."""
    d = target - current
    return d // 8 if d >= 0 else -((-d) // 8)


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def scene(chain, tmp_path, tiny_model_path):
    operator = chain.client(0)
    market, manifest = deploy_market(operator, TICKERS, seed_quote=50 * WAD, seed_price_wad=10**14,
                                     ledger=chain.manifest.address("CapabilityLedger"), min_horizon=400,
                                     manifest=chain.manifest.model_copy(deep=True))
    manifest_path = manifest.save(tmp_path / "deployment.json")
    chain.contracts(0).ledger.set_authorized(market.log.address, True)  # resolutions move reputation
    posts = tmp_path / "posts.jsonl"
    books, start = stage_market(operator, market, posts)
    mine_at(operator.w3, start + 3_600)

    agents = []
    for i, (name, (capability, detector)) in enumerate(DETECTORS.items(), start=1):
        profile = AgentProfile(name=name, capability=capability, state_dir=tmp_path / "agents")
        contracts = chain.contracts(i)  # each agent binds its own view of the market, as a separate process would
        agents.append(build_detector_agent(profile, contracts, bind_market(contracts.client, manifest), detector,
                                           feed=PostFeed(posts), keeper_interval_s=0.2))
    from agents.llm.transformers_backend import TransformersBackend

    reasoner_profile = AgentProfile(name="reasoner", capability="arithmetic and step by step reasoning",
                                    state_dir=tmp_path / "agents", llm=LLMSettings(model=str(tiny_model_path), device="cpu"))
    backend = TransformersBackend(tiny_model_path, device="cpu")
    reasoner = AgentWorker(reasoner_profile, chain.contracts(4), StepExecutor(backend, reasoner_profile),
                           encode_vector(reasoner_profile.capability))
    requester_contracts = chain.contracts(5)  # not the market operator: its own account, its own nonces
    book = PredictionBook(EvaluationLogClient(requester_contracts.client, market.log), tmp_path / "committee.json", None)
    requester = None
    try:
        for agent in agents:
            agent.start()
        reasoner.start()
        requester = DetectionRequester(requester_contracts, market, encode_vector, book,
                                       CommitteeSettings(detectors=3, horizon_s=H, lookback_s=3_600, bid_window_s=1, exec_window_s=120,
                                                         lead_s=200, reward_wei=10**12))  # paid: the vote's successes count as evidence
        yield chain, market, manifest_path, books, agents, reasoner, requester
    finally:
        if requester is not None:
            requester.close()
        for agent in agents:
            agent.stop(announce=False)
        reasoner.stop(announce=False)
        backend.close()


def test_detection_request_is_settled_by_weighted_vote_and_resolution_moves_reputation(scene, capsys):
    chain, market, manifest_path, books, agents, reasoner, requester = scene
    w3 = chain.client(0).w3
    ledger = chain.contracts(0).ledger
    names = {a.address: a.worker.profile.name for a in agents}
    for a in agents:  # registered as detectors, with the detector's model hash as their model
        info = ledger.get_agent(a.address)
        assert DETECTOR_TAG in info.tags and info.model_id == a.executor.model_id
    assert sorted(requester.available_detectors()) == sorted(names)

    verdict = requester.request("PUMP")

    # Three different detector agents answered, one per chain, each weighted by its own bid score.
    answered = {names[v.agent]: v for v in verdict.votes}
    assert set(answered) == set(DETECTORS)
    assert {n: v.revealed_answer for n, v in answered.items()} == {"hype": MANIPULATION, "graph": MANIPULATION, "skeptic": ORGANIC}
    requirement = encode_vector(REQUIREMENT)
    assert requester.contracts.beacon.kind_of(verdict.votes[0].beacon_ids[-1]) == DETECTION_KIND
    for name, v in answered.items():
        capability = encode_vector(DETECTORS[name][0])
        assert v.score == bid_score(capability, requirement)  # no record yet: match x 1/2
        assert v.weight == v.score  # one-step chain: the chain weight is the executor's bid score
    assert verdict.answer == MANIPULATION and verdict.label == 1
    assert verdict.winning_weight == answered["hype"].weight + answered["graph"].weight
    assert verdict.total_weight == sum(v.weight for v in verdict.votes)
    # The reasoning agent saw every detection beacon and bid on none of them.
    assert all(b.agent in names for v in verdict.votes for bid_id in v.beacon_ids for b in requester.contracts.beacon.bids(bid_id))
    assert reasoner.stats.bids == 0

    # The request opened one window; every detector committed its own prediction to it before its start, and the
    # committee logged the verdict there as the opener's entry.
    log = EvaluationLogClient(chain.client(0), market.log)
    window = log.window(verdict.window_id)
    assert (window.opener, window.pool, window.t0, window.horizon) == (requester.contracts.client.address, verdict.pool,
                                                                       verdict.t0, H)
    individual = {names[v.agent]: log.get(v.evaluation_id) for v in verdict.votes}
    committee = log.get(verdict.evaluation_id)
    assert committee.detector == requester.contracts.client.address and committee.model_hash == verdict.task_id
    assert (committee.status, committee.predicted, committee.opener_entry) == (Status.REVEALED, 1, True)
    for name, e in individual.items():
        assert e.detector != committee.detector and e.status == Status.COMMITTED and not e.opener_entry
        assert e.window_id == window.id and e.committed_at < e.t0 == verdict.t0 and e.horizon == H
    request = DetectionRequest.decode(requester.contracts.beacon.contract.events.ChainPosted().get_logs(
        from_block=0, argument_filters={"chainId": chain_of(verdict.votes[0].beacon_ids[-1])})[0]["args"]["payload"])
    assert (request.ticker, request.t0, request.horizon, request.window_id) == ("PUMP", verdict.t0, H, window.id)

    # The outcome plays out inside the window, after every commitment: pump and dump.
    before = {a.address: ledger.reputation(a.address) for a in agents}
    mine_at(w3, verdict.t0)
    pump_and_dump(books, verdict.t0)
    last_t0 = committee.t0
    mine_at(w3, last_t0 + H // 2 + 10)  # the agents' keepers reveal at H/2
    _wait_until(lambda: all(log.get(e.id).status == Status.REVEALED for e in individual.values()), 30, "the keepers' reveals")
    mine_at(w3, last_t0 + H + 1)
    _wait_until(lambda: all(log.get(e.id).status == Status.RESOLVED for e in individual.values()), 30, "the keepers' resolves")
    requester.book.settle_due(chain_time(w3))  # the committee entry is the requester's to resolve (or any keeper's)

    settled = {name: log.get(e.id) for name, e in individual.items()}
    assert all(e.outcome == Label.MANIPULATION for e in settled.values())
    assert {n: e.score for n, e in settled.items()} == {"hype": 10, "graph": 10, "skeptic": -5}
    assert log.get(committee.id).score == 10
    after = {a.address: ledger.reputation(a.address) for a in agents}
    targets = {"hype": 2 * 10**18, "graph": 2 * 10**18, "skeptic": 5 * 10**17}  # TP, TP, FN
    assert {names[k]: after[k] - before[k] for k in after} == {n: _step_towards(targets[n], before[a.address])
                                                               for a in agents for n in [names[a.address]]}
    # The vote moved no reputation (it records evidence); the resolutions put the dissenter well below the others.
    assert set(before.values()) == {10**18}
    assert after[agents[2].address] < 10**18 < after[agents[0].address]
    # The vote's outcome is each detector's verified record for detection work.
    records = {names[a.address]: ledger.evidence(a.address, DETECTION_KIND) for a in agents}
    assert records["hype"][0] >= 1 and records["graph"][0] >= 1 and records["skeptic"][1] >= 1

    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(manifest_path)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("OK: 4 evaluations (4 resolved") and out.endswith("1 committee verdicts match their votes"), out

    # The record now weights the next vote: each bid score is the capability match times the trust the ledger
    # derives from the detector's verified outcomes (docs/protocol.md "Score").
    # The pool is launched only now: the agents discover it on the factory when asked about it.
    operator = chain.client(0)
    now = chain_time(w3)
    entry = launch_pool(operator, market, "LATE", 50 * WAD, 50 * WAD * 10**4, now + 10)
    late = OnchainMarket(operator, entry, market.quote, seed=5)
    for k in range(1, 6):
        late.execute(Trade(now + 10 + 60 * k, f"late{k % 2}", k % 2 == 1, WAD // 10 if k % 2 else 10**20))
    beacon = requester.contracts.beacon
    me = requester.contracts.client.address
    records = {a.address: (ledger.evidence(a.address, DETECTION_KIND), ledger.get_agent(a.address),
                           beacon.experience_of(me, a.address)) for a in agents}
    assert records[agents[2].address][2] == (0, 1)  # the requester's own record: the dissenter's lone answer lost
    second = requester.request("LATE")
    assert second.answer == ORGANIC and all(v.result and not v.result.abstained for v in second.votes)
    weights = {}
    for v in second.votes:
        name = names[v.agent]
        (s, f), info, (good, bad) = records[v.agent]  # the record at bid time, the ledger's and the requester's
        expected = bid_score(encode_vector(DETECTORS[name][0]), requirement, s, f, info.successes, info.failures,
                             good, bad)
        assert v.weight == expected, name
        weights[name] = v.weight
    first = {n: v.weight for n, v in answered.items()}
    assert weights["skeptic"] < first["skeptic"] and weights["hype"] > first["hype"]  # evidence, not claims


def test_verify_flags_a_committee_entry_without_a_settled_vote(chain, tmp_path, capsys):
    """An entry whose modelHash names a task of its own detector claims to log that task's vote: with no
    finalized vote behind it, `symphony eval verify` reports it and fails."""
    operator = chain.client(0)
    market, manifest = deploy_market(operator, TICKERS, min_horizon=400, manifest=chain.manifest.model_copy(deep=True))
    manifest_path = manifest.save(tmp_path / "deployment.json")
    mine_at(operator.w3, chain_time(operator.w3) + 100)
    forger = chain.contracts(6)
    task_id = forger.beacon.post_task([ChainSpec((bytes([1]) * 32,), b"{}")], bid_window=10, exec_window=10).task_id
    # owns the task, but no vote ever happened
    book = PredictionBook(EvaluationLogClient(forger.client, market.log), None, None)
    window = book.log.open_window(market.pools["PUMP"].pool.address, H, lead=30)  # its own window: an opener entry
    p = book.commit(window.id, 1, 9_000, task_id)
    book.reveal_now(p.eval_id)
    capsys.readouterr()
    assert main(["eval", "verify", "--manifest", str(manifest_path)]) == 1
    out = capsys.readouterr().out
    assert f"evaluation #{p.eval_id}: committee entry of task 0x{task_id.hex()}: the vote is not finalized (NONE)" in out
