"""The rollup's PDF and workbook (many groups): per-group lines, the overall ranking, common problems.

The PDF shows the head and the tail of the overall ranking (a province's thousands of branches do
not belong in a printed report); the workbook holds every branch, sortable and filterable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.report import awareness_text
from inspect_tui.core.rollup import Rollup, RollupPart
from inspect_tui.export.render import render_html, write_pdf
from inspect_tui.export.report_pdf import DRAFT_MARK, TITLE, unsealed_note
from inspect_tui.export.report_sheets import common_sheet, ranking_sheet
from inspect_tui.export.workbook import INT, NUMBER, PERCENT, Column, Sheet

SHOWN = 20  # branches shown at each end of the overall ranking in the PDF


def _ranked_rows(part: RollupPart, ranked: list) -> list[dict[str, Any]]:
    return [{"rank": r.rank, "name": r.facts.name, "unit": r.facts.unit, "group": r.facts.group,
             "total": fmt_score(r.facts.total), "rating": r.rating.label} for r in ranked]


def _part_context(part: RollupPart) -> dict[str, Any]:
    ranked = part.ranked
    head, tail = (ranked, []) if len(ranked) <= 2 * SHOWN else (ranked[:SHOWN], ranked[-SHOWN:])
    p = part.problems
    return {
        "label": part.label, "sessions": len(part.sources), "group_count": len(part.groups),
        "branches": len(ranked) + part.unevaluated, "evaluated": len(ranked), "unevaluated": part.unevaluated,
        "pass_rate": fmt_rate(part.pass_rate), "excellence_rate": fmt_rate(part.excellence_rate),
        "awareness": awareness_text(part.adequate, part.asked),
        "groups": [{"group": g.group, "sessions": g.sessions, "branches": g.branches, "evaluated": g.evaluated,
                    "average": fmt_score(g.average), "pass_rate": fmt_rate(g.pass_rate),
                    "excellence_rate": fmt_rate(g.excellence_rate), "awareness": awareness_text(g.adequate, g.asked)}
                   for g in part.groups],
        "head": _ranked_rows(part, head), "tail": _ranked_rows(part, tail),
        "share": f"{p.share.numerator}/{p.share.denominator}",
        "common": [{"item": c.item, "area": c.area, "count": c.count, "share": fmt_rate(c.share),
                    "samples": [f"{t}（{n} 个支部）" for t, n in c.samples], "rectification": c.rectification}
                   for c in p.common],
    }


def rollup_context(rollup: Rollup, *, draft: bool = False, unsealed: Sequence[str] = ()) -> dict[str, Any]:
    return {"title": TITLE + "（多组汇总）", "branch": "", "group": "多组汇总", "draft": draft,
            "draft_mark": DRAFT_MARK, "split": rollup.split, "parts": [_part_context(p) for p in rollup.parts],
            "unsealed": unsealed_note(unsealed) if draft else ""}


def render_rollup_pdf(rollup: Rollup, *, draft: bool = False, template_dir: str | Path | None = None,
                      unsealed: Sequence[str] = ()) -> bytes:
    return write_pdf(render_html("rollup.html", rollup_context(rollup, draft=draft, unsealed=unsealed), template_dir),
                     template_dir=template_dir)


def rollup_sheets(rollup: Rollup) -> list[Sheet]:
    sheets = []
    for n, part in enumerate(rollup.parts, 1):
        suffix = f"（{n}）" if rollup.split else ""
        cols = [Column("小组", 20), Column("检查清单", 30), Column("会话数", 8, INT), Column("支部数", 8, INT),
                Column("已评", 8, INT), Column("平均分", 9, NUMBER), Column("达标率", 9, PERCENT),
                Column("优秀率", 9, PERCENT), Column("访谈判定", 9, INT), Column("回答合格", 9, INT),
                Column("知晓率", 9, PERCENT)]
        rows = [[g.group, part.label, g.sessions, g.branches, g.evaluated, g.average, g.pass_rate, g.excellence_rate,
                 g.asked, g.adequate, g.awareness] for g in part.groups]
        sheets += [Sheet(f"小组汇总{suffix}", cols, rows),
                   ranking_sheet(part.checklist, part.ranked, title=f"总排名{suffix}"),
                   common_sheet(part.problems, title=f"共性问题{suffix}")]
    return sheets
