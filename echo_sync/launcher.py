"""`symphony echo run`: the whole system on one machine — embedded anvil, PolicyRegistry, trainer ranks and
sampler nodes as separate processes — with progress lines and a final summary.

Why real processes and a real chain even locally: the point of Echo is the protocol between swarms
(versions, hashes, HTTP weight sync, staleness), so the local run exercises exactly what a distributed one
would, only over loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from core.errors import SymphonyError
from echo_sync.metrics import summarize
from core.processes import free_port
from echo_sync.processes import ChildProcess, RoleCommand
from echo_sync.settings import EchoSettings
from echo_sync.control import CONTROL_SECRET_ENV
from echo_sync.specs import PUBLISHER_KEY_ENV, SAMPLER_KEY_ENV, SamplerSpec, TrainerSpec

ProgressHook = Callable[[dict, "LocalRun"], None]


class LocalRun:
    def __init__(self, settings: EchoSettings, model_path: Path, role_command: RoleCommand, run_dir: Path | None = None,
                 log: Callable[[str], None] = print):
        self.settings, self.model_path, self.log = settings, Path(model_path), log
        self.role_command = role_command
        self.run_dir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="echo-run-"))
        if self.run_dir.exists():
            for name in ("progress.jsonl", "trainer_summary.json"):
                (self.run_dir / name).unlink(missing_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.samplers: list[ChildProcess] = []
        self.trainers: list[ChildProcess] = []
        self.rpc_url: str | None = None
        self.registry_address: str | None = None
        self.trainer_url: str | None = None
        self.sampler_keys: list[str] = []  # local chain: dev accounts 1.. announce what each sampler serves
        self._gate = self.run_dir / "start.gate"
        self._gate.unlink(missing_ok=True)
        # One control secret per run, handed to the trainer and the samplers through the environment only
        # (echo_sync.control): the samplers' /generate answers nobody else.
        self.control_secret = secrets.token_hex(32)

    # ------------------------------------------------------------------ processes
    def _cpu_for(self, role: str, index: int) -> int | None:
        """Trainer ranks get the first cores to themselves (the trainer is the bottleneck: every sample must
        pass through its forward+backward); samplers share the remaining cores, or all cores if none remain."""
        if not self.settings.pin_cpus:
            return None
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        trainers = self.settings.trainers
        if role == "trainer":
            return index % cores
        spare = cores - trainers
        return trainers + index % spare if spare > 0 else index % cores

    def start_sampler(self, index: int, *, trainer_url: str | None = None, wait: bool = True) -> ChildProcess:
        """Start sampler `index` (also used to restart a killed one: it catches up to the latest version)."""
        assert self.rpc_url and self.registry_address
        name = f"sampler-{index}"
        ready = self.run_dir / f"{name}.ready"
        ready.unlink(missing_ok=True)
        spec = SamplerSpec(
            sampler_id=name, settings=self.settings, model_path=str(self.model_path), rpc_url=self.rpc_url,
            registry_address=self.registry_address, cache_dir=str(self.run_dir / "cache" / name), ready_file=str(ready),
            trainer_url=trainer_url,
            tasks_per_request=max(1, self.settings.grpo.groups_per_step // max(self.settings.samplers, 1)),
            cpu=self._cpu_for("sampler", index),
        )
        env = {CONTROL_SECRET_ENV: self.control_secret}
        if self.sampler_keys:
            env[SAMPLER_KEY_ENV] = self.sampler_keys[index % len(self.sampler_keys)]
        proc = ChildProcess(name, "sampler", spec, self.run_dir, self.role_command, env)
        if index < len(self.samplers):
            self.samplers[index] = proc
        else:
            self.samplers.append(proc)
        if wait:
            proc.wait_ready()
        return proc

    def _start_trainers(self, sampler_urls: list[str], publisher_key: str | None) -> None:
        port = free_port()
        for rank in range(self.settings.trainers):
            ready = self.run_dir / f"trainer-{rank}.ready"
            ready.unlink(missing_ok=True)
            spec = TrainerSpec(
                settings=self.settings, model_path=str(self.model_path), run_dir=str(self.run_dir), rank=rank,
                world_size=self.settings.trainers, master_port=port, rpc_url=self.rpc_url,
                registry_address=self.registry_address, sampler_urls=sampler_urls,
                ready_file=str(ready) if rank == 0 and self.settings.mode != "colocated" else None, cpu=self._cpu_for("trainer", rank),
                start_gate=str(self._gate) if rank == 0 and self.settings.mode == "async" else None,
            )
            env = {PUBLISHER_KEY_ENV: publisher_key, CONTROL_SECRET_ENV: self.control_secret} if publisher_key and rank == 0 else None
            self.trainers.append(ChildProcess(f"trainer-{rank}", "trainer", spec, self.run_dir, self.role_command, env))

    # ------------------------------------------------------------------ orchestration
    def run(self, on_progress: ProgressHook | None = None, timeout_s: float = 3600.0) -> dict:
        if self.settings.mode == "colocated":
            try:
                self._start_trainers([], None)
                return self._monitor(on_progress, timeout_s)
            finally:
                self._stop_all()
        from chain.client import ChainClient
        from chain.node import AnvilNode
        from echo_sync.registry import PolicyRegistryClient

        with AnvilNode() as node:
            try:
                key = node.dev_accounts[0].key.to_0x_hex()  # anvil dev key: local chain only, never logged
                self.sampler_keys = [a.key.to_0x_hex() for a in node.dev_accounts[1:]]  # likewise
                self.rpc_url = node.rpc_url
                registry = PolicyRegistryClient.deploy(ChainClient(node.rpc_url, key))
                self.registry_address = registry.address
                self.log(f"echo: anvil at {node.rpc_url}, PolicyRegistry at {registry.address}")
                if self.settings.mode == "sequential":
                    procs = [self.start_sampler(i, wait=False) for i in range(self.settings.samplers)]
                    urls = [p.wait_ready() for p in procs]
                    self._start_trainers(urls, key)
                else:
                    self._start_trainers([], key)
                    self.trainer_url = self.trainers[0].wait_ready()
                    procs = [self.start_sampler(i, trainer_url=self.trainer_url, wait=False) for i in range(self.settings.samplers)]
                    for p in procs:
                        p.wait_ready()
                    self._gate.touch()  # every sampler is up: the trainer may publish v1 and start its clock
                self.log(f"echo: {len(self.samplers)} sampler(s) ready, {self.settings.trainers} trainer rank(s) started")
                return self._monitor(on_progress, timeout_s)
            finally:
                self._stop_all()  # while the chain is up: a stopping sampler announces it serves nothing

    def _stop_all(self) -> None:
        for proc in self.samplers + self.trainers:
            proc.stop()

    def _monitor(self, on_progress: ProgressHook | None, timeout_s: float) -> dict:
        progress = self.run_dir / "progress.jsonl"
        seen = 0
        deadline = time.monotonic() + timeout_s
        rank0 = self.trainers[0]
        while True:
            finished = not rank0.alive
            if progress.exists():
                lines = progress.read_text().splitlines()
                for line in lines[seen:]:
                    record = json.loads(line)
                    self.log(
                        f"echo: step {record['step']}/{self.settings.steps} v{record['new_version']} "
                        f"reward={record['reward_mean']:.3f} loss={record['loss']:+.4f} "
                        f"staleness={record['staleness']} from={','.join(record['samplers'])} t={record['wall_s']:.1f}s"
                    )
                    if on_progress is not None:
                        on_progress(record, self)
                seen = len(lines)
            if finished:
                break
            if time.monotonic() > deadline:
                raise SymphonyError(f"echo run did not finish within {timeout_s:.0f} s (logs in {self.run_dir / 'logs'})")
            time.sleep(0.2)
        for proc in self.trainers:
            proc.popen.wait(timeout=60)
        if rank0.popen.returncode != 0:
            raise SymphonyError(f"trainer failed (exit {rank0.popen.returncode}): {rank0.tail()}")
        trainer = json.loads((self.run_dir / "trainer_summary.json").read_text())
        sampler_stats = [s for s in (p.get_json("/stats") for p in self.samplers) if s]
        summary = summarize(trainer, sampler_stats)
        summary["samplers"] = sampler_stats
        summary["run_dir"] = str(self.run_dir)
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary


def format_summary(summary: dict) -> str:
    lines = [
        f"mode               {summary['mode']}",
        f"steps / samples    {summary['steps']} / {summary['samples']} in {summary['wall_s']:.1f} s ({summary['samples_per_s']:.2f} samples/s)",
        f"versions published {summary['versions_published']} (publish {summary['publish_s_per_version']*1e3:.0f} ms, sampler sync {summary['sampler_sync_s_per_version']*1e3:.0f} ms per version)",
        f"idle fraction      trainer {summary['trainer_idle_frac']:.2f}, samplers {summary['sampler_idle_frac']:.2f}",
        f"staleness          mean {summary['mean_staleness']:.2f}, max {summary['max_staleness']}, histogram {summary['staleness_hist']}",
        f"reward             first step {summary['reward_first']:.3f}, end {summary['reward_end']:.3f}",
    ]
    if summary.get("buffer"):
        b = summary["buffer"]
        lines.append(
            f"replay buffer      accepted {b['accepted']}, consumed {b['consumed']}, dropped stale {b['dropped_stale']}, "
            f"requeued {b['requeued_stale']}, evicted {b['evicted_full']}, rejected {b['rejected_unknown_version'] + b['rejected_bad_hash']}, mean depth {b['mean_depth']:.1f}"
        )
    if summary.get("dead_samplers"):
        lines.append(f"failed samplers    {', '.join(summary['dead_samplers'])}")
    lines.append(f"run folder         {summary['run_dir']}")
    return "\n".join(lines)
