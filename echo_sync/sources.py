"""Where a trainer step's rollout groups come from, one class per mode.

Why one interface: the training loop is identical in all three modes — only "get groups for version v" and
what counts as the trainer waiting differ, so the benchmark compares modes and nothing else.
"""

from __future__ import annotations

import abc
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from agents.llm.base import LLMBackend, SamplingParams
from core.untrusted_json import loads_object
from echo_sync.errors import NoSamplersLeft
from echo_sync.replay_buffer import ReplayBuffer
from echo_sync.rollout import RolloutGroup
from echo_sync.settings import SamplingSettings
from echo_sync.task_stream import TaskStream
from echo_sync.tasks import TaskSet


class BatchSource(abc.ABC):
    """Rank 0 asks for `n` groups while the newest published version is `version`."""

    wait_s: float = 0.0  # time the trainer spent waiting for rollouts (its idle time)

    @abc.abstractmethod
    def next_batch(self, n: int, version: int) -> list[RolloutGroup]: ...

    def close(self) -> None:
        """Release what the source holds."""


class SequentialSource(BatchSource):
    """Pull mode: every request carries `version`; samplers refresh first, so staleness is zero by design.

    Tasks are split over live samplers; a sampler that fails (killed, timed out) is dropped and its share
    goes to the survivors, so one dead node never stops training.
    """

    def __init__(self, sampler_urls: list[str], stream: TaskStream, timeout_s: float = 300.0, *,
                 control_secret: bytes | None = None):
        """`control_secret` signs every request (echo_sync.control): samplers refuse unsigned control requests."""
        if not sampler_urls:
            raise NoSamplersLeft("sequential mode needs at least one sampler URL")
        self.control_secret = control_secret
        self.live = list(sampler_urls)
        self.dead: list[str] = []
        self.stream, self.timeout_s = stream, timeout_s
        self._pool = ThreadPoolExecutor(max_workers=max(len(sampler_urls), 1))

    def _request(self, url: str, version: int, tasks: list[int]) -> list[RolloutGroup]:
        body = json.dumps({"version": version, "tasks": tasks}).encode()
        headers = {"Content-Type": "application/json"}
        if self.control_secret is not None:
            from echo_sync.control import signed_headers

            headers.update(signed_headers(self.control_secret, "POST", "/generate", body))
        req = urllib.request.Request(f"{url}/generate", body, headers)
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
            groups = loads_object(resp.read(), ValueError, f"sampler {url} answer").get("groups")
        if not isinstance(groups, list):
            raise ValueError(f"sampler {url} answer: 'groups' must be a list")
        return [RolloutGroup.from_json(g) for g in groups]

    def next_batch(self, n: int, version: int) -> list[RolloutGroup]:
        t0 = time.perf_counter()
        pending = self.stream.take(n)
        got: list[RolloutGroup] = []
        while pending:
            if not self.live:
                raise NoSamplersLeft(f"all samplers failed ({', '.join(self.dead)}); cannot continue training")
            shares = [pending[i :: len(self.live)] for i in range(len(self.live))]
            assigned = {url: share for url, share in zip(self.live, shares) if share}
            futures = {url: self._pool.submit(self._request, url, version, share) for url, share in assigned.items()}
            pending = []
            for url, fut in futures.items():
                try:
                    groups = fut.result()
                    stale = [g for g in groups if g.policy_version != version]
                    if stale:
                        raise ValueError(f"sampler answered version {stale[0].policy_version}, asked for {version}")
                    got.extend(groups)
                except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                    self.live.remove(url)
                    self.dead.append(url)
                    pending.extend(assigned[url])
                    print(f"echo: sampler {url} failed ({type(exc).__name__}: {exc}); reassigning its tasks", flush=True)
        self.wait_s += time.perf_counter() - t0
        order = {g.task_index: g for g in got}
        return sorted(order.values(), key=lambda g: g.task_index)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class AsyncSource(BatchSource):
    """Push-pull mode: groups arrive in the replay buffer on the samplers' schedule; the trainer just takes."""

    def __init__(self, buffer: ReplayBuffer, timeout_s: float = 300.0):
        self.buffer, self.timeout_s = buffer, timeout_s

    def next_batch(self, n: int, version: int) -> list[RolloutGroup]:
        t0 = time.perf_counter()
        batch = self.buffer.take(n, version, timeout=self.timeout_s)
        self.wait_s += time.perf_counter() - t0
        if not batch:
            raise NoSamplersLeft(f"no fresh rollouts arrived within {self.timeout_s:.0f} s (are the samplers alive?)")
        return batch


class ColocatedSource(BatchSource):
    """verl-style baseline: the trainer's own model generates, then trains; nothing to sync, nothing overlaps.

    `backend` must wrap the trainer's model object (TransformersBackend.model = trainer.model), so generation
    always uses the newest weights. Its generation time is the trainer's idle time.
    """

    def __init__(self, backend: LLMBackend, tasks: TaskSet, stream: TaskStream, sampling: SamplingSettings, group_size: int):
        self.backend, self.tasks, self.stream, self.sampling, self.group_size = backend, tasks, stream, sampling, group_size
        self.generate_s = 0.0

    def next_batch(self, n: int, version: int) -> list[RolloutGroup]:
        t0 = time.perf_counter()
        indices = self.stream.take(n)
        params = SamplingParams(
            max_new_tokens=self.sampling.max_new_tokens, temperature=self.sampling.temperature,
            top_p=self.sampling.top_p, logprobs=True,
        )
        rollouts = self.tasks.rollouts(self.backend, indices, params, self.group_size)
        groups = [RolloutGroup(i, version, "", "colocated", samples) for i, samples in zip(indices, rollouts)]
        elapsed = time.perf_counter() - t0
        self.generate_s += elapsed
        self.wait_s += elapsed
        return groups
