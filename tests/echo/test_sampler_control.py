"""Issue 14, item 8, on the sampler side: the control API is authenticated (HMAC with the shared secret), a
sampler never rolls back, never loads a revoked version, stops generating once its own version is revoked, and
keeps its verified weights whenever it refuses. Real anvil, real PolicyRegistry, the tiny real model over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import torch

from core.http import BackgroundServer
from echo_sync.control import ControlVerifier, signed_headers
from echo_sync.errors import ControlAuthError, PolicyRollback, RevokedPolicyVersion
from echo_sync.sampler_service import sampler_app

SECRET = b"test-control-secret-0123456789"


@pytest.fixture
def service(node):
    server = BackgroundServer(sampler_app(node, ControlVerifier(SECRET))).start()
    yield server.url
    server.stop()


def perturb(model, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01)


def params(node) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in node.backend.model.named_parameters()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    raw = json.dumps(body).encode()
    req = urllib.request.Request(f"{url}/generate", raw, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed(body: dict, secret: bytes = SECRET) -> dict:
    return signed_headers(secret, "POST", "/generate", json.dumps(body).encode())


def test_sampler_refuses_a_lower_version_and_keeps_its_weights(trainer_side, node):
    model, publisher = trainer_side
    publisher.publish(model)
    perturb(model, 1)
    v2 = publisher.publish(model)
    node.sync_to(2)
    held = params(node)
    with pytest.raises(PolicyRollback, match="older than the loaded v2"):
        node.sync_to(1)
    assert (node.version, node.sha256) == (2, v2.sha256) and same(params(node), held)
    assert node.stats.refused == [{"version": 1, "reason": "older than the loaded v2"}]
    assert node.generate([0])[0].policy_version == 2


def test_unauthenticated_control_requests_are_refused(trainer_side, node, service):
    model, publisher = trainer_side
    v1 = publisher.publish(model)
    perturb(model, 1)
    publisher.publish(model)
    body = {"version": 1, "tasks": [0]}
    assert post(service, body, signed(body))[0] == 200 and node.version == 1
    held = params(node)
    ask_v2 = {"version": 2, "tasks": [0]}
    status, answer = post(service, ask_v2)  # no signature
    assert (status, answer["error"]) == (401, "unauthenticated") and "unsigned" in answer["detail"]
    assert post(service, ask_v2, signed(ask_v2, b"not-the-secret-not-the-secret"))[0] == 401
    tampered = signed(ask_v2)
    assert post(service, {"version": 2, "tasks": [0, 1]}, tampered)[0] == 401  # body changed after signing
    headers = signed(ask_v2)
    assert post(service, ask_v2, headers)[0] == 200 and node.version == 2
    assert post(service, ask_v2, headers)[1]["error"] == "unauthenticated"  # the same request replayed
    # Authenticated but a rollback: refused by the node itself, weights kept.
    v2_params = params(node)
    status, answer = post(service, body, signed(body))
    assert (status, answer["error"]) == (409, "rollback")
    assert node.version == 2 and same(params(node), v2_params) and not same(held, v2_params)
    assert v1.version == 1


def test_a_sampler_without_a_secret_serves_no_control_requests(node):
    server = BackgroundServer(sampler_app(node, None)).start()
    try:
        body = {"version": 1, "tasks": [0]}
        status, answer = post(server.url, body, signed(body))
        assert (status, answer["error"]) == (403, "control_disabled") and node.version is None
    finally:
        server.stop()


def test_control_verifier_rules():
    v = ControlVerifier(SECRET, max_skew_s=30)
    h = signed_headers(SECRET, "POST", "/generate", b"{}", now=1_000)
    v.verify("POST", "/generate", h, b"{}", now=1_010)
    with pytest.raises(ControlAuthError, match="replayed"):
        v.verify("POST", "/generate", h, b"{}", now=1_011)
    with pytest.raises(ControlAuthError, match="stale"):
        v.verify("POST", "/generate", signed_headers(SECRET, "POST", "/generate", b"{}", now=1_000), b"{}", now=1_100)
    with pytest.raises(ControlAuthError, match="bad signature"):
        v.verify("POST", "/other", signed_headers(SECRET, "POST", "/generate", b"{}", now=1_000), b"{}", now=1_000)


def test_revoked_versions_are_never_loaded_and_a_revoked_held_version_stops_generation(trainer_side, node, registry):
    model, publisher = trainer_side
    publisher.publish(model)
    perturb(model, 1)
    publisher.publish(model)
    publisher.revoke(2, "diverged")
    assert registry.is_revoked(2) and registry.latest_valid_version() == 1 and registry.latest_version() == 2
    assert node.catch_up() == 1, "follows the latest valid version"
    held = params(node)
    with pytest.raises(RevokedPolicyVersion, match="revoked on chain"):
        node.sync_to(2)
    assert node.version == 1 and same(params(node), held)
    assert {"version": 2, "reason": "revoked on chain"} in node.stats.refused
    assert publisher.sha_of(2) is None, "the trainer no longer serves or admits it"

    # Now the version the node holds is revoked: it stops generating until a newer valid version appears.
    publisher.revoke(1, "bad data")
    assert node.catch_up() == 1 and node.held_revoked
    with pytest.raises(RevokedPolicyVersion, match="waiting for a newer version"):
        node.generate([0])
    perturb(model, 2)
    v3 = publisher.publish(model)
    assert v3.version == 3, "numbering continues at latest + 1 after revocations"
    assert node.catch_up() == 3 and not node.held_revoked
    assert node.generate([0])[0].policy_version == 3


def test_replay_buffer_refuses_and_drops_revoked_versions():
    from echo_sync.replay_buffer import ReplayBuffer
    from echo_sync.rollout import RolloutGroup, Sample

    revoked: set[int] = set()
    requeued: list[int] = []
    buf = ReplayBuffer(4, 2, lambda v: "ab" * 32, "requeue", requeued.append, is_revoked=lambda v: v in revoked)

    def group(task: int, version: int) -> RolloutGroup:
        return RolloutGroup(task, version, "ab" * 32, "s0", (Sample("x", (1,), "stop"),))

    assert buf.put(group(0, 1)) == "accepted"
    revoked.add(1)
    assert buf.put(group(1, 1)) == "revoked"
    assert buf.put(group(2, 2)) == "accepted"
    assert [g.task_index for g in buf.take(1, 2, timeout=1)] == [2]
    assert requeued == [0] and buf.stats.dropped_revoked == 1 and buf.stats.rejected_revoked == 1
