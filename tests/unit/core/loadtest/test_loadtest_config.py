"""`[[loadtest]]` in the config file: the issue's example, defaults, every problem by line."""

from __future__ import annotations

import pytest

from opsconsole.core.config import ConfigError, parse_config
from opsconsole.core.loadtest.spec import Criterion, Guards

BACKEND = '[[backend]]\nname = "sim"\nkind = "opsapi"\nurl = "http://127.0.0.1:8000"\n\n'
ISSUE_EXAMPLE = """[[loadtest]]
name = "checkout"
tool = "locust"
url = "http://127.0.0.1:8089"
services = ["orders", "payments"]
countdown = "10s"
[loadtest.success]
p50_ms = 200
p95_ms = 500
p99_ms = 1000
min_rps = 1000
max_error_ratio = 0.001
max_cpu = 0.80
max_memory = 0.85
[[loadtest.stop]]
signal = "error_ratio"
above = 0.01
over = "1m"
for = "2m"
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [(p.line, p.key, p.message) for p in caught.value.problems]


def test_the_issue_example_reads_as_written() -> None:
    config = parse_config(BACKEND + ISSUE_EXAMPLE)
    (test,) = config.loadtests
    assert (test.name, test.tool, test.url, test.services) == (
        "checkout",
        "locust",
        "http://127.0.0.1:8089",
        ("orders", "payments"),
    )
    assert (test.backend, test.countdown_s, test.warmup_s, test.line) == (None, 10.0, 0.0, 6)
    assert test.guards == Guards(True, True, True)
    assert [c.key for c in test.success] == [
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "min_rps",
        "max_error_ratio",
        "max_cpu",
        "max_memory",
    ]
    assert test.success[3] == Criterion("min_rps", "rps", 1000.0, False, 60.0, 60.0, "success")
    assert [c.label for c in test.success] == [
        "p50 ≤ 200 ms",
        "p95 ≤ 500 ms",
        "p99 ≤ 1,000 ms",
        "throughput ≥ 1,000 rps",
        "error rate ≤ 0.1 %",
        "CPU ≤ 80 %",
        "memory ≤ 85 %",
    ]
    (errors,) = test.stops
    assert errors == Criterion(
        "stop:error_ratio>0.01/2m", "error_ratio", 0.01, True, 60.0, 120.0, "stop"
    )
    assert errors.label == "error rate > 1 % for 2 min (stop)"
    assert test.windows == (60.0,)


def test_the_optional_keys_and_their_defaults() -> None:
    text = BACKEND + (
        '[[loadtest]]\nname = "a"\ntool = "k6"\nurl = "http://127.0.0.1:6565/"\n'
        'services = ["orders"]\nbackend = "sim"\nwarmup = "30s"\ncountdown = "0s"\n'
        '[loadtest.success]\np95_ms = 500\nover = "30s"\nfor = "0s"\n'
        '[[loadtest.stop]]\nsignal = "db_pool"\nabove = 0.95\n'
        '[[loadtest.stop]]\nsignal = "p99_ms"\nabove = 5000\nover = "2m"\nfor = "5m"\n'
        "[loadtest.guards]\ndb_lag = false\n"
    )
    (test,) = parse_config(text).loadtests
    assert (test.url, test.backend, test.warmup_s, test.countdown_s) == (
        "http://127.0.0.1:6565",
        "sim",
        30.0,
        0.0,
    )
    assert (test.success[0].over_s, test.success[0].for_s) == (30.0, 0.0)
    pool, p99 = test.stops
    assert (pool.key, pool.over_s, pool.for_s, pool.label) == (
        "stop:db_pool>0.95/0s",
        60.0,
        0.0,
        "database pool > 95 % (stop)",
    )
    assert (p99.key, p99.signal, p99.over_s, p99.for_s) == (
        "stop:p99_ms>5000/5m@2m",
        "latency_p99_ms",
        120.0,
        300.0,
    )
    assert test.guards == Guards(budget_page=True, breaker_open=True, db_lag=False)
    assert test.windows == (30.0, 60.0, 120.0)
    assert parse_config(BACKEND).loadtests == ()


def test_every_problem_is_named_with_its_line_all_at_once() -> None:
    text = BACKEND + (
        "[[loadtest]]\n"  # 6
        'name = "checkout"\n'  # 7
        'tool = "locsut"\n'  # 8
        'url = "ftp://host"\n'  # 9
        "services = []\n"  # 10
        'backend = "simm"\n'  # 11
        'countdown = "soon"\n'  # 12
        "warmup = -5\n"  # 13
        "sevrices = 1\n"  # 14
        "[loadtest.success]\n"  # 15
        "p59_ms = 500\n"  # 16
        'p95_ms = "fast"\n'  # 17
        "max_cpu = 80\n"  # 18
        "min_rps = -1\n"  # 19
        "max_error_ratio = nan\n"  # 20
        'over = "0s"\n'  # 21
        "[[loadtest.stop]]\n"  # 22
        'signal = "error_rate"\n'  # 23
        "above = 0.01\n"  # 24
        "[[loadtest.stop]]\n"  # 25
        'signal = "cpu"\n'  # 26
        "[[loadtest.stop]]\n"  # 27
        'signal = "memory"\n'  # 28
        "above = 1.5\n"  # 29
        'for = "2 minutes"\n'  # 30
        "[loadtest.guards]\n"  # 31
        'breaker_open = "yes"\n'  # 32
        "budget = true\n"  # 33
        "[[loadtest]]\n"  # 34
        'name = "checkout"\n'  # 35
        'services = ["orders", "orders"]\n'  # 36
    )
    found = problems(text)
    by_key = {key: (line, message) for line, key, message in found}
    expected = {
        "loadtest[1].tool": (
            8,
            "'locsut' is not a load tool; use locust or k6 (did you mean 'locust'?)",
        ),
        "loadtest[1].services": (10, "is empty; name at least one service under test"),
        "loadtest[1].backend": (
            11,
            "'simm' is not the name of a [[backend]] (did you mean 'sim'?)",
        ),
        "loadtest[1].countdown": (12, "'soon' is not a duration; write e.g. 15s, 5m, 1h30m"),
        "loadtest[1].warmup": (13, "-5 must be at least 0s"),
        "loadtest[1].sevrices": (14, "unknown key 'sevrices' (did you mean 'services'?)"),
        "loadtest[1].success.p59_ms": (16, "unknown key 'p59_ms' (did you mean 'p99_ms'?)"),
        "loadtest[1].success.p95_ms": (17, "expected a number, got a string"),
        "loadtest[1].success.max_cpu": (
            18,
            "80 is a ratio and must be at most 1; write 0.8 for 80 %",
        ),
        "loadtest[1].success.min_rps": (19, "-1 is negative; a limit is 0 or more"),
        "loadtest[1].success.max_error_ratio": (
            20,
            "nan is not a usable limit; write a finite number",
        ),
        "loadtest[1].success.over": (21, "'0s' must be at least 1s"),
        "loadtest[1].stop[1].signal": (
            23,
            "'error_rate' is not a signal; use error_ratio | p50_ms | p95_ms | p99_ms | cpu | "
            "memory | db_pool (did you mean 'error_ratio'?)",
        ),
        "loadtest[1].stop[2].above": (
            25,
            "missing; write e.g. above = 0.01 (the limit it must stay under)",
        ),
        "loadtest[1].stop[3].above": (
            29,
            "1.5 is a ratio and must be at most 1; write 0.015 for 1.5 %",
        ),
        "loadtest[1].stop[3].for": (30, "'2 minutes' is not a duration; write e.g. 15s, 5m, 1h30m"),
        "loadtest[1].guards.breaker_open": (32, "expected true or false, got 'yes'"),
        "loadtest[1].guards.budget": (33, "unknown key 'budget' (did you mean 'budget_page'?)"),
        "loadtest[2].name": (35, "'checkout' is already the name of loadtest[1]"),
        "loadtest[2].tool": (34, 'missing; write e.g. tool = "locust" (or "k6")'),
        "loadtest[2].url": (
            34,
            'missing; write e.g. url = "http://127.0.0.1:8089" (the tool\'s API)',
        ),
    }
    for key, want in expected.items():
        assert by_key.get(key) == want, key
    assert by_key["loadtest[1].url"][0] == 9
    assert (36, "loadtest[2].services", "'orders' is named twice") in found
    assert [line for line, _k, _m in found] == sorted(line or 0 for line, _k, _m in found)
    assert len(found) == len(expected) + 2


def test_shapes_that_are_not_tables_and_secrets_are_refused() -> None:
    assert problems(BACKEND + '[loadtest]\nname = "a"\n') == [
        (6, "loadtest", "write [[loadtest]] (an array of tables), not [loadtest]")
    ]
    text = BACKEND + (
        '[[loadtest]]\nname = "a"\ntool = "locust"\nurl = "http://127.0.0.1:8089"\n'
        'services = ["orders"]\ntoken = "s3cret"\n[loadtest.stop]\nsignal = "cpu"\n'
    )
    found = problems(text)
    assert [(line, key) for line, key, _m in found] == [
        (11, "loadtest[1].token"),
        (12, "loadtest[1].stop"),
    ]
    assert "tokens never go in the config file" in found[0][2]
    assert found[1][2] == "write [[loadtest.stop]] (an array of tables), not [loadtest.stop]"


def test_the_same_stop_condition_twice_is_named() -> None:
    stop = '[[loadtest.stop]]\nsignal = "cpu"\nabove = 0.95\nfor = "3m"\n'
    text = BACKEND + (
        '[[loadtest]]\nname = "a"\ntool = "locust"\nurl = "http://127.0.0.1:8089"\n'
        'services = ["orders"]\n' + stop + stop
    )
    assert problems(text) == [
        (
            15,
            "loadtest[1].stop[2]",
            "the same stop condition as an earlier one (CPU > 95 % for 3 min (stop))",
        )
    ]
