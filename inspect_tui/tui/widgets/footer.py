"""A footer that rebuilds itself only when its keys change, and otherwise just re-greys them.

Textual's ``Footer`` recomposes — a dozen widgets, their styles, a layout pass: 50 ms and more of
CPU on a slow laptop — every time a screen's bindings are refreshed, even when only one key went
from available to greyed out. Moving through a checklist flips such a key (e.g. "提问题" is only
available on items with a shortfall) on many keystrokes. Here a full rebuild happens only when the
set of keys shown changes; when only their enabled state does, the existing key widgets are
updated in place.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

from inspect_tui.tui.textual_adapter import footer_keys, set_footer_key_enabled


class QuietFooter(Footer):
    _layout: tuple | None = None
    _enabled: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if not (self.is_attached and screen is self.screen):
            return super().bindings_changed(screen)
        active = screen.active_bindings
        layout = tuple((key, a.binding.action, a.binding.description, a.binding.show) for key, a in active.items())
        enabled = tuple(a.enabled for a in active.values())
        keys = footer_keys(self) if layout == self._layout and self.children else None
        if keys is not None:
            if enabled != self._enabled:
                self._enabled = enabled
                state = {(a.binding.key, a.binding.action): a.enabled for a in active.values()}
                for key in keys:
                    on = state.get((key.key, key.action))  # type: ignore[attr-defined]
                    if on is not None:
                        set_footer_key_enabled(key, on)
            return None
        self._layout, self._enabled = layout, enabled
        return super().bindings_changed(screen)
