"""Where each screen leads: the one place that knows the screens, so they never import each other.

A screen asks for a destination (``open_branch``, ``open_review`` …) with the app; this module
builds the destination screen lazily (start-up imports only what the first screen needs) and pushes
it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from inspect_tui.core.steps import Step


def _bench(app: App[Any], branch: str) -> Any:
    from inspect_tui.core.workbench import BranchWorkbench

    return BranchWorkbench(app.session, branch)  # type: ignore[attr-defined]


def open_branch(app: App[Any], branch: str, step: Step = Step.REPORT,
                on_close: Callable[[Any], None] | None = None) -> None:
    from inspect_tui.tui.screens.branch import BranchScreen

    app.push_screen(BranchScreen(_bench(app, branch), step), on_close)


def open_review(app: App[Any], branch: str, on_close: Callable[[Any], None] | None = None) -> None:
    from inspect_tui.tui.screens.review import ReviewScreen

    app.push_screen(ReviewScreen(_bench(app, branch)), on_close)


def edit_branch(app: App[Any], branch: str) -> None:
    """From the review to the branch's 评 step: back to the branch screen below, or a new one."""
    from inspect_tui.tui.screens.branch import BranchScreen

    stack = app.screen_stack
    below = stack[-2] if len(stack) > 1 else None
    app.pop_screen()
    if isinstance(below, BranchScreen) and below.branch == branch:
        below.step = Step.EVALUATE
    else:
        open_branch(app, branch, Step.EVALUATE)


def open_followup_branch(app: App[Any], branch: str, on_close: Callable[[Any], None] | None = None) -> None:
    """One branch of a follow-up (回头看): its ledger items."""
    from inspect_tui.tui.screens.followup import FollowupScreen

    app.push_screen(FollowupScreen(branch), on_close)


def open_export(app: App[Any]) -> None:
    from inspect_tui.tui.screens.export_screen import ExportScreen

    app.push_screen(ExportScreen(app.session.path, app.exports_dir))  # type: ignore[attr-defined]


def open_summary(app: App[Any]) -> None:
    from inspect_tui.tui.screens.summary import SummaryScreen

    app.push_screen(SummaryScreen())


def open_merge(app: App[Any], folder: Path, leader: str = "组长", group: str | None = None) -> None:
    from inspect_tui.tui.screens.merge_screen import MergeScreen

    app.push_screen(MergeScreen(folder, None, leader, group=group))


def open_new_session(app: App[Any], on_close: Callable[[Any], None]) -> None:
    from inspect_tui.tui.screens.new_session import NewSessionScreen

    app.push_screen(NewSessionScreen(), on_close)


def open_help(app: App[Any], screen_name: str, keys: list[tuple[str, str, str, bool]]) -> None:
    from inspect_tui.tui.screens.help import HelpScreen

    if type(app.screen).__name__ != "HelpScreen":
        app.push_screen(HelpScreen(screen_name, keys))
