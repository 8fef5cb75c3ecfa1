"""Small session files for the store's tests."""

from __future__ import annotations

from pathlib import Path

from inspect_tui.store.session_file import SessionFile

META = {"group": "第一观摩组", "inspector": "张三"}


def rec(i: int, **extra) -> dict:
    return {"id": f"r{i}", "text": f"记录 {i}", **extra}


def make(path: Path, n: int = 3) -> SessionFile:
    """A new session, open for writing: records r0 … r(n-1) and one log entry."""
    return SessionFile.create(path, META, [rec(i) for i in range(n)], [{"event": "created"}])
