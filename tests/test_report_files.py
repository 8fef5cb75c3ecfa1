"""``inspect-tui report group|rollup``: real files written by the CLI and read back — PDF text with
pypdf, the workbook with openpyxl (types, headers, frozen panes, filters, formula-looking text),
CSVs byte by byte — and every refusal leaving the output folder untouched."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import AT_ANSWER, FORMULA_PROBLEM, MINUS_PROBLEM, PLUS_SUGGESTION, small_session, tagged
from openpyxl import load_workbook
from pypdf import PdfReader

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.records import Kind, score_id
from inspect_tui.core.versions import join_records, make_version
from inspect_tui.export import fonts
from inspect_tui.export.report_files import REPORT_PDF, ROLLUP_PDF, ROLLUP_WORKBOOK, WORKBOOK
from inspect_tui.store.report_inputs import facts_of
from inspect_tui.store.session import Session, new_session
from inspect_tui.store.session_file import read_session, write_session

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")

def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pages(path: Path) -> list[str]:
    return [squash(p.extract_text() or "") for p in PdfReader(str(path)).pages]


def demo_session(folder: Path, seed: int, group: str, branches: int = 4) -> Path:
    """A merged two-inspector demo visit (with unsettled disagreements)."""
    copies = generate(load_default_checklist(), branches=branches, inspectors=2, seed=seed, group=group)
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    path = folder / f"{group}.jsonl"
    write_session(path, copies[0].meta.model_dump(mode="json"), list(records.values()), [])
    return path


@pytest.fixture(scope="module")
def group_out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("group")
    path = small_session(folder)
    steps = folder / "next.txt"
    steps.write_text("一是抓整改落实。\n二是抓示范引领。", encoding="utf-8")
    out = folder / "out"
    assert main(["report", "group", str(path), "-o", str(out), "--csv", "--next-steps", str(steps)]) == 0
    return out


def test_pdf_text_reads_back(group_out):
    text = "".join(pages(group_out / REPORT_PDF))
    for expected in ("交叉观摩情况汇总报告", "一、基本情况", "二、得分与排名", "三、共性问题清单", "四、个性问题",
                     "五、亮点与可推广做法", "六、下一步工作", "一是抓整改落实", "甲支部", "乙支部",
                     "达标率100.0%", "优秀率50.0%", "知晓率50.0%（1/2）", "未评完的支部", "丙支部",
                     "政治功能强", "作用发挥强", "先进", "主题党日与业务攻坚结合", squash(MINUS_PROBLEM)):
        assert expected in text, expected
    assert "征求意见稿" not in text


def test_charts_are_real_text(group_out):
    chart_page = next(p for p in pages(group_out / REPORT_PDF) if "各支部总分" in p)
    assert "1.甲支部" in chart_page and "20优秀" in chart_page  # bar labels
    assert "得分率" in chart_page and "100%" in chart_page  # heat map cells and legend


def test_workbook_types_headers_panes_filters(group_out):
    wb = load_workbook(group_out / WORKBOOK)
    assert wb.sheetnames == ["得分排名", "分项得分", "问题清单", "共性问题", "访谈", "亮点", "整改事项"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
    rank = wb["得分排名"]
    headers = [c.value for c in rank[1]]
    assert headers[:4] == ["排名", "支部", "单位", "小组"] and "政治功能强" in headers and "知晓率" in headers
    rows = {r[1]: r for r in rank.iter_rows(min_row=2, values_only=True)}
    total = headers.index("总分")
    assert rows["甲支部"][0] == 1 and rows["甲支部"][total] == 20 and isinstance(rows["乙支部"][total], int | float)
    assert rows["丙支部"][0] is None and rows["丙支部"][headers.index("状态")].startswith("未评")
    assert rank.cell(2, headers.index("知晓率") + 1).number_format == "0.0%"
    assert rank.column_dimensions["B"].width >= 20
    rect = wb["整改事项"]
    deadline = [c.value for c in rect[1]].index("整改时限")
    assert rect.cell(2, deadline + 1).value == dt.datetime(2026, 12, 31)
    assert rect.cell(2, deadline + 1).is_date


def test_formula_looking_text_stays_text_in_the_workbook(group_out):
    wb = load_workbook(group_out / WORKBOOK)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    for text in (FORMULA_PROBLEM, MINUS_PROBLEM, PLUS_SUGGESTION, AT_ANSWER):
        found = [c for c in cells if c.value == text]
        assert found, text
        assert all(c.data_type == "s" for c in found), text
    assert not [c for c in cells if c.data_type == "f"]


def test_rectification_sheet_matches_the_notice(group_out, tmp_path):
    from inspect_tui.export.batch import plan_export
    from inspect_tui.store.session import Session

    with Session.open(group_out.parent / "visit.jsonl", readonly=True) as s:
        tasks, _, _ = plan_export(s, kinds=["notice"], draft=True)  # not yet issued: no 发文字号 on either side
    notice_items = [(t.vm.data["doc_no"], i["problem"], i["requirement"]) for t in tasks for i in t.vm.data["items"]]
    ws = load_workbook(group_out / WORKBOOK)["整改事项"]
    rows = [(r[0] or "", r[6], r[7]) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert rows == notice_items and len(rows) == 1  # only the recorded demand: no row is invented for the other problem


def test_csv_has_bom_and_neutralised_formulas(group_out):
    files = sorted(group_out.glob("汇总-*.csv"))
    assert len(files) == 7
    for f in files:
        assert f.read_bytes().startswith(b"\xef\xbb\xbf"), f
    problems = list(csv.reader((group_out / "汇总-问题清单.csv").open(encoding="utf-8-sig")))
    cells = [c for row in problems for c in row]
    assert "'" + FORMULA_PROBLEM in cells and "'" + MINUS_PROBLEM in cells and "'" + PLUS_SUGGESTION in cells
    assert not [c for c in cells if c and c[0] in "=+-@"]
    interviews = (group_out / "汇总-访谈.csv").read_text(encoding="utf-8-sig")
    assert "'" + AT_ANSWER in interviews
    ranking = list(csv.reader((group_out / "汇总-得分排名.csv").open(encoding="utf-8-sig")))
    assert ranking[1][0] == "1"  # numbers stay numbers


@pytest.fixture(scope="module")
def demo_paths(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("demo")
    return [demo_session(folder, seed, f"第{n}观摩小组") for n, seed in enumerate((3, 4, 5), 1)]


def test_unsettled_refused_and_nothing_written(demo_paths, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", "group", str(demo_paths[0]), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "分歧未裁定" in err and "--draft" in err and "Traceback" not in err
    assert not out.exists()


def test_draft_marks_every_page_and_lists_unsettled(demo_paths, tmp_path):
    out = tmp_path / "out"
    assert main(["report", "group", str(demo_paths[0]), "-o", str(out), "--draft"]) == 0
    texts = pages(out / REPORT_PDF)
    assert len(texts) > 1 and all("征求意见稿" in t for t in texts)
    assert "尚未裁定的分歧" in "".join(texts)
    assert "政治功能强" in "".join(texts)  # the default checklist is tagged


def test_mixed_checklists_refused_naming_files(demo_paths, tmp_path, capsys):
    tiny = small_session(tmp_path, "tiny.jsonl")
    out = tmp_path / "out"
    assert main(["report", "group", str(tiny), str(demo_paths[0]), "-o", str(out), "--draft"]) == 2
    err = capsys.readouterr().err
    assert "tiny.jsonl" in err and demo_paths[0].name in err and "不同的检查清单" in err
    assert not out.exists()


def test_damaged_file_named_exit_2_nothing_written(demo_paths, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(demo_paths[0].read_bytes()[:5000] + b"\x00garbage\n" + demo_paths[0].read_bytes()[5000:9000])
    out = tmp_path / "out"
    for kind in ("group", "rollup"):
        code = main(["report", kind, str(demo_paths[1]), str(bad), "-o", str(out), "--draft",
                     *(["--cache", str(tmp_path / "cache"), "-j", "1"] if kind == "rollup" else [])])
        err = capsys.readouterr().err
        assert code == 2 and "bad.jsonl" in err and "Traceback" not in err, (kind, err)
    assert not out.exists()


def test_no_evaluated_branch_clear_message(tmp_path, capsys):
    with new_session(tmp_path, group="一组", day=dt.date(2026, 11, 20), inspector="张伟", checklist=tagged(),
                     branches=["甲支部"], path=tmp_path / "empty.jsonl"):
        pass
    assert main(["report", "group", str(tmp_path / "empty.jsonl"), "-o", str(tmp_path / "out")]) == 2
    assert "没有已评完的支部" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_rollup_over_generated_groups(demo_paths, tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["report", "rollup", *map(str, demo_paths), "-o", str(out), "--draft", "--cache", str(cache), "--csv"]
    assert main(args) == 0
    assert len(list(cache.glob("*.json"))) == 3
    wb = load_workbook(out / ROLLUP_WORKBOOK)
    groups = list(wb["小组汇总"].iter_rows(min_row=2, values_only=True))
    assert sorted(g[0] for g in groups) == ["第1观摩小组", "第2观摩小组", "第3观摩小组"]
    ranking = list(wb["总排名"].iter_rows(min_row=2, values_only=True))
    assert len(ranking) == 12 and ranking[0][0] == 1
    assert [r[0] for r in ranking] == sorted(r[0] for r in ranking)
    text = "".join(pages(out / ROLLUP_PDF))
    assert "各小组情况" in text and "第2观摩小组" in text and "征求意见稿" in text
    # the second run reads the digests; a damaged digest is rebuilt, not trusted
    victim = next(cache.glob("*.json"))
    victim.write_text(json.dumps({"facts": {"format": 1}}), encoding="utf-8")
    (out / ROLLUP_PDF).unlink()
    assert main(args) == 0 and (out / ROLLUP_PDF).exists()
    assert json.loads(json.loads(victim.read_text(encoding="utf-8"))["body"])["facts"]["branches"]


def test_rollup_splits_checklist_versions_and_says_so(demo_paths, tmp_path, capsys):
    tiny = small_session(tmp_path, "tiny.jsonl", group="小清单组")
    out = tmp_path / "out"
    assert main(["report", "rollup", str(tiny), str(demo_paths[0]), "-o", str(out), "--draft",
                 "--cache", str(tmp_path / "cache"), "-j", "1"]) == 0
    assert "2 个检查清单版本" in capsys.readouterr().err
    assert {"小组汇总（1）", "小组汇总（2）"} <= set(load_workbook(out / ROLLUP_WORKBOOK).sheetnames)


def test_hostile_text_is_printed_and_stored_literally(tmp_path):
    """Branch names and problems as a careless or hostile user types them: markup, template syntax,
    a formula, a control character — literal text in the PDF (charts included) and the workbook."""
    name = '=HYPERLINK("http://x")<b>支部</b>'
    problem = "{{ 7*7 }}<script>alert(1)</script>记录\x1b缺失"
    with new_session(tmp_path, group="<i>小组</i>", day=dt.date(2026, 11, 20), inspector="张伟", checklist=tagged(),
                     branches=[name], path=tmp_path / "h.jsonl") as s:
        b = s.branches()[0]
        for item, score in (("i1", 6), ("i2", 3), ("i3", 8)):
            s.save(Kind.SCORE, {"branch": b.id, "item": item, "score": score}, score_id(b.id, item, s.meta.inspector))
        s.save(Kind.PROBLEM, {"branch": b.id, "item": "i2", "text": problem})
    out = tmp_path / "out"
    assert main(["report", "group", str(tmp_path / "h.jsonl"), "-o", str(out)]) == 0
    text = "".join(pages(out / REPORT_PDF))
    assert squash(name) in text and "{{7*7}}<script>alert(1)</script>记录" in text and "<i>小组</i>" in text
    assert "1." + squash(name) in text  # the bar chart's label
    ws = load_workbook(out / WORKBOOK)["问题清单"]
    [row] = list(ws.iter_rows(min_row=2))
    assert row[0].value == name and row[0].data_type == "s"
    assert row[4].value == "{{ 7*7 }}<script>alert(1)</script>记录 缺失"


def with_edit_conflict(path: Path) -> Path:
    """The session with a concurrent second version of 乙支部's score on i1 (3 → 5): two laptops
    edited it and nobody who saw both has settled it."""
    meta, records, log = read_session(path)
    branches = {d["versions"][0]["data"]["name"]: d["id"] for d in records if d["versions"][0]["kind"] == "branch"}
    doc = next(d for d in records if d["id"] == score_id(branches["乙支部"], "i1", "张伟"))
    old = doc["versions"][0]
    other = make_version(kind=old["kind"], data={**old["data"], "score": 5}, author=old["author"], by="李娜",
                         replica="laptop-2")
    doc["versions"] = sorted([old, other], key=lambda v: v["h"])
    out = path.with_name("conflict.jsonl")
    write_session(out, meta, records, log)
    return out


def test_edit_conflicts_are_unsettled(tmp_path, capsys):
    path = with_edit_conflict(small_session(tmp_path))
    with Session.open(path, readonly=True) as s:
        facts = {b.name: b.unsettled for b in facts_of(s).branches}
    assert facts["甲支部"] == () and facts["丙支部"] == ()
    assert len(facts["乙支部"]) == 1 and "编辑冲突" in facts["乙支部"][0] and "评分" in facts["乙支部"][0]
    out = tmp_path / "out"
    assert main(["report", "group", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "乙支部" in err and "编辑冲突" in err and not out.exists()
    assert main(["report", "group", str(path), "-o", str(out), "--draft"]) == 0
    text = "".join(pages(out / REPORT_PDF))
    assert "尚未裁定的分歧" in text and "编辑冲突未解决" in text


def test_a_settled_edit_conflict_is_no_longer_unsettled(tmp_path):
    path = with_edit_conflict(small_session(tmp_path))
    with Session.open(path) as s:
        b = next(b for b in s.branches() if b.data["name"] == "乙支部")
        rid = score_id(b.id, "i1", "张伟")
        s.save(Kind.SCORE, {"branch": b.id, "item": "i1", "score": 4}, rid)
    with Session.open(path, readonly=True) as s:
        assert all(b.unsettled == () for b in facts_of(s).branches)


def test_session_show_gives_the_reports_figures(group_out, tmp_path, capsys):
    """One source of truth: ``session show`` prints the rates, awareness and ranking of the report —
    the unscored 丙支部 is 未评, neither ranked nor counted as failing."""
    path = small_session(tmp_path)
    capsys.readouterr()
    assert main(["session", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    summary = squash(shown.splitlines()[-1])
    assert "丙支部" in shown and "未评" in shown
    text = "".join(pages(group_out / REPORT_PDF))
    for figure in ("达标率100.0%", "优秀率50.0%", "知晓率50.0%（1/2）"):
        assert figure in summary and figure in text
    assert "未评1个不计入" in summary and "1.甲支部>2.乙支部" in summary
    ranking = list(load_workbook(group_out / WORKBOOK)["得分排名"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1]) for r in ranking[:2]] == [(1, "甲支部"), (2, "乙支部")]


def test_workbook_and_csv_cells_read_as_the_pdf_prints_them(tmp_path):
    """A name typed as "\u202e梅红张" prints 梅红张 in the PDF; the spreadsheet cell must not read
    张红梅 in Excel. A right-to-left letter is isolated there as in the PDF."""
    from inspect_tui.export.workbook import Column, Sheet, write_csv, write_xlsx

    sheet = Sheet("整改事项", [Column("责任人"), Column("整改要求")], [["\u202e梅红张", "请于\u06402026-12-03前完成"]])
    write_xlsx(tmp_path / "t.xlsx", [sheet])
    row = next(load_workbook(tmp_path / "t.xlsx")["整改事项"].iter_rows(min_row=2, values_only=True))
    assert row == ("梅红张", "请于\u2067\u0640\u20692026-12-03前完成")
    [path] = write_csv(tmp_path, [sheet], "t")
    assert list(csv.reader(path.open(encoding="utf-8-sig")))[1] == list(row)


def test_the_lowest_class_reads_below_the_next_not_above_zero():
    from inspect_tui.export.report_pdf import _class_rule

    bounds = [85.0, 60.0, 0.0]
    assert [_class_rule(b, bounds) for b in bounds] == [
        "总分不低于满分的 85%", "总分不低于满分的 60%、低于 85%", "总分低于满分的 60%"]


def test_exported_files_are_readable_by_others_as_any_saved_file(group_out):
    """A PDF or a workbook is for others to read and forward: not 0600 like the temporary file it
    was written as."""
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in group_out.iterdir() if p.suffix in (".pdf", ".xlsx")}
    assert modes and set(modes.values()) == {0o666 & ~umask}, modes


def test_a_heat_map_cell_is_coloured_as_its_printed_percent():
    from inspect_tui.export.report_charts import heat_cell, heat_colour

    assert heat_cell(10.75 / 12) == (*heat_colour(0.9), "90%")  # 89.6%: printed 90%, coloured as 90%
    assert heat_cell(0.894)[2] == "89%" and heat_cell(0.894)[:2] == heat_colour(0.89)
    assert heat_cell(0.125)[2] == "13%"  # half up, as the scores
