"""How every list panel's table looks and behaves: whole rows, one selection, a focus ring."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from opsconsole.ui import theme

FONT_POINTS = 10
CELL_PADDING = 4  # px left and right of every cell's text


def style_list_view(
    view: QTableView,
    model: QAbstractItemModel,
    *,
    name: str = "",
    context_menu: bool = False,
    font_points: int | None = FONT_POINTS,
    stretch_last: bool = True,
    cell_padding: int = CELL_PADDING,
) -> QTableView:
    """Set up `view` over `model` as the list panels do: whole rows selected one at a time,
    never edited, a fixed order (worst first: headers do not sort), rows of one height, and a
    visible focus ring (keyboard operators must see which list has the keys)."""
    if name:
        view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    if context_menu:
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    if font_points is not None:
        font = view.font()
        font.setPointSize(font_points)
        view.setFont(font)
    vheader = view.verticalHeader()
    vheader.setVisible(False)
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    if font_points is not None:
        vheader.setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setStretchLastSection(stretch_last)
    header.setHighlightSections(False)
    header.setSectionsClickable(False)
    view.setStyleSheet(
        f"QTableView {{ border: 1px solid {theme.BORDER}; }}"
        f"QTableView:focus {{ border: 1px solid {theme.ACCENT}; }}"
        f"QTableView::item {{ padding: 0 {cell_padding}px; }}"
        f"QHeaderView::section {{ padding: 3px {cell_padding}px; }}"
    )
    return view
