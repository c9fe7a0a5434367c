"""Backend tokens from the OS keyring or the environment; never from or to a plaintext file."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from opsconsole.backends.secrets import Secret, redact
from opsconsole.core.config import BackendConfig

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# `keyring` is imported where it is used: its import (entry-point discovery) costs ~0.14 s,
# which a console whose backends need no token should not pay at every start.

KEYRING_SERVICE = "opsconsole"
ENV_PREFIX = "OPSCONSOLE_TOKEN_"
# A backend counts as plaintext when its class, or any base class, has one of these in its
# name (keyrings.alt's PlaintextKeyring in `file` and `pyfs`, and anything derived from them).
# That is the marker: name a test double "PlaintextKeyring" to exercise the refusal.
PLAINTEXT_MARKERS = ("plaintext", "unencrypted", "insecure")

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_NO_SERVICE = (
    "no keyring service was found (Secret Service such as GNOME Keyring or KWallet on Linux, "
    "Keychain on macOS, Credential Locker on Windows)"
)


class KeyringUnavailable(Exception):
    """The OS keyring cannot be used; the message says why in plain words (never a token)."""


def _class_name(ring: KeyringBackend) -> str:
    try:
        return str(type(ring).name)
    except Exception:  # a third-party backend's name property may itself fail
        return type(ring).__name__


def _is_plaintext(ring: KeyringBackend) -> bool:
    names = (cls.__name__.casefold() for cls in type(ring).__mro__)
    return any(marker in name for name in names for marker in PLAINTEXT_MARKERS)


def _single_problem(ring: KeyringBackend) -> str | None:
    from keyring.backends import fail

    if isinstance(ring, fail.Keyring):
        return _NO_SERVICE
    if _is_plaintext(ring):
        return (
            f"the keyring backend {_class_name(ring)} stores secrets unencrypted in a file, "
            "which opsconsole refuses; install a real keyring service or remove keyrings.alt"
        )
    try:
        priority = float(type(ring).priority)
    except Exception as exc:  # keyring's way of saying "not on this system"
        return f"the keyring backend {_class_name(ring)} is not usable here ({redact(str(exc))})"
    if priority <= 0:
        return f"the keyring backend {_class_name(ring)} does not store anything"
    return None


def _ring_problem(ring: KeyringBackend) -> str | None:
    from keyring.backends import chainer

    if isinstance(ring, chainer.ChainerBackend):
        backends = list(type(ring).backends)
        if not backends:
            return _NO_SERVICE
        # Writes go to the first backend that takes them: one plaintext member is enough to
        # end up with a token in a file, so any one of them makes the chain unusable.
        for member in backends:
            if (why := _single_problem(member)) is not None:
                return why
        return None
    return _single_problem(ring)


def keyring_problem() -> str | None:
    """None when a usable (encrypted, working) keyring backend is active; else why not."""
    import keyring

    try:
        ring = keyring.get_keyring()
    except Exception as exc:  # keyring's own start-up can fail, e.g. on a broken D-Bus
        return f"the keyring could not start ({type(exc).__name__}: {redact(str(exc))})"
    return _ring_problem(ring)


def keyring_name() -> str:
    """The active keyring backend's display name, e.g. "SecretService Keyring"."""
    import keyring
    from keyring.backends import chainer

    ring = keyring.get_keyring()
    if isinstance(ring, chainer.ChainerBackend):
        return " + ".join(_class_name(member) for member in type(ring).backends)
    return _class_name(ring)


def _usable() -> None:
    problem = keyring_problem()
    if problem is not None:
        raise KeyringUnavailable(problem)


def _call(action: str, fn: Callable[[], _T]) -> _T:
    """Run one keyring call; its failures become KeyringUnavailable with plain words."""
    import keyring
    import keyring.errors

    try:
        return fn()
    except keyring.errors.KeyringLocked:
        raise KeyringUnavailable(
            f"the keyring is locked, so opsconsole could not {action}; unlock it "
            "(log in to the desktop session) and try again"
        ) from None
    # Backends leak their own exception types (secretstorage, D-Bus, pywin32), not only
    # KeyringError, and any of them means the same to the operator. `from None`: the original
    # traceback could carry the token through an exception's arguments.
    except Exception as exc:
        raise KeyringUnavailable(
            f"the keyring ({_class_name(keyring.get_keyring())}) failed to {action}: "
            f"{type(exc).__name__}: {redact(str(exc))}"
        ) from None


def _check_key(token_key: str) -> None:
    if not token_key or not token_key.strip():
        raise ValueError("the keyring entry name (token_key) is empty")


def get_token(token_key: str) -> Secret | None:
    """The token stored under `token_key`, or None when there is none."""
    import keyring

    _check_key(token_key)
    _usable()
    value = _call("read the token", lambda: keyring.get_password(KEYRING_SERVICE, token_key))
    return Secret(value) if value else None


def set_token(token_key: str, token: str) -> None:
    """Store (or replace) the token under `token_key` in the OS keyring."""
    import keyring

    _check_key(token_key)
    if not token:
        raise ValueError("an empty token is refused")
    # Known to the log redaction before the backend sees it, in case the backend logs it.
    secret = Secret(token)
    _usable()
    _call(
        "store the token",
        lambda: keyring.set_password(KEYRING_SERVICE, token_key, secret.reveal()),
    )


def delete_token(token_key: str) -> bool:
    """Remove the token under `token_key`; False when there was none."""
    import keyring

    _check_key(token_key)
    _usable()
    # Asked first because backends differ in what a missing entry raises on delete.
    existing = _call("read the token", lambda: keyring.get_password(KEYRING_SERVICE, token_key))
    if existing is None:
        return False
    _call("delete the token", lambda: keyring.delete_password(KEYRING_SERVICE, token_key))
    return True


def token_env_var(backend_name: str) -> str:
    """The environment variable that gives a backend's token for one run."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", backend_name.upper())


@dataclass(frozen=True)
class TokenLookup:
    """Where each backend's token came from, and one warning for the run if the keyring failed."""

    tokens: Mapping[str, Secret] = field(hash=False)  # backend name → token, when it has one
    sources: Mapping[str, str] = field(hash=False)  # backend name → "env" | "keyring" | "none"
    warning: str | None = None


def lookup_tokens(
    backends: Iterable[BackendConfig], environ: Mapping[str, str] = os.environ
) -> TokenLookup:
    """Find each backend's token: its env var first (this run only), then the keyring."""
    tokens: dict[str, Secret] = {}
    sources: dict[str, str] = {}
    missed: list[BackendConfig] = []  # needed the keyring but could not use it
    problem: str | None = None  # set once; the keyring is not asked again after a failure
    for backend in backends:
        from_env = environ.get(token_env_var(backend.name), "")
        if from_env:
            tokens[backend.name] = Secret(from_env)
            sources[backend.name] = "env"
            continue
        sources[backend.name] = "none"
        if backend.token_key is None:
            continue
        if problem is None:
            try:
                secret = get_token(backend.token_key)
            except KeyringUnavailable as exc:
                problem = str(exc)
            else:
                if secret is None:
                    log.debug(
                        "backend %s: no token in the keyring under %r "
                        "(store one with `opsconsole auth set %s`)",
                        backend.name,
                        backend.token_key,
                        backend.token_key,
                    )
                else:
                    tokens[backend.name] = secret
                    sources[backend.name] = "keyring"
                continue
        missed.append(backend)

    warning = None
    if missed:
        names = ", ".join(b.name for b in missed)
        env_vars = ", ".join(token_env_var(b.name) for b in missed)
        warning = (
            f"no usable keyring: {problem}. Running without tokens for {names}. "
            f"To give a token for this run, set {env_vars} in the environment; "
            "no plaintext file is written."
        )
    return TokenLookup(MappingProxyType(tokens), MappingProxyType(sources), warning)
