"""共性问题 and 个性问题: which shortfalls many branches share, and which are one branch's own.

A checklist item is *common* when at least ``share`` of the evaluated branches (default one third)
lost points on it or recorded a problem under it. The comparison is done in exact fractions, so a
group of 9 branches with 3 affected is common at 1/3 and one with 2 is not — no rounding decides.

Problem texts are typed by different people in different branches; texts that say nearly the same
thing (same characters up to punctuation and spacing, or a high similarity) are folded into one
with the number of branches, so the report lists "会议记录缺表决结果（5 个支部）" once, not five
times. The same folding also finds texts that recur under *different* items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from fractions import Fraction

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.report_facts import BranchFacts, ProblemFact

DEFAULT_SHARE = Fraction(1, 3)
OTHER_AREA = "其他方面"  # where a problem or highlight without a checklist item is listed
SIMILARITY = 0.8  # SequenceMatcher ratio over the folded texts at which two problem texts count as one
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def fold_key(text: str) -> str:
    """A text without spacing and punctuation (full- or half-width): the exact-duplicate key."""
    return _PUNCT.sub("", text).lower()


@dataclass
class TextCluster:
    """Near-identical problem texts: the first-seen wording stands for all of them."""

    text: str
    key: str
    branches: dict[str, str] = field(default_factory=dict)  # branch id -> name, in first-seen order
    items: dict[str | None, None] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.branches)


def fold_texts(entries: Iterable[tuple[str, str, str, str | None]]) -> list[TextCluster]:
    """Cluster ``(text, branch id, branch name, item)`` entries whose texts are near-duplicates,
    most widespread first. Exact duplicates (after ``fold_key``) are joined by a dict lookup; a new
    text is compared only with clusters sharing many of its character pairs (an inverted index), so
    folding stays fast over the tens of thousands of texts of a province-wide rollup."""
    clusters: list[TextCluster] = []
    sizes: list[int] = []  # per cluster, the number of its key's character pairs
    by_key: dict[str, TextCluster] = {}
    by_pair: dict[str, list[int]] = {}
    for text, branch, name, item in entries:
        key = fold_key(text)
        if not key:
            continue
        c = by_key.get(key)
        if c is None:
            c = _similar(clusters, sizes, by_pair, key)
            if c is None:
                c = TextCluster(text, key)
                pairs = _pairs(key)
                for pair in pairs:
                    by_pair.setdefault(pair, []).append(len(clusters))
                clusters.append(c)
                sizes.append(len(pairs))
            by_key[key] = c
        c.branches.setdefault(branch, name)
        c.items.setdefault(item)
    return sorted(clusters, key=lambda c: -c.count)


def _pairs(key: str) -> set[str]:
    return {key[k:k + 2] for k in range(len(key) - 1)} or {key}


def _similar(clusters: list[TextCluster], sizes: list[int], by_pair: dict[str, list[int]],
             key: str) -> TextCluster | None:
    """The cluster most like ``key``, tried in order of shared pairs. A candidate needs a share of
    the pairs of the shorter of the two texts, so whether two texts fold does not depend on which
    came first."""
    pairs = _pairs(key)
    shared: dict[int, int] = {}
    for pair in pairs:
        for k in by_pair.get(pair, ()):
            shared[k] = shared.get(k, 0) + 1
    for k, n in sorted(shared.items(), key=lambda kv: -kv[1]):
        if n < SIMILARITY * 0.5 * min(len(pairs), sizes[k]):
            continue
        c = clusters[k]
        m = SequenceMatcher(None, key, c.key, autojunk=False)
        if m.real_quick_ratio() >= SIMILARITY and m.quick_ratio() >= SIMILARITY and m.ratio() >= SIMILARITY:
            return c
    return None


def affected(full_marks: float, value: float | None, has_problem: bool) -> bool:
    """A branch is affected by an item when it lost points on it or recorded a problem under it."""
    return has_problem or (value is not None and value < full_marks - 1e-9)


def is_common(count: int, evaluated: int, share: Fraction) -> bool:
    return evaluated > 0 and count * share.denominator >= share.numerator * evaluated


@dataclass
class CommonProblem:
    item_id: str
    item: str
    area: str
    branches: list[str]  # names
    count: int
    evaluated: int
    samples: list[tuple[str, int]]  # representative texts with the number of branches that wrote them
    rectification: str

    @property
    def share(self) -> float:
        return self.count / self.evaluated


@dataclass
class Recurring:
    text: str
    items: list[str]  # item titles
    branches: list[str]


@dataclass
class ProblemAnalysis:
    common: list[CommonProblem]
    recurring: list[Recurring]
    individual: list[tuple[BranchFacts, list[ProblemFact]]]  # per branch, its problems that are not common
    share: Fraction


def analyse_problems(checklist: Checklist, evaluated: Sequence[BranchFacts], others: Sequence[BranchFacts] = (),
                     share: Fraction = DEFAULT_SHARE, samples: int = 3) -> ProblemAnalysis:
    """Common items over the ``evaluated`` branches; individual problems of every branch (``others``
    — not yet evaluated — too, since their problems are real even if they are not counted)."""
    items = checklist.items()
    n = len(evaluated)
    hit: list[list[BranchFacts]] = [[] for _ in items]
    position = {it.id: k for k, it in enumerate(items)}
    for b in evaluated:
        with_problem = {p.item for p in b.problems}
        for k, it in enumerate(items):
            if affected(it.full_marks, b.items[k], it.id in with_problem):
                hit[k].append(b)
    common: list[CommonProblem] = []
    common_ids: set[str] = set()
    for k, it in enumerate(items):
        if not is_common(len(hit[k]), n, share):
            continue
        common_ids.add(it.id)
        folded = fold_texts((p.text, b.id, b.name, p.item) for b in hit[k] for p in b.problems if p.item == it.id)
        common.append(CommonProblem(
            item_id=it.id, item=it.title, area=checklist.area_of(it.id).title, branches=[b.name for b in hit[k]],
            count=len(hit[k]), evaluated=n, samples=[(c.text, c.count) for c in folded[:samples]],
            rectification=it.rectification))
    common.sort(key=lambda c: (-c.count, position[c.item_id]))

    everyone = [*evaluated, *others]
    title: dict[str | None, str] = {it.id: it.title for it in items}
    recurring = [Recurring(c.text, [title.get(i, OTHER_AREA) for i in c.items], list(c.branches.values()))
                 for c in fold_texts((p.text, b.id, b.name, p.item) for b in everyone for p in b.problems)
                 if len(c.items) > 1 and c.count > 1]
    individual = [(b, own) for b in everyone if (own := [p for p in b.problems if p.item not in common_ids])]
    return ProblemAnalysis(common, recurring, individual, share)
