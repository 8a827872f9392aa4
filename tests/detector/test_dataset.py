"""Dataset: Parquet schema, split discipline (styles, sybil clusters, seeds), and row <-> observation round trip."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from marl_detector.calibration import calibrate
from marl_detector.dataset import DatasetConfig, generate, load_split, observation_from_row
from marl_detector.embed import TextEmbedder
from marl_detector.features import N_FEATURES, extract_features
from marl_detector.social import build_world
from marl_detector.text import TEST_STYLES, TRAIN_STYLES

COLUMNS = {
    "episode_id", "split", "kind", "style", "campaign_id", "seed", "ticker", "t0", "horizon", "t_start",
    "reserve_q_start", "reserve_t_start", "label", "binary", "r_peak_bp", "r_end_bp", "base_price_wad",
    "manipulator_profit", "whale_round_trip", "posts", "accounts", "follows", "swaps", "holders",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    manifest = generate(out, DatasetConfig(n_episodes=120, seed=3), workers=1)
    return out, manifest


def test_schema_and_manifest(dataset) -> None:
    out, manifest = dataset
    table = pq.read_table(next(out.glob("episodes-train-*.parquet")))
    assert COLUMNS <= set(table.column_names)
    assert json.loads((out / "manifest.json").read_text())["splits"] == manifest["splits"]
    assert sum(s["episodes"] for s in manifest["splits"].values()) == 120
    for split in ("train", "val", "test"):
        d = load_split(out, split)
        assert d.X.shape == (manifest["splits"][split]["episodes"], N_FEATURES) and np.isfinite(d.X).all()
        labels = np.array(d.meta.column("label").to_pylist())
        np.testing.assert_array_equal(d.y, (labels == 1).astype(np.int8))


def test_splits_by_style_cluster_and_seed(dataset) -> None:
    out, manifest = dataset
    rows = {s: [r for f in sorted(out.glob(f"episodes-{s}-*.parquet")) for r in pq.read_table(f).to_pylist()]
            for s in ("train", "val", "test")}
    styles = {s: {r["style"] for r in rs if r["kind"] == "campaign"} for s, rs in rows.items()}
    assert styles["train"] <= set(TRAIN_STYLES) and styles["val"] <= set(TRAIN_STYLES)
    assert styles["test"] and styles["test"] <= set(TEST_STYLES)
    # campaign ids are "<style>-c<cluster>": each split's sybil clusters come from its own partition of the world
    world = build_world(int(manifest["config"]["world_seed"]), calibrate())
    clusters = {s: {int(r["campaign_id"].rsplit("-c", 1)[1]) for r in rs if r["kind"] == "campaign"} for s, rs in rows.items()}
    for split, used in clusters.items():
        assert used and used <= set(world.clusters_for(split)), split
    assert not (clusters["train"] & clusters["val"] or clusters["train"] & clusters["test"] or clusters["val"] & clusters["test"])
    seeds = {s: {r["seed"] for r in rs} for s, rs in rows.items()}
    assert not (seeds["train"] & seeds["test"] or seeds["train"] & seeds["val"] or seeds["val"] & seeds["test"])


def test_rows_rebuild_the_exact_observation(dataset) -> None:
    out, _ = dataset
    d = load_split(out, "val")
    rows = [r for f in sorted(out.glob("episodes-val-*.parquet")) for r in pq.read_table(f).to_pylist()]
    emb = TextEmbedder()
    for i in range(min(5, len(rows))):
        x = extract_features(observation_from_row(rows[i]), emb)
        np.testing.assert_allclose(x, d.X[i], rtol=1e-5, atol=1e-6)
