"""Yes or no before something is removed or settled: Y / Enter confirm, N / Esc cancel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "确定", priority=True),
        Binding("n,escape", "answer(False)", "取消", priority=True),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm"):
            yield Label(self.question, classes="title")
            if self.detail:
                yield Static(self.detail, classes="hint")
            yield Static("Y 或 回车 确定 · N 或 Esc 取消", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
