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
    run.add_argument("--state", type=Path, help="file keeping unrevealed salts across restarts")
    run.add_argument("--resolve-others", action="store_true", help="also resolve other detectors' due entries")
    run.add_argument("--deploy-market", metavar="TICKERS", help="first deploy a market with these comma-separated tickers")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import threading

    from pydantic import ValidationError

    from chain.client import ChainClient, private_key_from_env
    from chain.deploy import Manifest
    from chain.errors import ConfigError
    from marl_detector.live import LiveDetector, load_live_detector
    from marl_detector.onchain.deployment import bind_market, deploy_market
    from marl_detector.onchain.settings import LiveDetectorSettings
    from symphony.config import load_config

    cfg = load_config(getattr(args, "config", None))
    manifest_path = args.manifest or cfg.chain.manifest
    manifest = Manifest.load(manifest_path)
    key = private_key_from_env(args.key_env)
    client = ChainClient(args.rpc_url or manifest.rpc_url, key, expected_chain_id=manifest.chain_id)
    try:
        settings = LiveDetectorSettings(
            horizon_s=args.horizon, lookback_s=args.lookback, commit_every_s=args.every, poll_interval_s=args.poll,
            posts_path=args.posts, detector_path=args.detector, state_path=args.state, resolve_others=args.resolve_others,
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
