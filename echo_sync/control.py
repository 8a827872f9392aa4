"""Authentication of the sampler's control API: HMAC-SHA256 with a secret shared by trainer and samplers.

Why: `POST /generate {"version": v, ...}` makes a sampler download and load version v. Unauthenticated, anybody
who can reach the port could make it burn its compute or (in v1) roll it back to an older version. The chain
already guarantees *which bytes* version v is; this guarantees *who* may ask. The trainer signs
`method, path, timestamp, nonce, body` with the secret in `$ECHO_CONTROL_SECRET` (never in files, argv or logs;
`symphony echo run` generates one per run); the sampler accepts a request only with a valid signature, a
timestamp within `max_skew_s` of its clock, and a nonce it has not seen (no replay). Independently of who asks,
the node itself never loads a version older than the one it holds, a revoked one, or one not on chain
(`SamplerNode.sync_to`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
import uuid
from collections import OrderedDict
from typing import Mapping

from core.errors import ConfigError
from echo_sync.errors import ControlAuthError

CONTROL_SECRET_ENV = "ECHO_CONTROL_SECRET"
MIN_SECRET_BYTES = 16
TIMESTAMP_HEADER = "X-Echo-Timestamp"
NONCE_HEADER = "X-Echo-Nonce"
SIGNATURE_HEADER = "X-Echo-Signature"


def secret_from_env(variable: str = CONTROL_SECRET_ENV) -> bytes | None:
    """The shared secret, or None when the variable is unset; a too-short secret is a configuration error."""
    value = os.environ.get(variable)
    if value is None or value == "":
        return None
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"${variable} must hold at least {MIN_SECRET_BYTES} bytes")
    return secret


def _mac(secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    # surrogatepass: header text decoded from arbitrary bytes may hold lone surrogates; they must hash, not raise
    head = f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n".encode("utf-8", "surrogatepass")
    return hmac.new(secret, head + body, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, method: str, path: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Headers that authenticate one request (a fresh nonce each time)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = uuid.uuid4().hex
    return {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: _mac(secret, method, path, timestamp, nonce, body)}


class ControlVerifier:
    """Checks signed control requests; remembers recent nonces so a captured request cannot be replayed."""

    def __init__(self, secret: bytes, max_skew_s: float = 30.0, max_nonces: int = 10_000) -> None:
        self.secret, self.max_skew_s, self.max_nonces = secret, max_skew_s, max_nonces
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        """Return if the request is authentic and fresh; raise ControlAuthError saying why not."""
        now = time.time() if now is None else now
        timestamp, nonce, signature = (headers.get(h) for h in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER))
        if not (timestamp and nonce and signature):
            raise ControlAuthError("unsigned control request")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):  # 12 digits: year 33658
            raise ControlAuthError("malformed timestamp")
        skew = abs(now - int(timestamp))
        if skew > self.max_skew_s:
            raise ControlAuthError(f"stale control request ({skew:.0f} s from the sampler's clock)")
        if len(nonce) > 128:
            raise ControlAuthError("malformed nonce")
        expected = _mac(self.secret, method, path, timestamp, nonce, body).encode()
        if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass")):
            raise ControlAuthError("bad signature")
        with self._lock:
            cutoff = now - 2 * self.max_skew_s
            while self._seen and (next(iter(self._seen.values())) < cutoff or len(self._seen) >= self.max_nonces):
                self._seen.popitem(last=False)
            if nonce in self._seen:
                raise ControlAuthError("replayed control request")
            self._seen[nonce] = now
