"""Web page builder agent: turns a title and sections into a standalone HTML artefact on disk.

Why escape everything: section text comes from tools and LLMs; the artefact is opened in a browser, so it
must not execute anything it was handed. The result names the file and its SHA-256 so a run's trace proves
which artefact it produced.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

from pydantic import BaseModel, Field

from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.typed_tool import Progress, TypedTool


class Section(BaseModel):
    heading: str = Field(max_length=200)
    body: str = Field(max_length=20_000)


class PageInput(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    sections: list[Section] = Field(default_factory=list, max_length=50)
    filename: str = Field(default="", description="file name (letters, digits, - and _); derived from the title if empty")


class PageOutput(BaseModel):
    path: str
    bytes: int
    sha256: str
    sections: int


def render(title: str, sections: list[Section]) -> str:
    body = "\n".join(f"<section><h2>{html.escape(s.heading)}</h2><p>{html.escape(s.body)}</p></section>" for s in sections)
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def webpage_agent(output_dir: Path) -> ToolAgent:
    output_dir = Path(output_dir)

    async def build(data: PageInput, progress: Progress) -> PageOutput:
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", data.filename or data.title).strip("-")[:80] or "page"
        output_dir.mkdir(parents=True, exist_ok=True)
        text = render(data.title, data.sections).encode()
        path = output_dir / f"{stem}.html"
        path.write_bytes(text)
        return PageOutput(path=str(path), bytes=len(text), sha256=hashlib.sha256(text).hexdigest(), sections=len(data.sections))

    return ToolAgent(
        name="webpage",
        description="Builds a standalone HTML page from a title and sections and writes it to disk.",
        tools=[TypedTool("build_page", "Write an HTML page (title + sections) and return its path and hash.", PageInput, PageOutput, build)],
        capacity=4,
    )
