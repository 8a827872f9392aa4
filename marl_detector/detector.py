"""Saving and loading the trained detector: torch state dict + JSON metadata + sha256 (the on-chain model hash).

Why three files: `detector.pt` is the exact artifact the hash commits to (sha256 of its bytes, also written to
`detector.sha256` and into the metadata); `detector.json` says what the network expects (feature names and
order, architecture, decision threshold, training data fingerprint, metrics), so a consumer can refuse a
model built for other features. A shipped detector (detectors/hideshill-grpo) adds `manifest.json`: the hash it
commits under on chain, the dataset, the command that reproduces it and its benchmark figures.
`load_detector` verifies the weights against every hash the folder declares before use: a model file that is not
the one its manifest names would otherwise be committed on chain under a hash that says something else.

    from marl_detector.detector import load_detector
    det = load_detector("out/detector/model")      # directory or path to detector.pt
    label, confidence = det.predict(observation)   # label 0/1, confidence = P(manipulation) in [0, 1]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.errors import SymphonyError
from core.hashing import sha256_file
from marl_detector.embed import TextEmbedder
from marl_detector.features import FEATURE_NAMES, extract_features
from marl_detector.model import DetectorNet
from marl_detector.observation import EpisodeObservation

WEIGHTS = "detector.pt"
METADATA = "detector.json"
HASHFILE = "detector.sha256"
MANIFEST = "manifest.json"  # shipped detectors only (docs/hideshill.md, "The shipped detector")
FORMAT = "hideshill-detector/1"


def save_detector(model: DetectorNet, out_dir: Path, extra: dict | None = None, threshold: float = 0.5) -> str:
    """Write weights, metadata and hash; returns the sha256 hex digest of detector.pt."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, weights)
    digest = sha256_file(weights)
    meta = {
        "format": FORMAT, "sha256": digest, "n_features": model.n_features, "hidden": list(model.hidden),
        "feature_names": list(FEATURE_NAMES), "threshold": threshold, "saved_at": int(time.time()),
        **(extra or {}),
    }
    (out_dir / METADATA).write_text(json.dumps(meta, indent=2))
    (out_dir / HASHFILE).write_text(digest + "\n")
    return digest


@dataclass
class LoadedDetector:
    model: DetectorNet
    metadata: dict
    sha256: str
    threshold: float = 0.5
    embedder: TextEmbedder = field(default_factory=TextEmbedder)

    @property
    def model_hash(self) -> bytes:
        """The 32-byte hash to commit on chain."""
        return bytes.fromhex(self.sha256)

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(self.model(torch.as_tensor(np.atleast_2d(X), dtype=torch.float32))).numpy()

    def predict_logits(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model(torch.as_tensor(np.atleast_2d(X), dtype=torch.float32)).numpy()

    def predict(self, obs: EpisodeObservation) -> tuple[int, float]:
        """(label, confidence): 1 = manipulation expected; confidence = P(manipulation)."""
        p = float(self.predict_features(extract_features(obs, self.embedder))[0])
        return int(p >= self.threshold), p


def load_detector(path: str | Path, embedder: TextEmbedder | None = None) -> LoadedDetector:
    """Load and verify a detector saved by `save_detector` (a directory or its detector.pt)."""
    p = Path(path)
    d = p if p.is_dir() else p.parent
    weights, meta_path = d / WEIGHTS, d / METADATA
    if not weights.exists() or not meta_path.exists():
        raise SymphonyError(f"no detector at {d} (need {WEIGHTS} and {METADATA}); run `symphony detect train`")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise SymphonyError(f"{meta_path}: unknown detector format {meta.get('format')!r}")
    digest = sha256_file(weights)
    for source, declared in _declared_hashes(d, meta):
        if digest != declared:
            raise SymphonyError(f"{weights}: sha256 {digest} does not match {source} ({declared}); "
                                f"refusing a model file other than the one its manifest names")
    if meta.get("feature_names") != list(FEATURE_NAMES):
        raise SymphonyError(f"{d}: detector was trained on different features than this code extracts")
    model = DetectorNet(int(meta["n_features"]), tuple(meta["hidden"]))
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    return LoadedDetector(model, meta, digest, float(meta.get("threshold", 0.5)), embedder or TextEmbedder())


def _declared_hashes(d: Path, meta: dict) -> list[tuple[str, str | None]]:
    """Every sha256 the folder declares for its weights: the metadata's, the hash file's and, for a shipped
    detector, the manifest's (the hash it commits under on chain). All of them must name the same bytes."""
    out: list[tuple[str, str | None]] = [(METADATA, meta.get("sha256"))]
    if (d / HASHFILE).exists():
        out.append((HASHFILE, (d / HASHFILE).read_text().strip()))
    if (d / MANIFEST).exists():
        try:
            manifest = json.loads((d / MANIFEST).read_text())
        except json.JSONDecodeError as exc:
            raise SymphonyError(f"{d / MANIFEST}: not valid JSON ({exc})") from None
        out.append((MANIFEST, manifest.get("sha256") if isinstance(manifest, dict) else None))
    return out
