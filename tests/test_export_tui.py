"""Pilot test of the export screen on a minimal App: choose, export, see the files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_export import pdf_text, squash
from textual.app import App
from textual.widgets import Button, DataTable, Input, ProgressBar, SelectionList, Static

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.format import fmt_score
from inspect_tui.core.records import Kind
from inspect_tui.export import fonts
from inspect_tui.export.documents import cn_date
from inspect_tui.export.verify import verify_pdf
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session
from inspect_tui.tui.screens.export_screen import ExportScreen

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset")


class _Host(App[None]):
    session = None

    def __init__(self, session: Path, out: Path) -> None:
        super().__init__()
        self._args = (session, out)

    def on_mount(self) -> None:
        self.push_screen(ExportScreen(*self._args))


@pytest.fixture
def small_session(tmp_path: Path) -> Path:
    copy = generate(load_default_checklist(), branches=2, inspectors=1, seed=5)[0]
    path = tmp_path / "s.jsonl"
    write_session(path, copy.meta.model_dump(mode="json"), copy.records, [])
    return path


async def _until(pilot, predicate, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out; message: {pilot.app.screen.query_one('#export-message', Static).render()}")


def test_export_screen_exports_selected_branch(small_session, tmp_path):
    asyncio.run(_run(small_session, tmp_path / "out"))


async def _run(session: Path, out: Path) -> None:
    app = _Host(session, out)
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, ExportScreen)
                     and not app.screen.query_one("#export-start", Button).disabled)
        screen = app.screen
        branches = screen.query_one("#export-branches", SelectionList)
        assert branches.option_count == 2 and len(branches.selected) == 2  # all by default
        await pilot.press("a")  # none …
        assert branches.selected == []
        await pilot.press("e")
        assert "至少选择" in str(screen.query_one("#export-message", Static).render())
        branches.select(branches.get_option_at_index(0).value)  # … then one branch, both documents
        await pilot.click("#export-start")
        await _until(pilot, lambda: "导出完成" in str(screen.query_one("#export-message", Static).render()))
        table = screen.query_one("#export-results", DataTable)
        assert table.row_count == 2 and not screen.errors
        assert sorted(Path(f).name.split("-")[0] for f in screen.files) == ["整改通知书", "点对点反馈意见"]
        assert all(Path(f).parent == out for f in screen.files)
        bar = screen.query_one("#export-progress", ProgressBar)
        assert bar.total == 2 and bar.progress == 2
        chosen = branches.selected[0]
    files = {Path(f).name.split("-")[0]: Path(f) for f in screen.files}
    assert_documents_hold_the_records(session, chosen, files["点对点反馈意见"], files["整改通知书"])


def assert_documents_hold_the_records(session: Path, branch: str, feedback: Path, notice: Path) -> None:
    """What the PDFs say, read back out of them, against the session's records of that branch: its
    name (and no other's), total, rating, every highlight, problem and suggestion; every demand with
    its deadline and responsible person; and the notice's QR code and embedded data match the session."""
    with Session.open(session, readonly=True) as s:
        name = s.index.live(branch).data["name"]
        others = [b.data["name"] for b in s.branches() if b.id != branch]
        result = s.result(branch)
        records = s.records(branch)
    text, demands = pdf_text(feedback), pdf_text(notice)
    assert squash(name) in text and squash(name) in demands
    assert not any(squash(other) in text + demands for other in others)
    assert f"总得分{fmt_score(result.total)}分" in text and f"评定等次为“{result.rating.label}”" in text
    assert f"合计（评定等次：{result.rating.label}）{fmt_score(result.full_marks)}{fmt_score(result.total)}" in text
    shown = {Kind.HIGHLIGHT: "text", Kind.PROBLEM: "text", Kind.SUGGESTION: "text"}
    listed = [r for r in records if r.kind in shown]
    assert {Kind.HIGHLIGHT, Kind.PROBLEM, Kind.SUGGESTION} <= {r.kind for r in listed}  # something to check
    for r in listed:
        assert squash(r.data["text"]) in text, r.data["text"]
    rects = [r for r in records if r.kind is Kind.RECTIFICATION]
    assert rects
    for r in rects:
        assert squash(r.data["requirement"]) in demands, r.data["requirement"]
        if r.data.get("deadline"):
            assert cn_date(r.data["deadline"]) in demands
        assert squash(r.data.get("responsible") or "") in demands  # a role may gain the secretary's name
    report = verify_pdf(notice, session)
    assert report.ok and report.session_checked, report.render()


def test_export_screen_shows_user_errors(small_session, tmp_path):
    asyncio.run(_bad_templates(small_session, tmp_path))


async def _bad_templates(session: Path, tmp_path: Path) -> None:
    app = _Host(session, tmp_path / "out")
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, ExportScreen)
                     and not app.screen.query_one("#export-start", Button).disabled)
        screen = app.screen
        screen.query_one("#export-templates").value = str(tmp_path / "没有这个文件夹")
        await pilot.press("e")
        message = screen.query_one("#export-message", Static)
        await _until(pilot, lambda: "模板文件夹不存在" in str(message.render()))
        assert message.has_class("error") and not screen.query_one("#export-start", Button).disabled
        assert not (tmp_path / "out").exists()


def test_export_screen_shows_the_review_refuses_issued_and_exports_a_draft(tmp_path):
    from inspect_tui.core.versions import join_records

    copies = generate(load_default_checklist(), branches=1, inspectors=2, seed=11)
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    path = tmp_path / "s.jsonl"
    write_session(path, copies[0].meta.model_dump(mode="json"), list(records.values()), [])
    asyncio.run(_review_then_draft(path, tmp_path / "out"))


async def _review_then_draft(session: Path, out: Path) -> None:
    from textual.widgets import Checkbox

    app = _Host(session, out)
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, ExportScreen)
                     and not app.screen.query_one("#export-start", Button).disabled)
        screen = app.screen
        review = str(screen.query_one("#export-review", Static).render())
        assert "分歧未裁定" in review and "签发前请核对" in str(screen.query_one("#export-message", Static).render())
        await pilot.press("e")
        message = screen.query_one("#export-message", Static)
        await _until(pilot, lambda: "导出完成" in str(message.render()))
        assert "未导出" in str(message.render()) and not screen.files  # issued: refused
        screen.query_one("#export-draft", Checkbox).value = True
        await pilot.press("e")
        await _until(pilot, lambda: "导出完成" in str(message.render()) and screen.files)
        assert all("征求意见稿" in Path(f).name for f in screen.files) and len(screen.files) == 2
        assert all("征求意见稿" in pdf_text(Path(f)) for f in screen.files)  # the pages say so, not just the names


def test_export_screen_names_a_photo_it_could_not_print(small_session, tmp_path):
    from inspect_tui.core.records import Kind, observation_id
    from inspect_tui.core.steps import Step
    from inspect_tui.store.session import Session

    with Session.open(small_session) as s:
        b = s.branches()[0]
        item = s.checklist.items_for(Step.LOOK)[0].id
        s.save(Kind.OBSERVATION, {"branch": b.id, "item": item, "step": "look", "status": "not",
                                  "files": [str(tmp_path / "lost-photo.jpg")]},
               observation_id(b.id, item, Step.LOOK, s.meta.inspector))
    asyncio.run(_photo_warning(small_session, tmp_path / "out"))


async def _photo_warning(session: Path, out: Path) -> None:
    app = _Host(session, out)
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, ExportScreen)
                     and not app.screen.query_one("#export-start", Button).disabled)
        screen = app.screen
        await pilot.press("e")  # every branch, both documents
        await _until(pilot, lambda: "导出完成" in str(screen.query_one("#export-message", Static).render()))
        message = str(screen.query_one("#export-message", Static).render())
        assert "警告" in message and "lost-photo.jpg" in message and not screen.errors


def test_export_screen_fits_80x24(small_session, tmp_path):
    """At 80×24 every choice, the branch names, the optional fields' hints, the message and room for
    results are on screen, none cut off."""
    from rich.cells import cell_len
    from textual.widgets import Checkbox, RadioButton

    from inspect_tui.tui.app import make_app

    async def go() -> None:
        app = make_app(small_session, sessions_dir=tmp_path, exports_dir=tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: type(app.screen).__name__ == "BranchesScreen")
            await pilot.press("e")
            await _until(pilot, lambda: isinstance(app.screen, ExportScreen)
                         and not app.screen.query_one("#export-start", Button).disabled)
            screen = app.screen

            def fully_shown(widget, width: int) -> None:
                region = widget.region
                assert region.height >= 1 and region.width >= width, (widget, region, width)
                assert screen.region.contains_region(region), (widget, region)

            for button in screen.query(RadioButton):
                fully_shown(button, cell_len(str(button.label)) + 4)
            draft = screen.query_one("#export-draft", Checkbox)
            fully_shown(draft, cell_len(str(draft.label)) + 4)
            fully_shown(screen.query_one("#export-start", Button), cell_len("开始导出 (E)"))
            branches = screen.query_one("#export-branches", SelectionList)
            fully_shown(branches, max(cell_len(str(branches.get_option_at_index(i).prompt))
                                      for i in range(branches.option_count)) + 4)
            assert branches.region.height >= branches.option_count
            for name in ("templates", "key", "issuer"):
                field = screen.query_one(f"#export-{name}", Input)
                fully_shown(field, cell_len(field.placeholder) + 2)
            fully_shown(screen.query_one("#export-message", Static), 40)
            assert screen.query_one("#export-results", DataTable).region.height >= 3

    asyncio.run(go())
