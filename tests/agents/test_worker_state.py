"""Worker state: the steps a worker saw keep their chain's vectors; unfinished assignments survive a restart."""

from __future__ import annotations

from agents.worker_state import SeenBeacon, WorkerState


def _seen(beacon_id: int, step: int, steps: int = 3) -> SeenBeacon:
    reqs = tuple(bytes([i + 1]) * 32 for i in range(steps))
    return SeenBeacon(beacon_id, "0xaa", beacon_id // 8, 0, step, steps, reqs, b'{"v":1}', 100)


def test_steps_round_trip_with_their_chain(tmp_path):
    state = WorkerState(tmp_path / "s.sqlite")
    for step in range(3):
        state.record_beacon(_seen(16 + step, step))
    reopened = WorkerState(tmp_path / "s.sqlite")
    last = reopened.beacon(18)
    assert last == _seen(18, 2)
    assert last.is_final and not reopened.beacon(16).is_final
    assert last.requirement == bytes([3]) * 32  # its own step's vector
    assert len(last.requirements) == 3  # and the chain's, which a bid passes back
    reopened.set_bid_state(18, "bid")
    assert reopened.beacon(18).bid_state == "bid"
    assert reopened.beacon(99) is None


def test_resume_lists_unfinished_assignments(tmp_path):
    state = WorkerState(tmp_path / "s.sqlite")
    for beacon_id, status in ((1, "assigned"), (2, "executing"), (3, "computed"), (4, "submitted"), (5, "lost")):
        state.add_assignment(beacon_id, "0xaa", 1, 10)
        state.set_status(beacon_id, status)
    state.save_result(3, b"r", "4", "0x" + "11" * 32)
    state.set_vote_state(3, "committed")
    reopened = WorkerState(tmp_path / "s.sqlite")
    assert reopened.unfinished() == [1, 2, 3]
    assert reopened.in_flight() == 3
    assert [a.beacon_id for a in reopened.pending_votes()] == [3]
    assert reopened.assignment(3).result == b"r" and reopened.assignment(3).answer == "4"
    assert not reopened.add_assignment(1, "0xaa", 1, 99)  # a reassignment refreshes the deadline
    assert reopened.assignment(1).exec_deadline == 99
