"""An embedded anvil node: start on a free port, wait until it serves, stop it for sure.

Why not the npm wrapper: it is a node process that spawns anvil; killing it orphans the chain. We start the
native binary with PR_SET_PDEATHSIG so the kernel kills anvil if our process dies, even by SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Self

from eth_account import Account
from eth_account.signers.local import LocalAccount

from core.errors import ChainConnectionError, ToolchainError
from core.paths import tool_path
from core.processes import die_with_parent

_LISTENING = re.compile(r"Listening on ([0-9.]+):(\d+)")
_PRIVATE_KEY = re.compile(r"^\((\d+)\) (0x[0-9a-fA-F]{64})\s*$", re.MULTILINE)


class AnvilNode:
    """A local anvil process bound to 127.0.0.1. Use as a context manager, or call start()/stop()."""

    def __init__(
        self,
        *,
        port: int = 0,
        chain_id: int | None = None,
        fork_url: str | None = None,
        fork_block_number: int | None = None,
        load_state: Path | None = None,
        dump_state: Path | None = None,
        block_time: float | None = None,
        accounts: int = 10,
        balance_eth: int = 10_000,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.port = port
        self.chain_id = chain_id
        self.fork_url = fork_url
        self.fork_block_number = fork_block_number
        self.load_state = load_state
        self.dump_state = dump_state
        self.block_time = block_time
        self.accounts = accounts
        self.balance_eth = balance_eth
        self.extra_args = extra_args
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._log_text = ""

    # -- lifecycle -------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [str(tool_path("anvil")), "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--accounts", str(self.accounts), "--balance", str(self.balance_eth)]
        # Anvil spills old blocks' states to ~/.foundry/anvil/tmp and leaves them there when it is killed: a replay
        # mining thousands of blocks wrote >10 GB per run. Nothing here reads state at old blocks (logs and the
        # recent in-memory states suffice), so never persist them.
        cmd += ["--max-persisted-states", "0"]
        if self.chain_id is not None:
            cmd += ["--chain-id", str(self.chain_id)]
        if self.fork_url:
            cmd += ["--fork-url", self.fork_url]
            if self.fork_block_number is not None:
                cmd += ["--fork-block-number", str(self.fork_block_number)]
        if self.load_state is not None:
            if not Path(self.load_state).exists():
                raise ToolchainError(f"anvil state file not found: {self.load_state}")
            cmd += ["--load-state", str(self.load_state)]
        if self.dump_state is not None:
            cmd += ["--dump-state", str(self.dump_state)]
        if self.block_time is not None:
            cmd += ["--block-time", str(self.block_time)]
        return cmd + list(self.extra_args)

    def start(self) -> Self:
        if self._process is not None:
            return self
        fd, log_name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
        self._log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self._log_text = self._log_path.read_text(errors="replace")
            match = _LISTENING.search(self._log_text)
            if match:
                self.port = int(match.group(2))
                self._wait_until_serving(deadline)
                return self
            if self._process.poll() is not None:
                self._cleanup_log()
                raise ToolchainError(f"anvil exited with code {self._process.returncode}: {self._last_lines()}")
            time.sleep(0.01)
        self.stop()
        raise ToolchainError(f"anvil did not start within {self.startup_timeout:.0f} s")

    def _wait_until_serving(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                self.rpc("eth_chainId")
                return
            except (OSError, ChainConnectionError):
                time.sleep(0.01)
        raise ToolchainError("anvil is listening but does not answer JSON-RPC")

    def stop(self) -> None:
        """Stop anvil (SIGTERM, then SIGKILL); with dump_state set, anvil writes its state on SIGTERM."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                # Writing a state dump on exit can take a while on a loaded machine; never cut it short.
                process.wait(timeout=60 if self.dump_state else 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._cleanup_log()

    def _cleanup_log(self) -> None:
        if self._log_path is not None:
            try:
                self._log_text = self._log_path.read_text(errors="replace")
                self._log_path.unlink()
            except OSError:
                pass
            self._log_path = None

    def _last_lines(self) -> str:
        return " | ".join(self._log_text.strip().splitlines()[-3:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:  # last resort; tests and the CLI stop explicitly
        try:
            self.stop()
        except Exception:
            pass

    # -- access ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def dev_accounts(self) -> list[LocalAccount]:
        """The funded accounts anvil printed at start-up. Dev keys: only ever used on this local chain."""
        keys = sorted((int(i), key) for i, key in _PRIVATE_KEY.findall(self._log_text))
        return [Account.from_key(key) for _, key in keys]

    def rpc(self, method: str, params: list | None = None) -> object:
        """A raw JSON-RPC call (anvil_*, evm_* methods) without going through web3."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        request = urllib.request.Request(self.rpc_url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise ChainConnectionError(f"{method} failed: {answer['error'].get('message', answer['error'])}")
        return answer["result"]

    # -- anvil conveniences ------------------------------------------------------------------------------
    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> bool:
        return bool(self.rpc("evm_revert", [snapshot_id]))

    def increase_time(self, seconds: int, mine: bool = True) -> None:
        self.rpc("evm_increaseTime", [int(seconds)])
        if mine:
            self.rpc("evm_mine")

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def dump_state_hex(self) -> str:
        return str(self.rpc("anvil_dumpState"))

    def load_state_hex(self, state: str) -> bool:
        return bool(self.rpc("anvil_loadState", [state]))
