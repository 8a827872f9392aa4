"""`symphony detect run`: the live detector as a command (registered by symphony/cli/detect_cmd.py).

Why the market is deployed on demand: on a fresh `symphony chain up` the manifest holds only the core
contracts; `--deploy-market TICKER,...` adds the Hide-and-Shill market (tokens, pools, EvaluationLog) to the
same manifest so `symphony eval log|verify` find it. The detector's key comes from an environment variable,
never from the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register_run(detect_subparsers: argparse._SubParsersAction) -> None:
    """Register `detect run` (the live detector) and `detect market` (simulated episodes played on chain)."""
    run = detect_subparsers.add_parser("run", help="watch the chain and a post feed, commit/reveal/resolve predictions")
    run.add_argument("--manifest", type=Path, help="deployment manifest (default: from configuration)")
    run.add_argument("--rpc-url", help="override the manifest's RPC endpoint")
    run.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY", help="environment variable holding the detector's key")
    run.add_argument("--posts", type=Path, help="JSONL post feed to tail (see docs/evaluation_log.md)")
    run.add_argument("--detector", type=Path, help="trained detector; default: the rule-based detector")
    run.add_argument("--horizon", type=int, default=14_400, help="prediction horizon in seconds (multiple of 4)")
    run.add_argument("--lookback", type=int, default=14_400, help="history the detector sees, in seconds")
    run.add_argument("--every", type=int, default=3_600, help="chain seconds between predictions per pool")
    run.add_argument("--poll", type=float, default=1.0, help="seconds between passes")
    run.add_argument("--steps", type=int, default=0, help="stop after this many passes (0: until interrupted)")
    run.add_argument("--state", type=Path,
                     help="file keeping unrevealed salts across restarts (default: <state dir>/live-detector-<address>.json)")
    run.add_argument("--resolve-others", action="store_true", help="also resolve other detectors' due entries")
    run.add_argument("--deploy-market", metavar="TICKERS", help="first deploy a market with these comma-separated tickers")
    run.set_defaults(func=_run)

    market = detect_subparsers.add_parser(
        "market", help="play simulated episodes onto a local chain as real swaps and write their posts to a feed")
    market.add_argument("--manifest", type=Path, help="deployment manifest with the market (default: from configuration)")
    market.add_argument("--rpc-url", help="override the manifest's RPC endpoint")
    market.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY", help="environment variable holding the market deployer's key")
    market.add_argument("--posts", type=Path, required=True, help="JSONL feed to append the episodes' posts to")
    market.add_argument("--episodes", type=int, default=3, help="how many episodes to play")
    market.add_argument("--kinds", default="campaign,news,quiet", help="episode kinds, cycled (campaign, news, quiet, organic_hype)")
    market.add_argument("--seed", type=int, default=0, help="simulation seed")
    market.add_argument("--speedup", type=float, default=0.0, help="chain seconds per wall second (0: as fast as possible)")
    market.set_defaults(func=_market)


def _run(args: argparse.Namespace) -> int:
    import threading

    from pydantic import ValidationError

    from chain.client import ChainClient, private_key_from_env
    from chain.deploy import Manifest
    from core.errors import ConfigError
    from core.paths import STATE_DIR
    from marl_detector.live import LiveDetector, load_live_detector
    from marl_detector.onchain.deployment import bind_market, deploy_market
    from marl_detector.onchain.settings import LiveDetectorSettings
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None))
    manifest_path = args.manifest or cfg.chain.manifest
    manifest = Manifest.load(manifest_path)
    key = private_key_from_env(args.key_env)
    client = ChainClient(args.rpc_url or manifest.rpc_url, key, expected_chain_id=manifest.chain_id)
    state = args.state or STATE_DIR / f"live-detector-{manifest.chain_id}-{client.address}.json"
    try:
        settings = LiveDetectorSettings(
            horizon_s=args.horizon, lookback_s=args.lookback, commit_every_s=args.every, poll_interval_s=args.poll,
            posts_path=args.posts, detector_path=args.detector, state_path=state, resolve_others=args.resolve_others,
        )
    except ValidationError as exc:
        raise ConfigError(f"invalid detector settings: {exc.errors()[0]['msg']}") from None
    if args.deploy_market:
        tickers = [t.strip() for t in args.deploy_market.split(",") if t.strip()]
        market, manifest = deploy_market(client, tickers, manifest=manifest)
        manifest.save(manifest_path)
        print(f"deployed market {', '.join(tickers)}; EvaluationLog {market.log.address}")
    else:
        market = bind_market(client, manifest)
    detector = load_live_detector(settings.detector_path)
    live = LiveDetector(client, market, detector, settings)
    print(f"detector {client.address} watching {len(market.pools)} pools (model 0x{detector.model_hash.hex()[:16]}…)")
    stop = threading.Event()
    try:
        live.run(stop, max_steps=args.steps or None)
    except KeyboardInterrupt:
        stop.set()
        print("stopped")
    return 0


def _market(args: argparse.Namespace) -> int:
    from chain.client import ChainClient, private_key_from_env
    from chain.deploy import Manifest
    from core.errors import ConfigError
    from marl_detector.calibration import calibrate
    from marl_detector.onchain.accounts import TimedSender
    from marl_detector.onchain.campaign import play_episode
    from marl_detector.onchain.deployment import bind_market
    from marl_detector.sim import KINDS, STYLE_DEFAULTS, EpisodeSpec, simulate_episode
    from marl_detector.social import build_world
    from symphony.config import load_config

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ConfigError(f"unknown episode kind(s) {unknown or kinds}; choose from {', '.join(KINDS)}")
    if args.episodes <= 0:
        raise ConfigError("--episodes must be positive")
    manifest = Manifest.load(args.manifest or load_config(getattr(args, "config", None)).chain.manifest)
    client = ChainClient(args.rpc_url or manifest.rpc_url, private_key_from_env(args.key_env), expected_chain_id=manifest.chain_id)
    market = bind_market(client, manifest)
    if client.call(market.quote.functions.minter()) != client.address:
        raise ConfigError("the market operator must be the account that deployed the market (it mints the quote token)")
    calib = calibrate()
    world = build_world(args.seed, calib)
    styles = sorted(STYLE_DEFAULTS)
    sender = TimedSender(client.w3)
    for i in range(args.episodes):
        kind = kinds[i % len(kinds)]
        style = styles[i % len(styles)] if kind == "campaign" else ""
        clusters = world.clusters_for("test")
        spec = EpisodeSpec(f"live-{i}", kind, style, clusters[i % len(clusters)] if kind == "campaign" else -1,
                           STYLE_DEFAULTS[style] if kind == "campaign" else None)
        ticker = f"SIM{len(market.pools)}"
        played = play_episode(client, market, ticker, lambda s=spec, k=i: simulate_episode(world, calib, s, seed=args.seed * 1000 + k),
                              args.posts, seed=args.seed, speedup=args.speedup or None, sender=sender)
        print(f"{ticker}: {kind:<12} t0={played.t0} trades={len(played.market.executed)} "
              f"realised={played.episode.outcome.label.name}", flush=True)
    return 0
