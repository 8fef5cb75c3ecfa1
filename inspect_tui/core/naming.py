"""Safe output file names, whatever a branch is called.

Branch names are typed by people: they may contain ``/``, ``..``, ``:``, control characters, or be
a reserved Windows device name (``CON``, ``NUL`` …). Exports land on USB sticks formatted FAT32 or
NTFS, so names are made safe for all of them: separators and forbidden characters become ``_``,
leading dots and trailing dots/spaces go, reserved names get a prefix, the length is bounded in
*bytes* (UTF-8 Chinese is 3 bytes a character; most file systems cap a name at 255 bytes), and
names that would collide get a numeric suffix. The result never contains a path separator, so
``output_dir / name`` always stays inside ``output_dir``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
             "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_STEM_BYTES = 150  # leaves room for a prefix, a counter and the suffix under 255 bytes


def safe_stem(text: str, *, max_bytes: int = MAX_STEM_BYTES) -> str:
    """A file-name stem (no extension) that is safe on Windows, macOS and Linux file systems."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = _FORBIDDEN.sub("_", text)
    text = re.sub(r"\s+", "_", text)
    text = re.sub(r"_+", "_", text).strip(" ._")
    encoded = text.encode("utf-8")[:max_bytes]
    text = encoded.decode("utf-8", "ignore").rstrip(" ._")
    if not text:
        return "未命名"
    if text.split(".")[0].upper() in _RESERVED:
        text = f"_{text}"
    return text


def output_name(kind_label: str, branch_name: str, suffix: str = ".pdf") -> str:
    """e.g. ``点对点反馈意见-省财政厅办公室党支部.pdf``."""
    return f"{safe_stem(kind_label, max_bytes=40)}-{safe_stem(branch_name)}{suffix}"


def unique_names(names: Iterable[str]) -> list[str]:
    """Make names unique case-insensitively (Windows and macOS ignore case) by adding ``-2``, ``-3`` …"""
    seen: set[str] = set()
    out = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
        seen.add(candidate.casefold())
        out.append(candidate)
    return out
