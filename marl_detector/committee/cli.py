"""`symphony detect agent` and `symphony detect ask`: detectors as Symphony agents, and asking them.

`detect agent` runs one detector agent (register on the ledger with the detector tag, bid on detection beacons,
answer, commit its own prediction to the EvaluationLog, vote, reveal and resolve its entries) until interrupted.
`detect ask TICKER` posts a detection request for a pool, lets K detector agents answer, settles their verdicts
by the weighted vote and logs the verdict. Keys come from environment variables, never from the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.shutdown import StopSignal

DEFAULT_CAPABILITY = ("pump-and-dump detection from on-chain trades, the social graph of posting accounts and the "
                      "text of their posts")


def register_committee(detect_subparsers: argparse._SubParsersAction) -> None:
    agent = detect_subparsers.add_parser("agent", help="run a detector as a Symphony agent (bids on detection requests)")
    _common(agent)
    agent.add_argument("--name", default="detector", help="agent name on the ledger")
    agent.add_argument("--capability", default=DEFAULT_CAPABILITY, help="declared capability (embedded into its vector)")
    agent.add_argument("--detector", type=Path, help="trained detector; default: the rule-based detector")
    agent.add_argument("--posts", type=Path, help="JSONL post feed the detector reads")
    agent.add_argument("--reveal-after", type=int, help="reveal own log entries this many seconds after committing (default H/2)")
    agent.add_argument("--state-dir", type=Path, help="worker state and unrevealed salts (default: .symphony/agents)")
    agent.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (0: until interrupted)")
    agent.set_defaults(func=_agent)

    ask = detect_subparsers.add_parser("ask", help="ask the detector agents about a pool; weighted vote; log the verdict")
    _common(ask)
    ask.add_argument("ticker", help="the pool's meme token symbol")
    ask.add_argument("--detectors", type=int, help="K detector agents to ask (default from configuration: 3)")
    ask.add_argument("--horizon", type=int, help="seconds the verdict is about (multiple of 4; default 14400)")
    ask.add_argument("--lookback", type=int, help="history the detectors may look at, in seconds (default 14400)")
    ask.add_argument("--state", type=Path, help="file remembering the committee's log entries until resolved "
                     "(default: <state dir>/committee-<chain>-<address>.json)")
    ask.add_argument("--json", action="store_true", help="print the verdict and its provenance as JSON")
    ask.set_defaults(func=_ask)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--manifest", type=Path, help="deployment manifest with the core contracts and the market")
    p.add_argument("--rpc-url", help="override the manifest's RPC endpoint")
    p.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY", help="environment variable holding this account's key")


def _bind(args: argparse.Namespace, cfg):  # noqa: ANN001, ANN202 - (SymphonyConfig) -> (contracts, market)
    from chain.bindings import SymphonyContracts
    from chain.client import ChainClient, private_key_from_env
    from chain.deploy import Manifest
    from marl_detector.onchain.deployment import bind_market

    manifest = Manifest.load(args.manifest or cfg.chain.manifest)
    client = ChainClient(args.rpc_url or manifest.rpc_url, private_key_from_env(args.key_env), expected_chain_id=manifest.chain_id)
    return SymphonyContracts.bind(client, manifest), bind_market(client, manifest)


def _agent(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agents.profile import AgentProfile
    from core.errors import ConfigError
    from marl_detector.committee.agent import build_detector_agent
    from marl_detector.live import load_live_detector
    from marl_detector.onchain.posts import PostFeed
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None))
    try:
        profile = AgentProfile(name=args.name, capability=args.capability,
                               **({"state_dir": args.state_dir} if args.state_dir else {}))
    except ValidationError as exc:
        raise ConfigError(f"invalid agent profile: {exc.errors()[0]['msg']}") from None
    if args.posts is not None and not args.posts.exists():
        raise ConfigError(f"post feed not found: {args.posts}")
    contracts, market = _bind(args, cfg)
    detector = load_live_detector(args.detector)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {profile.name} %(message)s", stream=sys.stdout)
    agent = build_detector_agent(profile, contracts, market, detector, feed=PostFeed(args.posts) if args.posts else None,
                                 reveal_after_s=args.reveal_after)
    with StopSignal() as stop:
        agent.start()
        print(f"detector agent {profile.name} running as {agent.address} (model {agent.worker.model_id[:40]}…)", flush=True)
        stop.wait(args.seconds or None)
        agent.stop()
    print(f"detector agent {profile.name} stopped: {agent.worker.stats}", flush=True)
    return 0


def _ask(args: argparse.Namespace) -> int:
    from agents.capability import encode_vector
    from core.paths import STATE_DIR
    from marl_detector.committee.requester import DetectionRequester
    from marl_detector.onchain.book import PredictionBook
    from marl_detector.onchain.evaluation import EvaluationLogClient
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None),
                      committee={"detectors": args.detectors, "horizon_s": args.horizon, "lookback_s": args.lookback})
    contracts, market = _bind(args, cfg)
    client = contracts.client
    # The committee's entry is revealed at once; the file only remembers it until it is resolved.
    state = args.state or STATE_DIR / f"committee-{client.chain_id}-{client.address}.json"
    book = PredictionBook(EvaluationLogClient(client, market.log), state, None)
    book.settle_due(int(client.w3.eth.get_block("latest")["timestamp"]))  # resolve earlier verdicts now due
    requester = DetectionRequester(contracts, market, encode_vector, book, cfg.committee)
    try:
        verdict = requester.request(args.ticker, on_progress=lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        requester.close()
    if args.json:
        print(json.dumps(verdict_json(verdict), indent=1))
    else:
        print_verdict(verdict)
    return 0 if verdict.label is not None else 1


def verdict_json(v) -> dict:  # noqa: ANN001 - Verdict
    return {
        "ticker": v.ticker, "pool": v.pool, "task_id": v.task_id, "t0": v.t0, "horizon": v.horizon,
        "answer": v.answer, "label": v.label, "confidence_bp": v.confidence_bp,
        "winning_weight": str(v.winning_weight), "total_weight": str(v.total_weight), "evaluation_id": v.evaluation_id,
        "votes": [{"chain": x.cot_index, "agent": x.agent, "beacons": x.beacon_ids, "answer": x.revealed_answer,
                   "confidence_bp": x.confidence_bp, "score": str(x.score), "weight": str(x.weight),
                   "evaluation_id": x.evaluation_id, "error": x.error} for x in v.votes],
        "gas_used": v.gas_used, "tx_hashes": v.tx_hashes, "seconds": round(v.seconds, 3),
    }


def print_verdict(v) -> None:  # noqa: ANN001 - Verdict
    print(f"{v.ticker} ({v.pool}) as of t0={v.t0}, horizon {v.horizon} s — task {v.task_id}")
    print(f"{'chain':>5}  {'agent':42}  {'answer':12}  {'P(manip)':>8}  {'weight':>7}  {'eval #':>6}")
    for x in v.votes:
        conf = f"{x.confidence_bp / 100:.1f}%" if x.confidence_bp is not None else "-"
        print(f"{x.cot_index:>5}  {x.agent or '-':42}  {x.revealed_answer or x.error or 'abstained':12.12}  {conf:>8}  "
              f"{x.weight / 1e18:7.3f}  {x.evaluation_id if x.evaluation_id is not None else '-':>6}")
    share = v.winning_weight / v.total_weight if v.total_weight else 0.0
    print(f"verdict: {v.answer or 'none'} ({share:.0%} of the weight)"
          + (f", logged as evaluation #{v.evaluation_id}" if v.evaluation_id is not None else ", not logged"))
    print(f"{len(v.tx_hashes)} transactions, {v.gas_used} gas, {v.seconds:.1f} s")
