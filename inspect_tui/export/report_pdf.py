"""《交叉观摩情况汇总报告》: the group report's view-model and its PDF.

Like the other documents, every figure is formatted here from the core's ``GroupReport``; the
template (``report.html``, overridable like the others) only lays them out. A draft (征求意见稿)
prints that mark on every page and lists the unsettled points that make the ranking provisional.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.report import GroupReport, awareness_text
from inspect_tui.export.documents import cn_date
from inspect_tui.export.render import render_html, write_pdf
from inspect_tui.export.report_charts import heat_map, score_bars

TITLE = "交叉观摩情况汇总报告"
DRAFT_MARK = "征求意见稿"


def _dates(dates: list[str]) -> str:
    if not dates:
        return "—"
    if len(dates) == 1:
        return cn_date(dates[0])
    return f"{cn_date(dates[0])}至{cn_date(dates[-1])}（{len(dates)} 天）"


def _by_branch(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for branch, what in pairs:
        grouped.setdefault(branch, []).append(what)
    return list(grouped.items())


def report_context(report: GroupReport, *, draft: bool = False, unsealed: Sequence[str] = ()) -> dict[str, Any]:
    cl = report.checklist
    problems = report.problems
    rows = [{
        "rank": r.rank, "name": r.facts.name, "unit": r.facts.unit,
        "areas": [fmt_score(s) for s in r.facts.areas], "tags": [fmt_score(t) for t in r.tags],
        "total": fmt_score(r.facts.total), "rating": r.rating.label, "level": r.rating.level.value,
        "klass": r.klass.label if r.klass else "", "problems": len(r.facts.problems),
        "awareness": fmt_rate(r.facts.awareness),
    } for r in report.ranked]
    return {
        "title": TITLE, "branch": "、".join(report.groups), "group": "、".join(report.groups),
        "draft": draft, "draft_mark": DRAFT_MARK,
        "dates": _dates(report.dates), "checklist": f"{cl.title}（{cl.version}）",
        "branch_count": len(report.branches), "evaluated": len(report.ranked), "unevaluated_count": len(report.unevaluated),
        "inspectors": "、".join(report.inspectors) or "—", "interviews": report.interviews,
        "awareness": awareness_text(report.adequate, report.asked), "asked": report.asked,
        "adequate": report.adequate,
        "areas": [{"title": a.title, "full": fmt_score(a.full_marks)} for a in cl.areas],
        "tags": [t.title for t in cl.tags], "full_marks": fmt_score(cl.full_marks),
        "rows": rows, "has_classes": bool(cl.classes),
        "unevaluated": [{"name": b.name, "unit": b.unit, "progress": f"{b.scored}/{len(b.items)}",
                         "problems": len(b.problems)} for b in report.unevaluated],
        "pass_rate": fmt_rate(report.pass_rate), "excellence_rate": fmt_rate(report.excellence_rate),
        "average": fmt_score(report.average),
        "rating_counts": [{"label": c.label, "count": c.count} for c in report.rating_counts],
        "classes": [{"label": c.label, "rule": _class_rule(c.min, [o.min for o, _ in report.class_counts]),
                     "branches": "、".join(r.facts.name for r in rs) or "无"} for c, rs in report.class_counts],
        "bars": score_bars(report), "heat": heat_map(report),
        "share": f"{problems.share.numerator}/{problems.share.denominator}" if problems.share.denominator != 1 else "全部",
        "common": [{"item": c.item, "area": c.area, "count": c.count, "share": fmt_rate(c.share),
                    "samples": [f"{t}（{n} 个支部）" for t, n in c.samples], "rectification": c.rectification}
                   for c in problems.common],
        "recurring": [{"text": r.text, "items": "、".join(r.items), "branches": "、".join(r.branches),
                       "count": len(r.branches)} for r in problems.recurring],
        "individual": [{"name": b.name, "problems": [p.text for p in own]} for b, own in problems.individual],
        "highlights": [{"area": area, "entries": [{"text": c.text, "branches": "、".join(c.branches.values())}
                                                for c in found]} for area, found in report.highlights],
        "next_steps": report.next_steps,
        "unsettled": [{"branch": b, "what": w} for b, w in _by_branch(report.unsettled)],
        "unsettled_count": len(report.unsettled),
        "unsealed": unsealed_note(unsealed) if draft else "",
    }


def unsealed_note(paths: Sequence[str]) -> str:
    """A draft's first-page note on the inputs the leader accepted though not closed cleanly."""
    if not paths:
        return ""
    return (f"本稿包含 {len(paths)} 份未正常关闭（没有封存行）的会话文件，无法证明内容完整："
            + "、".join(Path(p).name for p in paths) + "。")


def render_report_pdf(report: GroupReport, *, draft: bool = False, template_dir: str | Path | None = None,
                      font_family: str | None = None, unsealed: Sequence[str] = ()) -> bytes:
    html = render_html("report.html", report_context(report, draft=draft, unsealed=unsealed), template_dir)
    return write_pdf(html, template_dir=template_dir, font_family=font_family)


def _class_rule(low: float, bounds: list[float]) -> str:
    """A class's band in words, from its own lower bound and the next class's: the lowest class is
    "below" the next, never "not below 0%"."""
    above = min((b for b in bounds if b > low), default=None)
    parts = ([f"不低于满分的 {fmt_score(low)}%"] if low > 0 else []) + \
        ([f"低于{'' if low > 0 else '满分的'} {fmt_score(above)}%"] if above is not None else [])
    return "总分" + "、".join(parts) if parts else "全部"
