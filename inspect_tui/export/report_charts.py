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

# The body's own face first: a second face would be a second font subset in every report PDF.
FONT = "'Noto Serif CJK SC', 'Noto Sans CJK SC', serif"
LEVEL_COLOURS = {"excellent": "#1b7837", "good": "#5aae61", "pass": "#d9a520", "fail": "#c0392b"}
# (lowest share, fill, text colour): the heat map's scale, highest first
HEAT_SCALE = ((0.9, "#1b7837", "#fff"), (0.8, "#7fbf7b", "#111"), (0.7, "#f1e29b", "#111"),
              (0.6, "#f4a582", "#111"), (0.0, "#c0392b", "#fff"))


def heat_colour(share: float) -> tuple[str, str]:
    return next((fill, ink) for low, fill, ink in HEAT_SCALE if share >= low - 1e-9)


def heat_cell(share: float) -> tuple[str, str, str]:
    """A heat-map cell's fill, ink and label: the whole percent printed (half up), and the colour
    of that printed number's band — 89.6% prints "90%" in the 90% colour, not the band below."""
    percent = round(share * 100 + 1e-9)
    return (*heat_colour(percent / 100), f"{percent}%")


def _text(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}">{escape(text)}</text>'


def _group(texts: list[str], *, size: float, anchor: str, fill: str) -> str:
    """Texts sharing their style, which they inherit from the group: the markup WeasyPrint parses
    (in pure Python, character by character) is a third of what one set of attributes per text was."""
    return f'<g font-size="{size}" text-anchor="{anchor}" fill="{fill}">{"".join(texts)}</g>' if texts else ""


def _boxes(boxes: dict[str, list[str]]) -> list[str]:
    """One path per colour for all of its boxes (``_box``): WeasyPrint pays per SVG element."""
    return [f'<path fill="{fill}" d="{"".join(d)}"/>' for fill, d in boxes.items()]


def _box(x: float, y: float, w: float, h: float) -> str:
    return f"M{x:.1f} {y:.1f}h{w:.1f}v{h:.1f}h{-w:.1f}z"


def _svg(width: float, height: float, body: list[str], label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
                  f'width="{width:.0f}pt" height="{height:.0f}pt" role="img" aria-label="{escape(label)}" '
                  f'font-family="{FONT}">' + "".join(body) + "</svg>")


def score_bars(report: GroupReport, width: float = 480) -> Markup:
    """Total score per ranked branch as horizontal bars, with rank, name and score as text."""
    full = report.checklist.full_marks
    row, top, label_w, value_w = 13.0, 16.0, 170.0, 36.0
    bar_w = width - label_w - value_w
    height = top + row * len(report.ranked) + 8
    ticks = [_text(label_w, 9, "0")]
    grid = []
    for k in range(1, 5):
        x = label_w + bar_w * k / 4
        grid.append(f"M{x:.1f} {top - 3}V{height - 6:.1f}")
        ticks.append(_text(x, 9, fmt_score(full * k / 4)))
    names, values, bars = [], [], {}
    for n, r in enumerate(report.ranked):
        y = top + n * row
        w = bar_w * max(0.0, min(1.0, r.facts.total / full))
        names.append(_text(label_w - 4, y + 9, f"{r.rank}. {r.facts.name}"))
        bars.setdefault(LEVEL_COLOURS.get(r.rating.level.value, "#888"), []).append(_box(label_w, y + 2, w, row - 4))
        values.append(_text(label_w + w + 3, y + 9, f"{fmt_score(r.facts.total)} {r.rating.label}"))
    body = [f'<path d="{"".join(grid)}" stroke="#ccc" stroke-width="0.5"/>',
            _group(ticks, size=7, anchor="middle", fill="#555"), *_boxes(bars),
            _group(names, size=7.5, anchor="end", fill="#111"), _group(values, size=7.5, anchor="start", fill="#111")]
    return _svg(width, height, body, "各支部总分")


def heat_map(report: GroupReport, width: float = 480) -> Markup:
    """Branch × area: each cell the share of the area's full marks, as colour and as a percentage."""
    areas = report.checklist.areas
    row, top, label_w = 13.0, 26.0, 150.0
    cell_w = (width - label_w) / len(areas)
    height = top + row * len(report.ranked) + 22
    heads = [_text(label_w + cell_w * (k + 0.5), 18, a.title) for k, a in enumerate(areas)]
    names: list[str] = []
    cells: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}  # by text colour
    for n, r in enumerate(report.ranked):
        y = top + n * row
        names.append(_text(label_w - 4, y + 9, r.facts.name))
        for k, share in enumerate(area_shares(report.checklist, r.facts)):
            fill, ink, label = heat_cell(share)
            x = label_w + cell_w * k
            cells.setdefault(fill, []).append(_box(x + 0.5, y + 0.5, cell_w - 1, row - 1))
            labels.setdefault(ink, []).append(_text(x + cell_w / 2, y + 9.2, label))
    y = height - 12
    step = (width - label_w) / len(HEAT_SCALE)
    for k, (low, fill, ink) in enumerate(reversed(HEAT_SCALE)):
        x = label_w + step * k
        nxt = HEAT_SCALE[len(HEAT_SCALE) - k - 2][0] if k < len(HEAT_SCALE) - 1 else None
        label = f"{low:.0%}–{nxt:.0%}" if nxt is not None else f"≥{low:.0%}"
        cells.setdefault(fill, []).append(_box(x + 0.5, y, step - 1, 11))
        labels.setdefault(ink, []).append(_text(x + step / 2, y + 8, label))
    body = [_group(heads, size=7.5, anchor="middle", fill="#111"), *_boxes(cells),
            _group(names, size=7.5, anchor="end", fill="#111"),
            *(_group(texts, size=7, anchor="middle", fill=ink) for ink, texts in labels.items()),
            _group([_text(label_w - 4, y + 8, "得分率")], size=7, anchor="end", fill="#555")]
    return _svg(width, height, body, "各支部各方面得分率")
