"""Scores, ratings and rates: computed here and only here.

The checklist gives full marks and the scoring rule; the records give observations, inspectors'
scores and the group's verdicts. A branch can be looked at through one inspector's eyes (their own
records, as in the inspector's UI) or the whole group's (the leader's merged view). Where
inspectors disagree and no verdict settles it, the item is *unsettled*: it still gets a working
value (the mean) so totals are defined, but it is flagged so nothing downstream presents it as
agreed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from statistics import fmean

from inspect_tui.core.checklist import Area, Checklist, Item, Level, RatingBand, ScoringMethod
from inspect_tui.core.folding import count_folded
from inspect_tui.core.format import round2
from inspect_tui.core.index import Rec
from inspect_tui.core.labels import UNRATED
from inspect_tui.core.records import Kind, Status
from inspect_tui.core.steps import Step

_CREDIT = {Status.MEETS: 1.0, Status.NOT: 0.0}


def suggested_score(item: Item, statuses: Iterable[Status]) -> float | None:
    """The score the observations point to; ``None`` when nothing was observed."""
    seen = [s for s in statuses if s is not None]
    if not seen:
        return None
    counted = [s for s in seen if s is not Status.NA]
    if not counted:
        return item.full_marks
    rule = item.scoring
    if rule.method is ScoringMethod.ALL_OR_NOTHING:
        return item.full_marks if all(s is Status.MEETS for s in counted) else 0.0
    if rule.method is ScoringMethod.DEDUCT:
        shortfalls = sum(1 for s in counted if s is not Status.MEETS)
        return max(0.0, item.full_marks - rule.deduct_per * shortfalls)
    credit = fmean(_CREDIT.get(s, rule.partly) for s in counted)
    return round2(item.full_marks * credit)


@dataclass(frozen=True)
class ItemResult:
    item: Item
    area: Area
    statuses: dict[tuple[str, Step], Status]
    scores: dict[str, float]
    verdict: Rec | None
    value: float | None
    disagreement: bool

    @property
    def suggested(self) -> float | None:
        return suggested_score(self.item, self.statuses.values())


@dataclass(frozen=True)
class AreaResult:
    area: Area
    score: float
    scored_items: int

    @property
    def full_marks(self) -> float:
        return self.area.full_marks


@dataclass(frozen=True)
class BranchResult:
    branch: str
    name: str
    items: list[ItemResult]
    areas: list[AreaResult]
    total: float
    full_marks: float
    rating: RatingBand
    asked: int
    adequate: int
    problems: int  # distinct problems: identical ones from several inspectors count once (core.folding)
    steps_done: dict[Step, bool]

    @property
    def awareness(self) -> float | None:
        return self.adequate / self.asked if self.asked else None

    @property
    def scored_items(self) -> int:
        return sum(1 for i in self.items if i.value is not None)

    @property
    def evaluated(self) -> bool:
        """Every item has a value: only then is the total a score and the band a rating."""
        return self.scored_items == len(self.items)

    @property
    def rating_label(self) -> str:
        """The rating as every screen and listing shows it: 未评 until the branch is evaluated (the
        report's rule: a branch half scored is never rated on its partial total)."""
        return self.rating.label if self.evaluated else UNRATED

    @property
    def unsettled(self) -> list[ItemResult]:
        return [i for i in self.items if i.disagreement]

    def item(self, item_id: str) -> ItemResult:
        return next(i for i in self.items if i.item.id == item_id)


_STEPS = {s.value: s for s in Step}  # dict lookups instead of enum calls: scoring every branch at
_STATUSES = {s.value: s for s in Status}  # open time makes tens of thousands of them


def analyse_branch(checklist: Checklist, branch: Rec, records: Iterable[Rec],
                   authors: Collection[str] | None = None) -> BranchResult:
    """Scores, rating, awareness and progress for one branch, from ``authors``' records (all when
    None). Verdicts always count: they are the group's, not one inspector's."""
    statuses: dict[str, dict[tuple[str, Step], Status]] = defaultdict(dict)
    explicit: dict[str, dict[str, float]] = defaultdict(dict)
    verdicts: dict[tuple[str, str], Rec] = {}
    asked = adequate = 0
    problem_recs: list[Rec] = []
    done: dict[Step, bool] = dict.fromkeys(Step, False)
    for r in records:
        if r.kind is Kind.VERDICT:
            verdicts[(r.data["item"], r.data["field"])] = r
            continue
        if authors is not None and r.author not in authors:
            continue
        d = r.data
        if r.kind is Kind.OBSERVATION and d.get("status"):
            statuses[d["item"]][(r.author, _STEPS[d["step"]])] = _STATUSES[d["status"]]
        elif r.kind is Kind.SCORE and d.get("score") is not None:
            explicit[d["item"]][r.author] = float(d["score"])
        elif r.kind is Kind.INTERVIEW and d.get("adequate") is not None:
            asked += 1
            adequate += bool(d["adequate"])
        elif r.kind is Kind.PROBLEM:
            problem_recs.append(r)
        elif r.kind is Kind.STEP_NOTE and d.get("done"):
            done[_STEPS[d["step"]]] = True

    items: list[ItemResult] = []
    areas: list[AreaResult] = []
    for area in checklist.areas:
        area_score, area_scored = 0.0, 0
        for item in area.items:
            result = _item_result(item, area, statuses.get(item.id, {}), explicit.get(item.id, {}), verdicts)
            items.append(result)
            if result.value is not None:
                area_score += result.value
                area_scored += 1
        areas.append(AreaResult(area, round2(area_score), area_scored))
    total = round2(sum(a.score for a in areas))
    return BranchResult(branch=branch.id, name=branch.data["name"], items=items, areas=areas, total=total,
                        full_marks=checklist.full_marks, rating=checklist.rating_for(total), asked=asked,
                        adequate=adequate, problems=count_folded(problem_recs), steps_done=done)


def _item_result(item: Item, area: Area, statuses: dict[tuple[str, Step], Status], explicit: dict[str, float],
                 verdicts: dict[tuple[str, str], Rec]) -> ItemResult:
    settled_status = {step: Status(v.data["status"]) for step in (Step.LOOK, Step.CHECK)
                      if (v := verdicts.get((item.id, step.value))) is not None and v.data.get("status")}
    per_author: dict[str, list[Status]] = defaultdict(list)
    for (author, step), status in statuses.items():
        per_author[author].append(settled_status.get(step, status))
    scores = dict(explicit)
    for author, sts in per_author.items():
        if author not in scores and (s := suggested_score(item, sts)) is not None:
            scores[author] = s
    verdict = verdicts.get((item.id, "score"))
    if verdict is not None and verdict.data.get("score") is not None:
        value: float | None = float(verdict.data["score"])
    elif scores:
        value = round2(fmean(scores.values()))
    else:
        value = None
    disagreement = verdict is None and len(set(scores.values())) > 1
    for step in (Step.LOOK, Step.CHECK):
        judged = {s for (_a, st), s in statuses.items() if st is step}
        if len(judged) > 1 and (item.id, step.value) not in verdicts:
            disagreement = True
    return ItemResult(item=item, area=area, statuses=statuses, scores=scores, verdict=verdict, value=value,
                      disagreement=disagreement)


@dataclass(frozen=True)
class GroupSummary:
    results: list[BranchResult]
    pass_rate: float | None
    excellence_rate: float | None

    @property
    def ranking(self) -> list[BranchResult]:
        return sorted(self.results, key=lambda r: -r.total)


def rates(levels: Collection[Level]) -> tuple[float | None, float | None]:
    """达标率 and 优秀率 of the given ratings: every level but fail passes; ``None`` for no branch."""
    n = len(levels)
    if not n:
        return None, None
    return sum(lv is not Level.FAIL for lv in levels) / n, sum(lv is Level.EXCELLENT for lv in levels) / n


def summarise(results: list[BranchResult]) -> GroupSummary:
    return GroupSummary(results, *rates([r.rating.level for r in results]))
