"""Shown while a session is read and scored in a worker thread.

No ``Header`` here on purpose: a small session loads in a few milliseconds, and a Header popped
before its own mount finished trips Textual (its title watcher queries a child that is gone).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import LoadingIndicator, Static

from inspect_tui.tui.base_screen import BaseScreen


class LoadingScreen(BaseScreen[None]):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield Static(f"正在打开 {self.path.name} …", id="loading-label")
        yield LoadingIndicator()
