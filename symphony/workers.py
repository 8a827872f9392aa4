"""Agent worker processes on a local chain: what `symphony demo` and `symphony network up` start.

Why processes: each agent is a separate `symphony agent run` with its own dev account, model and log, exactly as
a user would run it by hand, so a local network behaves like the real one (one registration, heartbeat and
event stream per agent). The keys are anvil's dev keys, passed to each process in its environment and never
written to its configuration file or log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError, ServiceStartError
from core.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from agents.profile import AgentProfile
    from agents.settings import LLMSettings


@dataclass(frozen=True)
class Worker:
    """One `symphony agent run` process and what identifies it."""

    name: str
    address: str
    account: int  # dev account index
    log: Path
    process: subprocess.Popen


@dataclass
class Workers:
    """The running worker processes of a local network."""

    running: list[Worker] = field(default_factory=list)

    @property
    def names(self) -> dict[str, str]:
        """address -> agent name."""
        return {w.address: w.name for w in self.running}

    def check_alive(self) -> None:
        """One clear error naming the first worker that exited, and its log."""
        for w in self.running:
            if w.process.poll() is not None:
                raise ServiceStartError(f"agent worker {w.name} exited (code {w.process.returncode}); see {w.log}")

    def wait_registered(self, contracts, timeout: float) -> None:
        """Until every worker is active on the ledger; one clear error if one exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            active = {a.agent for a in contracts.ledger.active_agents()}
            missing = [w for w in self.running if w.address not in active]
            if not missing:
                return
            self.check_alive()
            if time.monotonic() >= deadline:
                raise ServiceStartError(f"agents {', '.join(w.name for w in missing)} did not register within "
                                        f"{timeout:.0f} s; see their logs in {missing[0].log.parent}")
            time.sleep(0.5)

    def stop(self) -> None:
        for w in self.running:
            if w.process.poll() is None:
                w.process.terminate()
        for w in self.running:
            try:
                w.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.process.kill()


def profile_config(profile: "AgentProfile", manifest: Path) -> dict:
    """The configuration file of one agent worker (`symphony agent run --config`): its profile and the manifest."""
    agent = profile.model_dump(mode="json", exclude_defaults=True)
    # Absolute paths: the file is read by a process that may start in another folder (the workers run from the
    # project root), and the default state folder, ./.symphony, is relative to where the user is.
    agent.update({"state_dir": str(Path(profile.state_dir).resolve()), "capacity": 1, "heartbeat_interval_s": 30})
    return {"chain": {"manifest": str(Path(manifest).resolve())}, "agent": agent}


def start_workers(profiles: "list[AgentProfile]", node, manifest_path: Path, work: Path, *, first_account: int = 1) -> Workers:
    """One `symphony agent run` per profile, on dev accounts first_account, first_account + 1, …"""
    workers = Workers()
    work = work.resolve()  # the workers start in the project root, not where the user is
    accounts = node.dev_accounts
    if first_account + len(profiles) > len(accounts):
        raise ConfigError(f"{len(profiles)} agents need {first_account + len(profiles)} dev accounts; anvil has {len(accounts)}")
    try:
        for i, profile in enumerate(profiles):
            cfg_path = work / f"agent-{profile.name}.json"
            cfg_path.write_text(json.dumps(profile_config(profile, manifest_path), indent=1))
            index = first_account + i
            account = accounts[index]
            log_path = work / f"agent-{profile.name}.log"
            env = {**os.environ, "SYMPHONY_PRIVATE_KEY": account.key.to_0x_hex(), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "symphony.cli.main", "agent", "run", "--config", str(cfg_path)],
                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT)
            workers.running.append(Worker(profile.name, account.address, index, log_path, process))
    except BaseException:
        workers.stop()
        raise
    return workers


def agent_llm(llm: "LLMSettings") -> "LLMSettings":
    """The LLM settings every local network agent runs with: the configured model (else the default model, set up
    on first use), greedy decoding and short answers — what the demo and the benchmark measured."""
    from agents.llm.models import prepare_default_model

    model = llm.model or str(prepare_default_model())
    return llm.model_copy(update={"model": model, "max_new_tokens": 64, "temperature": 0.0, "seed": 1})
