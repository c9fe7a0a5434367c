"""Backend addresses: refused in plain words before anything connects; shown without passwords."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.uri import parse_uri

from opsconsole.core.urls import (
    UrlProblem,
    check_backend_url,
    strip_credentials,
    without_credentials,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("  https://ops.example:8443/base/ ", "https://ops.example:8443/base"),
        ("HTTP://Ops.Example", "HTTP://Ops.Example"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://prom_1.internal", "http://prom_1.internal"),
        ("http://xn--bcher-kva.example", "http://xn--bcher-kva.example"),
    ],
)
def test_usable_addresses_come_back_without_trailing_slash(raw: str, clean: str) -> None:
    assert check_backend_url(raw) == clean


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("http://h:99999", "the port must be a number from 1 to 65535"),
        ("http://h:0", "the port must be a number from 1 to 65535"),
        ("http://h:80x", "the port must be a number from 1 to 65535"),
        ("http://h\x00x:80", "contains a NUL byte"),
        ("http://h:80/a\x00b", "contains a NUL byte"),
        ("http://h\tx", "control characters"),  # urlsplit alone would quietly drop the tab
        ("http://h x", "contains a space"),
        ("http://h\u200bx", "ZERO WIDTH SPACE"),
        ("http://h\xa0x", "NO-BREAK SPACE"),
        ("http://bücher.example", "xn-- form"),
        ("http://h%41", "the host name may have only"),
        ("http://[zz]:80", "is not a URL"),
        ("ftp://h", "is not a URL"),
        ("prom:9090", "is not a URL"),
        ("http://h/?x=1", "?query or #fragment"),
        ("http://h#", "?query or #fragment"),
    ],
)
def test_unusable_addresses_say_why_in_plain_words(raw: str, words: str) -> None:
    with pytest.raises(UrlProblem) as err:
        check_backend_url(raw)
    assert words in str(err.value)
    assert not err.value.credentials


@pytest.mark.parametrize(
    "raw",
    [
        "http://alice:hunter2@ops.example",
        "http://hunter2@ops.example",
        "https://alice:hunter2@ops.example:99999",  # the credentials are the news, not the port
        "http://alice:hun@ter2@ops.example",
        "http://:hunter2@ops.example",
    ],
)
def test_credentials_are_refused_without_repeating_them(raw: str) -> None:
    with pytest.raises(UrlProblem) as err:
        check_backend_url(raw)
    assert err.value.credentials
    assert "hunter2" not in str(err.value) and "ter2" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:hunter2@ops.example:8080/x", "http://ops.example:8080/x"),
        ("http://alice:hun@ter2@ops.example", "http://ops.example"),
        ("https://ops.example/a@b", "https://ops.example/a@b"),  # an @ in the path is no password
        ("http://ops.example", "http://ops.example"),
        ("not a url", "not a url"),
    ],
)
def test_shown_urls_lose_their_credentials(url: str, shown: str) -> None:
    assert without_credentials(url) == shown


def test_credentials_are_stripped_from_every_url_in_a_text() -> None:
    text = "cannot reach http://a:hunter2@h:8080/x, then 'https://b:pw2@g' (mail ops@example.com)"
    assert strip_credentials(text) == (
        "cannot reach http://h:8080/x, then 'https://g' (mail ops@example.com)"
    )


URLISH = st.lists(
    st.sampled_from(
        [
            "http://",
            "https://",
            "ws://",
            "h",
            "ops.example",
            "[::1]",
            "[",
            "]",
            ":",
            "8080",
            "99999",
            "0",
            "@",
            "user",
            "/",
            "?",
            "#",
            "%",
            "%41",
            ".",
            "-",
            "_",
            " ",
            "\t",
            "\x00",
            "\x7f",
            "é",
            "\u200b",
            "\udcff",
        ]
    )
    | st.text(max_size=3),
    max_size=12,
).map("".join)


@settings(max_examples=800, deadline=None)
@given(URLISH)
def test_whatever_we_accept_the_connection_libraries_accept_too(raw: str) -> None:
    """A URL that passes the check never fails later, deep inside httpx or websockets."""
    try:
        url = check_backend_url(raw)
    except UrlProblem:
        return
    assert httpx.URL(url).userinfo == b""
    httpx.AsyncClient(base_url=url)
    assert parse_uri("ws" + url[4:]).username is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_characters="@/?#[]"), min_size=1, max_size=12),
    URLISH,
)
def test_a_password_never_appears_in_any_refusal(password: str, rest: str) -> None:
    for raw in (f"http://u:{password}@{rest}", f"http://u:{password}@h:{rest}"):
        try:
            check_backend_url(raw)
        except UrlProblem as exc:
            assert f"u:{password}" not in str(exc)
