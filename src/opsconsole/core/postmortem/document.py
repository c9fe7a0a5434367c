"""The post-mortem as plain blocks, so the Markdown and the HTML say exactly the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Prompt:
    """A question left for people to answer (shown in italics)."""

    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """Label: value lines (the header, the detection figures)."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    src: str  # a file name beside the document
    alt: str


@dataclass(frozen=True)
class Subheading:
    text: str


Block = Paragraph | Prompt | Bullets | Facts | Table | Image | Subheading


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    sections: tuple[Section, ...]

    def section(self, title: str) -> Section:
        return next(s for s in self.sections if s.title == title)


class Clock:
    """Times in the document: local time with the zone's name, ISO dates in the header."""

    def __init__(self, tz: tzinfo | None, day_of: float) -> None:
        self.tz = tz
        self._day = self._local(day_of).date()

    def _local(self, ts: float) -> datetime:
        # No tz: the workstation's own zone, with its name (astimezone fills it in).
        return datetime.fromtimestamp(ts, self.tz).astimezone(self.tz)

    def zone(self, ts: float) -> str:
        return self._local(ts).tzname() or "local time"

    def at(self, ts: float) -> str:
        """ "14:03:10 CEST"; with the date when it is not the incident's first day."""
        local = self._local(ts)
        fmt = "%H:%M:%S" if local.date() == self._day else "%Y-%m-%d %H:%M:%S"
        return f"{local.strftime(fmt)} {self.zone(ts)}"

    def iso(self, ts: float) -> str:
        """ "2024-05-01T14:03:10+02:00 (CEST)"."""
        local = self._local(ts).replace(microsecond=0)
        return f"{local.isoformat()} ({self.zone(ts)})"

    def date(self, ts: float) -> str:
        return self._local(ts).date().isoformat()
