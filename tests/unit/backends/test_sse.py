"""The SSE parser: events split anywhere, every line ending, comments, oversize events."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.backends.sse import SseEvent, SseParser

STREAM = (
    b": keep-alive comment\n"
    b"id: 7\n"
    b'data: {"a": 1}\n'
    b"\n"
    b"event: custom\r\n"
    b"data: line one\r\n"
    b"data: line two\r\n"
    b"\r\n"
    b"data:no-space\r"
    b"\r\n"  # a lone CR at the very end could be half a CRLF: the parser waits for more
)
EXPECTED = [
    SseEvent('{"a": 1}', "message", "7"),
    SseEvent("line one\nline two", "custom", None),
    SseEvent("no-space", "message", None),
]


def test_whole_stream_in_one_chunk() -> None:
    parser = SseParser()
    assert parser.feed(STREAM) == EXPECTED
    assert parser.last_event_id == "7"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    parser = SseParser()
    out: list[SseEvent] = []
    bounds = [0, *sorted(cuts), len(STREAM)]
    for a, b in itertools.pairwise(bounds):
        out += parser.feed(STREAM[a:b])
    assert out == EXPECTED


def test_oversize_event_is_dropped_and_the_stream_goes_on() -> None:
    parser = SseParser(max_event_bytes=100)
    out = parser.feed(b"data: " + b"x" * 200 + b"\n\ndata: ok\n\n")
    assert out == [SseEvent("ok")]
    assert parser.oversize == 1


def test_a_line_that_never_ends_does_not_grow_memory() -> None:
    parser = SseParser(max_event_bytes=100)
    assert parser.feed(b"data: " + b"y" * 500) == []
    assert parser.oversize == 1
    assert parser.feed(b"\n\ndata: fine\n\n") == [SseEvent("fine")]


def test_blank_lines_without_data_make_no_event() -> None:
    assert SseParser().feed(b"\n\n: c\n\nid: 3\n\n") == []


# Lines shorter than `max_event_bytes`: a line longer than that is cut where a chunk ends
# (its memory cap), so only then may the split change what comes out.
VALUES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=10,
)
LINES = st.one_of(
    st.builds(lambda v: b"data: " + v.encode(), VALUES),
    st.builds(lambda v: b"data:" + v.encode(), VALUES),
    st.builds(lambda v: b"event: " + v.encode(), VALUES),
    st.builds(lambda v: b"id: " + v.encode(), VALUES),
    st.just(b"id: 4\x002"),  # an id with NUL is ignored
    st.builds(lambda v: b": " + v.encode(), VALUES),  # a comment
    st.builds(lambda v: b"retry: " + v.encode(), VALUES),  # a field nobody reads
    st.just(b""),  # the end of an event
)
STREAMS = st.lists(st.tuples(LINES, st.sampled_from([b"\n", b"\r", b"\r\n"])), max_size=40).map(
    lambda lines: b"".join(line + end for line, end in lines)
)


def parsed(stream: bytes, cuts: list[int]) -> tuple[list[SseEvent], str | None, int]:
    """Events, last event id and oversize count of `stream` fed in pieces cut at `cuts`."""
    parser = SseParser(max_event_bytes=64)
    out: list[SseEvent] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for a, b in itertools.pairwise(bounds):
        out += parser.feed(stream[a:b])
    return out, parser.last_event_id, parser.oversize


@settings(max_examples=300, deadline=None)
@given(STREAMS)
def test_one_big_chunk_gives_what_byte_by_byte_gives(stream: bytes) -> None:
    assert parsed(stream, []) == parsed(stream, list(range(1, len(stream))))


@settings(max_examples=300, deadline=None)
@given(STREAMS, st.data())
def test_one_big_chunk_gives_what_any_split_gives(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=12))
    assert parsed(stream, []) == parsed(stream, cuts)


def test_a_large_chunk_of_small_events_parses_whole() -> None:
    event = b'id: 1\ndata: {"type":"heartbeat"}\n\n'
    count = (3 * 1024 * 1024) // len(event)
    parser = SseParser()
    out = parser.feed(event * count + b"data: tail")
    assert len(out) == count and out[-1] == SseEvent('{"type":"heartbeat"}', "message", "1")
    assert parser.feed(b"\n\n") == [SseEvent("tail", "message", None)]
