"""The summary screen driven by key presses: ranking and heat map from the core's report, updates
after records change, and ``w`` writing the same files as ``inspect-tui report group``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import small_session
from openpyxl import load_workbook
from test_export import pdf_text
from test_tui_app import wait_for

from inspect_tui.core.records import Kind, score_id
from inspect_tui.export.report_files import REPORT_PDF, WORKBOOK
from inspect_tui.tui.app import make_app


def rows(table) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(k)] for k in range(table.row_count)]


def test_summary_screen_ranks_updates_and_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = small_session(tmp_path)
    asyncio.run(_drive(path, tmp_path / "exports"))


async def _drive(path: Path, exports: Path) -> None:
    app = make_app(path, sessions_dir=path.parent, exports_dir=exports)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app, "BranchesScreen")
        await pilot.press("s")
        await wait_for(pilot, app, "SummaryScreen")
        ranking = app.screen.query_one("#ranking")
        shown = rows(ranking)
        assert [r[:2] for r in shown] == [["1", "甲支部"], ["2", "乙支部"], ["未评", "丙支部"]]
        assert shown[0][2:4] == ["100%", "100%"] and shown[1][2:4] == ["75%", "62%"]  # 9/12, 5/8
        rates = str(app.screen.query_one("#summary-rates").render())
        assert "达标率 100.0%" in rates and "优秀率 50.0%" in rates and "知晓率 50.0%（1/2）" in rates

        # 丙 is scored on another screen's behalf (the app's own write path); back on the summary
        # after F5 — or whenever the screen is shown again — it is ranked, ahead of 乙
        me = app.session.meta.inspector
        c = app.session.branches()[2].id
        for item, score in (("i1", 6), ("i2", 6), ("i3", 7)):
            app.save(Kind.SCORE, {"branch": c, "item": item, "score": score}, score_id(c, item, me))
        await pilot.press("escape")
        await wait_for(pilot, app, "BranchesScreen")
        await pilot.press("s")
        await wait_for(pilot, app, "SummaryScreen")
        shown = rows(app.screen.query_one("#ranking"))
        assert [r[:2] for r in shown] == [["1", "甲支部"], ["2", "丙支部"], ["3", "乙支部"]]

        await pilot.press("w")
        for _ in range(1500):
            if not app.screen.writing:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        folders = list(exports.iterdir())
        assert len(folders) == 1
        text = pdf_text(folders[0] / REPORT_PDF)  # the report read back: the ranking as shown, in order
        assert "第三观摩小组" in text
        # rank, branch, the two areas' scores, total, rating: 甲 6+6 | 8, 丙 6+6 | 7, 乙 3+6 | 5
        ranking = [text.find(row) for row in ("1甲支部12820优秀", "2丙支部12719优秀", "3乙支部9514达标")]
        assert 0 <= ranking[0] < ranking[1] < ranking[2], text[:600]
        ws = load_workbook(folders[0] / WORKBOOK)["得分排名"]
        assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["甲支部", "丙支部", "乙支部"]
