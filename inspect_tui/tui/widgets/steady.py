"""Widgets that do not ask for a layout of the whole screen when nothing on it moves.

Textual lays out the whole screen again whenever a widget asks for it, and a widget asks more often
than its box changes: a one-line input whenever its text changes length (its scrollable "virtual
size", which a fixed box never shows), any widget whose virtual size the layout itself just updated
(a second layout, one frame later), and ``Static.update`` by default. On the branch screen that was
two full layouts per key press — most of the time a key took. These widgets keep the layout for the
cases where a box really changes size.
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Size
from textual.visual import VisualType
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

    def show(self, content: VisualType) -> None:
        if content == self.content:
            return
        height, width = self.content_size.height, self.content_size.width
        self.update(content, layout=False)
        auto = self.styles.height is None or self.styles.height.is_auto
        if auto and (not width or self.visual.get_height(self.styles, width) != height):
            self.refresh(layout=True)
