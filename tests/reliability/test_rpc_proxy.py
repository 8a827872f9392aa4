"""The fault proxy itself (tests/reliability/rpc_proxy.py): a fault test is only as good as the fault it injects.

Against a local keep-alive HTTP server: bytes pass unchanged; a cut makes requests fail (reset or refused) and then
ends by itself; a delay slows every exchange; an armed cut lets the matching request reach the server but never
returns its answer.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
import requests

from tests.reliability.rpc_proxy import RpcProxy

pytestmark = pytest.mark.faults


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as an RPC node serves
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(body)
        if body == b"wait":
            time.sleep(3)  # an answer still being computed when the link is cut
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[RpcProxy]:
    _Echo.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with RpcProxy(f"http://127.0.0.1:{server.server_port}") as p:
        yield p
    server.shutdown()
    server.server_close()


def test_forwards_then_cuts_then_recovers(proxy: RpcProxy) -> None:
    session = requests.Session()
    assert session.post(proxy.url, data=b"\x00binary\xff" * 1000, timeout=5).content == b"\x00binary\xff" * 1000
    proxy.cut(1.0)
    for _ in range(3):
        with pytest.raises(requests.exceptions.ConnectionError):
            session.post(proxy.url, data=b"x", timeout=5)
        time.sleep(0.1)
    assert proxy.refused >= 2 and proxy.is_cut
    time.sleep(1.0)
    assert session.post(proxy.url, data=b"back", timeout=5).content == b"back"


def test_a_cut_fails_a_request_in_flight_at_once(proxy: RpcProxy) -> None:
    """The request is waiting for its answer when the cut comes: it must fail now, not at its own timeout."""
    threading.Timer(0.5, proxy.cut, args=(1.0,)).start()
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(proxy.url, data=b"wait", timeout=20)
    assert time.monotonic() - started < 2.5


def test_delay_slows_each_exchange(proxy: RpcProxy) -> None:
    proxy.delay(0.3)
    started = time.monotonic()
    assert requests.post(proxy.url, data=b"slow", timeout=5).content == b"slow"
    assert time.monotonic() - started >= 0.6  # the request and the answer were each held


def test_an_armed_cut_delivers_the_request_and_drops_its_answer(proxy: RpcProxy) -> None:
    other = RpcProxy(proxy.url).start()  # cut at the same instant
    try:
        proxy.cut_on((b"send", b"tx-1"), 1.0, also=(other,))
        assert requests.post(proxy.url, data=b"send tx-0", timeout=5).content == b"send tx-0"  # not all patterns
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(proxy.url, data=b"send tx-1", timeout=5)
        assert _Echo.received[-1] == b"send tx-1"  # it arrived; only the answer was lost
        assert proxy.triggered_at is not None and proxy.is_cut and other.is_cut
    finally:
        other.stop()
