"""Child processes of a local Echo run: start a role with its spec file, wait until ready, stop for sure.

The command that runs a role is given by the caller (the CLI passes `symphony echo trainer|sampler --spec`),
so this layer never needs to know about the entry-point layer above it.

Why PR_SET_PDEATHSIG: if the launcher (or a test) dies, the kernel kills its trainer and sampler children
instead of leaving model-sized orphans on a shared 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable

from pydantic import BaseModel

from core.errors import SymphonyError
from core.processes import die_with_parent
from echo_sync.specs import write_spec


RoleCommand = Callable[[str, Path], list[str]]
"""argv that runs one role ("trainer" | "sampler") from a spec file, e.g. `symphony echo trainer --spec FILE`."""


class ChildProcess:
    def __init__(self, name: str, role: str, spec: BaseModel, run_dir: Path, role_command: RoleCommand,
                 env: dict[str, str] | None = None):
        self.name = name
        logs = run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.spec_path = write_spec(spec, run_dir / f"{name}.spec.json")
        self.log_path = logs / f"{name}.log"
        self.ready_file: str | None = getattr(spec, "ready_file", None)
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                role_command(role, self.spec_path),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})}, preexec_fn=die_with_parent,
                # Own session => own scheduler autogroup: each node gets a CPU share of its own, as it would
                # on its own machine, instead of all nodes splitting the launcher's share on a busy host.
                start_new_session=True,
            )
        self.url: str | None = None

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_ready(self, timeout: float = 300.0) -> str:
        """Block until the child wrote its ready file; returns the URL it serves."""
        assert self.ready_file, f"{self.name} has no ready file"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready_file):
                self.url = json.loads(Path(self.ready_file).read_text())["url"]
                return self.url
            if not self.alive:
                raise SymphonyError(f"{self.name} exited with code {self.popen.returncode} before it was ready: {self.tail()}")
            time.sleep(0.1)
        raise SymphonyError(f"{self.name} was not ready within {timeout:.0f} s: {self.tail()}")

    def get_json(self, path: str, timeout: float = 10.0) -> dict | None:
        if not self.url or not self.alive:
            return None
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as resp:
                return json.loads(resp.read())
        except OSError:
            return None

    def tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: the crash a fault-tolerance test simulates."""
        if self.alive:
            self.popen.kill()
        self.popen.wait(timeout=30)

    def stop(self, grace_s: float = 10.0) -> None:
        if self.alive:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=30)
