"""The one Python sandbox really runs code, enforces its limits, copies input files and stops when cancelled."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import pytest

from core.errors import SymphonyError
from tools.sandbox import (
    PythonInput,
    PythonRunError,
    SandboxError,
    SandboxLimits,
    SandboxResult,
    checked_output,
    run_python,
    run_python_async,
)


def test_runs_code_and_captures_stdout_and_errors() -> None:
    ok = run_python("import math\nprint(sum(i*i for i in range(10)), math.comb(10, 3))")
    assert ok.ok and ok.stdout == "285 120\n" and ok.stderr == ""
    bad = run_python("x = 1\n1/0")
    assert not bad.ok and bad.returncode == 1
    assert "ZeroDivisionError" in bad.stderr and 'File "<python>", line 2' in bad.stderr
    assert "_PRELUDE" not in bad.stderr and 'File "<string>"' not in bad.stderr


def test_numpy_works_inside() -> None:
    result = run_python("import numpy as np\nprint(int(np.arange(5).sum()))")
    assert result.ok, result.stderr
    assert result.stdout.strip() == "10"


def test_wall_and_cpu_time_limits() -> None:
    result = run_python("while True:\n    pass", SandboxLimits(wall_seconds=3, cpu_seconds=1))
    assert result.timed_out and not result.ok
    sleeper = run_python("import time\ntime.sleep(30)", SandboxLimits(wall_seconds=1))
    assert sleeper.timed_out


def test_memory_limit() -> None:
    result = run_python("x = bytearray(3 * 1024**3)\nprint('allocated')", SandboxLimits(memory_mb=512))
    assert not result.ok and "MemoryError" in result.stderr and "allocated" not in result.stdout


def test_environment_secrets_are_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_PRIVATE_KEY", "0xsecret")
    result = run_python("import os\nprint(sorted(k for k in os.environ if 'KEY' in k or 'SYMPHONY' in k))")
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "code",
    [
        "import socket\nsocket.create_connection(('127.0.0.1', 9))",
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9')",
        "import subprocess\nsubprocess.run(['true'])",
        "import os\nos.system('true')",
        "import ctypes\nctypes.CDLL(None).getpid()",
        "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1000, 1000))",
    ],
)
def test_network_processes_and_escapes_are_refused(code: str) -> None:
    result = run_python(code)
    assert not result.ok and "PermissionError: sandbox:" in result.stderr


def test_writes_confined_to_working_directory(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    result = run_python(f"open({str(target)!r}, 'w').write('x')")
    assert "PermissionError" in result.stderr and not target.exists()
    victim = tmp_path / "keep.txt"
    victim.write_text("keep")
    run_python(f"import os\nos.remove({str(victim)!r})")
    assert victim.read_text() == "keep"
    inside = run_python("open('scratch.txt', 'w').write('hi')\nprint(open('scratch.txt').read())")
    assert inside.ok and inside.stdout.strip() == "hi"


def test_output_is_truncated() -> None:
    result = run_python("print('x' * 10000)", SandboxLimits(max_output_chars=100))
    assert result.stdout.startswith("x" * 100) and "truncated" in result.stdout and len(result.stdout) < 200


def test_bad_code_type_is_a_clear_error() -> None:
    with pytest.raises(SymphonyError):
        run_python(b"print(1)")  # type: ignore[arg-type]


def test_working_directory_is_removed_afterwards() -> None:
    result = run_python("import os\nopen('f', 'w').write('x')\nprint(os.getcwd())")
    workdir = Path(result.stdout.strip())
    assert workdir.name.startswith("symphony-sandbox-") and not workdir.exists()


def test_input_files_are_copied_not_shared(tmp_path: Path) -> None:
    served = tmp_path / "served"
    (served / "sub").mkdir(parents=True)
    (served / "sales.csv").write_text("region,units\nNorth,3\n")
    (served / "sub" / "hidden.txt").write_text("not copied")
    (served / "big.bin").write_bytes(b"x" * (2 * 1024 * 1024))
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (served / "link.txt").symlink_to(secret)
    code = (
        "import os\n"
        "print(sorted(os.listdir('.')))\n"
        "print(open('sales.csv').read().splitlines()[1])\n"
        "open('sales.csv', 'w').write('changed')\n"
    )
    result = run_python(code, SandboxLimits(file_size_mb=1), files=served)
    assert result.ok, result.stderr
    assert result.stdout.splitlines() == ["['sales.csv']", "North,3"]
    assert (served / "sales.csv").read_text() == "region,units\nNorth,3\n"  # the served folder is untouched


def test_input_files_share_one_budget(tmp_path: Path) -> None:
    for name in ("a.bin", "b.bin", "c.bin"):
        (tmp_path / name).write_bytes(b"x" * (600 * 1024))
    result = run_python("import os\nprint(sorted(os.listdir('.')))", SandboxLimits(input_files_mb=1), files=tmp_path)
    assert result.stdout.strip() == "['a.bin']"


def test_missing_input_folder_and_bad_limits_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="does not exist"):
        run_python("print(1)", files=tmp_path / "missing")
    with pytest.raises(SandboxError, match="positive"):
        SandboxLimits(wall_seconds=0)


def test_flooding_output_is_capped_while_it_runs() -> None:
    result = run_python("import sys\nfor _ in range(2000):\n    sys.stdout.write('y' * 100000)", SandboxLimits(max_output_chars=50))
    assert result.ok and result.stdout.startswith("y" * 50) and "truncated" in result.stdout and len(result.stdout) < 120


async def test_async_run_reports_progress_and_result() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None = None, message: str | None = None) -> None:
        seen.append((value, total, message))

    result = await run_python_async("import time\ntime.sleep(1.3)\nprint('done')", SandboxLimits(wall_seconds=5), progress=progress)
    assert result.ok and result.stdout == "done\n" and result.seconds >= 1.3
    assert seen[0][0] == 0 and seen[0][2].startswith("started pid")
    running = [value for value, _, message in seen if message == "running"]
    assert len(running) >= 2 and running == sorted(running) and all(total == 5 for _, total, _ in seen)


async def test_async_timeout_kills_the_process() -> None:
    started = time.monotonic()
    result = await run_python_async("while True:\n    pass", SandboxLimits(wall_seconds=1, cpu_seconds=30))
    assert result.timed_out and not result.ok and time.monotonic() - started < 3


async def test_cancelling_the_awaiting_task_kills_the_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ticker = "import os, time\nopen('pid', 'w').write(str(os.getpid()))\nwhile True:\n    time.sleep(0.05)"
    task = asyncio.create_task(run_python_async(ticker, SandboxLimits(wall_seconds=60)))
    for _ in range(200):
        pid_files = list(tmp_path.glob("symphony-sandbox-*/pid"))
        if pid_files and pid_files[0].read_text():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_files[0].read_text())
    os.kill(pid, 0)  # running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
    assert not list(tmp_path.glob("symphony-sandbox-*"))  # and its working directory removed


async def test_blocking_run_works_inside_an_event_loop() -> None:
    assert run_python("print(6 * 7)").stdout == "42\n"


def test_python_input_and_checked_output() -> None:
    request = PythonInput(code="print(1)", timeout_s=2.5, memory_mb=256)
    limits = request.limits()
    assert (limits.wall_seconds, limits.cpu_seconds, limits.memory_mb) == (2.5, 4, 256)
    with pytest.raises(ValueError):
        PythonInput(code="", timeout_s=1)
    ok = checked_output(run_python("print('hi')", limits), limits)
    assert ok.stdout == "hi\n" and ok.exit_code == 0 and ok.seconds > 0
    with pytest.raises(PythonRunError, match=r"python failed: .*ZeroDivisionError") as failed:
        checked_output(run_python("x = 1\n1/0", limits), limits)
    assert "\n" not in str(failed.value)
    timed_out = SandboxResult("", "", -9, True, "audit-hook", 2.5)
    with pytest.raises(PythonRunError, match="2.5 s timeout"):
        checked_output(timed_out, limits)


async def test_output_capture_keeps_only_the_cap() -> None:
    from tools.sandbox import _drain

    stream = asyncio.StreamReader()
    for _ in range(50):
        stream.feed_data(b"z" * 100_000)
    stream.feed_eof()
    kept, cut = await _drain(stream, 1000)
    assert kept == b"z" * 1000 and cut
    small = asyncio.StreamReader()
    small.feed_data(b"ok")
    small.feed_eof()
    assert await _drain(small, 1000) == (b"ok", False)


def _sandbox_children() -> set[int]:
    """Live processes running the sandbox prelude (its audit hook), whoever started them."""
    import psutil

    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "sys.addaudithook(_guard)" in cmdline and proc.info["pid"] != os.getpid():
            found.add(proc.info["pid"])
    return found


@pytest.mark.parametrize("yields", [0, 1, 2, 3, 5, 8])
async def test_cancelling_while_the_child_starts_leaves_no_process(yields: int) -> None:
    """Cancelled at any point of its start, the child must not live on waiting for code on its stdin."""
    from tools.sandbox import run_python_async

    before = _sandbox_children()
    task = asyncio.ensure_future(run_python_async("import time; time.sleep(60)"))
    for _ in range(yields):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while _sandbox_children() - before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _sandbox_children() - before
