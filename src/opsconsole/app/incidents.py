"""The `:incident` commands: open, note, star, move and close the console's one open incident."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opsconsole.app.incidentrecorder import IncidentRecorder
from opsconsole.core.arguments import split_options
from opsconsole.core.audit import AuditLog
from opsconsole.core.clocktext import clock_text
from opsconsole.core.commands import Command, CommandError
from opsconsole.core.durations import parse_duration
from opsconsole.core.incident import (
    TAGS,
    Incident,
    IncidentError,
    IncidentStore,
    Severity,
    default_start,
    minutes_words,
)
from opsconsole.core.investigate import Inputs
from opsconsole.core.investigate.relations import trouble_start
from opsconsole.core.store import Store
from opsconsole.core.timeline import TimelineEntry, TimelineStore
from opsconsole.ui.context import UiContext
from opsconsole.ui.incidentbadge import IncidentBadge
from opsconsole.ui.mainwindow import MainWindow

log = logging.getLogger(__name__)

CONSOLE_BACKEND = "console"  # the timeline's name for the console itself
#: The open's default start looks this far back for the first alert (as `default_start`).
ALERT_LOOKBACK_LIMIT = 500
OPEN_OPTIONS = ("severity", "start")
STATUS_SHOWN_MS = 15_000


def console_clock(store: Store, wall_now: float) -> tuple[str, float]:
    """The backend the incident's lines are written under, and now on its clock.

    With one backend its clock and name, so the incident's lines sort with its alerts and
    the timeline shows no extra Backend column; with several (or none), the console's own."""
    names = list(store.backends)
    if len(names) == 1:
        return names[0], store.server_now(names[0], wall_now)
    return CONSOLE_BACKEND, wall_now


def parse_start(text: str, now: float) -> float:
    """An incident start as the operator writes it: a local clock time ("12:05", "12:05:30",
    the latest one not after now) or how long ago ("-15m", "15m", "1h30m ago")."""
    words = text.strip().casefold().removesuffix("ago").strip()
    if not words:
        raise ValueError("say when: a time such as 12:05, or how long ago such as -15m")
    if ":" in words:
        parts = words.split(":")
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            hour, minute, *second = (int(p) for p in parts)
            moment = datetime.fromtimestamp(now).replace(
                hour=hour, minute=minute, second=second[0] if second else 0, microsecond=0
            )
        except ValueError:
            raise ValueError(
                f"{text!r} is not a time of day; write e.g. 12:05 or 12:05:30"
            ) from None
        if moment.timestamp() > now:
            moment -= timedelta(days=1)  # "23:50" typed just after midnight: last night
        return moment.timestamp()
    seconds = parse_duration(words.removeprefix("-").strip())
    return now - seconds


def match_tag(text: str) -> str:
    """A star's tag from what was typed: a tag or its start ("diag", "key")."""
    words = " ".join(text.casefold().split())
    if not words:
        return "key moment"
    found = [t for t in TAGS if t == words] or [t for t in TAGS if t.startswith(words)]
    if len(found) != 1:
        raise CommandError(f"no star tag {text!r}; one of: {', '.join(TAGS)}")
    return found[0]


def current_episode(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """The alert lines since the last moment nothing was firing: the firings that belong to
    what is happening now, not an alert of an hour ago that has resolved since."""
    episode: list[TimelineEntry] = []
    firing: set[str] = set()
    for entry in sorted(entries, key=lambda e: (e.ts, e.id)):
        alert = f"{entry.backend}:{entry.data.get('alert_id')}"
        change = entry.data.get("change")
        if change == "fired":
            firing.add(alert)
            episode.append(entry)
        elif change == "resolved" and alert in firing:
            firing.discard(alert)
            if not firing:
                episode = []
    return episode


def deviation_start(store: Store, backend: str, service: str | None) -> float | None:
    """When `service`'s errors or p99 went over its limits in their newest run (None when
    they are within them, or the console holds nothing of it)."""
    if not service or backend not in store.backends:
        return None
    found = trouble_start(Inputs(store, backend, service, math.inf), service)
    return None if found is None else found[0]


@dataclass
class IncidentCommands:
    """The five commands' handlers over the store, the timeline and the audit log."""

    ctx: UiContext
    incidents: IncidentStore
    timeline: TimelineStore
    audit: AuditLog
    selected_entry: Callable[[], TimelineEntry | None]
    on_entry: Callable[[TimelineEntry], None]
    say: Callable[[str], None]

    def now(self) -> float:
        return console_clock(self.ctx.store, self.ctx.wall_clock())[1]

    # ------------------------------------------------------------ the commands

    def open(
        self, comment: str = "", severity: str | None = None, start: str | None = None
    ) -> Incident:
        title, options = split_options(comment, OPEN_OPTIONS)
        severity = severity or options.get("severity")
        start = start or options.get("start")
        if not title:
            raise CommandError("an incident needs a title: :incident open TITLE [--severity SEV2]")
        try:
            level = Severity.SEV3 if severity is None else Severity.parse(severity)
        except ValueError:
            raise CommandError(f"no severity {severity!r}; one of SEV1, SEV2, SEV3, SEV4") from None
        already = self.incidents.current()
        if already is not None:
            raise CommandError(
                f"incident {already.id} ({already.severity.value} {already.title}) is still "
                "open; close it first (:incident close)"
            )
        now = self.now()
        start_ts = self._start_from(start, now) if start else self._default_start(now)
        incident = self._apply(lambda: self.incidents.open(title, level, start_ts, now))
        self._told(
            incident,
            "incident.open",
            {"title": title, "severity": level.value, "start": incident.start_ts},
            f"Incident opened: {level.value} {title} (start {clock_text(incident.start_ts)})",
        )
        return incident

    def note(self, comment: str = "") -> Incident:
        text = comment.strip()
        if not text:
            raise CommandError("a note needs words: :incident note TEXT")
        incident = self._apply(lambda: self.incidents.note(text, self.now()))
        self._told(incident, "incident.note", {"text": text}, f"Note: {text}")
        return incident

    def star(self, comment: str = "", tag: str | None = None) -> Incident:
        chosen = match_tag(tag if tag is not None else comment)
        entry = self.selected_entry()
        if entry is None or entry.id <= 0:
            raise CommandError("select a timeline entry first, then :incident star")
        incident = self._apply(lambda: self.incidents.star(entry.id, chosen))
        self._told(
            incident,
            "incident.star",
            {"entry_id": entry.id, "tag": chosen, "message": entry.message},
            f"Starred ({chosen}): {entry.message}",
        )
        return incident

    def start(self, comment: str = "") -> Incident:
        now = self.now()
        start_ts = self._start_from(comment, now)
        was = self.incidents.current()
        incident = self._apply(lambda: self.incidents.move_start(start_ts))
        before = f" (was {clock_text(was.start_ts)})" if was is not None else ""
        self._told(
            incident,
            "incident.start",
            {"start": incident.start_ts, "was": None if was is None else was.start_ts},
            f"Incident start moved to {clock_text(incident.start_ts)}{before}",
        )
        return incident

    def close(self, comment: str = "") -> Incident:
        if comment.strip():
            self.note(comment)  # closing words are kept as the last note
        incident = self._apply(lambda: self.incidents.close_incident(self.now()))
        end = incident.end_ts if incident.end_ts is not None else self.now()
        duration = end - incident.start_ts
        self._told(
            incident,
            "incident.close",
            {"end": end, "duration_s": round(duration, 3)},
            f"Incident closed after {minutes_words(duration)}",
        )
        return incident

    # ------------------------------------------------------------ helpers

    def _start_from(self, text: str, now: float) -> float:
        try:
            start_ts = parse_start(text, now)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not math.isfinite(start_ts):
            raise CommandError(f"{text!r} is no time the incident can start at")
        return start_ts

    def _default_start(self, now: float) -> float:
        """The first alert of what is firing now, or the moment its service's errors or p99
        first went over their limits if that came earlier (an alert waits out its `for`);
        with nothing firing, the earliest alert of the look-back window (as `default_start`);
        now when there was none."""
        alerts = self.timeline.recent(ALERT_LOOKBACK_LIMIT, kinds=("alert",))
        episode = current_episode(alerts)
        deviations = [deviation_start(self.ctx.store, e.backend, e.service) for e in episode]
        return default_start(episode or alerts, now, [t for t in deviations if t is not None])

    def _apply(self, change: Callable[[], Incident | None]) -> Incident:
        try:
            incident = change()
        except IncidentError as exc:
            raise CommandError(_sentence(str(exc))) from None
        if incident is None:
            raise CommandError("the incident could not be saved (the log says why)")
        return incident

    def _told(
        self, incident: Incident, command_id: str, args: dict[str, Any], message: str
    ) -> None:
        """The change in the audit log, on the timeline and in the status bar."""
        record = {"phase": "incident", "command": command_id, "target": str(incident.id)}
        unaudited = ""
        try:
            self.audit.append({**record, "args": args})
        except OSError as exc:
            log.error("audit log %s cannot be written: %s", self.audit.path, exc)
            unaudited = f" (not in the audit log: {exc.strerror or exc})"
        backend, ts = console_clock(self.ctx.store, self.ctx.wall_clock())
        entry = TimelineEntry(
            ts=ts,
            backend=backend,
            kind="incident",
            message=message,
            data={"incident": incident.id, "command": command_id, **args},
        )
        stored = self.timeline.append(entry)
        if stored is not None:
            self.on_entry(stored)
        self.say(f"Incident {incident.id}: {message}{unaudited}")


def _sentence(text: str) -> str:
    """The store's refusal as the console says it ("no incident is open; …")."""
    if text == "no incident is open":
        return "no incident is open; open one with :incident open TITLE"
    return text


def register_incident_commands(commands: IncidentCommands) -> None:
    """The five commands in the console's registry (mutating: the wall refuses them)."""
    registry = commands.ctx.commands
    table = (
        ("incident.open", "Incident: open one", commands.open, "title; --severity SEV1..SEV4"),
        ("incident.note", "Incident: add a note", commands.note, "words kept with the incident"),
        (
            "incident.star",
            "Incident: star the selected timeline entry",
            commands.star,
            "tag: detection, diagnosis, repair or key moment (the default)",
        ),
        (
            "incident.start",
            "Incident: move its start",
            commands.start,
            "a time such as 12:05, or how long ago such as -15m",
        ),
        ("incident.close", "Incident: close it", commands.close, "optional closing words"),
    )
    for command_id, title, handler, description in table:
        if command_id not in registry:
            registry.register(
                Command(command_id, title, handler, mutating=True, description=description)
            )


@dataclass
class IncidentKit:
    """What one console holds of incidents: the store, its recorder, the badge, the commands."""

    store: IncidentStore
    recorder: IncidentRecorder
    badge: IncidentBadge
    commands: IncidentCommands

    def close(self) -> None:
        self.badge.detach()
        self.recorder.close()
        self.store.close()


def install_incidents(
    ctx: UiContext,
    window: MainWindow,
    timeline: TimelineStore,
    audit: AuditLog,
    path: Path | None,
) -> IncidentKit:
    """The incident store beside the timeline (`None`: in memory), the five commands, the
    status bar's badge and the recorder of the incident's own record."""
    store = IncidentStore(path)

    def now() -> float:
        return console_clock(ctx.store, ctx.wall_clock())[1]

    commands = IncidentCommands(
        ctx,
        store,
        timeline,
        audit,
        selected_entry=window.timeline.selected_entry,
        on_entry=window.timeline_entry_added,
        say=lambda text: window.statusBar().showMessage(text, STATUS_SHOWN_MS),
    )
    register_incident_commands(commands)
    badge = IncidentBadge(store, now, window)
    # Leftmost of the permanent items: temporary messages never cover it.
    window.statusBar().insertPermanentWidget(0, badge)
    # Not the window's child: its timers stop in `close`, even after the window is gone.
    recorder = IncidentRecorder(ctx.store, store, now)
    return IncidentKit(store, recorder, badge, commands)
