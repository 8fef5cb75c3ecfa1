"""Step panes in a minimal host app: given a workbench, they send messages up and never reach for
the app or the screen."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from textual.app import App, ComposeResult

from inspect_tui.core.records import Kind
from inspect_tui.core.steps import Step
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.store.session import new_session
from inspect_tui.tui.screens.branch.evaluate import EvaluatePane
from inspect_tui.tui.screens.branch.observe import ObservePane
from inspect_tui.tui.screens.branch.pane import Confirm, EditFeedback, Refused, Saved


class Host(App[None]):
    """Holds one pane and records every message it sends up."""

    def __init__(self, pane) -> None:
        super().__init__()
        self.pane = pane
        self.got: list = []

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.pane.first_focus().focus()

    def on_saved(self, m: Saved) -> None:
        self.got.append(m)

    def on_refused(self, m: Refused) -> None:
        self.got.append(m)

    def on_confirm(self, m: Confirm) -> None:
        self.got.append(m)

    def on_edit_feedback(self, m: EditFeedback) -> None:
        self.got.append(m)


@pytest.fixture
def bench(tmp_path, tiny_checklist):
    s = new_session(tmp_path, group="第一组", day=date(2026, 11, 20), inspector="甲", checklist=tiny_checklist,
                    branches=["一支部"])
    yield BranchWorkbench(s, s.branches()[0].id)
    s.close()


def test_evaluate_pane_reports_saves_refusals_and_forms(bench):
    async def go() -> None:
        app = Host(EvaluatePane(bench))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter", "9", "enter")  # over full marks
            await pilot.pause()
            assert isinstance(app.got[-1], Refused) and "满分" in app.got[-1].error.message
            await pilot.press("backspace", "5", "enter")
            await pilot.pause()
            assert isinstance(app.got[-1], Saved) and app.got[-1].record.data["score"] == 5
            app.pane.first_focus().focus()  # the host has no Esc handling: back to the table by hand
            await pilot.press("h")
            await pilot.pause()
            assert isinstance(app.got[-1], EditFeedback) and app.got[-1].kind is Kind.HIGHLIGHT
            assert app.got[-1].record is None

    asyncio.run(go())


def test_observe_pane_asks_before_dropping_a_promoted_problem(bench):
    async def go() -> None:
        app = Host(ObservePane(bench, Step.CHECK))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("n", "up", "f")
            await pilot.pause()
            assert len(bench.records(Kind.PROBLEM)) == 1
            await pilot.press("y")
            await pilot.pause()
            ask = [m for m in app.got if isinstance(m, Confirm)]
            assert len(ask) == 1 and "删除该问题" in ask[0].question
            ask[0].then()
            await pilot.pause()
            assert bench.records(Kind.PROBLEM) == []

    asyncio.run(go())
