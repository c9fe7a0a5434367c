"""`opsconsole auth`: tokens go to the keyring from a prompt or a pipe, and are never printed."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backends import fail

from opsconsole.app import authcli
from opsconsole.app.authcli import auth_main
from opsconsole.backends.credentials import KEYRING_SERVICE
from tests.support.memkeyring import MemoryKeyring, PlaintextKeyring, installed

TOKEN = "tok-authcli-93f2a"
CONFIG = """\
[[backend]]
name = "prod-prom"
kind = "prometheus"
url = "https://prom.example:9090"
token_key = "prod"

[[backend]]
name = "am"
kind = "alertmanager"
url = "https://am.example:9093"
token_key = "am-key"

[[backend]]
name = "sim"
kind = "opsapi"
url = "http://127.0.0.1:8080"
"""


class TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every folder the console or keyring might write to, inside tmp_path/home."""
    root = tmp_path / "home"
    for var, sub in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(var, str(root / sub))
    for name in ("OPSCONSOLE_TOKEN_PROD_PROM", "OPSCONSOLE_TOKEN_AM", "OPSCONSOLE_TOKEN_SIM"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as ring:
        yield ring


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "given" / "config.toml"
    path.parent.mkdir()
    path.write_text(CONFIG, encoding="utf-8")
    return path


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def test_set_from_a_pipe_stores_the_token_and_never_prints_it(
    ring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{TOKEN}\nsecond line ignored\n"))
    with caplog.at_level(logging.DEBUG):
        assert auth_main(["set", "prod"]) == 0
    assert ring.entries == {(KEYRING_SERVICE, "prod"): TOKEN}
    out, err = capsys.readouterr()
    assert out == "stored token for prod in memkeyring MemoryKeyring\n"
    assert TOKEN not in out + err + caplog.text


def test_set_on_a_terminal_prompts_without_echo(
    ring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return TOKEN

    monkeypatch.setattr("sys.stdin", TtyInput(""))
    monkeypatch.setattr(authcli.getpass, "getpass", fake_getpass)
    assert auth_main(["set", "prod"]) == 0
    assert prompts == ["token for prod: "]
    assert ring.entries[(KEYRING_SERVICE, "prod")] == TOKEN
    assert TOKEN not in "".join(capsys.readouterr())


def test_an_empty_token_is_refused(
    ring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("   \n"))
    assert auth_main(["set", "prod"]) == 1
    assert ring.entries == {}
    assert "empty token refused" in capsys.readouterr().err


def test_set_without_a_keyring_says_so_names_the_env_var_and_writes_no_file(
    home: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    with installed(fail.Keyring()):
        assert auth_main(["set", "prod", "--config", str(config_file)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("opsconsole auth: no usable keyring: no keyring service was found")
    assert "no plaintext file is written" in err
    assert "set OPSCONSOLE_TOKEN_PROD_PROM in the environment" in err
    assert TOKEN not in err
    assert files_under(home) == []
    assert files_under(config_file.parent) == [config_file]


def test_set_without_a_keyring_or_config_still_names_the_env_var_pattern(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    with installed(fail.Keyring()):
        assert auth_main(["set", "prod"]) == 1
    err = capsys.readouterr().err
    assert "set OPSCONSOLE_TOKEN_<BACKEND> in the environment" in err
    assert files_under(home) == []


def test_a_plaintext_keyring_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    with installed(PlaintextKeyring()) as ring:
        assert auth_main(["set", "prod"]) == 1
    assert ring.entries == {}
    assert "unencrypted" in capsys.readouterr().err


def test_delete_removes_the_token(ring: MemoryKeyring, capsys: pytest.CaptureFixture[str]) -> None:
    ring.set_password(KEYRING_SERVICE, "prod", TOKEN)
    assert auth_main(["delete", "prod"]) == 0
    assert ring.entries == {}
    assert capsys.readouterr().out == "deleted token for prod from memkeyring MemoryKeyring\n"


def test_delete_of_a_missing_entry_says_so_and_fails(
    ring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert auth_main(["delete", "nope"]) == 1
    assert "no token stored for nope" in capsys.readouterr().err


def test_delete_without_a_keyring_fails_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    with installed(fail.Keyring()):
        assert auth_main(["delete", "prod"]) == 1
    assert "no usable keyring" in capsys.readouterr().err


def test_status_lists_backends_and_where_tokens_come_from(
    ring: MemoryKeyring,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ring.set_password(KEYRING_SERVICE, "prod", TOKEN)
    monkeypatch.setenv("OPSCONSOLE_TOKEN_AM", "tok-env-am-77")
    assert auth_main(["status", "--config", str(config_file)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "keyring: memkeyring MemoryKeyring"
    assert lines[1].split() == [
        "prod-prom",
        "prometheus",
        "token_key=prod",
        "token",
        "in",
        "the",
        "keyring",
    ]
    assert lines[2].split()[:3] == ["am", "alertmanager", "token_key=am-key"]
    assert lines[2].endswith("token from OPSCONSOLE_TOKEN_AM")
    assert lines[3].split() == ["sim", "opsapi", "token_key=(no", "token_key)", "no", "token"]
    assert err == ""
    assert TOKEN not in out and "tok-env-am-77" not in out


def test_status_without_a_keyring_warns_once_naming_env_vars(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with installed(fail.Keyring()):
        assert auth_main(["status", "--config", str(config_file)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("keyring: unusable (no keyring service was found")
    assert err.count("no usable keyring") == 1
    assert "OPSCONSOLE_TOKEN_PROD_PROM, OPSCONSOLE_TOKEN_AM" in err


def test_status_without_a_config_file(
    ring: MemoryKeyring, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert auth_main(["status"]) == 0
    expected = home / ".config" / "opsconsole" / "config.toml"
    assert capsys.readouterr().out == (
        f"keyring: memkeyring MemoryKeyring\nno config file at {expected}; no backends configured\n"
    )


def test_status_with_a_missing_or_broken_config_fails(
    ring: MemoryKeyring, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    assert auth_main(["status", "--config", str(missing)]) == 1
    assert f"{missing}: no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text('[[backend]]\nname = "a"\ntoken = "x"\n', encoding="utf-8")
    assert auth_main(["status", "--config", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:3: backend[1].token: tokens never go in the config file" in err


def test_usage_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        auth_main([])
    assert exc.value.code == 2
    assert "usage: opsconsole auth" in capsys.readouterr().err
