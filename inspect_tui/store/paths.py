"""Where session files live and what they are called.

File names come from what users type (group and inspector names), so they are made safe for every
file system a USB stick may carry by ``core.naming.safe_stem``, the same rule the exports use.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from inspect_tui.core.naming import safe_stem

SUFFIX = ".jsonl"


def session_filename(group: str, day: date, inspector: str) -> str:
    return f"{day.isoformat()}-{safe_stem(group, max_bytes=90)}-{safe_stem(inspector, max_bytes=60)}{SUFFIX}"


def recent_sessions(folder: str | Path, limit: int = 30) -> list[Path]:
    """Session files in ``folder``, most recently modified first."""
    d = Path(folder)
    if not d.is_dir():
        return []
    files = [p for p in d.glob(f"*{SUFFIX}") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]


def same_file(a: str | Path, b: str | Path) -> bool:
    """``a`` and ``b`` name one file (through links and ``..``): an output that is also an input
    would be overwritten while it is still what is being read."""
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == str(b)
