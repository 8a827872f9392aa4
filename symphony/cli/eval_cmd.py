"""`symphony eval log|verify|resolve|open`: the Hide-and-Shill evaluation log.

`log` and `verify` read the chain only; `resolve` is a keeper pass; `open` is a requester opening a window (for the
log's fee) that registered detectors then predict.

Why `verify` exits non-zero on any mismatch: it is the audit. It re-derives every outcome from the pools'
Sync logs with an implementation independent of the contract (marl_detector/onchain/verify.py) and compares
each stored base price, outcome, return and score; a script or CI job can gate on its exit status.
"""

from __future__ import annotations

import argparse
import json

from symphony.cli.options import command, config, connection_options

MISMATCH_EXIT = 1
OUTCOMES = ("manipulation", "discovery", "none", "pending")


def register(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser("eval", help="the Hide-and-Shill evaluation log on chain")
    sub = ev.add_subparsers(dest="eval_command", metavar="SUBCOMMAND", required=True)

    log = command(sub, "log", "list logged predictions and per-detector scores")
    connection_options(log)
    log.add_argument("--detector", help="only this detector's entries (address)")
    log.add_argument("--pool", help="only entries about this pool (ticker or factory pool address)")
    log.add_argument("--outcome", choices=OUTCOMES, help="only settled entries with this realised outcome, or pending ones")
    log.add_argument("--since", help="only windows starting at or after this time (unix seconds or ISO date, UTC)")
    log.add_argument("--until", help="only windows starting before this time (unix seconds or ISO date, UTC)")
    log.add_argument("--limit", type=int, default=50, help="show at most this many matching entries (default 50)")
    log.add_argument("--offset", type=int, default=0, help="skip this many matching entries first (default 0)")
    log.add_argument("--json", action="store_true", help="machine-readable output")
    log.set_defaults(func=_log)

    verify = command(sub, "verify", "re-derive every outcome from pool logs and check every score")
    connection_options(verify)
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=_verify)

    resolve = command(sub, "resolve", "resolve every entry whose horizon has passed (anyone may; unrevealed ones expire)")
    connection_options(resolve, signer=True)
    resolve.set_defaults(func=_resolve)

    opener = command(sub, "open", "open a window on a pool for detectors to predict (pays the log's window fee)")
    connection_options(opener, signer=True)
    opener.add_argument("ticker", help="the pool: its meme token symbol or its factory pool address")
    opener.add_argument("--horizon", type=int, default=14_400, help="window length in seconds (multiple of 4, >= the log's minimum)")
    opener.add_argument("--lead", type=int, default=600, help="the window starts this many seconds from now (<= H/4)")
    opener.set_defaults(func=_open)


def _bind(args: argparse.Namespace, *, signer: bool = False):
    from chain.connection import connect
    from marl_detector.onchain.deployment import bind_market
    from marl_detector.onchain.evaluation import EvaluationLogClient

    deployment = connect(config(args).chain, signer=signer)
    market = bind_market(deployment.client, deployment.manifest)
    return market, EvaluationLogClient(deployment.client, market.log), deployment


def chain_time(value: str, option: str) -> int:
    """Unix seconds, or an ISO 8601 date / date-time (UTC unless it says otherwise), as chain time."""
    from datetime import datetime, timezone

    from core.errors import ConfigError

    if value.strip().lstrip("-").isdigit():
        return int(value)
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} is neither unix seconds nor an ISO date: {value!r}") from None
    return int((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp())


def _log(args: argparse.Namespace) -> int:
    from web3 import Web3

    from core.errors import ConfigError
    from marl_detector.onchain.deployment import resolve_pool

    if args.detector and not Web3.is_address(args.detector):
        raise ConfigError(f"--detector is not an address: {args.detector!r}")
    if args.limit < 1 or args.offset < 0:
        raise ConfigError(f"--limit must be at least 1 and --offset at least 0, got {args.limit} and {args.offset}")
    since = chain_time(args.since, "--since") if args.since else None
    until = chain_time(args.until, "--until") if args.until else None
    market, client, _ = _bind(args)
    pool = resolve_pool(market, args.pool).pool.address if args.pool else None
    entries = client.all(args.detector)
    total = len(entries)

    def keep(e) -> bool:  # noqa: ANN001 - Evaluation
        if pool is not None and e.pool != pool:
            return False
        if since is not None and e.t0 < since or until is not None and e.t0 >= until:
            return False
        if args.outcome == "pending":
            return not e.settled
        return args.outcome is None or (e.settled and e.outcome.name.lower() == args.outcome)

    matched = [e for e in entries if keep(e)]
    shown = matched[args.offset: args.offset + args.limit]
    tickers = {p.pool.address: t for t, p in market.pools.items()}
    detectors = sorted({e.detector for e in matched})
    stats = {d: client.stats(d) for d in detectors}
    if args.json:
        rows = [{**e.to_json(), "ticker": tickers.get(e.pool)} for e in shown]
        print(json.dumps({"evaluation_log": market.log.address, "total": total, "matched": len(matched),
                          "offset": args.offset, "limit": args.limit, "entries": rows, "detectors": stats},
                         indent=1))
        return 0
    filters = [f"{name} {value}" for name, value in (("detector", args.detector), ("pool", args.pool),
                                                     ("outcome", args.outcome), ("since", since), ("until", until))
               if value is not None]
    print(f"EvaluationLog {market.log.address}: {total} entries" + (f", {len(matched)} with {', '.join(filters)}" if filters else ""))
    print(f"{'id':>4} {'win':>4} {'detector':<12} {'pool':<8} {'t0':>11} {'H':>6} {'status':<9} {'pred':>4} {'conf':>5} {'outcome':<12} {'Rpeak':>6} {'Rend':>6} {'score':>5}")
    for e in shown:
        hidden = e.status.name in ("COMMITTED", "EXPIRED", "VOIDED")  # never revealed (or void)
        pred = "?" if hidden else str(e.predicted)
        conf = "?" if hidden else str(e.confidence)
        outcome = e.outcome.name if e.settled else "-"
        print(f"{e.id:>4} {e.window_id:>4} {e.detector[:10] + '..':<12} {tickers.get(e.pool, e.pool[:8]):<8} {e.t0:>11} {e.horizon:>6} "
              f"{e.status.name:<9} {pred:>4} {conf:>5} {outcome:<12} {e.r_peak_bp:>6} {e.r_end_bp:>6} "
              f"{e.score if e.settled else '-':>5}")
    if shown and len(shown) < len(matched):
        last = args.offset + len(shown)
        print(f"entries {args.offset + 1}-{last} of {len(matched)}" + (f"; next: --offset {last}" if last < len(matched) else ""))
    elif not shown and matched:
        print(f"--offset {args.offset} is past the last of the {len(matched)} matching entries")
    for d, s in stats.items():
        print(f"detector {d}: commits {s['commits']} TP {s['true_positives']} FP {s['false_positives']} "
              f"TN {s['true_negatives']} FN {s['false_negatives']} expired {s['expired']} voided {s['voided']} "
              f"tainted {s['tainted']} score {s['total_score']} (all its entries)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from marl_detector.onchain.verify import verify_log

    market, client, deployment = _bind(args)
    # Committee entries (verdicts of a Symphony vote) are also checked against the vote when the manifest holds
    # the core contracts.
    contracts = deployment.contracts() if "TaskBeacon" in deployment.manifest.contracts else None
    report = verify_log(client, market, contracts)
    if args.json:
        print(json.dumps({"ok": report.ok, "total": report.total, "windows": report.windows, "resolved": report.resolved,
                          "expired": report.expired, "voided": report.voided, "tainted": report.tainted, "pending": report.pending,
                          "rederived": report.rederived, "windows_rederived": report.windows_rederived,
                          "from_block": report.from_block, "to_block": report.to_block,
                          "mismatches": {str(k): v for k, v in report.mismatches.items()},
                          "window_mismatches": {str(k): v for k, v in report.window_mismatches.items()}}))
    else:
        for problems in report.window_mismatches.values():
            for problem in problems:
                print(problem)
        for eval_id, problems in sorted(report.mismatches.items()):
            for problem in problems:
                print(f"evaluation #{eval_id}: {problem}")
        print(report.summary())
    return 0 if report.ok else MISMATCH_EXIT


def _resolve(args: argparse.Namespace) -> int:
    """A keeper pass: without it, a detector that never reveals a bad call would simply never be scored."""
    _, client, _ = _bind(args, signer=True)
    now = int(client.client.w3.eth.get_block("latest")["timestamp"])
    done = 0
    for e in client.all():
        if not e.settled and now >= e.t0 + e.horizon:
            settled = client.resolve(e.id)
            print(f"evaluation #{e.id}: {settled.status.name} {settled.outcome.name} score {settled.score}")
            done += 1
    print(f"resolved {done} evaluations")
    return 0


def _open(args: argparse.Namespace) -> int:
    from core.errors import ConfigError

    from marl_detector.onchain.deployment import resolve_pool

    market, client, _ = _bind(args, signer=True)
    entry = resolve_pool(market, args.ticker)  # a ticker or address that is not a factory pool: one line, no window
    if args.horizon % 4 or args.horizon < client.min_horizon():
        raise ConfigError(f"--horizon must be a multiple of 4 and at least {client.min_horizon()} s, got {args.horizon}")
    w = client.open_window(entry.pool.address, args.horizon, lead=args.lead)
    print(f"window #{w.id}: {entry.ticker} from t0={w.t0} over {w.horizon} s, base {w.base} "
          f"(fee {client.window_fee()} wei)")
    return 0
