"""Many groups at once (a city or a province): per-group rates and averages, one overall ranking,
common problems across all groups, pooled awareness.

Scores of different checklist versions are not comparable, so the rollup is split into one *part*
per checklist version (id, version and content), each computed on its own and said so; within a
part the rules are exactly those of one group's report (``core.report``): 未评 branches are not
ranked or counted, ties share a rank, awareness is pooled over every interview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.common_problems import DEFAULT_SHARE, ProblemAnalysis, analyse_problems
from inspect_tui.core.format import round2
from inspect_tui.core.report import Ranked, rank, refuse_repeated_visits, tag_subtotals
from inspect_tui.core.report_facts import BranchFacts, SessionFacts
from inspect_tui.core.scoring import rates
from inspect_tui.errors import UserError


@dataclass
class GroupLine:
    group: str
    sessions: int
    branches: int
    evaluated: int
    average: float | None
    pass_rate: float | None
    excellence_rate: float | None
    asked: int
    adequate: int

    @property
    def awareness(self) -> float | None:
        return self.adequate / self.asked if self.asked else None


@dataclass
class RollupPart:
    checklist: Checklist
    sources: list[str]
    groups: list[GroupLine]
    ranked: list[Ranked]
    unevaluated: int
    pass_rate: float | None
    excellence_rate: float | None
    asked: int
    adequate: int
    problems: ProblemAnalysis

    @property
    def awareness(self) -> float | None:
        return self.adequate / self.asked if self.asked else None

    @property
    def label(self) -> str:
        return f"{self.checklist.title}（{self.checklist.id} {self.checklist.version}）"


@dataclass
class Rollup:
    parts: list[RollupPart]

    @property
    def split(self) -> bool:
        return len(self.parts) > 1


def _average(branches: Sequence[BranchFacts]) -> float | None:
    return round2(sum(b.total for b in branches) / len(branches)) if branches else None


def _group_line(group: str, sessions: list[SessionFacts], checklist: Checklist) -> GroupLine:
    branches = [b for s in sessions for b in s.branches]
    evaluated = [b for b in branches if b.evaluated]
    p, e = rates([checklist.rating_for(b.total).level for b in evaluated])
    return GroupLine(group, len(sessions), len(branches), len(evaluated), _average(evaluated), p, e,
                     sum(b.asked for b in branches), sum(b.adequate for b in branches))


def build_rollup(sessions: Sequence[SessionFacts], checklists: dict[str, Checklist], *,
                 share: Fraction = DEFAULT_SHARE) -> Rollup:
    """One part per checklist version, in the order first met; refuses a visit given twice and a
    rollup in which no branch at all is evaluated."""
    refuse_repeated_visits(sessions)
    by_version: dict[tuple[str, str, str], list[SessionFacts]] = {}
    for s in sessions:
        by_version.setdefault(s.checklist, []).append(s)
    parts = [_part(checklists[key[2]], group, share) for key, group in by_version.items()]
    if not any(p.ranked for p in parts):
        raise UserError("这些会话中没有已评完的支部，无法汇总", hint="每个支部的全部检查项都有得分后才计入汇总。")
    return Rollup(parts)


def _part(checklist: Checklist, sessions: list[SessionFacts], share: Fraction) -> RollupPart:
    by_group: dict[str, list[SessionFacts]] = {}
    for s in sessions:
        by_group.setdefault(s.group, []).append(s)
    branches = [b for s in sessions for b in s.branches]
    evaluated = [b for b in branches if b.evaluated]
    ranked = [Ranked(b, r, checklist.rating_for(b.total), checklist.class_for(b.total), tag_subtotals(checklist, b))
              for r, b in rank(evaluated)]
    p, e = rates([r.rating.level for r in ranked])
    return RollupPart(
        checklist=checklist, sources=[s.source for s in sessions],
        groups=[_group_line(g, ss, checklist) for g, ss in by_group.items()], ranked=ranked,
        unevaluated=len(branches) - len(evaluated), pass_rate=p, excellence_rate=e,
        asked=sum(b.asked for b in branches), adequate=sum(b.adequate for b in branches),
        problems=analyse_problems(checklist, evaluated, (), share))
