"""The form of issued documents and the line between issued and internal ones, read back from the PDFs.

Issuer-file errors as FILE:LINE:COL; 发文字号 given once per document and kept in the session;
issued export refused while disagreements are unsettled or demands are incomplete; every page of a
draft marked 征求意见稿; inspectors' values only in the internal 分歧与裁定清单; typed text that no
font has printed as a placeholder with a warning naming the field.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from notice_helpers import DAY, ROWS, make_visit
from PIL import Image
from pypdf import PdfReader

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.records import Kind
from inspect_tui.core.versions import join_records
from inspect_tui.errors import UserError
from inspect_tui.export import fonts
from inspect_tui.export.batch import export_session
from inspect_tui.export.embed import load_notice
from inspect_tui.export.issuer import assign_numbers, load_issuer
from inspect_tui.export.printable import neutralise, printable
from inspect_tui.export.verify import verify_pdf
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")


def pages(path: str | Path) -> list[str]:
    return [re.sub(r"\s+", "", p.extract_text() or "") for p in PdfReader(str(path)).pages]


ISSUER = """\
body: 某某市直机关工委
letterhead: 中共某某市直机关工作委员会文件
number: 市直观摩〔{year}〕{n}号
cc: [某某局党委, 某某办党组]
contact: 王某某
phone: 0000-1234567
reply_days: 10
reply_address: 市直机关工委组织部
seal: seal.png
"""


@pytest.fixture
def issuer(tmp_path) -> Path:
    seal = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    from PIL import ImageDraw

    ImageDraw.Draw(seal).ellipse((10, 10, 290, 290), outline=(200, 0, 0, 255), width=12)
    seal.save(tmp_path / "seal.png")
    path = tmp_path / "发文设置.yaml"
    path.write_text(ISSUER, encoding="utf-8")
    return path


# --- issuer file ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "where", "words"), [
    ("body: 工委\nnumber: 观摩〔{year}〕号\n", ":2:9:", "{n}"),
    ("body: 工委\nnumber: 观摩〔{yaer}〕{n}号\n", ":2:9:", "{yaer}"),
    ("body: 工委\nreply_days: 七天\n", ":2:13:", "应为整数"),
    ("body: 工委\nsael: seal.png\n", ":2:1:", "未知的字段"),
    ("body: 工委\n  cc: [a\n", ":2:", "YAML"),
    ("- body\n", ":1:1:", "顶层应为映射"),
    ("body: 工委\nnumber: 观摩〔{year}〕{n}号{\n", ":2:9:", "花括号"),
    ("body: 工委\naddressee: \"{branch\"\n", ":2:12:", "花括号"),
    ("body: 工委\nreply_days: " + "1" * 5000 + "\n", ":2:13:", "整数有 5000 位"),
])
def test_issuer_file_errors_name_file_line_and_column(tmp_path, capsys, text, where, words):
    path = tmp_path / "发文设置.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_issuer(path)
    rendered = err.value.render()
    assert f"{path}{where}" in rendered and words in rendered, rendered
    session = make_visit(tmp_path, {"机关第一党支部": ROWS})
    assert main(["export", "notice", str(session), "--issuer", str(path), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert f"{path}{where}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p.write_text("not an image"), "不是图片文件"),
    (lambda p: _claims_to_be_huge(p), "图片像素过多"),  # an image bomb: 100,000 × 100,000 in its header
])
def test_seal_that_is_not_an_image_is_refused(tmp_path, make, words):
    make(tmp_path / "seal.png")
    path = tmp_path / "i.yaml"
    path.write_text("seal: seal.png\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"不是可读的图片：{words}"):
        load_issuer(path)


def _claims_to_be_huge(path: Path) -> None:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))


# --- numbers -------------------------------------------------------------------------------------

def test_numbers_are_given_once_kept_in_the_session_and_never_twice(tmp_path, issuer):
    session = make_visit(tmp_path, {"机关第一党支部": ROWS, "机关第二党支部": ROWS[:1]})
    first = export_session(session, tmp_path / "a", workers=1, issuer=issuer)
    assert not first.refused and len(first.files) == 4
    again = export_session(session, tmp_path / "b", workers=1, issuer=issuer, kinds=["notice"])
    numbers_a = sorted(load_notice(f)["notice"]["doc_no"] for f in first.files if "整改通知书" in f)
    numbers_b = sorted(load_notice(f)["notice"]["doc_no"] for f in again.files)
    assert numbers_a == numbers_b  # re-export keeps the numbers
    with Session.open(session, readonly=True) as s:
        recs = [r for b in s.branches() for r in s.records(b.id, Kind.DOC_NUMBER)]
    texts = sorted(r.data["text"] for r in recs)
    assert texts == [f"市直观摩〔{DAY.year}〕{n}号" for n in (1, 2, 3, 4)]  # four documents, four numbers
    for f in first.files:
        assert any(t in "".join(pages(f)) for t in texts)


def test_one_number_never_prints_other_demands_and_a_reissue_replaces_it(tmp_path, issuer, capsys):
    """Re-exporting after a demand changed used to print other items under the issued number, and
    ``verify`` then called the original forged. Now the export is refused unless --reissue, which
    takes a new number; the original still verifies as what was issued, and as replaced."""
    import subprocess

    session = make_visit(tmp_path, {"机关第一党支部": ROWS})
    [original] = export_session(session, tmp_path / "a", workers=1, issuer=issuer, kinds=["notice"]).files
    first_no = load_notice(original)["notice"]["doc_no"]
    assert verify_pdf(original, session).verdict == "genuine"
    with Session.open(session) as s:
        b = s.branches()[0]
        demand = s.records(b.id, Kind.RECTIFICATION)[0]
        s.save(Kind.RECTIFICATION, {**demand.data, "deadline": "2027-03-01"}, demand.id)
    changed = verify_pdf(original, session)  # genuine as issued; the records changed since
    assert changed.verdict == "genuine" and changed.issued_as == first_no
    assert any("签发后会话记录有改动" in n for n in changed.notes) and "会话记录在签发后另有改动" in changed.render()
    capsys.readouterr()
    assert main(["export", "notice", str(session), "--issuer", str(issuer), "-o", str(tmp_path / "b"), "-q"]) == 1
    assert f"整改通知书已以 {first_no} 签发，此后整改事项有改动" in capsys.readouterr().err
    assert not list((tmp_path / "b").glob("*.pdf"))
    assert main(["followup", "new", "--session", str(session), "-o", str(tmp_path / "fu.jsonl"),
                 "--inspector", "组长"]) == 2  # the ledger is not built from demands never issued
    assert "签发后整改事项有改动" in capsys.readouterr().err and not (tmp_path / "fu.jsonl").exists()
    from inspect_tui.export.report_sheets import rectification_sheet

    with Session.open(session, readonly=True) as s:
        assert {r[0] for r in rectification_sheet([s]).rows} == {f"{first_no}（签发后有改动，未重新签发）"}
    assert main(["export", "notice", str(session), "--issuer", str(issuer), "-o", str(tmp_path / "c"), "-q",
                 "--reissue"]) == 0
    [new] = (tmp_path / "c").glob("*.pdf")
    new_no = load_notice(new)["notice"]["doc_no"]
    assert new_no != first_no and verify_pdf(new, session).verdict == "genuine"
    old = verify_pdf(original, session)
    assert old.verdict == "superseded" and old.superseded_by == new_no
    assert f"已重新签发为 {new_no}" in old.render()
    assert main(["verify", str(original), "--session", str(session)]) == 1
    with Session.open(session) as s:  # the replaced number is never given again
        assert assign_numbers(s, load_issuer(issuer)[0], [("another-branch", "notice")], DAY) == \
            {("another-branch", "notice"): f"市直观摩〔{DAY.year}〕3号"}
    scan = tmp_path / "scan.pdf"  # re-saved: no embedded data left
    subprocess.run(["pdftocairo", "-pdf", str(original), str(scan)], check=True)
    assert verify_pdf(scan, session).verdict == "unverifiable"
    capsys.readouterr()
    assert main(["verify", str(scan), "--session", str(session)]) == 4
    assert "结论：无法核验——文件中没有可核对的嵌入数据" in capsys.readouterr().out


def test_default_number_is_the_group_and_year(tmp_path):
    session = make_visit(tmp_path, {"机关第一党支部": ROWS})
    summary = export_session(session, tmp_path / "o", workers=1, kinds=["notice"])
    [pdf] = summary.files
    assert load_notice(pdf)["notice"]["doc_no"] == f"第一观摩组〔{DAY.year}〕1号"


def test_merged_copies_that_both_used_a_number_are_refused(tmp_path, issuer):
    session = make_visit(tmp_path, {"机关第一党支部": ROWS, "机关第二党支部": ROWS[:1]})
    with Session.open(session) as s:
        a, b = s.branches()
        s.save(Kind.DOC_NUMBER, {"branch": a.id, "document": "notice", "text": "市直观摩〔2026〕1号"}, f"doc_number/{a.id}/notice")
        s.save(Kind.DOC_NUMBER, {"branch": b.id, "document": "notice", "text": "市直观摩〔2026〕1号"}, f"doc_number/{b.id}/notice")
    with pytest.raises(UserError, match="出现了两次"):
        export_session(session, tmp_path / "o", workers=1, issuer=issuer)


# --- form, read back -----------------------------------------------------------------------------

def test_notice_form_read_back(tmp_path, issuer):
    session = make_visit(tmp_path, {"机关第一党支部": ROWS})
    summary = export_session(session, tmp_path / "o", workers=1, issuer=issuer, kinds=["notice"])
    [pdf] = summary.files
    text = pages(pdf)
    whole = "".join(text)
    for part in ("中共某某市直机关工作委员会文件", f"市直观摩〔{DAY.year}〕1号", "机关第一党支部：", "附件：整改情况反馈表",
                 "某某市直机关工委", "2026年11月20日", "抄送：某某局党委、某某办党组", "联系人：王某某", "0000-1234567",
                 "市直机关工委组织部", "—1—"):
        assert part in whole, part
    for col in ("序号", "存在问题", "整改措施及完成情况", "佐证材料", "责任人", "完成时间", "未完成原因及下步措施"):
        assert col in whole
    assert "支部书记签字" in whole and "上级党组织审核意见" in whole
    assert "盖章" not in whole and "组长" not in whole
    data = load_notice(pdf)["notice"]
    assert data["deadline"] == max(i["deadline"] for i in data["items"])  # overall = latest item's
    assert "待定" not in whole
    # the signature never sits on a page by itself: it shares its page with the deadline paragraph
    sig_page = next(p for p in text if "2026年11月20日" in p and "某某市直机关工委" in p and "附件" in p)
    assert "整改总时限" in sig_page
    reader = PdfReader(pdf)
    assert any("/Image" in str(x.get("/Subtype")) for p in reader.pages for x in
               (p["/Resources"].get("/XObject") or {}).values() for x in [x.get_object()])  # QR and seal
    assert verify_pdf(pdf, session).ok  # the seal image is embedded and checked by its hash


def test_signature_block_is_not_alone_on_a_page_with_a_long_table(tmp_path):
    """Rows sized so the table ends near the bottom of a page: the closing paragraphs move with the
    signature, never the signature alone."""
    for rows in (12, 13, 14, 15):
        folder = tmp_path / str(rows)
        session = make_visit(folder, {"长表党支部": [ROWS[n % 3] for n in range(rows)]})
        [pdf] = export_session(session, folder / "o", workers=1, kinds=["notice"]).files
        for page in pages(pdf):
            if "附件：整改情况反馈表" in page:
                assert "整改总时限" in page


def test_feedback_form_read_back(tmp_path, issuer):
    session = make_visit(tmp_path, {"机关第一党支部": ROWS})
    with Session.open(session) as s:
        b = s.branches()[0]
        s.save(Kind.HIGHLIGHT, {"branch": b.id, "text": "主题党日与业务工作结合紧密"})
        s.save(Kind.SUGGESTION, {"branch": b.id, "text": "建议建立台账月检制度"})
    [pdf] = export_session(session, tmp_path / "o", workers=1, issuer=issuer, kinds=["feedback"]).files
    whole = "".join(pages(pdf))
    for part in ("中共某某市直机关工作委员会文件", f"市直观摩〔{DAY.year}〕1号", "机关第一党支部：", "一、总体评价", "经观摩",
                 "三、亮点与经验做法", "（一）主题党日与业务工作结合紧密", "四、存在问题", "1.", "五、意见建议",
                 "（一）建议建立台账月检制度", "抄送：某某局党委"):
        assert part in whole, part
    assert whole.index("三、亮点") < whole.index("四、存在问题") < whole.index("五、意见建议")
    assert "1.1." not in whole and "组长" not in whole and "盖章" not in whole


# --- issued vs internal ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def disputed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("disputed")
    cl = load_default_checklist()
    copies = generate(cl, branches=2, inspectors=2, seed=11)
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    path = folder / "visit.jsonl"
    write_session(path, copies[0].meta.model_dump(mode="json"), list(records.values()), [])
    with Session.open(path, readonly=True) as s:
        assert all(s.result(b.id).unsettled for b in s.branches())
    return path


def test_issued_export_refused_while_disagreements_are_unsettled(disputed, tmp_path, capsys):
    copy = tmp_path / "v.jsonl"
    shutil.copy(disputed, copy)
    assert main(["export", "all", str(copy), "-o", str(tmp_path / "o"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "不能正式签发" in err and "分歧未裁定" in err and "--draft" in err
    assert "扣分但没有记录问题" in err  # lost points without a problem are flagged to the leader
    assert not list((tmp_path / "o").glob("*.pdf"))
    with Session.open(copy, readonly=True) as s:  # nothing was numbered
        assert not [r for b in s.branches() for r in s.records(b.id, Kind.DOC_NUMBER)]


def test_draft_marks_every_page_and_carries_no_number(disputed, tmp_path, capsys):
    assert main(["export", "all", str(disputed), "-o", str(tmp_path / "o"), "-q", "--draft"]) == 0
    files = sorted((tmp_path / "o").glob("*.pdf"))
    assert len(files) == 4 and all("征求意见稿" in f.name for f in files)
    for f in files:
        text = pages(f)
        assert len(text) >= 2 and all("征求意见稿" in p for p in text), f.name
    notice = next(f for f in files if "整改通知书" in f.name)
    assert load_notice(notice)["notice"]["status"] == "draft" and load_notice(notice)["notice"]["doc_no"] == ""
    report = verify_pdf(notice)
    assert report.ok and "征求意见稿" in report.render()


def test_inspectors_values_only_in_the_internal_list(disputed, tmp_path):
    with Session.open(disputed, readonly=True) as s:
        inspectors = s.meta.inspectors
    assert main(["export", "feedback", str(disputed), "-o", str(tmp_path / "o"), "-q", "--draft"]) == 0
    for f in (tmp_path / "o").glob("*.pdf"):
        whole = "".join(pages(f))
        assert not any(name in whole for name in inspectors) and "待裁定" not in whole
    assert main(["export", "disputes", str(disputed), "-o", str(tmp_path / "d")]) == 0
    [listing] = (tmp_path / "d").glob("*.pdf")
    text = pages(listing)
    assert all("内部资料" in p for p in text)
    assert all(name in "".join(text) for name in inspectors) and "待裁定" in "".join(text)


def test_problem_without_demand_is_shown_and_blocks_the_issued_notice(tmp_path, capsys):
    session = make_visit(tmp_path, {"机关第一党支部": ROWS})
    with Session.open(session) as s:
        b = s.branches()[0]
        s.save(Kind.PROBLEM, {"branch": b.id, "item": load_default_checklist().items()[5].id, "text": "谈心谈话无记录"})
    assert main(["export", "notice", str(session), "-o", str(tmp_path / "o"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "谈心谈话无记录" in err and "没有整改要求" in err
    assert main(["export", "notice", str(session), "-o", str(tmp_path / "d"), "-q", "--draft"]) == 0
    [draft] = (tmp_path / "d").glob("*.pdf")
    assert "谈心谈话无记录" not in "".join(pages(draft))  # no invented demand for it


# --- typed text always prints ---------------------------------------------------------------------

def test_neutralise_drops_bidi_and_zero_width_but_keeps_emoji_sequences():
    assert neutralise("2026\u202e年\u200b12\u00ad月\u200f\u2066x\u2069") == "2026年12月x"
    family = "👨\u200d👩\u200d👧"
    assert neutralise(family) == family and neutralise("a\u200db") == "ab"
    assert printable("党\U00030000", covered=lambda c: c != "\U00030000") == ("党[U+30000]", ["\U00030000"])


def test_right_to_left_words_are_isolated_so_they_cannot_turn_numbers_around():
    assert neutralise("请于\u06402026-12-03前完成") == "请于\u2067\u0640\u20692026-12-03前完成"
    assert neutralise("\u0627 0571-8888") == "\u2067\u0627\u2069 0571-8888"
    uyghur = "\u0626\u06c7\u064a\u063a\u06c7\u0631 2026 \u064a\u0649\u0644\u0649"
    assert neutralise(f"张伟 {uyghur} 完成") == f"张伟 \u2067{uyghur}\u2069 完成"  # still one right-to-left phrase
    assert neutralise("\u0627\n2026") == "\u2067\u0627\u2069\n2026"
    assert neutralise(neutralise("\u0627 2026")) == neutralise("\u0627 2026")
    assert printable("\u0627 1", covered=lambda c: c != "\u2067" and c != "\u2069")[1] == []


def test_a_right_to_left_letter_before_a_deadline_prints_the_date_in_order(tmp_path, capsys):
    rows = [("记录缺少签名", "请于\u06402026-12-03前完成，联系电话 \u0627 0571-8888", "张红梅", 30)]
    session = make_visit(tmp_path, {"机关第一党支部": rows})
    assert main(["export", "notice", str(session), "-o", str(tmp_path / "o"), "-q"]) == 0
    [pdf] = (tmp_path / "o").glob("*.pdf")
    whole = "".join(pages(pdf))
    assert "2026-12-03前完成" in whole and "0571-8888" in whole
    assert "03-12-2026" not in whole and "8888-0571" not in whole
    assert verify_pdf(pdf, session).ok


def test_character_no_font_has_prints_as_placeholder_with_a_warning(tmp_path, capsys):
    rows = [("记录缺少签名\U00030000", "补齐签名😀", "张红梅", 30)]
    session = make_visit(tmp_path, {"机关第一党支部": rows})
    assert main(["export", "notice", str(session), "-o", str(tmp_path / "o"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "第1项存在问题" in err and "U+30000" in err and "占位符" in err
    [pdf] = (tmp_path / "o").glob("*.pdf")
    whole = "".join(pages(pdf))
    assert "记录缺少签名[U+30000]" in whole
    assert load_notice(pdf)["notice"]["items"][0]["problem"] == rows[0][0]  # the data keeps it
    assert verify_pdf(pdf, session).ok


def test_responsible_role_is_named_from_the_plan(tmp_path, capsys):
    plan = tmp_path / "plan.csv"
    plan.write_text("支部,单位,书记\n机关第一党支部,某某局,张红梅\n机关第二党支部,某某办,\n", encoding="utf-8")
    assert main(["session", "new", "--group", "第一观摩组", "--date", "2026-11-20", "--inspector", "王建国",
                 "--plan", str(plan), "--dir", str(tmp_path)]) == 0
    [session] = tmp_path.glob("*.jsonl")
    item = load_default_checklist().items()[0].id
    with Session.open(session) as s:
        for b in s.branches():
            pid = s.save(Kind.PROBLEM, {"branch": b.id, "item": item, "text": "会议记录缺少签名"}).id
            s.save(Kind.RECTIFICATION, {"branch": b.id, "item": item, "problem": pid, "requirement": "补齐签名",
                                        "deadline": "2026-12-31", "responsible": "支部书记"})
    capsys.readouterr()
    assert main(["export", "notice", str(session), "-o", str(tmp_path / "o"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "机关第二党支部：第 1 项（" in err and "职务" in err  # no name in the plan: still a gap
    [pdf] = (tmp_path / "o").glob("*.pdf")
    assert "张红梅（支部书记）" in "".join(pages(pdf))
    assert verify_pdf(pdf, session).ok


def test_the_review_says_what_the_notice_chose_among_differing_records(tmp_path, capsys):
    """Two inspectors' identical demand with different deadlines and people used to fold silently
    into the earliest date and both names; a problem under an item the group ruled 符合 went into
    the notice unremarked. Both are now said in the review the export prints."""
    from inspect_tui.core.records import verdict_id

    session = make_visit(tmp_path, {"机关第一党支部": ROWS[:1]})
    item = load_default_checklist().items()[0]
    with Session.open(session) as s:
        b = s.branches()[0]
        first = s.records(b.id, Kind.RECTIFICATION)[0]
        s.save(Kind.RECTIFICATION, {**first.data, "deadline": "2027-01-19", "responsible": "孙玉兰"})
        s.save(Kind.PROBLEM, {"branch": b.id, "item": item.id, "text": "第一议题学习记录只抄录原文"})
        s.save(Kind.VERDICT, {"branch": b.id, "item": item.id, "field": "check", "status": "meets",
                              "reason": "会议记录齐全"}, verdict_id(b.id, item.id, "check"))
    assert main(["export", "notice", str(session), "-o", str(tmp_path / "o"), "--draft", "-q"]) == 0
    err = capsys.readouterr().err
    deadline = first.data["deadline"]
    assert f"各条记录的整改时限不同（{deadline}、2027-01-19），通知书印最早的 {deadline}" in err
    assert f"各条记录的责任人不同，通知书并列印出：{first.data['responsible']}、孙玉兰" in err
    assert f"「{item.title}」小组裁定为符合，但仍有问题记录“第一议题学习记录只抄录原文”" in err
