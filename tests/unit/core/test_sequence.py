"""Sequence tracking: apply the next frame, drop duplicates, detect gaps across reconnects."""

from __future__ import annotations

from opsconsole.core.sequence import SeqTracker, SeqVerdict


def tracker_at(seq: int, epoch: str = "run-1") -> SeqTracker:
    t = SeqTracker()
    t.on_hello(epoch)
    t.on_snapshot(seq)
    return t


def test_new_tracker_has_no_resume_point() -> None:
    t = SeqTracker()
    assert t.resume_point() is None
    assert t.epoch is None and t.last_seq is None


def test_frame_before_any_snapshot_is_a_gap() -> None:
    t = SeqTracker()
    t.on_hello("run-1")
    assert t.on_frame(1) is SeqVerdict.GAP
    assert t.last_seq is None


def test_next_frame_applies_and_advances() -> None:
    t = tracker_at(10)
    assert [t.on_frame(s) for s in (11, 12, 13)] == [SeqVerdict.APPLY] * 3
    assert t.last_seq == 13


def test_repeated_and_older_frames_are_duplicates() -> None:
    t = tracker_at(10)
    t.on_frame(11)
    assert t.on_frame(11) is SeqVerdict.DUPLICATE
    assert t.on_frame(3) is SeqVerdict.DUPLICATE
    assert t.on_frame(10) is SeqVerdict.DUPLICATE
    assert t.last_seq == 11


def test_skipped_frame_is_a_gap_and_does_not_advance() -> None:
    t = tracker_at(10)
    assert t.on_frame(12) is SeqVerdict.GAP
    assert t.last_seq == 10
    assert t.on_frame(11) is SeqVerdict.APPLY


def test_snapshot_moves_the_position() -> None:
    t = tracker_at(10)
    t.on_snapshot(50)
    assert t.on_frame(51) is SeqVerdict.APPLY
    assert t.on_frame(20) is SeqVerdict.DUPLICATE


def test_snapshot_at_seq_zero() -> None:
    t = tracker_at(0)
    assert t.on_frame(1) is SeqVerdict.APPLY


def test_heartbeat_at_or_before_our_position_is_fine() -> None:
    t = tracker_at(10)
    assert t.on_heartbeat(10) is SeqVerdict.APPLY
    assert t.on_heartbeat(9) is SeqVerdict.APPLY
    assert t.last_seq == 10


def test_heartbeat_beyond_last_seq_is_a_gap() -> None:
    t = tracker_at(10)
    assert t.on_heartbeat(11) is SeqVerdict.GAP
    assert t.last_seq == 10  # a heartbeat never advances the position


def test_heartbeat_before_any_snapshot_is_not_judged() -> None:
    t = SeqTracker()
    assert t.on_heartbeat(500) is SeqVerdict.APPLY


def test_hello_with_the_same_epoch_resumes() -> None:
    t = tracker_at(10)
    t.on_frame(11)
    assert t.on_hello("run-1") is True
    assert t.resume_point() == ("run-1", 11)
    assert t.on_frame(12) is SeqVerdict.APPLY


def test_hello_with_a_different_epoch_starts_over() -> None:
    t = tracker_at(10)
    assert t.on_hello("run-2") is False
    assert t.epoch == "run-2"
    assert t.last_seq is None
    assert t.resume_point() is None
    assert t.on_frame(11) is SeqVerdict.GAP


def test_first_hello_cannot_resume() -> None:
    t = SeqTracker()
    assert t.on_hello("run-1") is False
    assert t.epoch == "run-1"
    assert t.resume_point() is None


def test_same_epoch_without_a_position_cannot_resume() -> None:
    t = SeqTracker()
    t.on_hello("run-1")
    assert t.on_hello("run-1") is False


def test_resume_point_after_snapshot() -> None:
    assert tracker_at(42, "run-9").resume_point() == ("run-9", 42)


def test_forget() -> None:
    t = tracker_at(42)
    t.forget()
    assert t.resume_point() is None
    assert t.on_hello("run-1") is False
