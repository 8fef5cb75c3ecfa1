"""Lists whose owner shows the highlighted entry in the same frame as the highlight moves.

Textual tells a list's owner about a new highlight with a message, and that message reaches the
owner only after the screen has drawn the moved highlight: every ↓/↑ drew the screen twice, once
with the highlight and once with the entry's details. These lists call the ``follow`` callback they
are given (as a field calls its ``commit``) right away, so one frame shows both. The message is still
posted; an owner that handles both ignores an entry it already shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.visual import VisualType
from textual.widgets import DataTable, OptionList

from inspect_tui.tui.textual_adapter import option_region, replace_option_prompt

Follow = Callable[[str], None]


class FollowList(OptionList):
    """An option list that calls ``follow(option id)`` as soon as the highlight moves, and repaints
    the two options the highlight moved between rather than the whole list."""

    highlighted: reactive[int | None] = reactive(None, repaint=False)

    def __init__(self, *content: Any, follow: Follow, **kwargs: Any) -> None:
        super().__init__(*content, **kwargs)
        self._follow = follow

    def watch_highlighted(self, old: int | None, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        for index in (old, highlighted):
            self._repaint(index)
        if highlighted is not None and not self.options[highlighted].disabled and self.options[highlighted].id:
            self._follow(self.options[highlighted].id)

    def _repaint(self, index: int | None) -> None:
        if index is not None:
            region = option_region(self, index)
            self.refresh(*([region] if region is not None else []))

    def set_prompt(self, index: int, prompt: VisualType) -> None:
        """Show a new prompt for one option, repainting that option alone when its height stays."""
        replace_option_prompt(self, index, prompt)


class FollowTable(DataTable):
    """A row-cursor table that calls ``follow(row key)`` as soon as the cursor changes row."""

    def __init__(self, *, follow: Follow, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._follow = follow

    def watch_cursor_coordinate(self, old_coordinate: Coordinate, new_coordinate: Coordinate) -> None:
        super().watch_cursor_coordinate(old_coordinate, new_coordinate)
        if old_coordinate.row != new_coordinate.row and self.is_valid_row_index(new_coordinate.row):
            key = self.coordinate_to_cell_key(Coordinate(new_coordinate.row, 0)).row_key.value
            if key is not None:
                self._follow(key)
