"""Pilot: a follow-up opened in the app, items struck off and failed by key presses only, then the
stored ledger checked; the branch list counts against a fixed today."""

from __future__ import annotations

import asyncio
from pathlib import Path

from followup_helpers import TODAY, make_visit
from test_tui_app import wait_for

from inspect_tui.cli import main
from inspect_tui.core.ledger import S
from inspect_tui.store.followup import ledger_of
from inspect_tui.store.session import Session
from inspect_tui.tui.app import make_app


def issued_followup(tmp_path: Path) -> Path:
    """A follow-up from a visit whose notices were numbered (exported), without rendering: the
    numbers are assigned exactly as ``export notice`` assigns them."""
    from inspect_tui.export.batch import plan_export

    visit = make_visit(tmp_path)
    with Session.open(visit) as s:
        plan_export(s, ("notice",))
    fu = tmp_path / "fu.jsonl"
    assert main(["followup", "new", "--session", str(visit), "-o", str(fu), "--inspector", "组长"]) == 0
    return fu


def row(table, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


def test_strike_off_and_fail_by_keys(tmp_path):
    asyncio.run(_drive(issued_followup(tmp_path)))


async def _drive(fu: Path) -> None:
    from textual.widgets import DataTable, Static

    app = make_app(fu, sessions_dir=fu.parent)
    app.today = TODAY
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, app, "FollowupBranchesScreen")
        table = app.screen.query_one(DataTable)
        first, second = (b.id for b in app.session.branches())
        assert row(table, first)[2:] == ["2", "0", "2", "", "1"]  # 2 items, 0 closed, 2 pending, 1 overdue
        await pilot.press("enter")
        await wait_for(pilot, app, "FollowupScreen")
        days = str(app.screen.query_one("#fu-days", Static).render())
        assert "逾期 15 天" in days and "2026-12-10" in days
        await pilot.press("c")
        await wait_for(pilot, app, "AskModal")
        await pilot.press("enter", *"属实", "enter")  # no evidence at all: refused, nothing stored …
        await wait_for(pilot, app, "AskModal")  # … and asked again, with what was typed still there
        assert ledger_of(app.session).items[0].status is S.OPEN
        assert [i.value for i in app.screen.query("Input")] == ["", "属实"]
        await pilot.press(*"会议记录已补齐", "enter", "enter")
        await wait_for(pilot, app, "FollowupScreen")
        await pilot.press("down", "f")
        await wait_for(pilot, app, "AskModal")
        await pilot.press(*"未审议", "enter", *"2027-01-15", "enter")
        await wait_for(pilot, app, "FollowupScreen")
        await pilot.press("escape")
        await wait_for(pilot, app, "FollowupBranchesScreen")
        assert row(app.screen.query_one(DataTable), first)[2:] == ["2", "1", "1", "", ""]
        await pilot.press("b")  # the re-visit's own findings are recorded like a visit's
        await wait_for(pilot, app, "BranchScreen")
        await pilot.press("escape")
        await wait_for(pilot, app, "FollowupBranchesScreen")
    with Session.open(fu, readonly=True) as s:
        closed, failed = ledger_of(s).items[:2]
    assert closed.status is S.CLOSED and closed.checker == "组长" and closed.checked_on == TODAY
    assert closed.evidence_text == "会议记录已补齐" and closed.note == "属实"
    assert failed.status is S.FAILED and failed.reason == "未审议" and str(failed.deadline) == "2027-01-15"
