"""Replay buffer admission (version/hash) and the staleness bound."""

from __future__ import annotations

import hashlib
import threading
import urllib.error

import pytest

from echo_sync.replay_buffer import ReplayBuffer
from echo_sync.rollout import RolloutGroup, Sample
from echo_sync.task_stream import TaskStream

SHAS = {1: "aa" * 32, 2: "bb" * 32, 3: "cc" * 32, 4: "dd" * 32}


def group(task: int, version: int, sha: str | None = None) -> RolloutGroup:
    return RolloutGroup(task, version, sha or SHAS[version], "s0", (Sample("1", (1,)), Sample("2", (2,))))


def make(stale_policy="drop", capacity=8, max_staleness=1):
    stream = TaskStream(start=100)
    buf = ReplayBuffer(capacity, max_staleness, SHAS.get, stale_policy, stream.requeue)
    return buf, stream


def test_unknown_version_and_bad_hash_are_rejected():
    buf, _ = make()
    assert buf.put(group(0, 9, "aa" * 32)) == "unknown_version"
    assert buf.put(group(1, 1, "bb" * 32)) == "bad_hash"
    assert buf.put(group(2, 1)) == "accepted"
    assert len(buf) == 1
    assert (buf.stats.rejected_unknown_version, buf.stats.rejected_bad_hash, buf.stats.accepted) == (1, 1, 1)


def test_stale_groups_are_dropped_and_staleness_is_recorded():
    buf, _ = make("drop", max_staleness=1)
    for task, version in [(0, 1), (1, 2), (2, 3), (3, 3)]:
        buf.put(group(task, version))
    batch = buf.take(3, current_version=3, timeout=1)
    assert [g.task_index for g in batch] == [1, 2, 3]  # v1 is 2 versions behind v3 > S=1
    assert buf.stats.dropped_stale == 1
    assert dict(buf.stats.staleness_hist) == {1: 1, 0: 2}
    assert all(3 - g.policy_version <= 1 for g in batch)


def test_stale_groups_can_be_requeued_for_regeneration():
    buf, stream = make("requeue", max_staleness=0)
    buf.put(group(7, 1))
    buf.put(group(8, 2))
    assert [g.task_index for g in buf.take(1, current_version=2, timeout=1)] == [8]
    assert buf.stats.requeued_stale == 1
    assert stream.take(2) == [7, 100]  # the stale task comes back first


def test_take_times_out_without_enough_fresh_groups_and_capacity_evicts_oldest():
    buf, stream = make("drop", capacity=2)
    assert buf.take(1, current_version=1, timeout=0.05) == []
    for t in range(3):
        buf.put(group(t, 1))
    assert buf.stats.evicted_full == 1 and len(buf) == 2
    assert stream.take(1) == [0]  # the evicted task is handed out again
    assert [g.task_index for g in buf.take(2, 1, timeout=1)] == [1, 2]


def test_take_blocks_until_a_producer_pushes():
    buf, _ = make()
    threading.Timer(0.2, lambda: buf.put(group(5, 2))).start()
    batch = buf.take(1, current_version=2, timeout=5)
    assert [g.task_index for g in batch] == [5]


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        ReplayBuffer(0, 1, SHAS.get)
    with pytest.raises(ValueError):
        ReplayBuffer(4, 1, SHAS.get, "requeue", None)


def test_rollout_json_roundtrip_and_malformed_input():
    g = group(3, 2)
    assert RolloutGroup.from_json(g.to_json()) == g
    with pytest.raises(ValueError):
        RolloutGroup.from_json({"task_index": "x"})


def test_trainer_endpoint_rejects_unknown_versions_and_bad_hashes_over_http(tiny_model, tmp_path):
    """Samplers push through HTTP; the verdict per group comes back and only verified groups reach the buffer."""
    import json
    import urllib.request

    from core.http import BackgroundServer
    from echo_sync.publisher import PolicyPublisher
    from echo_sync.trainer import load_causal_lm
    from echo_sync.trainer_app import TrainerEndpoint
    from echo_sync.weights import PolicyStore

    model, _ = load_causal_lm(tiny_model)
    publisher = PolicyPublisher(PolicyStore(tmp_path / "p"), None, "http://unset")  # no chain: local versions
    stream = TaskStream()
    buf = ReplayBuffer(4, 1, publisher.sha_of, "requeue", stream.requeue)
    endpoint = TrainerEndpoint(publisher, buf, stream)
    with BackgroundServer(endpoint.app()) as server:
        publisher.base_url = server.url
        v1 = publisher.publish(model)

        def post(groups):
            req = urllib.request.Request(f"{server.url}/rollouts", json.dumps({"groups": groups}).encode(),
                                         {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read())

        good = RolloutGroup(0, 1, v1.sha256, "s", (Sample("a", (1,)), Sample("b", (2,))))
        forged = RolloutGroup(1, 1, "ee" * 32, "s", good.samples)
        future = RolloutGroup(2, 2, v1.sha256, "s", good.samples)
        answer = post([good.to_json(), forged.to_json(), future.to_json(), {"task_index": 3}])
        assert answer == {"results": ["accepted", "bad_hash", "unknown_version", "malformed"], "stop": False}
        assert len(buf) == 1
        with urllib.request.urlopen(f"{server.url}/tasks?n=2", timeout=10) as resp:
            assert json.loads(resp.read())["tasks"] == [0, 1]
        with urllib.request.urlopen(f"{server.url}/policies/1/model.safetensors", timeout=10) as resp:
            assert hashlib.sha256(resp.read()).hexdigest() == v1.sha256
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{server.url}/policies/2/model.safetensors", timeout=10)
        assert err.value.code == 404
        endpoint.stop.set()
        assert post([good.to_json()])["stop"] is True
