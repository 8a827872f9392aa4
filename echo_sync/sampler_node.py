"""An inference-swarm node: an LLMBackend that follows the on-chain policy versions.

Why the node verifies and not the trainer's server: the bytes come over plain HTTP from whoever serves them;
only the sha256 the publisher recorded on chain is trusted. Weights that hash differently are deleted and
never loaded, and the node keeps serving the version it had.

Why the version rules live here too (issue 14, item 8), whoever asks — an authenticated trainer included: the
node never moves backwards (a version lower than the one it holds is refused, `PolicyRollback`), never loads a
revoked version (`RevokedPolicyVersion`) nor one the chain does not record, and stops generating once the
version it holds is revoked, until a newer valid version is published. A refusal leaves the verified version
it holds in place.

Why a node with a key announces what it serves (`PolicyRegistry.announceServing`, a `PolicyServed` event): which
weights answered a request is what a user of the swarm wants to check, and only the node knows when its download
verified and loaded. The announcement follows every load, a revocation of the version held (version 0: serving
nothing) and a shutdown; it is observability, not consensus, so a failed announcement is one log line and the
node keeps serving.
"""

from __future__ import annotations

import hashlib
import logging
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
from echo_sync.errors import (
    AdapterMismatch,
    OversizePolicy,
    PolicyRollback,
    RevokedPolicyVersion,
    UnknownPolicyVersion,
    WeightHashMismatch,
)
from echo_sync.registry import PolicyRegistryClient
from echo_sync.rollout import RolloutGroup
from echo_sync.settings import SamplingSettings
from echo_sync.tasks import TaskSet

log = logging.getLogger("symphony.echo.sampler")

@dataclass
class SamplerStats:
    started_at: float = field(default_factory=time.monotonic)
    generate_s: float = 0.0
    groups: int = 0
    samples: int = 0
    syncs: list[dict] = field(default_factory=list)  # {version, download_s, verify_s, load_s, total_s, bytes}
    refused: list[dict] = field(default_factory=list)  # {version, reason}
    announced: list[int] = field(default_factory=list)  # versions announced on chain, in order (0: stopped)
    announce_errors: int = 0

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
            "announced": self.announced,
            "announce_errors": self.announce_errors,
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
        *,
        base_sha256: str | None = None,
        max_bytes: int | None = None,
        announcer: PolicyRegistryClient | None = None,
    ):
        """`base_sha256` set: policy versions are LoRA adapters of the base model with that hash (the one this
        backend serves); adapters for any other base model are refused. `max_bytes` caps a download (checked
        before hashing: a huge or endless body is cut off, never read whole). `announcer`: the registry through a
        client that signs as this node, which then announces on chain the version it serves."""
        self.sampler_id, self.backend, self.registry, self.tasks = sampler_id, backend, registry, tasks
        self.sampling, self.group_size = sampling, group_size
        self.base_sha256, self.max_bytes = base_sha256, max_bytes
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.version: int | None = None  # None until verified weights are loaded: the node refuses to generate
        self.sha256: str | None = None
        self.held_revoked = False  # the version held was revoked on chain: generation stops until a newer one loads
        self.announcer = announcer
        self._announced = 0  # the version this node's last announcement named (0: none yet, or serving nothing)
        self.stats = SamplerStats()
        self._lock = threading.Lock()  # one generation or sync at a time

    # ------------------------------------------------------------------ weight sync
    def _refuse(self, version: int, reason: str, error: type[UnknownPolicyVersion]) -> UnknownPolicyVersion:
        self.stats.refused.append({"version": version, "reason": reason})
        return error(f"policy v{version} refused: {reason} (this sampler keeps v{self.version})")

    def sync_to(self, version: int) -> None:
        """Download, verify against the chain, and load `version` (no-op if already loaded and still valid)."""
        try:
            self._sync_to(version)
        finally:
            self._announce_state()  # outside the lock: a slow RPC must not hold up generation

    def _sync_to(self, version: int) -> None:
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
            if self.base_sha256 is not None:
                from agents.llm.adapter_file import base_hash_from_uri

                claimed = base_hash_from_uri(record.uri)
                if claimed != self.base_sha256:
                    raise self._refuse(version, f"adapter for base model {str(claimed)[:16]}…, this sampler serves "
                                                f"{self.base_sha256[:16]}…", AdapterMismatch)
            t0 = time.perf_counter()
            data = self._download(version, record.uri)
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

    def _download(self, version: int, uri: str) -> bytes:
        """The body at `uri`, refused (and counted) beyond `max_bytes` — by Content-Length or while reading."""
        try:
            with urllib.request.urlopen(uri.partition("#")[0], timeout=300) as response:
                if self.max_bytes is not None:
                    declared = response.headers.get("Content-Length")
                    if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                        raise self._refuse(version, f"download of {int(declared)} bytes exceeds the cap of "
                                                    f"{self.max_bytes}", OversizePolicy)
                    data = response.read(self.max_bytes + 1)
                    if len(data) > self.max_bytes:
                        raise self._refuse(version, f"download exceeds the cap of {self.max_bytes} bytes", OversizePolicy)
                    return data
                return response.read()  # in memory: verified before a single byte touches disk or model
        except (urllib.error.URLError, OSError) as exc:
            raise SymphonyError(f"cannot download policy v{version} from {uri}: {exc}") from None

    def _load(self, data: bytes, version: int) -> None:
        """Swap the verified weights in. Adapters: parsed and checked against this node's base model, written
        as a peft folder, hot-swapped with `LLMBackend.load_adapter`. Full weights: straight from memory when
        the backend can (TransformersBackend's load_state_dict), else through a cache file and load_weights."""
        if self.base_sha256 is not None:
            self._load_adapter(data, version)
            return
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

    def _load_adapter(self, data: bytes, version: int) -> None:
        import shutil

        from agents.llm.adapter_file import AdapterError, read_adapter, write_peft_folder

        try:
            adapter = read_adapter(data)
        except AdapterError as exc:
            raise self._refuse(version, str(exc), AdapterMismatch) from None
        if adapter.base_sha256 != self.base_sha256:
            raise self._refuse(version, f"adapter metadata names base model {adapter.base_sha256[:16]}…", AdapterMismatch)
        folder = self.cache_dir / f"v{version:06d}.adapter"
        shutil.rmtree(folder, ignore_errors=True)
        write_peft_folder(adapter, folder)
        try:
            self.backend.load_adapter(folder, version)  # checks everything before touching the served adapter
        except SymphonyError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise self._refuse(version, f"adapter does not fit this model: {exc}", AdapterMismatch) from None
        for old in self.cache_dir.glob("v*.adapter"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------ announcements
    def _announce_state(self) -> None:
        """Announce what this node serves now if that differs from its last announcement (a revoked version held
        is announced as 0: the node generates nothing until a newer version loads)."""
        serving = 0 if self.version is None or self.held_revoked else self.version
        if self.announcer is not None and serving != self._announced:
            self._announce(serving, self.sha256 if serving else "")

    def _announce(self, version: int, sha256_hex: str) -> None:
        try:
            self.announcer.announce_serving(version, sha256_hex)
        except Exception as exc:  # noqa: BLE001 - observability: the node keeps serving whatever the chain says
            self.stats.announce_errors += 1
            log.warning("sampler %s: could not announce serving v%d on chain: %s", self.sampler_id, version,
                        (str(exc).splitlines() or [type(exc).__name__])[0][:300])
            return
        self._announced = version
        self.stats.announced.append(version)

    def stop_announcing(self) -> None:
        """At shutdown: announce that this node serves nothing any more (no-op without an announcer or when its
        last announcement already said so)."""
        if self.announcer is not None and self._announced:
            self._announce(0, "")

    def catch_up(self) -> int | None:
        """Load the newest non-revoked version if ours is older; notice when ours was revoked. Returns the
        version now loaded."""
        latest = self.registry.latest_valid_version()
        if self.version is not None and not self.held_revoked and latest < self.version:
            self.held_revoked = self.registry.is_revoked(self.version)  # ours was revoked (latest moved back)
        if latest >= 1 and (self.version is None or latest > self.version):
            self.sync_to(latest)
        else:
            self._announce_state()
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
                logprobs=True,
            )
            t0 = time.perf_counter()
            rollouts = self.tasks.rollouts(self.backend, task_indices, params, self.group_size)
            elapsed = time.perf_counter() - t0
            self.stats.generate_s += elapsed
        groups = []
        for index, samples in zip(task_indices, rollouts):
            groups.append(RolloutGroup(index, version, sha, self.sampler_id, samples, generation_s=elapsed / len(task_indices)))
        self.stats.groups += len(groups)
        self.stats.samples += sum(len(g.samples) for g in groups)
        return groups
