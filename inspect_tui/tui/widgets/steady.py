"""Widgets that do not ask for a layout of the whole screen when nothing on it moves.

Textual lays out the whole screen again whenever a widget asks for it, and a widget asks more often
than its box changes: a one-line input whenever its text changes length (its scrollable "virtual
size", which a fixed box never shows), any widget whose virtual size the layout itself just updated
(a second layout, one frame later), and ``Static.update`` by default. On the branch screen that was
two full layouts per key press — most of the time a key took. These widgets keep the layout for the
cases where a box really changes size, and a text can keep the height of the tallest it will show.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.geometry import Size
from textual.visual import VisualType, visualize
from textual.widgets import Static


class FixedVirtualSize:
    """Mixin for a widget without children: a change of its virtual size is repainted, never laid
    out. Its box depends on CSS and its content, never on the virtual size; Textual sets the virtual
    size from the box at every layout and then asks for another layout."""

    _skip_refresh = False
    virtual_size: Size

    def validate_virtual_size(self, size: Size) -> Size:
        # Textual follows a changed virtual size with one refresh(layout=True): that one is skipped
        # (what changed the size — a layout, a new value — repaints the widget already).
        self._skip_refresh = size != self.virtual_size
        return size

    def refresh(self, *regions: Any, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Any:
        if self._skip_refresh:
            self._skip_refresh = False
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)  # type: ignore[misc]


class SteadyStatic(FixedVirtualSize, Static):
    """A text that repaints only when it changed, and asks for a layout only when its height
    follows its text (``height: auto``) and the new text needs another."""

    _kept = 0  # content lines kept by keep_height

    def show(self, content: VisualType) -> None:
        if content == self.content:
            return
        height, width = self.content_size.height, self.content_size.width
        self.update(content, layout=False)
        auto = self.styles.height is None or self.styles.height.is_auto
        if auto and (not width or max(self.visual.get_height(self.styles, width), self._kept) != height):
            self.refresh(layout=True)

    def tallest(self, contents: Iterable[VisualType]) -> int:
        """The height (with padding) the tallest of ``contents`` takes at the current width."""
        width = self.content_size.width
        heights = [visualize(self, c).get_height(self.styles, width) for c in contents] if width else []
        return max(heights, default=0) + self.styles.gutter.height

    def keep_height(self, height: int | None) -> None:
        """Keep at least ``height`` (say, :meth:`tallest` of what it will show), so that showing
        another text moves nothing below and lays out nothing; None: follow each text."""
        kept = max(0, height - self.styles.gutter.height) if height is not None else 0
        if kept != self._kept:
            self._kept = kept
            self.styles.min_height = height
