"""A sampler that accepts the trainer's connection and never answers (sequential pull): after the request
timeout it is dropped, its tasks go to the live samplers, and training goes on without asking it again."""

from __future__ import annotations

import time

from echo_sync.sources import SequentialSource
from echo_sync.task_stream import TaskStream
from tests.reliability.silent_server import SilentServer

from .test_sampler_control import SECRET, service  # noqa: F401 - the fixture of a real sampler over HTTP


def test_a_hung_sampler_is_dropped_after_the_timeout_and_its_tasks_go_to_the_others(trainer_side, service):  # noqa: F811
    model, publisher = trainer_side
    publisher.publish(model)
    silent = SilentServer()
    hung = f"http://127.0.0.1:{silent.port}"
    source = SequentialSource([hung, service], TaskStream(), timeout_s=2, control_secret=SECRET)
    try:
        started = time.monotonic()
        groups = source.next_batch(4, 1)
        elapsed = time.monotonic() - started
        assert [g.task_index for g in groups] == [0, 1, 2, 3] and {g.policy_version for g in groups} == {1}
        assert source.dead == [hung] and source.live == [service] and silent.accepted == 1
        assert elapsed < 60, "bounded by the timeout plus the live sampler's work, not by the hung one"
        assert [g.task_index for g in source.next_batch(2, 1)] == [4, 5]
        assert silent.accepted == 1, "a dropped sampler is not asked again"
    finally:
        source.close()
        silent.close()
