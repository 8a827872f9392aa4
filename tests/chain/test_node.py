"""AnvilNode: free ports, dev accounts, snapshots, state dump/load, fork mode, death with its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from core.errors import ToolchainError
from chain.node import AnvilNode


def test_port_zero_gets_a_free_port_and_serves():
    with AnvilNode() as node:
        assert node.port > 0
        assert node.rpc_url == f"http://127.0.0.1:{node.port}"
        assert int(str(node.rpc("eth_chainId")), 16) == 31337
        assert len(node.dev_accounts) == 10
    assert not node.running


def test_two_nodes_run_side_by_side():
    with AnvilNode() as a, AnvilNode(chain_id=1337) as b:
        assert a.port != b.port
        assert int(str(b.rpc("eth_chainId")), 16) == 1337


def test_state_dump_and_load(tmp_path):
    state = tmp_path / "state.json"
    with AnvilNode(dump_state=state) as node:
        node.mine(5)
        height = int(str(node.rpc("eth_blockNumber")), 16)
    assert state.exists()
    with AnvilNode(load_state=state) as node:
        assert int(str(node.rpc("eth_blockNumber")), 16) == height


def test_missing_state_file_is_a_clear_error(tmp_path):
    with pytest.raises(ToolchainError, match="state file not found"):
        AnvilNode(load_state=tmp_path / "missing.json").start()


def test_anvil_dies_with_its_parent(tmp_path):
    """A parent killed with SIGKILL (no cleanup possible) must not leave anvil running."""
    script = (
        "import sys, time\n"
        "from chain.node import AnvilNode\n"
        "node = AnvilNode().start()\n"
        "print(node._process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    anvil_pid = int(parent.stdout.readline())
    os.kill(anvil_pid, 0)  # running
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _alive(anvil_pid):
            return
        time.sleep(0.05)
    pytest.fail("anvil outlived its parent")


def _alive(pid: int) -> bool:
    """Running and not a zombie (an orphan's zombie may linger if PID 1 does not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
