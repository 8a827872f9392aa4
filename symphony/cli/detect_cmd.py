"""`symphony detect generate|train|market|run|agent|ask`: Hide-and-Shill pump-and-dump detection.

`generate` and `train` make the dataset and the detector off chain; `market` plays simulated episodes onto a
local chain; `run` is the live detector (commit, reveal, resolve on the EvaluationLog); `agent` runs a detector
as a Symphony agent and `ask` has K of them answer about a pool, settled by the weighted vote.
Every option overrides a setting of the `detector` (or `committee`, `chain`) section.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from symphony.cli.options import command, config, connection_options, csv, flag, setting


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("detect", help="Hide-and-Shill pump-and-dump detection")
    sub = p.add_subparsers(dest="detect_command", metavar="SUBCOMMAND", required=True)

    g = command(sub, "generate", "simulate discourse episodes and write the Parquet dataset")
    setting(g, "--out", path="detector.dataset.out", type=Path, help="dataset folder")
    setting(g, "--episodes", path="detector.dataset.episodes", type=int, help="episodes over all splits")
    setting(g, "--seed", path="detector.dataset.seed", type=int, help="episode seed")
    setting(g, "--world-seed", path="detector.dataset.world_seed", type=int, help="seed of the simulated social world")
    setting(g, "--workers", path="detector.dataset.workers", type=int, help="processes (each ~10 ms per episode)")
    g.set_defaults(func=_generate)

    t = command(sub, "train", "train the GRPO detector with manipulator co-evolution")
    setting(t, "--data", path="detector.training.data", type=Path, help="dataset folder")
    setting(t, "--out", path="detector.training.out", type=Path, help="model folder")
    setting(t, "--iterations", path="detector.training.iterations", type=int, help="base GRPO iterations")
    setting(t, "--finetune-iterations", path="detector.training.finetune_iterations", type=int,
            help="GRPO iterations per co-evolution round")
    setting(t, "--batch", path="detector.training.groups_per_step", type=int, help="episodes per GRPO iteration")
    setting(t, "--group-size", path="detector.training.group_size", type=int, help="sampled decisions per episode")
    setting(t, "--rounds", path="detector.training.rounds", type=int, help="co-evolution rounds")
    setting(t, "--manipulator-steps", path="detector.training.manipulator_steps", type=int,
            help="optimisation steps of each adapted manipulator")
    setting(t, "--text-swap-copies", path="detector.training.text_swap_copies", type=int,
            help="copies of each adapted campaign with an organic episode's text features")
    flag(t, "--base-text-swap", path="detector.training.base_text_swap",
         help="also a text-swapped copy of each training campaign in base training")
    setting(t, "--holdout-style", path="detector.training.holdout_style",
            help="leave this training style out and validate robustness on it (recipe selection)")
    setting(t, "--threads", path="detector.training.threads", type=int, help="torch threads")
    setting(t, "--seed", path="detector.training.seed", type=int, help="training seed")
    t.set_defaults(func=_train)

    run = command(sub, "run", "watch the chain and a post feed, commit/reveal/resolve predictions")
    connection_options(run, signer=True)
    setting(run, "--posts", path="detector.live.posts_path", type=Path, help="JSONL post feed to tail")
    setting(run, "--detector", path="detector.live.detector_path", type=Path,
            help="trained detector folder, or `rule` for the rule baseline")
    setting(run, "--horizon", path="detector.live.horizon_s", type=int, help="prediction horizon in seconds (multiple of 4)")
    setting(run, "--lookback", path="detector.live.lookback_s", type=int, help="history the detector sees, in seconds")
    setting(run, "--every", path="detector.live.commit_every_s", type=int,
            help="with --open-windows: chain seconds between the windows it opens per pool")
    setting(run, "--poll", path="detector.live.poll_interval_s", type=float, help="seconds between passes")
    setting(run, "--state", path="detector.live.state_path", type=Path,
            help="file keeping unrevealed salts across restarts (none: <state dir>/live-detector-<chain>-<address>.json)")
    flag(run, "--resolve-others", path="detector.live.resolve_others", help="also resolve other detectors' due entries")
    flag(run, "--open-windows", path="detector.live.open_windows",
         help="also open a window per pool every --every seconds (pays the fee; entries there carry no reputation)")
    setting(run, "--lead", path="detector.live.lead_s", type=int,
            help="with --open-windows: chain seconds between opening a window and its start (<= H/4); a fast market "
                 "(detect market --speedup) needs room for the commit")
    setting(run, "--steps", path="detector.live.steps", type=int, help="stop after this many passes (0: until interrupted)")
    run.add_argument("--deploy-market", metavar="TICKERS", help="first deploy a market with these comma-separated tickers")
    run.set_defaults(func=_run)

    demo = command(sub, "demo", "one command: anvil, market, organic traffic, news and a campaign, the live detector, "
                                "resolution, verification, a table and a price chart")
    setting(demo, "--kinds", path="detector.demo.kinds", type=csv, help="scenarios, one pool each (quiet, organic_hype, news, campaign)")
    setting(demo, "--style", path="detector.demo.style", help="the campaign's style")
    setting(demo, "--seed", path="detector.demo.seed", type=int, help="first seed tried per scenario")
    setting(demo, "--out", path="detector.demo.out", type=Path, help="folder for demo.png, the feed, the manifest, the salts")
    setting(demo, "--detector", path="detector.demo.detector_path", type=Path,
            help="trained detector folder, or `rule` for the rule baseline")
    demo.set_defaults(func=_demo)

    market = command(sub, "market", "play simulated episodes onto a local chain as real swaps and write their posts to a feed "
                                    "(deploys the market first if the manifest has none)")
    connection_options(market, signer=True)
    setting(market, "--posts", path="detector.market.posts", type=Path, help="JSONL feed to append the episodes' posts to")
    setting(market, "--episodes", path="detector.market.episodes", type=int, help="how many episodes to play")
    setting(market, "--kinds", path="detector.market.kinds", type=csv,
            help="episode kinds, cycled (campaign, news, quiet, organic_hype)")
    setting(market, "--seed", path="detector.market.seed", type=int, help="simulation seed")
    setting(market, "--speedup", path="detector.market.speedup", type=float, help="chain seconds per wall second (0: fastest)")
    setting(market, "--tail", path="detector.market.tail_s", type=int,
            help="chain seconds without trades after the last episode, so windows opened during it can settle")
    market.set_defaults(func=_market)

    agent = command(sub, "agent", "run a detector as a Symphony agent (bids on detection requests)")
    connection_options(agent, signer=True)
    setting(agent, "--name", path="detector.agent.name", help="agent name on the ledger")
    setting(agent, "--capability", path="detector.agent.capability", help="declared capability (embedded into its vector)")
    setting(agent, "--detector", path="detector.agent.detector_path", type=Path,
            help="trained detector folder, or `rule` for the rule baseline")
    setting(agent, "--posts", path="detector.agent.posts_path", type=Path, help="JSONL post feed the detector reads")
    setting(agent, "--reveal-after", path="detector.agent.reveal_after_s", type=int,
            help="reveal own log entries this many seconds after committing (none: H/2)")
    setting(agent, "--state-dir", path="detector.agent.state_dir", type=Path, help="worker state and unrevealed salts")
    setting(agent, "--seconds", path="detector.agent.seconds", type=float, help="stop after this many seconds (0: until interrupted)")
    agent.set_defaults(func=_agent)

    ask = command(sub, "ask", "ask the detector agents about a pool; weighted vote; log the verdict")
    connection_options(ask, signer=True)
    ask.add_argument("ticker", help="the pool: its meme token symbol or its factory pool address")
    setting(ask, "--detectors", path="committee.detectors", type=int, help="K detector agents to ask")
    setting(ask, "--horizon", path="committee.horizon_s", type=int, help="seconds the verdict is about (multiple of 4)")
    setting(ask, "--lookback", path="committee.lookback_s", type=int, help="history the detectors may look at, in seconds")
    setting(ask, "--state", path="committee.state_path", type=Path, help="file remembering the committee's log entries")
    ask.add_argument("--json", action="store_true", help="print the verdict and its provenance as JSON")
    ask.set_defaults(func=_ask)


# -- off chain -----------------------------------------------------------------------------------------
def _progress_printer(label: str):  # noqa: ANN202 - callback
    start = time.time()
    last = [0.0]
    interactive = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        now = time.time()
        if now - last[0] < (1.0 if interactive else 30.0) and done < total:
            return
        last[0] = now
        rate = done / max(now - start, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        line = f"{label}: {done}/{total} ({100 * done / total:.0f}%) {rate:.0f}/s eta {eta:.0f}s"
        print(f"\r{line}" if interactive else line, end="" if interactive else "\n", file=sys.stderr)
        if done >= total and interactive:
            print(file=sys.stderr)

    return show


def _generate(args: argparse.Namespace) -> int:
    from marl_detector.dataset import DatasetConfig, generate

    s = config(args).detector.dataset
    manifest = generate(s.out, DatasetConfig(n_episodes=s.episodes, seed=s.seed, world_seed=s.world_seed),
                        workers=s.workers, progress=_progress_printer("episodes"))
    for split, info in manifest["splits"].items():
        print(f"{split:5s} {info['episodes']:7d} episodes  manipulation {info['positives']:6d}  discovery {info['discovery']:6d}  "
              f"none {info['none']:6d}  styles {','.join(info['styles'])}")
    print(f"wrote {s.out} in {manifest['seconds']}s")
    return 0


def _train(args: argparse.Namespace) -> int:
    import torch

    from marl_detector.train import train_config, train_detector

    s = config(args).detector.training
    torch.set_num_threads(s.threads)
    result = train_detector(s.data, s.out, train_config(s), log=lambda line: print(line, flush=True))
    print(f"detector sha256 {result['sha256']}")
    return 0


# -- on chain ------------------------------------------------------------------------------------------
def _market_of(deployment):  # noqa: ANN001, ANN202 - chain.connection.Deployment -> Market
    from marl_detector.onchain.deployment import bind_market

    return bind_market(deployment.client, deployment.manifest)


def _run(args: argparse.Namespace) -> int:
    from chain.connection import connect
    from core.errors import ConfigError
    from core.paths import state_dir
    from core.shutdown import StopSignal
    from marl_detector.live import LiveDetector, load_live_detector
    from marl_detector.onchain.book import owed_predictions
    from marl_detector.onchain.deployment import deploy_market
    from marl_detector.outcome import SCORE_EXPIRED

    cfg = config(args)
    settings = cfg.detector.live
    if settings.posts_path is not None and settings.posts_path.exists() and not settings.posts_path.is_file():
        raise ConfigError(f"--posts {settings.posts_path} is not a file (the JSONL feed `detect market` appends to)")
    detector = load_live_detector(settings.detector_path)  # a bad model file is refused before anything is sent
    deployment = connect(cfg.chain, signer=True)
    client = deployment.client
    if settings.state_path is None:
        settings = settings.model_copy(
            update={"state_path": state_dir() / f"live-detector-{client.chain_id}-{client.address}.json"})
    if args.deploy_market:
        owed = owed_predictions(settings.state_path)
        if owed:  # a new market has a new EvaluationLog: those salts belong to another one (refused before deploying)
            raise ConfigError(f"state file {settings.state_path} holds {owed} unsettled predictions of an earlier "
                              f"EvaluationLog; --deploy-market starts a new one: give it another --state file")
        tickers = [t.strip() for t in args.deploy_market.split(",") if t.strip()]
        ledger = deployment.manifest.contracts.get("CapabilityLedger")
        market, manifest = deploy_market(client, tickers, ledger=ledger.address if ledger else None,
                                         manifest=deployment.manifest)
        manifest.save(deployment.manifest_path)
        print(f"deployed market {', '.join(tickers)}; EvaluationLog {market.log.address}")
    else:
        market = _market_of(deployment)
    live = LiveDetector(client, market, detector, settings)  # a state file of another chain is refused here
    if settings.open_windows and settings.horizon_s < live.log.min_horizon():
        raise ConfigError(f"--horizon {settings.horizon_s} is shorter than this EvaluationLog accepts for a window "
                          f"({live.log.min_horizon()} s); --open-windows needs at least that")
    name = "rule baseline" if type(detector).__name__ == "RuleDetector" else str(settings.detector_path)
    print(f"detector {client.address} ({name}, model 0x{detector.model_hash.hex()[:16]}…)")
    for pool in live.watched():
        print(f"watching  {pool}")
    print(f"following factory {market.factory.address}: every pool it creates from now on is watched too", flush=True)
    if live.restored:
        print(f"restored {live.restored} unsettled predictions from {settings.state_path}", flush=True)
    if live.book.expired_while_stopped:
        print(f"expired while stopped: {', '.join(f'#{i}' for i in live.book.expired_while_stopped)} (resolved by "
              f"somebody else before this detector could reveal them: {SCORE_EXPIRED} points each)", flush=True)

    def show(report) -> None:  # noqa: ANN001 - marl_detector.onchain.book.StepReport
        for pool in report.discovered:
            print(f"watching  {pool} (new pool)", flush=True)
        for kind in ("committed", "revealed", "resolved"):
            for eval_id in getattr(report, kind):
                print(f"{kind:<9} evaluation #{eval_id}", flush=True)
        for line in report.skipped:
            print(f"skipped   {line}", flush=True)
        if report.feed_rejected:
            print(report.feed_rejected, file=sys.stderr, flush=True)

    with StopSignal() as stop:
        try:
            live.run(stop, max_steps=settings.steps or None, on_report=show)
        finally:
            _print_shutdown(live.shutdown(), settings.state_path)
    if stop.requested:
        print("stopped")
    return 0


def _print_shutdown(done, state_path) -> None:  # noqa: ANN001 - ShutdownReport, Path
    """One line for what was revealed, one for what could not be and what it will cost, one for what was lost."""
    from marl_detector.outcome import SCORE_EXPIRED

    if done.revealed:
        print(f"revealed {len(done.revealed)} predictions before stopping: "
              + ", ".join(f"#{i}" for i in done.revealed), flush=True)
    if done.hidden:
        ids = ", ".join(f"#{p.eval_id}" for p in done.hidden)
        deadline = min(p.t0 + p.horizon for p in done.hidden)
        why = "; ".join(done.failed) if done.failed else "their windows still take commits (revealing now would hand them to other detectors)"
        print(f"NOT revealed: {ids} ({why}); they expire at {done.cost} points in total unless this detector is "
              f"restarted with --state {state_path} before chain time {deadline}", flush=True)
    if done.awaiting:
        due = min(p.t0 + p.horizon for p in done.awaiting)
        print(f"{len(done.awaiting)} revealed predictions await resolution from chain time {due} on: safe, anyone may "
              f"resolve them (symphony eval resolve), and this detector does when restarted", flush=True)
    if done.lost:
        print(f"already expired: {', '.join(f'#{i}' for i in done.lost)} (resolved by somebody else before this "
              f"detector revealed them: {SCORE_EXPIRED} points each)", flush=True)


def _demo(args: argparse.Namespace) -> int:
    from core.shutdown import StopSignal
    from marl_detector.demo import format_demo, run_detect_demo

    cfg = config(args)
    with StopSignal() as stop:
        result = run_detect_demo(cfg.detector.demo, cfg.chain, progress=lambda line: print(line, flush=True),
                                 should_stop=lambda: stop.requested)
    print()
    for line in format_demo(result):
        print(line)
    return 0 if result.verify.ok else 1


def _market(args: argparse.Namespace) -> int:
    from chain.connection import connect
    from core.shutdown import StopSignal
    from marl_detector.onchain.campaign import play_market
    from marl_detector.onchain.deployment import EVALUATION_LOG, deploy_market

    cfg = config(args)
    deployment = connect(cfg.chain, signer=True)
    if EVALUATION_LOG in deployment.manifest.contracts:
        market = _market_of(deployment)
    else:  # the first `detect market` on a chain deploys the market, on the ledger of the manifest's core contracts
        ledger = deployment.manifest.contracts.get("CapabilityLedger")
        market, manifest = deploy_market(deployment.client, [], ledger=ledger.address if ledger else None,
                                         manifest=deployment.manifest)
        manifest.save(deployment.manifest_path)
        print(f"deployed market: factory {market.factory.address}, EvaluationLog {market.log.address} "
              f"(manifest {deployment.manifest_path})", flush=True)

    def show(played) -> None:  # noqa: ANN001 - PlayedEpisode
        print(f"{played.ticker}: {played.episode.spec.kind:<12} t0={played.t0} trades={len(played.market.executed)} "
              f"realised={played.episode.outcome.label.name}", flush=True)

    with StopSignal() as stop:
        played = play_market(deployment.client, market, cfg.detector.market, on_played=show,
                             should_stop=lambda: stop.requested)
    print(f"played {len(played)} episodes" + (" (stopped)" if stop.requested else ""), flush=True)
    return 0


def _agent(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agents.profile import AgentProfile
    from chain.connection import connect
    from core.errors import ConfigError
    from core.shutdown import StopSignal
    from marl_detector.committee.agent import build_detector_agent
    from marl_detector.live import load_live_detector
    from marl_detector.onchain.posts import PostFeed

    cfg = config(args)
    s = cfg.detector.agent
    try:
        profile = AgentProfile(name=s.name, capability=s.capability, **({"state_dir": s.state_dir} if s.state_dir else {}))
    except ValidationError as exc:
        raise ConfigError(f"invalid agent profile: {exc.errors()[0]['msg']}") from None
    if s.posts_path is not None and not s.posts_path.exists():
        raise ConfigError(f"post feed not found: {s.posts_path}")
    deployment = connect(cfg.chain, signer=True)
    detector = load_live_detector(s.detector_path)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {profile.name} %(message)s", stream=sys.stdout)
    agent = build_detector_agent(profile, deployment.contracts(), _market_of(deployment), detector,
                                 feed=PostFeed(s.posts_path) if s.posts_path else None, reveal_after_s=s.reveal_after_s,
                                 keeper_interval_s=s.keeper_interval_s)
    with StopSignal() as stop:
        agent.start()
        print(f"detector agent {profile.name} running as {agent.address} (model {agent.worker.model_id[:40]}…)", flush=True)
        stop.wait(s.seconds or None)
        agent.stop()
    print(f"detector agent {profile.name} stopped: {agent.worker.stats}", flush=True)
    return 0


def _ask(args: argparse.Namespace) -> int:
    from agents.capability import encode_vector
    from chain.connection import connect
    from core.paths import state_dir
    from marl_detector.committee.requester import DetectionRequester
    from marl_detector.onchain.book import PredictionBook
    from marl_detector.onchain.deployment import resolve_pool
    from marl_detector.onchain.evaluation import EvaluationLogClient

    cfg = config(args)
    deployment = connect(cfg.chain, signer=True)
    contracts, market, client = deployment.contracts(), _market_of(deployment), deployment.client
    ticker = resolve_pool(market, args.ticker).ticker  # not a pool of the factory: one line, before anything is sent
    # The committee's entry is revealed at once; the file only remembers it until it is resolved.
    state = cfg.committee.state_path or state_dir() / f"committee-{client.chain_id}-{client.address}.json"
    book = PredictionBook(EvaluationLogClient(client, market.log), state, None)
    book.settle_due(int(client.w3.eth.get_block("latest")["timestamp"]))  # resolve earlier verdicts now due
    requester = DetectionRequester(contracts, market, encode_vector, book, cfg.committee)
    try:
        verdict = requester.request(ticker, on_progress=lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        requester.close()
    if args.json:
        print(json.dumps(_verdict_json(verdict), indent=1))
    else:
        _print_verdict(verdict)
    return 0 if verdict.label is not None else 1


def _verdict_json(v) -> dict:  # noqa: ANN001 - Verdict
    return {
        "ticker": v.ticker, "pool": v.pool, "task_id": v.task_id, "t0": v.t0, "horizon": v.horizon,
        "answer": v.answer, "label": v.label, "confidence_bp": v.confidence_bp,
        "winning_weight": str(v.winning_weight), "total_weight": str(v.total_weight), "evaluation_id": v.evaluation_id,
        "window_id": v.window_id, "note": v.note,
        "votes": [{"chain": x.cot_index, "agent": x.agent, "beacons": x.beacon_ids, "answer": x.revealed_answer,
                   "confidence_bp": x.confidence_bp, "score": str(x.score), "weight": str(x.weight),
                   "evaluation_id": x.evaluation_id, "error": x.error} for x in v.votes],
        "gas_used": v.gas_used, "tx_hashes": v.tx_hashes, "seconds": round(v.seconds, 3),
    }


def _print_verdict(v) -> None:  # noqa: ANN001 - Verdict
    print(f"{v.ticker} ({v.pool}) window #{v.window_id} from t0={v.t0}, horizon {v.horizon} s — task {v.task_id}")
    print(f"{'chain':>5}  {'agent':42}  {'answer':12}  {'P(manip)':>8}  {'weight':>7}  {'eval #':>6}")
    for x in v.votes:
        conf = f"{x.confidence_bp / 100:.1f}%" if x.confidence_bp is not None else "-"
        print(f"{x.cot_index:>5}  {x.agent or '-':42}  {x.revealed_answer or x.error or 'abstained':12.12}  {conf:>8}  "
              f"{x.weight / 1e18:7.3f}  {x.evaluation_id if x.evaluation_id is not None else '-':>6}")
    share = v.winning_weight / v.total_weight if v.total_weight else 0.0
    print(f"verdict: {v.answer or 'none'} ({share:.0%} of the weight)"
          + (f", logged as evaluation #{v.evaluation_id}" if v.evaluation_id is not None else ", not logged"))
    print(f"{len(v.tx_hashes)} transactions, {v.gas_used} gas, {v.seconds:.1f} s")
