"""Baselines the GRPO detector is compared against, on the same features and splits.

- `ThresholdDetector`: a Kamps & Kleinberg (2018) style rule on market data only — flag a window when the
  last hour's volume is a multiple of the trailing average AND the price rose by more than a threshold.
  Both thresholds are grid-searched on the training split for F1 (so the rule gets its best shot).
  La Morgia et al. (2020) report F1 60.5 % for this family of rules on real pumps; the simulator is
  calibrated so that this rule lands near 0.6 (docs/hideshill.md).
- logistic regression / gradient boosting (scikit-learn) on all features or a modality subset;
- text-only: logistic regression on the semantic (MiniLM) features only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_detector.features import FEATURE_NAMES, MODALITIES

_VOL = FEATURE_NAMES.index("vol_ratio_1h")
_RET = FEATURE_NAMES.index("ret_1h")


def f1_score(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float(((pred == 1) & (y == 1)).sum())
    fp = float(((pred == 1) & (y == 0)).sum())
    fn = float(((pred == 0) & (y == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass
class ThresholdDetector:
    vol_ratio: float = 1.0  # log of (last-hour volume / trailing hourly average)
    ret: float = 0.05  # last-hour log return

    def scores(self, X: np.ndarray) -> np.ndarray:
        """A continuous score for AUC: how far both signals are past their thresholds (the weaker one)."""
        return np.minimum(X[:, _VOL] - self.vol_ratio, (X[:, _RET] - self.ret) * 10)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return ((X[:, _VOL] >= self.vol_ratio) & (X[:, _RET] >= self.ret)).astype(int)

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray) -> "ThresholdDetector":
        best, best_f1 = cls(), -1.0
        for v in np.linspace(-2.0, 3.0, 51):  # wide: the rule may even drop the volume condition
            for r in np.linspace(-0.02, 0.3, 33):
                cand = cls(float(v), float(r))
                f = f1_score(y, cand.predict(X))
                if f > best_f1:
                    best, best_f1 = cand, f
        return best


def modality_columns(names: tuple[str, ...]) -> np.ndarray:
    """Column indices of the union of the named modalities."""
    cols: list[int] = []
    for n in names:
        s = MODALITIES[n]
        cols += list(range(s.start, s.stop))
    return np.array(sorted(cols))


def fit_logreg(X: np.ndarray, y: np.ndarray, seed: int = 0):  # noqa: ANN201 - sklearn Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=1.0, random_state=seed)).fit(X, y)


def fit_gbm(X: np.ndarray, y: np.ndarray, seed: int = 0):  # noqa: ANN201 - sklearn estimator
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed).fit(X, y)
