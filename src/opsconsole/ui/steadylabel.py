"""Labels whose new texts do not re-lay out the window around them."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

# A digit in the words; tags (and the sizes and colours in them) are kept as they are.
DIGIT_OR_TAG = re.compile(r"<[^>]*>|[0-9]")


def digits_blanked(text: str) -> str:
    """`text` with each digit of its words read as 0 ("STALE 12 s" → "STALE 00 s")."""
    return DIGIT_OR_TAG.sub(lambda m: m.group(0) if m.group(0)[0] == "<" else "0", text)


def tabular_digits(font: QFont) -> bool:
    """Every digit as wide as any other in `font` and its bold (most UI fonts): a text whose
    digits alone changed ("STALE 12 s" → "13 s") needs the same room."""
    bold = QFont(font)
    bold.setBold(True)
    return all(
        len({QFontMetrics(f).horizontalAdvance(d) for d in "0123456789"}) == 1 for f in (font, bold)
    )


class SteadyLabel(QLabel):
    """A label of fixed size, grown when a text needs more room and never shrunk (until
    `forget_size`): a widget of fixed size tells no layout about a new text, so an age that
    ticks repaints this label alone, not its window.

    A QLabel's size hint is never smaller than its minimum size, so the room a text needs is
    measured on a hidden twin with the same format, font, margins and stylesheet.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._twin: QLabel | None = None
        self._fresh = True  # the next text is sized afresh (may shrink)
        # What the last measured text looked like with its digits blanked, in which font and
        # stylesheet, and the room it needed: a text that differs from it by digits only needs
        # no new measure once two such texts were measured alike (a twin's first measure,
        # before the stylesheet reached it, may be wrong).
        self._measured: tuple[str, str, str, int | None, bool] | None = None
        self._measured_size = QSize()
        self._confirmed = False
        self._tabular: dict[str, bool] = {}  # font key → digits all of one width
        self.measures = 0  # texts measured on the twin (tests)
        self.setFixedSize(0, 0)

    def set_steady_text(self, text: str, max_width: int | None = None) -> None:
        """Show `text`; the size changes only when it needs more room (or after
        `forget_size`), at most `max_width` wide."""
        self.setText(text)
        # Rich text is laid out now, not in the paint: laid out there, it asks for a second
        # paint of the whole label (Qt's UpdateLater) at every new text.
        self.sizeHint()
        font = self.font()
        key = font.key()
        # Polished (shown) or not: the stylesheet's polish may change the room a text needs.
        polished = self.testAttribute(Qt.WidgetAttribute.WA_WState_Polished)
        measured = (digits_blanked(text), key, self.styleSheet(), max_width, polished)
        if key not in self._tabular:
            self._tabular[key] = tabular_digits(font)
        same_shape = measured == self._measured
        if not self._fresh and same_shape and self._confirmed and self._tabular[key]:
            return  # an age that ticked: the same room as the texts measured last
        self.measures += 1
        need = self.natural_size(text)
        self._confirmed = same_shape and need == self._measured_size
        self._measured, self._measured_size = measured, need
        fixed = self.minimumSize()
        width = need.width() if self._fresh else max(need.width(), fixed.width())
        if max_width is not None:
            width = min(width, max_width)
        self._fresh = False
        if (width, need.height()) != (fixed.width(), fixed.height()):
            self.setFixedSize(width, need.height())

    def forget_size(self) -> None:
        """The next text is sized for itself (e.g. a banner shown again for new words)."""
        self._fresh = True
        self._measured = None
        self._confirmed = False

    def natural_size(self, text: str) -> QSize:
        """The size this label would ask for to show `text`, ignoring its fixed size."""
        twin = self._twin
        if twin is None:
            twin = self._twin = QLabel(self.parentWidget())
            twin.hide()
        # Each only when it differs: a stylesheet set again re-polishes the twin.
        if twin.textFormat() != self.textFormat():
            twin.setTextFormat(self.textFormat())
        if twin.font() != self.font():
            twin.setFont(self.font())
        if twin.styleSheet() != self.styleSheet():
            twin.setStyleSheet(self.styleSheet())
        if twin.contentsMargins() != self.contentsMargins():
            twin.setContentsMargins(self.contentsMargins())
        twin.setText(text)
        twin.ensurePolished()
        return twin.sizeHint()


class SteadyHolder(QWidget):
    """Put in a layout in place of `label`, which it fills; a new text repaints the label only.

    A QLabel's new text asks its parent's layout for room, and every layout up the chain
    re-lays out up to the main window, even when the text is as wide as before (a ticking
    "data 12 s old"): the main window then repaints its separators too. The holder has no
    layout: the label's request comes to it, and it passes it on only when the label needs
    more room (wider than ever, or another height: a new font), never for a text that fits.
    """

    def __init__(self, label: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._hint = QSize(0, 0)
        self._minimum = QSize(0, 0)
        self._take_hints()
        self.passed_on = 0  # requests for room passed on to the layout (tests)

    def _take_hints(self) -> bool:
        """Adopt the label's size hints if it needs more room; True when they changed."""
        self.label.ensurePolished()
        hint, minimum = self.label.sizeHint(), self.label.minimumSizeHint()
        wider = hint.width() > self._hint.width() or minimum.width() > self._minimum.width()
        if not wider and hint.height() == self._hint.height():
            return False
        self._hint = QSize(max(hint.width(), self._hint.width()), hint.height())
        self._minimum = QSize(max(minimum.width(), self._minimum.width()), minimum.height())
        return True

    def sizeHint(self) -> QSize:
        return self._hint

    def minimumSizeHint(self) -> QSize:
        return self._minimum

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and self._take_hints():
            self.passed_on += 1
            self.updateGeometry()
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())
