"""Numbers as inspectors read them, the same in the app and in the PDFs. No rules live here."""

from __future__ import annotations


def round2(value: float) -> float:
    """Two decimals, half up (四舍五入) as a score sheet is read: 86.625 is 86.63, not Python's
    half-to-even 86.62. The nudge is far below a hundredth and only decides exact ties (and ties
    that binary fractions hold a hair below: 2.675 is stored as 2.67499…); scores are never
    negative."""
    return round(value + 1e-9, 2)


def fmt_score(value: float | None) -> str:
    """Up to two decimals (half up), no trailing zeros: 85.25, 3.5, 90."""
    if value is None:
        return "—"
    return f"{round2(value):.2f}".rstrip("0").rstrip(".")


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"
