"""Numbers as inspectors read them, the same in the app and in the PDFs. No rules live here."""

from __future__ import annotations


def fmt_score(value: float | None) -> str:
    """Up to two decimals, no trailing zeros: 85.25, 3.5, 90."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"
