"""Config: [[slo]] tables and a prometheus backend's deploys query, problems by line and key."""

from __future__ import annotations

import pytest

from opsconsole.core.config import ConfigError, SloConfig, parse_config
from opsconsole.core.slo.model import Slo, SloWindow

PROM = '[[backend]]\nname = "prom"\nkind = "prometheus"\nurl = "http://h:9090"\n'


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    return [(p.line, p.key, p.message) for p in exc.value.problems]


def slo(*lines: str) -> str:
    """PROM (lines 1-4) then one [[slo]] on line 5 with `lines` from line 6."""
    return PROM + "\n".join(["[[slo]]", *lines]) + "\n"


def test_an_slo_goes_to_the_only_prometheus_backend() -> None:
    config = parse_config(slo('service = "orders"', "objective = 0.999", 'window = "30d"'))
    (found,) = config.slos
    assert found == SloConfig("orders", 0.999, SloWindow.rolling(30), "prom", line=5)
    assert found.slo == Slo("orders", 0.999, SloWindow.rolling(30))
    assert config.backends[0].slos == (found,)


def test_calendar_month_and_overrides() -> None:
    text = slo(
        'service = "orders"',
        "objective = 0.995",
        'window = "1M"',
        'backend = "prom"',
        """good = 'sum by ({service_label}) (increase(ok_total{{job="{service}"}}[{window}]))'""",
        "total = 'sum by ({service_label}) (increase(all_total[{window}]))'",
    )
    (found,) = parse_config(text).slos
    assert found.window == SloWindow.calendar_month()
    assert found.good is not None and "{service}" in found.good
    assert found.total is not None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("objective = 99.9", (8, "slo[1].objective", "99.9 looks like a percentage; write 0.999")),
        ("objective = 1.5", (8, "slo[1].objective", "1.5 looks like a percentage; write 0.015")),
        (
            "objective = 0",
            (8, "slo[1].objective", "0 must be between 0 and 1, e.g. 0.999 for 99.9 %"),
        ),
        (
            'objective = "high"',
            (8, "slo[1].objective", "expected a number such as 0.999, got a string"),
        ),
    ],
)
def test_objective_problems(line: str, expected: tuple[int, str, str]) -> None:
    assert problems(slo('service = "orders"', 'window = "30d"', line)) == [expected]


def test_window_problems_name_the_forms() -> None:
    ((line, key, message),) = problems(slo('service = "a"', "objective = 0.99", 'window = "1m"'))
    assert (line, key) == (8, "slo[1].window")
    assert "28d, 30d (rolling) or 1M (calendar month)" in message
    ((line, key, message),) = problems(slo('service = "a"', "objective = 0.99"))
    assert (line, key) == (5, "slo[1].window") and message.startswith("missing;")


def test_missing_keys_and_unknown_keys() -> None:
    found = problems(slo("objectiv = 0.9"))
    assert (6, "slo[1].objectiv", "unknown key 'objectiv' (did you mean 'objective'?)") in found
    keys = {key for _line, key, _message in found}
    assert {"slo[1].service", "slo[1].objective", "slo[1].window"} <= keys


def test_backend_must_be_a_prometheus_backend() -> None:
    ops = '[[backend]]\nname = "ops"\nkind = "opsapi"\nurl = "http://h:8080"\n'
    text = ops + slo('service = "a"', "objective = 0.99", 'window = "30d"', 'backend = "ops"')
    ((line, key, message),) = problems(text)
    assert (line, key) == (13, "slo[1].backend")
    assert "'ops' is a opsapi backend" in message and "reports its own SLOs" in message
    text = slo('service = "a"', "objective = 0.99", 'window = "30d"', 'backend = "prm"')
    assert problems(text) == [
        (9, "slo[1].backend", "'prm' is not the name of a [[backend]] (did you mean 'prom'?)")
    ]


def test_which_backend_when_there_are_none_or_several() -> None:
    alone = '[[slo]]\nservice = "a"\nobjective = 0.99\nwindow = "30d"\n'
    ((_line, key, message),) = problems(alone)
    assert key == "slo[1].backend" and "no prometheus backend" in message
    two = PROM + PROM.replace('"prom"', '"prom2"') + alone
    ((_line, key, message),) = problems(two)
    assert key == "slo[1].backend" and "several prometheus backends ('prom', 'prom2')" in message


def test_one_slo_per_service_and_backend() -> None:
    one = '[[slo]]\nservice = "a"\nobjective = 0.99\nwindow = "30d"\n'
    assert problems(PROM + one + one) == [
        (10, "slo[2].service", "'a' already has an SLO on 'prom' (slo[1])")
    ]


def test_query_templates_allow_only_their_placeholders() -> None:
    text = slo(
        'service = "a"', "objective = 0.99", 'window = "30d"', "good = 'x{{a=\"{quantile}\"}}'"
    )
    ((line, key, message),) = problems(text)
    assert (line, key) == (9, "slo[1].good")
    assert "unknown placeholder {quantile}" in message and "{service}" in message


def test_slo_must_be_an_array_of_tables() -> None:
    assert problems(PROM + '[slo]\nservice = "a"\n') == [
        (5, "slo", "write [[slo]] (an array of tables), not [slo]")
    ]


def test_deploys_query_on_a_prometheus_backend() -> None:
    text = PROM + "deploys = 'max by ({service_label}, version) (app_build_info)'\n"
    (backend,) = parse_config(text).backends
    assert backend.deploys == "max by ({service_label}, version) (app_build_info)"
    assert problems(PROM + "deploys = 'x[{window}]'\n")[0][:2] == (5, "backend[1].deploys")
    ops = '[[backend]]\nname = "ops"\nkind = "opsapi"\nurl = "http://h"\ndeploys = "x"\n'
    assert problems(ops) == [
        (
            5,
            "backend[1].deploys",
            "only prometheus backends take a deploys query (this one is 'opsapi')",
        )
    ]
