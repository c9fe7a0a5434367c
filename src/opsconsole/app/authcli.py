"""`opsconsole auth set|delete|status`: backend tokens in the OS keyring, never in a file."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from opsconsole.backends.credentials import (
    ENV_PREFIX,
    KeyringUnavailable,
    delete_token,
    keyring_name,
    keyring_problem,
    lookup_tokens,
    set_token,
    token_env_var,
)
from opsconsole.core.config import Config, ConfigError, load_config
from opsconsole.core.paths import CONFIG_FILE, config_dir


def default_config_path() -> Path:
    return config_dir() / CONFIG_FILE


def _err(message: str) -> None:
    print(f"opsconsole auth: {message}", file=sys.stderr)


def _try_config(path: Path | None) -> Config | None:
    """The config if it loads, for naming env vars in messages; None when it does not."""
    try:
        return load_config(path or default_config_path())
    except ConfigError:
        return None


def _env_hint(token_key: str, config_path: Path | None) -> str:
    """Which env vars stand in for the keyring entry `token_key`, by the backends using it."""
    config = _try_config(config_path)
    users = [b.name for b in config.backends if b.token_key == token_key] if config else []
    if users:
        env_vars = ", ".join(token_env_var(name) for name in users)
        return f"set {env_vars} in the environment"
    return (
        f"set {ENV_PREFIX}<BACKEND> in the environment (the backend's name in capitals, "
        "other characters as _)"
    )


def _no_keyring(problem: str, token_key: str, config_path: Path | None) -> int:
    _err(
        f"no usable keyring: {problem}.\n"
        f"Nothing was stored, and no plaintext file is written. To give a token for one run "
        f"instead, {_env_hint(token_key, config_path)}."
    )
    return 1


def _read_token(token_key: str) -> str:
    if sys.stdin.isatty():
        try:
            return getpass.getpass(f"token for {token_key}: ")
        except EOFError:  # Ctrl-D at the prompt: no token, refused like an empty one
            return ""
    # Piped: one line, so a script can `printf '%s\n' "$TOKEN" | opsconsole auth set NAME`.
    return sys.stdin.readline()


def _cmd_set(token_key: str, config_path: Path | None) -> int:
    problem = keyring_problem()
    if problem is not None:
        return _no_keyring(problem, token_key, config_path)
    token = _read_token(token_key).strip()
    if not token:
        _err(f"empty token refused; nothing stored for {token_key}")
        return 1
    try:
        set_token(token_key, token)
    except KeyringUnavailable as exc:
        return _no_keyring(str(exc), token_key, config_path)
    print(f"stored token for {token_key} in {keyring_name()}")
    return 0


def _cmd_delete(token_key: str, config_path: Path | None) -> int:
    try:
        deleted = delete_token(token_key)
    except KeyringUnavailable as exc:
        _err(f"no usable keyring: {exc}; nothing was deleted")
        return 1
    if not deleted:
        _err(f"no token stored for {token_key} in {keyring_name()}; nothing deleted")
        return 1
    print(f"deleted token for {token_key} from {keyring_name()}")
    return 0


def _cmd_status(config_path: Path | None) -> int:
    path = config_path or default_config_path()
    problem = keyring_problem()
    print(f"keyring: {keyring_name() if problem is None else f'unusable ({problem})'}")
    if config_path is None and not path.exists():
        print(f"no config file at {path}; no backends configured")
        return 0
    try:
        config = load_config(path)
    except ConfigError as exc:
        _err(f"the config file has problems:\n{exc}")
        return 1
    if not config.backends:
        print(f"{path}: no backends configured")
        return 0
    lookup = lookup_tokens(config.backends)
    width = max(len(b.name) for b in config.backends)
    for backend in config.backends:
        source = lookup.sources[backend.name]
        found = {
            "env": f"token from {token_env_var(backend.name)}",
            "keyring": "token in the keyring",
        }.get(source, "no token")
        key = backend.token_key or "(no token_key)"
        print(f"{backend.name:<{width}}  {backend.kind:<12}  token_key={key}  {found}")
    if lookup.warning:
        print(lookup.warning, file=sys.stderr)
    return 0


def auth_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="opsconsole auth",
        description="Backend tokens in the OS keyring (never in the config file).",
    )
    config_help = f"the config file (default: {default_config_path()})"
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "set", help="store a token (prompted on a terminal, else one line from stdin)"
    )
    s.add_argument("name", help="the keyring entry, as in token_key = NAME")
    d = sub.add_parser("delete", help="remove a stored token")
    d.add_argument("name", help="the keyring entry, as in token_key = NAME")
    st = sub.add_parser("status", help="each backend's token_key and where its token comes from")
    for parser in (s, d, st):
        parser.add_argument("--config", type=Path, default=None, metavar="PATH", help=config_help)
    args = p.parse_args(argv)
    if args.command == "set":
        return _cmd_set(args.name, args.config)
    if args.command == "delete":
        return _cmd_delete(args.name, args.config)
    return _cmd_status(args.config)
