"""Formatting only: numbers and labels as inspectors read them. No rules live here."""

from __future__ import annotations

from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.records import Status

__all__ = ["STATUS_MARK", "STATUS_STYLE", "fmt_rate", "fmt_score", "status_label"]


def status_label(value: str | None) -> str:
    return Status(value).label if value else "未记录"


STATUS_STYLE = {"meets": "green", "partly": "yellow", "not": "red", "na": "dim"}
STATUS_MARK = {"meets": "✓", "partly": "◐", "not": "✗", "na": "–", None: " "}
