"""One group's report from its session files (the CLI) takes the facts from the sessions' digests
and reads the sessions for the workbook in a helper process: its files must be the very files the
app makes from the open sessions, and a digest that does not stand for the file's bytes now is
never used."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import small_session
from openpyxl import load_workbook
from pypdf import PdfReader

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.records import Kind
from inspect_tui.core.versions import join_records
from inspect_tui.errors import UserError
from inspect_tui.export import fonts
from inspect_tui.export.report_files import REPORT_PDF, WORKBOOK, SheetsMaker, prepare_group_report, write_prepared
from inspect_tui.store.report_digest import digest_path, file_hash
from inspect_tui.store.report_inputs import open_sessions
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "digests"
    monkeypatch.setenv("INSPECT_TUI_DIGESTS", str(folder))
    return folder


def pdf_text(path: Path) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def book(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def demo_visit(folder: Path) -> Path:
    copies = generate(load_default_checklist(), branches=5, inspectors=2, seed=9, group="第二观摩小组")
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    path = folder / "demo.jsonl"
    write_session(path, copies[0].meta.model_dump(mode="json"), list(records.values()), [])
    return path


def test_the_files_equal_those_made_from_open_sessions(tmp_path, cache):
    paths = [small_session(tmp_path), demo_visit(tmp_path)]
    for given in ([paths[0]], [paths[1]]):
        cli, app = tmp_path / "cli", tmp_path / "app"
        assert main(["report", "group", *map(str, given), "-o", str(cli), "--draft", "--csv"]) == 0
        sessions = open_sessions(given)
        try:
            write_prepared(prepare_group_report(sessions, draft=True), app, csv=True)
        finally:
            for s in sessions:
                s.close()
        assert pdf_text(cli / REPORT_PDF) == pdf_text(app / REPORT_PDF)
        assert book(cli / WORKBOOK) == book(app / WORKBOOK)
        tables = sorted(p.name for p in app.glob("*.csv"))
        assert len(tables) == 7 and sorted(p.name for p in cli.glob("*.csv")) == tables
        for name in tables:
            assert list(csv.reader((cli / name).open(encoding="utf-8-sig"))) == \
                list(csv.reader((app / name).open(encoding="utf-8-sig"))), name
        assert all(digest_path(cache, file_hash(p)).is_file() for p in given)
        for f in (*cli.iterdir(), *app.iterdir()):
            f.unlink()


def test_a_digest_of_earlier_bytes_is_not_used(tmp_path, cache):
    path = small_session(tmp_path)
    out = tmp_path / "out"
    assert main(["report", "group", str(path), "-o", str(out)]) == 0
    old = digest_path(cache, file_hash(path))
    with Session.open(path) as s:
        s.save(Kind.PROBLEM, {"branch": s.branches()[1].id, "item": "i2", "text": "报告后新发现的问题"})
    digest_path(cache, file_hash(path)).unlink()  # as if the file had been changed by another program
    assert old.is_file()
    assert main(["report", "group", str(path), "-o", str(out)]) == 0
    assert "报告后新发现的问题" in "".join(pdf_text(out / REPORT_PDF)).replace("\n", "")
    assert "报告后新发现的问题" in str(book(out / WORKBOOK)["问题清单"])


def test_the_workbook_is_refused_when_the_session_changed_under_the_report(tmp_path, cache):
    path = small_session(tmp_path)
    sessions = open_sessions([path])
    try:
        report = prepare_group_report(sessions).report
    finally:
        sessions[0].close()
    assert SheetsMaker(report, [path], [file_hash(path)])()  # the bytes the facts were taken from
    with pytest.raises(UserError, match="被修改"):
        SheetsMaker(report, [path], ["0" * 64])()
