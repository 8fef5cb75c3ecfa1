"""Snapshots of the follow-up screens (80x24 and 120x40) against a fixed today: the branch list
with its counts, and one branch with an item struck off, one failed, one overdue."""

from __future__ import annotations

from pathlib import Path

import pytest
from followup_helpers import TODAY
from test_followup_tui import issued_followup

from inspect_tui.core.ledger import S
from inspect_tui.store.followup import change_item, ledger_of
from inspect_tui.store.session import Session
from inspect_tui.tui.app import make_app


@pytest.fixture
def followup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    fu = issued_followup(tmp_path)
    with Session.open(fu) as s:
        first, second = ledger_of(s).items[:2]
        change_item(s, first.ref, today=TODAY, status=S.CLOSED, evidence_text="会议记录已补齐", checker="赵核",
                    checked_on="2026-12-08", note="抽查 3 次会议记录属实")
        change_item(s, second.ref, today=TODAY, status=S.FAILED, reason="计划未经支委会审议", deadline="2027-01-15",
                    checker="赵核", checked_on="2026-12-08")
    return fu


def app_for(path: Path):
    app = make_app(path, sessions_dir=path.parent)
    app.today = TODAY
    return app


def keys(*pressed: str):
    async def before(pilot) -> None:
        for _ in range(200):
            if type(pilot.app.screen).__name__ == "FollowupBranchesScreen":
                break
            await pilot.pause(0.02)
        await pilot.pause()
        await pilot.press(*pressed)
        await pilot.pause()
    return before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_followup_branches(followup, snap_compare, size):
    assert snap_compare(app_for(followup), terminal_size=size, run_before=keys())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_followup_branch(followup, snap_compare, size):
    assert snap_compare(app_for(followup), terminal_size=size, run_before=keys("enter", "down"))
