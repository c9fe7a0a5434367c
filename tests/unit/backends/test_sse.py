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
