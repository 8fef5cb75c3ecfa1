from __future__ import annotations

from inspect_tui.core.index import RecordIndex
from inspect_tui.core.records import Status, observation_id, score_id, verdict_id
from inspect_tui.core.scoring import analyse_branch, suggested_score, summarise
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
