"""The status line: when the last save reached the disk, and the last problem, if any."""

from __future__ import annotations

from datetime import datetime

from textual.reactive import reactive
from textual.widgets import Static


class SaveStatus(Static):
    """Shows ``session.last_saved``; the app refreshes every instance after each save."""

    last_saved: reactive[datetime | None] = reactive(None)
    message: reactive[str] = reactive("")

    def render(self) -> str:
        if self.last_saved is None:
            saved = "本次尚未保存"
        else:
            saved = f"已保存 {self.last_saved.astimezone().strftime('%H:%M:%S')}"
        return f"{saved}  {self.message}" if self.message else saved
