"""Charts for the summary report as inline SVG: vector graphics whose labels are real text.

WeasyPrint draws inline SVG itself, so the branch names and figures in a chart stay selectable and
searchable Chinese text in the PDF (a test reads them back), and print sharply at any size. The
charts only *show* numbers the core computed; colours follow the checklist's rating levels and a
fixed five-step scale for shares of full marks.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from inspect_tui.core.format import fmt_score
from inspect_tui.core.report import GroupReport, area_shares

FONT = "'Noto Sans CJK SC', 'Noto Serif CJK SC', sans-serif"
LEVEL_COLOURS = {"excellent": "#1b7837", "good": "#5aae61", "pass": "#d9a520", "fail": "#c0392b"}
# (lowest share, fill, text colour): the heat map's scale, highest first
HEAT_SCALE = ((0.9, "#1b7837", "#fff"), (0.8, "#7fbf7b", "#111"), (0.7, "#f1e29b", "#111"),
              (0.6, "#f4a582", "#111"), (0.0, "#c0392b", "#fff"))


def heat_colour(share: float) -> tuple[str, str]:
    return next((fill, ink) for low, fill, ink in HEAT_SCALE if share >= low - 1e-9)


def _text(x: float, y: float, text: str, *, size: float = 8, anchor: str = "start", fill: str = "#111") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-family="{FONT}">{escape(text)}</text>')


def _svg(width: float, height: float, body: list[str], label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
                  f'width="{width:.0f}pt" height="{height:.0f}pt" role="img" aria-label="{escape(label)}">'
                  + "".join(body) + "</svg>")


def score_bars(report: GroupReport, width: float = 480) -> Markup:
    """Total score per ranked branch as horizontal bars, with rank, name and score as text."""
    full = report.checklist.full_marks
    row, top, label_w, value_w = 13.0, 16.0, 170.0, 36.0
    bar_w = width - label_w - value_w
    height = top + row * len(report.ranked) + 8
    body = [_text(label_w, 9, "0", size=7, anchor="middle", fill="#555")]
    for k in range(1, 5):
        x = label_w + bar_w * k / 4
        body.append(f'<line x1="{x:.1f}" y1="{top - 3}" x2="{x:.1f}" y2="{height - 6:.1f}" stroke="#ccc" '
                    f'stroke-width="0.5"/>')
        body.append(_text(x, 9, fmt_score(full * k / 4), size=7, anchor="middle", fill="#555"))
    for n, r in enumerate(report.ranked):
        y = top + n * row
        w = bar_w * max(0.0, min(1.0, r.facts.total / full))
        body.append(_text(label_w - 4, y + 9, f"{r.rank}. {r.facts.name}", size=7.5, anchor="end"))
        body.append(f'<rect x="{label_w:.1f}" y="{y + 2:.1f}" width="{w:.1f}" height="{row - 4:.1f}" '
                    f'fill="{LEVEL_COLOURS.get(r.rating.level.value, "#888")}"/>')
        body.append(_text(label_w + w + 3, y + 9, f"{fmt_score(r.facts.total)} {r.rating.label}", size=7.5))
    return _svg(width, height, body, "各支部总分")


def heat_map(report: GroupReport, width: float = 480) -> Markup:
    """Branch × area: each cell the share of the area's full marks, as colour and as a percentage."""
    areas = report.checklist.areas
    row, top, label_w = 13.0, 26.0, 150.0
    cell_w = (width - label_w) / len(areas)
    height = top + row * len(report.ranked) + 22
    body = [_text(label_w + cell_w * (k + 0.5), 18, a.title, size=7.5, anchor="middle") for k, a in enumerate(areas)]
    for n, r in enumerate(report.ranked):
        y = top + n * row
        body.append(_text(label_w - 4, y + 9, r.facts.name, size=7.5, anchor="end"))
        for k, share in enumerate(area_shares(report.checklist, r.facts)):
            fill, ink = heat_colour(share)
            x = label_w + cell_w * k
            body.append(f'<rect x="{x + 0.5:.1f}" y="{y + 0.5:.1f}" width="{cell_w - 1:.1f}" height="{row - 1:.1f}" '
                        f'fill="{fill}"/>')
            body.append(_text(x + cell_w / 2, y + 9.2, f"{share:.0%}", size=7, anchor="middle", fill=ink))
    y = height - 12
    step = (width - label_w) / len(HEAT_SCALE)
    body.append(_text(label_w - 4, y + 8, "得分率", size=7, anchor="end", fill="#555"))
    for k, (low, fill, ink) in enumerate(reversed(HEAT_SCALE)):
        x = label_w + step * k
        nxt = HEAT_SCALE[len(HEAT_SCALE) - k - 2][0] if k < len(HEAT_SCALE) - 1 else None
        label = f"{low:.0%}–{nxt:.0%}" if nxt is not None else f"≥{low:.0%}"
        body.append(f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{step - 1:.1f}" height="11" fill="{fill}"/>')
        body.append(_text(x + step / 2, y + 8, label, size=7, anchor="middle", fill=ink))
    return _svg(width, height, body, "各支部各方面得分率")
