"""A TCP proxy on 127.0.0.1 in front of an RPC endpoint, for fault tests (issue #15): it forwards bytes both ways,
and can be told to cut the link for N seconds (every open connection is reset and new ones are refused) or to delay
every chunk it forwards.

Why TCP and not an HTTP-aware proxy: the faults a node outage causes are at the connection level (a reset in the
middle of a request, a refused connect, a slow link), and the processes under test must meet them through their
real HTTP client (requests' connection pool, keep-alive), not through a mock.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Self
from urllib.parse import urlparse


class RpcProxy:
    """Forwards 127.0.0.1:`port` to `upstream_url`'s host and port. Use as a context manager, or start()/stop()."""

    def __init__(self, upstream_url: str) -> None:
        parsed = urlparse(upstream_url)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.port = 0
        self.delay_s = 0.0
        self.connections = 0  # accepted and forwarded
        self.refused = 0  # accepted while cut, and reset at once
        self.accepted_at: list[float] = []  # time.time() of every accepted connection (for failure messages)
        self._cut_until = 0.0
        self._trigger: tuple[tuple[bytes, ...], float, tuple[RpcProxy, ...], bool] | None = None
        self.triggered_at: float | None = None  # time.time() when the armed cut fired
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._clients: set[socket.socket] = set()  # the client side of each pair (requests come from there)
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="rpc-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._reset_all()
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults --------------------------------------------------------------------------------------------
    def cut(self, seconds: float) -> None:
        """From now for `seconds`: reset every open connection (a request in flight fails mid-way) and reset every
        new one as soon as it is accepted (the client sees a refused or reset connection)."""
        with self._lock:
            self._cut_until = time.monotonic() + seconds
        self._reset_all()

    def cut_on(self, patterns: tuple[bytes, ...], seconds: float, also: tuple[RpcProxy, ...] = (), *,
               forward: bool = True) -> None:
        """Arm a cut for the first request that contains every one of `patterns` (e.g. b"eth_sendRawTransaction"
        and a function selector, which a gas estimate of the same call also carries): that request
        still reaches the node, but its answer never comes back, and then the link is cut for `seconds`. This is
        the hardest case for exactly-once delivery: the transaction landed and the sender does not know it. The proxies
        `also` are cut at the same instant (another process's link, without a race against the test's thread).
        With forward=False the request itself is dropped too: it never reaches the node (a transaction lost)."""
        self._trigger = (patterns, seconds, also, forward)

    @property
    def is_cut(self) -> bool:
        return time.monotonic() < self._cut_until

    def delay(self, seconds: float) -> None:
        """Hold every forwarded chunk this long (0: no delay)."""
        self.delay_s = seconds

    # -- plumbing ------------------------------------------------------------------------------------------
    def _reset_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
            self._clients.clear()
        for s in sockets:
            _reset(s)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.accepted_at.append(time.time())
            if self.is_cut:
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            self.connections += 1
            with self._lock:
                self._open.update((client, upstream))
                self._clients.add(client)
            client.settimeout(None)
            upstream.settimeout(None)
            pending = [2]  # pumps of this pair still running; the last one closes both sockets
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pending), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pending: list[int]) -> None:
        """Copy src -> dst. A clean end (EOF) is passed on as a half-close, so keep-alive clients see what they would
        see from the node itself; an error or a cut resets both sides."""
        clean = False
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    clean = True
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                if self.is_cut:
                    break
                trigger = self._trigger
                if trigger is not None and src in self._clients and all(p in data for p in trigger[0]):
                    self._trigger = None
                    self.triggered_at = time.time()
                    with self._lock:
                        self._cut_until = time.monotonic() + trigger[1]  # before forwarding: the answer is dropped
                    for other in trigger[2]:
                        other.cut(trigger[1])
                    if trigger[3]:
                        dst.sendall(data)
                        time.sleep(0.2)  # let the node act on it
                    self._reset_all()
                    break
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            pending[0] -= 1
            last = pending[0] == 0
        if last or not clean:
            for s in (src, dst):
                with self._lock:
                    self._open.discard(s)
                    self._clients.discard(s)
                _reset(s) if not clean else s.close()


def _reset(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer gets ECONNRESET, as when a node or a link dies, not a clean FIN.

    Why shutdown first: close() alone does not end a connection whose socket another thread is blocked reading
    (the pump): the kernel keeps it open until that read returns, and the peer's request then just hangs until its
    own timeout (30 s), which is not the fault meant."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
