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
from inspect_tui.tui.dialogs.confirm import ConfirmDialog
from inspect_tui.tui.screens.merge_screen import MergeScreen, SettleDialog


class MergeApp(App[None]):
    session = None

    def __init__(self, folder: Path, output: Path | None) -> None:
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
        await settle_workers(pilot)
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
        await pilot.press(str(who))  # adopt that inspector's value: asks first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle_workers(pilot)
        assert table.row_count == before
        await pilot.press(str(who), "y")
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
        await settle_workers(pilot)
        screen.query_one(SelectionList).select(str(bad))  # ticked by hand despite the warning
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


def test_defaults_merge_inspectors_copies_into_the_folder(folder: Path, tmp_path_factory, monkeypatch) -> None:
    """Opened on a folder with an earlier merge result and another group's file: the output lands in
    the folder (not folder/folder/…), only this group's inspectors' copies start ticked, and another
    folder (a USB stick) can be listed without copying."""
    usb = tmp_path_factory.mktemp("usb")
    monkeypatch.chdir(folder.parent)  # the app is started beside its sessions folder
    asyncio.run(_defaults(Path(folder.name), usb))


async def _defaults(folder: Path, usb: Path) -> None:
    copies = generate(load_default_checklist(), branches=1, inspectors=2, seed=9)
    other = copies[0].meta.model_copy(update={"group": "第九观摩小组"})
    write_session(folder / "别组.jsonl", other.model_dump(mode="json"), copies[0].records, [])
    earlier = copies[1].meta.model_copy(update={"role": "leader"})
    write_session(folder / "上次合并.jsonl", earlier.model_dump(mode="json"), copies[1].records, [])
    (usb / "孙.jsonl").write_bytes((folder / "王建国.jsonl").read_bytes())
    app = MergeApp(folder, None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await settle_workers(pilot)
        files = screen.query_one(SelectionList)
        ticked = sorted(Path(v).name for v in files.selected)
        assert "别组.jsonl" not in ticked and "上次合并.jsonl" not in ticked and len(ticked) == 3
        labels = [str(files.get_option_at_index(i).prompt) for i in range(files.option_count)]
        assert any("其他小组" in t for t in labels) and any("合并结果" in t for t in labels)
        await pilot.press("m")
        await settle_workers(pilot)
        assert (folder / "合并结果.jsonl").exists()
        assert "不存在" not in str(screen.query_one("#merge-problems", Static).render())
        screen.query_one("#merge-folder").value = str(usb)
        screen.query_one("#merge-folder").focus()
        await pilot.press("enter")
        await settle_workers(pilot)
        assert [Path(v).name for v in files.selected] == ["孙.jsonl"]


@pytest.mark.parametrize("width", [80, 120])
def test_disagreements_show_whole_names_when_there_is_room(folder: Path, width: int) -> None:
    """At 120 columns the branch's names are whole; at 80 they are cut to leave room for the values."""
    from rich.cells import cell_len

    async def go() -> None:
        out = folder / "out" / "merged.jsonl"
        out.parent.mkdir()
        app = MergeApp(folder, out)
        async with app.run_test(size=(width, 40)) as pilot:
            await settle_workers(pilot)
            await pilot.press("m")
            await settle_workers(pilot)
            table = app.screen.query_one("#merge-disagreements", DataTable)
            found = app.screen.disagreements
            assert table.row_count == len(found) > 0
            cells = [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]
            if width == 120:
                assert all(row[0] == d.branch_name for row, d in zip(cells, found, strict=True))
            else:  # 80 columns: cut to fit
                assert max(cell_len(row[0]) for row in cells) <= 14

    asyncio.run(go())


def test_a_file_the_machine_will_not_read_is_listed_unticked_in_chinese(folder: Path, monkeypatch) -> None:
    import errno

    from inspect_tui.store.session_file import SessionFile
    from inspect_tui.tui.screens.merge_screen import describe_files

    bad = sorted(folder.glob("*.jsonl"))[0]
    real_open = SessionFile.open.__func__

    def refusing(cls, path, *args, **kwargs):
        if Path(path) == bad:
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real_open(cls, path, *args, **kwargs)

    monkeypatch.setattr(SessionFile, "open", classmethod(refusing))
    listed = {c.path: c for c in describe_files(folder, folder / "merged.jsonl", None)}
    assert not listed[bad].ticked and "Errno" not in listed[bad].label and "Input/output" not in listed[bad].label
    assert listed[bad].label.startswith(f"{bad.name}（无法读取：读写出错")
    assert all(c.ticked for p, c in listed.items() if p != bad)
