"""Backend addresses: checked before anything connects, and shown without credentials."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

# A host name as DNS and our HTTP and WebSocket libraries all take it. International names are
# written in their xn-- form: the libraries disagree on which Unicode names they accept.
# An IPv6 literal in brackets is the one other form of host.
_HOST_PORT = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?", re.ASCII)
# scheme://userinfo@ : the userinfo runs to the last "@" before the path, query or fragment.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
# The same inside free text (a log line, an error message): a URL ends at whitespace or a quote.
_USERINFO_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#'\"<>]*@")

PORT_MESSAGE = "the port must be a number from 1 to 65535"


class UrlProblem(ValueError):
    """Why a backend address cannot be used, in plain words that never repeat a password."""

    def __init__(self, message: str, *, credentials: bool = False) -> None:
        super().__init__(message)
        self.credentials = credentials  # user:password@ in the address: the caller says where


def without_credentials(url: str) -> str:
    """`url` with any user:password@ removed; any text is accepted and nothing raises."""
    return _USERINFO.sub(r"\1", url)


def strip_credentials(text: str) -> str:
    """Free text with the user:password@ of every URL in it removed (log lines, messages)."""
    return _USERINFO_IN_TEXT.sub(r"\1", text)


def _shown(raw: str) -> str:
    """The address quoted for a message; never a form that could still hold a password."""
    clean = without_credentials(raw)
    return repr(clean) if "@" not in clean else "the URL"


def _invisible(ch: str) -> bool:
    # Control, format, surrogate, unassigned and space characters: none belongs in a URL,
    # and a NUL or a tab would be refused only later, deep in the connection code.
    return unicodedata.category(ch)[0] in "CZ"


def check_backend_url(raw: str) -> str:
    """The address without trailing slash, or `UrlProblem` saying what to write instead."""
    text = raw.strip()
    if not text:
        raise UrlProblem("empty; write e.g. https://prometheus.example:9090")
    if without_credentials(text) != text:  # first: whatever else is wrong, this matters most
        raise UrlProblem("credentials in the URL are not accepted", credentials=True)
    bad = next((ch for ch in text if _invisible(ch)), None)
    if bad is not None:
        name = unicodedata.name(bad, "") or f"U+{ord(bad):04X}"
        if bad == "\0":
            name = "a NUL byte"
        elif bad == " ":
            name = "a space"
        raise UrlProblem(
            f"{_shown(text)} contains {name} ({bad!r}) at position {text.index(bad) + 1}; "
            "a URL has no spaces or control characters"
        )
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        why = PORT_MESSAGE if "port" in str(exc).casefold() else str(exc)
        raise UrlProblem(f"{_shown(text)} is not a URL: {why}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UrlProblem(f"{_shown(text)} is not a URL; write e.g. https://prometheus.example:9090")
    if "@" in parts.netloc:  # e.g. "http:/u:pw@h", a userinfo the pattern above did not see
        raise UrlProblem("credentials in the URL are not accepted", credentials=True)
    if port == 0:
        raise UrlProblem(f"{_shown(text)}: {PORT_MESSAGE}")
    if not _HOST_PORT.fullmatch(parts.netloc):
        raise UrlProblem(
            f"{_shown(text)}: the host name may have only letters, digits, '.', '-' and '_' "
            "(write an international name in its xn-- form)"
        )
    if "?" in text or "#" in text:
        raise UrlProblem(f"{_shown(text)}: the URL must not have a ?query or #fragment")
    return text.rstrip("/")
