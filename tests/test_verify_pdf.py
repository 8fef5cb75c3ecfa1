"""``verify_pdf`` end to end on one genuine notice, a signed one and copies damaged one part at a time
(attachments swapped with pypdf, pages drawn with Pillow): every check's name, verdict and message.
Notices are typeset only in the fixtures (plain, signed, sealed on an organisation's own template) and
when a page is rebuilt; the forgery corpus is test_verify_forgery.py."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pytest
import qrcode
import zxingcpp
from notice_helpers import ROWS, make_visit
from PIL import Image
from pypdf import PdfWriter

from inspect_tui.errors import UserError
from inspect_tui.export import fonts
from inspect_tui.export.batch import export_session
from inspect_tui.export.embed import ATTACHMENT_NAME, RENDER_NAME, SEAL_NAME, load_notice, read_attachment
from inspect_tui.export.notice import notice_hash
from inspect_tui.export.qr import SCHEME, QRPayload
from inspect_tui.export.render import notice_json
from inspect_tui.export.verify import Check, VerifyReport, check_page, read_qr_codes, verify_pdf

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")

KEY = b"5a" * 32


@pytest.fixture(scope="module")
def notices(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("verify")
    session = make_visit(folder, {"机关第一党支部": ROWS})
    issuer = folder / "发文设置.yaml"
    issuer.write_text("body: 某某市直机关工委\nnumber: 市直观摩〔{year}〕{n}号\n", encoding="utf-8")
    [genuine] = export_session(session, folder / "plain", kinds=["notice"], workers=1, issuer=issuer).files
    return {"session": session, "genuine": Path(genuine), "issuer": issuer, "folder": folder}


@pytest.fixture(scope="module")
def sealed(notices) -> dict:
    """The notice with a seal image, made with an organisation's own notice template and an image beside it."""
    folder = notices["folder"] / "sealed"
    tpl = folder / "tpl"
    tpl.mkdir(parents=True)
    (tpl / "notice.html").write_text(
        (Path(__file__).parents[1] / "inspect_tui/export/templates/notice.html").read_text(encoding="utf-8")
        .replace("对你支部开展了", '<img src="logo.png" width="40">（某某省直机关工委部署）对你支部开展了'),
        encoding="utf-8")
    Image.new("RGB", (40, 40), "navy").save(tpl / "logo.png")  # fetched from the template folder
    Image.new("RGB", (120, 120), "red").save(folder / "印章.png")
    issuer = folder / "发文设置.yaml"
    issuer.write_text(notices["issuer"].read_text(encoding="utf-8") + "seal: 印章.png\n", encoding="utf-8")
    [path] = export_session(notices["session"], folder / "out", kinds=["notice"], workers=1, issuer=issuer,
                            template_dir=tpl).files
    return {"path": Path(path), "templates": tpl}


@pytest.fixture(scope="module")
def signed(notices) -> Path:
    """The same notice signed with the group key."""
    [path] = export_session(notices["session"], notices["folder"] / "signed", kinds=["notice"], workers=1,
                            issuer=notices["issuer"], key=KEY).files
    return Path(path)


def checks(report) -> list[tuple[str, bool]]:
    return [(c.name, c.ok) for c in report.checks]


def detail(report, name: str) -> str:
    return next(c.detail for c in report.checks if c.name == name)


def reattached(src: Path, out: Path, **files: bytes | None) -> Path:
    """A copy of ``src`` with its embedded files replaced (None drops one; a new name is added)."""
    names = {ATTACHMENT_NAME: read_attachment(src), RENDER_NAME: read_attachment(src, RENDER_NAME)}
    names |= {k.replace("_", "."): v for k, v in files.items()}
    writer = PdfWriter(clone_from=str(src))
    writer._root_object.pop("/Names", None)
    writer._root_object.pop("/AF", None)
    for name, data in names.items():
        if data is not None:
            writer.add_attachment(name, data)
    writer.write(str(out))
    return out


def drawn(out: Path, *texts: str) -> Path:
    """A one-page PDF (no embedded files) showing a QR code for each text."""
    page = Image.new("RGB", (600, 300), "white")
    for n, text in enumerate(texts):
        page.paste(qrcode.make(text, border=2).get_image().convert("RGB").resize((250, 250)), (20 + 300 * n, 20))
    page.save(out, "PDF", resolution=72)
    return out


def test_a_genuine_notice_passes_every_check(notices):
    report = verify_pdf(notices["genuine"], notices["session"])
    sha = notice_hash(report.notice)
    assert report.ok and report.session_checked and not report.key_checked and not report.draft
    assert [(c.name, c.ok, c.detail) for c in report.checks] == [
        ("二维码", True, "已读取"),
        ("嵌入数据完整", True, "哈希一致"),
        ("二维码与嵌入数据一致", True, f"SHA-256 {sha[:16]}…"),
        ("二维码标识", True, f"发文字号 {report.notice['doc_no']}，3 项"),
        ("页面与数据一致", True, "逐字段、逐像素与嵌入数据重建的页面相同（只计可见内容）"),
        ("会话", True, "同一次观摩"), ("支部", True, ""),
        ("签发记录", True, f"与会话签发 {report.notice['doc_no']} 时记下的整改事项一致"),
        ("与会话记录一致", True, "整改事项、支部与发文字号与记录完全一致")]
    assert report.payload == QRPayload.for_notice(report.notice, sha) and report.changed == []
    assert report.verdict == "genuine" and report.issued_as == report.notice["doc_no"]
    assert report.path == str(notices["genuine"])
    assert report.notes == ["发文机关、抄送、联系人等来自发文设置文件，不属于会话记录，未与记录核对。"]


def test_the_group_key(notices, signed):
    report = verify_pdf(signed, key=KEY)
    assert report.ok and report.key_checked and report.payload.mac
    assert ("小组签名", True) in checks(report) and detail(report, "小组签名") == "由持有该密钥者签发"
    other = verify_pdf(signed, key=b"00" * 32)
    assert other.failed() == ["小组签名"] and detail(other, "小组签名") == "签名不符（密钥不同或二维码被改动）"
    unsigned = verify_pdf(notices["genuine"], key=KEY)
    assert unsigned.failed() == ["小组签名"] and detail(unsigned, "小组签名") == "该通知书没有小组签名"
    without = verify_pdf(signed)
    assert without.ok and not without.key_checked
    assert without.notes == [f"二维码带有小组签名（密钥 {without.payload.key_id}），提供 --key 可核验签发者。"]


def test_no_file_and_not_a_pdf(tmp_path):
    with pytest.raises(UserError, match=re.escape(f"{tmp_path / 'nothing.pdf'}: 文件不存在")):
        verify_pdf(tmp_path / "nothing.pdf")
    junk = tmp_path / "junk.pdf"
    junk.write_text("not a pdf")
    with pytest.raises(UserError, match=re.escape(f"{junk}: 无法打开 PDF：")):
        read_qr_codes(junk)


def test_a_page_without_our_qr_or_data(tmp_path):
    report = verify_pdf(drawn(tmp_path / "other.pdf", "https://example.com/x"), key=KEY)
    assert [(c.name, c.ok, c.detail) for c in report.checks] == [
        ("二维码", False, "页面上找不到本工具的二维码"), ("小组签名", False, "读不到二维码，无法核验签名"),
        ("嵌入数据", False, f"{tmp_path / 'other.pdf'}: PDF 中没有嵌入的整改通知书数据（notice.json）")]
    assert report.key_checked and report.notice is None and report.payload is None


def test_two_of_our_codes_or_a_broken_one(tmp_path):
    one = QRPayload("某〔2026〕1号", "v", "b", 1, "", "ab" * 32).encode()
    two = verify_pdf(drawn(tmp_path / "two.pdf", one, one))
    assert checks(two)[0] == ("二维码", False) and detail(two, "二维码") == "有多个二维码"
    broken = verify_pdf(drawn(tmp_path / "broken.pdf", SCHEME + "?v=2&no=1"))
    assert checks(broken)[:2] == [("二维码", True), ("二维码内容", False)] and broken.payload is None
    assert detail(broken, "二维码内容").startswith("二维码内容不完整")
    assert [p.startswith(SCHEME) for p in read_qr_codes(tmp_path / "two.pdf")] == [True, True]
    assert read_qr_codes(tmp_path / "two.pdf", page=1) == []


def test_data_changed_without_its_hash(notices, tmp_path):
    doc = load_notice(notices["genuine"])
    doc["notice"]["items"][1]["responsible"] = "赵志强"
    forged = reattached(notices["genuine"], tmp_path / "f.pdf", notice_json=json.dumps(doc, ensure_ascii=False).encode())
    report = verify_pdf(forged, notices["session"])
    assert report.failed() == ["嵌入数据完整", "二维码与嵌入数据一致", "页面与数据一致", "与会话记录一致"]
    assert detail(report, "嵌入数据完整") == "嵌入数据与其自带的哈希不符（数据被改动）"
    assert detail(report, "二维码与嵌入数据一致").startswith("二维码中的哈希与嵌入数据不符")
    # the page shows the true name, and the hash printed under the QR code is the true data's
    assert report.changed[:2] == ["二维码", "第 2 项责任人"], report.changed
    assert detail(report, "页面与数据一致").startswith("这些地方印的与数据不符：二维码、第 2 项责任人（应为“赵志强”）")
    assert report.notes[0] == "发文机关、抄送、联系人等来自发文设置文件，不属于会话记录，未与记录核对。"


def test_a_changed_page_made_elsewhere_says_why_it_cannot_be_rebuilt(notices, tmp_path):
    data = load_notice(notices["genuine"])["notice"]
    data["items"][0]["requirement"] = "酌情补齐签名"
    identity = json.loads(read_attachment(notices["genuine"], RENDER_NAME))
    font = reattached(notices["genuine"], tmp_path / "font.pdf", notice_json=notice_json(data),
                      render_json=json.dumps({**identity, "font": "Other Sans"}).encode())
    assert verify_pdf(font).notes == ["本机与导出时的字体不同（导出时：字体 Other Sans），页面无法原样重建："
                                      "请在安装相同字体与版本的电脑上核验。"]
    templates = reattached(notices["genuine"], tmp_path / "tpl.pdf", notice_json=notice_json(data),
                           render_json=json.dumps({**identity, "templates": "0" * 16, "weasyprint": "1.0"}).encode())
    assert verify_pdf(templates).notes == [f"本机与导出时的模板、渲染器版本不同（导出时：模板 {'0' * 16}，渲染器版本 1.0），"
                                           "页面无法原样重建：请用 --templates 指定导出时所用的模板文件夹。"]
    for bad in (b"[1, 2]", b"\xff not json", None):
        same = reattached(notices["genuine"], tmp_path / "bad.pdf", notice_json=notice_json(data), render_json=bad)
        report = verify_pdf(same)
        assert "第 1 项整改要求" in report.changed and report.notes == []
        assert detail(report, "页面与数据一致").startswith("这些地方印的与数据不符：")
        assert [c.name for c in report.checks].count("页面与数据一致") == 1
    font_file = reattached(notices["genuine"], tmp_path / "ff.pdf", notice_json=notice_json(data),
                           render_json=json.dumps({**identity, "font_file": "Other.ttf"}).encode())
    assert verify_pdf(font_file).notes == ["本机与导出时的字体文件不同（导出时：字体文件 Other.ttf），页面无法原样重建："
                                           "请在安装相同字体与版本的电脑上核验。"]


def test_a_seal_that_is_not_the_recorded_one(notices, tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, "PNG")
    report = verify_pdf(reattached(notices["genuine"], tmp_path / "seal.pdf", **{SEAL_NAME.replace(".", "_"): out.getvalue()}))
    assert report.failed() == ["印章图片"]
    assert Check("印章图片", False, "嵌入的印章图片与数据中记录的不符") in report.checks


def test_malformed_data_is_a_failed_check_not_a_crash(notices, tmp_path):
    doc = load_notice(notices["genuine"])
    doc["notice"]["items"][0]["no"] = "一"
    doc["notice"]["branch"] = "not a mapping"
    report = verify_pdf(reattached(notices["genuine"], tmp_path / "m.pdf",
                                   notice_json=json.dumps(doc, ensure_ascii=False).encode()), notices["session"])
    assert detail(report, "二维码标识") == "嵌入数据格式不对"
    assert detail(report, "页面与数据一致").startswith("嵌入数据格式不对，无法重建页面（ValueError: ")
    assert detail(report, "与会话记录一致").startswith("嵌入数据格式不对（TypeError: ")
    verdicts = {c.name: c.ok for c in report.checks}
    assert verdicts["页面与数据一致"] is False and verdicts["与会话记录一致"] is False


def test_a_draft_says_so(notices, tmp_path):
    doc = load_notice(notices["genuine"])
    doc["notice"]["status"] = "draft"
    report = verify_pdf(reattached(notices["genuine"], tmp_path / "d.pdf", notice_json=notice_json(doc["notice"])))
    assert report.draft and report.notes[-1] == "这是征求意见稿（每页标有“征求意见稿”），不是正式签发的通知书。"


def test_only_qr_codes_are_read(tmp_path):
    """A Data Matrix carrying our scheme is not the notice's QR code."""
    pixels = memoryview(zxingcpp.create_barcode(QRPayload("某〔2026〕1号", "v", "b", 1, "", "ab" * 32).encode(),
                                                zxingcpp.BarcodeFormat.DataMatrix).to_image(scale=8))
    page = Image.new("L", (600, 600), 255)
    page.paste(Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), bytes(pixels)), (40, 40))
    page.save(tmp_path / "dm.pdf", "PDF", resolution=72)
    assert read_qr_codes(tmp_path / "dm.pdf") == []
    assert detail(verify_pdf(tmp_path / "dm.pdf"), "二维码") == "页面上找不到本工具的二维码"


def test_a_sealed_notice_on_its_own_templates(sealed):
    report = verify_pdf(sealed["path"], template_dir=sealed["templates"])
    assert report.ok and report.changed == [] and "印章图片" not in [c.name for c in report.checks]
    assert report.notice["issuer"]["seal_sha256"] and read_attachment(sealed["path"], SEAL_NAME)
    data = load_notice(sealed["path"])["notice"]
    data["addressee"] = "机关第二党支部"
    forged = VerifyReport(str(sealed["path"]))
    check_page(forged, sealed["path"], data, read_qr_codes(sealed["path"])[0], sealed["templates"])
    assert forged.changed[:2] == ["二维码", "主送"] and forged.notes == []  # the same templates: nothing to explain


def test_an_unreadable_qr_is_drawn_from_the_data(notices):
    """With the page's QR unreadable the page is rebuilt with the QR the data calls for: the rest still compares."""
    report = VerifyReport(str(notices["genuine"]))
    check_page(report, notices["genuine"], load_notice(notices["genuine"])["notice"], None, None)
    assert report.checks == [Check("页面与数据一致", True, "逐字段、逐像素与嵌入数据重建的页面相同（只计可见内容）")]


ITEM_EDITS = {"responsible": "赵钱孙", "problem": "甲甲甲", "requirement": "乙乙乙"}


def edited(data: dict, *, long: bool = False, **top: str) -> dict:
    """``data`` with each item's person, problem and requirement changed by one character (the layout
    stays), top-level fields replaced, and item 1's problem made long enough to reflow the page."""
    data = copy.deepcopy(data)
    for n, item in enumerate(data["items"]):
        item |= {k: (item[k][:-1] + v[n]) if k != "responsible" else v[n] + item[k][1:] for k, v in ITEM_EDITS.items()}
    if long:
        data["items"][0]["problem"] = ROWS[0][0] + "，且三次支委会的记录均由一人代签，未见本人签字"
    return data | top


@pytest.mark.parametrize(("top", "long", "count"), [
    ({"addressee": "机关第二党支部"}, False, 12),
    ({"reply_by": "2027-01-27"}, False, 13),
    ({"addressee": "机关第二党支部"}, True, 20)])
def test_at_most_twelve_changed_places_are_listed(notices, top, long, count):
    data = edited(load_notice(notices["genuine"])["notice"], long=long, **top)
    report = VerifyReport(str(notices["genuine"]))
    check_page(report, notices["genuine"], data, read_qr_codes(notices["genuine"])[0], None)
    (check,) = report.checks
    assert len(report.changed) == count and check.ok is False
    shown = check.detail.removeprefix("这些地方印的与数据不符：").removesuffix("……").split("、")
    assert [s.split("（应为")[0] for s in shown] == report.changed[:12]
    assert check.detail.endswith("……") == (count > 12)
    assert f"第 1 项存在问题（应为“{data['items'][0]['problem'][:30]}”）" in shown  # long texts cut to 30 characters


def test_a_covered_qr_fails_the_qr_and_the_page_but_the_rest_is_checked(notices, tmp_path):
    writer = PdfWriter(clone_from=str(notices["genuine"]))
    content = writer.pages[0].get_contents()
    content.set_data(content.get_data() + b"\nq 1 1 1 rg 420 150 90 90 re f Q")  # a white box over the QR code
    writer.pages[0].replace_contents(content)
    writer.write(tmp_path / "covered.pdf")
    report = verify_pdf(tmp_path / "covered.pdf")
    assert checks(report) == [("二维码", False), ("嵌入数据完整", True), ("页面与数据一致", False)]
    assert report.changed[0] == "二维码" and report.payload is None
