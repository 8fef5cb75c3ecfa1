"""The notice's machine-readable data inside the PDF: an embedded file ``notice.json``.

Written by ``render.render_notice`` (WeasyPrint attachment, ``AFRelationship /Data``, in a PDF/A-3b
file, which is the PDF/A part that allows embedded files). Read here with pypdf, so the follow-up
visit (回头看) can load a notice from the PDF alone::

    {"notice": {... canonical notice data ...}, "sha256": "<hash of the canonical data>"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inspect_tui.errors import file_error

ATTACHMENT_NAME = "notice.json"
RENDER_NAME = "render.json"  # template digest, renderer and font: why a page might not rebuild here
SEAL_NAME = "seal.png"  # the seal image; its SHA-256 is in the notice data


def read_attachment(pdf: str | Path, name: str = ATTACHMENT_NAME) -> bytes | None:
    """The bytes of the named embedded file, or None when the PDF has none by that name."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(pdf))
        found = reader.attachments.get(name)
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise file_error(pdf, f"无法读取 PDF：{exc}") from None
    return found[0] if found else None


def load_notice(pdf: str | Path) -> dict[str, Any]:
    """The embedded notice document (``{"notice": ..., "sha256": ...}``); ``UserError`` if absent/bad."""
    raw = read_attachment(pdf)
    if raw is None:
        raise file_error(pdf, "PDF 中没有嵌入的整改通知书数据（notice.json）",
                         hint="只有本工具导出的整改通知书才带有嵌入数据。")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise file_error(pdf, f"嵌入的 notice.json 不是有效的 JSON：{exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("notice"), dict):
        raise file_error(pdf, "嵌入的 notice.json 格式不对：缺少 notice 对象")
    return doc
