"""Find one thing by typing part of its name: a filter field over a list; Enter picks, Esc closes.

Used for branches (on the branch list) and for checklist items and problems (on a branch). The
match ignores case and spaces, so "三会" finds "“三会一课”制度落实".
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

LIMIT = 200  # options shown at once; typing narrows the rest


def _norm(text: str) -> str:
    return "".join(text.split()).casefold()


class SearchDialog(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "取消"),
        Binding("down", "focus_list", "结果", show=False),
    ]

    def __init__(self, title: str, candidates: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.candidates = candidates  # (label shown, key returned)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="search"):
            yield Label(self.title_text, classes="title")
            yield Input(placeholder="输入名称的一部分（回车选第一项，↓ 到列表）", id="search-text")
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#search-text", Input).focus()

    def matches(self, text: str) -> list[tuple[str, str]]:
        wanted = _norm(text)
        return [c for c in self.candidates if wanted in _norm(c[0])]

    def _fill(self, text: str) -> None:
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        found = self.matches(text)
        results.add_options([Option(label, id=key) for label, key in found[:LIMIT]])
        if found:
            results.highlighted = 0

    @on(Input.Changed, "#search-text")
    def _typed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#search-text")
    def _first(self, event: Input.Submitted) -> None:
        found = self.matches(event.value)
        if found:
            self.dismiss(found[0][1])

    @on(OptionList.OptionSelected, "#search-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_focus_list(self) -> None:
        self.query_one("#search-results", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
