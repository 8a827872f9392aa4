"""Publishing a policy version: write safetensors, hash it, record (version, sha256, URI) on chain.

Why the chain write comes last: a version becomes visible to samplers only once its bytes are already
servable, so a sampler that sees `latestVersion() == v` can always download v. Versions continue from the
registry's latest (the contract accepts only latest + 1, so a restarted trainer picks up where the chain is);
a revoked version is no longer served nor admitted as rollouts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch

from echo_sync.registry import PolicyRegistryClient
from echo_sync.weights import PolicyStore


@dataclass(frozen=True)
class Published:
    version: int
    sha256: str
    uri: str
    bytes: int
    export_s: float
    chain_s: float


class PolicyPublisher:
    def __init__(self, store: PolicyStore, registry: PolicyRegistryClient | None, base_url: str):
        """`base_url` is where the trainer's HTTP server serves `store` (…/policies/<v>/model.safetensors).
        `registry=None` keeps versions local (co-located mode has nobody to tell)."""
        self.store, self.registry, self.base_url = store, registry, base_url.rstrip("/")
        self._lock = threading.Lock()
        self._published: dict[int, Published] = {}
        self._revoked: set[int] = set()
        self.current_version = registry.latest_version() if registry is not None else 0

    def uri(self, version: int) -> str:
        """Where samplers fetch `version`; an adapter's URI names its base model (`#base=<sha256>`), so the
        on-chain record binds the adapter to the model it adapts and a sampler on another model refuses it
        before downloading a byte."""
        uri = f"{self.base_url}/policies/{version}/{self.store.file_name}"
        return f"{uri}#base={self.store.base_sha256}" if self.store.base_sha256 else uri

    def publish(self, model: torch.nn.Module) -> Published:
        version = self.current_version + 1
        t0 = time.perf_counter()
        path, sha = self.store.write(model, version)
        t1 = time.perf_counter()
        uri = self.uri(version)
        if self.registry is not None:
            self.registry.publish(version, sha, uri)
        record = Published(version, sha, uri, path.stat().st_size, t1 - t0, time.perf_counter() - t1)
        with self._lock:
            self._published[version] = record
            self.current_version = version
        return record

    def revoke(self, version: int, reason: str = "") -> None:
        """Revoke a version on chain (e.g. training diverged); it is no longer served or admitted."""
        if self.registry is not None:
            self.registry.revoke(version, reason)
        with self._lock:
            self._revoked.add(version)

    def is_revoked(self, version: int) -> bool:
        with self._lock:
            return version in self._revoked

    def sha_of(self, version: int) -> str | None:
        """sha256 of a version this trainer published and did not revoke, else None (what the weights server
        serves and the replay buffer admits)."""
        with self._lock:
            record = self._published.get(version)
            if version in self._revoked:
                return None
        return record.sha256 if record else None

    def records(self) -> list[Published]:
        with self._lock:
            return [self._published[v] for v in sorted(self._published)]
