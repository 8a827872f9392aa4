"""The built-in tool agents' behaviour, called directly (no server): exactness, sandboxing, escaping."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scheduler.toolkit.builtin import build_agent
from tools.errors import PermanentToolError


async def test_calculate_tool_is_exact_and_refuses_code(tmp_path: Path) -> None:
    calculate = build_agent("python", tmp_path).tool("calculate")
    assert (await calculate.run({"expression": "0.1 + 0.2"})).value == "0.3"
    assert (await calculate.run({"expression": "(3 + 4) * 2 / 7"})).value == "2"
    assert (await calculate.run({"expression": "round(10 / 3, 2)"})).value == "3.33"
    assert (await calculate.run({"expression": "floor(4875300 / 37)"})).value == str(4875300 // 37)
    assert (await calculate.run({"expression": "1e20"})).value == "100000000000000000000"
    for bad in ("__import__('os').system('true')", "a + 1", "2 ** 100000", "1 / 0", "1 +"):
        with pytest.raises(PermanentToolError):
            await calculate.run({"expression": bad})


async def test_documents_parse_pdf_csv_and_refuse_escape(suite_files: Path) -> None:
    docs = build_agent("documents", suite_files)
    pdf = await docs.tool("parse_document").run({"path": "report.pdf"})
    assert pdf.kind == "pdf" and pdf.pages == 1 and "Total budget: 4875300 credits" in pdf.text
    total = await docs.tool("csv_aggregate").run({"path": "sales.csv", "column": "units", "where_column": "region", "where_value": "North"})
    rows = [line.split(",") for line in (suite_files / "sales.csv").read_text().splitlines()[1:]]
    assert total.value == str(sum(int(r[3]) for r in rows if r[0] == "North"))
    with pytest.raises(PermanentToolError, match="outside"):
        await docs.tool("parse_document").run({"path": "../../etc/passwd"})
    with pytest.raises(PermanentToolError, match="no column"):
        await docs.tool("csv_aggregate").run({"path": "sales.csv", "column": "nope"})


async def test_search_ranks_the_right_document(suite_files: Path) -> None:
    search = build_agent("search", suite_files / "corpus")
    out = await search.tool("search_corpus").run({"query": "Quillon Dam metres tall", "k": 2})
    assert out.hits[0].path == "quillon_dam.md"
    assert out.hits[0].score >= out.hits[1].score


async def test_webpage_escapes_content(tmp_path: Path) -> None:
    web = build_agent("webpage", tmp_path, output_dir=tmp_path / "out")
    out = await web.tool("build_page").run({"title": "T", "sections": [{"heading": "<b>h</b>", "body": "<script>alert(1)</script>"}]})
    html = Path(out.path).read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and out.sections == 1


async def test_python_runner_limits(tmp_path: Path) -> None:
    py = build_agent("python", tmp_path)
    run = py.tool("run_python")
    assert (await run.run({"code": "print(sum(range(10)))"})).stdout == "45\n"
    started = time.monotonic()
    with pytest.raises(PermanentToolError, match="timeout"):
        await run.run({"code": "while True: pass", "timeout_s": 1})
    assert time.monotonic() - started < 5
    with pytest.raises(PermanentToolError, match="MemoryError"):
        await run.run({"code": "x = bytearray(400 * 1024 * 1024)", "memory_mb": 128})
    with pytest.raises(PermanentToolError, match="ZeroDivisionError"):
        await run.run({"code": "1/0"})


async def test_python_runner_reads_copies_of_the_folder_files(suite_files: Path) -> None:
    run = build_agent("python", suite_files).tool("run_python")
    original = (suite_files / "sales.csv").read_text()
    code = "import os\nprint(open('sales.csv').readline().strip())\nopen('sales.csv', 'w').write('gone')\nprint(os.getcwd())"
    out = await run.run({"code": code})
    header, cwd = out.stdout.splitlines()
    assert header == original.splitlines()[0] and Path(cwd) != suite_files and not Path(cwd).exists()
    assert (suite_files / "sales.csv").read_text() == original


async def test_fault_plan_is_keyed_by_call_and_reproducible() -> None:
    from pydantic import BaseModel

    from tools.errors import TransientToolError
    from scheduler.toolkit.faults import FaultPlan

    class Args(BaseModel):
        x: int

    async def outcomes(plan: FaultPlan, order: list[int]) -> dict[int, list[bool]]:
        seen: dict[int, list[bool]] = {}
        for x in order:
            for _ in range(3):  # three attempts of each logical call
                try:
                    await plan.before_call("tool", Args(x=x))
                    seen.setdefault(x, []).append(True)
                except TransientToolError:
                    seen.setdefault(x, []).append(False)
        return seen

    plan = FaultPlan(transient_rate=0.5, seed=3)
    forward = await outcomes(plan, list(range(20)))
    plan.reset()
    backward = await outcomes(plan, list(reversed(range(20))))
    assert forward == backward  # the same call meets the same faults whatever the order
    flat = [ok for attempts in forward.values() for ok in attempts]
    assert 0.3 < flat.count(False) / len(flat) < 0.7
    with pytest.raises(ValueError):
        FaultPlan(transient_rate=1.5)
