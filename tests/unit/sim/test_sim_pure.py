"""Replay ring, idempotency cache, history buckets, quantiles and client queues (pure)."""

from __future__ import annotations

import asyncio

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.protocol import EventFrame, MetricsFrame, SnapshotFrame, decode_frame, encode
from opsconsole.sim.framelog import FrameLog
from opsconsole.sim.history import MetricHistory, point_count
from opsconsole.sim.hub import Hub, Subscriber, Subscription
from opsconsole.sim.idempotency import ClaimKind, IdempotencyCache
from opsconsole.sim.middleware import fingerprint
from opsconsole.sim.sampling import segmented_quantiles


def event(i: int) -> EventFrame:
    return EventFrame(seq=0, ts=float(i), kind="info", message=f"e{i}")


def test_framelog_numbers_consecutively_and_replays_what_it_holds() -> None:
    log = FrameLog("ep", capacity=3)
    stamped = [log.append(event(i))[0] for i in range(5)]
    assert [f.seq for f in stamped] == [1, 2, 3, 4, 5]
    assert log.first_seq == 3 and log.last_seq == 5
    assert [decode_frame(d).seq for d in log.after(2)] == [3, 4, 5]  # type: ignore[union-attr]
    assert log.after(5) == []
    assert log.after(1) is None  # seq 2 was dropped
    assert log.after(6) is None  # ahead of this run


def test_framelog_byte_budget_drops_oldest_but_keeps_one() -> None:
    log = FrameLog("ep", capacity=100, max_bytes=200)
    for i in range(10):
        log.append(event(i))
    kept = log.last_seq - log.first_seq + 1
    assert kept >= 1 and kept < 10
    frames = log.after(log.first_seq - 1, max_bytes=1)
    assert frames is not None and len(frames) == 1


def test_idempotency_claims_and_expiry() -> None:
    cache: IdempotencyCache[str] = IdempotencyCache(ttl_s=600.0)
    assert cache.claim("k", "f1", 0.0).kind is ClaimKind.NEW
    assert cache.claim("k", "f1", 1.0).kind is ClaimKind.IN_FLIGHT
    cache.complete("k", "answer")
    done = cache.claim("k", "f1", 2.0)
    assert done.kind is ClaimKind.DONE and done.response == "answer"
    assert cache.claim("k", "f2", 3.0).kind is ClaimKind.CONFLICT
    assert cache.claim("k", "f2", 600.0).kind is ClaimKind.NEW  # expired after 10 minutes
    cache.abandon("k")
    assert len(cache) == 0


def test_fingerprint_ignores_json_spacing_and_key_order_but_not_content() -> None:
    a = fingerprint("POST", "/x", b'{"a": 1, "b": 2}')
    assert a == fingerprint("POST", "/x", b'{"b":2,"a":1}')
    assert a != fingerprint("POST", "/x", b'{"a": 1, "b": 3}')
    assert a != fingerprint("POST", "/y", b'{"a": 1, "b": 2}')


def test_history_buckets_by_step_with_none_where_no_sample() -> None:
    h = MetricHistory(["a"], n_fields=1, capacity=4)
    for t in range(6):  # capacity 4: keeps t = 2..5
        h.append(float(t), np.array([[float(t)]]))
    points = h.query(0, 0, start=0.0, end=6.0, step=2.0)
    assert points == [(0.0, None), (2.0, 2.5), (4.0, 4.5), (6.0, None)]
    assert point_count(0.0, 10.0, 0.001) == 10_001


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6), st.integers(0, 9))
def test_segmented_quantiles_match_numpy(counts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    segments = [np.sort(rng.lognormal(3.0, 1.0, n)) for n in counts]
    values = np.concatenate(segments) if segments else np.empty(0)
    got = segmented_quantiles(values, np.array(counts))
    for i, seg in enumerate(segments):
        if seg.size == 0:
            assert np.isnan(got[i]).all()
        else:
            assert np.allclose(got[i], np.quantile(seg, [0.5, 0.95, 0.99]))


async def test_hub_drops_a_client_that_falls_behind_without_blocking() -> None:
    hub = Hub(FrameLog("ep"))
    slow, fast = Subscriber(max_frames=3), Subscriber(max_frames=100)
    for sub in (slow, fast):
        hub.subscribe(sub, Subscription(), None, None, lambda seq, resync: SnapshotFrame(seq, 0.0))
    hub.publish(event(i) for i in range(5))
    assert slow.closed_reason is not None and "too slow" in slow.closed_reason
    assert slow.close_code == 1013 and slow not in hub.subscribers
    assert fast.queued == 6  # snapshot + 5 live frames
    await asyncio.wait_for(fast.wait(), 1.0)


def test_subscription_filters_topics_and_metric_rows() -> None:
    rows = msgspec.Raw(encode([["a", 1.0, 1, 2, 3, 4, 0, 0.1, 0.2], ["b", 1.0] + [None] * 7]))
    metrics = MetricsFrame(seq=1, rows=rows)
    only_b = Subscription(services=frozenset({"b"}))
    picked = only_b.select(metrics)
    assert isinstance(picked, MetricsFrame)
    assert (
        msgspec.json.decode(picked.rows)[0][0] == "b" and len(msgspec.json.decode(picked.rows)) == 1
    )
    assert Subscription(topics=frozenset({"events"})).select(metrics) is None
    assert Subscription(topics=frozenset({"events"})).select(event(1)) is not None


def test_hub_subscribe_replays_from_since_seq_or_falls_back_to_a_resync_snapshot() -> None:
    hub = Hub(FrameLog("ep", capacity=4))
    hub.publish(event(i) for i in range(6))  # holds seqs 3..6

    def snap(seq: int, resync: bool) -> SnapshotFrame:
        return SnapshotFrame(seq=seq, ts=0.0, resync=resync)

    sub = Subscriber()
    assert hub.subscribe(sub, Subscription(), 3, "ep", snap) == "replay"
    assert [sub.pop()[0] for _ in range(3)] == [4, 5, 6]  # type: ignore[index]
    assert sub.pop() is None
    hub.publish([event(7)])
    assert sub.pop()[0] == 7  # type: ignore[index]

    for since, epoch in ((1, "ep"), (3, "other"), (99, "ep")):
        again = Subscriber()
        assert hub.subscribe(again, Subscription(), since, epoch, snap) == "resync"
        seq, data = again.pop()  # type: ignore[misc]
        first = decode_frame(data)
        assert isinstance(first, SnapshotFrame) and first.resync and seq == first.seq == 7
