"""Bearer tokens that never print: a wrapper with a masked repr, and a log filter that redacts."""

from __future__ import annotations

import logging
import re
import threading

from opsconsole.core.urls import strip_credentials

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",;]+")
_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A token. `str()`/`repr()` show a mask; only `reveal()` gives the value, for one header."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("empty token")
        self._value = value
        with _lock:
            _known.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # never pickled into a crash report or a cache
        raise TypeError("a Secret cannot be pickled")


def redact(text: str) -> str:
    """Mask every known token and every `Bearer xyz` in a text; drop user:password@ from URLs."""
    text = strip_credentials(_BEARER.sub(r"\1***", text))
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, "***")
    return text


class RedactingFilter(logging.Filter):
    """Rewrites log records so that no token reaches a handler, whatever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):
                # The traceback would repeat the token; keep only the redacted summary.
                record.msg = f"{record.msg} ({type(exc).__name__}: {redact(str(exc))})"
                record.exc_info = None
                record.exc_text = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach the filter to a logger's handlers and to the loggers that see headers."""
    flt = RedactingFilter()
    root = logger or logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    # Logger-level filters catch records before propagation, even with handlers added later.
    for name in ("websockets", "websockets.client", "httpx", "httpcore", "opsconsole"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(flt)
    return flt
