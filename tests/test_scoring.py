from __future__ import annotations

import copy

import pytest
from conftest import TINY

from inspect_tui.core.checklist import Checklist, Level
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.records import Status, observation_id, score_id, verdict_id
from inspect_tui.core.scoring import analyse_branch, rates, suggested_score, summarise
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import make_version

M, P, N, NA = Status.MEETS, Status.PARTLY, Status.NOT, Status.NA


def test_suggested_score_follows_each_items_rule(tiny_checklist):
    i1, i2, i3 = (tiny_checklist.item(x) for x in ("i1", "i2", "i3"))
    assert suggested_score(i1, []) is None
    assert suggested_score(i1, [M, P]) == 4.5  # (1 + 0.5) / 2 * 6
    assert suggested_score(i1, [NA, NA]) == 6  # nothing applicable: no deduction
    assert suggested_score(i2, [M, M]) == 6 and suggested_score(i2, [M, P]) == 0
    assert suggested_score(i3, [M, N]) == 5 and suggested_score(i3, [N, N, N]) == 0


class Records:
    """A branch's records built the way the store builds them."""

    def __init__(self):
        self.docs = []
        b = make_version(kind="branch", data={"name": "预算处党支部", "unit": "", "order": 1}, author="组长",
                         by="组长", replica="plan")
        self.docs.append({"id": "b1", "versions": [b]})

    def add(self, rid, kind, author, **data):
        v = make_version(kind=kind, data={"branch": "b1", **data}, author=author, by=author, replica=author)
        self.docs.append({"id": rid, "versions": [v]})

    def result(self, checklist, authors=None):
        idx = RecordIndex(self.docs)
        return analyse_branch(checklist, idx.live("b1"), idx.of_branch("b1"), authors)


def test_branch_totals_rating_awareness_and_progress(tiny_checklist):
    r = Records()
    r.add(observation_id("b1", "i1", Step.CHECK, "甲"), "observation", "甲", item="i1", step="check", status="meets")
    r.add(observation_id("b1", "i3", Step.LOOK, "甲"), "observation", "甲", item="i3", step="look", status="not")
    r.add(score_id("b1", "i2", "甲"), "score", "甲", item="i2", score=4.0)
    r.add("interview/1", "interview", "甲", role="普通党员", question="?", adequate=True)
    r.add("interview/2", "interview", "甲", role="普通党员", question="?", adequate=False)
    r.add("interview/3", "interview", "甲", role="普通党员", question="?", adequate=None)
    r.add("problem/1", "problem", "甲", item="i3", text="活动室被挪作他用")
    r.add("step_note/x", "step_note", "甲", step="report", done=True)
    res = r.result(tiny_checklist)
    assert [a.score for a in res.areas] == [10.0, 5.0]
    assert res.total == 15.0 and res.rating.label == "达标"
    assert (res.asked, res.adequate, res.awareness) == (2, 1, 0.5)
    assert res.problems == 1 and res.steps_done[Step.REPORT] and not res.steps_done[Step.LOOK]
    assert not res.unsettled


def test_disagreement_is_flagged_until_a_verdict_settles_it(tiny_checklist):
    r = Records()
    r.add(score_id("b1", "i1", "甲"), "score", "甲", item="i1", score=6.0)
    r.add(score_id("b1", "i1", "乙"), "score", "乙", item="i1", score=3.0)
    r.add(observation_id("b1", "i3", Step.LOOK, "甲"), "observation", "甲", item="i3", step="look", status="meets")
    r.add(observation_id("b1", "i3", Step.LOOK, "乙"), "observation", "乙", item="i3", step="look", status="not")
    res = r.result(tiny_checklist)
    assert {i.item.id for i in res.unsettled} == {"i1", "i3"}
    assert res.item("i1").value == 4.5  # a working value, flagged, not presented as agreed
    assert res.item("i1").scores == {"甲": 6.0, "乙": 3.0}
    only_mine = r.result(tiny_checklist, authors={"甲"})
    assert not only_mine.unsettled and only_mine.item("i1").value == 6.0
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=5.0, reason="记录基本齐全")
    r.add(verdict_id("b1", "i3", "look"), "verdict", "组长", item="i3", field="look", status="not", reason="现场核实")
    res = r.result(tiny_checklist)
    assert not res.unsettled and res.item("i1").value == 5.0


def test_group_summary_rates(tiny_checklist):
    results = []
    for score in (19.0, 13.0, 5.0):
        r = Records()
        r.add(score_id("b1", "i1", "甲"), "score", "甲", item="i1", score=min(score, 6.0))
        r.add(score_id("b1", "i2", "甲"), "score", "甲", item="i2", score=min(max(score - 6, 0), 6.0))
        r.add(score_id("b1", "i3", "甲"), "score", "甲", item="i3", score=max(score - 12, 0))
        results.append(r.result(tiny_checklist))
    s = summarise(results)
    assert [x.total for x in s.ranking] == [19.0, 13.0, 5.0]
    assert s.pass_rate == 2 / 3 and s.excellence_rate == 1 / 3


def test_not_applicable_is_never_a_shortfall(tiny_checklist):
    """不适用 leaves an observation out under every rule: all-or-nothing still gives full marks when
    the rest meets, a deduction is made only for real shortfalls, proportional averages the rest."""
    i1, i2, i3 = (tiny_checklist.item(x) for x in ("i1", "i2", "i3"))
    assert suggested_score(i2, [M, NA]) == 6 and suggested_score(i2, [NA, M, NA]) == 6
    assert suggested_score(i2, [NA, N]) == 0 and suggested_score(i2, [NA, P]) == 0
    assert suggested_score(i3, [M, NA, N]) == 5 and suggested_score(i3, [NA, NA]) == 8
    assert suggested_score(i3, [NA, P, P]) == 2 and suggested_score(i3, [N, N, N, NA]) == 0
    assert suggested_score(i1, [M, NA, N]) == 3 and suggested_score(i1, [NA, P]) == 3
    assert suggested_score(i1, [None, None]) is None and suggested_score(i1, [None, M]) == 6


def test_all_or_nothing_with_not_applicable_through_the_branch(tiny_checklist):
    r = Records()
    r.add(observation_id("b1", "i2", Step.CHECK, "甲"), "observation", "甲", item="i2", step="check", status="meets")
    r.add(observation_id("b1", "i2", Step.LOOK, "甲"), "observation", "甲", item="i2", step="look", status="na")
    res = r.result(tiny_checklist)
    assert res.item("i2").value == 6.0 and res.item("i2").scores == {"甲": 6.0}
    assert res.total == 6.0 and [a.score for a in res.areas] == [6.0, 0.0]


def test_proportional_uses_the_checklists_share_for_partly():
    data = copy.deepcopy(TINY)
    data["areas"][0]["items"][0]["scoring"] = {"partly": 0.25}
    cl = Checklist.model_validate(data)
    assert suggested_score(cl.item("i1"), [P]) == 1.5 and suggested_score(cl.item("i1"), [P, M, N]) == 2.5
    assert suggested_score(cl.item("i1"), [P, P, M]) == 3  # (0.25 + 0.25 + 1) / 3 * 6
    data["areas"][0]["items"][0]["scoring"] = {"partly": 0.123}
    assert suggested_score(Checklist.model_validate(data).item("i1"), [P]) == 0.74  # rounded to 2 places


def odd_bands() -> Checklist:
    """The tiny checklist (20 marks) with four bands at thresholds no default uses."""
    data = copy.deepcopy(TINY)
    data["ratings"] = [{"label": "甲等", "min": 85, "level": "excellent"}, {"label": "乙等", "min": 72.5, "level": "good"},
                       {"label": "丙等", "min": 55, "level": "pass"}, {"label": "丁等", "min": 0, "level": "fail"}]
    data["classes"] = [{"label": "先进", "min": 77.5}, {"label": "中间", "min": 42.5}, {"label": "后进", "min": 0}]
    return Checklist.model_validate(data)


@pytest.mark.parametrize("checklist", [odd_bands(), load_default_checklist()], ids=["odd", "default"])
def test_every_rating_threshold_at_below_and_above_its_boundary(checklist):
    """Each band from the checklist: a total exactly at its ``min`` gets it, one hundredth of a mark
    less gets the band below, one hundredth more still gets it."""
    bands = checklist.ratings
    for band, lower in zip(bands, bands[1:], strict=False):
        at = band.min * checklist.full_marks / 100
        assert checklist.rating_for(at) == band
        assert checklist.rating_for(at + 0.01) == band
        assert checklist.rating_for(at - 0.01) == lower
    assert checklist.rating_for(0) == bands[-1] and checklist.rating_for(0.01) == bands[-1]
    assert checklist.rating_for(-1) == bands[-1]  # a hand-edited negative score still gets the lowest band
    assert checklist.rating_for(checklist.full_marks) == bands[0]
    for cls, lower in zip(checklist.classes, checklist.classes[1:], strict=False):
        at = cls.min * checklist.full_marks / 100
        assert (checklist.class_for(at), checklist.class_for(at + 0.01), checklist.class_for(at - 0.01)) \
            == (cls, cls, lower)
    if checklist.classes:
        assert checklist.class_for(0) == checklist.classes[-1]


def test_class_is_none_without_classes(tiny_checklist):
    assert tiny_checklist.class_for(20) is None and tiny_checklist.class_for(0) is None


def branch_totalling(checklist, total: float):
    r = Records()
    left = total
    for item in checklist.items():
        part = min(left, item.full_marks)
        r.add(score_id("b1", item.id, "甲"), "score", "甲", item=item.id, score=part)
        left -= part
    return r.result(checklist)


def test_branch_rating_at_each_boundary_of_the_checklist():
    cl = odd_bands()
    got = [(t, branch_totalling(cl, t).rating.label) for t in (20, 17.01, 17, 16.99, 14.5, 14.49, 11, 10.99, 0)]
    assert got == [(20, "甲等"), (17.01, "甲等"), (17, "甲等"), (16.99, "乙等"), (14.5, "乙等"), (14.49, "丙等"),
                   (11, "丙等"), (10.99, "丁等"), (0, "丁等")]


def test_rates_count_levels_not_labels():
    E, G, Pa, F = Level.EXCELLENT, Level.GOOD, Level.PASS, Level.FAIL
    assert rates([]) == (None, None)
    assert rates([E, G, Pa, F]) == (3 / 4, 1 / 4)
    assert rates([F, F]) == (0.0, 0.0) and rates([E]) == (1.0, 1.0) and rates([G, Pa]) == (1.0, 0.0)


def test_each_inspectors_view_and_the_groups(tiny_checklist):
    """``authors`` picks whose records count; the group's verdicts count in every view."""
    r = Records()
    r.add(observation_id("b1", "i3", Step.LOOK, "甲"), "observation", "甲", item="i3", step="look", status="not")
    r.add(observation_id("b1", "i3", Step.LOOK, "乙"), "observation", "乙", item="i3", step="look", status="meets")
    r.add(observation_id("b1", "i1", Step.LOOK, "丙"), "observation", "丙", item="i1", step="look", status=None)
    r.add(score_id("b1", "i2", "乙"), "score", "乙", item="i2", score=None)
    r.add("interview/1", "interview", "乙", role="普通党员", question="?", adequate=True)
    r.add("step_note/1", "step_note", "乙", step="look", done=False)
    r.add("step_note/2", "step_note", "乙", step="check", done=True)
    group = r.result(tiny_checklist)
    assert group.asked == 1 and group.awareness == 1.0
    i3 = group.item("i3")
    assert i3.scores == {"甲": 5.0, "乙": 8.0} and i3.value == 6.5 and i3.disagreement and i3.suggested == 5.0
    assert i3.statuses == {("甲", Step.LOOK): N, ("乙", Step.LOOK): M}
    assert group.item("i1").value is None and group.item("i1").statuses == {}
    assert group.item("i2").value is None and group.scored_items == 1
    assert group.steps_done == {s: s is Step.CHECK for s in Step}
    assert [i.area.id for i in group.items] == ["a1", "a1", "a2"]
    assert [(a.area.id, a.score, a.scored_items, a.full_marks) for a in group.areas] == [("a1", 0.0, 0, 12),
                                                                                        ("a2", 6.5, 1, 8)]
    jia = r.result(tiny_checklist, authors={"甲"})
    assert jia.asked == 0 and jia.awareness is None and jia.total == 5.0
    assert not jia.item("i3").disagreement and not jia.steps_done[Step.CHECK]
    assert (jia.branch, jia.name, jia.full_marks, jia.rating.label) == ("b1", "预算处党支部", 20, "不达标")
    r.add(verdict_id("b1", "i3", "look"), "verdict", "组长", item="i3", field="look", status="meets", reason="复看")
    settled = r.result(tiny_checklist)
    i3 = settled.item("i3")  # the verdict's status replaces each inspector's in their suggestion
    assert i3.scores == {"甲": 8.0, "乙": 8.0} and i3.value == 8.0 and not i3.disagreement
    assert i3.statuses == {("甲", Step.LOOK): N, ("乙", Step.LOOK): M}  # what each of them saw stays
    assert r.result(tiny_checklist, authors={"甲"}).item("i3").value == 8.0


def test_typed_scores_beat_suggestions_and_verdicts_beat_both(tiny_checklist):
    r = Records()
    r.add(observation_id("b1", "i1", Step.CHECK, "甲"), "observation", "甲", item="i1", step="check", status="not")
    r.add(score_id("b1", "i1", "甲"), "score", "甲", item="i1", score=2.0)
    r.add(observation_id("b1", "i1", Step.CHECK, "乙"), "observation", "乙", item="i1", step="check", status="not")
    res = r.result(tiny_checklist)
    i1 = res.item("i1")
    assert i1.scores == {"甲": 2.0, "乙": 0.0} and i1.value == 1.0 and i1.disagreement and res.unsettled == [i1]
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=None, reason="待定")
    i1 = r.result(tiny_checklist).item("i1")
    assert i1.value == 1.0 and not i1.disagreement and i1.verdict is not None
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=5.5, reason="定")
    res = r.result(tiny_checklist)
    assert res.item("i1").value == 5.5 and res.total == 5.5 and res.areas[0].score == 5.5
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=1.234, reason="定")
    r.add(verdict_id("b1", "i3", "score"), "verdict", "组长", item="i3", field="score", score=2.2222, reason="定")
    res = r.result(tiny_checklist)  # a verdict's value is kept; area scores and the total are rounded
    assert res.item("i1").value == 1.234 and [a.score for a in res.areas] == [1.23, 2.22] and res.total == 3.45


def test_statuses_that_differ_are_unsettled_even_with_equal_scores(tiny_checklist):
    r = Records()
    for who, status in (("甲", "meets"), ("乙", "partly")):
        r.add(observation_id("b1", "i1", Step.LOOK, who), "observation", who, item="i1", step="look", status=status)
        r.add(score_id("b1", "i1", who), "score", who, item="i1", score=4.0)
        r.add(observation_id("b1", "i1", Step.CHECK, who), "observation", who, item="i1", step="check",
              status="meets")
    assert r.result(tiny_checklist).item("i1").disagreement
    r.add(verdict_id("b1", "i1", "check"), "verdict", "组长", item="i1", field="check", status="meets", reason="-")
    assert r.result(tiny_checklist).item("i1").disagreement  # settling check leaves look open
    r.add(verdict_id("b1", "i1", "look"), "verdict", "组长", item="i1", field="look", status="partly", reason="-")
    assert not r.result(tiny_checklist).item("i1").disagreement


def test_ranking_by_total(tiny_checklist):
    totals = [5.0, 19.0, 13.0]
    s = summarise([branch_totalling(tiny_checklist, t) for t in totals])
    assert [x.total for x in s.ranking] == [19.0, 13.0, 5.0] and [x.total for x in s.results] == totals
    assert summarise([]).pass_rate is None


def test_an_unsettled_value_is_the_mean_rounded_to_two_places(tiny_checklist):
    r = Records()
    for who, value in (("甲", 4.0), ("乙", 4.0), ("丙", 3.0)):
        r.add(score_id("b1", "i1", who), "score", who, item="i1", score=value)
    assert r.result(tiny_checklist).item("i1").value == 3.67
    r.add(score_id("b1", "i2", "甲"), "score", "甲", item="i2", score=6.0)
    assert [(a.score, a.scored_items) for a in r.result(tiny_checklist).areas] == [(9.67, 2), (0.0, 0)]


def test_scores_round_half_up_as_a_score_sheet_is_read():
    """四舍五入: Python's round() gave 86.62 for 86.625 (half to even) in the app, the PDFs and the CLI."""
    from inspect_tui.core.format import fmt_score, round2

    assert [round2(v) for v in (86.625, 10.375, 2.675, 0.005, 3.0, 85.25)] == [86.63, 10.38, 2.68, 0.01, 3.0, 85.25]
    assert fmt_score(86.625) == "86.63" and fmt_score(87.125 - 0.5) == "86.63" and fmt_score(90.0) == "90"
    assert round2(2.6749) == 2.67 and round2(0.004999) == 0.0
