"""The status line: read-only or not, when the last save reached the disk, and the last problem."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.dom import NoScreen
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Static


class SaveStatus(Static):
    """Shows ``session.last_saved``; the app updates every instance after each save.

    A status line on a screen below the current one (not under a dialog) is repainted only when
    its screen is shown again (:meth:`catch_up`): Textual repaints the current screen wherever a
    screen below it changes, so keeping the list's status line up to date cost every save in a
    branch a redraw of most of the branch screen."""

    last_saved: reactive[datetime | None] = reactive(None)
    message: reactive[str] = reactive("")
    read_only: reactive[str] = reactive("")  # why the session is read-only; empty when writable
    _behind = False

    def render(self) -> str:
        if self.read_only:
            saved = f"只读（{self.read_only}）：不能修改"
        elif self.last_saved is None:
            saved = "本次尚未保存"
        else:
            saved = f"已保存 {self.last_saved.astimezone().strftime('%H:%M:%S')}"
        return f"{saved}  {self.message}" if self.message else saved

    def show(self, last_saved: datetime | None, message: str, read_only: str) -> None:
        """Repaint only when the line reads differently (saves within the same second do not)."""
        before = self.render()
        self.set_reactive(SaveStatus.last_saved, last_saved)
        self.set_reactive(SaveStatus.message, message)
        self.set_reactive(SaveStatus.read_only, read_only)
        if self.render() != before:
            self.refresh()

    def refresh(self, *regions: Any, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Any:
        if self._hidden():
            self._behind = True
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def catch_up(self) -> None:
        """Its screen is shown again: repaint if anything changed meanwhile."""
        if self._behind:
            self._behind = False
            self.refresh()

    def _hidden(self) -> bool:
        try:
            screen = self.screen
        except NoScreen:
            return False
        # Under a dialog the screen shows through: kept up to date.
        return (self.is_mounted and screen in self.app.screen_stack and not screen.is_active
                and not isinstance(self.app.screen, ModalScreen))
