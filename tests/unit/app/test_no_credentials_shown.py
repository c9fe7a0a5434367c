"""A password in a backend address never reaches a log line or the self-test's report."""

from __future__ import annotations

import logging

import pytest

from opsconsole.app.selftest import _describe
from opsconsole.backends.secrets import RedactingFilter, redact
from opsconsole.core.events import BackendDescribed, ConnectionChanged
from opsconsole.core.models import BackendInfo, ConnectionState, LinkStatus
from opsconsole.core.store import Store


def test_redact_drops_credentials_from_urls_in_any_text() -> None:
    text = "GET http://alice:hunter2@ops.example:8080/v1/x failed; mail ops@example.com"
    clean = redact(text)
    assert "hunter2" not in clean and "alice" not in clean
    assert clean.startswith("GET http://") and "@example.com" in clean  # a mail address stays


def test_log_lines_lose_url_credentials(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.url_redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.url_redaction"):
        logger.info("connecting to %s", "https://bob:pa55word@prom.example")
        try:
            raise ConnectionError("refused by http://bob:pa55word@prom.example")
        except ConnectionError:
            logger.exception("link failed")
    assert "pa55word" not in caplog.text and "bob" not in caplog.text
    # Not the whole host: tokens other tests made (short ones, like "t") are masked too.
    assert "connecting to https://" in caplog.text and "link failed" in caplog.text


def test_the_self_test_reason_shows_the_address_without_credentials() -> None:
    store = Store(capacity=60)
    info = BackendInfo("ops", "opsapi", "http://alice:hunter2@ops.example:8080")
    store.apply(BackendDescribed("ops", info))
    store.apply(ConnectionChanged("ops", LinkStatus(ConnectionState.RECONNECTING)))
    reason = _describe(store, "ops")
    assert reason.startswith("backend ops (http://ops.example:8080) is reconnecting")
    assert "hunter2" not in reason and "alice" not in reason
