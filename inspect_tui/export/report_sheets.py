"""The sheets of 汇总.xlsx for one group: what the report shows, row by row, for filtering and sorting.

Scores, ranks and rates come from the ``GroupReport``; interviews and rectification items come from
the sessions' records. The 整改事项 sheet is built by ``notice.build_notice`` — the function the
notice PDFs are made with — so the ledger and the notices can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.common_problems import ProblemAnalysis
from inspect_tui.core.records import Kind
from inspect_tui.core.report import OTHER_AREA, GroupReport, Ranked
from inspect_tui.core.report_facts import BranchFacts
from inspect_tui.export.issuer import issued_record
from inspect_tui.export.notice import build_notice, changed_since_issue
from inspect_tui.export.workbook import DATE, INT, NUMBER, PERCENT, Column, Sheet

ADEQUATE = {True: "合格", False: "不合格", None: "未判定"}
MAX_NAMES = 200  # a cell holds at most 32,767 characters; a province's list of branches would not fit


def names(branches: Sequence[str]) -> str:
    shown = "、".join(branches[:MAX_NAMES])
    return shown + (f" 等 {len(branches)} 个支部" if len(branches) > MAX_NAMES else "")


def _item_area(report: GroupReport, item_id: str | None) -> tuple[str, str]:
    if not item_id:
        return OTHER_AREA, ""
    try:
        return report.checklist.area_of(item_id).title, report.checklist.item(item_id).title
    except KeyError:
        return OTHER_AREA, item_id


def ranking_sheet(cl: Checklist, ranked: Sequence[Ranked], unevaluated: Sequence[BranchFacts] = (),
                  title: str = "得分排名") -> Sheet:
    cols = [Column("排名", 6, INT), Column("支部", 30), Column("单位", 18), Column("小组", 14)]
    cols += [Column(f"{a.title}（{a.full_marks:g}）", 11, NUMBER) for a in cl.areas]
    cols += [Column(t.title, 11, NUMBER) for t in cl.tags]
    cols += [Column("总分", 8, NUMBER), Column("等次", 8)]
    cols += [Column("类别", 8)] if cl.classes else []
    cols += [Column("问题数", 8, INT), Column("访谈判定", 9, INT), Column("回答合格", 9, INT),
             Column("知晓率", 9, PERCENT), Column("状态", 8), Column("会话文件", 30)]
    rows = []
    for r in ranked:
        f = r.facts
        row: list[Any] = [r.rank, f.name, f.unit, f.group, *f.areas, *r.tags, f.total, r.rating.label]
        row += [r.klass.label if r.klass else ""] if cl.classes else []
        rows.append(row + [len(f.problems), f.asked, f.adequate, f.awareness, "已评", f.source])
    for f in unevaluated:
        row = [None, f.name, f.unit, f.group, *([None] * (len(cl.areas) + len(cl.tags))), None, ""]
        row += [""] if cl.classes else []
        rows.append(row + [len(f.problems), f.asked, f.adequate, f.awareness, f"未评（{f.scored}/{len(f.items)}）",
                           f.source])
    chart = (2, 4 + len(cl.areas) + len(cl.tags) + 1) if 0 < len(ranked) <= 100 else None
    return Sheet(title, cols, rows, chart=chart)


def items_sheet(report: GroupReport) -> Sheet:
    items = report.checklist.items()
    cols = [Column("支部", 30), Column("单位", 18)]
    cols += [Column(f"{it.id} {it.title}（{it.full_marks:g}）", 12, NUMBER) for it in items]
    cols += [Column("总分", 8, NUMBER)]
    rows = [[f.name, f.unit, *f.items, f.total if f.evaluated else None] for f in report.branches]
    return Sheet("分项得分", cols, rows)


def problems_sheet(report: GroupReport) -> Sheet:
    common = {c.item_id for c in report.problems.common}
    cols = [Column("支部", 30), Column("单位", 18), Column("方面", 14), Column("检查项", 26), Column("问题", 50),
            Column("佐证", 30), Column("建议", 40), Column("性质", 8)]
    rows = []
    for f in report.branches:
        for p in f.problems:
            area, item = _item_area(report, p.item)
            rows.append([f.name, f.unit, area, item, p.text, p.evidence, p.suggestion,
                         "共性" if p.item in common else "个性"])
    return Sheet("问题清单", cols, rows)


def common_sheet(problems: ProblemAnalysis, title: str = "共性问题") -> Sheet:
    cols = [Column("序号", 6, INT), Column("检查项", 26), Column("方面", 14), Column("涉及支部数", 10, INT),
            Column("已评支部数", 10, INT), Column("占比", 8, PERCENT), Column("典型表现", 60), Column("整改建议", 50),
            Column("涉及支部", 60)]
    rows = [[k, c.item, c.area, c.count, c.evaluated, c.share, "；".join(f"{t}（{n} 个支部）" for t, n in c.samples),
             c.rectification, names(c.branches)] for k, c in enumerate(problems.common, 1)]
    return Sheet(title, cols, rows)


def highlights_sheet(report: GroupReport) -> Sheet:
    cols = [Column("方面", 14), Column("亮点", 60), Column("支部数", 8, INT), Column("支部", 60)]
    rows = [[area, c.text, c.count, "、".join(c.branches.values())] for area, found in report.highlights for c in found]
    return Sheet("亮点", cols, rows)


def interviews_sheet(sessions: Sequence[Any]) -> Sheet:
    cols = [Column("支部", 30), Column("单位", 18), Column("日期", 11, DATE), Column("问题", 50), Column("访谈对象", 12),
            Column("姓名", 10), Column("回答", 50), Column("是否合格", 9), Column("观摩员", 10)]
    rows = []
    for s in sessions:
        for b in s.branches():
            for r in sorted(s.records(b.id, Kind.INTERVIEW), key=lambda r: (r.at, r.id)):
                d = r.data
                rows.append([b.data["name"], b.data.get("unit", ""), s.meta.date.isoformat(), d["question"], d["role"],
                             d.get("name", ""), d.get("answer", ""), ADEQUATE[d.get("adequate")], r.author])
    return Sheet("访谈", cols, rows)


def rectification_sheet(sessions: Sequence[Any]) -> Sheet:
    """Every item of every rectification notice, exactly as ``build_notice`` numbers and words it. A
    notice whose demands changed after it was issued is not listed under its number as if issued so:
    its number says it changed since."""
    cols = [Column("发文字号", 22), Column("支部", 30), Column("单位", 18), Column("序号", 6, INT), Column("方面", 14),
            Column("检查项", 26), Column("存在问题", 50), Column("整改要求", 50), Column("整改时限", 11, DATE),
            Column("责任人", 10)]
    rows = []
    for s in sessions:
        for b in s.branches():
            records = s.records(b.id)
            issued = issued_record(records, b.id, "notice")
            vm = build_notice(meta=s.meta, checklist=s.checklist, branch=b, records=records,
                              number=issued.data["text"] if issued is not None else None)
            if vm is None:
                continue
            number = vm.data["doc_no"]
            if changed_since_issue(issued, vm.data):
                number += "（签发后有改动，未重新签发）"
            for i in vm.data["items"]:
                rows.append([number, b.data["name"], b.data.get("unit", ""), i["no"], i["area"],
                             i["item"], i["problem"], i["requirement"], i["deadline"], i["responsible"]])
    return Sheet("整改事项", cols, rows)


def group_sheets(report: GroupReport, sessions: Sequence[Any]) -> list[Sheet]:
    return [ranking_sheet(report.checklist, report.ranked, report.unevaluated), items_sheet(report),
            problems_sheet(report), common_sheet(report.problems),
            interviews_sheet(sessions), highlights_sheet(report), rectification_sheet(sessions)]
