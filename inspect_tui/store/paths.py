"""Where session files live and what they are called.

File names come from what users type (group and inspector names), so they are made safe for every
file system a USB stick may carry: no separators, no reserved Windows names, bounded length.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

SUFFIX = ".jsonl"
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(text: str, limit: int = 60) -> str:
    """A file-name-safe rendering of ``text`` that keeps Chinese characters readable."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", text).strip(" ._")
    text = re.sub(r"\s+", "_", text)[:limit] or "未命名"
    return f"_{text}" if text.split(".")[0].upper() in _RESERVED else text


def session_filename(group: str, day: date, inspector: str) -> str:
    return f"{day.isoformat()}-{safe_name(group)}-{safe_name(inspector)}{SUFFIX}"


def recent_sessions(folder: str | Path, limit: int = 30) -> list[Path]:
    """Session files in ``folder``, most recently modified first."""
    d = Path(folder)
    if not d.is_dir():
        return []
    files = [p for p in d.glob(f"*{SUFFIX}") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
