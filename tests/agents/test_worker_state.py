"""Worker state rules that decide bidding: one final vote per task, lost bids do not block."""

from __future__ import annotations

from agents.worker_state import SeenBeacon, WorkerState


def _seen(beacon_id: int, task: str, final: bool, deadline: int, state: str = "bid") -> SeenBeacon:
    return SeenBeacon(beacon_id, task, 0, 2, final, "0x" + "00" * 32, b"{}", deadline, state)


def test_final_bid_rules(tmp_path):
    state = WorkerState(tmp_path / "s.sqlite")
    state.record_beacon(_seen(1, "0xaa", True, deadline=100))
    assert state.holds_final_bid("0xaa", chain_time=50)  # still in the running for beacon 1
    assert not state.holds_final_bid("0xaa", chain_time=150)  # window over and not assigned: we lost it
    assert not state.holds_final_bid("0xbb", chain_time=50)  # another task
    state.add_assignment(1, "0xaa", 10**18, 500)
    assert state.holds_final_bid("0xaa", chain_time=150)  # we execute it: that is our one vote for the task
    state.set_status(1, "lost")  # timed out and reassigned: free to take another final step
    assert not state.holds_final_bid("0xaa", chain_time=150)
    state.record_beacon(_seen(2, "0xaa", False, deadline=1000))
    assert not state.holds_final_bid("0xaa", chain_time=150)  # non-final beacons never count


def test_resume_lists_unfinished_assignments(tmp_path):
    state = WorkerState(tmp_path / "s.sqlite")
    for beacon_id, status in ((1, "assigned"), (2, "executing"), (3, "computed"), (4, "submitted"), (5, "lost")):
        state.add_assignment(beacon_id, "0xaa", 1, 10)
        state.set_status(beacon_id, status)
    reopened = WorkerState(tmp_path / "s.sqlite")
    assert reopened.unfinished() == [1, 2, 3]
    assert reopened.in_flight() == 3
