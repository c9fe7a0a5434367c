"""Bad arguments and config files, as an operator meets them: one plain line, exit 2, no trace."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.process import last_json, run_console

# Should a check let a bad input through, the self-test ends the run quickly instead of a
# window waiting forever.
QUICK = ("--self-test", "--self-test-timeout", "5")

BACKEND = '[[backend]]\nname = "a"\nkind = "opsapi"\nurl = "{url}"\n'


def _file(text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "console.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize(
    ("config", "args", "said"),
    [
        (
            None,
            ["--url", "http://127.0.0.1:99999"],
            "opsconsole: --url: 'http://127.0.0.1:99999' is not a URL: "
            "the port must be a number from 1 to 65535",
        ),
        (
            # A NUL cannot be passed in an argument at all; other control characters can.
            None,
            ["--url", "http://127.0.0.1\x01:8080"],
            "opsconsole: --url: 'http://127.0.0.1\\x01:8080' contains U+0001",
        ),
        (
            None,
            ["--url", "http://ops:secret@127.0.0.1:8080"],
            "opsconsole: --url: credentials in the URL are not accepted; "
            "use --token-env VAR or `opsconsole auth set NAME`",
        ),
        (
            _file(BACKEND.format(url="http://127.0.0.1\\u0000:8080")),
            [],
            "{path}:4: backend[1].url: 'http://127.0.0.1\\x00:8080' contains a NUL byte",
        ),
        (
            _file(BACKEND.format(url="http://127.0.0.1:99999")),
            [],
            "{path}:4: backend[1].url: 'http://127.0.0.1:99999' is not a URL: the port must be",
        ),
        (
            _file("# deep\nx = " + "[" * 5000 + "]" * 5000 + "\n"),
            [],
            "{path}:2: nesting too deep",
        ),
        (
            _file(BACKEND.format(url="http://h:1") + "step = 1" + "0" * 5000 + "\n"),
            [],
            "{path}:5: a number with thousands of digits",
        ),
        (_file(""), [], "{path}: no [[backend]] tables"),
        (_file("# only a comment\n"), [], "{path}: no [[backend]] tables"),
        (
            _file("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"),
            ["--demo"],  # the file is named, so its [keys] would apply: said, not ignored
            "{path}:1: nesting too deep",
        ),
        (
            None,
            ["--demo", "--wall", "--rotate", "inf"],
            "opsconsole: error: argument --rotate: 'inf' is not a number of seconds",
        ),
        (
            None,
            ["--demo", "--text", "--duration", "nan"],  # used to run forever
            "opsconsole: error: argument --duration: 'nan' is not a number of seconds",
        ),
        (
            None,
            ["--demo", "--text", "--status-every", "0"],
            "opsconsole: error: argument --status-every: '0': give a number of seconds above 0",
        ),
    ],
    ids=[
        "url-port",
        "url-control",
        "url-credentials",
        "file-nul",
        "file-port",
        "file-deep",
        "file-long-number",
        "file-empty",
        "file-comment-only",
        "demo-with-deep-file",
        "rotate-inf",
        "duration-nan",
        "status-every-0",
    ],
)
def test_bad_input_is_one_plain_error_and_exit_2(
    config: Callable[[Path], Path] | None, args: list[str], said: str, tmp_path: Path
) -> None:
    extra: list[str] = []
    path = None
    if config is not None:
        path = config(tmp_path)
        extra = ["--config", str(path)]
    proc = run_console(*args, *extra, *QUICK, tmp_path=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-3000:]
    assert said.format(path=path) in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # nothing started: no self-test line


@pytest.fixture
def sim_url() -> Iterator[str]:
    """The reference backend as its own process, where the console connects as in production."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsconsole.sim.cli", "--port", "0", "--tick", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_password_in_url_is_refused_and_never_printed(sim_url: str, tmp_path: Path) -> None:
    with_password = sim_url.replace("http://", "http://ops:secret@")
    proc = run_console(
        "--url", with_password, "--self-test", "--verbose", tmp_path=tmp_path, timeout=60
    )
    assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-3000:]
    assert "credentials in the URL are not accepted" in proc.stderr
    assert "secret" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr

    # The same backend without the password: the refusal was about the password alone.
    proc = run_console("--url", sim_url, "--self-test", tmp_path=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stdout[-1000:] + proc.stderr[-3000:]
    assert last_json(proc.stdout)["ok"] is True
