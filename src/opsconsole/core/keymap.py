"""Key bindings: the commands' default keys plus a `[keys]` TOML table, with every problem named."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opsconsole.core.commands import Command, DangerTier

# Qt's portable names, in Qt's own spelling, so a sequence we normalise reads exactly as
# QKeySequence(...).toString() shows it in menus (a UI test holds the two together).
MODIFIER_ORDER = ("Meta", "Ctrl", "Alt", "Shift")
_MODIFIER_ALIASES = {
    "meta": "Meta",
    "super": "Meta",
    "win": "Meta",
    "cmd": "Meta",
    "ctrl": "Ctrl",
    "control": "Ctrl",
    "alt": "Alt",
    "option": "Alt",
    "shift": "Shift",
}
_NAMED_KEYS = (
    *("Esc", "Tab", "Backtab", "Backspace", "Return", "Enter", "Ins", "Del", "Pause", "Print"),
    *("SysReq", "Home", "End", "Left", "Up", "Right", "Down", "PgUp", "PgDown", "CapsLock"),
    *("NumLock", "ScrollLock", "Menu", "Help", "Space", "Clear"),
)
_KEY_ALIASES = {
    **{k.casefold(): k for k in _NAMED_KEYS},
    **{f"f{n}": f"F{n}" for n in range(1, 36)},
    "escape": "Esc",
    "insert": "Ins",
    "delete": "Del",
    "pageup": "PgUp",
    "pagedown": "PgDown",
    "pgdn": "PgDown",
    "spacebar": "Space",
}
#: Keys that need Ctrl, Alt or Meta to count as a chord: without one they are typing or
#: navigation, and a destructive command must not sit on them (it still confirms, but warn).
CHORD_MODIFIERS = frozenset({"Meta", "Ctrl", "Alt"})
MAX_CHORDS = 4  # QKeySequence holds at most four chords


class KeySequenceError(ValueError):
    """A key sequence string that is not a key; the message is for the operator."""


def _chord_parts(chord: str) -> tuple[list[str], str]:
    """Modifier words and the key of one chord; "+" is both the separator and a key."""
    raw = chord.strip()
    if raw == "+":
        return [], "+"
    if raw.endswith("++"):  # "Ctrl++": Ctrl with the plus key
        return [p for p in raw[:-2].split("+")], "+"
    *mods, key = raw.split("+")
    return mods, key


def normalise_chord(text: str) -> str:
    """One chord ("ctrl+shift+f") in Qt's portable spelling ("Ctrl+Shift+F")."""
    raw = text.strip()
    if not raw:
        raise KeySequenceError("an empty key")
    parts, key = _chord_parts(raw)
    modifiers: set[str] = set()
    for part in parts:
        name = _MODIFIER_ALIASES.get(part.strip().casefold())
        if name is None:
            raise KeySequenceError(
                f"{part.strip()!r} is not a modifier (use Ctrl, Alt, Shift or Meta)"
            )
        modifiers.add(name)
    key = key.strip()
    if not key:
        raise KeySequenceError(f"{raw!r} names modifiers but no key")
    if len(key) == 1:
        if not key.isprintable():
            raise KeySequenceError(f"{raw!r} is not a printable key")
        name = key.upper() if key.isascii() and key.isalpha() else key
    else:
        resolved = _KEY_ALIASES.get(key.casefold())
        if resolved is None:
            raise KeySequenceError(
                f"{key!r} is not a key name Qt knows (e.g. F1, Esc, Return, PgUp)"
            )
        name = resolved
    return "+".join([*(m for m in MODIFIER_ORDER if m in modifiers), name])


def normalise(sequence: str) -> str:
    """A key sequence ("ctrl+x, ctrl+s") in Qt's portable spelling ("Ctrl+X, Ctrl+S")."""
    # A lone "," is the comma key, and "Ctrl+," ends in it: split only on ", " boundaries.
    chords = _split_chords(sequence)
    if not chords:
        raise KeySequenceError("an empty key")
    if len(chords) > MAX_CHORDS:
        raise KeySequenceError(f"{sequence!r} has {len(chords)} chords; Qt allows {MAX_CHORDS}")
    return ", ".join(normalise_chord(c) for c in chords)


def _split_chords(sequence: str) -> list[str]:
    text = sequence.strip()
    if text in (",", ""):
        return [text] if text else []
    chords, current = [], ""
    i = 0
    while i < len(text):
        ch = text[i]
        # A comma separates chords unless it is the key itself (first char, or after a "+").
        if ch == "," and current.strip() and not current.endswith("+"):
            chords.append(current)
            current = ""
        else:
            current += ch
        i += 1
    chords.append(current)
    return [c.strip() for c in chords if c.strip()]


def is_bare(sequence: str) -> bool:
    """True when the first chord has no Ctrl/Alt/Meta: a key that is typing or navigation."""
    mods, _ = _chord_parts(_split_chords(sequence)[0])
    return not {m.strip() for m in mods} & CHORD_MODIFIERS


def is_printable_bare(sequence: str) -> bool:
    """One chord that types a character (":", "?", "j", "Shift+J"): text fields must keep it."""
    chords = _split_chords(sequence)
    if len(chords) != 1 or not is_bare(sequence):
        return False
    _, key = _chord_parts(chords[0])
    return len(key) == 1 or key == "Space"


#: The keyboard layer's own commands (id, title, default keys). They are commands like any
#: other, so they are listed in the help and remappable; the key map knows them even before
#: the window registers them, so `[keys] "keys.palette" = "Ctrl+P"` is never "unknown".
KEYBOARD_COMMANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("keys.palette", "Open the command palette", ("Ctrl+K",)),
    ("keys.command_line", "Open the command line", (":",)),
    ("keys.help", "Show every key binding", ("F1", "?")),
)


def _noop() -> None:
    """Stand-in handler of a keyboard command the window has not registered yet."""


def with_keyboard_commands(commands: Iterable[Command]) -> list[Command]:
    """`commands` plus the keyboard layer's own, unless already registered."""
    listed = list(commands)
    known = {c.id for c in listed}
    listed.extend(
        Command(cid, title, _noop, keys)
        for cid, title, keys in KEYBOARD_COMMANDS
        if cid not in known
    )
    return listed


#: Keys the keyboard layer itself answers, and what for; binding a command there is a conflict.
RESERVED: dict[str, str] = {
    "Esc": "going back / closing",
    "Tab": "moving focus and completing names",
    "Backtab": "moving focus back",
    "Return": "running the selected item",
    "Enter": "running the selected item",
    "/": "filtering the focused list",
    "Up": "moving in lists",
    "Down": "moving in lists",
    "Left": "moving in lists",
    "Right": "moving in lists",
}


@dataclass
class Keymap:
    """The outcome of loading: sequence → command id, and every problem in plain words."""

    bindings: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def keys_for(self, command_id: str) -> list[str]:
        """Every sequence bound to a command, in a stable order."""
        return [seq for seq, cid in self.bindings.items() if cid == command_id]


def read_keys_table(path: Path) -> tuple[dict[str, str], list[str]]:
    """The raw `[keys]` table of a TOML file (command id → sequence); missing file is empty."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, []
    except OSError as exc:
        return {}, [f"{path}: cannot read the key map ({exc.strerror or exc}); using default keys"]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: not valid TOML ({exc}); using default keys"]
    except (RecursionError, ValueError):  # thousands of nesting levels or of digits
        return {}, [f"{path}: nesting too deep or a number too long; using default keys"]
    table = data.get("keys", {})
    if not isinstance(table, dict):
        return {}, [f'{path}: [keys] must be a table of command id = "key"; using default keys']
    overrides: dict[str, str] = {}
    problems: list[str] = []
    for cid, value in table.items():
        if isinstance(value, str):
            overrides[cid] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            # Several keys for one command: joined here, split again when building.
            overrides[cid] = "\n".join(value) if value else ""
        elif isinstance(value, dict):
            # `db.failover = "…"` without quotes is a nested table in TOML; say what happened.
            problems.append(
                f'{path}: [keys] {cid}: quote the command id, e.g. "{cid}.…" = "Ctrl+K"'
            )
        else:
            problems.append(
                f'{path}: [keys] {cid!r}: expected a key like "Ctrl+K" (or "" to unbind), '
                f"got {value!r}"
            )
    return overrides, problems


def build_keymap(
    commands: Iterable[Command],
    overrides: Mapping[str, str] | None = None,
    source: str = "the key map",
    reserved: Mapping[str, str] | None = None,
) -> Keymap:
    """Defaults from the commands, replaced per command by `overrides` ("" unbinds).

    Conflicts (two commands on one sequence, a sequence that another one starts with, a remap
    onto a key the keyboard layer needs) and unknown command ids are reported, never silently
    dropped: the first claimant of a contested key keeps it, so the console still starts.
    """
    reserved = RESERVED if reserved is None else reserved
    by_id = {c.id: c for c in commands}
    keymap = Keymap()
    overrides = dict(overrides or {})
    wanted: dict[str, list[tuple[str, str]]] = {}  # id → [(sequence, where it came from)]
    for cid, command in by_id.items():
        wanted[cid] = [(k, "its default key") for k in command.keys]
    for cid, text in overrides.items():
        where = f"{source} [keys]"
        if cid not in by_id:
            hint = _close_ids(cid, by_id)
            keymap.problems.append(
                f"{source}: [keys] names {cid!r}, but there is no such command"
                + (f" (did you mean {hint}?)" if hint else "")
                + "; that line is ignored"
            )
            continue
        seqs: list[tuple[str, str]] = []
        for raw in (t for t in text.split("\n") if t.strip()):
            try:
                seqs.append((normalise(raw), where))
            except KeySequenceError as exc:
                keymap.problems.append(
                    f"{source}: [keys] {cid!r} = {raw!r} is not a key sequence: {exc}"
                )
        # An override replaces the defaults even when part of it was bad: half a remap that
        # still fires the old key would surprise more than a missing key does.
        wanted[cid] = seqs

    owner: dict[str, tuple[str, str]] = {}
    # Overrides first, so a remap wins a key over a default it collides with.
    for cid in sorted(wanted, key=lambda c: (c not in overrides, c)):
        for raw, where in wanted[cid]:
            try:
                seq = normalise(raw)
            except KeySequenceError as exc:
                keymap.problems.append(f"{cid}: {raw!r} ({where}) is not a key sequence: {exc}")
                continue
            if seq in reserved and cid in overrides:
                keymap.problems.append(
                    f"{source}: [keys] {cid!r} = {seq!r}: {seq} is kept for {reserved[seq]}; "
                    f"{cid} is not bound to it"
                )
                continue
            if seq in owner:
                other, other_where = owner[seq]
                if other != cid:
                    keymap.problems.append(
                        f"{source}: {seq} is bound to two commands, {other} ({other_where}) "
                        f"and {cid} ({where}); {other} keeps it, {cid} does not get it"
                    )
                continue
            prefix = _prefix_clash(seq, owner)
            if prefix is not None:
                keymap.problems.append(
                    f"{source}: {seq} ({cid}, {where}) and {prefix} ({owner[prefix][0]}) "
                    f"start with the same key, so Qt could never tell them apart; "
                    f"{owner[prefix][0]} keeps {prefix}, {cid} does not get {seq}"
                )
                continue
            owner[seq] = (cid, where)
            keymap.bindings[seq] = cid
            command = by_id[cid]
            if command.tier >= DangerTier.DANGEROUS and is_bare(seq):
                keymap.problems.append(
                    f"{source}: warning: {cid} ({command.title}) is dangerous and sits on the "
                    f"bare key {seq}; it still asks you to type the target's name, but prefer "
                    "a chord with Ctrl or Alt"
                )
    return keymap


def _prefix_clash(seq: str, owner: Mapping[str, tuple[str, str]]) -> str | None:
    """A bound sequence that is a chord-prefix of `seq`, or that `seq` is a prefix of."""
    chords = _split_chords(seq)
    for other in owner:
        theirs = _split_chords(other)
        shorter, longer = sorted((chords, theirs), key=len)
        if len(shorter) != len(longer) and longer[: len(shorter)] == shorter:
            return other
    return None


def _close_ids(cid: str, ids: Iterable[str]) -> str:
    """Known ids that look like a mistyped `cid`, for the problem message."""
    close = difflib.get_close_matches(cid, list(ids), n=3, cutoff=0.6)
    return " or ".join(repr(c) for c in close)


def load_keymap(path: Path | None, commands: Iterable[Command]) -> tuple[dict[str, str], list[str]]:
    """Bindings (sequence → command id) from the commands' defaults and `path`'s `[keys]`.

    `commands` is the registry (or any iterable of commands): unknown ids can only be told
    from known ones once every command is registered, so call this after wiring.
    """
    if path is None:
        overrides, problems = {}, []
    else:
        overrides, problems = read_keys_table(path)
    keymap = build_keymap(
        with_keyboard_commands(commands), overrides, source=str(path) if path else "the key map"
    )
    return keymap.bindings, [*problems, *keymap.problems]
