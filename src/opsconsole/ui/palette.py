"""The command palette (Ctrl+K): fuzzy search over every command, then its arguments in turn."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.actions import (
    ALERTMANAGER,
    SPECS,
    backend_kind,
    build_intent,
    check_preconditions,
    utc_clock,
)
from opsconsole.core.cmdline import COMMAND_ARGS, DURATIONS, SCENARIOS, Arg, kwarg
from opsconsole.core.commands import Command, CommandError, DangerTier
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.fuzzy import rank
from opsconsole.core.store import BackendState
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.overlay import Overlay, claim_shortcut_override

log = logging.getLogger(__name__)

TIER_WORDS = {
    DangerTier.SAFE: "",
    DangerTier.CONFIRM: "confirm",
    DangerTier.DANGEROUS: "dangerous: type the name",
}
ARG_PROMPTS = {
    Arg.BACKEND: "backend",
    Arg.CLUSTER: "cluster",
    Arg.MEMBER: "member",
    Arg.ON_OFF: "read-only on or off",
    Arg.CIRCUIT: "circuit",
    Arg.ALERT: "alert",
    Arg.COMMENT: "comment (optional; Enter to go on)",
    Arg.LAYOUT: "layout",
    Arg.SCENARIO: "scenario",
    Arg.TARGET: "target (optional)",
    Arg.DURATION: "duration (pick, or type one such as 90m)",
    Arg.SILENCE: "silence",
}
COMMAND_HINT = "type to search commands — Enter runs, Esc closes"
#: Steps whose answer may be typed rather than picked.
FREE_TEXT = frozenset({Arg.COMMENT, Arg.TARGET, Arg.LAYOUT, Arg.DURATION})
#: Arguments naming something one backend holds: the backend is asked for first.
HELD = (Arg.CLUSTER, Arg.CIRCUIT, Arg.ALERT, Arg.SILENCE)
#: Commands only an Alertmanager backend can carry out.
ALERTMANAGER_ONLY = frozenset({"alert.silence", "silence.expire"})
#: A silence's length assumed while judging alerts, before the operator picks one.
JUDGE_DURATION = "1h"
#: Commands that run at once and cannot be taken back: Enter lands on them only when the
#: operator typed their name, never as the best guess for an empty or unrelated query.
NOT_BY_DEFAULT = frozenset({"app.quit", "layout.reset"})
#: A choice meaning "leave this optional argument out".
DEFAULT = object()


@dataclass(frozen=True)
class Row:
    """One line of the palette: a command or an argument value."""

    value: Any
    label: str
    detail: str = ""
    keys: str = ""
    enabled: bool = True
    reason: str = ""  # why it is greyed
    search: tuple[str, ...] = ()  # texts the filter matches (label and value when empty)


@dataclass
class _Answer:
    arg: Arg
    value: Any
    auto: bool  # filled in because there was only one choice; Esc skips over it


@dataclass
class _Pending:
    command: Command
    answers: list[_Answer] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in self.answers:
            if a.value is not DEFAULT:
                out[kwarg(a.arg)] = a.value
        return out


class _Edit(QLineEdit):
    """The palette's search line: arrows, Enter and Esc steer the list, text filters it."""

    def __init__(self, palette: CommandPalette) -> None:
        super().__init__(palette)
        self._palette = palette

    def event(self, event: QEvent) -> bool:
        if claim_shortcut_override(event):
            return True
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and self._palette.handle_key(event)
        ):
            return True
        return super().event(event)


class CommandPalette(Overlay):
    """Ctrl+K: every command by fuzzy title or id, its keys beside it; Enter runs.

    A command that needs arguments (the action commands) asks for them in the same popup, from
    the live names (backend when there are several, then circuit, or cluster then member, or
    alert), then runs through `ctx.commands.run`, whose pipeline asks for confirmation.
    Esc goes back one step, and closes from the first.
    """

    ran = Signal(str, object)  # command id, kwargs

    def __init__(
        self,
        ctx: UiContext,
        host: QWidget,
        keys_for: Callable[[str], Sequence[str]] = lambda _cid: (),
        *,
        layouts: Callable[[], Iterable[str]] | None = None,
        notify: Callable[[str], None] | None = None,
        hidden: Iterable[str] = ("keys.palette",),
    ) -> None:
        super().__init__(host, "command_palette")
        self.ctx = ctx
        self.keys_for = keys_for
        self.layouts = layouts
        self.notify = notify or (lambda message: log.warning("%s", message))
        self.hidden = frozenset(hidden)
        self.last_result: Any = None  # what the last run returned (an action's task)
        self._pending: _Pending | None = None
        self._rows: list[Row] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.prompt = QLabel("Command")
        self.prompt.setObjectName("palette_prompt")
        self.prompt.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(self.prompt)
        self.edit = _Edit(self)
        self.edit.setObjectName("palette_edit")
        self.edit.setPlaceholderText(COMMAND_HINT)
        self.edit.textEdited.connect(lambda _t: self._refill())
        layout.addWidget(self.edit)
        self.list = QTreeWidget(self)
        self.list.setObjectName("palette_list")
        self.list.setColumnCount(3)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay in the search line
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(lambda *_: self._show_reason())
        self.list.itemClicked.connect(lambda *_: self.accept_current())
        layout.addWidget(self.list)
        self.status = QLabel("")
        self.status.setObjectName("palette_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    # ------------------------------------------------------------ Overlay

    def placement(self, area: QRect) -> QRect:
        width = min(760, max(320, area.width() - 40))
        height = min(460, max(200, area.height() - 40))
        return QRect(area.left() + (area.width() - width) // 2, area.top() + 24, width, height)

    def focus_target(self) -> QWidget:
        return self.edit

    # ------------------------------------------------------------ public

    def open_palette(self) -> None:
        """Open at the command list (or bring it back to it)."""
        self._pending = None
        self.edit.clear()
        self._refill()
        self.open_overlay()

    def open_for(self, command_id: str) -> None:
        """Open at the first argument step of one command (a key bound to an action)."""
        self.open_palette()
        self._choose_command(self.ctx.commands.get(command_id))

    @property
    def step(self) -> Arg | None:
        """The argument being asked for, or None at the command list."""
        return self._next_arg() if self._pending is not None else None

    def rows(self) -> list[Row]:
        """The rows shown now, in order (tests and accessibility read them)."""
        return list(self._rows)

    def current_row(self) -> Row | None:
        item = self.list.currentItem()
        if item is None:
            return None
        index = self.list.indexOfTopLevelItem(item)
        return self._rows[index] if 0 <= index < len(self._rows) else None

    # ------------------------------------------------------------ keys

    def handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.back()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_current()
            return True
        moves = {
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_Tab: 1,
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_Backtab: -1,
            Qt.Key.Key_PageDown: 8,
            Qt.Key.Key_PageUp: -8,
        }
        if key in moves:
            self._move(moves[key])
            return True
        return False

    def _move(self, delta: int) -> None:
        count = self.list.topLevelItemCount()
        if not count:
            return
        item = self.list.currentItem()
        index = self.list.indexOfTopLevelItem(item) if item is not None else -1
        index = max(0, min(count - 1, index + delta))
        self.list.setCurrentItem(self.list.topLevelItem(index))

    def back(self) -> None:
        """Esc: undo the last answer; at the command list, close."""
        pending = self._pending
        if pending is None:
            self.close_overlay()
            return
        manual = [i for i, a in enumerate(pending.answers) if not a.auto]
        if not manual:
            self._pending = None
            self.edit.clear()
            self._refill(select=pending.command.id)
            return
        undone = pending.answers[manual[-1]]
        del pending.answers[manual[-1] :]
        self.edit.clear()
        self._refill(select=undone.value)

    def accept_current(self) -> None:
        if self._pending is None:
            row = self.current_row()
            if row is None:
                self._say(
                    "type a command's name, or ↓ to pick one; Esc closes"
                    if self._rows
                    else "no command matches; Esc closes"
                )
                return
            if not row.enabled:
                self._say(f"{row.label}: {row.reason}")
                return
            self._choose_command(self.ctx.commands.get(row.value))
            return
        arg = self._next_arg()
        assert arg is not None
        row = self.current_row()
        text = self.edit.text().strip()
        if arg is Arg.COMMENT:
            value: Any = text
        elif arg is Arg.DURATION and text:
            # What was typed wins over the nearest suggestion ("5m" must not become "15m");
            # the pipeline refuses a text that is no duration, in words.
            value = text
        elif row is None:
            if arg in FREE_TEXT and text:
                value = text
            elif arg in FREE_TEXT and arg is Arg.TARGET:
                value = DEFAULT
            else:
                self._say(f"nothing matches {text!r}; Esc goes back")
                return
        elif not row.enabled:
            self._say(f"{row.label}: {row.reason}")
            return
        else:
            value = row.value
        self._pending.answers.append(_Answer(arg, value, auto=False))
        self.edit.clear()
        self._advance()

    # ------------------------------------------------------------ steps

    def _choose_command(self, command: Command) -> None:
        if not command.is_enabled():
            self._say(f"{command.title} is not available now")
            return
        self._pending = _Pending(command)
        self.edit.clear()
        self._advance()

    def _args(self) -> tuple[Arg, ...]:
        assert self._pending is not None
        args = COMMAND_ARGS.get(self._pending.command.id, ())
        if args and args[0] in HELD:
            return (Arg.BACKEND, *args)
        return args

    def _next_arg(self) -> Arg | None:
        assert self._pending is not None
        answered = {a.arg for a in self._pending.answers}
        return next((a for a in self._args() if a not in answered), None)

    def _advance(self) -> None:
        """Ask the next question, filling in single-choice backends; run when all answered."""
        pending = self._pending
        assert pending is not None
        while (arg := self._next_arg()) is Arg.BACKEND:
            rows = self._choices(arg)
            if len(rows) != 1:
                break
            pending.answers.append(_Answer(arg, rows[0].value, auto=True))
        if arg is None:
            self._run(pending.command, pending.kwargs())
            return
        self._refill()

    def _run(self, command: Command, kwargs: dict[str, Any]) -> None:
        # Close first: the command may open something that wants the focus (the confirmation,
        # the key help), and the palette must not take it back afterwards.
        self._pending = None
        self.close_overlay()
        try:
            self.last_result = self.ctx.commands.run(command.id, **kwargs)
        except CommandError as exc:
            self.notify(str(exc))
            return
        except Exception as exc:  # a handler's bug must not take the console down
            log.exception("command %s failed", command.id)
            self.notify(f"{command.title} failed: {exc}")
            return
        self.ran.emit(command.id, kwargs)

    # ------------------------------------------------------------ rows

    def _refill(self, select: Any = None) -> None:
        query = self.edit.text()
        note = ""
        if self._pending is None:
            self.prompt.setText("Command")
            self.edit.setPlaceholderText(COMMAND_HINT)
            rows = self._command_rows()
        else:
            arg = self._next_arg()
            assert arg is not None
            chosen = " › ".join(
                str(a.value) for a in self._pending.answers if a.value is not DEFAULT
            )
            self.prompt.setText(
                f"{self._pending.command.title} › "
                + (f"{chosen} › " if chosen else "")
                + ARG_PROMPTS[arg]
            )
            self.edit.setPlaceholderText(
                "type a comment"
                if arg is Arg.COMMENT
                else "type a duration (e.g. 90m) or pick one — Esc goes back"
                if arg is Arg.DURATION
                else "type to filter — Enter picks, Esc goes back"
            )
            rows = self._choices(arg)
            if not rows and arg not in FREE_TEXT:
                note = self._nothing_to_pick(arg)
        ranked = rank(query, rows, lambda r: r.search or (r.label, str(r.value)))
        self._rows = [r.item for r in ranked]
        self.list.clear()
        dim = QBrush(QColor(theme.TEXT_DIM))
        for row in self._rows:
            item = QTreeWidgetItem([row.label, row.detail, row.keys])
            item.setForeground(1, dim)
            item.setForeground(2, QBrush(QColor(theme.ACCENT)))
            if not row.enabled:
                # Greyed, still selectable: the reason shows when the operator lands on it.
                for col in range(3):
                    item.setForeground(col, dim)
                item.setToolTip(0, row.reason)
            self.list.addTopLevelItem(item)
        target = self._default_row(query)
        if select is not None:
            target = next((i for i, r in enumerate(self._rows) if r.value == select), target)
        if target is not None:
            self.list.setCurrentItem(self.list.topLevelItem(target))
        if note:
            self._say(note)
        else:
            self._show_reason()

    def _default_row(self, query: str) -> int | None:
        """The row Enter picks before any arrow key: never Quit by accident.

        At the command list an empty query selects nothing (Enter then only says how to pick);
        a typed query lands on the best enabled match, except a command in NOT_BY_DEFAULT,
        which only the query that plainly names it lands on ("qu", "quit", "app.quit").
        Argument steps land on the first row that can be chosen: Enter on a greyed default
        would only repeat its reason, and every action still asks for confirmation.
        """
        rows = self._rows
        if self._pending is not None:
            return next((i for i, r in enumerate(rows) if r.enabled), 0 if rows else None)
        words = query.casefold().split()
        if not words:
            return None
        for i, row in enumerate(rows):
            if not row.enabled:
                continue
            if row.value not in NOT_BY_DEFAULT or (i == 0 and _names(query, row)):
                return i
        # Only greyed matches: land on the best one, so its reason shows (Enter runs nothing).
        return 0 if rows and rows[0].value not in NOT_BY_DEFAULT else None

    def _show_reason(self) -> None:
        row = self.current_row()
        if row is not None and not row.enabled:
            self._say(f"{row.label}: {row.reason}")
        elif self._pending is not None and self._next_arg() is Arg.COMMENT:
            self._say("type a comment, or Enter for none")
        else:
            self._say("")

    def _say(self, text: str) -> None:
        self.status.setText(text)
        colour = theme.STATE_COLOURS[theme.Health.WARNING] if text else theme.TEXT_DIM
        self.status.setStyleSheet(f"color: {colour};")

    def _command_rows(self) -> list[Row]:
        rows = []
        for command in self.ctx.commands:
            if command.id in self.hidden:
                continue
            reason = self._command_reason(command)
            tier = TIER_WORDS[command.tier]
            rows.append(
                Row(
                    command.id,
                    command.title,
                    command.id + (f" · {tier}" if tier else ""),
                    "  ".join(self.keys_for(command.id)),
                    enabled=reason is None,
                    reason=reason or "",
                    search=(command.title, command.id),
                )
            )
        return rows

    def _command_reason(self, command: Command) -> str | None:
        if not command.is_enabled():
            return "not available now"
        args = COMMAND_ARGS.get(command.id, ())
        if command.id in ALERTMANAGER_ONLY and not any(
            backend_kind(s) == ALERTMANAGER for s in self._states()
        ):
            return "no Alertmanager backend is configured"
        held = args and args[0] in HELD
        if held and not any(self._holds(state, args[0]) for state in self._suited(command.id)):
            what = {
                Arg.CLUSTER: "database clusters",
                Arg.CIRCUIT: "circuits",
                Arg.SILENCE: "silences",
            }.get(args[0], "alerts")
            return f"no {what} known yet (is a backend live?)"
        return None

    # ------------------------------------------------------------ argument choices

    def _states(self) -> list[BackendState]:
        return [s for _, s in sorted(self.ctx.store.backends.items())]

    def _suited(self, command_id: str) -> list[BackendState]:
        """The backends that can carry out this command at all (silences: Alertmanager)."""
        states = self._states()
        if command_id in ALERTMANAGER_ONLY:
            return [s for s in states if backend_kind(s) == ALERTMANAGER]
        return states

    @staticmethod
    def _holds(state: BackendState, arg: Arg) -> bool:
        return bool(
            {
                Arg.CLUSTER: state.clusters,
                Arg.CIRCUIT: state.circuits,
                Arg.ALERT: state.alerts,
                Arg.SILENCE: state.silences,
            }[arg]
        )

    def _backend(self) -> BackendState:
        assert self._pending is not None
        name = next(a.value for a in self._pending.answers if a.arg is Arg.BACKEND)
        return self.ctx.store.backend(name)

    def _answer(self, arg: Arg) -> Any:
        assert self._pending is not None
        return next(a.value for a in self._pending.answers if a.arg is arg)

    def _blocked(self, extra: dict[str, Any]) -> str | None:
        """The pipeline's own precondition verdict for the intent these answers make."""
        assert self._pending is not None
        cid = self._pending.command.id
        if cid not in SPECS:
            return None
        kw = {**self._pending.kwargs(), **extra}
        if cid == "alert.silence":
            kw.setdefault("duration", JUDGE_DURATION)
        intent = build_intent(cid, kw.pop("backend"), **kw)
        blocked = check_preconditions(intent, self.ctx.store)
        return None if blocked is None else blocked.message

    def _choices(self, arg: Arg) -> list[Row]:
        assert self._pending is not None
        first = self._args()[1] if self._args()[0] is Arg.BACKEND else None
        if arg is Arg.BACKEND:
            return [
                Row(s.name, s.name, s.link.state.value)
                for s in self._suited(self._pending.command.id)
                if first is None or self._holds(s, first)
            ]
        if arg is Arg.CLUSTER:
            return [
                Row(
                    c.name,
                    c.name,
                    f"{c.state} · primary {c.primary or 'none'}"
                    + (" · read-only" if c.read_only else ""),
                    **self._verdict({"cluster": c.name}, final=Arg.CLUSTER),
                )
                for c in self._backend().clusters.values()
            ]
        if arg is Arg.MEMBER:
            cluster = self._backend().clusters.get(self._answer(Arg.CLUSTER))
            members = cluster.members if cluster is not None else ()
            return [
                Row(
                    m.name,
                    m.name,
                    f"{m.role} · {'healthy' if m.healthy else 'UNHEALTHY'} · "
                    f"lag {human_bytes(m.lag_bytes)} · timeline {m.timeline}",
                    **self._verdict({"member": m.name}, final=Arg.MEMBER),
                )
                for m in members
            ]
        if arg is Arg.ON_OFF:
            cluster = self._backend().clusters.get(self._answer(Arg.CLUSTER))
            now = "on" if cluster is not None and cluster.read_only else "off"
            return [
                Row(
                    value,
                    word,
                    f"read-only is {now} now",
                    **self._verdict({"enabled": value}, final=Arg.ON_OFF),
                )
                for word, value in (("on", True), ("off", False))
            ]
        if arg is Arg.CIRCUIT:
            return [
                Row(
                    c.name,
                    c.name,
                    c.state.replace("_", " "),
                    **self._verdict({"name": c.name}, final=Arg.CIRCUIT),
                )
                for c in sorted(self._backend().circuits.values(), key=lambda c: c.name)
            ]
        if arg is Arg.ALERT:
            alerts = sorted(
                self._backend().alerts.values(),
                key=lambda a: (a.state != "firing", bool(a.acked_by), -a.since_ts, a.id),
            )
            return [
                Row(
                    a.id,
                    a.id,
                    f"{a.severity} · {a.state} · {a.service} · {a.summary or a.rule}"
                    + (f" · acked by {a.acked_by}" if a.acked_by else "")
                    + (" · silenced" if a.silenced_by else ""),
                    search=(a.id, a.service, a.rule, a.summary),
                    **self._verdict({"alert": a.id}, final=Arg.ALERT),
                )
                for a in alerts
            ]
        if arg is Arg.SILENCE:
            silences = sorted(
                self._backend().silences.values(),
                key=lambda s: (s.state == "expired", -s.ends_ts, s.id),
            )
            return [
                Row(
                    s.id,
                    s.id,
                    f"{s.state} · until {utc_clock(s.ends_ts)} · by {s.created_by or '?'} · "
                    + ", ".join(f"{m.name}={m.value}" for m in s.matchers),
                    search=(s.id, s.created_by, s.comment, *(m.value for m in s.matchers)),
                    **self._verdict({"silence": s.id}, final=Arg.SILENCE),
                )
                for s in silences
            ]
        if arg is Arg.DURATION:
            return [Row(d, d, "or type another, e.g. 90m") for d in DURATIONS]
        if arg is Arg.COMMENT:
            return []
        if arg is Arg.LAYOUT:
            names = list(self.layouts()) if self.layouts is not None else []
            return [Row(n, n) for n in names]
        if arg is Arg.SCENARIO:
            return [Row(n, n.replace("_", " ")) for n in SCENARIOS]
        if arg is Arg.TARGET:
            rows = [Row(DEFAULT, "(the scenario's default target)")]
            seen: set[str] = set()
            for s in self._states():
                for name in [*s.services, *s.circuits] + [
                    m.name for c in s.clusters.values() for m in c.members
                ]:
                    if name not in seen:
                        seen.add(name)
                        rows.append(Row(name, name))
            return rows
        return []

    def _verdict(self, extra: dict[str, Any], final: Arg) -> dict[str, Any]:
        """Greyed-with-reason fields for a row whose choice completes the intent."""
        # The duration and comment do not decide whether an action may run on this target.
        args = [a for a in self._args() if a not in (Arg.BACKEND, Arg.COMMENT, Arg.DURATION)]
        if not args or args[-1] is not final:
            return {}
        reason = self._blocked(extra)
        return {} if reason is None else {"enabled": False, "reason": reason}

    @staticmethod
    def _nothing_to_pick(arg: Arg) -> str:
        return f"there is no {ARG_PROMPTS[arg]} to pick; Esc goes back"


def _names(query: str, row: Row) -> bool:
    """True when the query plainly names the row: it starts the title, or a part of the id."""
    needle = query.strip().casefold()
    if len(needle) < 2:
        return False
    texts = [row.label.casefold(), str(row.value).casefold()]
    texts += str(row.value).casefold().split(".")
    return any(text.startswith(needle) for text in texts)
