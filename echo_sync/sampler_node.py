"""An inference-swarm node: an LLMBackend that follows the on-chain policy versions.

Why the node verifies and not the trainer's server: the bytes come over plain HTTP from whoever serves them;
only the sha256 the publisher recorded on chain is trusted. Weights that hash differently are deleted and
never loaded, and the node keeps serving the version it had.

Why the version rules live here too (issue 14, item 8), whoever asks — an authenticated trainer included: the
node never moves backwards (a version lower than the one it holds is refused, `PolicyRollback`), never loads a
revoked version (`RevokedPolicyVersion`) nor one the chain does not record, and stops generating once the
version it holds is revoked, until a newer valid version is published. A refusal leaves the verified version
it holds in place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from agents.llm.base import LLMBackend, SamplingParams
from core.errors import SymphonyError
from echo_sync.errors import PolicyRollback, RevokedPolicyVersion, UnknownPolicyVersion, WeightHashMismatch
from echo_sync.registry import PolicyRegistryClient
from echo_sync.rollout import RolloutGroup, Sample
from echo_sync.settings import SamplingSettings
from echo_sync.tasks import TaskSet


@dataclass
class SamplerStats:
    started_at: float = field(default_factory=time.monotonic)
    generate_s: float = 0.0
    groups: int = 0
    samples: int = 0
    syncs: list[dict] = field(default_factory=list)  # {version, download_s, verify_s, load_s, total_s, bytes}
    refused: list[dict] = field(default_factory=list)  # {version, reason}

    def to_json(self) -> dict:
        sync_s = sum(s["total_s"] for s in self.syncs)
        return {
            "uptime_s": time.monotonic() - self.started_at,
            "generate_s": self.generate_s,
            "sync_s": sync_s,
            "groups": self.groups,
            "samples": self.samples,
            "syncs": self.syncs,
            "refused": self.refused,
        }


class SamplerNode:
    def __init__(
        self,
        sampler_id: str,
        backend: LLMBackend,
        registry: PolicyRegistryClient,
        tasks: TaskSet,
        sampling: SamplingSettings,
        group_size: int,
        cache_dir: Path,
    ):
        self.sampler_id, self.backend, self.registry, self.tasks = sampler_id, backend, registry, tasks
        self.sampling, self.group_size = sampling, group_size
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.version: int | None = None  # None until verified weights are loaded: the node refuses to generate
        self.sha256: str | None = None
        self.held_revoked = False  # the version held was revoked on chain: generation stops until a newer one loads
        self.stats = SamplerStats()
        self._lock = threading.Lock()  # one generation or sync at a time

    # ------------------------------------------------------------------ weight sync
    def _refuse(self, version: int, reason: str, error: type[UnknownPolicyVersion]) -> UnknownPolicyVersion:
        self.stats.refused.append({"version": version, "reason": reason})
        return error(f"policy v{version} refused: {reason} (this sampler keeps v{self.version})")

    def sync_to(self, version: int) -> None:
        """Download, verify against the chain, and load `version` (no-op if already loaded and still valid)."""
        with self._lock:
            if self.version is not None and version < self.version:
                raise self._refuse(version, f"older than the loaded v{self.version}", PolicyRollback)
            record = self.registry.get(version)
            if record is None:
                raise UnknownPolicyVersion(f"policy version {version} is not recorded on chain")
            if record.revoked:
                if version == self.version:
                    self.held_revoked = True
                raise self._refuse(version, "revoked on chain", RevokedPolicyVersion)
            if self.version == version:
                return
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(record.uri, timeout=300) as response:
                    data = response.read()  # in memory: verified before a single byte touches disk or model
            except (urllib.error.URLError, OSError) as exc:
                raise SymphonyError(f"cannot download policy v{version} from {record.uri}: {exc}") from None
            t1 = time.perf_counter()
            got = hashlib.sha256(data).hexdigest()
            t2 = time.perf_counter()
            if got != record.sha256:
                self.stats.refused.append({"version": version, "reason": "sha256 mismatch"})
                raise WeightHashMismatch(
                    f"policy v{version} from {record.uri} hashes to {got[:16]}…, chain records {record.sha256[:16]}…; refused"
                )
            self._load(data, version)
            t3 = time.perf_counter()
            size = len(data)
            self.version, self.sha256 = version, got
            self.held_revoked = False
            self.stats.syncs.append(
                {"version": version, "download_s": t1 - t0, "verify_s": t2 - t1, "load_s": t3 - t2, "total_s": t3 - t0, "bytes": size}
            )

    def _load(self, data: bytes, version: int) -> None:
        """Swap the verified weights in: straight from memory when the backend can (TransformersBackend's
        load_state_dict), else through a cache file and the interface's load_weights(path, version)."""
        from_memory = getattr(self.backend, "load_state_dict", None)
        if callable(from_memory):
            from safetensors.torch import load

            from_memory(load(data), version=version)
            return
        path = self.cache_dir / f"v{version:06d}.safetensors"
        fd, tmp_name = tempfile.mkstemp(dir=self.cache_dir, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp_name, path)
        self.backend.load_weights(path, version)
        for old in self.cache_dir.glob("v*.safetensors"):
            if old != path:
                old.unlink(missing_ok=True)

    def catch_up(self) -> int | None:
        """Load the newest non-revoked version if ours is older; notice when ours was revoked. Returns the
        version now loaded."""
        latest = self.registry.latest_valid_version()
        if self.version is not None and not self.held_revoked and latest < self.version:
            self.held_revoked = self.registry.is_revoked(self.version)  # ours was revoked (latest moved back)
        if latest >= 1 and (self.version is None or latest > self.version):
            self.sync_to(latest)
        return self.version

    # ------------------------------------------------------------------ generation
    def generate(self, task_indices: list[int]) -> list[RolloutGroup]:
        """One group of `group_size` completions per task, tagged with the loaded version and hash."""
        with self._lock:
            if self.version is None or self.sha256 is None:
                raise UnknownPolicyVersion("this sampler has not loaded any verified policy yet")
            if self.held_revoked:
                raise RevokedPolicyVersion(f"the loaded policy v{self.version} was revoked; waiting for a newer version")
            version, sha = self.version, self.sha256
            params = SamplingParams(
                max_new_tokens=self.sampling.max_new_tokens,
                temperature=self.sampling.temperature,
                top_p=self.sampling.top_p,
                n=self.group_size,
            )
            t0 = time.perf_counter()
            result = self.backend.generate([self.tasks.conversation(i) for i in task_indices], params)
            elapsed = time.perf_counter() - t0
            self.stats.generate_s += elapsed
        groups = []
        for index, completions in zip(task_indices, result.completions):
            samples = tuple(Sample(c.text, tuple(c.token_ids), c.finish_reason) for c in completions)
            groups.append(RolloutGroup(index, version, sha, self.sampler_id, samples, generation_s=elapsed / len(task_indices)))
        self.stats.groups += len(groups)
        self.stats.samples += sum(len(g.samples) for g in groups)
        return groups
