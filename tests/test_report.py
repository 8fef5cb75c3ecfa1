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
    (1, 0, Fraction(1, 3), False), (1, 1, Fraction(1, 3), True)])
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
    with pytest.raises(UserError) as exc:
        build_group_report(cl, [s, s, session(branch("乙", (6.0, 6.0, 8.0)), cl=cl, visit="v2")])
    assert (exc.value.message, exc.value.hint) == ("同一次观摩的会话给了不止一份（支部会被重复计算）：v1.jsonl、v1.jsonl",
                                                   "每次观摩只给出组长合并后的一份会话（inspect-tui merge）。")
    with pytest.raises(UserError) as exc:
        build_rollup([s, s, session(branch("乙", (6.0, 6.0, 8.0)), cl=cl, visit="v2"),
                      session(branch("丙", (6.0, 6.0, 8.0)), cl=cl, visit="v2")], {cl.content_hash(): cl})
    assert exc.value.message == "同一次观摩的会话给了不止一份（支部会被重复计算）：v1.jsonl、v1.jsonl；v2.jsonl、v2.jsonl"


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
    with pytest.raises(ValidationError, match="档次（classes）应按 min 从高到低排列"):
        Checklist.model_validate(data)


def test_checklists_without_tags_keep_their_hash():
    """Sessions record their checklist's hash; adding the optional fields to the schema must not
    change the hash of a checklist that does not use them (its sessions would no longer open)."""
    plain = Checklist.model_validate(TINY)
    explicit = Checklist.model_validate({**copy.deepcopy(TINY), "tags": [], "classes": []})
    assert plain.content_hash() == explicit.content_hash() == "b9bb451204a7de1e"  # as before the fields existed
    assert tagged().content_hash() != plain.content_hash()


def test_summary_line_states_the_report_figures_in_words():
    from inspect_tui.core.report import summary_line

    cl = tagged()
    a = branch("甲", (6.0, 6.0, 8.0), asked=10, adequate=9)
    c = branch("丙", (6.0, 6.0, 6.0), asked=3, adequate=3, unsettled=["三会一课（分数）", "活动室（看）"])
    d = branch("丁", (3.0, 0.0, 8.0), asked=2, adequate=0)
    e = branch("戊", (6.0, None, None), asked=5, adequate=1)
    r = build_group_report(cl, [session(a, branch("乙", (6.0, 6.0, 6.0)), c, d, e, cl=cl)])
    assert summary_line(r, top=2) == (
        "已评完 4 个支部，未评 1 个不计入：平均 16.75 分，达标率 75.0%，优秀率 75.0%，知晓率 65.0%（13/20）；"
        "排名：1.甲 > 2.丙 …（排名暂定：2 处未裁定）")
    assert summary_line(r, top=4).endswith("排名：1.甲 > 2.丙 > 2.乙 > 4.丁（排名暂定：2 处未裁定）")
    six = [branch(n, (6.0, 6.0, float(k))) for k, n in enumerate("子丑寅卯辰巳")]  # 12 (60%) to 17: all pass
    assert summary_line(build_group_report(cl, [session(*six, cl=cl)])) == (
        "已评完 6 个支部：平均 14.5 分，达标率 100.0%，优秀率 0.0%，知晓率 未访谈；"
        "排名：1.巳 > 2.辰 > 3.卯 > 4.寅 > 5.丑 …")


def test_awareness_text_and_area_shares():
    from inspect_tui.core.report import area_shares, awareness_text

    assert awareness_text(13, 20) == "65.0%（13/20）" and awareness_text(0, 3) == "0.0%（0/3）"
    assert awareness_text(0, 0) == "未访谈"
    assert area_shares(tagged(), branch("丁", (3.0, 0.0, 6.0))) == [0.25, 0.75]


def test_share_at_its_limits_and_its_messages():
    assert parse_share(" 1 ") == 1 and parse_share("100%") == 1 and parse_share("1/100") == Fraction(1, 100)
    with pytest.raises(UserError) as exc:
        parse_share("三分之一")
    assert (exc.value.message, exc.value.hint) == ("“三分之一”不是有效的比例", "例如 1/3、0.4 或 40%")
    with pytest.raises(UserError) as exc:
        parse_share("101%")
    assert exc.value.message == "比例 101% 应大于 0 且不超过 1"


def test_rollup_group_lines_count_sessions_and_keep_groups_without_evaluated_branches():
    cl = tagged()
    day1 = session(branch("甲", (6.0, 6.0, 8.0), asked=4, adequate=3), cl=cl, visit="d1", group="一组")
    day2 = session(branch("乙", (6.0, 6.0, 5.0), asked=2, adequate=1, problems=[ProblemFact("i1", "记录缺签名")]),
                   cl=cl, visit="d2", group="一组")
    pending = session(branch("丙", (6.0, None, None), asked=3, adequate=2), cl=cl, visit="g2", group="二组")
    roll = build_rollup([day1, day2, pending], {cl.content_hash(): cl}, share=Fraction(3, 5))
    [part] = roll.parts
    assert not roll.split and part.checklist is cl and part.sources == ["d1.jsonl", "d2.jsonl", "g2.jsonl"]
    one, two = part.groups
    assert vars(one) == {"group": "一组", "sessions": 2, "branches": 2, "evaluated": 2, "average": 18.5,
                         "pass_rate": 1.0, "excellence_rate": 0.5, "asked": 6, "adequate": 4}
    assert vars(two) == {"group": "二组", "sessions": 1, "branches": 1, "evaluated": 0, "average": None,
                         "pass_rate": None, "excellence_rate": None, "asked": 3, "adequate": 2}
    assert (part.excellence_rate, part.unevaluated, part.awareness, two.awareness) == (0.5, 1, 6 / 9, 2 / 3)
    assert [(x.facts.name, x.klass.label, x.tags) for x in part.ranked] == [("甲", "先进", (6.0, 14.0)),
                                                                           ("乙", "中间", (6.0, 11.0))]
    # 乙 alone is affected (i1 problem, i3 points): 1 of 2 is below 3/5, though above the default 1/3
    assert part.problems.common == [] and part.problems.share == Fraction(3, 5)
    assert part.label == "小清单（tiny 1）"


def test_rollup_without_any_evaluated_branch_says_so():
    cl = tagged()
    with pytest.raises(UserError) as exc:
        build_rollup([session(branch("丙", (6.0, None, None)), cl=cl)], {cl.content_hash(): cl})
    assert exc.value.message == "这些会话中没有已评完的支部，无法汇总"


def test_averages_keep_two_decimals():
    cl = tagged()
    roll = build_rollup([session(branch("甲", (6.0, 6.0, 5.0)), branch("乙", (6.0, 6.0, 4.0)),
                                 branch("丙", (6.0, 6.0, 4.0)), cl=cl)], {cl.content_hash(): cl})
    assert roll.parts[0].groups[0].average == 16.33


def test_conflict_label_names_kind_item_and_text():
    from inspect_tui.core.index import Rec
    from inspect_tui.core.records import Kind
    from inspect_tui.core.report_facts import conflict_label

    def rec(kind: Kind, data: dict, versions: int = 2) -> Rec:
        return Rec(id="x/1", kind=kind, data=data, author="张伟", by="张伟", at="2026-11-20T09:00:00+08:00",
                   deleted=False, versions=({},) * versions)

    cl = tagged()
    long = "记录\n不全，" + "缺" * 40
    assert conflict_label(cl, rec(Kind.PROBLEM, {"item": "i1", "text": long})) == (
        "问题·三会一课「" + ("记录 不全，" + "缺" * 40)[:30] + "」（2 个并存版本，编辑冲突未解决）")
    assert conflict_label(cl, rec(Kind.INTERVIEW, {"item": "gone", "question": "多久开一次会", "text": ""}, 3)) == (
        "访谈「多久开一次会」（3 个并存版本，编辑冲突未解决）")
    assert conflict_label(cl, rec(Kind.BRANCH, {"name": "甲支部"})) == "支部「甲支部」（2 个并存版本，编辑冲突未解决）"
    assert conflict_label(cl, rec(Kind.SCORE, {"item": "i3", "value": 5})) == "评分·活动室（2 个并存版本，编辑冲突未解决）"


def test_highlights_of_items_the_checklist_lacks_go_under_other():
    cl = tagged()
    a = branch("甲", (6.0, 6.0, 8.0), highlights=[HighlightFact("gone", "学习强国积分高"), HighlightFact("i3", "活动室整洁")])
    r = build_group_report(cl, [session(a, cl=cl)])
    assert [(area, [c.text for c in cs]) for area, cs in r.highlights] == [
        ("基础保障", ["活动室整洁"]), ("其他方面", ["学习强国积分高"])]


def test_ranks_compare_totals_to_two_decimals():
    from dataclasses import replace

    tie = [replace(branch("乙", (6.0, 6.0, 6.0)), total=18.001), replace(branch("甲", (6.0, 6.0, 6.0)), total=18.004)]
    assert [(b.name, r) for r, b in rank(tie)] == [("乙", 1), ("甲", 1)]  # both 18.00: a tie, listed by name
    close = [branch("乙", (6.0, 6.0, 6.0)), branch("甲", (6.0, 6.0, 6.25))]  # 18.25 over 18: not a tie
    assert [(b.name, r) for r, b in rank(close)] == [("甲", 1), ("乙", 2)]
    below = [branch("甲", (6.0, 6.0, 6.0)), branch("乙", (6.0, 6.0, 5.75))]  # 17.75 under 18: not a tie
    assert [(b.name, r) for r, b in rank(below)] == [("甲", 1), ("乙", 2)]


def test_tag_subtotals_keep_two_decimals_and_refuse_facts_of_another_checklist():
    from inspect_tui.core.report import tag_subtotals

    cl = tagged()
    assert tag_subtotals(cl, branch("甲", (1.111, 2.222, 8.0))) == (1.11, 10.22)
    short = BranchFacts(id="b", name="甲", unit="", total=12.0, scored=2, items=(6.0, 6.0), areas=(12.0,),
                        interviews=0, asked=0, adequate=0)
    with pytest.raises(ValueError):
        tag_subtotals(cl, short)


def test_group_report_keeps_what_it_was_given():
    cl = tagged()
    day1 = SessionFacts(source="d1.jsonl", visit_id="v1", group="一组", date="2026-11-21", inspectors=("张伟", "李娜"),
                        checklist=(cl.id, cl.version, cl.content_hash()),
                        branches=(branch("甲", (6.0, 6.0, 8.0), asked=2, adequate=1),
                                  branch("辛", (6.0, None, None), unsettled=["三会一课（分数）"])))
    day2 = SessionFacts(source="d2.jsonl", visit_id="v2", group="一组", date="2026-11-20", inspectors=("李娜", "王芳"),
                        checklist=day1.checklist, branches=(branch("乙", (6.0, None, 8.0), asked=3, adequate=3),))
    r = build_group_report(cl, [day1, day2])
    assert (r.checklist, r.groups, r.dates, r.inspectors, r.sources) == (
        cl, ["一组"], ["2026-11-20", "2026-11-21"], ["张伟", "李娜", "王芳"], ["d1.jsonl", "d2.jsonl"])
    assert [b.name for b in r.unevaluated] == ["乙", "辛"]  # by name, not by file
    assert (r.interviews, r.asked, r.adequate, r.unsettled, r.next_steps) == (5, 5, 4, [("辛", "三会一课（分数）")], "")
    assert build_group_report(cl, [day1], next_steps="  加强督导\n").next_steps == "加强督导"


def test_group_report_refusals_say_what_to_do():
    cl, other = tagged(), Checklist.model_validate(TINY)
    with pytest.raises(UserError) as exc:
        build_group_report(cl, [])
    assert exc.value.message == "没有给出会话文件"
    with pytest.raises(UserError) as exc:
        build_group_report(cl, [session(branch("戊", (6.0, None, None)), cl=cl, visit="a"),
                                session(branch("己", (None, None, None)), cl=cl, visit="b")])
    assert (exc.value.message, exc.value.hint) == ("没有已评完的支部，无法排名和汇总：a.jsonl、b.jsonl",
                                                   "每个支部的全部检查项都有得分后才计入汇总；请先完成“评”环节。")
    with pytest.raises(UserError) as exc:
        build_group_report(cl, [session(branch("甲", (6.0, 6.0, 8.0)), cl=cl, visit="d1"),
                                session(branch("乙", (6.0, 6.0, 8.0)), cl=other, visit="d2"),
                                session(branch("丙", (6.0, 6.0, 8.0)), cl=cl, visit="d3")])
    assert exc.value.message == (
        f"这些会话使用了不同的检查清单或版本，不能合成一份报告：tiny 1（{cl.content_hash()}）：d1.jsonl、d3.jsonl；"
        f"tiny 1（{other.content_hash()}）：d2.jsonl")
    assert exc.value.hint == "同一份汇总报告只能包含同一检查清单版本的会话；多个小组、多个版本请用 report rollup。"
    with pytest.raises(UserError) as exc:
        build_rollup([session(branch("丙", (6.0, None, None)), cl=cl)], {cl.content_hash(): cl})
    assert exc.value.hint == "每个支部的全部检查项都有得分后才计入汇总。"


def test_area_shares_refuse_facts_of_another_checklist():
    from dataclasses import replace

    from inspect_tui.core.report import area_shares

    with pytest.raises(ValueError):
        area_shares(tagged(), replace(branch("甲", (6.0, 6.0, 8.0)), areas=(12.0,)))
