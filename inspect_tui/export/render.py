"""HTML templates -> PDF, with the safety rails WeasyPrint does not have by default.

* **Autoescape.** Every template is rendered by a sandboxed Jinja2 environment with autoescape on,
  so whatever an inspector typed — ``<img src=...>``, ``file://`` URLs, ``{{ template syntax }}`` —
  is printed as literal text. Inspector text is only ever *data*: it is never compiled as a template.
* **A fetcher with an allow-list.** WeasyPrint by default fetches ``file://`` and ``http(s)://`` URLs
  it finds in the HTML. Ours serves ``data:`` URLs (the QR code), the files of the template folders
  (an organisation's letterhead image) and the photos attached to *this* document — resolved, then
  looked up in an explicit set, so ``..`` and symlinks cannot escape it. Everything else is refused
  and recorded in ``RenderReport.refused``. Photos are never read by WeasyPrint: each is prepared
  first (``export.photos``: scaled, upright, re-encoded, EXIF-free) and served from memory; one that
  cannot be read is printed as a visible "missing" box and named in ``RenderReport.warnings``.
* **No empty boxes.** Typed text reaches templates through ``printable`` (a character no installed
  font has becomes a visible ``[U+XXXXX]`` placeholder with a warning), and WeasyPrint's
  ``.notdef glyph rendered`` warning — a template's own text no font covers — is an error.
* **Field boxes.** ``render_document`` returns, with the PDF, where every element with an ``id``
  sits on each page; ``verify`` names the fields whose pixels differ by them.
* **Overridable templates.** Templates are looked up first in the organisation's folder (if given),
  then in the package: an organisation overrides ``feedback.html``, ``notice.html``, ``base.css`` or
  adds ``custom.css`` without touching the code (see docs/templates.md).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from inspect_tui.errors import UserError
from inspect_tui.export.documents import FeedbackVM
from inspect_tui.export.embed import ATTACHMENT_NAME, RENDER_NAME, SEAL_NAME
from inspect_tui.export.notice import NoticeVM, notice_context, notice_hash
from inspect_tui.export.photos import photo_for_print
from inspect_tui.export.qr import QRPayload, qr_png_data_uri
from inspect_tui.export.reply_qr import ReplyPayload
from inspect_tui.export.weasy import weasyprint
from inspect_tui.store.evidence import NotAnImage

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"


class RenderError(UserError):
    """A document could not be rendered faithfully (a missing glyph, a broken template)."""


@dataclass
class RenderReport:
    refused: list[str] = field(default_factory=list)  # URLs the fetcher would not serve
    fetched: list[str] = field(default_factory=list)  # local files actually read
    warnings: list[str] = field(default_factory=list)  # for the user: placeholders, photos not printed


def template_dirs(override: str | Path | None) -> list[Path]:
    dirs = []
    if override:
        d = Path(override).expanduser().resolve()
        if not d.is_dir():
            raise UserError(f"{override}: 模板文件夹不存在", hint="用 --templates 指向含 feedback.html / notice.html 的文件夹。")
        dirs.append(d)
    dirs.append(PACKAGE_TEMPLATES)
    return dirs


@functools.lru_cache(maxsize=8)
def _environment(dirs: tuple[Path, ...]) -> jinja2.Environment:
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=True,  # every template, whatever its extension: user text is always escaped
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def render_html(template: str, context: dict[str, Any], template_dir: str | Path | None = None) -> str:
    env = _environment(tuple(template_dirs(template_dir)))
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or template}:{exc.lineno}: 模板语法错误：{exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"找不到模板 {exc.name}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"模板 {template} 使用了不存在的变量：{exc.message}") from None


# --- fetching ---------------------------------------------------------------------------------

def _path_of(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError("remote file URL")
    return Path(url2pathname(parts.path)).resolve()  # url2pathname also percent-decodes


def make_fetcher(photos: Mapping[str, bytes], dirs: list[Path], report: RenderReport):
    """A WeasyPrint URL fetcher that serves only data: URLs, template files and the given photos
    (resolved path → the prepared JPEG, see ``print_photos``)."""
    weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed_photos = {str(Path(p).resolve()): body for p, body in photos.items()}
    roots = [d.resolve() for d in dirs]

    class RestrictedFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                try:
                    path = _path_of(url)
                except (ValueError, OSError):
                    path = None
                if path is not None and str(path) in allowed_photos:
                    report.fetched.append(str(path))
                    # Not a file: URL in the response, or WeasyPrint would embed the file it names
                    # (LazyLocalImage) instead of these prepared bytes.
                    return URLFetcherResponse("inspect-tui:photo", allowed_photos[str(path)],
                                              {"Content-Type": "image/jpeg"})
                if path is not None and path.is_file() and any(path.is_relative_to(r) for r in roots) \
                        and path.suffix.lower() in (".css", ".png", ".jpg", ".jpeg", ".svg", ".gif", ".webp"):
                    report.fetched.append(str(path))
                    return URLFetcherResponse(url, path.read_bytes())
            report.refused.append(url)
            raise ValueError(f"refused by inspect-tui: {url[:80]}")

    return RestrictedFetcher()


# --- WeasyPrint ---------------------------------------------------------------------------------

class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append(record.getMessage())
        except Exception:  # pragma: no cover - a broken log record must not break rendering
            self.records.append(str(record.msg))


_render_lock = threading.Lock()  # Pango/fontconfig are not thread-safe; processes give parallelism


@functools.lru_cache(maxsize=1)
def _font_stylesheet(family: str) -> Any:
    CSS = weasyprint().CSS
    safe = family.replace("\\", "").replace('"', "")
    return CSS(string=f'html {{ font-family: "{safe}", "Noto Serif CJK SC", "Noto Sans CJK SC", serif; }}')


@dataclass
class Rendered:
    """A rendered document: the PDF, and where each element with an ``id`` sits on each page
    (``{id: (x1, y1, x2, y2)}`` in CSS px from the page's top-left) — verify names fields by these."""

    pdf: bytes
    anchors: list[dict[str, tuple[float, float, float, float]]]


def render_document(html: str, *, photos: Mapping[str, bytes] | None = None, template_dir: str | Path | None = None,
                    attachments: list[tuple[str, str | bytes, str]] = (), pdf_variant: str | None = None,
                    font_family: str | None = None, report: RenderReport | None = None) -> Rendered:
    """Render HTML to PDF with the restricted fetcher; missing glyphs raise ``RenderError``."""
    from inspect_tui.export.fonts import check_pdf_prerequisites

    family = font_family or check_pdf_prerequisites()
    HTML, Attachment = weasyprint().HTML, weasyprint().Attachment

    report = report if report is not None else RenderReport()
    dirs = template_dirs(template_dir)
    fetcher = make_fetcher(photos or {}, dirs, report)
    capture = _Capture()
    logger = logging.getLogger("weasyprint")
    with _render_lock:
        logger.addHandler(capture)
        try:
            doc = HTML(string=html, base_url=dirs[0].as_uri() + "/", url_fetcher=fetcher)
            atts = [Attachment(**({"file_obj": io.BytesIO(data)} if isinstance(data, bytes) else {"string": data}),
                               name=name, description=desc, relationship="Data",
                               url_fetcher=fetcher, created=datetime.now(), modified=datetime.now())
                    for name, data, desc in attachments]
            document = doc.render(stylesheets=[_font_stylesheet(family)])
            anchors = [dict(page.anchors) for page in document.pages]
            pdf = document.write_pdf(attachments=atts or None, pdf_variant=pdf_variant, uncompressed_pdf=False)
        finally:
            logger.removeHandler(capture)
    missing = [m for m in capture.records if ".notdef glyph" in m]
    if missing:
        chars = dict.fromkeys(m.split('"')[1] if m.count('"') >= 2 else "?" for m in missing)
        listed = "、".join(f"{c}（U+{ord(c):04X}）" if len(c) == 1 else c for c in chars)
        raise RenderError(f"字体缺少这些字符，PDF 会出现空白方框：{listed}",
                          hint="请在记录中改写这些字符（如生僻字、表情符号），或安装覆盖它们的字体。")
    return Rendered(pdf, anchors)


def write_pdf(html: str, **kwargs: Any) -> bytes:
    """``render_document`` when only the PDF bytes are wanted."""
    return render_document(html, **kwargs).pdf


def render_identity(template_dir: str | Path | None, family: str) -> dict[str, str]:
    """What a page's pixels depend on besides the data: the template files, the renderer, the font.
    Recorded in every notice (``render.json``) so ``verify`` can say *why* it cannot rebuild a page."""
    from inspect_tui.export.fonts import font_file_of

    return {"templates": templates_digest(tuple(template_dirs(template_dir))), "weasyprint": weasyprint().__version__,
            "font": family, "font_file": font_file_of(family)}


@functools.lru_cache(maxsize=8)
def templates_digest(dirs: tuple[Path, ...]) -> str:
    """SHA-256 (first 16 hex) over every template file visible through ``dirs`` (first folder wins)."""
    seen: dict[str, Path] = {}
    for d in dirs:
        for f in sorted(d.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                seen.setdefault(f.relative_to(d).as_posix(), f)
    h = hashlib.sha256()
    for name in sorted(seen):
        h.update(name.encode() + b"\0" + seen[name].read_bytes() + b"\0")
    return h.hexdigest()[:16]


def print_photos(vm: FeedbackVM, report: RenderReport) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """The feedback's photo entries with each one prepared for print (path → JPEG); one that is
    missing or cannot be read is marked ``missing`` with the reason and reported as a warning."""
    allowed = {str(Path(p).resolve()) for p in vm.attachments}
    entries, served = [], {}
    for photo in vm.context.get("photos", ()):
        p = dict(photo)
        path = str(Path(p["path"]).resolve()) if p.get("path") else ""
        if path and path in allowed:
            try:
                served[path] = photo_for_print(path)
            except NotAnImage as exc:
                p.update(missing=True, reason=str(exc))
        else:
            p["missing"] = True
        if p["missing"]:
            p["url"] = ""
            report.warnings.append(f"照片缺失/无法读取：{p['file']}（{p.get('reason') or '文件不在本机'}）")
        entries.append(p)
    return entries, served


def render_feedback(vm: FeedbackVM, *, template_dir: str | Path | None = None, font_family: str | None = None,
                    report: RenderReport | None = None) -> bytes:
    report = report if report is not None else RenderReport()
    report.warnings += vm.warnings
    photos, served = print_photos(vm, report)
    html = render_html("feedback.html", {**vm.context, "photos": photos}, template_dir)
    return write_pdf(html, photos=served, template_dir=template_dir, font_family=font_family, report=report)


def render_disputes(vm: Any, *, template_dir: str | Path | None = None, font_family: str | None = None,
                    report: RenderReport | None = None) -> bytes:
    """The leader's internal 分歧与裁定清单 (see disputes.py)."""
    if report is not None:
        report.warnings += vm.warnings
    html = render_html("disputes.html", vm.context, template_dir)
    return write_pdf(html, template_dir=template_dir, font_family=font_family, report=report)


def notice_json(data: dict[str, Any]) -> bytes:
    """The embedded attachment: the canonical notice data plus its hash, human-readable."""
    return json.dumps({"notice": data, "sha256": notice_hash(data)}, ensure_ascii=False, indent=2,
                      sort_keys=True).encode("utf-8")


def notice_html(data: dict[str, Any], qr_payload: str, seal: bytes | None,
                template_dir: str | Path | None) -> tuple[str, list[str]]:
    """The notice page's HTML from its data and the QR text to draw: the one path for export and verify."""
    context, warnings = notice_context(data, seal)
    sha = notice_hash(data)
    context |= {"qr": qr_png_data_uri(qr_payload), "sha256": sha, "sha256_short": sha[:16],
                "reply_qr": qr_png_data_uri(ReplyPayload.for_notice(data).encode())}
    return render_html("notice.html", context, template_dir), warnings


def render_notice(vm: NoticeVM, *, template_dir: str | Path | None = None, font_family: str | None = None,
                  report: RenderReport | None = None, pdf_variant: str | None = "pdf/a-3b",
                  key: bytes | None = None) -> bytes:
    """Render a notice: page, QR and attached JSON all from ``vm.data``. ``key``: sign the QR payload
    with the group's key (see ``qr.QRPayload.signed``). Warnings (placeholders) go to ``report``."""
    from inspect_tui.export.fonts import check_pdf_prerequisites

    family = font_family or check_pdf_prerequisites()
    report = report if report is not None else RenderReport()
    qr = QRPayload.for_notice(vm.data, vm.sha256)
    html, warnings = notice_html(vm.data, (qr.signed(key) if key else qr).encode(), vm.seal, template_dir)
    report.warnings += warnings
    attachments = [(ATTACHMENT_NAME, notice_json(vm.data).decode("utf-8"), "整改通知书数据（JSON），供回头看时导入与核验"),
                   (RENDER_NAME, json.dumps(render_identity(template_dir, family), ensure_ascii=False),
                    "生成本页所用的模板、渲染器与字体标识，供核验时说明差异")]
    if vm.seal:
        attachments.append((SEAL_NAME, vm.seal, "印章图片"))
    return write_pdf(html, template_dir=template_dir, font_family=family, report=report,
                     attachments=attachments, pdf_variant=pdf_variant)
