"""Fuzzy matching for the palette: each query word a subsequence, word starts rank first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Weights, tuned on the console's own titles: a word-start hit outweighs any run of mid-word
# hits, so "fail ov" finds "Fail over a database cluster" before "failover" buried in an id.
MATCH = 1.0
WORD_START = 8.0
CONSECUTIVE = 6.0  # a run of hits inside one word beats letters scattered over several
FIRST_CHAR = 4.0  # the query word starts where the text starts
GAP = 0.2  # per skipped character between two hits of one query word
GAP_CAP = 3.0  # a long jump is no worse than a moderate one
IN_ORDER = 2.0  # query words appear in the text in the order typed
SEPARATORS = frozenset(" \t._-/:+,()[]")

_NEG = float("-inf")


def _word_starts(text: str) -> list[bool]:
    """Positions where a word begins: after a separator, or a lower→upper camelCase step."""
    starts = []
    prev = ""
    for ch in text:
        starts.append(prev == "" or prev in SEPARATORS or (prev.islower() and ch.isupper()))
        prev = ch
    return starts


def _word_score(word: str, folded: str, starts: Sequence[bool]) -> tuple[float, int]:
    """Best score of `word` as a subsequence of `folded`, and where its first character sat.

    A small dynamic programme, O(len(word) × len(text)): the titles are short and the registry
    holds tens of commands, so every keystroke re-ranks everything in well under a frame, and
    the best alignment wins rather than the first one found.
    """
    n, m = len(folded), len(word)
    if m == 0:
        return 0.0, 0
    if m > n:
        return _NEG, -1
    # best[j]: best score with the current word character matched at folded[j];
    # origin[j]: where word[0] sat in that alignment.
    best = [_NEG] * n
    origin = [-1] * n
    for j, ch in enumerate(folded):
        if ch == word[0]:
            best[j] = MATCH + (WORD_START if starts[j] else 0.0) + (FIRST_CHAR if j == 0 else 0.0)
            origin[j] = j
    for i in range(1, m):
        nxt = [_NEG] * n
        nxt_origin = [-1] * n
        # The gap penalty is min(GAP_CAP, GAP * skipped), so the best earlier predecessor is
        # the better of a linearly decaying carry and the plain maximum minus the cap.
        decay, decay_origin = _NEG, -1
        top, top_origin = _NEG, -1
        for j in range(1, n):
            if j >= 2:  # folded[j - 2] becomes a non-adjacent predecessor, one skipped char
                k = j - 2
                if best[k] > decay:
                    decay, decay_origin = best[k], origin[k]
                if best[k] > top:
                    top, top_origin = best[k], origin[k]
                decay -= GAP  # every step further away costs one more skipped character
            if folded[j] != word[i]:
                continue
            cand, cand_origin = _NEG, -1
            if best[j - 1] > _NEG:
                cand, cand_origin = best[j - 1] + CONSECUTIVE, origin[j - 1]
            if decay > cand:
                cand, cand_origin = decay, decay_origin
            if top - GAP_CAP > cand:
                cand, cand_origin = top - GAP_CAP, top_origin
            if cand > _NEG:
                nxt[j] = cand + MATCH + (WORD_START if starts[j] else 0.0)
                nxt_origin[j] = cand_origin
        best, origin = nxt, nxt_origin
    at = max(range(n), key=lambda j: best[j])
    return best[at], origin[at]


def score(query: str, text: str) -> float | None:
    """How well `query` matches `text` (higher is better), or None when it does not match.

    Each whitespace-separated query word must be a case-insensitive subsequence of the text.
    """
    words = query.casefold().split()
    if not words:
        return 0.0
    folded = text.casefold()
    # Most texts fail on some word: a plain subsequence test rejects them before the DP.
    for word in words:
        it = iter(folded)
        if not all(ch in it for ch in word):
            return None
    starts = _word_starts(text)
    total = 0.0
    last_origin = -1
    for word in words:
        value, at = _word_score(word, folded, starts)
        if value == _NEG:
            return None
        total += value
        if at > last_origin:
            total += IN_ORDER
        last_origin = at
    # Among equals, the shorter text is the more specific answer.
    return total - len(text) * 0.01


@dataclass(frozen=True)
class Ranked(Generic[T]):
    item: T
    score: float


def rank(
    query: str,
    items: Iterable[T],
    texts: Callable[[T], Sequence[str]],
) -> list[Ranked[T]]:
    """Items matching `query`, best first; each item scores by its best-matching text.

    With an empty query every item is kept, in the order given.
    """
    ranked: list[tuple[float, int, T]] = []
    for index, item in enumerate(items):
        scores = [s for s in (score(query, t) for t in texts(item)) if s is not None]
        if scores:
            ranked.append((max(scores), index, item))
    if query.strip():
        ranked.sort(key=lambda r: (-r[0], r[1]))
    return [Ranked(item, value) for value, _, item in ranked]
