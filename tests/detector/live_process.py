"""A real `symphony detect run` process for tests: started with a dev key from the environment, its stdout and
stderr read line by line in the background, waited on for a line, and stopped with a real signal.

Why a process and not `main([...])` in the test: what is under test is what happens on SIGTERM (the handler, the
shutdown reveals, the last lines printed), and pools a separate process creates while the detector runs.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.paths import PROJECT_ROOT

KEY_ENV = "HS_LIVE_TEST_KEY"


class DetectRun:
    """`symphony detect run ARGS` as a child process (anvil dev key of account `key_index`, local chain only)."""

    def __init__(self, node, manifest: Path, state: Path, *extra: str, key_index: int = 3, poll: float = 0.2,
                 horizon: int | None = 1_200) -> None:
        env = {**os.environ, KEY_ENV: node.dev_accounts[key_index].key.to_0x_hex(), "SYMPHONY_STATE_DIR": str(state.parent),
               "PYTHONUNBUFFERED": "1"}
        self.args = [sys.executable, "-m", "symphony.cli.main", "detect", "run", "--manifest", str(manifest),
                     "--key-env", KEY_ENV, "--detector", "rule", *(["--horizon", str(horizon)] if horizon else []),
                     "--poll", str(poll), "--state", str(state), *extra]
        self.proc = subprocess.Popen(self.args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._readers = [threading.Thread(target=self._read, args=(s, sink), daemon=True)
                         for s, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    def _read(self, stream, sink: list[str]) -> None:  # noqa: ANN001 - a text pipe
        for line in stream:
            sink.append(line.rstrip("\n"))
            self._lines.put(line)

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        """The first stdout line containing `text` (earlier lines included); fails with everything printed so far."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.out):
                if text in line:
                    return line
            if self.proc.poll() is not None and self._lines.empty():
                raise AssertionError(f"detect run exited ({self.proc.returncode}) before {text!r}:\n" + self.transcript())
            if time.monotonic() > deadline:
                raise AssertionError(f"no line with {text!r} within {timeout} s:\n" + self.transcript())
            try:
                self._lines.get(timeout=0.2)
            except queue.Empty:
                pass

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 90.0) -> int:
        """Send `signum` and wait for the process to exit; its exit status."""
        self.proc.send_signal(signum)
        rc = self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(timeout=10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def transcript(self) -> str:
        return "\n".join(["-- stdout", *self.out, "-- stderr", *self.err])
