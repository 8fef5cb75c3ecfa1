"""The status line: read-only or not, when the last save reached the disk, and the last problem."""

from __future__ import annotations

from datetime import datetime

from textual.reactive import reactive
from textual.widgets import Static


class SaveStatus(Static):
    """Shows ``session.last_saved``; the app refreshes every instance after each save."""

    last_saved: reactive[datetime | None] = reactive(None)
    message: reactive[str] = reactive("")
    read_only: reactive[str] = reactive("")  # why the session is read-only; empty when writable

    def render(self) -> str:
        if self.read_only:
            saved = f"只读（{self.read_only}）：不能修改"
        elif self.last_saved is None:
            saved = "本次尚未保存"
        else:
            saved = f"已保存 {self.last_saved.astimezone().strftime('%H:%M:%S')}"
        return f"{saved}  {self.message}" if self.message else saved
