"""What every working screen shares: header, status line, footer, and committing on the way out."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from textual.app import ComposeResult
from textual.events import ScreenResume, ScreenSuspend
from textual.screen import Screen
from textual.widgets import Header

from inspect_tui.tui.widgets.fields import commit_all
from inspect_tui.tui.widgets.footer import QuietFooter
from inspect_tui.tui.widgets.status import SaveStatus

ResultT = TypeVar("ResultT")


class BaseScreen(Screen[ResultT]):
    status_line: SaveStatus | None = None  # kept at hand: shown again after every save

    def header(self) -> ComposeResult:
        yield Header()

    def footer(self) -> ComposeResult:
        status = self.status_line = SaveStatus(id="save-status")
        session = self.app.session  # type: ignore[attr-defined]
        status.last_saved = session.last_saved if session is not None else None
        status.read_only = (getattr(self.app, "read_only", None) or "") if session is not None else ""
        yield status
        yield QuietFooter(compact=True)

    def on_mount(self) -> None:
        # Read-only: choices that save the moment they change (claims, 答对/未答对) take no input.
        if getattr(self.app, "read_only", None):
            for widget in self.query("SelectionList, Select"):
                widget.disabled = True

    def show_status(self, last_saved: datetime | None, message: str, read_only: str) -> None:
        if self.status_line is not None:
            self.status_line.show(last_saved, message, read_only)

    def on_screen_resume(self, event: ScreenResume) -> None:
        if self.status_line is not None:
            self.status_line.catch_up()

    def on_screen_suspend(self, event: ScreenSuspend) -> None:
        # Switching screens commits whatever is typed in this one.
        commit_all(self)
