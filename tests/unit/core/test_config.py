"""Config file: a valid file gives typed backends; every problem is named by line and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole.core.config import (
    BACKEND_KEYS,
    BACKEND_KINDS,
    QUERY_NAMES,
    BackendConfig,
    ConfigError,
    ConfigProblem,
    load_config,
    parse_config,
)

FULL = """\
# opsconsole settings
[keys]
"app.quit" = "Ctrl+Q"

[[backend]]
name = "prod-prom"
kind = "prometheus"            # opsapi | prometheus | alertmanager | patroni
url = "https://prom.example:9090/"
service_label = "job"
step = "30s"
history = "1h"
verify_tls = false
token_key = "prod-prom"
[backend.queries]
latency = '''
histogram_quantile({quantile},
  sum by (le, {service_label}) (rate(http_request_duration_seconds_bucket[{window}])))
'''
errors = 'sum by ({service_label}) (rate(http_requests_total{{code=~"5.."}}[{window}]))'

[[backend]]
name = "alerts"
kind = "alertmanager"
url = "http://am.example:9093"

[[backend]]
name = "sim.local_1"
kind = "opsapi"
url = "http://127.0.0.1:8080/base/"
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    """(line, key, message) of each problem parse_config reports."""
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    return [(p.line, p.key, p.message) for p in exc.value.problems]


def only_problem(text: str) -> tuple[int | None, str, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def backend(*lines: str) -> str:
    """A file with one valid prometheus backend plus `lines`; the header is on line 1."""
    base = ["[[backend]]", 'name = "p"', 'kind = "prometheus"', 'url = "http://h:9090"']
    return "\n".join([*base, *lines]) + "\n"


def test_the_full_example_gives_typed_backends() -> None:
    config = parse_config(FULL, Path("/cfg/config.toml"))
    assert config.path == Path("/cfg/config.toml")
    prom, alerts, sim = config.backends
    assert prom.name == "prod-prom" and prom.kind == "prometheus"
    assert prom.url == "https://prom.example:9090"
    assert (prom.service_label, prom.step_s, prom.history_s) == ("job", 30.0, 3600.0)
    assert prom.verify_tls is False and prom.token_key == "prod-prom"
    assert prom.line == 5
    assert set(prom.queries) == {"latency", "errors"}
    assert prom.queries["latency"].startswith("histogram_quantile({quantile},")
    with pytest.raises(TypeError):
        prom.queries["cpu"] = "x"  # type: ignore[index]
    assert alerts == BackendConfig(
        name="alerts", kind="alertmanager", url="http://am.example:9093", step_s=5.0, line=21
    )
    assert sim.url == "http://127.0.0.1:8080/base" and sim.line == 26
    assert sim.token_key is None and dict(sim.queries) == {}
    # Frozen records: usable as dict keys and set members despite the mapping field.
    assert len({prom, alerts, sim}) == 3


def test_defaults_fill_what_is_left_out() -> None:
    (b,) = parse_config(backend()).backends
    assert (b.service_label, b.step_s, b.history_s, b.verify_tls) == ("service", 15.0, 900.0, True)


def test_history_defaults_to_at_least_one_step() -> None:
    (b,) = parse_config(backend('step = "30m"')).backends
    assert b.history_s == 1800.0


def test_a_file_without_backends_is_valid_and_keys_are_left_to_the_keymap() -> None:
    config = parse_config('[keys]\n"app.quit" = "Ctrl+Q"\nwhatever = 5\n')
    assert config.backends == () and config.path is None
    assert parse_config("").backends == ()


def test_toml_syntax_error_keeps_tomllibs_line_and_column() -> None:
    line, key, message = only_problem('[[backend]]\nname = "a"\nkind = \n')
    assert (line, key) == (3, "")
    assert message.startswith("not valid TOML:") and "line 3, column 8" in message


def test_problem_reads_with_file_line_and_key() -> None:
    problem = ConfigProblem(
        Path("/home/x/.config/opsconsole/config.toml"), 7, "backend[1].step", "m"
    )
    assert str(problem) == "/home/x/.config/opsconsole/config.toml:7: backend[1].step: m"
    assert str(ConfigProblem(None, 3, "", "bad")) == "line 3: bad"
    assert str(ConfigProblem(Path("c.toml"), None, "", "no such file")) == "c.toml: no such file"


def test_step_below_one_second_names_file_line_and_key() -> None:
    text = backend("# the step", "", 'step = "0s"')
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("/home/x/.config/opsconsole/config.toml"))
    assert str(exc.value) == (
        "/home/x/.config/opsconsole/config.toml:7: backend[1].step: '0s' must be at least 1s"
    )


@pytest.mark.parametrize(
    ("lines", "line", "key", "message"),
    [
        (['step = "2h"'], 5, "backend[1].step", "'2h' must be at most 1h"),
        (['step = "soon"'], 5, "backend[1].step", "'soon' is not a duration; write e.g. 15s, 5m"),
        (["step = true"], 5, "backend[1].step", "expected a duration"),
        (['step = "1m"', 'history = "30s"'], 6, "backend[1].history", "shorter than step (1m)"),
        (['history = "33d"'], 5, "backend[1].history", "'33d' must be at most 32d"),
        (['verify_tls = "yes"'], 5, "backend[1].verify_tls", "expected true or false"),
        (['token_key = ""'], 5, "backend[1].token_key", "name of a keyring entry"),
        (['service_label = "1x"'], 5, "backend[1].service_label", "not a Prometheus label"),
        (['stpe = "15s"'], 5, "backend[1].stpe", "unknown key 'stpe' (did you mean 'step'?)"),
    ],
)
def test_each_backend_key_is_checked_at_its_line(
    lines: list[str], line: int, key: str, message: str
) -> None:
    found = only_problem(backend(*lines))
    assert found[:2] == (line, key)
    assert message in found[2]


def test_number_durations_are_seconds() -> None:
    (b,) = parse_config(backend("step = 30", "history = 7200")).backends
    assert (b.step_s, b.history_s) == (30.0, 7200.0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://h", "'ftp://h' is not a URL; write e.g. https://"),
        ("https://", "is not a URL"),
        ("prom:9090", "is not a URL"),
        ("http://h:99999", "is not a URL"),
        ("http://u:pw@h", "credentials never go in the config file"),
        ("http://h/?x=1", "must not have a ?query"),
    ],
)
def test_urls_need_http_or_https_and_a_host(url: str, message: str) -> None:
    text = f'[[backend]]\nname = "a"\nkind = "opsapi"\n\nurl = "{url}"\n'
    line, key, found = only_problem(text)
    assert (line, key) == (5, "backend[1].url")
    assert message in found


def test_missing_required_keys_point_at_the_header() -> None:
    text = "[keys]\n\n[[backend]]\nverify_tls = true\n"
    assert problems(text) == [
        (3, "backend[1].name", 'missing; every backend needs a name = "..."'),
        (
            3,
            "backend[1].kind",
            "missing; write kind = one of opsapi | prometheus | alertmanager | patroni",
        ),
        (3, "backend[1].url", 'missing; write e.g. url = "https://host:9090"'),
    ]


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "ünï", "a/b"])
def test_bad_names_are_refused(name: str) -> None:
    text = f'[[backend]]\nname = "{name}"\nkind = "opsapi"\nurl = "http://h"\n'
    line, key, message = only_problem(text)
    assert (line, key) == (2, "backend[1].name")
    assert "is not a name; use 1-64 letters, digits" in message


def test_names_are_unique() -> None:
    one = '[[backend]]\nname = "a"\nkind = "opsapi"\nurl = "http://h"\n'
    assert only_problem(one + "\n" + one) == (
        7,
        "backend[2].name",
        "'a' is already the name of backend[1]",
    )


def test_unknown_kind_suggests_the_nearest() -> None:
    text = '[[backend]]\nname = "a"\nkind = "alertmanger"\nurl = "http://h"\n'
    line, key, message = only_problem(text)
    assert (line, key) == (3, "backend[1].kind")
    assert message == (
        "'alertmanger' is not a backend kind; use one of "
        f"{', '.join(BACKEND_KINDS)} (did you mean 'alertmanager'?)"
    )


def test_backend_must_be_an_array_of_tables() -> None:
    text = '# one\n[backend]\nname = "a"\n'
    assert only_problem(text) == (
        2,
        "backend",
        "write [[backend]] (an array of tables), not [backend]",
    )
    assert only_problem('backend = "x"\n')[:2] == (1, "backend")
    assert only_problem("backend = [1]\n")[:2] == (1, "backend[1]")


def test_inline_array_of_tables_is_accepted() -> None:
    text = 'backend = [{ name = "a", kind = "opsapi", url = "http://h" }]\n'
    (b,) = parse_config(text).backends
    assert b.name == "a" and b.line == 1


def test_unknown_top_level_key_suggests_the_nearest() -> None:
    assert only_problem('# x\n[[backends]]\nname = "a"\n') == (
        2,
        "backends",
        "unknown key 'backends' (did you mean 'backend'?)",
    )
    assert only_problem("zzz = 1\n") == (
        1,
        "zzz",
        "unknown key 'zzz'; the keys here are: backend, slo, keys, demo, loadtest",
    )


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (backend('token = "s3cr3t"'), 5, "backend[1].token"),
        (backend("", 'password = "s3cr3t"'), 6, "backend[1].password"),
        ('token = "s3cr3t"\n', 1, "token"),
        (backend("[backend.queries]", 'token = "s3cr3t"'), 6, "backend[1].queries.token"),
    ],
)
def test_a_token_in_the_file_is_refused_with_the_way_to_do_it(
    text: str, line: int, key: str
) -> None:
    found = only_problem(text)
    assert found[:2] == (line, key)
    assert found[2] == (
        "tokens never go in the config file; use `opsconsole auth set NAME` "
        'and token_key = "NAME" in the backend'
    )
    assert "s3cr3t" not in found[2]


def test_queries_override_only_known_names_with_known_placeholders() -> None:
    text = backend(
        "[backend.queries]",
        "# a comment",
        "latency = 'histogram_quantile({quantile}, x[{window}])'",
        "traffic = 'sum by ({service_label}) (rate(x{{code=\"200\"}}[{window}]))'",
        "cpu = '{cpux}'",
        "memory = ''",
        "latencyy = 'x'",
        "errors = 'x{code=\"5xx\"}'",
        "circuits = 'x}'",
        "traffic_ = 1",
    )
    found = problems(text)
    assert [(line, key) for line, key, _ in found] == [
        (9, "backend[1].queries.cpu"),
        (10, "backend[1].queries.memory"),
        (11, "backend[1].queries.latencyy"),
        (12, "backend[1].queries.errors"),
        (13, "backend[1].queries.circuits"),
        (14, "backend[1].queries.traffic_"),
    ]
    messages = [message for _, _, message in found]
    assert messages[0].startswith("unknown placeholder {cpux}; the placeholders are")
    assert messages[1] == "expected a non-empty PromQL string"
    assert messages[2] == "unknown key 'latencyy' (did you mean 'latency'?)"
    assert messages[3].startswith('unknown placeholder {code="5xx"}')
    assert "write {{ and }} for literal braces" in messages[4]


def test_valid_query_overrides_are_kept() -> None:
    text = backend(
        "[backend.queries]", *(f"{n} = 'up{{{{job=\"x\"}}}}[{{window}}]'" for n in QUERY_NAMES)
    )
    (b,) = parse_config(text).backends
    assert dict(b.queries) == {n: 'up{{job="x"}}[{window}]' for n in QUERY_NAMES}


def test_placeholders_with_a_format_are_refused() -> None:
    line, key, message = only_problem(backend("queries.cpu = 'x[{window!r}]'"))
    assert (line, key) == (5, "backend[1].queries.cpu")
    assert message == "write {window} plainly, without a format or conversion"


def test_queries_only_for_prometheus() -> None:
    text = '[[backend]]\nname = "a"\nkind = "alertmanager"\nurl = "http://h"\n'
    text += "[backend.queries]\nlatency = 'x'\n"
    assert only_problem(text) == (
        5,
        "backend[1].queries",
        "only prometheus backends take queries (this one is 'alertmanager')",
    )


def test_dotted_and_inline_query_keys_are_located() -> None:
    dotted = backend("queries.cpu = 'x'", "queries.memry = 'x'")
    assert only_problem(dotted)[:2] == (6, "backend[1].queries.memry")
    inline = backend("", "queries = { cpu = 'x', memry = 'y' }")
    assert only_problem(inline)[:2] == (6, "backend[1].queries.memry")


def test_lines_inside_multiline_strings_are_not_mistaken_for_keys() -> None:
    text = "\n".join(
        [
            "[[backend]]",
            'name = "p"',
            'kind = "prometheus"',
            'url = "http://h"',
            'latency_note = """',
            "step = 'this is text, not a key'",
            '[[backend]]  \\""" still text',
            '"""',
            'step = "0s"',
        ]
    )
    assert [(line, key) for line, key, _ in problems(text)] == [
        (5, "backend[1].latency_note"),
        (9, "backend[1].step"),
    ]


def test_arrays_spanning_lines_are_skipped_whole() -> None:
    text = backend("extra = [", '  "step = 1",', "  { a = 1 },", "]", 'history = "1s"')
    assert [(line, key) for line, key, _ in problems(text)] == [
        (5, "backend[1].extra"),
        (9, "backend[1].history"),
    ]


def test_several_problems_in_several_backends_are_reported_at_once_in_file_order() -> None:
    text = """\
[[backend]]
name = "a"
kind = "prometheus"
url = "https://p"
step = "0s"
token = "x"

[[backend]]
name = "a"
kind = "nope"
url = "ftp://x"
verify_tls = 1
"""
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("c.toml"))
    keys = [(p.line, p.key) for p in exc.value.problems]
    assert keys == [
        (5, "backend[1].step"),
        (6, "backend[1].token"),
        (9, "backend[2].name"),
        (10, "backend[2].kind"),
        (11, "backend[2].url"),
        (12, "backend[2].verify_tls"),
    ]
    lines = str(exc.value).splitlines()
    assert len(lines) == 6 and all(line.startswith("c.toml:") for line in lines)


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(FULL, encoding="utf-8")
    config = load_config(path)
    assert config.path == path and len(config.backends) == 3


def test_load_config_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + backend().encode())
    assert load_config(path).backends[0].name == "p"


def test_load_config_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == f"{path}: no such file"


def test_load_config_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)  # a directory cannot be read as a file
    assert str(exc.value).startswith(f"{tmp_path}: cannot read the file (")


def test_load_config_names_the_line_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"# ok\n# caf\xe9\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    (problem,) = exc.value.problems
    assert (problem.path, problem.line) == (path, 2)
    assert "not UTF-8 text" in problem.message


def test_alertmanager_is_read_every_5_s_unless_told_otherwise() -> None:
    text = '[[backend]]\nname = "am"\nkind = "alertmanager"\nurl = "http://a:9093"\n'
    (am,) = parse_config(text).backends
    assert am.step_s == 5.0
    (prom,) = parse_config(text.replace("alertmanager", "prometheus")).backends
    assert prom.step_s == 15.0


# --- hostile files: a plain problem with file and line, never another exception ---------------

DEEP = 5000


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# arrays\nx = " + "[" * DEEP + "]" * DEEP + "\n", 2),
        ('[[backend]]\nname = "a"\nq = ' + "{a = " * DEEP + "1" + "}" * DEEP + "\n", 3),
        ("\n\n" + "x" + ".x" * DEEP + " = 1\n", 3),
        ("[" + ".".join(["t"] * DEEP) + "]\n", 1),
        ("x = [\n" + "[\n" * DEEP + "]\n" * DEEP + "]\n", 2),  # spread over lines
    ],
)
def test_thousands_of_nesting_levels_are_a_plain_problem(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, Path("config.toml"))
    (problem,) = err.value.problems
    assert problem.message.startswith("nesting too deep")
    assert problem.line is not None and problem.line >= line
    assert str(err.value).startswith(f"config.toml:{problem.line}: nesting too deep")


def test_a_number_with_thousands_of_digits_is_a_plain_problem() -> None:
    assert only_problem(backend("# big", "step = 1" + "0" * 5000)) == (
        6,
        "",
        "a number with thousands of digits; no setting needs one",
    )


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://h\\u0000x:80", "contains a NUL byte"),
        ("http://h:80/a\\u0000", "contains a NUL byte"),
        ("http://h\\tx", "control characters"),
        ("http://h:99999", "the port must be a number from 1 to 65535"),
        ("http://h:0", "the port must be a number from 1 to 65535"),
        ("http://bücher.example", "xn-- form"),
    ],
)
def test_urls_the_connection_would_choke_on_are_refused_at_their_line(url: str, words: str) -> None:
    text = f'[[backend]]\nname = "p"\nkind = "opsapi"\n\nurl = "{url}"\n'
    line, key, message = only_problem(text)
    assert (line, key) == (5, "backend[1].url")
    assert words in message


def test_a_nul_in_the_file_name_is_no_such_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "a\x00b.toml")
    assert err.value.problems[0].message == "no such file"


def test_demo_true_is_the_remembered_demo() -> None:
    config = parse_config("# the first-run choice\ndemo = true\n")
    assert config.demo and config.backends == ()
    assert not parse_config("demo = false\n").demo
    assert not parse_config("").demo
    assert only_problem('demo = "yes"\n') == (1, "demo", "expected true or false, got a string")
    assert only_problem("demo = true\n\n" + backend()) == (
        1,
        "demo",
        "true runs only the built-in demo; remove it to watch the [[backend]] tables",
    )


TOMLISH = st.lists(
    st.sampled_from(
        [
            "[[backend]]",
            "[backend]",
            "[backend.queries]",
            "[keys]",
            "[",
            "]",
            "{",
            "}",
            ",",
            ".",
            "=",
            '"',
            "'",
            '"""',
            "'''",
            "#",
            " ",
            "\n",
            "\n",
            "\\",
            "\\u0000",
            "\\t",
            "name",
            "kind",
            "url",
            "step",
            "history",
            "queries",
            "latency",
            "verify_tls",
            "token_key",
            "demo",
            "token",
            "opsapi",
            "prometheus",
            "alertmanager",
            '"http://h:80"',
            '"http://u:p@h"',
            '"http://h:99999"',
            '"15s"',
            '"{window}"',
            '"{x}"',
            "true",
            "1e999",
            "-0",
            "0x1F",
            "nan",
            "inf",
            "1979-05-27",
            "\x00",
            "\r\n",
            "é",
            "\u2028",
        ]
    )
    | st.text(max_size=4),
    max_size=40,
).map("".join)
# Starts that break the parser itself rather than our checks; first, so nothing hides them.
HOSTILE_START = st.sampled_from(
    [
        "",
        "x = 1" + "0" * 4400,
        "x = " + "[" * 3000,
        "x = " + "{a = " * 3000,
        "x" + ".x" * 3000 + " = 1",
        "[" + "t." * 3000 + "t]",
        "[[backend]]\nurl = 'http://h\u0000'",
        '[[backend]]\nurl = "http://h\\u0000"',
    ]
)


def _toml(value: object) -> str:
    """A value written as TOML (inline), so the fuzz below reaches the checks, not the parser."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


KEYS = st.sampled_from([*BACKEND_KEYS, *QUERY_NAMES, "demo", "token", "x"]) | st.text(max_size=4)
SCALARS = (
    st.booleans()
    | st.integers()
    | st.floats(allow_infinity=False, allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["http://h:80", "http://u:p@h", "15s", "{window}", "prometheus", "opsapi"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(HOSTILE_START, TOMLISH)
def test_any_text_is_a_config_or_a_config_error(start: str, text: str) -> None:
    try:
        parse_config(start + text, Path("c.toml"))
    except ConfigError as exc:
        assert exc.problems and all(p.path == Path("c.toml") for p in exc.problems)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(KEYS, VALUES, max_size=3),
    st.lists(st.dictionaries(KEYS, VALUES, max_size=8), max_size=3),
)
def test_any_values_in_any_keys_are_a_config_or_a_config_error(
    top: dict[str, object], backends: list[dict[str, object]]
) -> None:
    lines = [f"{json.dumps(k)} = {_toml(v)}" for k, v in top.items()]
    for table in backends:
        lines += ["[[backend]]", *(f"{json.dumps(k)} = {_toml(v)}" for k, v in table.items())]
    try:
        parse_config("\n".join(lines))
    except ConfigError as exc:
        assert exc.problems


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_any_bytes_in_a_file_are_a_config_or_a_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems
