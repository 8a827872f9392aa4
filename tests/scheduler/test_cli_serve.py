"""`symphony tools serve NAME --register` as a separate process: it serves MCP, registers on the ledger (anvil),
and `symphony scheduler run --from-chain` discovers it, checks its schema hash and uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from scheduler.client.discovery import discover

from .test_discovery import ledger


def test_served_agent_registers_and_is_used_from_chain(chain, artifacts, tmp_path: Path, suite_files: Path) -> None:
    manifest = chain.manifest.save(tmp_path / "deployment.json", artifacts)
    env = {**os.environ, "SYMPHONY_PRIVATE_KEY": chain.node.dev_accounts[6].key.to_0x_hex(), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "symphony.cli.main", "tools", "serve", "python", "--root", str(suite_files),
         "--register", "--manifest", str(manifest)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while not any(line.startswith("registered ") for line in lines):
            line = server.stdout.readline()
            assert line or server.poll() is None, "tools serve exited:\n" + "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "no registration within 120 s:\n" + "".join(lines)
        url = next(line.split(" at ")[-1].strip() for line in lines if line.startswith("tool agent python serving"))
        found = discover(ledger(chain, artifacts, 0))
        assert [(a.name, a.endpoint, a.capacity) for a in found] == [("python", url, 2)]

        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps([{"thought": "t", "actions": [{"id": "c", "tool": "calculate", "args": {"expression": "6 * 7"}}]},
                                    {"thought": "done", "final_answer": "{{c.value}}"}]))
        run = subprocess.run(
            [sys.executable, "-m", "symphony.cli.main", "scheduler", "run", "six times seven", "--from-chain",
             "--manifest", str(manifest), "--plan", str(plan), "--trace-dir", str(tmp_path / "traces")],
            env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert '"answer": "42"' in run.stdout and '"agent": "python"' in run.stdout
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
