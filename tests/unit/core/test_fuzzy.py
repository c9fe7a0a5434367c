"""Fuzzy ranking of command titles and ids: word starts first, every query word must match."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.actions import SPECS
from opsconsole.core.fuzzy import rank, score

# The console's own titles (action specs plus the window's), so the ranking is tested on
# what operators actually search.
TITLES: dict[str, str] = {
    **{cid: spec.title for cid, spec in SPECS.items()},
    "app.quit": "Quit",
    "layout.reset": "Reset the panel layout",
    "panel.focus.services": "Focus Services",
    "panel.focus.console_health": "Focus Console health",
    "panel.focus.clusters": "Focus Database clusters",
    "keys.palette": "Open the command palette",
    "keys.help": "Show every key binding",
}


def ranked_ids(query: str) -> list[str]:
    return [r.item for r in rank(query, TITLES, lambda cid: (TITLES[cid], cid))]


def test_fail_ov_finds_fail_over_a_database_cluster_first() -> None:
    assert ranked_ids("fail ov")[0] == "db.failover"
    assert TITLES[ranked_ids("fail ov")[0]] == "Fail over a database cluster"


def test_ids_are_searched_too() -> None:
    assert ranked_ids("db.sw")[0] == "db.switchover"
    assert ranked_ids("force_open")[0] == "breaker.force_open"


def test_word_starts_beat_letters_inside_words() -> None:
    # "sw" starts "Switch"; it is also inside no other title's word start.
    assert ranked_ids("sw")[0] == "db.switchover"
    # "ro": "read-only" word start beats the r…o scattered through "Reset the panel layout".
    assert ranked_ids("ro")[0] == "db.read_only"
    assert ranked_ids("ack")[0] == "alert.ack"


def test_query_words_may_come_in_any_order_but_all_must_match() -> None:
    assert ranked_ids("ov fail")[0] == "db.failover"
    assert ranked_ids("fail zebra") == []
    assert score("fail ov", "Switch over a database cluster") is None


def test_case_and_extra_spaces_do_not_matter() -> None:
    assert score("FAIL   OV", "Fail over a database cluster") == score(
        "fail ov", "Fail over a database cluster"
    )


def test_consecutive_letters_beat_scattered_ones() -> None:
    near = score("clus", "Focus Database clusters")
    far = score("clus", "Close a circuit, level unset")
    assert near is not None and far is not None and near > far


def test_empty_query_keeps_every_item_in_the_given_order() -> None:
    assert ranked_ids("") == list(TITLES)
    assert ranked_ids("   ") == list(TITLES)


def is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


words = st.text(alphabet="abcdefo .-_", min_size=0, max_size=12)


@given(query=words, text=st.text(alphabet="abcdefoABC .-_", min_size=0, max_size=30))
def test_matches_exactly_when_every_word_is_a_subsequence(query: str, text: str) -> None:
    expected = all(is_subsequence(w, text.casefold()) for w in query.casefold().split())
    assert (score(query, text) is not None) == expected


@given(query=words, text=st.text(alphabet="abcdefo .-_", min_size=1, max_size=30))
def test_a_longer_prefix_of_the_same_word_never_scores_lower(query: str, text: str) -> None:
    # Typing more of the text's own first word should never push it down.
    word = text.split()[0] if text.split() else ""
    if not word or len(word) < 2:
        return
    shorter, longer = score(word[:-1], text), score(word, text)
    assert shorter is not None and longer is not None
    assert longer >= shorter
