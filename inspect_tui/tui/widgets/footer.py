"""A footer that rebuilds itself only when what it shows changes.

Textual's ``Footer`` recomposes (a dozen widgets, styles, layout: ~10–20 ms on a slow laptop) every
time a screen's bindings are refreshed — after focus moves and whenever a screen asks — even when
every key, label and enabled state is the same as before. Moving through a checklist would pay that
on every keystroke; here the rebuild happens only when the visible set differs.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class QuietFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            shown = tuple((key, a.binding.action, a.binding.description, a.enabled, a.binding.show)
                          for key, a in screen.active_bindings.items())
            if shown == self._shown and self._bindings_ready:
                return
            self._shown = shown
        super().bindings_changed(screen)
