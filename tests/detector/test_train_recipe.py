"""Pieces of the co-evolution recipe (marl_detector/train.py): the text swap and the held-out validation style."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import SymphonyError
from marl_detector.baselines import modality_columns
from marl_detector.dataset import SplitData
from marl_detector.features import N_FEATURES
from marl_detector.train import TrainConfig, text_swapped, train_detector, without_style


def test_text_swap_takes_text_from_organic_rows_and_keeps_social_and_market() -> None:
    rng = np.random.default_rng(0)
    campaigns = rng.normal(size=(50, N_FEATURES))
    organic = rng.normal(size=(20, N_FEATURES)) + 100.0  # far away, so a copied value is recognisable
    before = campaigns.copy()
    out = text_swapped(campaigns, organic, np.random.default_rng(1))
    text = modality_columns(("text",))
    rest = np.setdiff1d(np.arange(N_FEATURES), text)
    assert np.array_equal(out[:, rest], campaigns[:, rest]), "social and market features are the campaign's own"
    for row in out[:, text]:  # every row's text block is one organic row's, whole
        assert any(np.array_equal(row, o) for o in organic[:, text])
    assert len({tuple(r[:3]) for r in out[:, text]}) > 1, "rows draw different organic texts"
    assert np.array_equal(campaigns, before), "the input is left as it was"


def test_without_style_drops_only_that_styles_campaigns() -> None:
    meta = pa.table({"kind": ["campaign", "news", "campaign", "quiet"], "style": ["airdrop", "", "influencer", ""]})
    split = SplitData(np.arange(8.0).reshape(4, 2), np.array([1, 0, 1, 0]), meta)
    kept = without_style(split, "airdrop")
    assert kept.meta.column("style").to_pylist() == ["", "influencer", ""]
    assert kept.X.tolist() == [[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]] and kept.y.tolist() == [0, 1, 0]


def test_a_holdout_style_that_is_not_a_training_style_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    for split in ("train", "val"):
        np.save(tmp_path / f"features-{split}.npy", np.zeros((2, N_FEATURES)))
        np.save(tmp_path / f"labels-{split}.npy", np.zeros(2, dtype=int))
        pq.write_table(pa.table({"kind": ["news", "quiet"], "style": ["", ""], "label": [0, 0]}), tmp_path / f"meta-{split}.parquet")
    with pytest.raises(SymphonyError, match="holdout_style 'whale_alert' is not a training style"):
        train_detector(tmp_path, tmp_path / "model", TrainConfig(holdout_style="whale_alert"), log=lambda _: None)
