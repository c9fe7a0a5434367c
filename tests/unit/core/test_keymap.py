"""Key map: defaults plus a [keys] TOML table; conflicts and unknown ids reported in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole.core.commands import Command, DangerTier
from opsconsole.core.keymap import (
    KeySequenceError,
    build_keymap,
    is_bare,
    is_printable_bare,
    load_keymap,
    normalise,
)


def noop() -> None:
    pass


COMMANDS = [
    Command("app.quit", "Quit", noop, keys=("Ctrl+Q",)),
    Command("layout.reset", "Reset the panel layout", noop),
    Command("panel.focus.services", "Focus Services", noop, keys=("Alt+1",)),
    Command("panel.focus.clusters", "Focus Database clusters", noop, keys=("Alt+2",)),
    Command("db.failover", "Fail over a database cluster", noop, tier=DangerTier.DANGEROUS),
    Command("db.switchover", "Switch over a database cluster", noop, tier=DangerTier.CONFIRM),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ctrl+shift+f", "Ctrl+Shift+F"),
        ("Shift+Ctrl+F", "Ctrl+Shift+F"),
        ("alt+ctrl+meta+shift+x", "Meta+Ctrl+Alt+Shift+X"),
        ("escape", "Esc"),
        ("Delete", "Del"),
        ("pageup", "PgUp"),
        ("f1", "F1"),
        ("Ctrl+x,  ctrl+s", "Ctrl+X, Ctrl+S"),
        ("ctrl++", "Ctrl++"),
        ("Ctrl+,", "Ctrl+,"),
        (":", ":"),
        ("?", "?"),
        ("j", "J"),
    ],
)
def test_sequences_are_spelt_the_way_qt_spells_them(typed: str, canonical: str) -> None:
    assert normalise(typed) == canonical


@pytest.mark.parametrize("bad", ["", "Ctrl+", "Hyper+K", "Ctrl+Banana", "F36", "a, b, c, d, e"])
def test_nonsense_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(KeySequenceError):
        normalise(bad)


def test_bare_and_printable_keys() -> None:
    assert is_bare("J") and is_printable_bare("J") and is_printable_bare("Shift+J")
    assert is_bare(":") and is_printable_bare(":")
    assert is_bare("F1") and not is_printable_bare("F1")
    assert not is_bare("Ctrl+K") and not is_printable_bare("Ctrl+K")


def test_no_file_means_the_defaults_and_no_problems(tmp_path: Path) -> None:
    bindings, problems = load_keymap(tmp_path / "missing.toml", COMMANDS)
    assert problems == []
    assert bindings["Ctrl+Q"] == "app.quit"
    assert bindings["Alt+1"] == "panel.focus.services"
    # The keyboard layer's own commands are known before the window registers them.
    assert bindings["Ctrl+K"] == "keys.palette"
    assert bindings[":"] == "keys.command_line"
    assert bindings["F1"] == bindings["?"] == "keys.help"


def test_a_remap_binds_the_new_key_and_drops_the_old(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[keys]\n"layout.reset" = "ctrl+alt+r"\n"app.quit" = "Ctrl+Shift+Q"\n'
        '"keys.palette" = "Ctrl+P"\n',
    )
    bindings, problems = load_keymap(path, COMMANDS)
    assert problems == []
    assert bindings["Ctrl+Alt+R"] == "layout.reset"
    assert bindings["Ctrl+Shift+Q"] == "app.quit"
    assert "Ctrl+Q" not in bindings
    assert bindings["Ctrl+P"] == "keys.palette" and "Ctrl+K" not in bindings


def test_empty_string_unbinds_and_a_list_binds_several(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"app.quit" = ""\n"layout.reset" = ["F5", "Ctrl+R"]\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert problems == []
    assert "app.quit" not in bindings.values()
    assert bindings["F5"] == bindings["Ctrl+R"] == "layout.reset"


def test_two_commands_on_one_key_is_reported_with_both_names(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"layout.reset" = "Ctrl+Q"\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert len(problems) == 1
    problem = problems[0]
    assert str(path) in problem
    assert "Ctrl+Q" in problem and "layout.reset" in problem and "app.quit" in problem
    assert "bound to two commands" in problem
    # The remap wins; the loser is named, never silently dropped.
    assert bindings["Ctrl+Q"] == "layout.reset"
    assert "app.quit" not in bindings.values()


def test_two_remaps_onto_one_key_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"layout.reset" = "Ctrl+E"\n"db.switchover" = "ctrl+e"\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert [p for p in problems if "Ctrl+E" in p and "db.switchover" in p and "layout.reset" in p]
    assert bindings["Ctrl+E"] in ("layout.reset", "db.switchover")


def test_an_unknown_command_id_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"db.failovr" = "Ctrl+Shift+F"\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert len(problems) == 1
    assert str(path) in problems[0]
    assert "'db.failovr'" in problems[0] and "no such command" in problems[0]
    assert "did you mean 'db.failover'" in problems[0]
    assert "Ctrl+Shift+F" not in bindings


def test_a_bad_key_string_is_reported_and_the_command_loses_its_old_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"app.quit" = "Ctrl+Banana"\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert len(problems) == 1 and "'Ctrl+Banana'" in problems[0] and "app.quit" in problems[0]
    assert "app.quit" not in bindings.values()


def test_an_unquoted_dotted_id_is_explained(tmp_path: Path) -> None:
    # TOML reads db.failover = "…" (no quotes) as a table "db" with a key "failover".
    path = write(tmp_path, '[keys]\ndb.failover = "Ctrl+Shift+F"\n')
    _, problems = load_keymap(path, COMMANDS)
    assert len(problems) == 1 and "quote the command id" in problems[0]


def test_broken_toml_falls_back_to_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys\n"app.quit" = \n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert len(problems) == 1 and "not valid TOML" in problems[0] and str(path) in problems[0]
    assert bindings["Ctrl+Q"] == "app.quit"


def test_a_dangerous_command_on_a_bare_key_is_allowed_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"db.failover" = "F"\n"db.switchover" = "S"\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert bindings["F"] == "db.failover" and bindings["S"] == "db.switchover"
    # Only the dangerous one warns: it still asks for the typed name before anything is sent.
    assert len(problems) == 1
    assert problems[0].split(": ", 1)[1].startswith("warning:")
    assert "db.failover" in problems[0] and "bare key F" in problems[0]


def test_a_remap_onto_a_key_the_keyboard_layer_needs_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\n"layout.reset" = "Esc"\n')
    bindings, problems = load_keymap(path, COMMANDS)
    assert "Esc" not in bindings
    assert len(problems) == 1 and "Esc is kept for going back" in problems[0]


def test_a_chord_prefix_clash_is_reported() -> None:
    keymap = build_keymap(COMMANDS, {"layout.reset": "Ctrl+Q, Ctrl+R"}, source="keys.toml")
    # Qt fires Ctrl+Q at once, so a two-chord key starting with it could never be typed.
    assert keymap.bindings["Ctrl+Q, Ctrl+R"] == "layout.reset"
    assert "Ctrl+Q" not in keymap.bindings
    assert len(keymap.problems) == 1
    assert "could never tell them apart" in keymap.problems[0]
    assert "app.quit does not get Ctrl+Q" in keymap.problems[0]


def test_keys_for_lists_every_sequence_of_a_command() -> None:
    keymap = build_keymap(COMMANDS, {"layout.reset": "F5\nCtrl+R"})
    assert keymap.keys_for("layout.reset") == ["F5", "Ctrl+R"]
    assert keymap.keys_for("db.failover") == []
