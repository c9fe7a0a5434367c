"""Tokens in the OS keyring or the environment: stored, found, refused plaintext, never printed."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from keyring.backends import chainer, fail, null

from opsconsole.backends.credentials import (
    KEYRING_SERVICE,
    KeyringUnavailable,
    delete_token,
    get_token,
    keyring_name,
    keyring_problem,
    lookup_tokens,
    set_token,
    token_env_var,
)
from opsconsole.backends.secrets import Secret
from opsconsole.core.config import BackendConfig
from tests.support.memkeyring import (
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    installed,
    unregistered,
)

TOKEN = "tok-credentials-5d8e1"


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as ring:
        yield ring


def cfg(name: str, token_key: str | None = None) -> BackendConfig:
    return BackendConfig(name=name, kind="prometheus", url="http://h", token_key=token_key)


def test_set_get_delete_through_the_keyring(ring: MemoryKeyring) -> None:
    assert keyring_problem() is None
    assert keyring_name() == "memkeyring MemoryKeyring"
    assert get_token("prod") is None
    set_token("prod", TOKEN)
    assert ring.entries == {(KEYRING_SERVICE, "prod"): TOKEN}
    found = get_token("prod")
    assert isinstance(found, Secret) and found.reveal() == TOKEN
    assert TOKEN not in repr(found)
    assert delete_token("prod") is True
    assert ring.entries == {}
    assert delete_token("prod") is False


def test_empty_token_and_empty_key_are_refused(ring: MemoryKeyring) -> None:
    with pytest.raises(ValueError, match="empty token"):
        set_token("prod", "")
    with pytest.raises(ValueError, match="token_key"):
        set_token(" ", TOKEN)
    assert ring.entries == {}


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("prod-prom", "OPSCONSOLE_TOKEN_PROD_PROM"),
        ("sim.local_1", "OPSCONSOLE_TOKEN_SIM_LOCAL_1"),
        ("Am", "OPSCONSOLE_TOKEN_AM"),
    ],
)
def test_env_var_names(name: str, var: str) -> None:
    assert token_env_var(name) == var


def test_no_keyring_service_is_named_in_plain_words() -> None:
    with installed(fail.Keyring()):
        problem = keyring_problem()
        assert problem is not None and problem.startswith("no keyring service was found")
        with pytest.raises(KeyringUnavailable, match="no keyring service was found"):
            get_token("prod")
        with pytest.raises(KeyringUnavailable):
            set_token("prod", TOKEN)
        with pytest.raises(KeyringUnavailable):
            delete_token("prod")


def test_the_null_keyring_stores_nothing_and_is_refused() -> None:
    with installed(null.Keyring()):
        assert "does not store anything" in (keyring_problem() or "")


def test_a_chainer_without_backends_is_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    with installed(chainer.ChainerBackend()):
        assert (keyring_problem() or "").startswith("no keyring service was found")


def test_a_chainer_with_a_plaintext_member_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), PlaintextKeyring()])
    with installed(chainer.ChainerBackend()):
        assert "unencrypted" in (keyring_problem() or "")


def test_a_plaintext_backend_is_refused_and_never_written() -> None:
    with installed(PlaintextKeyring()) as ring:
        problem = keyring_problem()
        assert problem is not None
        assert "PlaintextKeyring stores secrets unencrypted in a file" in problem
        with pytest.raises(KeyringUnavailable, match="unencrypted"):
            set_token("prod", TOKEN)
        assert ring.entries == {}


def test_a_locked_keyring_says_so() -> None:
    with installed(LockedKeyring()), pytest.raises(KeyringUnavailable) as exc:
        get_token("prod")
    assert "locked" in str(exc.value) and "try again" in str(exc.value)


@unregistered
class LeakyKeyring(MemoryKeyring):
    """A backend that puts the password in its error, as careless ones do."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"D-Bus refused item with secret {password}")


def test_backend_errors_become_plain_words_without_the_token() -> None:
    with installed(LeakyKeyring()), pytest.raises(KeyringUnavailable) as exc:
        set_token("prod", TOKEN)
    assert "failed to store the token" in str(exc.value)
    assert TOKEN not in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_lookup_env_wins_then_keyring_then_none(
    ring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    set_token("both", "from-keyring-both")
    set_token("kr", "from-keyring-kr")
    env = {"OPSCONSOLE_TOKEN_BOTH": "from-env-both", "OPSCONSOLE_TOKEN_EMPTY": ""}
    backends = [cfg("both", "both"), cfg("kr", "kr"), cfg("missing", "gone"), cfg("empty")]
    with caplog.at_level(logging.DEBUG, logger="opsconsole"):
        found = lookup_tokens(backends, env)
    assert found.sources == {"both": "env", "kr": "keyring", "missing": "none", "empty": "none"}
    assert {k: v.reveal() for k, v in found.tokens.items()} == {
        "both": "from-env-both",
        "kr": "from-keyring-kr",
    }
    assert found.warning is None
    # A missing entry is noted for debugging, by name and never with a token.
    assert "backend missing: no token in the keyring under 'gone'" in caplog.text
    for token in ("from-env-both", "from-keyring-both", "from-keyring-kr"):
        assert token not in caplog.text


def test_without_a_keyring_one_warning_names_each_backends_env_var() -> None:
    backends = [cfg("prod-prom", "p"), cfg("am", "a"), cfg("env-only", "e"), cfg("plain")]
    with installed(fail.Keyring()):
        found = lookup_tokens(backends, {"OPSCONSOLE_TOKEN_ENV_ONLY": TOKEN})
    assert found.sources == {"prod-prom": "none", "am": "none", "env-only": "env", "plain": "none"}
    assert found.warning is not None
    assert found.warning.startswith("no usable keyring: no keyring service was found")
    assert "OPSCONSOLE_TOKEN_PROD_PROM, OPSCONSOLE_TOKEN_AM" in found.warning
    assert "Running without tokens for prod-prom, am." in found.warning
    assert "ENV_ONLY" not in found.warning and "PLAIN" not in found.warning
    assert "no plaintext file is written" in found.warning
    assert TOKEN not in found.warning


@unregistered
class CountingLockedKeyring(LockedKeyring):
    calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        type(self).calls += 1
        return super().get_password(service, username)


def test_after_one_keyring_failure_the_keyring_is_not_asked_again() -> None:
    with installed(CountingLockedKeyring()):
        found = lookup_tokens([cfg("a", "a"), cfg("b", "b"), cfg("c", "c")], {})
    assert CountingLockedKeyring.calls == 1
    assert found.warning is not None and "locked" in found.warning
    assert "OPSCONSOLE_TOKEN_A, OPSCONSOLE_TOKEN_B, OPSCONSOLE_TOKEN_C" in found.warning


def test_no_warning_when_nobody_needs_the_keyring() -> None:
    with installed(fail.Keyring()):
        found = lookup_tokens([cfg("a"), cfg("b", "b")], {"OPSCONSOLE_TOKEN_B": TOKEN})
    assert found.warning is None and found.sources == {"a": "none", "b": "env"}
