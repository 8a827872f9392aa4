#!/usr/bin/env python
"""Live benchmark of the Hide-and-Shill detectors: `detect market` episodes on an embedded anvil, scored by the contract.

Why a second benchmark next to scripts/bench_detector.py: that one scores detectors on dataset features; this one
measures what a user of `detect market` + `detect run` gets. The episodes are exactly those `detect market` plays
(`campaign.market_specs`: kinds cycled, campaigns of every style from the world's test clusters, world seed = the
market seed), replayed swap by swap onto new pools with their posts in a JSONL feed (`campaign.play_episode`). At
each episode's commit time a requester opens a window over the horizon and *both* detectors — the shipped trained
detector and the rule baseline, two staked accounts each running `LiveDetector` on the same feed — commit before
it starts. Then chain time runs past every horizon, both reveal and resolve, and `verify_log` re-derives every
outcome from the pools' logs. Positives are the realised pumps: windows whose contract outcome is MANIPULATION.

The "sim" column of each row is the trained detector on the simulator's own observation of the episode (what the
offline benchmark would see); a gap between it and the live prediction points at the chain replay or the feed,
not at the model.

    .venv/bin/python scripts/bench_detector_live.py [--episodes 48] [--seed 0] [--detector detectors/hideshill-grpo]

Run it from a tree whose contracts compile: the reader binds each new pool with `compile_contracts()` of the work
tree (a half-edited contract elsewhere in a shared checkout stops the run at the next pool; a `git worktree` of
HEAD avoids that). Writes results/bench_detector_live.json. Targets (reported, not asserted): the trained detector's recall and
precision on realised pumps >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from chain.bindings import SymphonyContracts  # noqa: E402
from chain.client import ChainClient  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402
from marl_detector.calibration import calibrate  # noqa: E402
from marl_detector.live import RULE, LiveDetector, TrainedDetector, load_live_detector  # noqa: E402
from marl_detector.onchain.accounts import TimedSender, mine_at, set_next_block_time  # noqa: E402
from marl_detector.onchain.campaign import market_specs, play_episode  # noqa: E402
from marl_detector.onchain.deployment import bind_market, embedded_market, register_detector  # noqa: E402
from marl_detector.onchain.evaluation import EvaluationLogClient  # noqa: E402
from marl_detector.onchain.settings import LiveDetectorSettings, default_detector  # noqa: E402
from marl_detector.onchain.verify import verify_log  # noqa: E402
from marl_detector.outcome import Label  # noqa: E402
from marl_detector.settings import MarketSettings  # noqa: E402
from marl_detector.sim import HORIZON, PRE_STEPS, STEP, simulate_episode  # noqa: E402
from marl_detector.social import build_world  # noqa: E402

KINDS = ("campaign", "news", "campaign", "quiet", "campaign", "organic_hype")
TARGET = 0.9


@dataclass
class Row:
    """One pool: the episode, the window the requester opened, each detector's entry and the contract's outcome."""

    ticker: str
    kind: str
    style: str
    seed: int
    simulated: str = "-"
    window_id: int = -1
    outcome: str = "-"
    r_peak_bp: int = 0
    r_end_bp: int = 0
    entries: dict[str, dict] = field(default_factory=dict)  # detector name -> eval_id, predicted, confidence_bp, score, status
    sim_confidence_bp: int | None = None  # trained detector on the simulator's own observation


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=48, help="episodes (pools) to play")
    ap.add_argument("--kinds", default=",".join(KINDS), help="episode kinds, cycled as `detect market --kinds` does")
    ap.add_argument("--seed", type=int, default=0, help="`detect market --seed` (simulation and world seed)")
    ap.add_argument("--detector", default=None, help="trained detector folder (default: the shipped detector)")
    ap.add_argument("--out", default=str(ROOT / "results/bench_detector_live.json"))
    return ap.parse_args()


def metrics(rows: list[Row], name: str) -> dict:
    """Confusion counts and precision/recall/F1 of one detector; positive = the window realised MANIPULATION."""
    tp = fp = tn = fn = missing = score = 0
    for r in rows:
        e = r.entries.get(name)
        if e is None or e.get("predicted") is None or r.outcome == "-":
            missing += 1
            continue
        pos, flag = r.outcome == Label.MANIPULATION.name, e["predicted"] == 1
        tp += pos and flag
        fp += (not pos) and flag
        fn += pos and not flag
        tn += (not pos) and not flag
        score += e.get("score") or 0
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "no_entry": missing, "precision": prec, "recall": rec, "f1": f1,
            "score": score}


def run(args: argparse.Namespace, log=print) -> dict:  # noqa: ANN001 - progress callback
    started = time.time()
    det_path = Path(args.detector) if args.detector else default_detector()
    if det_path is None:
        raise SystemExit("no trained detector: ship detectors/hideshill-grpo or pass --detector")
    detectors = {"trained": load_live_detector(det_path), "rule": load_live_detector(RULE)}
    trained = detectors["trained"]
    assert isinstance(trained, TrainedDetector)
    settings = MarketSettings(episodes=args.episodes, kinds=tuple(args.kinds.split(",")), seed=args.seed)
    calib = calibrate()
    world = build_world(settings.seed, calib)  # as play_market (`detect market`) builds it
    specs = market_specs(settings, world)
    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    feed = work / "posts.jsonl"
    chain = ChainSettings()
    rows: list[Row] = []
    with embedded_market(chain, work / "deployment.json") as embedded:
        local, keys, operator = embedded.local, embedded.keys, embedded.operator
        node, market, manifest = local.node, embedded.market, embedded.manifest
        requester = EvaluationLogClient(ChainClient(node.rpc_url, keys[2]), market.log)
        lives: dict[str, LiveDetector] = {}
        for name, key in (("trained", keys[1]), ("rule", keys[3])):
            client = ChainClient(node.rpc_url, key)
            register_detector(SymphonyContracts.bind(client, local.manifest), f"bench-{name}")
            lives[name] = LiveDetector(client, bind_market(client, manifest), detectors[name],
                                       LiveDetectorSettings(horizon_s=HORIZON, lookback_s=PRE_STEPS * STEP, posts_path=feed,
                                                            state_path=work / f"state-{name}.json",
                                                            detector_path=det_path if name == "trained" else None))
            lives[name].step()
        sender = TimedSender(operator.w3)
        for i, (spec, seed) in enumerate(specs):
            ticker = f"SIM{i}"
            row = Row(ticker, spec.kind, spec.style, seed)

            def at_t0(t0: int, row: Row = row) -> None:
                # As in `detect demo`: a requester opens a window from t0 over H; both detectors answer before it
                # starts, each in its own block (one second apart: the node refuses a timestamp below the last one).
                set_next_block_time(operator.w3, t0 - 1 - len(lives))
                w = requester.open_window(market.pools[row.ticker].pool.address, HORIZON, t0=t0)
                row.window_id = w.id
                for k, (name, live) in enumerate(lives.items()):
                    set_next_block_time(operator.w3, t0 - len(lives) + k)
                    for eval_id in live.step().committed:
                        p = live.pending[eval_id]
                        if p.window_id == w.id:
                            row.entries[name] = {"eval_id": eval_id, "predicted": p.label, "confidence_bp": p.confidence}

            played = play_episode(operator, market, ticker, lambda s=spec, k=seed: simulate_episode(world, calib, s, seed=k),
                                  feed, seed=settings.seed, at_t0=at_t0, sender=sender)
            row.simulated = played.episode.outcome.label.name
            row.sim_confidence_bp = trained.predict(played.episode.observation).confidence_bp
            rows.append(row)
            conf = "  ".join(f"{n} {e['confidence_bp'] / 100:5.1f}%" for n, e in row.entries.items())
            log(f"{ticker:<6} {spec.kind:<12} {spec.style:<18} simulated {row.simulated:<12} {conf}  "
                f"(sim obs {row.sim_confidence_bp / 100:5.1f}%)")
        mine_at(operator.w3, chain_end(operator) + HORIZON)
        for live in lives.values():
            live.step()
            live.shutdown()
        for row in rows:
            for name, e in row.entries.items():
                ev = lives[name].log.get(e["eval_id"])
                e.update(status=ev.status.name, predicted=ev.predicted, confidence_bp=ev.confidence,
                         score=ev.score if ev.settled else None)
                if ev.settled:
                    row.outcome, row.r_peak_bp, row.r_end_bp = ev.outcome.name, ev.r_peak_bp, ev.r_end_bp
        report = verify_log(EvaluationLogClient(operator, market.log), bind_market(operator, manifest),
                            SymphonyContracts.bind(operator, local.manifest))
    meta = trained.inner.metadata
    return {
        "benchmark": "bench_detector_live",
        "detectors": {
            "trained": {"path": str(det_path.relative_to(ROOT) if det_path.is_relative_to(ROOT) else det_path),
                        "model_hash": "0x" + trained.model_hash.hex(), "metrics": metrics(rows, "trained")},
            "rule": {"name": "RuleDetector (rule baseline, `--detector rule`)", "model_hash": "0x" + detectors["rule"].model_hash.hex(),
                     "parameters": asdict(detectors["rule"]), "metrics": metrics(rows, "rule")},
        },
        "campaigns": sum(r.kind == "campaign" for r in rows),
        "episodes": len(rows),
        "realised_pumps": sum(r.outcome == Label.MANIPULATION.name for r in rows),
        "settings": {"episodes": args.episodes, "kinds": list(settings.kinds), "seed": settings.seed,
                     "horizon_s": HORIZON, "lookback_s": PRE_STEPS * STEP,
                     "model_dataset_manifest": meta.get("dataset_manifest_sha256") or meta.get("dataset_manifest_hash")},
        "device": {"machine": platform.machine(), "python": platform.python_version(), "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "accelerator": "none (CPU)"},
        "verify": {"ok": report.ok, "summary": report.summary()},
        "targets": {},
        "rows": [asdict(r) for r in rows],
        "seconds": round(time.time() - started, 1),
    }


def chain_end(operator: ChainClient) -> int:
    return int(operator.w3.eth.get_block("latest")["timestamp"])


def format_table(res: dict) -> list[str]:
    lines = [f"Live benchmark: {res['episodes']} `detect market` episodes ({res['campaigns']} campaigns, "
             f"{res['realised_pumps']} realised pumps) on an embedded anvil, scored by EvaluationLog",
             "| detector | TP | FP | TN | FN | no entry | precision | recall | F1 | score |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, d in res["detectors"].items():
        m = d["metrics"]
        label = f"trained ({d['path']})" if name == "trained" else "rule baseline (RuleDetector)"
        lines.append(f"| {label} | {m['tp']} | {m['fp']} | {m['tn']} | {m['fn']} | {m['no_entry']} | {m['precision']:.3f} | "
                     f"{m['recall']:.3f} | {m['f1']:.3f} | {m['score']:+d} |")
    lines.append(f"model {res['detectors']['trained']['model_hash']}; device {res['device']}; settings {res['settings']}")
    lines.append(f"targets {res['targets']}; {res['verify']['summary']}; {res['seconds']:.0f} s")
    return lines


def main() -> int:
    args = parse_args()
    torch.set_num_threads(1)
    res = run(args, log=lambda line: print(line, flush=True))
    m = res["detectors"]["trained"]["metrics"]
    res["targets"] = {f"recall>={TARGET}": m["recall"] >= TARGET, f"precision>={TARGET}": m["precision"] >= TARGET}
    print()
    for line in format_table(res):
        print(line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
