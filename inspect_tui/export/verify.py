"""``inspect-tui verify NOTICE.pdf``: is this rectification notice genuine and unchanged?

What is checked, and what that proves:

1. **QR code.** Page 1 is rasterised (pypdfium2) and decoded with a real QR decoder (zxing-cpp). Its
   payload names the notice (number, session, branch, item count, deadline) and carries the
   SHA-256 of the notice's canonical data.
2. **Embedded data.** ``notice.json`` is read from the PDF; its hash must equal the QR's hash and the
   hash it states itself, and its identifiers must equal the QR's.
3. **Printed text.** The text drawn on the pages must contain the notice number, the branch and every
   item's problem, requirement, deadline and responsible as the embedded data says — so a page
   re-typeset with softer wording but the original QR and data is caught.
4. **Session (optional).** Given the group's session file, the notice is rebuilt from what was
   recorded and its hash must equal the QR's: this is what proves the notice is *genuine*.

5. **Group key (optional).** When the notice was exported with ``--key`` its QR payload carries an
   HMAC-SHA256 made with the group's secret key; given the same key, ``verify`` checks it. This
   proves origin without the session: only key holders can make a valid one.

Without the session or the key, checks 1–3 prove the three copies of the notice (printed text,
embedded data, QR) agree with each other; a careful forger who re-typesets *all three* consistently
is not caught by them. A plain hash cannot be an authenticity proof — only a secret or the original
record can — so ``verify`` says exactly which level it reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_tui.errors import file_error
from inspect_tui.export.documents import branch_numbers, build_notice, cn_date, notice_hash
from inspect_tui.export.embed import load_notice
from inspect_tui.export.qr import SCHEME, QRPayload


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
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def render(self) -> str:
        lines = [f"{'✓' if c.ok else '✗'} {c.name}" + (f"：{c.detail}" if c.detail else "") for c in self.checks]
        lines += [f"· {n}" for n in self.notes]
        if self.ok and self.session_checked:
            lines.append("结论：通知书真实、未被改动（与会话记录一致）。")
        elif self.ok and self.key_checked:
            lines.append("结论：通知书由持有小组密钥者签发，且未被改动。")
        elif self.ok:
            lines.append("结论：二维码、嵌入数据与页面文字三者一致，未发现改动。"
                         "（未提供会话文件或小组密钥：无法证明由观摩小组签发，可加 --session 或 --key 核对。）")
        else:
            lines.append("结论：核验未通过——该通知书不是原件或已被改动。")
        return "\n".join(lines)


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


def page_text(pdf: str | Path) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(str(pdf)).pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# What reading an altered or hand-made notice's data can raise: reported as a failed check.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def text_mismatches(notice: dict[str, Any], text: str) -> list[str]:
    """Fields of the notice whose printed form is not found in the page text."""
    # Page footers land between the halves of a text split over two pages: take them out first.
    page = re.sub(r"第\d+页共\d+页", "", _squash(text))
    wanted = [("编号", notice["notice_no"]), ("支部", notice["branch"]["name"])]
    for item in notice["items"]:
        n = item["no"]
        wanted += [(f"第{n}项问题", item["problem"]), (f"第{n}项整改要求", item["requirement"]),
                   (f"第{n}项时限", cn_date(item["deadline"])), (f"第{n}项责任人", item["responsible"])]
    return [label for label, value in wanted if _squash(str(value)) not in page]


def verify_pdf(pdf: str | Path, session_path: str | Path | None = None, key: bytes | None = None) -> VerifyReport:
    report = VerifyReport(str(pdf))
    path = Path(pdf)
    if not path.is_file():
        raise file_error(pdf, "文件不存在")
    codes = [c for c in read_qr_codes(path) if c.startswith(SCHEME)]
    if not report.add("二维码", len(codes) == 1,
                      "已读取" if len(codes) == 1 else ("页面上找不到本工具的二维码" if not codes else "有多个二维码")):
        payload = None
    else:
        try:
            payload = QRPayload.decode(codes[0])
            report.payload = payload
        except ValueError as exc:
            report.add("二维码内容", False, str(exc))
            payload = None
    if payload is not None and key is not None:
        report.key_checked = True
        valid = payload.signature_valid(key)
        report.add("小组签名", valid, "由持有该密钥者签发" if valid else
                   ("该通知书没有小组签名" if not payload.mac else "签名不符（密钥不同或二维码被改动）"))
    elif payload is not None and payload.mac:
        report.notes.append(f"二维码带有小组签名（密钥 {payload.key_id}），提供 --key 可核验签发者。")
    try:
        doc = load_notice(path)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, not a crash
        report.add("嵌入数据", False, getattr(exc, "message", str(exc)))
        return report
    notice = doc["notice"]
    report.notice = notice
    actual = notice_hash(notice)
    report.add("嵌入数据完整", doc.get("sha256") == actual,
               "哈希一致" if doc.get("sha256") == actual else "嵌入数据与其自带的哈希不符（数据被改动）")
    if payload is not None:
        report.add("二维码与嵌入数据一致", payload.sha256 == actual,
                   f"SHA-256 {actual[:16]}…" if payload.sha256 == actual else "二维码中的哈希与嵌入数据不符")
        try:
            expected = QRPayload.for_notice(notice, actual)
        except MALFORMED:
            expected = None
        same_ids = expected is not None and (expected.notice_no, expected.session, expected.branch, expected.items,
                                             expected.deadline) == (payload.notice_no, payload.session,
                                                                    payload.branch, payload.items, payload.deadline)
        report.add("二维码标识", same_ids, f"编号 {payload.notice_no}，{payload.items} 项，时限 {payload.deadline or '待定'}"
                   if same_ids else "编号、支部、项数或时限与嵌入数据不符")
    try:
        missing = text_mismatches(notice, page_text(path))
    except MALFORMED as exc:
        missing = [f"嵌入数据格式不对（{type(exc).__name__}: {exc}）"]
    report.add("页面文字与数据一致", not missing, "全部一致" if not missing else "不一致：" + "、".join(missing[:8]))
    if session_path is not None:
        report.session_checked = True
        _check_session(report, notice, Path(session_path))
    return report


def _check_session(report: VerifyReport, notice: dict[str, Any], session_path: Path) -> None:
    from inspect_tui.store.session import Session

    with Session.open(session_path, readonly=True) as session:
        if not report.add("会话", session.meta.visit_id == notice.get("visit_id"),
                          "同一次观摩" if session.meta.visit_id == notice.get("visit_id")
                          else "该通知书不属于这次观摩（会话编号不同）"):
            return
        branches = session.branches()
        positions = branch_numbers(branches)
        try:
            branch_id = notice["branch"]["id"]
        except MALFORMED:
            branch_id = None
        branch = next((b for b in branches if b.id == branch_id), None)
        if not report.add("支部", branch is not None, "" if branch else "会话中没有该支部"):
            return
        rebuilt = build_notice(meta=session.meta, checklist=session.checklist, branch=branch,
                               records=session.records(branch.id), position=positions[branch.id])
    if rebuilt is None:
        report.add("与会话记录一致", False, "会话中该支部已没有问题记录")
        return
    same = rebuilt.sha256 == notice_hash(notice)
    detail = "与记录完全一致"
    if not same:
        changed = [str(a.get("no")) for a, b in zip(rebuilt.data["items"], notice["items"], strict=False) if a != b]
        detail = (f"通知书与当前记录不同（项数 {len(notice['items'])} → {len(rebuilt.data['items'])}"
                  + (f"；不同的项：{'、'.join(changed)}" if changed else "") + "）。"
                  "若签发后记录又有修改，请重新导出。")
    report.add("与会话记录一致", same, detail)
