"""Run the evaluation suite: start the built-in tool agents, connect, run every task, score.

Why one harness for tests, the benchmark and the CLI: the parallel scheduler and the sequential baseline
must differ only in the dispatcher's `max_parallel` knob, with identical agents, faults and planner.
Agents are real MCP servers on free 127.0.0.1 ports (in this process's event loop).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Callable

from scheduler.client.connection import AgentConnection
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.dispatch.retry import RetryPolicy
from scheduler.engine import Engine, RunResult
from scheduler.evaluation.scoring import exact_match
from scheduler.evaluation.tasks import SUITE_DIR, EvalTask
from scheduler.observe.bus import EventBus
from scheduler.planning.base import Planner
from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.builtin import build_agent
from scheduler.toolkit.faults import FaultPlan

EVAL_AGENTS = ("documents", "search", "python", "webpage")


@dataclass
class TaskScore:
    task_id: str
    level: int
    parallelisable: bool
    correct: bool
    answer: str | None
    expected: str
    run: dict


@dataclass
class SuiteReport:
    mode: str
    planner: str
    scores: list[TaskScore] = field(default_factory=list)
    seconds: float = 0.0

    def by_level(self) -> dict[int, float]:
        levels = sorted({s.level for s in self.scores})
        return {lvl: sum(s.correct for s in self.scores if s.level == lvl) / max(1, sum(s.level == lvl for s in self.scores)) for lvl in levels}

    @property
    def success(self) -> float:
        return sum(s.correct for s in self.scores) / max(1, len(self.scores))

    def total(self, key: str, parallel_only: bool = False) -> float:
        return sum(s.run[key] for s in self.scores if s.parallelisable or not parallel_only)


@contextlib.asynccontextmanager
async def running_agents(files: Path | None = None, faults: FaultPlan | None = None, artefacts: Path | None = None,
                         extra: list[ToolAgent] | None = None, replicas: int = 1) -> AsyncIterator[list[AgentConnection]]:
    """Serve the built-in agents over the suite's files and yield open connections to them.

    `replicas` > 1 serves that many copies of each agent (names `python`, `python-2`, …), as several
    independent operators offering the same tools would.
    """
    if replicas < 1:
        raise ValueError("replicas must be >= 1")
    files = Path(files) if files else SUITE_DIR / "files"
    with contextlib.ExitStack() as stack:
        out = Path(artefacts) if artefacts else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gaia-artefacts-")))
        agents = []
        for copy in range(1, replicas + 1):
            for name in EVAL_AGENTS:
                agent = build_agent("search", files / "corpus") if name == "search" else build_agent(name, files, output_dir=out)
                if copy > 1:
                    agent.name = f"{name}-{copy}"
                agents.append(agent)
        agents += list(extra or [])
        for agent in agents:
            if faults is not None:  # each agent counts its own calls; the seed/rate/latency are shared
                agent.faults = FaultPlan(faults.transient_rate, faults.fail_first, faults.latency_s, faults.seed)
        async with contextlib.AsyncExitStack() as astack:
            connections = []
            for agent in agents:
                url = await astack.enter_async_context(agent.serve())
                connection = await astack.enter_async_context(AgentConnection(agent.name, url, agent.capacity))
                connection.served_by = agent  # in-process agents: lets benchmarks reset fault counters
                connections.append(connection)
            yield connections


async def run_suite(tasks: list[EvalTask], connections: list[AgentConnection], planner_for: Callable[[EvalTask], Planner],
                    mode: str = "parallel", retry: RetryPolicy | None = None, bus: EventBus | None = None,
                    max_steps: int = 10, timeout_s: float = 30.0) -> SuiteReport:
    """Run tasks one after another (each task's own calls are parallel unless mode == 'sequential')."""
    if mode not in ("parallel", "sequential"):
        raise ValueError(f"mode must be 'parallel' or 'sequential', got {mode!r}")
    dispatcher = Dispatcher(connections, bus or EventBus(), retry or RetryPolicy(), timeout_s=timeout_s,
                            max_parallel=1 if mode == "sequential" else None)
    engine = Engine(dispatcher, max_steps=max_steps)
    report = SuiteReport(mode=mode, planner="")
    started = time.monotonic()
    for task in tasks:
        planner = planner_for(task)
        report.planner = planner.name
        result: RunResult = await engine.run(task.question, planner, run_id=f"{mode}-{task.id}-{int(time.time() * 1000) % 10**8}")
        report.scores.append(TaskScore(task.id, task.level, task.parallelisable, exact_match(result.answer, task.answer) if result.ok else False,
                                       result.answer, task.answer, result.summary()))
    report.seconds = time.monotonic() - started
    return report
