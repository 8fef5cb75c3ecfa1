"""``inspect-tui verify NOTICE.pdf``: what can be proven about a rectification notice, and nothing more.

Three levels of proof, each stated separately in the report:

1. **Page, data and QR agree** (always). The QR code is decoded from the rasterised first page; the
   embedded ``notice.json`` must hash to what it states and to the QR's hash, with the same
   identifiers. Then the **page is rebuilt** from that data — the same ``notice_context`` and
   templates the exporter used, the QR drawn from the payload read off the page — and both are
   rasterised with pdfium — as shown on screen and as printed — and compared pixel by pixel. What a
   reader sees is what is compared:
   white, tiny, clipped, off-page or covered text changes no visible pixel, so it can neither pass
   for the true text nor hide it; any visible difference fails. Each differing region is named by
   the field whose box it falls in: the template marks fields with ``id="f-…"`` (``f-addressee``,
   ``f-item-3-deadline`` …), and the rebuilt layout gives each one's box on each page — so a forged
   deadline in item 3's cell is reported as "第 3 项整改时限", even if the true date still appears
   elsewhere on the page. An organisation's own templates work the same way (``--templates``):
   the notice records a digest of the templates it was made with, so a mismatch is explained.
2. **Data equals the session's records** (``--session``): the rows, branch, visit and 发文字号 are
   rebuilt from the session and compared field by field. The session also keeps the fingerprint of
   what each notice demanded when it was issued (``DocNumberData``): a notice equal to it is the
   genuine issue even when the records changed since (that is said, not failed), or — when it was
   issued again under a new number — genuine but replaced.

A file that has lost what can be checked (its embedded data or its QR code: re-saved, scanned,
re-assembled, or not a notice at all) is "cannot tell" (``verdict``), never "forged".
3. **Signed with the group key** (``--key``): the QR payload's HMAC is checked; only key holders can
   make one, so this proves origin without the session.

Without 2 or 3, level 1 only proves the three copies agree: someone who re-makes all three
consistently (new data, new hash, new QR, new page) is caught only by the session or the key — and
the report says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspect_tui.errors import file_error
from inspect_tui.export.embed import RENDER_NAME, SEAL_NAME, load_notice, read_attachment
from inspect_tui.export.issuer import issued_record
from inspect_tui.export.notice import DRAFT, content_hash, notice_context, notice_hash, notice_items
from inspect_tui.export.qr import SCHEME, QRPayload

SCALE = 2.0  # 144 dpi: a changed digit in 9 pt text changes dozens of pixels
INK = 24  # grey levels two renderings may differ by before a pixel counts as different
# Each page is compared as shown on screen and as printed: layers and annotations may differ between
# the two (an annotation flagged "print, not view" shows only on paper).
MODES = (None, "print")
FIELD_LABELS = {"letterhead": "版头", "number": "发文字号", "qr": "二维码", "addressee": "主送",
                "deadline": "整改总时限", "reply-by": "报送时限", "reply-address": "报送地址", "contact": "联系人",
                "phone": "联系电话", "signature": "署名与印章", "date": "成文日期"}
ITEM_LABELS = {"problem": "存在问题", "requirement": "整改要求", "deadline": "整改时限", "responsible": "责任人"}
ITEM_FIELDS = tuple(ITEM_LABELS)

# What reading an altered or hand-made notice's data can raise: reported as a failed check.
if TYPE_CHECKING:
    from PIL.Image import Image

MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerifyReport:
    path: str
    checks: list[Check] = field(default_factory=list)
    notice: dict[str, Any] | None = None
    payload: QRPayload | None = None
    session_checked: bool = False
    key_checked: bool = False
    changed: list[str] = field(default_factory=list)  # page fields that differ from the data
    notes: list[str] = field(default_factory=list)
    #: What a genuine notice carries but this file lacks (a re-saved, scanned or re-assembled copy):
    #: with one missing, nothing on the page can be checked — "cannot tell", not "forged".
    missing: list[str] = field(default_factory=list)
    issued_as: str | None = None  # the number the session recorded this exact content under
    changed_since: list[str] = field(default_factory=list)  # what the records changed after that issue
    superseded_by: str | None = None  # the number that replaced this notice's, when it was issued again

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def verdict(self) -> str:
        """``genuine``; ``unverifiable`` (what is needed to check is missing, nothing found wrong);
        ``superseded`` (genuine, but issued again under another number); or ``failed``."""
        if self.ok:
            return "genuine"
        if self.missing and not [c for c in self.checks if not c.ok and c.name not in self.missing]:
            return "unverifiable"
        if self.superseded_by and self.failed() == ["未被取代"]:
            return "superseded"
        return "failed"

    @property
    def notice_no(self) -> str:
        return (self.notice or {}).get("doc_no") or "（无）"

    @property
    def draft(self) -> bool:
        return bool(self.notice) and self.notice.get("status") == DRAFT

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    def render(self) -> str:
        lines = [f"{'✓' if c.ok else '✗'} {c.name}" + (f"：{c.detail}" if c.detail else "") for c in self.checks]
        lines += [f"· {n}" for n in self.notes]
        def level(names: set[str]) -> str:
            mine = [c for c in self.checks if c.name in names]
            return "已证明" if mine and all(c.ok for c in mine) else "未通过"

        lines.append("核验级别：")
        lines.append(f"  ① 页面、嵌入数据与二维码三者一致：{level(LEVEL1)}")
        lines.append("  ② 嵌入数据与会话记录一致：" + (level(LEVEL2) if self.session_checked
                                               else "未核对（提供 --session 会话文件可核对）"))
        lines.append("  ③ 由小组密钥签发：" + (level({"小组签名"}) if self.key_checked
                                            else "未核对（提供 --key 小组密钥可核对）"))
        kind = "征求意见稿（未正式签发）" if self.draft else "通知书"
        failed = set(self.failed())
        if self.verdict == "unverifiable" and len(self.missing) > 1:
            lines.append("结论：无法核验——文件中既没有本工具的二维码，也没有嵌入数据：它不是整改通知书（反馈意见等"
                         "文书不带二维码），或是扫描、重新保存后的副本。不能据此判断真伪。")
        elif self.verdict == "unverifiable":
            lines.append(f"结论：无法核验——文件中没有可核对的{self.missing[0]}（重新保存、打印后扫描或拼页的文件"
                         "会丢失它）。不能据此判断真伪，请向签发单位索取原件或用会话文件导出的原件比对。")
        elif self.verdict == "superseded":
            lines.append(f"结论：这是 {self.notice_no} 号签发时的原件，但该通知书已重新签发为 {self.superseded_by}，"
                         f"{self.notice_no} 号已被取代，不再有效。")
        elif not self.ok and failed <= {"小组签名"}:
            lines.append("结论：页面与数据一致，但小组签名不符：不能证明由持有该密钥者签发（密钥不同，或没有签名）。")
        elif not self.ok and failed <= LEVEL2:
            lines.append("结论：核验未通过——通知书与会话记录不符（见上）：它不是该会话签发的这份通知书。")
        elif not self.ok:
            lines.append("结论：核验未通过——该文件不是原件或已被改动" +
                         (f"（不一致：{'、'.join(self.changed[:12])}）" if self.changed else "") + "。")
        elif self.changed_since:
            lines.append(f"结论：这是 {self.issued_as} 号签发时的原件，页面所印即数据所载，未被改动；"
                         "会话记录在签发后另有改动（见上）。")
        elif self.session_checked:
            lines.append(f"结论：{kind}与会话记录一致，页面所印即数据所载，未被改动。")
        elif self.key_checked:
            lines.append(f"结论：{kind}由持有小组密钥者签发，页面所印即数据所载，未被改动。")
        else:
            lines.append(f"结论：{kind}的页面、嵌入数据与二维码三者一致。未提供会话文件或小组密钥，"
                         "不能证明由观摩小组签发（整套重做的伪造只有 --session 或 --key 能发现）。")
        return "\n".join(lines)


LEVEL1 = {"二维码", "二维码内容", "嵌入数据", "嵌入数据完整", "二维码与嵌入数据一致", "二维码标识", "印章图片",
          "页面与数据一致"}
LEVEL2 = {"会话", "支部", "签发记录", "未被取代", "与会话记录一致"}


def read_qr_codes(pdf: str | Path, page: int = 0, scale: float = 3.0) -> list[str]:
    """The texts of the QR codes on one page, decoded from a rasterised image of it."""
    import pypdfium2 as pdfium
    import zxingcpp

    try:
        doc = pdfium.PdfDocument(str(pdf))
    except pdfium.PdfiumError as exc:
        raise file_error(pdf, f"无法打开 PDF：{exc}") from None
    try:
        if page >= len(doc):
            return []
        image = doc[page].render(scale=scale, grayscale=True).to_pil()
    finally:
        doc.close()
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def field_label(anchor: str) -> str | None:
    """``f-item-3-deadline`` → 第 3 项整改时限; None for ids that are not verified fields."""
    if not anchor.startswith("f-"):
        return None
    name = anchor[2:]
    m = re.fullmatch(r"item-(\d+)-(\w+)", name)
    if m:
        return f"第 {m.group(1)} 项{ITEM_LABELS.get(m.group(2), m.group(2))}"
    return FIELD_LABELS.get(name, name)


def name_regions(diff: Image, anchors: dict[str, tuple[float, float, float, float]]
                 ) -> tuple[list[str], tuple[int, int, int, int] | None]:
    """The fields with differing pixels inside their box, and the bounding box of differing pixels
    outside every field's box (None when there are none). ``diff``: the page's differing pixels at
    ``SCALE``; ``anchors``: the fields' boxes in CSS px. A field is named by what changed inside
    its box with the borders, which a neighbour shares, left out; the whole box, borders included,
    counts as accounted for."""
    k = SCALE * 0.75  # CSS px → pt → pixels
    named = []
    covered = diff.copy()
    for anchor, box in anchors.items():
        label = field_label(anchor)
        if label is None:
            continue
        left, top, right, bottom = (int(v * k) for v in box)
        inner = (left + 3, top + 3, right - 2, bottom - 2)
        if inner[2] > inner[0] and inner[3] > inner[1] and diff.crop(inner).getbbox():
            named.append(label)
        covered.paste(0, (left - 2, top - 2, right + 3, bottom + 3))
    return named, covered.getbbox()


def compare_pages(candidate: Path, reference: bytes, anchors: list[dict[str, tuple[float, float, float, float]]]
                  ) -> list[str]:
    """Fields (and other places) whose visible pixels differ between the two PDFs, in page order."""
    import pypdfium2 as pdfium
    from PIL import ImageChops

    cand, ref = pdfium.PdfDocument(str(candidate)), pdfium.PdfDocument(reference)
    out: list[str] = []
    try:
        if len(cand) != len(ref):
            out.append(f"页数（应为 {len(ref)} 页，实为 {len(cand)} 页）")
        for i, mode in [(i, m) for i in range(min(len(cand), len(ref))) for m in MODES]:
            a = cand[i].render(scale=SCALE, grayscale=True, optimize_mode=mode).to_pil()
            b = ref[i].render(scale=SCALE, grayscale=True, optimize_mode=mode).to_pil()
            if a.size != b.size:
                if f"第 {i + 1} 页（页面尺寸不同）" not in out:
                    out.append(f"第 {i + 1} 页（页面尺寸不同）")
                continue
            diff = ImageChops.difference(a, b).point(lambda v: 255 if v > INK else 0)
            box = diff.getbbox()
            if box is None:
                continue
            named, rest = name_regions(diff, anchors[i] if i < len(anchors) else {})
            out += [n for n in named if n not in out]
            if rest is not None or not named:
                top, bottom = (rest or box)[1], (rest or box)[3]
                mm = 25.4 / 72 / SCALE  # pixels → pt → mm
                where = f"第 {i + 1} 页其他内容（距页顶约 {top * mm:.0f}–{bottom * mm:.0f} mm）"
                if not any(o.startswith(f"第 {i + 1} 页其他内容") for o in out):
                    out.append(where)
    finally:
        cand.close()
        ref.close()
    return out


def check_page(report: VerifyReport, path: Path, notice: dict[str, Any], qr_text: str | None,
               template_dir: str | Path | None) -> None:
    """Rebuild the page from the data and compare what is visible (level 1's page part)."""
    from inspect_tui.export.fonts import check_pdf_prerequisites
    from inspect_tui.export.render import notice_html, render_document, render_identity

    family = check_pdf_prerequisites()
    seal = read_attachment(path, SEAL_NAME)
    wanted_seal = notice["issuer"]["seal_sha256"]
    if (hashlib.sha256(seal).hexdigest() if seal else None) != wanted_seal:
        report.add("印章图片", False, "嵌入的印章图片与数据中记录的不符")
        seal = None
    if qr_text is None:
        qr_text = QRPayload.for_notice(notice, notice_hash(notice)).encode()
    html, _ = notice_html(notice, qr_text, seal, template_dir)
    rebuilt = render_document(html, template_dir=template_dir, font_family=family)
    changed = compare_pages(path, rebuilt.pdf, rebuilt.anchors)
    report.changed = changed
    if not changed:
        report.add("页面与数据一致", True, "逐字段、逐像素与嵌入数据重建的页面相同（只计可见内容）")
        return
    should = expected_text(notice_context(notice)[0])
    shown = [f"{c}（应为“{should[c][:30]}”）" if c in should else c for c in changed[:12]]
    report.add("页面与数据一致", False, "这些地方印的与数据不符：" + "、".join(shown)
               + ("……" if len(changed) > 12 else ""))
    recorded = _render_identity(path)
    here = render_identity(template_dir, family)
    differs = [k for k in ("templates", "weasyprint", "font", "font_file") if recorded.get(k) and recorded[k] != here[k]]
    if differs:
        names = {"templates": "模板", "weasyprint": "渲染器版本", "font": "字体", "font_file": "字体文件"}
        report.notes.append("本机与导出时的" + "、".join(names[k] for k in differs) + "不同（导出时："
                            + "，".join(f"{names[k]} {recorded[k]}" for k in differs) + "），页面无法原样重建："
                            + ("请用 --templates 指定导出时所用的模板文件夹。" if "templates" in differs
                               else "请在安装相同字体与版本的电脑上核验。"))


def expected_text(context: dict[str, Any]) -> dict[str, str]:
    """What each named field should show, by its label (for the report)."""
    out = {FIELD_LABELS["addressee"]: context["addressee"], FIELD_LABELS["number"]: context["doc_no"],
           FIELD_LABELS["deadline"]: context["deadline"], FIELD_LABELS["reply-by"]: context["reply_by"]}
    for i in context["items"]:
        out |= {f"第 {i['no']} 项{ITEM_LABELS['problem']}": i["problem"],
                f"第 {i['no']} 项{ITEM_LABELS['requirement']}": i["requirement"],
                f"第 {i['no']} 项{ITEM_LABELS['deadline']}": i["deadline_cn"],
                f"第 {i['no']} 项{ITEM_LABELS['responsible']}": i["responsible"]}
    return out


def _render_identity(path: Path) -> dict[str, str]:
    try:
        raw = read_attachment(path, RENDER_NAME)
        found = json.loads(raw) if raw else {}
        return {k: str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    except (ValueError, UnicodeDecodeError):
        return {}


def verify_pdf(pdf: str | Path, session_path: str | Path | None = None, key: bytes | None = None,
               template_dir: str | Path | None = None) -> VerifyReport:
    report = VerifyReport(str(pdf))
    path = Path(pdf)
    if not path.is_file():
        raise file_error(pdf, "文件不存在")
    codes = [c for c in read_qr_codes(path) if c.startswith(SCHEME)]
    payload = None
    if not codes:
        report.missing.append("二维码")
    if report.add("二维码", len(codes) == 1,
                  "已读取" if len(codes) == 1 else ("页面上找不到本工具的二维码" if not codes else "有多个二维码")):
        try:
            payload = report.payload = QRPayload.decode(codes[0])
        except ValueError as exc:
            report.add("二维码内容", False, str(exc))
    if payload is not None and key is not None:
        report.key_checked = True
        valid = payload.signature_valid(key)
        report.add("小组签名", valid, "由持有该密钥者签发" if valid else
                   ("该通知书没有小组签名" if not payload.mac else "签名不符（密钥不同或二维码被改动）"))
    elif payload is not None and payload.mac:
        report.notes.append(f"二维码带有小组签名（密钥 {payload.key_id}），提供 --key 可核验签发者。")
    elif key is not None:
        report.key_checked = True
        report.add("小组签名", False, "读不到二维码，无法核验签名")
    try:
        doc = load_notice(path)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, not a crash
        report.add("嵌入数据", False, getattr(exc, "message", str(exc)))
        report.missing.append("嵌入数据")
        if payload is not None:
            report.notes.append(f"二维码所载：发文字号 {payload.notice_no or '（无）'}，{payload.items} 项，"
                                f"整改总时限 {payload.deadline or '（无）'}——只能据此与原件人工比对。")
        return report
    notice = report.notice = doc["notice"]
    actual = notice_hash(notice)
    report.add("嵌入数据完整", doc.get("sha256") == actual,
               "哈希一致" if doc.get("sha256") == actual else "嵌入数据与其自带的哈希不符（数据被改动）")
    if payload is not None:
        report.add("二维码与嵌入数据一致", payload.sha256 == actual,
                   f"SHA-256 {actual[:16]}…" if payload.sha256 == actual
                   else "二维码中的哈希与嵌入数据不符（二维码属于另一份通知书，或数据被改动后重算了哈希）")
        check_qr_ids(report, notice, actual, payload)
    try:
        check_page(report, path, notice, codes[0] if payload is not None else None, template_dir)
    except MALFORMED as exc:
        report.add("页面与数据一致", False, f"嵌入数据格式不对，无法重建页面（{type(exc).__name__}: {exc}）")
    if session_path is not None:
        report.session_checked = True
        try:
            check_session(report, notice, Path(session_path))
        except MALFORMED as exc:
            report.add("与会话记录一致", False, f"嵌入数据格式不对（{type(exc).__name__}: {exc}）")
    if report.draft:
        report.notes.append("这是征求意见稿（每页标有“征求意见稿”），不是正式签发的通知书。")
    return report


def check_qr_ids(report: VerifyReport, notice: dict[str, Any], actual: str, payload: QRPayload) -> None:
    try:
        expected = QRPayload.for_notice(notice, actual)
    except MALFORMED:
        report.add("二维码标识", False, "嵌入数据格式不对")
        return
    pairs = {"发文字号": (expected.notice_no, payload.notice_no), "观摩": (expected.session, payload.session),
             "支部": (expected.branch, payload.branch), "项数": (expected.items, payload.items),
             "整改总时限": (expected.deadline, payload.deadline)}
    wrong = [k for k, (a, b) in pairs.items() if a != b]
    report.add("二维码标识", not wrong, f"发文字号 {payload.notice_no or '（无）'}，{payload.items} 项"
               if not wrong else "与嵌入数据不符：" + "、".join(wrong))


def _issued_this(report: VerifyReport, notice: dict[str, Any], issued: dict[str, Any]) -> bool:
    """The session recorded this very content when it issued the notice (``DocNumberData``): then
    the notice is the genuine issue — also when the records changed since, or when it was issued
    again under a new number (then it is no longer valid). False when nothing recorded decides."""
    content = content_hash(notice)
    if notice["doc_no"] == issued["text"] and issued.get("content") == content:
        report.add("签发记录", True, f"与会话签发 {issued['text']} 时记下的整改事项一致")
        report.issued_as = issued["text"]
        return False  # the records are compared as well: a change since is said, not failed
    if any(old["text"] == notice["doc_no"] and old.get("content") == content for old in issued.get("superseded", ())):
        report.add("签发记录", True, f"与会话签发 {notice['doc_no']} 时记下的整改事项一致")
        report.superseded_by = issued["text"]
        report.add("未被取代", False, f"该通知书已重新签发为 {issued['text']}")
        return True
    return False


def check_session(report: VerifyReport, notice: dict[str, Any], session_path: Path) -> None:
    """Level 2: the rows, branch, visit and number, rebuilt from the session's records."""
    from inspect_tui.store.session import Session

    with Session.open(session_path, readonly=True) as session:
        if not report.add("会话", session.meta.visit_id == notice["visit_id"],
                          "同一次观摩" if session.meta.visit_id == notice["visit_id"]
                          else "该通知书不属于这次观摩（会话编号不同）"):
            return
        branch = next((b for b in session.branches() if b.id == notice["branch"]["id"]), None)
        if not report.add("支部", branch is not None, "" if branch else "会话中没有该支部"):
            return
        records = session.records(branch.id)
        items, _ = notice_items(session.checklist, records, branch.data.get("secretary"))
        issued = issued_record(records, branch.id, "notice")
        number = issued.data["text"] if issued is not None else ""
    if notice["status"] != DRAFT and issued is not None and _issued_this(report, notice, issued.data):
        return
    wrong: list[str] = []
    if branch.data["name"] != notice["branch"]["name"]:
        wrong.append("支部名称")
    if notice["status"] != DRAFT and number != notice["doc_no"]:
        wrong.append(f"发文字号（会话中为 {number or '未编号'}）")
    if len(items) != len(notice["items"]):
        wrong.append(f"项数（会话中 {len(items)} 项，通知书 {len(notice['items'])} 项）")
    for mine, theirs in zip(items, notice["items"], strict=False):
        wrong += [f"第 {mine['no']} 项{ITEM_LABELS[k]}" for k in ITEM_FIELDS if mine[k] != theirs.get(k)]
    deadlines = [i["deadline"] for i in items if i["deadline"]]
    if (max(deadlines) if deadlines else None) != notice["deadline"]:
        wrong.append("整改总时限")
    if wrong and report.issued_as:
        report.changed_since = wrong
        report.notes.append("签发后会话记录有改动：" + "、".join(wrong[:12]) + "（通知书仍是签发时的原件；"
                            "如需按现有记录整改，请重新签发：export --reissue）。")
        return
    report.add("与会话记录一致", not wrong, "整改事项、支部与发文字号与记录完全一致" if not wrong else
               "与当前记录不同：" + "、".join(wrong[:12]) + "。若签发后记录又有修改，请重新导出。")
    report.notes.append("发文机关、抄送、联系人等来自发文设置文件，不属于会话记录，未与记录核对。")
