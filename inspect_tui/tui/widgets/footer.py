"""A footer that rebuilds itself only when its keys change, and otherwise just re-greys them.

Textual's ``Footer`` recomposes — a dozen widgets, their styles, a layout pass: 50 ms and more of
CPU on a slow laptop — every time a screen's bindings are refreshed, even when only one key went
from available to greyed out. Moving through a checklist flips such a key (e.g. "提问题" is only
available on items with a shortfall) on many keystrokes. Here a full rebuild happens only when the
set of keys shown changes; when only their enabled state does, the existing key widgets are
updated in place — at once, in the same frame as the key press that changed them (Textual's footer
hears of changed bindings one message later, and drew that in a frame of its own).
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer

from inspect_tui.tui.textual_adapter import footer_keys, set_footer_key_enabled


class QuietFooter(Footer):
    _layout: tuple | None = None
    _enabled: tuple | None = None

    def on_mount(self) -> None:
        self.call_next(self._follow_bindings_at_once)  # after Footer's own subscription

    def _follow_bindings_at_once(self) -> None:
        signal = self.screen.bindings_updated_signal
        signal.unsubscribe(self)
        signal.subscribe(self, self._bindings_now, immediate=True)

    def _bindings_now(self, screen: Screen) -> None:
        """Called as the bindings change: re-grey in place now; a rebuild waits for the footer's turn."""
        if not self._regrey(screen):
            self.call_next(self.bindings_changed, screen)

    def bindings_changed(self, screen: Screen) -> None:
        if self._regrey(screen):
            return None
        if self.is_attached and screen is self.screen:
            _, self._layout, self._enabled = self._state(screen)
        return super().bindings_changed(screen)

    @staticmethod
    def _state(screen: Screen) -> tuple[dict[str, Any], tuple, tuple]:
        active = screen.active_bindings
        layout = tuple((key, a.binding.action, a.binding.description, a.binding.show) for key, a in active.items())
        return active, layout, tuple(a.enabled for a in active.values())

    def _regrey(self, screen: Screen) -> bool:
        """Show the keys' enabled state in place; False when the set of keys changed (a rebuild)."""
        if not (self.is_attached and screen is self.screen):
            return False
        active, layout, enabled = self._state(screen)
        keys = footer_keys(self) if layout == self._layout and self.children else None
        if keys is None:
            return False
        if enabled != self._enabled:
            self._enabled = enabled
            state = {(a.binding.key, a.binding.action): a.enabled for a in active.values()}
            for key in keys:
                on = state.get((key.key, key.action))  # type: ignore[attr-defined]
                if on is not None:
                    set_footer_key_enabled(key, on)
        return True
