"""Report numbers against hand-computed fixtures: ranks with ties, rates with 未评 branches, pooled
awareness, the common-problem threshold at its boundary, near-duplicate folding, 四强 and classes."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest
from conftest import TINY, tagged

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.common_problems import fold_texts, is_common
from inspect_tui.core.report import build_group_report, parse_share, rank
from inspect_tui.core.report_facts import BranchFacts, HighlightFact, ProblemFact, SessionFacts
from inspect_tui.core.rollup import build_rollup
from inspect_tui.errors import UserError


def branch(name: str, items: tuple, *, asked: int = 0, adequate: int = 0, problems=(), highlights=(),
           unsettled=()) -> BranchFacts:
    scored = sum(v is not None for v in items)
    areas = (round((items[0] or 0) + (items[1] or 0), 2), float(items[2] or 0))
    return BranchFacts(id=f"branch/{name}", name=name, unit="单位", total=round(sum(v or 0 for v in items), 2),
                       scored=scored, items=items, areas=areas, interviews=asked, asked=asked, adequate=adequate,
                       problems=tuple(problems), highlights=tuple(highlights), unsettled=tuple(unsettled), group="一组")


def session(*branches: BranchFacts, cl: Checklist, visit: str = "v1", group: str = "一组") -> SessionFacts:
    return SessionFacts(source=f"{visit}.jsonl", visit_id=visit, group=group, date="2026-11-20",
                        inspectors=("张伟",), checklist=(cl.id, cl.version, cl.content_hash()), branches=branches)


@pytest.fixture
def fixture_report():
    cl = tagged()
    a = branch("甲", (6.0, 6.0, 8.0), asked=10, adequate=9, problems=[ProblemFact("i2", "主题党日流于形式")],
               highlights=[HighlightFact("i1", "三会一课记录规范"), HighlightFact(None, "积分台账清楚")])
    b = branch("乙", (6.0, 6.0, 6.0), highlights=[HighlightFact("i1", "三会一课记录规范。")])
    c = branch("丙", (6.0, 6.0, 6.0), asked=3, adequate=3)
    d = branch("丁", (3.0, 0.0, 8.0), asked=2, adequate=0, problems=[ProblemFact("i1", "会议记录缺少表决结果")])
    e = branch("戊", (6.0, None, None), asked=5, adequate=1, problems=[ProblemFact("i1", "党课记录缺失")])
    return cl, build_group_report(cl, [session(a, b, c, d, e, cl=cl)], share=Fraction(1, 2))


def test_ranks_share_ties_and_skip(fixture_report):
    _cl, r = fixture_report
    assert [(x.facts.name, x.rank) for x in r.ranked] == [("甲", 1), ("丙", 2), ("乙", 2), ("丁", 4)]


def test_unevaluated_listed_apart_and_not_in_rates(fixture_report):
    _cl, r = fixture_report
    assert [b.name for b in r.unevaluated] == ["戊"]
    assert r.pass_rate == 3 / 4  # 丁 11/20 = 55% fails; 戊 not counted
    assert r.excellence_rate == 3 / 4  # 18/20 = 90% is excellent (boundary inclusive)
    assert [(c.label, c.count) for c in r.rating_counts] == [("优秀", 3), ("达标", 0), ("不达标", 1)]
    assert r.average == round((20 + 18 + 18 + 11) / 4, 2)


def test_pooled_awareness_counts_every_interview(fixture_report):
    _cl, r = fixture_report
    assert (r.adequate, r.asked) == (9 + 3 + 0 + 1, 10 + 3 + 2 + 5)
    assert r.awareness == pytest.approx(13 / 20)


def test_common_problem_threshold_at_the_boundary(fixture_report):
    cl, r = fixture_report
    # evaluated: 4. i1: only 丁 lost points (1/4). i2: 丁 lost points, 甲 recorded a problem (2/4).
    # i3: 乙 and 丙 lost points (2/4). At 1/2 both i2 and i3 are common; i1 is not.
    assert sorted(c.item_id for c in r.problems.common) == ["i2", "i3"]
    i2 = next(c for c in r.problems.common if c.item_id == "i2")
    assert (i2.count, i2.evaluated, i2.share) == (2, 4, 0.5)
    assert sorted(i2.branches) == ["丁", "甲"]
    above = build_group_report(cl, [session(*r.branches, cl=cl)], share=Fraction(51, 100))
    assert above.problems.common == []
    # 个性问题: 丁's i1 problem and 戊's (未评) problem; 甲's i2 problem is common
    assert [(b.name, [p.text for p in ps]) for b, ps in r.problems.individual] == [
        ("丁", ["会议记录缺少表决结果"]), ("戊", ["党课记录缺失"])]


@pytest.mark.parametrize(("count", "n", "share", "expected"), [
    (3, 9, Fraction(1, 3), True), (2, 9, Fraction(1, 3), False), (1, 3, Fraction(1, 3), True),
    (0, 3, Fraction(1, 3), False), (4, 10, Fraction(2, 5), True), (3, 10, Fraction(2, 5), False),
    (1, 0, Fraction(1, 3), False)])
def test_is_common_exact_fractions(count, n, share, expected):
    assert is_common(count, n, share) is expected


def test_share_parsing():
    assert parse_share("1/3") == Fraction(1, 3)
    assert parse_share("40%") == Fraction(2, 5)
    assert parse_share("0.5") == Fraction(1, 2)
    for bad in ("0", "1.5", "abc", "1/0", "-1/3"):
        with pytest.raises(UserError):
            parse_share(bad)


def test_tags_and_classes(fixture_report):
    _cl, r = fixture_report
    by_name = {x.facts.name: x for x in r.ranked}
    assert by_name["丁"].tags == (3.0, 8.0)
    assert by_name["乙"].tags == (6.0, 12.0)
    assert sum(by_name["甲"].tags) == by_name["甲"].facts.total
    assert [(c.label, [x.facts.name for x in rs]) for c, rs in r.class_counts] == [
        ("先进", ["甲", "丙", "乙"]), ("中间", []), ("后进", ["丁"])]


def test_highlights_grouped_by_area_with_near_duplicates_folded(fixture_report):
    _cl, r = fixture_report
    areas = dict(r.highlights)
    assert list(areas) == ["组织生活", "其他方面"]
    [folded] = areas["组织生活"]
    assert folded.text == "三会一课记录规范" and list(folded.branches.values()) == ["甲", "乙"]


def test_near_duplicate_texts_fold_and_different_ones_do_not():
    clusters = fold_texts([
        ("会议记录只有议题没有讨论意见和表决结果", "b1", "甲", "i1"),
        ("会议记录只有议题，没有讨论意见和表决结果。", "b2", "乙", "i1"),
        ("会议记录只有议题没有讨论意见及表决结果", "b3", "丙", "i2"),
        ("党费收缴不及时", "b1", "甲", "i3"),
        ("党费收缴台账缺少签字", "b2", "乙", "i3")])
    assert [(c.text, c.count) for c in clusters] == [
        ("会议记录只有议题没有讨论意见和表决结果", 3), ("党费收缴不及时", 1), ("党费收缴台账缺少签字", 1)]
    assert list(clusters[0].items) == ["i1", "i2"]


def test_recurring_texts_under_different_items():
    cl = tagged()
    a = branch("甲", (6.0, 6.0, 8.0), problems=[ProblemFact("i1", "记录缺少签名")])
    b = branch("乙", (6.0, 6.0, 8.0), problems=[ProblemFact("i3", "记录缺少签名。")])
    r = build_group_report(cl, [session(a, b, cl=cl)])
    [rec] = r.problems.recurring
    assert rec.branches == ["甲", "乙"] and rec.items == ["三会一课", "活动室"]


def test_no_evaluated_branch_is_a_clear_error():
    cl = tagged()
    with pytest.raises(UserError, match="没有已评完的支部"):
        build_group_report(cl, [session(branch("戊", (6.0, None, None)), cl=cl)])


def test_mixed_checklists_refused_with_files_named():
    cl, other = tagged(), Checklist.model_validate(TINY)
    with pytest.raises(UserError) as exc:
        build_group_report(cl, [session(branch("甲", (6.0, 6.0, 8.0)), cl=cl, visit="day1"),
                                session(branch("乙", (6.0, 6.0, 8.0)), cl=other, visit="day2")])
    assert "day1.jsonl" in exc.value.message and "day2.jsonl" in exc.value.message


def test_same_visit_twice_refused():
    cl = tagged()
    s = session(branch("甲", (6.0, 6.0, 8.0)), cl=cl)
    with pytest.raises(UserError, match="不止一份"):
        build_group_report(cl, [s, s])


def test_rollup_groups_rates_and_splits_by_checklist_version():
    cl, other = tagged(), Checklist.model_validate(TINY)
    g1 = session(branch("甲", (6.0, 6.0, 8.0), asked=4, adequate=3), branch("乙", (3.0, 0.0, 8.0)), cl=cl,
                 visit="g1", group="一组")
    g2 = session(branch("丙", (6.0, 6.0, 8.0), asked=6, adequate=6), branch("丁", (6.0, None, None)), cl=cl,
                 visit="g2", group="二组")
    g3 = session(branch("戊", (6.0, 6.0, 6.0)), cl=other, visit="g3", group="三组")
    roll = build_rollup([g1, g2, g3], {cl.content_hash(): cl, other.content_hash(): other})
    assert roll.split and len(roll.parts) == 2
    part = roll.parts[0]
    assert [(x.facts.name, x.rank) for x in part.ranked] == [("丙", 1), ("甲", 1), ("乙", 3)]
    assert part.unevaluated == 1 and part.pass_rate == 2 / 3
    assert (part.adequate, part.asked) == (9, 10)
    lines = {g.group: g for g in part.groups}
    assert (lines["一组"].average, lines["一组"].pass_rate, lines["一组"].excellence_rate) == (15.5, 0.5, 0.5)
    assert (lines["二组"].evaluated, lines["二组"].branches, lines["二组"].pass_rate) == (1, 2, 1.0)
    assert [x.facts.name for x in roll.parts[1].ranked] == ["戊"]


def test_rank_of_nothing_is_empty():
    assert rank([]) == []


def test_checklist_tags_and_classes_are_validated():
    from pydantic import ValidationError

    data = copy.deepcopy(TINY)
    data["areas"][0]["items"][0]["tags"] = ["no-such-tag"]
    with pytest.raises(ValidationError, match="no-such-tag"):
        Checklist.model_validate(data)
    data = copy.deepcopy(TINY)
    data["classes"] = [{"label": "后进", "min": 0}, {"label": "先进", "min": 90}]
    with pytest.raises(ValidationError, match="classes must be listed"):
        Checklist.model_validate(data)


def test_checklists_without_tags_keep_their_hash():
    """Sessions record their checklist's hash; adding the optional fields to the schema must not
    change the hash of a checklist that does not use them (its sessions would no longer open)."""
    plain = Checklist.model_validate(TINY)
    explicit = Checklist.model_validate({**copy.deepcopy(TINY), "tags": [], "classes": []})
    assert plain.content_hash() == explicit.content_hash() == "b9bb451204a7de1e"  # as before the fields existed
    assert tagged().content_hash() != plain.content_hash()
