"""notice → ledger → follow-up → 销号 through the CLI; notices from PDFs (a forged one refused);
returned reply forms matched by their QR code; the ledger workbook round trip with bad rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from followup_helpers import TODAY, issue_notices, make_visit
from PIL import Image, ImageFilter
from pypdf import PdfReader

from inspect_tui.cli import main
from inspect_tui.core.ledger import S
from inspect_tui.export.embed import load_notice
from inspect_tui.store import evidence
from inspect_tui.store.followup import ledger_of
from inspect_tui.store.session import Session

N1, N2 = "第三观摩小组〔2026〕1号", "第三观摩小组〔2026〕2号"


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    folder = tmp_path_factory.mktemp("visit")
    visit = make_visit(folder)
    return visit, issue_notices(visit, folder / "ex")


def cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def new_followup(capsys, tmp_path, *args) -> Path:
    fu = tmp_path / "fu.jsonl"
    rc, out, err = cli(capsys, "followup", "new", *args, "-o", fu, "--inspector", "组长", "--date", "2026-12-10")
    assert rc == 0, err
    return fu


def ledger(path: Path):
    with Session.open(path, readonly=True) as s:
        return ledger_of(s)


def forge(src: Path, out: Path) -> Path:
    """The notice with a later deadline in its embedded data (hash recomputed to look consistent)."""
    from test_export import with_embedded

    from inspect_tui.export.notice import notice_hash

    doc = load_notice(src)
    doc["notice"]["items"][0]["deadline"] = "2030-01-01"
    doc["sha256"] = notice_hash(doc["notice"])
    return with_embedded(src, doc, out)


def reply_page(pdf: Path, out: Path, dpi: int = 150) -> Path:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    doc[len(doc) - 1].render(scale=dpi / 72).to_pil().save(out)
    doc.close()
    return out


def test_round_trip_notice_to_strike_off(issued, tmp_path, capsys):
    visit, pdfs = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    items = ledger(fu).items
    assert [i.ref for i in items] == [f"{N1}/1", f"{N1}/2", f"{N2}/1"]
    assert items[0].requirement == "补齐近一年会议记录" and items[0].responsible == "张明"
    rc, out, _ = cli(capsys, "followup", "show", fu, "--today", TODAY)
    assert "逾期 15 天" in out and "剩 21 天" in out and "逾期 2" in out
    rc, _, err = cli(capsys, "followup", "close", fu, f"{N1}/1", "--checker", "赵核")
    assert rc == 2 and "佐证" in err and ledger(fu).items[0].status is S.OPEN
    ev = tmp_path / "会议记录.jpg"
    Image.new("RGB", (40, 40), "white").save(ev)
    assert cli(capsys, "followup", "set", fu, f"{N1}/1", "--status", "待核查", "--evidence", ev,
               "--measures", "已补齐")[0] == 0
    assert cli(capsys, "followup", "close", fu, f"{N1}/1", "--checker", "赵核", "--date", "2026-12-09",
               "--today", TODAY)[0] == 0
    assert cli(capsys, "followup", "reopen", fu, f"{N1}/2", "--reason", "未审议", "--deadline", "2027-01-15")[0] == 0
    assert cli(capsys, "followup", "set", fu, f"{N2}/1", "--measures", "已\u202e召开\U0010fffd")[0] == 0  # typed oddities
    done = ledger(fu).items
    assert done[0].status is S.CLOSED and done[0].checker == "赵核" and done[0].measures == "已补齐"
    assert evidence.locate(fu, done[0].evidence_files[0]).read_bytes() == ev.read_bytes()  # in the store
    assert done[1].status is S.FAILED and str(done[1].deadline) == "2027-01-15"
    rc, log, _ = cli(capsys, "session", "log", fu)
    assert "整改台账变更" in log and "状态→已销号" in log and "赵核" in log

    from inspect_tui.core.records import Kind, observation_id
    from inspect_tui.core.steps import Step

    with Session.open(fu) as s:  # at the re-visit, 第二党支部's item is still not met
        b2 = s.branches()[1].id
        s.save(Kind.OBSERVATION, {"branch": b2, "item": "pol-01", "step": "check", "status": "not",
                                  "note": "党员大会仍未召开"}, observation_id(b2, "pol-01", Step.CHECK, "组长"))
    out_dir = tmp_path / "out"
    rc, out, err = cli(capsys, "followup", "export", fu, "-o", out_dir, "--today", TODAY)
    assert rc == 0, err
    summary = PdfReader(str(out_dir / "整改落实情况汇总.pdf")).pages[0].extract_text()
    flat = "".join(summary.split())
    assert "整改完成率33.3%" in flat and "销号率33.3%" in flat and "按期完成率0.0%" in flat
    assert "按季度召开党员大会并存档" in flat  # overdue list
    assert "未审议" in flat and "党员大会仍未召开" in flat  # found again: failed check, failing item
    branch = "".join(PdfReader(str(out_dir / "回头看情况反馈-第一党支部.pdf")).pages[0].extract_text().split())
    assert "已销号" in branch and "新的整改时限2027年1月15日" in branch
    second = "".join(PdfReader(str(out_dir / "回头看情况反馈-第二党支部.pdf")).pages[0].extract_text().split())
    assert "已召开[U+10FFFD]" in second  # bidi control dropped, a glyph no font has as a placeholder
    reminder = "".join(PdfReader(str(out_dir / "整改提醒书-第二党支部.pdf")).pages[0].extract_text().split())
    assert "逾期5天" in reminder and not (out_dir / "整改提醒书-第一党支部.pdf").exists()


def test_from_pdfs_alone_a_forged_one_is_refused(issued, tmp_path, capsys):
    _, pdfs = issued
    forged = forge(pdfs[1], tmp_path / "forged.pdf")
    out = tmp_path / "fu.jsonl"
    rc, _, err = cli(capsys, "followup", "new", pdfs[0], forged, "-o", out, "--inspector", "组长")
    assert rc == 2 and "forged.pdf" in err and "核验未通过" in err and not out.exists()
    fu = new_followup(capsys, tmp_path, pdfs[0], forged, "--skip-refused")
    assert [i.notice_no for i in ledger(fu).items] == [N1, N1]


def test_pdfs_and_session_give_the_same_records(issued, tmp_path, capsys):
    visit, pdfs = issued
    a = new_followup(capsys, tmp_path / "a", "--session", visit)
    b = new_followup(capsys, tmp_path / "b", *pdfs)
    digests = [cli(capsys, "session", "digest", p)[1] for p in (a, b)]
    assert digests[0] == digests[1]  # the same notice, from the session or its PDF: the same records


def test_scan_matched_from_a_rasterised_and_from_a_bad_photo(issued, tmp_path, capsys):
    visit, pdfs = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    scan = reply_page(pdfs[0], tmp_path / "scan.png")
    rc, out, err = cli(capsys, "followup", "attach", fu, scan)
    assert rc == 0, err
    assert [i.status for i in ledger(fu).items] == [S.TO_CHECK, S.TO_CHECK, S.OPEN]
    stored = ledger(fu).items[0].evidence_files
    assert len(stored) == 1 and evidence.locate(fu, stored[0]).read_bytes() == scan.read_bytes()
    assert cli(capsys, "followup", "attach", fu, scan)[0] == 0  # the same scan again changes nothing
    assert len(ledger(fu).items[0].changes) == 1
    photo = Image.open(reply_page(pdfs[1], tmp_path / "p.png", dpi=150)).convert("L")
    photo = photo.rotate(11, expand=True, fillcolor=200).filter(ImageFilter.GaussianBlur(1.0))
    photo = photo.resize((photo.width * 3 // 4, photo.height * 3 // 4))  # ~110 dpi, tilted, blurred
    photo.convert("RGB").save(tmp_path / "photo.jpg", quality=70)
    rc, out, err = cli(capsys, "followup", "attach", fu, tmp_path / "photo.jpg")
    assert rc == 0, err
    assert ledger(fu).items[2].status is S.TO_CHECK


def test_scan_without_code_or_of_another_visit(issued, tmp_path, capsys):
    visit, pdfs = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    blank = tmp_path / "blank.png"
    Image.new("L", (800, 1100), 255).save(blank)
    rc, _, err = cli(capsys, "followup", "attach", fu, blank)
    assert rc == 2 and "读不到" in err
    rc, _, err = cli(capsys, "followup", "attach", fu, pdfs[0])  # the whole notice: both codes, reply one wins
    assert rc == 0, err
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdfs[1]))
    doc[0].render(scale=2).to_pil().save(tmp_path / "page1.png")
    doc.close()
    rc, _, err = cli(capsys, "followup", "attach", fu, tmp_path / "page1.png")
    assert rc == 2 and "正文页" in err
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = issue_notices(make_visit(other_dir), other_dir / "ex")
    rc, _, err = cli(capsys, "followup", "attach", fu, reply_page(other[0], tmp_path / "o.png"))
    assert rc == 2 and "另一次观摩" in err
    assert [i.status for i in ledger(fu).items] == [S.TO_CHECK, S.TO_CHECK, S.OPEN]


def test_ledger_workbook_round_trip_and_bad_rows(issued, tmp_path, capsys):
    from openpyxl import load_workbook

    visit, _ = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    assert cli(capsys, "followup", "export", fu, "-o", tmp_path, "--only", "ledger", "--today", TODAY)[0] == 0
    book = tmp_path / "整改台账.xlsx"
    wb = load_workbook(book)
    ws = wb["整改台账"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    head = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    assert ws.cell(2, col["剩余天数"]).value == -15
    ws.cell(2, col["整改措施及完成情况"]).value = "已补齐会议记录"
    ws.cell(2, col["状态"]).value = "待核查"
    ws.cell(2, col["完成时间"]).value = "2026-12-01"
    good = tmp_path / "good.xlsx"
    wb.save(good)
    ws.cell(3, col["完成时间"]).value = "下周"
    ws.cell(4, col["状态"]).value = "已销号"
    ws.cell(3, col["整改措施及完成情况"]).value = "补" * 10_001
    ws.cell(4, col["完成时间"]).value = "2099-01-01"
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    rc, _, err = cli(capsys, "followup", "import", fu, bad)
    letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert rc == 2
    assert f"{bad}!整改台账!{letter[col['完成时间'] - 1]}3:" in err
    assert f"{bad}!整改台账!{letter[col['状态'] - 1]}4:" in err
    assert f"{bad}!整改台账!{letter[col['整改措施及完成情况'] - 1]}3: 太长：最多 10000 个字（现有 10001 个）" in err
    assert f"{bad}!整改台账!{letter[col['完成时间'] - 1]}4: 完成时间 2099-01-01 晚于今天" in err
    assert ledger(fu).items[0].status is S.OPEN  # nothing applied
    rc, out, err = cli(capsys, "followup", "import", fu, good)
    assert rc == 0, err
    first = ledger(fu).items[0]
    assert first.status is S.TO_CHECK and first.measures == "已补齐会议记录" and str(first.completed_on) == "2026-12-01"
    assert cli(capsys, "followup", "import", fu, good)[0] == 0 and len(ledger(fu).items[0].changes) == 1
    shutil.copy(visit, tmp_path / "not.xlsx")
    rc, _, err = cli(capsys, "followup", "import", fu, tmp_path / "not.xlsx")
    assert rc == 2 and "xlsx" in err


def test_a_returned_workbook_that_changed_what_the_notice_said_is_named_not_taken(issued, tmp_path, capsys):
    from openpyxl import load_workbook

    visit, _ = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    assert cli(capsys, "followup", "export", fu, "-o", tmp_path, "--only", "ledger", "--today", TODAY)[0] == 0
    book = tmp_path / "整改台账.xlsx"
    before = ledger(fu).items[0]
    wb = load_workbook(book)
    ws = wb["整改台账"]
    col = {c.value: c.column_letter for c in ws[1]}
    ws[f"{col['整改时限']}2"].value = None
    ws[f"{col['整改要求']}2"].value = "（已改）无需整改"
    ws[f"{col['整改措施及完成情况']}2"].value = "已补齐会议记录"
    wb.save(book)
    rc, out, err = cli(capsys, "followup", "import", fu, book)
    assert rc == 0 and "导入 1 项变更" in out
    assert f"{book}!整改台账!{col['整改时限']}2：“整改时限”不能在表中修改" in err
    assert f"{book}!整改台账!{col['整改要求']}2：“整改要求”不能在表中修改" in err
    assert err.count("不能在表中修改") == 2
    after = ledger(fu).items[0]
    assert (after.deadline, after.requirement, after.measures) == (before.deadline, before.requirement, "已补齐会议记录")


def test_evidence_travels_through_handout_and_merge(issued, tmp_path, capsys):
    visit, pdfs = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    copy = tmp_path / "usb" / "张伟.jsonl"
    copy.parent.mkdir()
    assert cli(capsys, "handout", fu, "--to", "张伟", "-o", copy)[0] == 0
    assert cli(capsys, "followup", "attach", copy, pdfs[1])[0] == 0  # the returned form as a PDF
    bad = tmp_path / "notes.txt"
    bad.write_text("not evidence", encoding="utf-8")
    rc, _, err = cli(capsys, "followup", "set", copy, f"{N2}/1", "--evidence", bad)
    assert rc == 2 and "notes.txt" in err
    merged = tmp_path / "m.jsonl"
    assert cli(capsys, "merge", fu, copy, "-o", merged)[0] == 0
    item = ledger(merged).items[2]
    assert item.status is S.TO_CHECK and evidence.locate(merged, item.evidence_files[0]).read_bytes() == pdfs[1].read_bytes()


def test_a_long_problem_that_could_be_issued_can_be_followed_up(tmp_path, capsys):
    """One limit for typed texts: a notice the tool issued never fails to enter the ledger."""
    from inspect_tui.core.records import MAX_TEXT, Kind

    visit = make_visit(tmp_path)
    long = "会议记录缺少签名。" * 555  # 4,995 characters
    with Session.open(visit) as s:
        b = s.branches()[0]
        p = next(r for r in s.records(b.id, Kind.PROBLEM))
        s.save(Kind.PROBLEM, {**p.data, "text": long}, p.id)
        with pytest.raises(Exception, match=f"最多 {MAX_TEXT}"):
            s.save(Kind.PROBLEM, {**p.data, "text": "长" * (MAX_TEXT + 1)}, p.id)
    issue_notices(visit, tmp_path / "ex")
    fu = new_followup(capsys, tmp_path, "--session", visit)
    assert long in [i.problem for i in ledger(fu).items]


def test_a_workbook_with_nothing_to_import_or_thousands_of_bad_rows_is_said_briefly(issued, tmp_path, capsys):
    from openpyxl import Workbook

    visit, _ = issued
    fu = new_followup(capsys, tmp_path, "--session", visit)
    only_ids = tmp_path / "ids.xlsx"
    wb = Workbook()
    wb.active.title = "整改台账"
    wb.active.append(["台账编号"])
    wb.active.append([f"{N1}/1"])
    wb.save(only_ids)
    rc, _, err = cli(capsys, "followup", "import", fu, only_ids)
    assert rc == 2 and "没有可导入的列" in err
    dragged = tmp_path / "dragged.xlsx"
    wb = Workbook()
    wb.active.title = "整改台账"
    wb.active.append(["台账编号", "状态"])
    for n in range(60):
        wb.active.append([f"{N1}/{100 + n}", "整改中"])
    wb.save(dragged)
    rc, _, err = cli(capsys, "followup", "import", fu, dragged)
    assert rc == 2 and "60 处错误" in err and "……另有 10 处错误未列出" in err and err.count("台账中没有事项") == 50
