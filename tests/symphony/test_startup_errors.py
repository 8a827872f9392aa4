"""Every server command turns a port in use into one line on stderr and exit 2 (issue #16), not a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

SYMPHONY = [sys.executable, "-m", "symphony.cli.main"]


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize("command", [
    ("chain", "up"),
    ("tools", "serve", "python"),
    ("scheduler", "serve", "--local"),
    ("network", "up", "--agents", "generalist"),
])
def test_a_port_in_use_is_one_line_and_exit_2(busy_port, command, tmp_path):
    result = subprocess.run([*SYMPHONY, *command, "--port", str(busy_port)], capture_output=True, text=True, timeout=180,
                            cwd=tmp_path)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "in use" in lines[0].lower(), lines[0]
