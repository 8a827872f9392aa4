"""Child processes that die with their parent, and free loopback ports.

Why PR_SET_PDEATHSIG: a test, a launcher or a CLI command that dies (even by SIGKILL) must not leave
model-sized workers or an anvil behind on a shared machine; the kernel sends the child SIGTERM when its parent
thread exits. Linux only; elsewhere the call is skipped and children are stopped by the usual clean-up.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` for subprocess.Popen: the kernel SIGTERMs the child when the parent dies.

    Only for synchronous Popen: a preexec_fn is unsafe in threads and inside asyncio's child watcher.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago on `host` (the caller binds it next; a race is possible but rare)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
