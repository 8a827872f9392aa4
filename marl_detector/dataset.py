"""The discourse-episode dataset: simulate, label, featurise and write Parquet shards + a feature matrix.

Why splits by campaign style, sybil cluster and seed: a detector that memorises a style's wording or a
cluster's accounts would look perfect on a random split and fail on the next campaign. So:
- train: styles in `TRAIN_STYLES`, sybil clusters of the world's train partition, seeds from the train range;
- val:   the same styles, *other* clusters and seeds (model selection, threshold tuning);
- test:  styles never seen in training (`TEST_STYLES`), test-partition clusters, test seeds.
Negative episodes (quiet, organic hype, genuine news) are split by seed only.

Layout of a dataset directory (schema in docs/hideshill.md):
  episodes-<split>-<shard>.parquet  one row per episode (raw observation before t0, label and metadata)
  features-<split>.npy, labels-<split>.npy, meta-<split>.parquet   the featurised view used for training
  manifest.json                      sizes, seeds, feature names, embedding cache fingerprint, timings
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from core.errors import SymphonyError
from marl_detector.calibration import calibrate
from marl_detector.embed import TextEmbedder
from marl_detector.features import FEATURE_NAMES, extract_features
from marl_detector.sim import (
    KINDS,
    STYLE_DEFAULTS,
    EpisodeSpec,
    ManipulatorParams,
    SimulatedEpisode,
    simulate_episode,
)
from marl_detector.social import World, build_world
from marl_detector.text import TEST_STYLES, TRAIN_STYLES, vocabulary

SPLIT_SHARES = {"train": 0.7, "val": 0.1, "test": 0.2}
KIND_SHARES = {"quiet": 0.2, "organic_hype": 0.15, "news": 0.25, "campaign": 0.4}
SPLIT_SEED_OFFSET = {"train": 0, "val": 10**8, "test": 2 * 10**8}
PARAM_JITTER = 0.15
SHARD_SIZE = 10_000


@dataclass(frozen=True)
class DatasetConfig:
    n_episodes: int = 100_000
    seed: int = 7
    world_seed: int = 1

    def split_sizes(self) -> dict[str, int]:
        sizes = {k: int(round(v * self.n_episodes)) for k, v in SPLIT_SHARES.items()}
        sizes["train"] += self.n_episodes - sum(sizes.values())
        return sizes


def campaign_params(style: str, rng: np.random.Generator) -> ManipulatorParams:
    """A style's typical behaviour with per-campaign jitter."""
    base = STYLE_DEFAULTS[style].as_array()
    return ManipulatorParams.from_array(base + rng.normal(0, PARAM_JITTER, size=base.shape))


def episode_specs(split: str, n: int, seed: int, world: World) -> Iterator[tuple[EpisodeSpec, int]]:
    """(spec, episode seed) for `n` episodes of `split`, deterministic in `seed`."""
    if split not in SPLIT_SHARES:
        raise SymphonyError(f"unknown split {split!r}")
    rng = np.random.default_rng([seed, SPLIT_SEED_OFFSET[split]])
    styles = TEST_STYLES if split == "test" else TRAIN_STYLES
    clusters = world.clusters_for(split)
    kinds = list(KIND_SHARES)
    probs = np.array(list(KIND_SHARES.values()))
    for i in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=probs))]
        ep_seed = SPLIT_SEED_OFFSET[split] + seed * 1_000_003 + i
        eid = f"{split}-{seed}-{i:07d}"
        if kind == "campaign":
            style = styles[int(rng.integers(len(styles)))]
            yield EpisodeSpec(eid, kind, style, int(rng.choice(clusters)), campaign_params(style, rng)), ep_seed
        else:
            yield EpisodeSpec(eid, kind), ep_seed


def episode_row(ep: SimulatedEpisode, split: str, seed: int) -> dict:
    """One Parquet row: the raw pre-t0 observation (big integers as decimal strings) plus label and metadata."""
    o, s, m = ep.observation, ep.spec, ep.observation.market
    p = s.params
    row = {
        "episode_id": s.episode_id, "split": split, "kind": s.kind, "style": s.style,
        "campaign_id": f"{s.style}-c{s.cluster}" if s.kind == "campaign" else "", "seed": seed,
        "ticker": o.ticker, "t0": o.t0, "horizon": o.horizon, "t_start": m.t_start,
        "reserve_q_start": str(m.reserve_q_start), "reserve_t_start": str(m.reserve_t_start),
        "label": int(ep.outcome.label), "binary": ep.outcome.binary, "r_peak_bp": ep.outcome.r_peak_bp,
        "r_end_bp": ep.outcome.r_end_bp, "base_price_wad": str(ep.outcome.base),
        "manipulator_profit": ep.manipulator_profit, "whale_round_trip": ep.whale_round_trip,
        "posts": [{"timestamp": x.timestamp, "author": x.author, "text": x.text} for x in o.social.posts],
        "accounts": [{"account_id": a.account_id, "age_days": a.age_days, "followers": a.followers, "following": a.following}
                     for a in o.social.accounts.values()],
        "follows": [{"follower": a, "followee": b} for a, b in o.social.follows],
        "swaps": [
            {"timestamp": w.timestamp, "trader": w.trader, "is_buy": w.is_buy, "amount_q": str(w.amount_q),
             "amount_t": str(w.amount_t), "reserve_q": str(w.reserve_q), "reserve_t": str(w.reserve_t)}
            for w in m.swaps
        ],
        "holders": [{"address": a, "balance": str(b)} for a, b in m.holder_balances.items()],
    }
    for name in ManipulatorParams.names():
        row[f"p_{name}"] = getattr(p, name) if p else float("nan")
    return row


def observation_from_row(row: dict):  # noqa: ANN201 - EpisodeObservation
    """Rebuild the `EpisodeObservation` of a Parquet row (the inverse of `episode_row`)."""
    from marl_detector.observation import (
        AccountInfo, EpisodeObservation, MarketObservation, PostRecord, SocialObservation, SwapRecord,
    )

    market = MarketObservation(
        t_start=int(row["t_start"]), t0=int(row["t0"]), reserve_q_start=int(row["reserve_q_start"]),
        reserve_t_start=int(row["reserve_t_start"]),
        swaps=[SwapRecord(int(w["timestamp"]), w["trader"], bool(w["is_buy"]), int(w["amount_q"]), int(w["amount_t"]),
                          int(w["reserve_q"]), int(w["reserve_t"])) for w in row["swaps"]],
        holder_balances={h["address"]: int(h["balance"]) for h in row["holders"]},
    )
    social = SocialObservation(
        posts=[PostRecord(int(x["timestamp"]), x["author"], x["text"]) for x in row["posts"]],
        accounts={a["account_id"]: AccountInfo(a["account_id"], float(a["age_days"]), int(a["followers"]), int(a["following"]))
                  for a in row["accounts"]},
        follows=[(f["follower"], f["followee"]) for f in row["follows"]],
    )
    return EpisodeObservation(row["episode_id"], row["ticker"], int(row["t0"]), int(row["horizon"]), market, social)


_WORKER: dict = {}


def _init_worker(world_seed: int) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER["calib"] = calibrate()
    _WORKER["world"] = build_world(world_seed, _WORKER["calib"])
    _WORKER["embedder"] = TextEmbedder()


def _work(job: tuple[str, int, list[tuple[EpisodeSpec, int]]]) -> tuple[str, int, list[dict], np.ndarray]:
    split, seed, specs = job
    rows, feats = [], []
    for spec, ep_seed in specs:
        ep = simulate_episode(_WORKER["world"], _WORKER["calib"], spec, ep_seed)
        rows.append(episode_row(ep, split, ep_seed))
        feats.append(extract_features(ep.observation, _WORKER["embedder"]))
    return split, seed, rows, np.stack(feats)


def generate(out_dir: Path, cfg: DatasetConfig, workers: int = 1,
             progress: Callable[[int, int], None] | None = None, chunk: int = 500) -> dict:
    """Write the dataset; returns the manifest. Embeddings of the whole vocabulary are cached first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if cfg.n_episodes < 10:
        raise SymphonyError("need at least 10 episodes")
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    embedder = TextEmbedder()
    embedder.warm(vocabulary())  # the only model calls: once per vocabulary text
    world = build_world(cfg.world_seed, calibrate())
    jobs = []
    for split, n in cfg.split_sizes().items():
        specs = list(episode_specs(split, n, cfg.seed, world))
        jobs += [(split, i, specs[i:i + chunk]) for i in range(0, len(specs), chunk)]
    total = cfg.n_episodes
    results: dict[str, list[tuple[int, list[dict], np.ndarray]]] = {s: [] for s in SPLIT_SHARES}
    done = 0
    if workers > 1:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(cfg.world_seed,)) as pool:
            for split, idx, rows, feats in pool.imap_unordered(_work, jobs):
                results[split].append((idx, rows, feats))
                done += len(rows)
                if progress:
                    progress(done, total)
    else:
        _init_worker(cfg.world_seed)
        for job in jobs:
            split, idx, rows, feats = _work(job)
            results[split].append((idx, rows, feats))
            done += len(rows)
            if progress:
                progress(done, total)
    manifest: dict = {"config": asdict(cfg), "splits": {}, "feature_names": list(FEATURE_NAMES),
                      "embedding_fingerprint": embedder.fingerprint(list(vocabulary())), "kinds": list(KINDS)}
    for split, parts in results.items():
        parts.sort(key=lambda x: x[0])
        rows = [r for _, rs, _ in parts for r in rs]
        feats = np.concatenate([f for _, _, f in parts]) if parts else np.zeros((0, len(FEATURE_NAMES)), np.float32)
        for old in out_dir.glob(f"episodes-{split}-*.parquet"):
            old.unlink()
        for k in range(0, len(rows), SHARD_SIZE):
            pq.write_table(pa.Table.from_pylist(rows[k:k + SHARD_SIZE]),
                           out_dir / f"episodes-{split}-{k // SHARD_SIZE:03d}.parquet", compression="zstd")
        np.save(out_dir / f"features-{split}.npy", feats.astype(np.float32))
        np.save(out_dir / f"labels-{split}.npy", np.array([r["binary"] for r in rows], dtype=np.int8))
        meta_cols = ["episode_id", "kind", "style", "campaign_id", "label", "binary", "r_peak_bp", "r_end_bp",
                     "manipulator_profit", "t0"] + [f"p_{n}" for n in ManipulatorParams.names()]
        pq.write_table(pa.Table.from_pylist([{c: r[c] for c in meta_cols} for r in rows]), out_dir / f"meta-{split}.parquet")
        labels = np.array([r["label"] for r in rows])
        manifest["splits"][split] = {
            "episodes": len(rows), "positives": int((labels == 1).sum()), "discovery": int((labels == 2).sum()),
            "none": int((labels == 0).sum()),
            "styles": sorted({r["style"] for r in rows if r["style"]}),
            "campaigns": len({r["campaign_id"] for r in rows if r["campaign_id"]}),
        }
    manifest["seconds"] = round(time.time() - t_start, 1)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


@dataclass
class SplitData:
    X: np.ndarray
    y: np.ndarray
    meta: "object"  # pyarrow Table with per-episode metadata (kind, style, label, ...)


def load_split(data_dir: Path, split: str) -> SplitData:
    """The featurised view of one split."""
    import pyarrow.parquet as pq

    f = data_dir / f"features-{split}.npy"
    if not f.exists():
        raise SymphonyError(f"no dataset at {data_dir} (missing {f.name}); run `symphony detect generate` first")
    return SplitData(np.load(f), np.load(data_dir / f"labels-{split}.npy"), pq.read_table(data_dir / f"meta-{split}.parquet"))
