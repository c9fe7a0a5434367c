"""In-memory keyring backends for tests, installed through keyring's own API and then restored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

Ring = TypeVar("Ring", bound=KeyringBackend)


def unregistered(cls: type[Ring]) -> type[Ring]:
    """Class decorator: keep a test backend out of keyring's automatic choice.

    keyring registers every backend class when it is defined, and the first
    `keyring.get_keyring()` in the process picks the highest priority among them: a test double
    defined at collection time would become every test's default keyring. Use this on each one.
    """
    KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls


@unregistered
class MemoryKeyring(KeyringBackend):
    """A working keyring that keeps entries in a dict: what a real OS keyring does, minus the OS."""

    priority = 5.0  # type: ignore[assignment]  # a plain number is what keyring reads

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


@unregistered
class PlaintextKeyring(MemoryKeyring):
    """Stands for keyrings.alt's PlaintextKeyring: refused by the "plaintext" in its class name."""


@unregistered
class LockedKeyring(MemoryKeyring):
    """A keyring whose every call fails as a locked Secret Service collection does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("collection is locked")


@contextmanager
def installed(ring: Ring) -> Iterator[Ring]:
    """Make `ring` the active keyring for the block, then put the previous one back."""
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)
