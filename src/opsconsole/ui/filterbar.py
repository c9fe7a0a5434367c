"""The "/" filter line of a list panel: hidden until `/` is typed in the list, Esc clears it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QWidget

from opsconsole.ui import theme


def normalise(text: str) -> str:
    """The form both the needle and the haystack are compared in: trimmed and case-folded."""
    return text.strip().casefold()


def matches(needle: str, *haystack: str) -> bool:
    """Substring match of an already-normalised needle against any of the texts."""
    return not needle or any(needle in normalise(text) for text in haystack)


class FilterBar(QLineEdit):
    """A line edit that stays out of the way until the operator types `/` in an attached list.

    Esc (in the line or in the list) clears and hides it; Enter or Down hands the keys back to
    the list with the filter kept, so arrows and Enter work on the narrowed rows (as in k9s),
    on the first row left when the current one was filtered away.
    """

    #: The normalised filter text ("" when cleared); emitted on every edit.
    filter_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, placeholder: str = "filter") -> None:
        super().__init__(parent)
        self.setObjectName("filter_bar")
        self.setPlaceholderText(f"/ {placeholder} — Esc clears")
        self.setClearButtonEnabled(True)
        self.setStyleSheet(
            f"QLineEdit {{ background: {theme.SURFACE}; border: 1px solid {theme.ACCENT};"
            " padding: 2px 6px; }"
        )
        self.hide()
        self._targets: list[QWidget] = []
        #: Called before the keys go back to the list: a panel that filters at its next
        #: refresh applies the filter now (set by `Panel`).
        self.before_handing_back: Callable[[], None] | None = None
        self.textChanged.connect(lambda text: self.filter_changed.emit(normalise(text)))

    @property
    def needle(self) -> str:
        return normalise(self.text())

    def attach(self, *targets: QWidget) -> None:
        """Listen for `/` and Esc in these widgets (the list views of the panel)."""
        for target in targets:
            target.installEventFilter(self)
            self._targets.append(target)

    def open(self) -> None:
        self.show()
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.selectAll()

    def close_filter(self) -> None:
        """Clear and hide; the keys go back to the list."""
        self.clear()
        self.hide()
        self._focus_list()

    def _focus_list(self) -> None:
        if self._targets:
            self._targets[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def hand_back(self) -> None:
        """Enter or Down: the keys go back to the list, on a row that is still shown."""
        if self.before_handing_back is not None:
            self.before_handing_back()
        if self._targets and isinstance(self._targets[0], QAbstractItemView):
            land_on_shown_row(self._targets[0])
        self._focus_list()

    # ------------------------------------------------------------ keys

    def _is_slash(self, event: QKeyEvent) -> bool:
        # By text, not key code: `/` is Shift+7 on some layouts.
        return event.text() == "/" and not event.modifiers() & ~_TYPING_MODIFIERS

    def _clears(self, event: QKeyEvent) -> bool:
        return event.key() == Qt.Key.Key_Escape and (self.isVisible() or bool(self.text()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if isinstance(event, QKeyEvent) and (self._is_slash(event) or self._clears(event)):
            if kind == QEvent.Type.ShortcutOverride:
                # Ours before any window shortcut (wall mode's Esc, a binding on "/").
                event.accept()
                return True
            if kind == QEvent.Type.KeyPress:
                if self._is_slash(event):
                    self.open()
                else:
                    self.close_filter()
                return True
        return super().eventFilter(watched, event)

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()  # Esc in the line clears it, whatever the window binds to Esc
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.close_filter()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Down):
            self.hand_back()
            return
        super().keyPressEvent(event)


def _hidden(view: QAbstractItemView, index: QModelIndex) -> bool:
    if isinstance(view, QTreeView):
        return view.isRowHidden(index.row(), index.parent())
    is_row_hidden = getattr(view, "isRowHidden", None)  # QTableView, QListView
    return bool(is_row_hidden(index.row())) if is_row_hidden is not None else False


def land_on_shown_row(view: QAbstractItemView) -> None:
    """Keep the current row if the filter still shows it, else make the first shown row current.

    The panels narrow their lists in two ways: a proxy model drops rows (the current index
    goes invalid) or the view hides them (the current index stays, on a hidden row); Enter
    must select what the operator sees either way.
    """
    model = view.model()
    if model is None:
        return
    current = view.currentIndex()
    if current.isValid() and not _hidden(view, current):
        return
    root = view.rootIndex()
    for row in range(model.rowCount(root)):
        index = model.index(row, 0, root)
        if not _hidden(view, index):
            view.setCurrentIndex(index)
            return


# Modifiers that may be held to type a character; Ctrl+/ or Alt+/ belong to someone else.
_TYPING_MODIFIERS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
