"""Formatting only: numbers and labels as inspectors read them. No rules live here."""

from __future__ import annotations

from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.labels import STATUS_MARK, STATUS_STYLE, status_label

__all__ = ["STATUS_MARK", "STATUS_STYLE", "fmt_rate", "fmt_score", "status_label"]
