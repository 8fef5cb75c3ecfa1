"""The forgery corpus: every way of altering a notice we could think of must fail ``verify`` with the
field named, and genuine notices with unusual text must pass.

Forgeries are real PDFs: a page typeset from changed HTML with the genuine notice's QR and embedded
files re-attached (what a forger with our templates would do), or the genuine PDF's content stream
edited with pypdf. Every check goes through ``verify_pdf``, the function behind ``inspect-tui verify``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from notice_helpers import ROWS, make_visit
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ContentStream, NameObject

from inspect_tui.export import fonts
from inspect_tui.export.batch import export_session
from inspect_tui.export.embed import ATTACHMENT_NAME, RENDER_NAME, load_notice, read_attachment
from inspect_tui.export.notice import notice_hash
from inspect_tui.export.qr import QRPayload
from inspect_tui.export.render import notice_html, notice_json, render_document
from inspect_tui.export.verify import read_qr_codes, verify_pdf

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")


@pytest.fixture(scope="module")
def visit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("visit")
    path = make_visit(folder, {"机关第一党支部": ROWS, "机关第二党支部": ROWS[:2]})
    issuer = folder / "发文设置.yaml"
    issuer.write_text("body: 某某市直机关工委\nnumber: 市直观摩〔{year}〕{n}号\ncc: [某某局党委]\n"
                      "contact: 王某某\nphone: 0000-1234567\n", encoding="utf-8")
    summary = export_session(path, folder / "out", kinds=["notice"], workers=1, issuer=issuer)
    assert not summary.errors and not summary.refused, summary
    files = {Path(f).name.split("-")[-1].removesuffix(".pdf"): Path(f) for f in summary.files}
    return {"session": path, "first": files["机关第一党支部"], "second": files["机关第二党支部"], "folder": folder}


def forge(genuine: Path, out: Path, *, data: dict | None = None, html: str | None = None,
          qr_from: Path | None = None, embedded: dict | None = None) -> Path:
    """A page typeset from ``html`` (or from ``data``), with the QR read from ``qr_from`` (default: the
    genuine page) and the genuine notice's embedded files (or ``embedded``) attached."""
    doc = load_notice(genuine)
    [qr_text] = read_qr_codes(qr_from or genuine)
    if html is None:
        html, _ = notice_html(data if data is not None else doc["notice"], qr_text, None, None)
        if data is not None:  # keep the genuine hash printed under the QR, as a careful forger would
            html = html.replace(notice_hash(data)[:16], doc["sha256"][:16])
    attached = json.dumps(embedded, ensure_ascii=False) if embedded is not None else \
        read_attachment(genuine, ATTACHMENT_NAME).decode()
    pdf = render_document(html, pdf_variant="pdf/a-3b", attachments=[
        (ATTACHMENT_NAME, attached, ""), (RENDER_NAME, read_attachment(genuine, RENDER_NAME).decode(), "")]).pdf
    out.write_bytes(pdf)
    return out


def genuine_html(genuine: Path) -> str:
    return notice_html(load_notice(genuine)["notice"], read_qr_codes(genuine)[0], None, None)[0]


def test_genuine_issued_notice_verifies_at_every_level(visit):
    report = verify_pdf(visit["first"], visit["session"])
    assert report.ok, report.render()
    text = report.render()
    assert "① 页面、嵌入数据与二维码三者一致：已证明" in text and "② 嵌入数据与会话记录一致：已证明" in text
    assert "③ 由小组密钥签发：未核对" in text


def test_without_session_only_level_one_is_claimed(visit):
    text = verify_pdf(visit["first"]).render()
    assert "② 嵌入数据与会话记录一致：未核对" in text and "不能证明由观摩小组签发" in text


# --- every field changed on the page, QR and embedded data kept ----------------------------------

def _changed(notice: dict, path: str, value) -> dict:
    data = copy.deepcopy(notice)
    target = data
    keys = path.split(".")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    target[keys[-1]] = value
    return data


FIELD_FORGERIES = [
    ("addressee", "机关第三党支部", "主送"),
    ("doc_no", "市直观摩〔2026〕9号", "发文字号"),
    ("deadline", "2027-06-30", "整改总时限"),
    ("items.0.problem", "会议记录个别缺少签名", "第 1 项存在问题"),
    ("items.0.requirement", "补齐近一年会议记录的签名（确有困难的可暂缓）", "第 1 项整改要求"),
    ("items.1.deadline", "2027-03-31", "第 2 项整改时限"),
    ("items.2.responsible", "支部全体", "第 3 项责任人"),
    ("issuer.body", "某某市委组织部", "署名与印章"),
]


@pytest.mark.parametrize(("path", "value", "label"), FIELD_FORGERIES, ids=[f[0] for f in FIELD_FORGERIES])
def test_each_field_changed_on_the_page_is_named(visit, tmp_path, path, value, label):
    genuine = visit["first"]
    notice = load_notice(genuine)["notice"]
    forged = forge(genuine, tmp_path / "forged.pdf", data=_changed(notice, path, value))
    report = verify_pdf(forged, visit["session"])
    assert not report.ok
    assert "页面与数据一致" in report.failed(), report.render()
    assert label in report.changed, report.changed
    # the embedded data and QR were kept: those checks still pass, and the session agrees with them
    assert {"二维码与嵌入数据一致", "嵌入数据完整", "与会话记录一致"}.isdisjoint(report.failed())
    text = report.render()
    assert "核验未通过" in text and label in text
    assert "① 页面、嵌入数据与二维码三者一致：未通过" in text and "② 嵌入数据与会话记录一致：已证明" in text


def test_another_deadline_in_one_cell_is_caught_though_the_true_date_is_elsewhere(visit, tmp_path):
    """Item 2's true deadline equals item 1's + 15 days; writing item 1's date into item 2's cell
    leaves every true date somewhere on the page — only a per-cell comparison catches it."""
    genuine = visit["first"]
    notice = load_notice(genuine)["notice"]
    forged = forge(genuine, tmp_path / "swap.pdf", data=_changed(notice, "items.1.deadline", notice["items"][2]["deadline"]))
    report = verify_pdf(forged)
    assert not report.ok and report.changed == ["第 2 项整改时限"], report.changed


def test_data_reembedded_with_a_fresh_hash(visit, tmp_path):
    genuine = visit["first"]
    doc = load_notice(genuine)
    data = _changed(doc["notice"], "items.0.deadline", "2030-01-01")
    src = PdfWriter(clone_from=str(genuine))
    src._root_object.pop("/Names", None)
    src._root_object.pop("/AF", None)
    src.add_attachment(ATTACHMENT_NAME, notice_json(data))  # self-consistent: its own, new hash
    src.add_attachment(RENDER_NAME, read_attachment(genuine, RENDER_NAME))
    forged = tmp_path / "reembedded.pdf"
    src.write(str(forged))
    assert load_notice(forged)["sha256"] == notice_hash(data)
    report = verify_pdf(forged, visit["session"])
    failed = report.failed()
    assert "嵌入数据完整" not in failed  # the forger recomputed it
    assert "二维码与嵌入数据一致" in failed and "与会话记录一致" in failed
    assert "第 1 项整改时限" in report.changed  # the page still shows the true date


def test_one_notices_qr_pasted_onto_another(visit, tmp_path):
    forged = forge(visit["first"], tmp_path / "qr.pdf", qr_from=visit["second"])
    report = verify_pdf(forged)
    assert {"二维码与嵌入数据一致", "二维码标识"} <= set(report.failed())
    qr_ids = next(c for c in report.checks if c.name == "二维码标识")
    assert "发文字号" in qr_ids.detail and "支部" in qr_ids.detail


def test_qr_removed(visit, tmp_path):
    html = genuine_html(visit["first"]).replace('<div class="qr" id="f-qr"><img', '<div class="qr" id="f-qr"><img hidden')
    report = verify_pdf(forge(visit["first"], tmp_path / "noqr.pdf", html=html))
    assert "二维码" in report.failed() and "二维码" in report.changed


# --- hidden text: only what a reader sees counts -----------------------------------------------

def _hide(visit, tmp_path, old: str, new: str, name: str):
    html = genuine_html(visit["first"])
    assert old in html
    report = verify_pdf(forge(visit["first"], tmp_path / f"{name}.pdf", html=html.replace(old, new, 1)))
    assert not report.ok
    return report


def test_white_2pt_true_addressee_beside_a_replaced_visible_one(visit, tmp_path):
    report = _hide(visit, tmp_path, '<span id="f-addressee">机关第一党支部</span>',
                   '<span id="f-addressee">机关第三党支部<span style="color:#fff;font-size:2pt">机关第一党支部</span></span>',
                   "white")
    assert "主送" in report.changed


def test_tiny_true_deadline_beside_a_later_visible_one(visit, tmp_path):
    true = "2027年1月4日"
    report = _hide(visit, tmp_path, f'id="f-item-2-deadline">{true}',
                   f'id="f-item-2-deadline"><span style="font-size:0.5pt">{true}</span>2027年6月30日', "tiny")
    assert "第 2 项整改时限" in report.changed


def test_true_requirement_moved_off_page_and_a_softer_one_printed(visit, tmp_path):
    true = "补齐近一年会议记录的签名"
    report = _hide(visit, tmp_path, f'id="f-item-1-requirement">{true}',
                   f'id="f-item-1-requirement"><span style="position:absolute;left:-900mm">{true}</span>酌情补齐签名', "offpage")
    assert "第 1 项整改要求" in report.changed


def test_true_responsible_covered_by_a_white_box_in_the_content_stream(visit, tmp_path):
    """A real PDF edit: a white rectangle appended to page 1's content stream over item 3's
    responsible cell (located through a rebuilt page's field boxes), the true name still in the text."""
    genuine = visit["first"]
    rebuilt = render_document(genuine_html(genuine))
    x1, y1, x2, y2 = rebuilt.anchors[0]["f-item-3-responsible"]
    reader = PdfReader(str(genuine))
    height = float(reader.pages[0].mediabox.height)
    writer = PdfWriter(clone_from=str(genuine))
    page = writer.pages[0]
    k = 0.75  # CSS px → pt
    box = f"q 1 1 1 rg {x1 * k:.2f} {height - y2 * k:.2f} {(x2 - x1) * k:.2f} {(y2 - y1) * k:.2f} re f Q".encode()
    content = ContentStream(page.get_contents(), writer)
    content.set_data(b"q\n" + content.get_data() + b"\nQ\n" + box)  # the box in plain page coordinates
    page[NameObject("/Contents")] = writer._add_object(content)
    forged = tmp_path / "covered.pdf"
    writer.write(str(forged))
    assert "王海燕" in (PdfReader(str(forged)).pages[0].extract_text() or "")  # the true name is still "there"
    report = verify_pdf(forged, visit["session"])
    assert not report.ok and report.changed == ["第 3 项责任人"], report.changed


def test_page_text_scribbled_outside_any_field_is_still_caught(visit, tmp_path):
    report = _hide(visit, tmp_path, '<p class="attach-note">', '<p class="body">本通知可不予执行。</p><p class="attach-note">',
                   "extra")
    assert any("其他内容" in c for c in report.changed), report.changed


def test_page_removed(visit, tmp_path):
    writer = PdfWriter(clone_from=str(visit["first"]))
    writer.remove_page(len(writer.pages) - 1)
    forged = tmp_path / "short.pdf"
    writer.write(str(forged))
    report = verify_pdf(forged)
    assert not report.ok and any(c.startswith("页数") for c in report.changed)


# --- genuine notices with unusual text -----------------------------------------------------------

UNUSUAL = [("会议\u200b记录缺少\u00ad签名\u200f", "补齐\u202e签名\u202c记录", "张\u200d红梅", 30),
           ("党费台账😀未登记𠀀", "按月\u2066登记\u2069台账", "李志刚", 45),
           ("长" * 3000, "整改" * 1500, "王海燕", 60)]


def test_genuine_notices_with_invisible_marks_emoji_and_3000_characters_verify(tmp_path):
    path = make_visit(tmp_path, {"特殊字符党支部": UNUSUAL})
    summary = export_session(path, tmp_path / "out", kinds=["notice"], workers=1)
    [pdf] = summary.files
    report = verify_pdf(pdf, path)
    assert report.ok, report.render()
    data = load_notice(pdf)["notice"]
    assert data["items"][0]["problem"] == UNUSUAL[0][0]  # the data keeps what was typed
    text = "".join(p.extract_text() or "" for p in PdfReader(pdf).pages)
    assert "\u202e" not in text and "\u200b" not in text and "会议记录缺少签名" in text.replace("\n", "")


def test_an_80_page_notice_verifies(tmp_path):
    rows = [(f"第{n}个问题：" + "记录不全" * 180, f"第{n}项整改：" + "补齐记录" * 180, "张红梅", 30 + n) for n in range(16)]
    path = make_visit(tmp_path, {"长通知党支部": rows})
    summary = export_session(path, tmp_path / "out", kinds=["notice"], workers=1)
    [pdf] = summary.files
    assert len(PdfReader(pdf).pages) >= 80
    report = verify_pdf(pdf, path)
    assert report.ok, report.render()


def test_a_wholly_remade_notice_is_caught_only_by_the_session_or_the_key(visit, tmp_path):
    """New data, new hash, new QR, page typeset from them: the three copies agree, so level 1 holds —
    the report says that proves nothing about origin; the session names the changed field."""
    genuine = visit["first"]
    data = _changed(load_notice(genuine)["notice"], "items.0.deadline", "2030-01-01")
    qr = QRPayload.for_notice(data, notice_hash(data)).encode()
    html, _ = notice_html(data, qr, None, None)
    forged = tmp_path / "remade.pdf"
    forged.write_bytes(render_document(html, pdf_variant="pdf/a-3b", attachments=[
        (ATTACHMENT_NAME, notice_json(data).decode(), ""),
        (RENDER_NAME, read_attachment(genuine, RENDER_NAME).decode(), "")]).pdf)
    alone = verify_pdf(forged)
    assert alone.ok and "不能证明由观摩小组签发" in alone.render()
    with_session = verify_pdf(forged, visit["session"])
    assert not with_session.ok and with_session.failed() == ["与会话记录一致"]
    assert "第 1 项整改时限" in next(c.detail for c in with_session.checks if c.name == "与会话记录一致")
    key = visit["folder"] / "小组.key"
    key.write_text("7e" * 32)
    with_key = verify_pdf(forged, key=key.read_bytes().strip())
    assert not with_key.ok and with_key.failed() == ["小组签名"]


def test_an_annotation_that_shows_only_when_printed_is_caught(visit, tmp_path):
    """A white box over item 3's responsible as an annotation flagged Print + NoView: the screen
    shows the true name, paper does not. Verify compares the page as printed too."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NumberObject, StreamObject

    genuine = visit["first"]
    x1, y1, x2, y2 = render_document(genuine_html(genuine)).anchors[0]["f-item-3-responsible"]
    height = float(PdfReader(str(genuine)).pages[0].mediabox.height)
    k = 0.75
    w, h = (x2 - x1) * k, (y2 - y1) * k
    writer = PdfWriter(clone_from=str(genuine))
    appearance = StreamObject()
    appearance.set_data(f"1 1 1 rg 0 0 {w:.2f} {h:.2f} re f".encode())
    appearance.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                       NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(w), FloatObject(h)])})
    annot = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Square"),
        NameObject("/Rect"): ArrayObject([FloatObject(x1 * k), FloatObject(height - y2 * k), FloatObject(x2 * k),
                                          FloatObject(height - y1 * k)]),
        NameObject("/F"): NumberObject(4 | 32),  # Print, NoView
        NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(appearance)})})
    page = writer.pages[0]
    page[NameObject("/Annots")] = ArrayObject([*(page.get("/Annots") or []), writer._add_object(annot)])
    forged = tmp_path / "print-only.pdf"
    writer.write(str(forged))
    report = verify_pdf(forged)
    assert not report.ok and report.changed == ["第 3 项责任人"], report.changed
