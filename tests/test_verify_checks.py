"""``verify``'s checks one at a time, without typesetting a notice: the comparison with the session's
records (level 2), the QR's identifiers, the pixel comparison and how a difference is named, and the
report's verdict. The forgery corpus (test_verify_forgery.py) runs the same checks end to end."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest
from notice_helpers import DAY, ROWS, make_visit
from PIL import Image, ImageDraw

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.plan import PlannedBranch
from inspect_tui.core.records import Kind, doc_number_id
from inspect_tui.export.notice import DRAFT, build_notice, notice_context, notice_hash
from inspect_tui.export.qr import QRPayload
from inspect_tui.export.verify import (
    INK,
    Check,
    VerifyReport,
    check_qr_ids,
    check_session,
    compare_pages,
    expected_text,
    field_label,
    name_regions,
)
from inspect_tui.store.session import Session, new_session

NUMBER = "市直观摩〔2026〕1号"


@pytest.fixture(scope="module")
def visit(tmp_path_factory) -> dict:
    """A session with three demands (deadlines 30/45/60 days, three people) and the notice's data as
    the exporter builds it from those records."""
    path = make_visit(tmp_path_factory.mktemp("visit"), {"机关第一党支部": ROWS})
    with Session.open(path) as s:
        branch = s.branches()[0]
        s.save(Kind.DOC_NUMBER, {"branch": branch.id, "document": "feedback", "text": "市直观摩〔2026〕2号"},
               doc_number_id(branch.id, "feedback"))  # the feedback's number is not the notice's
        s.save(Kind.DOC_NUMBER, {"branch": branch.id, "document": "notice", "text": NUMBER},
               doc_number_id(branch.id, "notice"))
        vm = build_notice(meta=s.meta, checklist=s.checklist, branch=branch, records=s.records(branch.id),
                          number=NUMBER)
    assert vm is not None
    return {"session": path, "notice": vm.data}


def session_check(visit: dict, notice: dict) -> VerifyReport:
    report = VerifyReport("notice.pdf")
    check_session(report, notice, visit["session"])
    return report


def changed(notice: dict, **fields) -> dict:
    """A copy of ``notice`` with top-level fields, or ``item_N_field`` of item N, replaced."""
    data = copy.deepcopy(notice)
    for key, value in fields.items():
        if key.startswith("item_"):
            _, n, name = key.split("_", 2)
            data["items"][int(n) - 1][name] = value
        else:
            data[key] = value
    return data


def wrong_fields(report: VerifyReport) -> list[str]:
    (check,) = [c for c in report.checks if c.name == "与会话记录一致"]
    assert not check.ok
    return check.detail.removeprefix("与当前记录不同：").split("。")[0].split("、")


# --- level 2: the data against the session's records --------------------------------------------

def test_the_exported_data_agrees_with_the_session(visit):
    report = session_check(visit, visit["notice"])
    assert [(c.name, c.ok) for c in report.checks] == [("会话", True), ("支部", True), ("与会话记录一致", True)]
    assert report.checks[-1].detail == "整改事项、支部与发文字号与记录完全一致"
    assert report.checks[0].detail == "同一次观摩" and report.ok
    assert report.notes == ["发文机关、抄送、联系人等来自发文设置文件，不属于会话记录，未与记录核对。"]


@pytest.mark.parametrize(("fields", "named"), [
    ({"item_1_problem": "会议记录个别缺少签名"}, "第 1 项存在问题"),
    ({"item_1_requirement": "酌情补齐签名"}, "第 1 项整改要求"),
    ({"item_2_deadline": "2027-03-31"}, "第 2 项整改时限"),
    ({"item_2_deadline": None}, "第 2 项整改时限"),
    ({"item_3_responsible": "支部全体"}, "第 3 项责任人"),
    ({"deadline": "2027-06-30"}, "整改总时限"),
    ({"doc_no": "市直观摩〔2026〕9号"}, f"发文字号（会话中为 {NUMBER}）"),
], ids=["problem", "requirement", "deadline", "no-deadline", "responsible", "overall-deadline", "number"])
def test_each_field_that_differs_from_the_records_is_named(visit, fields, named):
    assert wrong_fields(session_check(visit, changed(visit["notice"], **fields))) == [named]


def test_deadline_and_responsible_changed_in_the_session_after_issue_are_named(visit, tmp_path):
    """The records move on after the notice was issued: item 2's deadline, item 3's responsible."""
    moved = tmp_path / "moved.jsonl"
    moved.write_bytes(visit["session"].read_bytes())
    with Session.open(moved) as s:
        demands = s.records(s.branches()[0].id, Kind.RECTIFICATION)
        by_text = {d.data["requirement"]: d for d in demands}
        second, third = by_text[ROWS[1][1]], by_text[ROWS[2][1]]
        s.save(Kind.RECTIFICATION, {**second.data, "deadline": "2027-01-10"}, second.id)
        s.save(Kind.RECTIFICATION, {**third.data, "responsible": "赵志强"}, third.id)
    assert wrong_fields(session_check({"session": moved}, visit["notice"])) == ["第 2 项整改时限", "第 3 项责任人"]


def test_the_session_is_only_read_even_while_the_app_has_it_open(visit):
    before = visit["session"].read_bytes()
    with Session.open(visit["session"]):  # the app holds the session's lock
        assert session_check(visit, visit["notice"]).ok
    assert visit["session"].read_bytes() == before


def test_the_secretary_the_plan_names_is_the_responsible(tmp_path):
    cl = load_default_checklist()
    with new_session(tmp_path, group="第一观摩组", day=DAY, inspector="王建国", checklist=cl,
                     branches=[PlannedBranch("机关第二党支部", secretary="赵志强")]) as s:
        branch, item = s.branches()[0], cl.items()[0].id
        pid = s.save(Kind.PROBLEM, {"branch": branch.id, "item": item, "text": ROWS[0][0]}).id
        s.save(Kind.RECTIFICATION, {"branch": branch.id, "item": item, "problem": pid, "requirement": ROWS[0][1],
                                    "deadline": None, "responsible": "支部书记"})
        vm = build_notice(meta=s.meta, checklist=s.checklist, branch=branch, records=s.records(branch.id), number=None)
        path = Path(s.path)
    assert vm.data["items"][0]["responsible"] == "赵志强（支部书记）" and vm.data["deadline"] is None
    assert session_check({"session": path}, vm.data).ok  # no number, no deadline: none in the session either


def test_a_draft_is_not_held_to_a_number(visit):
    report = session_check(visit, changed(visit["notice"], status=DRAFT, doc_no=""))
    assert report.ok, report.checks


def test_a_number_missing_from_the_session_is_named(visit, tmp_path):
    bare = make_visit(tmp_path, {"机关第一党支部": ROWS})
    with Session.open(bare, readonly=True) as s:
        notice = changed(visit["notice"], visit_id=s.meta.visit_id, branch={**visit["notice"]["branch"],
                                                                            "id": s.branches()[0].id})
    assert wrong_fields(session_check({"session": bare}, notice)) == ["发文字号（会话中为 未编号）"]


def test_a_missing_and_an_extra_row_are_counted(visit):
    notice = visit["notice"]
    fewer = changed(notice, items=notice["items"][:2])
    assert wrong_fields(session_check(visit, fewer)) == ["项数（会话中 3 项，通知书 2 项）"]
    more = changed(notice, items=[*notice["items"], {**notice["items"][2], "no": 4}])
    assert wrong_fields(session_check(visit, more)) == ["项数（会话中 3 项，通知书 4 项）"]


def test_the_branch_name_is_compared(visit):
    notice = changed(visit["notice"], branch={**visit["notice"]["branch"], "name": "机关第二党支部"})
    assert wrong_fields(session_check(visit, notice)) == ["支部名称"]


def test_another_visit_or_branch_stops_the_comparison(visit):
    report = session_check(visit, changed(visit["notice"], visit_id="another"))
    assert report.checks == [Check("会话", False, "该通知书不属于这次观摩（会话编号不同）")] and not report.notes
    notice = changed(visit["notice"], branch={**visit["notice"]["branch"], "id": "no-such-branch"})
    report = session_check(visit, notice)
    assert report.checks == [Check("会话", True, "同一次观摩"), Check("支部", False, "会话中没有该支部")]


def test_at_most_twelve_differences_are_listed(visit):
    fields = {f"item_{n}_{k}": f"改{n}{k}" for n in (1, 2, 3) for k in ("problem", "requirement", "responsible")}
    fields |= {f"item_{n}_deadline": f"2030-01-0{n}" for n in (1, 2, 3)} | {"deadline": "2030-01-03"}
    wrong = wrong_fields(session_check(visit, changed(visit["notice"], **fields)))
    assert len(wrong) == 12 and wrong[0] == "第 1 项存在问题" and "整改总时限" not in wrong


# --- the QR's identifiers -------------------------------------------------------------------------

def qr_check(notice: dict, payload: QRPayload) -> Check:
    report = VerifyReport("notice.pdf")
    check_qr_ids(report, notice, notice_hash(notice), payload)
    (check,) = report.checks
    return check


def test_qr_identifiers_that_agree(visit):
    notice = visit["notice"]
    payload = QRPayload.for_notice(notice, notice_hash(notice))
    assert qr_check(notice, payload) == Check("二维码标识", True, f"发文字号 {NUMBER}，3 项")
    draft = changed(notice, doc_no="")
    assert qr_check(draft, QRPayload.for_notice(draft, notice_hash(draft))).detail == "发文字号 （无），3 项"


@pytest.mark.parametrize("field", ["notice_no", "session", "branch", "items", "deadline"])
def test_each_qr_identifier_is_compared(visit, field):
    notice = visit["notice"]
    true = QRPayload.for_notice(notice, notice_hash(notice))
    other = {"notice_no": "X〔2026〕2号", "session": "other", "branch": "other", "items": 2, "deadline": "2030-01-01"}
    payload = QRPayload(**{**true.__dict__, field: other[field]})
    label = {"notice_no": "发文字号", "session": "观摩", "branch": "支部", "items": "项数", "deadline": "整改总时限"}
    assert qr_check(notice, payload) == Check("二维码标识", False, f"与嵌入数据不符：{label[field]}")


def test_every_qr_identifier_that_differs_is_listed(visit):
    notice = visit["notice"]
    true = QRPayload.for_notice(notice, notice_hash(notice))
    payload = QRPayload(**{**true.__dict__, "notice_no": "X〔2026〕2号", "branch": "other"})
    assert qr_check(notice, payload) == Check("二维码标识", False, "与嵌入数据不符：发文字号、支部")

def test_qr_identifiers_of_malformed_data(visit):
    assert qr_check({"items": 3}, QRPayload.for_notice(visit["notice"], "0" * 64)) == \
        Check("二维码标识", False, "嵌入数据格式不对")


# --- naming what a reader sees --------------------------------------------------------------------

def test_field_labels():
    assert field_label("f-item-3-deadline") == "第 3 项整改时限"
    assert field_label("f-item-12-responsible") == "第 12 项责任人"
    assert field_label("f-item-2-problem") == "第 2 项存在问题"
    assert field_label("f-item-2-requirement") == "第 2 项整改要求"
    assert field_label("f-item-2-seal") == "第 2 项seal"
    assert field_label("f-addressee") == "主送" and field_label("f-reply-by") == "报送时限"
    assert field_label("f-own-field") == "own-field"
    assert field_label("item-3-deadline") is None and field_label("x-f-addressee") is None


def test_expected_text_is_what_each_field_prints(visit):
    context = notice_context(visit["notice"])[0]
    want = expected_text(context)
    assert want["主送"] == "机关第一党支部" and want["发文字号"] == NUMBER
    assert want["整改总时限"] == "2027年1月19日" and want["报送时限"] == context["reply_by"]
    assert want["第 1 项存在问题"] == ROWS[0][0] and want["第 1 项整改要求"] == ROWS[0][1]
    assert [want[f"第 {n} 项整改时限"] for n in (1, 2, 3)] == ["2026年12月20日", "2027年1月4日", "2027年1月19日"]
    assert [want[f"第 {n} 项责任人"] for n in (1, 2, 3)] == ["张红梅", "李志刚", "王海燕"]
    assert len(want) == 4 + 4 * 3


# --- pixels ---------------------------------------------------------------------------------------

def page_pdf(*pages: list[tuple[int, int, int, int]], size: tuple[int, int] = (200, 300)) -> bytes:
    """A PDF of white pages (1 px = 1 pt) with black boxes (in pt) drawn on them."""
    images = []
    for boxes in pages or ([],):
        im = Image.new("1", size, 1)
        for box in boxes:
            ImageDraw.Draw(im).rectangle(box, fill=0)
        images.append(im)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=72, save_all=True, append_images=images[1:])
    return out.getvalue()


def css(*pt: float) -> tuple[float, ...]:
    """A box in CSS px, as the rebuilt layout gives it, from one in pt."""
    return tuple(v / 0.75 for v in pt)


ANCHORS = [{"f-item-1-deadline": css(20, 20, 100, 50), "f-addressee": css(20, 100, 100, 130),
            "page-body": css(0, 0, 200, 300)}]


def compared(tmp_path: Path, candidate: bytes, reference: bytes, anchors=ANCHORS) -> list[str]:
    path = tmp_path / "candidate.pdf"
    path.write_bytes(candidate)
    return compare_pages(path, reference, anchors)


def test_identical_pages_differ_nowhere(tmp_path):
    page = page_pdf([(10, 10, 40, 20)])
    assert compared(tmp_path, page, page) == []


def test_ink_inside_a_field_names_the_field(tmp_path):
    assert compared(tmp_path, page_pdf([(40, 30, 60, 40)]), page_pdf([])) == ["第 1 项整改时限"]
    assert compared(tmp_path, page_pdf([]), page_pdf([(40, 110, 60, 120)])) == ["主送"]
    both = compared(tmp_path, page_pdf([(40, 30, 60, 40), (40, 110, 60, 120)]), page_pdf([]))
    assert both == ["第 1 项整改时限", "主送"]


def test_ink_outside_every_field_is_placed_on_the_page(tmp_path):
    # 72 pt is 25.4 mm: ink from 144 to 215 pt down the page is "51–76 mm" from the top (±1 mm of edge pixels)
    assert compared(tmp_path, page_pdf([(40, 144, 60, 215)]), page_pdf([])) == ["第 1 页其他内容（距页顶约 51–76 mm）"]
    # beside a named field, the rest is still reported, once per page
    found = compared(tmp_path, page_pdf([(40, 30, 60, 40), (40, 200, 60, 210), (40, 250, 60, 260)]), page_pdf([]))
    assert found == ["第 1 项整改时限", "第 1 页其他内容（距页顶约 70–92 mm）"]


def test_a_field_border_is_accounted_for_but_does_not_name_it(tmp_path):
    """A line on a box's edge (a table rule shared with the neighbouring cell) is not the field's
    content; beside a changed field it is not reported, alone it is placed on the page."""
    rule, inside_addressee = (20, 20, 100, 20), (40, 110, 60, 120)
    assert compared(tmp_path, page_pdf([rule, inside_addressee]), page_pdf([])) == ["主送"]
    assert compared(tmp_path, page_pdf([rule]), page_pdf([])) == ["第 1 页其他内容（距页顶约 7–8 mm）"]


def test_pages_missing_or_of_another_size(tmp_path):
    one, two = page_pdf([]), page_pdf([], [])
    assert compared(tmp_path, one, two) == ["页数（应为 2 页，实为 1 页）"]
    assert compared(tmp_path, two, one) == ["页数（应为 1 页，实为 2 页）"]
    assert compared(tmp_path, page_pdf([], size=(210, 300)), one) == ["第 1 页（页面尺寸不同）"]


def test_a_difference_on_a_later_page_names_that_page(tmp_path):
    found = compared(tmp_path, page_pdf([], [(40, 144, 60, 215)]), page_pdf([], []), [{}, {}])
    assert found == ["第 2 页其他内容（距页顶约 51–76 mm）"]
    found = compared(tmp_path, page_pdf([], [(40, 30, 60, 40)]), page_pdf([], []), ANCHORS)  # no boxes for page 2
    assert found == ["第 2 页其他内容（距页顶约 10–15 mm）"]


def grey_pdf(level: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (200, 300), level).save(out, "PDF", resolution=72)
    return out.getvalue()


def test_faint_ink_is_not_a_difference(tmp_path):
    """Two renderings may differ by up to INK grey levels without anything having changed."""
    assert compared(tmp_path, grey_pdf(255 - INK), page_pdf([])) == []
    assert compared(tmp_path, grey_pdf(255 - INK - 1), page_pdf([]))[:2] == ["第 1 项整改时限", "主送"]


def test_a_page_of_another_size_does_not_stop_the_comparison(tmp_path):
    a, b = Image.new("1", (210, 300), 1), Image.new("1", (200, 300), 1)
    ImageDraw.Draw(b).rectangle((40, 30, 60, 40), fill=0)
    out = io.BytesIO()
    a.save(out, "PDF", resolution=72, save_all=True, append_images=[b])
    assert compared(tmp_path, out.getvalue(), page_pdf([], []), ANCHORS * 2) == ["第 1 页（页面尺寸不同）", "第 1 项整改时限"]


def test_ink_that_shows_only_on_paper_is_a_difference(tmp_path):
    """An annotation flagged Print + NoView: the screen shows a blank page, paper a black box."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(page_pdf([]))))
    look = StreamObject()
    look.set_data(b"0 0 0 rg 0 0 20 10 re f")
    look.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(20), FloatObject(10)])})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Square"),
        NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (40, 260, 60, 270)]),  # 30–40 pt from the top
        NameObject("/F"): NumberObject(4 | 32), NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(look)})}))])
    out = io.BytesIO()
    writer.write(out)
    assert compared(tmp_path, out.getvalue(), page_pdf([])) == ["第 1 项整改时限"]
    assert compared(tmp_path, out.getvalue(), out.getvalue()) == []  # both sides printed alike


def ink(*pixels: tuple[int, int]) -> Image.Image:
    """A page's differing pixels (white on black), as compare_pages computes them."""
    diff = Image.new("L", (400, 400), 0)
    for xy in pixels:
        diff.putpixel(xy, 255)
    return diff


# 100–200 CSS px is 150–300 pixels: the box's own content is 153–297, borders 148–152 and 298–302.
BOX = {"f-addressee": (100, 100, 200, 200)}


@pytest.mark.parametrize("xy", [(153, 200), (297, 200), (200, 153), (200, 297)])
def test_a_pixel_just_inside_the_borders_names_the_field(xy):
    assert name_regions(ink(xy), BOX) == (["主送"], None)


@pytest.mark.parametrize("xy", [(148, 200), (152, 200), (298, 200), (302, 200), (200, 148), (200, 152), (200, 298),
                                (200, 302)])
def test_a_pixel_on_the_borders_is_accounted_for_but_names_nothing(xy):
    assert name_regions(ink(xy), BOX) == ([], None)


@pytest.mark.parametrize("xy", [(147, 200), (303, 200), (200, 147), (200, 303)])
def test_a_pixel_beyond_the_borders_is_left_over(xy):
    x, y = xy
    assert name_regions(ink(xy), BOX) == ([], (x, y, x + 1, y + 1))


def test_boxes_too_small_to_have_content_and_ids_that_are_not_fields():
    thin = {"f-item-1-deadline": (100, 100, 103, 200), "f-item-1-problem": (100, 100, 200, 103)}
    assert name_regions(ink((151, 151), (151, 250), (250, 151)), thin) == ([], None)
    assert name_regions(ink((200, 200)), {"page": (0, 0, 400, 400), **BOX}) == (["主送"], None)


# --- the verdict ----------------------------------------------------------------------------------

def test_a_report_with_no_checks_proves_nothing():
    assert not VerifyReport("x.pdf").ok


def test_verdicts(visit):
    report = VerifyReport("x.pdf", notice=visit["notice"])
    for name in ("二维码", "嵌入数据完整", "页面与数据一致"):
        report.add(name, True)
    text = report.render()
    assert text.splitlines()[:5] == ["✓ 二维码", "✓ 嵌入数据完整", "✓ 页面与数据一致", "核验级别：",
                                     "  ① 页面、嵌入数据与二维码三者一致：已证明"]
    assert "② 嵌入数据与会话记录一致：未核对（提供 --session 会话文件可核对）" in text
    assert "③ 由小组密钥签发：未核对（提供 --key 小组密钥可核对）" in text
    assert text.endswith("结论：通知书的页面、嵌入数据与二维码三者一致。未提供会话文件或小组密钥，"
                         "不能证明由观摩小组签发（整套重做的伪造只有 --session 或 --key 能发现）。")
    report.key_checked = True
    report.add("小组签名", True)
    assert "③ 由小组密钥签发：已证明" in report.render()
    assert report.render().endswith("结论：通知书由持有小组密钥者签发，页面所印即数据所载，未被改动。")
    report.session_checked = True
    report.add("与会话记录一致", True)
    assert "② 嵌入数据与会话记录一致：已证明" in report.render()
    assert report.render().endswith("结论：通知书与会话记录一致，页面所印即数据所载，未被改动。")
    report.notice = changed(visit["notice"], status=DRAFT)
    assert report.draft and "结论：征求意见稿（未正式签发）与会话记录一致" in report.render()


def test_a_failed_check_fails_its_level_and_the_verdict():
    report = VerifyReport("x.pdf")
    report.add("二维码", True, "已读取")
    assert report.add("页面与数据一致", False, "印的与数据不符") is False
    report.changed = [f"第 {n} 项责任人" for n in range(1, 15)]
    report.notes.append("一条说明")
    text = report.render()
    assert not report.ok and report.failed() == ["页面与数据一致"]
    assert "✓ 二维码：已读取\n✗ 页面与数据一致：印的与数据不符\n· 一条说明\n" in text
    assert "① 页面、嵌入数据与二维码三者一致：未通过" in text
    assert text.endswith("结论：核验未通过——该文件不是原件或已被改动（不一致：" +
                         "、".join(f"第 {n} 项责任人" for n in range(1, 13)) + "）。")
    report.changed = []
    assert text != report.render() and report.render().endswith("结论：核验未通过——该文件不是原件或已被改动。")
    report.session_checked = True
    assert "② 嵌入数据与会话记录一致：未通过" in report.render()  # checked, yet no check of level 2 ran
