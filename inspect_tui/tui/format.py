"""Formatting only: numbers and labels as inspectors read them. No rules live here."""

from __future__ import annotations

from inspect_tui.core.records import Status


def fmt_score(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def status_label(value: str | None) -> str:
    return Status(value).label if value else "未记录"


STATUS_STYLE = {"meets": "green", "partly": "yellow", "not": "red", "na": "dim"}
STATUS_MARK = {"meets": "✓", "partly": "◐", "not": "✗", "na": "–", None: " "}
