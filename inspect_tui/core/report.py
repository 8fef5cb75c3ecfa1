"""The group's summary (汇总): ranking, rates, pooled awareness, common and individual problems,
highlights, 四强 subtotals and 先进/中间/后进 classes — computed here once, from session facts.

Rules that are easy to get wrong and are therefore decided in this one place:

* A branch is *evaluated* when every checklist item has a value. Branches that are not are listed
  apart as 未评 with their progress: never ranked as 0, never counted in 达标率 or 优秀率, and not
  counted when deciding whether a problem is common.
* Ranks are competition ranks over totals rounded to two decimals: equal totals share a rank and the
  next rank skips (1, 2, 2, 4).
* 知晓率 is pooled: adequate answers over judged questions across all interviews of all branches
  (evaluated or not — an interview held is held), reported with both counts.
* Ratings, rates and classes come from the checklist (``rating_for``, ``scoring.rates``,
  ``class_for``); scores come from ``analyse_branch`` through the facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from inspect_tui.core.checklist import Checklist, RatingBand, ScoreClass
from inspect_tui.core.common_problems import (
    DEFAULT_SHARE,
    OTHER_AREA,
    ProblemAnalysis,
    TextCluster,
    analyse_problems,
    fold_texts,
)
from inspect_tui.core.format import fmt_rate, fmt_score, round2
from inspect_tui.core.report_facts import BranchFacts, SessionFacts
from inspect_tui.core.scoring import rates
from inspect_tui.errors import UserError


@dataclass(frozen=True)
class Ranked:
    facts: BranchFacts
    rank: int
    rating: RatingBand
    klass: ScoreClass | None
    tags: tuple[float, ...]  # subtotal per checklist tag


@dataclass
class Counted:
    label: str
    count: int


@dataclass
class GroupReport:
    checklist: Checklist
    groups: list[str]
    dates: list[str]
    inspectors: list[str]
    sources: list[str]
    ranked: list[Ranked]
    unevaluated: list[BranchFacts]
    pass_rate: float | None
    excellence_rate: float | None
    rating_counts: list[Counted]
    class_counts: list[tuple[ScoreClass, list[Ranked]]]
    interviews: int
    asked: int
    adequate: int
    problems: ProblemAnalysis
    highlights: list[tuple[str, list[TextCluster]]]  # per area, near-identical highlights folded
    unsettled: list[tuple[str, str]]  # (branch name, "检查项（分数、看）")
    next_steps: str = ""

    @property
    def awareness(self) -> float | None:
        return self.adequate / self.asked if self.asked else None

    @property
    def branches(self) -> list[BranchFacts]:
        return [r.facts for r in self.ranked] + self.unevaluated

    @property
    def average(self) -> float | None:
        return round2(sum(r.facts.total for r in self.ranked) / len(self.ranked)) if self.ranked else None


def rank(branches: Sequence[BranchFacts]) -> list[tuple[int, BranchFacts]]:
    """Competition ranking by total (ties share a rank, the next one skips); names break display ties."""
    ordered = sorted(branches, key=lambda b: (-round2(b.total), b.name))
    out: list[tuple[int, BranchFacts]] = []
    for k, b in enumerate(ordered):
        same = out and round2(out[-1][1].total) == round2(b.total)
        out.append((out[-1][0] if same else k + 1, b))
    return out


def area_shares(checklist: Checklist, facts: BranchFacts) -> list[float]:
    """Per area, the branch's score as a share of the area's full marks (the heat map's cells)."""
    return [score / area.full_marks for area, score in zip(checklist.areas, facts.areas, strict=True)]


def tag_subtotals(checklist: Checklist, facts: BranchFacts) -> tuple[float, ...]:
    items = checklist.items()
    return tuple(round2(sum(v or 0.0 for it, v in zip(items, facts.items, strict=True) if t.id in it.tags))
                 for t in checklist.tags)


def check_same_checklist(sessions: Sequence[SessionFacts]) -> None:
    """One report is over one checklist version; otherwise name the files of each version."""
    versions: dict[tuple[str, str, str], list[str]] = {}
    for s in sessions:
        versions.setdefault(s.checklist, []).append(s.source)
    if len(versions) > 1:
        listing = "；".join(f"{cid} {ver}（{h}）：{'、'.join(files)}" for (cid, ver, h), files in versions.items())
        raise UserError(f"这些会话使用了不同的检查清单或版本，不能合成一份报告：{listing}",
                        hint="同一份汇总报告只能包含同一检查清单版本的会话；多个小组、多个版本请用 report rollup。")
    refuse_repeated_visits(sessions)


def refuse_repeated_visits(sessions: Sequence[SessionFacts]) -> None:
    """Two files of one visit (an inspector's copy and the merge, or the same file twice) would count
    its branches twice."""
    visits: dict[str, list[str]] = {}
    for s in sessions:
        visits.setdefault(s.visit_id, []).append(s.source)
    twice = [files for files in visits.values() if len(files) > 1]
    if twice:
        raise UserError("同一次观摩的会话给了不止一份（支部会被重复计算）：" + "；".join("、".join(f) for f in twice),
                        hint="每次观摩只给出组长合并后的一份会话（inspect-tui merge）。")


def build_group_report(checklist: Checklist, sessions: Sequence[SessionFacts], *, share: Fraction = DEFAULT_SHARE,
                       next_steps: str = "") -> GroupReport:
    """The summary of one group's sessions (several days of one visit programme)."""
    if not sessions:
        raise UserError("没有给出会话文件")
    check_same_checklist(sessions)
    branches = [b for s in sessions for b in s.branches]
    evaluated = [b for b in branches if b.evaluated]
    if not evaluated:
        raise UserError("没有已评完的支部，无法排名和汇总：" + "、".join(s.source for s in sessions),
                        hint="每个支部的全部检查项都有得分后才计入汇总；请先完成“评”环节。")
    ranked = [Ranked(b, r, checklist.rating_for(b.total), checklist.class_for(b.total), tag_subtotals(checklist, b))
              for r, b in rank(evaluated)]
    pass_rate, excellence = rates([r.rating.level for r in ranked])
    counts = [Counted(band.label, sum(1 for r in ranked if r.rating == band)) for band in checklist.ratings]
    classes = [(c, [r for r in ranked if r.klass == c]) for c in checklist.classes]
    unevaluated = sorted((b for b in branches if not b.evaluated), key=lambda b: b.name)
    return GroupReport(
        checklist=checklist, groups=list(dict.fromkeys(s.group for s in sessions)),
        dates=sorted({s.date for s in sessions}),
        inspectors=list(dict.fromkeys(i for s in sessions for i in s.inspectors)),
        sources=[s.source for s in sessions], ranked=ranked, unevaluated=unevaluated, pass_rate=pass_rate,
        excellence_rate=excellence, rating_counts=counts, class_counts=classes,
        interviews=sum(b.interviews for b in branches), asked=sum(b.asked for b in branches),
        adequate=sum(b.adequate for b in branches),
        problems=analyse_problems(checklist, evaluated, unevaluated, share),
        highlights=highlights_by_area(checklist, branches),
        unsettled=[(b.name, u) for b in branches for u in b.unsettled], next_steps=next_steps.strip())


def highlights_by_area(checklist: Checklist, branches: Sequence[BranchFacts]) -> list[tuple[str, list[TextCluster]]]:
    """亮点 per area of the checklist (those without an item, or of an item the checklist does not
    have, under 其他方面), near-identical ones folded with every branch that showed them."""
    by_area: dict[str, list[tuple[str, str, str, str | None]]] = {a.title: [] for a in checklist.areas}
    by_area[OTHER_AREA] = []
    area_of: dict[str | None, str] = {it.id: a.title for a in checklist.areas for it in a.items}
    for b in branches:
        for h in b.highlights:
            by_area[area_of.get(h.item, OTHER_AREA)].append((h.text, b.id, b.name, h.item))
    return [(area, fold_texts(found)) for area, found in by_area.items() if found]


def awareness_text(adequate: int, asked: int) -> str:
    """Pooled 知晓率 with its count, as every summary shows it."""
    return f"{fmt_rate(adequate / asked)}（{adequate}/{asked}）" if asked else "未访谈"


def summary_line(report: GroupReport, top: int = 5) -> str:
    """The group's figures in one line (``session show``): the same numbers as the report's 二、."""
    names = " > ".join(f"{r.rank}.{r.facts.name}" for r in report.ranked[:top])
    more = " …" if len(report.ranked) > top else ""
    apart = f"，未评 {len(report.unevaluated)} 个不计入" if report.unevaluated else ""
    provisional = f"（排名暂定：{len(report.unsettled)} 处未裁定）" if report.unsettled else ""
    return (f"已评完 {len(report.ranked)} 个支部{apart}：平均 {fmt_score(report.average)} 分，"
            f"达标率 {fmt_rate(report.pass_rate)}，优秀率 {fmt_rate(report.excellence_rate)}，"
            f"知晓率 {awareness_text(report.adequate, report.asked)}；排名：{names}{more}{provisional}")


def parse_share(text: str) -> Fraction:
    """``1/3``, ``0.4`` or ``40%``: the share of evaluated branches that makes a problem common."""
    raw = text.strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise UserError(f"“{text}”不是有效的比例", hint="例如 1/3、0.4 或 40%") from None
    if not 0 < value <= 1:
        raise UserError(f"比例 {text} 应大于 0 且不超过 1")
    return value
