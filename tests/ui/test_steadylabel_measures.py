"""A steady label measures a new text only when more than its digits changed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from opsconsole.ui import theme
from opsconsole.ui.steadylabel import SteadyLabel, digits_blanked, tabular_digits


@pytest.fixture
def label(qapp, qtbot) -> SteadyLabel:
    theme.apply_theme(qapp)
    steady = SteadyLabel()
    qtbot.addWidget(steady)
    steady.setTextFormat(Qt.TextFormat.RichText)
    steady.show()
    return steady


def test_digits_of_the_words_are_blanked_and_those_in_tags_kept() -> None:
    text = '<b style="color:#1f6feb; font-size:26pt">STALE 12 s</b> 3 min 05 s'
    assert (
        digits_blanked(text) == '<b style="color:#1f6feb; font-size:26pt">STALE 00 s</b> 0 min 00 s'
    )


def test_an_age_that_ticks_is_not_measured_again_and_still_fits(label: SteadyLabel) -> None:
    if not tabular_digits(label.font()):
        pytest.fail("this box's UI font has digits of several widths: the test cannot say")
    label.set_steady_text("<b>STALE 12 s</b>")
    label.set_steady_text("<b>STALE 13 s</b>")  # a second alike: the room is known
    size, measures = label.size(), label.measures
    for age in (14, 19, 48, 59):
        label.set_steady_text(f"<b>STALE {age} s</b>")
        assert label.text() == f"<b>STALE {age} s</b>"
        # It fits as if measured: the twin's answer for this very text is the same room.
        assert label.natural_size(label.text()).width() <= label.width()
    assert label.measures == measures
    assert label.size() == size


def test_new_words_or_a_new_size_in_a_tag_are_measured(label: SteadyLabel) -> None:
    label.set_steady_text("<b>STALE 59 s</b>")
    before = label.measures
    label.set_steady_text("<b>STALE 1 min 00 s</b>")  # more words: more room
    assert label.measures == before + 1
    assert label.width() >= label.natural_size(label.text()).width()
    label.set_steady_text('<span style="font-size:30pt">STALE 1 min 01 s</span>')
    assert label.measures == before + 2
    assert label.height() == label.natural_size(label.text()).height()


def test_a_new_font_is_measured_even_for_the_same_words(label: SteadyLabel) -> None:
    label.set_steady_text("<b>STALE 12 s</b>")
    before = label.measures
    font = label.font()
    font.setPixelSize(font.pixelSize() * 2 if font.pixelSize() > 0 else 30)
    label.setFont(font)
    label.set_steady_text("<b>STALE 13 s</b>")
    assert label.measures == before + 1
    assert label.height() == label.natural_size(label.text()).height()
