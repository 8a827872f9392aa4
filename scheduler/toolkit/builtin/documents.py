"""Document parser agent: text, CSV and PDF files from a local folder, plus exact CSV aggregation.

Why aggregation lives here: GAIA-style questions ask for a number computed over a table; having the agent
return the exact value (with Decimal arithmetic) keeps answers exact-matchable instead of asking a small LLM
to add a column.
"""

from __future__ import annotations

import asyncio
import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.builtin.sandbox_paths import inside
from scheduler.toolkit.typed_tool import Progress, TypedTool
from tools.errors import PermanentToolError
from tools.retrieval import read_pdf

MAX_CHARS = 20_000


class ParseInput(BaseModel):
    path: str = Field(description="file path relative to the document folder (.txt, .md, .csv, .pdf)")


class ParseOutput(BaseModel):
    path: str
    kind: Literal["text", "csv", "pdf"]
    text: str = Field(description="the document's text (truncated to 20000 characters)")
    pages: int = 0
    columns: list[str] = Field(default_factory=list)
    rows: int = 0
    truncated: bool = False


class AggregateInput(BaseModel):
    path: str = Field(description="CSV file relative to the document folder")
    column: str = Field(description="numeric column to aggregate")
    op: Literal["sum", "mean", "min", "max", "count"] = "sum"
    where_column: str | None = Field(default=None, description="only rows whose where_column equals where_value")
    where_value: str | None = None


class AggregateOutput(BaseModel):
    value: str = Field(description="the exact result as a decimal string")
    rows_used: int


class LookupInput(BaseModel):
    path: str = Field(description="CSV file relative to the document folder")
    key_column: str
    key: str
    value_column: str


class LookupOutput(BaseModel):
    value: str


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def documents_agent(root: Path) -> ToolAgent:
    root = Path(root)

    async def parse(data: ParseInput, progress: Progress) -> ParseOutput:
        path = inside(root, data.path)
        suffix = path.suffix.lower()
        await progress(0, 1, f"parsing {data.path}")
        if suffix == ".pdf":
            text, pages = await asyncio.to_thread(read_pdf, path)
            out = ParseOutput(path=data.path, kind="pdf", text=text, pages=pages)
        elif suffix == ".csv":
            columns, rows = await asyncio.to_thread(_read_csv, path)
            out = ParseOutput(path=data.path, kind="csv", text=path.read_text(encoding="utf-8"), columns=columns, rows=len(rows))
        elif suffix in (".txt", ".md", ".json", ".html"):
            out = ParseOutput(path=data.path, kind="text", text=path.read_text(encoding="utf-8"))
        else:
            raise PermanentToolError(f"unsupported document type {suffix!r} (use .txt, .md, .csv or .pdf)")
        if len(out.text) > MAX_CHARS:
            out.text, out.truncated = out.text[:MAX_CHARS], True
        await progress(1, 1, "done")
        return out

    async def aggregate(data: AggregateInput, progress: Progress) -> AggregateOutput:
        columns, rows = await asyncio.to_thread(_read_csv, inside(root, data.path))
        for col in (data.column, data.where_column):
            if col is not None and col not in columns:
                raise PermanentToolError(f"no column {col!r} in {data.path}; columns are {columns}")
        if data.where_column is not None:
            rows = [r for r in rows if r[data.where_column] == data.where_value]
        try:
            values = [Decimal(r[data.column]) for r in rows if r[data.column] != ""]
        except InvalidOperation as exc:
            raise PermanentToolError(f"column {data.column!r} is not numeric") from exc
        if data.op == "count":
            return AggregateOutput(value=str(len(values)), rows_used=len(values))
        if not values:
            raise PermanentToolError("no rows match")
        if data.op == "sum":
            result = sum(values, Decimal(0))
        elif data.op == "mean":
            result = (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.0001"))
        elif data.op == "min":
            result = min(values)
        else:
            result = max(values)
        return AggregateOutput(value=_plain(result), rows_used=len(values))

    async def lookup(data: LookupInput, progress: Progress) -> LookupOutput:
        columns, rows = await asyncio.to_thread(_read_csv, inside(root, data.path))
        for col in (data.key_column, data.value_column):
            if col not in columns:
                raise PermanentToolError(f"no column {col!r} in {data.path}; columns are {columns}")
        for row in rows:
            if row[data.key_column] == data.key:
                return LookupOutput(value=row[data.value_column])
        raise PermanentToolError(f"no row with {data.key_column} == {data.key!r} in {data.path}")

    return ToolAgent(
        name="documents",
        description="Parses text, CSV and PDF documents from a local folder and aggregates CSV columns exactly.",
        tools=[
            TypedTool("parse_document", "Read a .txt/.md/.csv/.pdf file and return its text.", ParseInput, ParseOutput, parse),
            TypedTool("csv_aggregate", "Sum/mean/min/max/count a numeric CSV column, optionally filtered.", AggregateInput, AggregateOutput, aggregate),
            TypedTool("csv_lookup", "Return value_column of the first CSV row whose key_column equals key.", LookupInput, LookupOutput, lookup),
        ],
        capacity=4,
    )


def _plain(value: Decimal) -> str:
    """Decimal to a plain string without exponent or trailing zeros ('12.50' -> '12.5', '3.0' -> '3')."""
    text = format(value.normalize(), "f")
    return text
