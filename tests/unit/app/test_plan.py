"""What the console connects to: --demo, --url, --config or the default file."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole.app.backends import (
    ADAPTERS,
    describe,
    make_client,
    name_for_url,
    plan_from_args,
    plan_from_choice,
    remember_choice,
)
from opsconsole.app.cli import parse_args
from opsconsole.core.config import BACKEND_KINDS, BackendConfig, ConfigError

GOOD = """\
[[backend]]
name = "prom"
kind = "prometheus"
url = "http://127.0.0.1:9090"
step = "5s"

[[backend]]
name = "am"
kind = "alertmanager"
url = "https://am.example:9093"
verify_tls = false
"""


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "opsconsole" / "config.toml"


def test_no_file_and_no_flags_is_the_demo_after_the_first_run_question() -> None:
    plan = plan_from_args(parse_args([]))
    assert plan.demo and plan.backends == () and plan.first_run
    assert not plan_from_args(parse_args(["--demo"])).first_run


@pytest.mark.parametrize(
    ("kind", "url"),
    [("demo", None), ("opsapi", "http://127.0.0.1:8080/"), ("prometheus", "https://p.example")],
)
def test_a_remembered_first_run_choice_is_a_valid_config(kind, url, xdg: Path) -> None:
    remember_choice(kind, url, xdg)
    plan = plan_from_args(parse_args([]))
    assert not plan.first_run, "asked once, not at every start"
    chosen = plan_from_choice(kind, url, xdg)  # what this first start ran
    assert [(b.name, b.kind, b.url) for b in plan.backends] == [
        (b.name, b.kind, b.url) for b in chosen.backends
    ]
    assert plan.demo == (kind == "demo")
    if url:
        (backend,) = plan.backends
        assert (backend.kind, backend.url) == (kind, url.rstrip("/"))


def test_remembering_never_overwrites_a_config(xdg: Path) -> None:
    xdg.parent.mkdir(parents=True)
    xdg.write_text(GOOD)
    with pytest.raises(FileExistsError):
        remember_choice("demo", None, xdg)
    assert xdg.read_text() == GOOD


def test_the_default_file_runs_its_backends(xdg: Path) -> None:
    xdg.parent.mkdir(parents=True)
    xdg.write_text(GOOD)
    plan = plan_from_args(parse_args([]))
    assert not plan.demo
    assert [(b.name, b.kind) for b in plan.backends] == [
        ("prom", "prometheus"),
        ("am", "alertmanager"),
    ]
    assert plan.config_path == xdg


def test_demo_and_url_win_over_the_file(xdg: Path) -> None:
    xdg.parent.mkdir(parents=True)
    xdg.write_text(GOOD)
    assert plan_from_args(parse_args(["--demo"])).demo
    plan = plan_from_args(parse_args(["--url", "http://127.0.0.1:8080/", "--no-verify-tls"]))
    (only,) = plan.backends
    assert (only.kind, only.url, only.verify_tls) == ("opsapi", "http://127.0.0.1:8080", False)
    assert plan.config_path == xdg  # its [keys] still apply


def test_a_broken_file_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace('kind = "alertmanager"', 'kind = "grafana"'))
    with pytest.raises(ConfigError) as err:
        plan_from_args(parse_args(["--config", str(path)]))
    assert f"{path}:9" in str(err.value)
    assert "kind" in str(err.value)


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        plan_from_args(parse_args(["--config", str(tmp_path / "nope.toml")]))


def test_described_backends_carry_tls_trust_and_abilities(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    prom, am = plan_from_args(parse_args(["--config", str(path)])).backends
    assert not describe(prom).insecure and describe(am).insecure
    assert not describe(prom).can("alert.ack")
    assert describe(am).can("alert.ack") and not describe(am).can("db.failover")
    assert set(ADAPTERS) == {"opsapi", "prometheus", "alertmanager", "patroni"}


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://ops.prod.example:8443/", "ops.prod.example"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://localhost:9000/api", "localhost:9000"),
        ("http://[::1]:8080", "::1:8080"),
        ("http://ops.example", "ops.example"),
    ],
)
def test_a_backend_given_by_url_is_named_by_its_host(url: str, name: str, xdg: Path) -> None:
    (only,) = plan_from_args(parse_args(["--url", url])).backends
    assert only.name == name
    assert only.from_url
    assert name_for_url("https://alice:hunter2@ops.example") == "ops.example"


def test_a_remembered_url_choice_keeps_its_host_name(xdg: Path) -> None:
    remember_choice("opsapi", "http://127.0.0.1:8080/", xdg)
    (backend,) = plan_from_args(parse_args([])).backends
    assert backend.name == "127.0.0.1:8080"
    assert not backend.from_url  # read from the file: its token comes from the keyring


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:hunter2@ops.example",
        "https://hunter2@127.0.0.1:8080",
        "http://a:hunter2@h:99999",
    ],
)
def test_a_url_with_credentials_is_refused_without_repeating_them(url: str, xdg: Path) -> None:
    with pytest.raises(ConfigError) as err:
        plan_from_args(parse_args(["--url", url]))
    (problem,) = err.value.problems
    assert (problem.path, problem.line, problem.key) == (None, None, "--url")
    assert problem.message == (
        "credentials in the URL are not accepted; use --token-env VAR or `opsconsole auth set NAME`"
    )
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
        ("http://h\x01:80", "control characters"),
        ("http://h:80/\x00", "contains a NUL byte"),
        ("ftp://h", "is not a URL"),
        ("", "empty"),
    ],
)
def test_an_unusable_url_is_an_error_naming_the_option(url: str, words: str, xdg: Path) -> None:
    with pytest.raises(ConfigError) as err:
        plan_from_args(parse_args(["--url", url]))
    assert str(err.value).startswith("--url: ")
    assert words in str(err.value)


@pytest.mark.parametrize("text", ["", "# nothing here yet\n", '[keys]\n"app.quit" = "Ctrl+Q"\n'])
def test_a_config_file_given_without_backends_is_an_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        plan_from_args(parse_args(["--config", str(path)]))
    assert str(err.value).startswith(f"{path}: no [[backend]] tables")


def test_an_explicit_demo_file_starts_the_demo(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text("demo = true\n")
    plan = plan_from_args(parse_args(["--config", str(path)]))
    assert plan.demo and not plan.first_run and plan.config_path == path


def test_a_comment_only_default_file_still_starts_the_demo(xdg: Path) -> None:
    """What the first-run choice wrote for the demo before it wrote `demo = true`."""
    xdg.parent.mkdir(parents=True)
    xdg.write_text(
        "# Written by the first-run choice: the built-in demo backend.\n"
        "# Add [[backend]] tables to watch real systems (see the README).\n"
    )
    plan = plan_from_args(parse_args([]))
    assert plan.demo and not plan.first_run


def test_the_remembered_demo_says_so_in_the_file(xdg: Path) -> None:
    remember_choice("demo", None, xdg)
    assert "demo = true" in xdg.read_text()
    plan = plan_from_args(parse_args(["--config", str(xdg)]))  # also when named explicitly
    assert plan.demo


def test_a_broken_file_given_with_demo_or_url_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    for flag in (["--demo"], ["--url", "http://127.0.0.1:8080"], []):
        with pytest.raises(ConfigError) as err:
            plan_from_args(parse_args([*flag, "--config", str(path)]))
        assert str(err.value) == f"{path}:1: " + (
            "nesting too deep: arrays or tables are nested inside each other too often"
        )


def test_described_urls_never_carry_credentials() -> None:
    cfg = BackendConfig(name="ops", kind="opsapi", url="http://alice:hunter2@ops.example:8080")
    assert describe(cfg).url == "http://ops.example:8080"


def test_a_kind_can_do_what_its_adapter_performs() -> None:
    """The described abilities are the adapters' own: an Ops API backend every action but
    the silences (which live in Alertmanager) and maintenance mode (Patroni's), Alertmanager
    ack/silence/expire, Prometheus nothing, Patroni the database actions."""
    from opsconsole.core.actions import ACTIONS

    def can(kind: str) -> frozenset[str]:
        cfg = BackendConfig(name=kind, kind=kind, url="http://127.0.0.1:1")
        return describe(cfg).actions

    silences = {"alert.silence", "silence.expire"}
    maintenance = {"db.pause", "db.resume"}  # Patroni's own notion
    assert can("opsapi") == set(ACTIONS) - silences - maintenance
    assert can("alertmanager") == {"alert.ack", *silences}
    assert can("prometheus") == frozenset()
    assert can("patroni") == {"db.switchover", "db.failover", "db.read_only", *maintenance}


def test_every_config_kind_has_an_adapter_built_from_its_own_table() -> None:
    # Adding a backend kind: its config keys, one adapter class with `from_config`, one entry
    # in ADAPTERS. No other ladder on the kind decides which client a table becomes.
    assert set(ADAPTERS) == set(BACKEND_KINDS)
    events: list[object] = []
    for kind in BACKEND_KINDS:
        cfg = BackendConfig(name=f"b-{kind}", kind=kind, url="http://127.0.0.1:9", verify_tls=False)
        client = make_client(cfg, events.append, None)
        assert type(client) is ADAPTERS[kind]
        assert client.name == f"b-{kind}"
    assert events == []  # built, not started: nothing reaches the store yet
