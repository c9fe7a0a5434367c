"""Tokens never print: masked repr, redacted logs and error texts."""

from __future__ import annotations

import logging

import pytest

from opsconsole.backends.errors import ApiError
from opsconsole.backends.secrets import RedactingFilter, Secret, redact


def test_secret_masks_itself() -> None:
    s = Secret("abc-123-very-secret")
    assert "abc-123" not in repr(s) and "abc-123" not in str(s) and "abc-123" not in f"{s}"
    assert s.reveal() == "abc-123-very-secret"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_empty_token_is_refused() -> None:
    with pytest.raises(ValueError):
        Secret("")


def test_redact_masks_known_tokens_and_any_bearer_header() -> None:
    Secret("known-token-zz9")
    text = "sent Authorization: Bearer other-token-1 and known-token-zz9 again"
    clean = redact(text)
    assert "other-token-1" not in clean and "known-token-zz9" not in clean
    assert clean.count("***") == 2


def test_filter_rewrites_messages_args_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    Secret("in-exception-tok")
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("header %s", "Bearer arg-token-77")
        try:
            raise RuntimeError("failed with in-exception-tok")
        except RuntimeError:
            logger.exception("boom")
    assert "arg-token-77" not in caplog.text
    assert "in-exception-tok" not in caplog.text
    assert "boom" in caplog.text


def test_api_error_is_plain_words_with_reasons() -> None:
    body = (
        b'{"error":{"code":"precondition_failed","message":"candidate not eligible",'
        b'"details":{"reasons":{"replica-1":"unhealthy","replica-3":"lagging 3.0 MiB"}}}}'
    )
    err = ApiError.from_response(412, body)
    assert err.code == "precondition_failed"
    assert str(err) == (
        "candidate not eligible — replica-1: unhealthy; replica-3: lagging 3.0 MiB (HTTP 412)"
    )


def test_api_error_without_a_contract_body_still_reads_well() -> None:
    assert str(ApiError.from_response(503, b"<html>bad gateway</html>")) == (
        "the backend is unavailable right now (HTTP 503)"
    )
