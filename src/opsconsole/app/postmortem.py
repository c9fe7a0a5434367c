"""`opsconsole postmortem` and `:postmortem`: read an incident's records, write its draft."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsconsole.core.audit import AUDIT_FILE, read_records
from opsconsole.core.incident import INCIDENTS_FILE, Incident, IncidentStore
from opsconsole.core.paths import data_dir
from opsconsole.core.timeline import TimelineEntry, TimelineStore
from opsconsole.core.timeline.store import TIMELINE_FILE

# The draft's own modules (core.postmortem, the audit CLI's redaction) are imported when a
# draft is written: the console registers the command at every start (~10 ms of imports).
if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

    from opsconsole.app.postmortemplot import Marker
    from opsconsole.core.postmortem import PostmortemFacts
    from opsconsole.ui.context import UiContext

COMMAND_ID = "incident.postmortem"
MARKDOWN_FILE, HTML_FILE = "postmortem.md", "postmortem.html"
POSTMORTEMS_DIR = "postmortems"  # in the data folder, for `:postmortem`
# Enough for any incident's range: the store reads newest first and has no time filter.
TIMELINE_READ_LIMIT = 200_000
EXIT_CODES = """\
exit codes:
  0  the draft was written (records that could not be read are named in it)
  1  no such incident, or no incidents file to read
  2  wrong arguments
"""


@dataclass(frozen=True)
class Written:
    """What one draft wrote: the folder, the Markdown, the HTML and the chart files."""

    folder: Path
    markdown: Path
    html: Path
    charts: tuple[Path, ...]


def chart_name(service: str) -> str:
    """ "signals-orders.png": safe on every system."""
    return "signals-" + re.sub(r"[^A-Za-z0-9._-]+", "_", service) + ".png"


def read_audit(path: Path) -> tuple[list[dict[str, Any] | None], bool]:
    """The audit records (None for a damaged line), credentials in their words masked; and
    whether the log could be read at all."""
    try:
        records = [record for _, record in read_records(path, complete_only=True)]
    except OSError:
        return [], False
    return [_masked(r) for r in records], True


def _masked(record: dict[str, Any] | None) -> dict[str, Any] | None:
    from opsconsole.app.auditcli import redact

    if record is None:
        return None
    return {
        **record,
        **{k: redact(v) for k in ("message", "target") if isinstance(v := record.get(k), str)},
    }


def read_timeline(store: TimelineStore | None) -> tuple[list[TimelineEntry], bool]:
    if store is None:
        return [], False
    return store.recent(limit=TIMELINE_READ_LIMIT), True


def write_postmortem(
    incident: Incident,
    incidents: IncidentStore,
    timeline: tuple[list[TimelineEntry], bool],
    audit: tuple[list[dict[str, Any] | None], bool],
    out: Path,
    now: float,
) -> Written:
    """The charts (one PNG per affected service), then the Markdown and HTML that show them."""
    from opsconsole.app.postmortemplot import chart_window, render_signals
    from opsconsole.core.postmortem import (
        document_html,
        document_markdown,
        draft,
        gather_facts,
        incident_impact,
    )

    entries, timeline_read = timeline
    records, audit_read = audit
    facts = gather_facts(
        incident,
        entries,
        records,
        incidents.samples(incident.id),
        incidents.slo_snapshots(incident.id),
        now,
        timeline_read=timeline_read,
        audit_read=audit_read,
    )
    out.mkdir(parents=True, exist_ok=True)
    window = chart_window(facts.start, facts.end)
    markers = chart_markers(facts)
    charts: dict[str, str] = {}
    for impact in incident_impact(facts):
        name = chart_name(impact.service)
        mine = [s for s in facts.samples if s.service == impact.service]
        render_signals(impact.service, mine, window, markers, out / name)
        charts[impact.service] = name
    doc = draft(facts, charts, now)
    markdown, html = out / MARKDOWN_FILE, out / HTML_FILE
    markdown.write_text(document_markdown(doc), encoding="utf-8")
    html.write_text(document_html(doc), encoding="utf-8")
    return Written(out, markdown, html, tuple(out / n for n in charts.values()))


def chart_markers(facts: PostmortemFacts) -> list[Marker]:
    """The start, each operator action's outcome, the recovery and the close."""
    from opsconsole.app.postmortemplot import Marker
    from opsconsole.core.postmortem import incident_times

    markers = [Marker(facts.start, "start", "start")]
    markers.extend(
        Marker(a.ts, f"{a.command} {a.target}: {a.outcome}".strip(), "action")
        for a in facts.actions
    )
    times = incident_times(facts)
    if times.recovery_entry is not None:
        markers.append(Marker(times.recovery_entry.ts, "recovered", "recovery"))
    if facts.incident.end_ts is not None:
        markers.append(Marker(facts.incident.end_ts, "closed", "end"))
    return markers


# ---------------------------------------------------------------- the command line


def _incident_arg(text: str) -> int | str:
    if text.strip().lower() == "last":
        return "last"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: an incident number, or 'last'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: incident numbers start at 1")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="opsconsole postmortem",
        description="Write an incident's post-mortem draft (postmortem.md, postmortem.html "
        "and a golden-signals PNG per affected service) from the console's own records: the "
        "incidents file, the timeline and the audit log in the data folder.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("incident", type=_incident_arg, help="the incident's number, or 'last'")
    p.add_argument("--out", metavar="DIR", type=Path, help="where (default ./postmortem-ID/)")
    p.add_argument(
        "--data-dir",
        metavar="D",
        type=Path,
        default=None,
        help=f"the console's data folder (default {data_dir()})",
    )
    return p


def find_incident(store: IncidentStore, which: int | str) -> Incident | None:
    if which == "last":
        recent = store.recent(1)
        return recent[0] if recent else None
    return store.get(int(which))


def postmortem_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or wrong arguments (2)
        return int(exc.code or 0)
    folder: Path = args.data_dir or data_dir()
    incidents_path = folder / INCIDENTS_FILE
    if not incidents_path.is_file():
        print(f"opsconsole postmortem: no incidents file at {incidents_path}", file=sys.stderr)
        return 1
    # Qt draws the charts without a screen: set before anything imports it.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    incidents = IncidentStore(incidents_path)
    timeline_path = folder / TIMELINE_FILE
    timeline = TimelineStore(timeline_path) if timeline_path.is_file() else None
    try:
        incident = find_incident(incidents, args.incident)
        if incident is None:
            what = "no incident yet" if args.incident == "last" else f"no incident {args.incident}"
            print(f"opsconsole postmortem: {what} in {incidents_path}", file=sys.stderr)
            return 1
        out: Path = args.out or Path(f"postmortem-{incident.id}")
        audit_path = folder / AUDIT_FILE
        # An open incident runs to now, or to its newest sample when the backend's clock
        # (the incident's) runs ahead of this computer's.
        now = max(time.time(), incidents.last_sample_ts(incident.id) or 0.0)
        written = write_postmortem(
            incident,
            incidents,
            read_timeline(timeline),
            read_audit(audit_path),
            out,
            now,
        )
    finally:
        incidents.close()
        if timeline is not None:
            timeline.close()
    for note in _unread(timeline is None, audit_path):
        print(f"opsconsole postmortem: {note}", file=sys.stderr)
    print(written.markdown)
    print(written.html)
    return 0


def _unread(no_timeline: bool, audit_path: Path) -> Iterable[str]:
    if no_timeline:
        yield "no timeline in the data folder: the draft says what that leaves unknown"
    if not audit_path.is_file():
        yield f"no audit log at {audit_path}: the draft says what that leaves unknown"


# ---------------------------------------------------------------- the console's command


def register_postmortem(
    ctx: UiContext,
    window: QMainWindow,
    timeline: TimelineStore,
    audit_path: Path,
    incidents: IncidentStore,
    now: Callable[[], float] | None = None,
) -> None:
    """`incident.postmortem` (`:postmortem [INCIDENT]`): the draft of the open or most
    recent incident (or the one named) into postmortems/ beside the incidents file, its
    path in the status bar. `now` defaults to the incidents' own clock (the backend's)."""
    from opsconsole.app.incidents import console_clock
    from opsconsole.core.commands import Command, CommandError

    def clock() -> float:
        return now() if now is not None else console_clock(ctx.store, ctx.wall_clock())[1]

    def run(incident: str | None = None) -> Written:
        if incidents.path is None:
            raise CommandError("this console keeps its incidents in memory only: no folder")
        which: int | str = "last"
        if incident:
            try:
                which = _incident_arg(incident)
            except argparse.ArgumentTypeError as exc:
                raise CommandError(str(exc)) from None
        found = (incidents.current() if not incident else None) or find_incident(incidents, which)
        if found is None:
            raise CommandError(f"no incident {which}" if which != "last" else "no incident yet")
        out = incidents.path.parent / POSTMORTEMS_DIR / f"postmortem-{found.id}"
        try:
            written = write_postmortem(
                found, incidents, read_timeline(timeline), read_audit(audit_path), out, clock()
            )
        except OSError as exc:
            raise CommandError(f"the draft could not be written: {exc}") from None
        window.statusBar().showMessage(f"post-mortem draft written: {written.markdown}", 60_000)
        return written

    if COMMAND_ID not in ctx.commands:
        ctx.commands.register(
            Command(
                COMMAND_ID,
                "Write the post-mortem draft",
                run,
                description="Markdown, HTML and charts of the open or most recent incident",
            )
        )
