"""Row lookup shared by the filtered table panels whose rows are keyed (backend, name)."""

from __future__ import annotations

from typing import Any, Protocol


class _KeyedModel(Protocol):
    def row_of(self, backend: str, name: str) -> int: ...
    def row_view(self, row: int) -> Any: ...
    def index(self, row: int, column: int) -> Any: ...


class KeyedTableMixin:
    """`select`, `visible_keys` and `text` over `self.model` seen through `self.proxy`.

    The panels using it keep a source model with `row_of`/`row_view` (rows carry `.key` and
    `.texts`), a QSortFilterProxyModel `proxy` for the `/` filter, and a `view`.
    """

    model: _KeyedModel
    proxy: Any
    view: Any

    def select(self, backend: str, name: str) -> bool:
        """Make that row the current one (e.g. from the command line); False if not shown."""
        row = self.model.row_of(backend, name)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.view.setCurrentIndex(index)
        return True

    def visible_keys(self) -> list[tuple[str, str]]:
        """The rows shown, top to bottom (after the filter)."""
        out: list[tuple[str, str]] = []
        for r in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(r, 0))
            out.append(self.model.row_view(source.row()).key)
        return out

    def text(self, backend: str, name: str, column: str) -> str:
        """The text a cell shows, for tests and the wall display."""
        row = self.model.row_of(backend, name)
        if row < 0:
            raise KeyError((backend, name))
        return self.model.row_view(row).texts[column]
