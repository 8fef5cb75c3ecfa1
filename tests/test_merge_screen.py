"""Pilot tests of the merge screen on a minimal app: merge, refuse a bad file, settle by key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, SelectionList, Static

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.records import verdict_id
from inspect_tui.core.versions import digest
from inspect_tui.store.session_file import read_session, write_session
from inspect_tui.tui.screens.merge_screen import MergeScreen, SettleDialog


class MergeApp(App[None]):
    def __init__(self, folder: Path, output: Path) -> None:
        super().__init__()
        self.folder, self.output = folder, output

    def on_mount(self) -> None:
        self.push_screen(MergeScreen(self.folder, self.output, leader="组长"))


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for copy in generate(load_default_checklist(), branches=2, inspectors=3, seed=5):
        write_session(tmp_path / f"{copy.meta.inspector}.jsonl", copy.meta.model_dump(mode="json"), copy.records, [])
    return tmp_path


async def settle_workers(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def test_merge_and_settle_by_keys(folder: Path) -> None:
    asyncio.run(_merge_and_settle(folder))


async def _merge_and_settle(folder: Path) -> None:
    out = folder / "out" / "merged.jsonl"
    out.parent.mkdir()
    app = MergeApp(folder, out)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, MergeScreen)
        assert len(screen.query_one(SelectionList).selected) == 3
        await pilot.press("m")
        await settle_workers(pilot)
        assert out.exists()
        summary = screen.query_one("#merge-summary", DataTable)
        assert summary.row_count == 3
        table = screen.query_one("#merge-disagreements", DataTable)
        before = table.row_count
        assert before > 0 and len(screen.disagreements) == before
        first = screen.disagreements[0]
        who = screen.inspectors.index(first.opinions[0].inspector) + 1
        table.focus()
        await pilot.press(str(who))  # adopt that inspector's value
        await settle_workers(pilot)
        assert table.row_count == before - 1
        # type a value and a reason for the next one
        second = screen.disagreements[0]
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, SettleDialog)
        value = "1" if second.field == "score" else "不符合"
        await pilot.press(*value, "enter", *"现场复核", "enter")
        await settle_workers(pilot)
        assert isinstance(app.screen, MergeScreen)
        assert table.row_count == before - 2
    _meta, records, _log = read_session(out)
    by_id = {d["id"]: d for d in records}
    v1 = by_id[verdict_id(first.branch, first.item, first.field)]["versions"][0]
    assert v1["data"]["chosen_from"] == first.opinions[0].inspector and v1["by"] == "组长"
    v2 = by_id[verdict_id(second.branch, second.item, second.field)]["versions"][0]
    assert v2["data"]["reason"] == "现场复核"


def test_bad_file_is_refused_then_unticked(folder: Path) -> None:
    asyncio.run(_bad_file(folder))


async def _bad_file(folder: Path) -> None:
    bad = folder / "王建国.jsonl"
    data = bad.read_bytes()
    bad.write_bytes(data[:-30])
    out = folder / "merged.jsonl"
    app = MergeApp(folder, out)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = app.screen
        await pilot.press("m")
        await settle_workers(pilot)
        problems = str(screen.query_one("#merge-problems", Static).render())
        assert "王建国.jsonl" in problems and "截断" in problems
        assert not out.exists()
        screen.query_one(SelectionList).deselect(str(bad))
        await pilot.press("m")
        await settle_workers(pilot)
        assert out.exists()
        assert screen.query_one("#merge-summary", DataTable).row_count == 2
        # merging again into the same output merges it in as one more input: nothing it holds is lost
        before = read_session(out)[1]
        await pilot.press("m")
        await settle_workers(pilot)
        assert screen.query_one("#merge-summary", DataTable).row_count == 3
        assert digest(read_session(out)[1]) == digest(before)
    assert bad.read_bytes() == data[:-30]
