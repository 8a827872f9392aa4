#!/usr/bin/env python
"""Detector committee benchmark: Hide-and-Shill detectors as Symphony agents, on held-out episodes played on anvil.

Each episode of the simulator's test split (held-out campaign styles, news, quiet and organic-hype markets) is
replayed on an embedded anvil as real swaps, with its posts written to the feed. At the episode's commit time a
requester posts a detection request (a beacon per detector chain); three detector agents — the GRPO detector,
the hype-plus-buying rule, and a naive "any burst of posts" rule, all declaring the same capability — answer on
their own chains, each committing its own prediction to EvaluationLog; the reputation-weighted vote settles the
verdict, which the requester logs as the committee entry. The market then plays out its horizon and every entry
is resolved by the contract from on-chain prices; resolutions move each agent's reputation, hence its next weight.

Everything in the table is read back from the chain: per-detector and committee precision/recall/F1 and score
against the contract's own outcome, the unweighted majority of the revealed answers for comparison, reputation
after each episode, and per request: wall seconds, transactions and gas of all the blocks the request mined.
Prints a table and writes results/bench_committee.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.capability import encode_vector  # noqa: E402
from agents.profile import AgentProfile  # noqa: E402
from chain.bindings import SymphonyContracts  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.compile import compile_contracts, compiler_version  # noqa: E402
from chain.deploy import deploy_symphony  # noqa: E402
from core.errors import SymphonyError  # noqa: E402
from chain.node import AnvilNode  # noqa: E402
from marl_detector.calibration import TimingCalibration, calibrate  # noqa: E402
from marl_detector.committee.agent import build_detector_agent  # noqa: E402
from marl_detector.settings import DEFAULT_CAPABILITY  # noqa: E402
from marl_detector.committee.request import label_of  # noqa: E402
from marl_detector.committee.requester import CommitteeSettings, DetectionRequester  # noqa: E402
from marl_detector.live import RuleDetector, TrainedDetector, load_live_detector  # noqa: E402
from marl_detector.manipulator import ManipulatorConfig, ManipulatorPolicy, train_manipulator  # noqa: E402
from marl_detector.onchain.accounts import TimedSender, chain_time, mine_at  # noqa: E402
from marl_detector.onchain.book import PredictionBook  # noqa: E402
from marl_detector.onchain.campaign import play_episode  # noqa: E402
from marl_detector.onchain.deployment import Market, bind_market, deploy_market  # noqa: E402
from marl_detector.onchain.evaluation import EvaluationLogClient, Status  # noqa: E402
from marl_detector.onchain.posts import PostFeed  # noqa: E402
from marl_detector.onchain.verify import VerifyReport, verify_log  # noqa: E402
from marl_detector.outcome import Label  # noqa: E402
from marl_detector.sim import HORIZON, PRE_STEPS, STEP, STYLE_DEFAULTS, EpisodeSpec, simulate_episode  # noqa: E402
from marl_detector.social import World, build_world  # noqa: E402

TEST_STYLES = ("whale_alert", "community_meme")  # campaign styles no detector trained on
KIND_CYCLE = ("campaign", "news", "campaign", "quiet", "organic_hype", "campaign", "news", "organic_hype")


def prf(pairs: list[tuple[int, int]]) -> dict:
    """Precision, recall, F1 and accuracy of (predicted, actual) pairs, positive = manipulation."""
    tp = sum(1 for p, a in pairs if p == 1 and a == 1)
    fp = sum(1 for p, a in pairs if p == 1 and a == 0)
    fn = sum(1 for p, a in pairs if p == 0 and a == 1)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(1 for p, a in pairs if p == a) / len(pairs) if pairs else 0.0
    return {"n": len(pairs), "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def parse_args() -> tuple[argparse.Namespace, TrainedDetector]:
    """The arguments and the trained GRPO detector (a missing one is a one-line usage error)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--detector", type=Path, default=ROOT / "out" / "detector" / "model", help="trained GRPO detector")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--adapted-steps", type=int, default=20,
                        help="train a manipulator policy this many steps against the frozen GRPO detector; every other "
                             "campaign then uses its evasive parameters (0: style defaults only)")
    parser.add_argument("--pause", type=int, default=180, help="chain seconds left at t0 for the request before the market goes on")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_committee.json")
    args = parser.parse_args()
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    try:
        return args, load_live_detector(args.detector)
    except SymphonyError as exc:  # never trained here: say so in one line
        parser.error(f"{exc} (train one with `symphony detect train`, or pass --detector)")


def bench_settings(args: argparse.Namespace, grpo: TrainedDetector) -> dict:
    """What the run was, for the JSON: node, compiler, detectors, episodes and the protocol's parameters."""
    where = args.detector.relative_to(ROOT) if args.detector.is_relative_to(ROOT) else args.detector
    return {
        "node": "anvil 1.7.1 (embedded, automine, 127.0.0.1)", "compiler": compiler_version(), "evm": "cancun",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU only",
        "detectors": {"grpo": f"{where} (sha256 {grpo.model_hash.hex()[:16]}…, all-MiniLM-L6-v2 text features)",
                      "rule": "RuleDetector() hype + young accounts + buy pressure",
                      "naive": "RuleDetector(min_young_share=0, min_buy_pressure=0): any burst of 5 posts"},
        "capability": DEFAULT_CAPABILITY + " (the same for every agent: weights differ by reputation only)",
        "episodes": args.episodes, "split": "test (held-out campaign styles " + ", ".join(TEST_STYLES) + ")",
        "kinds_cycle": list(KIND_CYCLE), "horizon_s": HORIZON, "lookback_s": PRE_STEPS * STEP, "bid_window_s": 1,
        "adapted_manipulator_steps": args.adapted_steps, "request_pause_s": args.pause, "seed": args.seed, "reputation": "EvaluationLog: 0.01 per score point (TP +10, TN +1, FN -5, FP -5/-15); VoteCommitment: +0.05 for agreeing with the winner",
    }


@dataclass
class Committee:
    """The deployed contracts and market, the three detector agents and the requester, on one anvil."""

    operator: ChainClient
    owner: SymphonyContracts
    market: Market
    agents: list
    names: dict[str, str]  # agent address -> detector name
    asker: SymphonyContracts
    book: PredictionBook
    requester: DetectionRequester
    log: EvaluationLogClient


def start_committee(node: AnvilNode, detectors: dict, work: Path, feed: Path, lead_s: int) -> Committee:
    operator = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
    artifacts = compile_contracts()
    manifest = deploy_symphony(operator, artifacts=artifacts)
    owner = SymphonyContracts.bind(operator, manifest)
    market, manifest = deploy_market(operator, ["BASE"], ledger=manifest.address("CapabilityLedger"), manifest=manifest,
                                     artifacts=artifacts)
    owner.ledger.set_authorized(market.log.address, True)
    agents = []
    for i, (name, detector) in enumerate(detectors.items(), start=1):
        contracts = SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[i].key.to_0x_hex()), manifest)
        # Nothing may send transactions on its own while the market replays: the replay mines blocks at exact
        # timestamps, and a heartbeat or a keeper's reveal/resolve slipping in between two trades of the same
        # second would move the chain's clock past the second one. So no periodic heartbeat, and the keepers'
        # passes (`executor.settle_due`) run from here, between the request and the replay and after it.
        profile = AgentProfile(name=name, capability=DEFAULT_CAPABILITY, state_dir=work / "agents", heartbeat_interval_s=86_400)
        agents.append(build_detector_agent(profile, contracts, bind_market(contracts.client, manifest, artifacts), detector,
                                           feed=PostFeed(feed), reveal_after_s=1, keeper_interval_s=10**6).start())
    asker = SymphonyContracts.bind(ChainClient(node.rpc_url, node.dev_accounts[5].key.to_0x_hex()), manifest)
    book = PredictionBook(EvaluationLogClient(asker.client, market.log), None, None)
    # Protocol v2: a request opens an EvaluationLog window that starts `lead_s` later; the replayed market resumes
    # `--pause` seconds after the episode's t0, so the caller passes pause - 1 and the window starts where it does.
    requester = DetectionRequester(asker, market, encode_vector, book, CommitteeSettings(
        detectors=3, horizon_s=HORIZON, lookback_s=PRE_STEPS * STEP, bid_window_s=1, exec_window_s=60, lead_s=lead_s))
    return Committee(operator, owner, market, agents, {a.address: a.worker.profile.name for a in agents}, asker, book,
                     requester, EvaluationLogClient(operator, market.log))


def adapted_draws(args: argparse.Namespace, grpo: TrainedDetector, world: World, calib: TimingCalibration,
                  clusters: list[int]) -> Iterator | None:
    """Evasive behaviour shifts from a manipulator trained against the frozen GRPO detector (as in bench_detector)."""
    policy = None
    if args.adapted_steps:
        policy = ManipulatorPolicy()
        train_manipulator(policy, grpo.inner.predict_logits, world, calib, grpo.inner.embedder, TEST_STYLES,
                          clusters, ManipulatorConfig(steps=args.adapted_steps, seed=args.seed + 99), seed_base=777)
        print(f"manipulator policy trained {args.adapted_steps} steps against the frozen GRPO detector", flush=True)
    torch.manual_seed(args.seed)
    return iter(policy.dist().sample((args.episodes,)).numpy()) if policy is not None else None


def episode_specs(n: int, clusters: list[int], draws: Iterator | None) -> Iterator[tuple[EpisodeSpec, bool]]:
    """(spec, adapted) for each episode: kinds cycle through KIND_CYCLE; every other campaign is adapted."""
    campaigns = 0
    for i in range(n):
        kind = KIND_CYCLE[i % len(KIND_CYCLE)]
        style = TEST_STYLES[(i // len(KIND_CYCLE) + i) % len(TEST_STYLES)] if kind == "campaign" else ""
        params, adapted = (STYLE_DEFAULTS[style] if kind == "campaign" else None), False
        if kind == "campaign":
            campaigns += 1
            if draws is not None and campaigns % 2 == 0:
                params, adapted = ManipulatorPolicy.params_for(style, next(draws)), True
        yield EpisodeSpec(f"bench-{i}", kind, style, clusters[i % len(clusters)] if kind == "campaign" else -1, params), adapted


def request_at(c: Committee, ticker: str, pause: int, box: dict) -> Callable[[int], None]:
    """The replay's hook at t0: the requester asks the committee, the agents reveal; gas and txs are counted."""
    w3 = c.operator.w3

    def at_t0(t0: int) -> None:
        if chain_time(w3) < t0 - 1:
            mine_at(w3, t0 - 1)  # the request's data cut-off is then exactly the episode's t0
        first = w3.eth.block_number + 1
        start = time.perf_counter()
        box["verdict"] = c.requester.request(ticker)
        box["seconds"] = time.perf_counter() - start
        blocks = [w3.eth.get_block(b) for b in range(first, w3.eth.block_number + 1)]
        for a in c.agents:
            a.executor.settle_due()  # the agents reveal their own log entries (the vote made them public)
        box["gas"] = sum(int(b["gasUsed"]) for b in blocks)
        box["txs"] = sum(len(b["transactions"]) for b in blocks)
        box["chain_seconds"] = chain_time(w3) - t0
        if box["chain_seconds"] >= pause:
            raise SystemExit(f"the request took {box['chain_seconds']} chain seconds, more than --pause {pause}: "
                             "the market cannot resume in the past; rerun with a larger --pause")

    return at_t0


def run_episode(c: Committee, i: int, spec: EpisodeSpec, adapted: bool, simulate: Callable[[], object], feed: Path,
                sender: TimedSender, pause: int) -> dict:
    """Play one episode with a committee request at t0, settle every entry after the horizon; the episode's row."""
    w3 = c.operator.w3
    ticker = f"E{i}"
    box: dict = {}
    played = play_episode(c.operator, c.market, ticker, simulate, feed, seed=i, at_t0=request_at(c, ticker, pause, box),
                          pause_s=pause, sender=sender)
    verdict = box["verdict"]
    ids = {c.names[v.agent]: v.evaluation_id for v in verdict.votes if v.agent in c.names}
    last_t0 = max(c.log.get(e).t0 for e in [*ids.values(), verdict.evaluation_id] if e is not None)
    if chain_time(w3) < last_t0 + HORIZON:
        mine_at(w3, last_t0 + HORIZON)
    for a in c.agents:
        a.executor.settle_due()  # ... and resolve them once the horizon has passed
    c.book.settle_due(chain_time(w3))
    entries = {n: c.log.get(e) for n, e in ids.items() if e is not None}
    committee = c.log.get(verdict.evaluation_id) if verdict.evaluation_id is not None else None
    answers = [label_of(v.revealed_answer or "") for v in verdict.votes]
    majority = int(sum(a == 1 for a in answers) * 2 > len([a for a in answers if a is not None]))
    actual = committee.outcome if committee else next(iter(entries.values())).outcome
    return {
        "episode": i, "ticker": ticker, "kind": spec.kind, "style": spec.style, "adapted": adapted,
        "sim_label": played.episode.outcome.label.name,
        "chain_outcome": actual.name, "verdict": verdict.answer, "committee_score": committee.score if committee else None,
        "majority": majority, "votes": {c.names.get(v.agent, v.agent): {"answer": v.revealed_answer, "confidence_bp": v.confidence_bp,
                                                                        "weight": str(v.weight)} for v in verdict.votes},
        "entries": {n: {"id": e.id, "status": e.status.name, "predicted": e.predicted, "outcome": e.outcome.name,
                        "score": e.score} for n, e in entries.items()},
        "request_seconds": box["seconds"], "request_chain_seconds": box["chain_seconds"], "request_gas": box["gas"],
        "request_txs": box["txs"],
    }


def play(args: argparse.Namespace, detectors: dict) -> tuple[list[dict], list[dict], VerifyReport]:
    """Every episode on a fresh anvil: (rows, reputation of each detector after each episode, the log's verification)."""
    rows: list[dict] = []
    reputation_path: list[dict] = []
    # agent state and the post feed live in a temporary folder, removed at the end
    with tempfile.TemporaryDirectory(prefix="bench-committee-") as tmp, AnvilNode() as node:
        work = Path(tmp)
        feed = work / "posts.jsonl"
        feed.touch()
        c = start_committee(node, detectors, work, feed, lead_s=max(1, args.pause - 1))
        calib = calibrate()
        world = build_world(args.seed, calib)
        clusters = world.clusters_for("test")
        draws = adapted_draws(args, detectors["grpo"], world, calib, clusters)
        sender = TimedSender(c.operator.w3)
        try:
            for i, (spec, adapted) in enumerate(episode_specs(args.episodes, clusters, draws)):
                row = run_episode(c, i, spec, adapted, lambda s=spec, k=i: simulate_episode(world, calib, s, seed=args.seed * 1000 + k),
                                  feed, sender, args.pause)
                rows.append(row)
                reputation_path.append({c.names[a.address]: c.owner.ledger.reputation(a.address) / 1e18 for a in c.agents})
                print(f"episode {i:2d} {spec.kind + ('*' if adapted else ''):<12} {spec.style:<14} outcome {row['chain_outcome']:<12} "
                      f"verdict {row['verdict']:<12} " + " ".join(f"{n}={row['votes'].get(n, {}).get('answer', '-')}" for n in detectors)
                      + f"  {row['request_seconds']:.1f} s, {row['request_txs']} txs", flush=True)
            report = verify_log(c.log, c.market, c.asker)
        finally:
            c.requester.close()
            for a in c.agents:
                a.stop(announce=False)
    return rows, reputation_path, report


def _actual(r: dict) -> int:
    return int(r["chain_outcome"] == Label.MANIPULATION.name)


def summarise(settings: dict, detectors: dict, rows: list[dict], reputation_path: list[dict], report: VerifyReport) -> dict:
    """The JSON result: per detector and committee metrics against the contract's outcomes, and request costs."""
    per_detector = {}
    for name in detectors:
        pairs = [(r["entries"][name]["predicted"], _actual(r)) for r in rows
                 if name in r["entries"] and r["entries"][name]["status"] == Status.RESOLVED.name]
        per_detector[name] = {**prf(pairs), "score": sum(r["entries"][name]["score"] for r in rows if name in r["entries"]),
                              "expired": sum(1 for r in rows if r["entries"].get(name, {}).get("status") == Status.EXPIRED.name),
                              "reputation_final": reputation_path[-1][name] if reputation_path else 1.0}
    committee_pairs = [(int(r["verdict"] == "manipulation"), _actual(r)) for r in rows if r["verdict"]]
    majority_pairs = [(r["majority"], _actual(r)) for r in rows]
    result = {
        "settings": settings,
        "detectors": per_detector,
        "committee_weighted_vote": {**prf(committee_pairs), "score": sum(r["committee_score"] or 0 for r in rows)},
        "unweighted_majority": prf(majority_pairs),
        "weighted_differs_from_majority": sum(1 for r in rows if int(r["verdict"] == "manipulation") != r["majority"]),
        "sim_vs_chain_label_agreement": sum(1 for r in rows if (r["sim_label"] == "MANIPULATION") == (r["chain_outcome"] == "MANIPULATION")),
        "request": {
            "seconds_mean": statistics.mean(r["request_seconds"] for r in rows),
            "seconds_max": max(r["request_seconds"] for r in rows),
            "chain_seconds_mean": statistics.mean(r["request_chain_seconds"] for r in rows),
            "gas_mean": statistics.mean(r["request_gas"] for r in rows),
            "txs_mean": statistics.mean(r["request_txs"] for r in rows),
        },
        "reputation_path": reputation_path,
        "verify": {"ok": report.ok, "summary": report.summary()},
        "episodes": rows,
    }
    adapted_rows = [r for r in rows if r["adapted"]]
    if adapted_rows:
        result["adapted_campaigns"] = {"n": len(adapted_rows),
                                       "realised": sum(_actual(r) for r in adapted_rows),
                                       "committee_flags": sum(r["verdict"] == "manipulation" for r in adapted_rows),
                                       **{f"{n}_flags": sum(r["entries"].get(n, {}).get("predicted") == 1 for r in adapted_rows) for n in detectors}}
    return result


def print_table(result: dict, detectors: dict) -> None:
    settings, rows = result["settings"], result["episodes"]
    print()
    print(f"Detector committee on chain — {settings['node']}, solc {settings['compiler'].split()[-1]}, {settings['machine']}")
    print(f"{settings['episodes']} held-out episodes ({settings['split']}), H = {HORIZON} s, K = 3 agents, same declared capability")
    print()
    print(f"{'who':<26}{'n':>4}{'prec':>7}{'recall':>8}{'F1':>7}{'acc':>7}{'score':>7}{'reputation':>12}")
    for name, m in result["detectors"].items():
        print(f"{name + ' (agent)':<26}{m['n']:>4}{m['precision']:>7.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{m['accuracy']:>7.3f}"
              f"{m['score']:>7}{m['reputation_final']:>12.3f}")
    c, mj = result["committee_weighted_vote"], result["unweighted_majority"]
    print(f"{'committee (weighted vote)':<26}{c['n']:>4}{c['precision']:>7.3f}{c['recall']:>8.3f}{c['f1']:>7.3f}{c['accuracy']:>7.3f}{c['score']:>7}")
    print(f"{'unweighted majority':<26}{mj['n']:>4}{mj['precision']:>7.3f}{mj['recall']:>8.3f}{mj['f1']:>7.3f}{mj['accuracy']:>7.3f}")
    if "adapted_campaigns" in result:
        a = result["adapted_campaigns"]
        print(f"adapted campaigns (*): {a['n']}, realised a manipulation {a['realised']}; flagged by the committee {a['committee_flags']}, "
              + ", ".join(f"{n} {a[n + '_flags']}" for n in detectors))
    print(f"weighted vote differs from the majority on {result['weighted_differs_from_majority']} of {len(rows)} requests")
    print(f"simulator label agrees with the contract's outcome on {result['sim_vs_chain_label_agreement']} of {len(rows)} episodes")
    q = result["request"]
    print(f"per request: {q['seconds_mean']:.1f} s mean ({q['seconds_max']:.1f} max), {q['chain_seconds_mean']:.0f} chain s, "
          f"{q['txs_mean']:.0f} txs, {q['gas_mean']:,.0f} gas (requester + agents: beacons, bids, results, votes, log entries)")
    print(f"eval verify: {result['verify']['summary']}")


def main() -> int:
    args, grpo = parse_args()
    detectors = {
        "grpo": grpo,
        "rule": RuleDetector(),  # a burst of >= 5 posts, mostly young accounts, buy pressure >= 0.55
        "naive": RuleDetector(min_young_share=0.0, min_buy_pressure=0.0),  # any burst of >= 5 posts
    }
    settings = bench_settings(args, grpo)
    rows, reputation_path, report = play(args, detectors)
    result = summarise(settings, detectors, rows, reputation_path, report)
    print_table(result, detectors)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
