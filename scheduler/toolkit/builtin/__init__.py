"""Built-in tool agents. `BUILTIN_AGENTS` maps the name used by `symphony tools serve NAME` to a factory.

Why "builtin" and thin: these are MCP servings of the shared `tools/` implementations (calculator, sandbox,
corpus search) plus the scheduler-only documents, webpage and LLM agents; the pydantic models in `tools/` are
the served schemas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from scheduler.toolkit.agent_server import ToolAgent


def _documents(root: Path, **_: object) -> ToolAgent:
    from scheduler.toolkit.builtin.documents import documents_agent

    return documents_agent(root)


def _search(root: Path, **_: object) -> ToolAgent:
    from scheduler.toolkit.builtin.search import search_agent

    return search_agent(root)


def _python(root: Path, **_: object) -> ToolAgent:
    from scheduler.toolkit.builtin.python_runner import python_agent

    return python_agent(root)


def _webpage(root: Path, output_dir: Path | None = None, **_: object) -> ToolAgent:
    from scheduler.toolkit.builtin.webpage import webpage_agent

    return webpage_agent(output_dir or root / "_artefacts")


def _llm(root: Path, backend: object | None = None, **_: object) -> ToolAgent:
    from scheduler.toolkit.builtin.llm_agent import llm_agent

    return llm_agent(backend)  # type: ignore[arg-type]


BUILTIN_AGENTS: dict[str, Callable[..., ToolAgent]] = {
    "documents": _documents,
    "search": _search,
    "python": _python,
    "webpage": _webpage,
    "llm": _llm,
}


def build_agent(name: str, root: Path, **kwargs: object) -> ToolAgent:
    from scheduler.errors import SchedulerError

    if name not in BUILTIN_AGENTS:
        raise SchedulerError(f"unknown tool agent {name!r}; choose one of {', '.join(sorted(BUILTIN_AGENTS))}")
    return BUILTIN_AGENTS[name](Path(root), **kwargs)
