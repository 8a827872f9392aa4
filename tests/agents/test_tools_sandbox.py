"""The Python sandbox really runs code, and really enforces its limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.tools import PythonTool, SandboxLimits, run_python
from core.errors import SymphonyError


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


def test_python_tool_protocol() -> None:
    tool = PythonTool()
    text = "Let me compute.\n<python>\n```python\nprint(6 * 7)\n```\n</python> and then more"
    call = tool.find_call(text)
    assert call is not None and call.argument == "print(6 * 7)" and text[call.end :] == " and then more"
    assert tool.run(call.argument).output == "42"
    assert tool.find_call("<python>print(1)") is None
    assert tool.close_unfinished("x <python>print(1)") == "x <python>print(1)</python>"
    indented = tool.find_call("<python>\n    for i in range(2):\n        print(i)\n</python>")
    assert indented is not None and tool.run(indented.argument).output == "0\n1"
    silent = tool.run("x = 1")
    assert "no output" in silent.output
    failing = tool.run("raise ValueError('boom')")
    assert not failing.ok and "ValueError: boom" in failing.output


def test_bad_code_type_is_a_clear_error() -> None:
    with pytest.raises(SymphonyError):
        run_python(b"print(1)")  # type: ignore[arg-type]


def test_working_directory_is_removed_afterwards() -> None:
    result = run_python("import os\nopen('f', 'w').write('x')\nprint(os.getcwd())")
    workdir = Path(result.stdout.strip())
    assert workdir.name.startswith("symphony-sandbox-") and not workdir.exists()
