"""The Qt table models every list panel shares: flat rows and columns, and keyed sorted rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from opsconsole.ui import theme

Index = QModelIndex | QPersistentModelIndex


def align(col: Any) -> Qt.AlignmentFlag:
    """Numbers right (digits line up), words left; always vertically centred."""
    numeric = bool(getattr(col, "numeric", False))
    horizontal = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
    return horizontal | Qt.AlignmentFlag.AlignVCenter


def row_runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as contiguous (first, last) ranges: one dataChanged per range."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


class RowTableModel(QAbstractTableModel):
    """A flat, read-only table over `self._rows` and `self._columns` (header, tooltip).

    Subclasses keep their rows and columns in those two attributes and implement `data`.
    """

    _rows: list[Any]
    _columns: tuple[Any, ...]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._columns)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        col = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.header
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return align(col)
        return None


class KeyedRow(Protocol):
    """A row the keyed model can hold: a key to find it by, a key to sort it by."""

    @property
    def key(self) -> Any: ...
    @property
    def sort_key(self) -> Any: ...


class KeyedRowModel(RowTableModel):
    """Rows with a `key`, kept in `sort_key` order; updates say exactly which rows changed.

    A new row set is a (rare) model reset; new views of the same rows emit `dataChanged` for
    the rows that changed only, or one layout change when the order moved, which keeps
    persistent indexes (the selection follows its row). While `hold_order` is set a changed
    order is owed instead, and applied by `release_order()`. Subclasses implement `data`.
    """

    #: Skip rows whose new view equals the old (cheap, exact views); a panel that hands over
    #: only the rows it rebuilt sets this False.
    skip_unchanged = True

    def __init__(
        self,
        columns: tuple[Any, ...],
        backend_column: Any,
        parent: QObject | None = None,
        font_points: int = 10,
    ) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._pos: dict[Any, int] = {}
        self._base_columns = columns
        self._backend_column = backend_column
        self._columns = columns
        self.mono_font = theme.mono_font(font_points)
        self.bold_font = QFont()
        self.bold_font.setPointSize(font_points)
        self.bold_font.setBold(True)
        self.resets = 0  # model resets so far: they should be rare (row-set changes only)
        self.resorts = 0  # re-sorts applied (layout changes that move rows)
        # While True a changed order does not move rows; the re-sort is owed.
        self.hold_order = False
        self.order_owed = False

    # ------------------------------------------------------------ reading

    @property
    def columns(self) -> tuple[Any, ...]:
        return self._columns

    def column_of(self, key: str) -> int:
        """Column index of a column key, -1 when not shown."""
        return next((i for i, c in enumerate(self._columns) if c.key == key), -1)

    def row_of(self, *key: str) -> int:
        """Row of the row with that key, -1 when it is not listed."""
        return self._pos.get(key, -1)

    def row_view(self, row: int) -> Any:
        return self._rows[row]

    def key_at(self, row: int) -> Any:
        return self._rows[row].key

    def rows(self) -> tuple[Any, ...]:
        return tuple(self._rows)

    def text(self, row: int, key: str) -> str:
        return str(self._rows[row].texts[key])

    # ------------------------------------------------------------ writing

    def reset_rows(self, rows: Sequence[Any], show_backend: bool) -> None:
        """A new row set (rows came or went): the rare full reset."""
        self.beginResetModel()
        base = self._base_columns
        self._columns = (self._backend_column, *base) if show_backend else base
        self._rows = sorted(rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        self.order_owed = False
        self.rows_reset()
        self.endResetModel()
        self.resets += 1

    def rows_reset(self) -> None:
        """Hook: the row set was replaced (forget what belonged to rows now gone)."""

    def changed_columns(self, old: Any, new: Any) -> list[int] | None:
        """Hook: indexes of the columns whose cells look different in `new` (None: the whole
        row). A panel whose ages tick says which cells, so only those repaint."""
        return None

    def update_rows(self, rows: Sequence[Any]) -> None:
        """New views for rows already listed: dataChanged where they differ (only the cells
        `changed_columns` names), a re-sort if the order moved (or owed while it is held)."""
        cells: dict[tuple[int, int], list[int]] = {}  # column run → rows
        whole = (0, len(self._columns) - 1)
        reorder = False
        for view in rows:
            i = self._pos[view.key]
            old = self._rows[i]
            if self.skip_unchanged and old == view:
                continue
            reorder = reorder or old.sort_key != view.sort_key
            self._rows[i] = view
            columns = self.changed_columns(old, view)
            for run in [whole] if columns is None else row_runs(columns):
                cells.setdefault(run, []).append(i)
        if reorder and not self.hold_order:
            self._resort()
            return
        # Held: the rows keep their places (and the new texts show); the order is owed.
        self.order_owed = self.order_owed or reorder
        for (first_col, last_col), touched in cells.items():
            for first, last in row_runs(sorted(touched)):
                self.dataChanged.emit(self.index(first, first_col), self.index(last, last_col))

    def release_order(self) -> None:
        """Rows may move again: apply the re-sort that was held back, if any."""
        self.hold_order = False
        if self.order_owed:
            self._resort()

    def emit_rows(self, rows: list[int]) -> None:
        """dataChanged for these rows, whole rows, one signal per contiguous run."""
        last_col = len(self._columns) - 1
        for first, last in row_runs(sorted(rows)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))

    def _resort(self) -> None:
        # A layout change (not a reset) keeps persistent indexes, so the view's selection and
        # current row stay on the same row as it moves.
        self.layoutAboutToBeChanged.emit()
        old_rows = self._rows
        self._rows = sorted(old_rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        old = self.persistentIndexList()
        new = [self.index(self._pos[old_rows[i.row()].key], i.column()) for i in old]
        self.changePersistentIndexList(old, new)
        self.order_owed = False
        self.resorts += 1
        self.layoutChanged.emit()
