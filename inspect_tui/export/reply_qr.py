"""The QR code on a notice's 整改情况反馈表 (reply form) page, and reading it back from a scan.

The reply form travels on its own: a branch prints it, fills it in by hand and returns it scanned
or photographed. Its code names the visit, the notice and the items the form answers, so a returned
form finds its ledger items without anyone typing a number::

    inspect-tui:reply?v=1&no=<发文字号>&s=<visit id>&i=1,2,3

Only what finds the ledger items (the 发文字号 is unique within a visit): the fewer characters, the
coarser the modules and the blurrier a photo may be.

Like the notice's own code it is drawn from the notice data alone, so ``verify`` rebuilds the
reply page exactly. Reading tries what a phone photo needs: the page as is, then rotated and
rescaled copies (zxing-cpp already tries 90° turns and downscaling; skewed, blurred or tiny codes
are helped by upscaling and a small tilt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from inspect_tui.errors import file_error
from inspect_tui.export.qr import parse_payload

REPLY_SCHEME = "inspect-tui:reply"
REPLY_VERSION = "1"
SCAN_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class ReplyPayload:
    notice_no: str
    session: str
    items: tuple[int, ...]

    def encode(self) -> str:
        fields = {"v": REPLY_VERSION, "no": self.notice_no, "s": self.session, "i": ",".join(map(str, self.items))}
        return f"{REPLY_SCHEME}?{urlencode(fields, quote_via=quote)}"

    @classmethod
    def decode(cls, text: str) -> ReplyPayload:
        q = parse_payload(text, REPLY_SCHEME, REPLY_VERSION, "整改情况反馈表")
        try:
            items = tuple(int(n) for n in q["i"].split(",") if n)
            return cls(notice_no=q["no"], session=q["s"], items=items)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"反馈表二维码内容不完整：{exc}") from None

    @classmethod
    def for_notice(cls, data: dict[str, Any]) -> ReplyPayload:
        return cls(notice_no=data["doc_no"], session=data["visit_id"], items=tuple(int(i["no"]) for i in data["items"]))


def scan_images(path: Path) -> list[Any]:
    """The pages of a scan as greyscale PIL images (a PDF's pages rasterised, a photo upright)."""
    from PIL import ImageOps

    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        try:
            doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise file_error(path, f"无法打开 PDF：{exc}") from None
        try:
            return [doc[n].render(scale=3, grayscale=True).to_pil().convert("L") for n in range(len(doc))]
        finally:
            doc.close()
    from inspect_tui.store.evidence import NotAnImage, decode

    try:
        return [ImageOps.exif_transpose(decode(path.read_bytes())).convert("L")]
    except NotAnImage as exc:
        raise file_error(path, f"无法读取图片：{exc}") from None


def _decode(image: Any) -> list[str]:
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def _attempts(image: Any) -> Any:
    """The image, then copies a difficult photo needs: larger (tiny or blurred codes), slightly
    tilted both ways (zxing handles 90° turns and perspective but not every small skew)."""
    from PIL import Image, ImageFilter

    yield image
    w, h = image.size
    big = image.resize((w * 2, h * 2), Image.Resampling.LANCZOS) if max(w, h) < 2500 else image
    yield big.filter(ImageFilter.SHARPEN)
    for angle in (8, -8, 15, -15, 30, -30, 45):
        yield big.rotate(angle, expand=True, fillcolor=255)


def read_reply_codes(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts of the reply-form codes found in a scan, and of any other codes found (to explain a
    scan of the wrong page). Stops at the first attempt that finds a reply code on a page."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "文件不存在")
    if path.suffix.lower() not in SCAN_SUFFIXES:
        raise file_error(path, "扫描件应为 PDF、PNG 或 JPEG 文件")
    replies: list[str] = []
    others: list[str] = []
    for page in scan_images(path):
        for attempt in _attempts(page):
            texts = _decode(attempt)
            found = [t for t in texts if t.startswith(REPLY_SCHEME)]
            others += [t for t in texts if not t.startswith(REPLY_SCHEME) and t not in others]
            if found:
                replies += [t for t in found if t not in replies]
                break
    return replies, others
