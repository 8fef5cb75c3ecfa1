"""共性问题 and the folding of near-identical texts, against hand-made facts: which items are
common, which texts fold (at the similarity boundary, in either order, long or short), which texts
recur under different items, and what is left as 个性问题."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from conftest import tagged
from test_report import branch

from inspect_tui.core.common_problems import affected, analyse_problems, fold_texts
from inspect_tui.core.report_facts import ProblemFact


def folded(*texts: str) -> list[tuple[str, int]]:
    return [(c.text, c.count) for c in fold_texts((t, f"b{k}", f"支部{k}", None) for k, t in enumerate(texts))]


def test_similarity_of_exactly_four_fifths_folds():
    # 4 of 6 characters matched in place: ratio 2·4/(4+6) = 0.8, the threshold itself
    assert folded("会议记录缺失", "会议记录") == [("会议记录缺失", 2)]


def test_same_characters_in_another_order_do_not_fold():
    # every character is shared (quick ratios 1.0) but in order only 4 of 6: ratio 0.67
    assert folded("记录会议缺失", "会议记录缺失") == [("记录会议缺失", 1), ("会议记录缺失", 1)]


@pytest.mark.parametrize("texts", [("甲乙丙丁戊己", "甲子乙丙丑丁戊寅己"), ("甲子乙丙丑丁戊寅己", "甲乙丙丁戊己")])
def test_whether_two_texts_fold_does_not_depend_on_which_came_first(texts):
    # the longer one is the shorter with three characters put between: ratio 2·6/15 = 0.8, but the
    # two share only 2 of the longer one's 8 character pairs
    assert folded(*texts) == [(texts[0], 2)]


def test_a_text_joins_the_cluster_it_is_most_like():
    first, closer = "会议记录癸有议题没庚讨论意见", "会议记丙丑有议题没有讨论意见"
    text = "会议记录丑有议题没有讨论意见"  # 0.86 like the first, 0.93 like the second
    assert folded(first, closer, text) == [(closer, 2), (first, 1)]


def test_long_texts_fold_too():
    rnd = random.Random(5)
    pool = "的记录会议党员支部没有和甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
    long = "".join(rnd.choice(pool) for _ in range(220))
    changed = list(long)  # 15 characters changed: ratio above 0.9, but below 0.2 with difflib's auto-junk
    for _ in range(15):
        changed[rnd.randrange(220)] = rnd.choice(pool)
    assert [n for _t, n in folded(long, "".join(changed))] == [2]


def test_punctuation_spacing_and_case_do_not_tell_texts_apart():
    assert folded("PPT 课件，未归档！", "ppt课件未归档") == [("PPT 课件，未归档！", 2)]
    assert folded("，。！", "", "记录") == [("记录", 1)]  # nothing to fold on: skipped, not the end


def test_affected_by_a_lost_point_not_by_a_float_whisker():
    assert affected(6.0, 5.5, False) and affected(6.0, 6.0, True) and affected(6.0, None, True)
    assert not affected(6.0, 6.0, False) and not affected(6.0, 6.0 - 1e-9, False) and not affected(6.0, None, False)


def test_common_items_their_samples_and_what_stays_individual():
    cl = tagged()  # i1 三会一课 6, i2 主题党日 6 (组织生活) | i3 活动室 8 (基础保障)
    b1 = branch("甲", (5.0, 0.0, 8.0), problems=[
        ProblemFact("i1", "记录缺签名"), ProblemFact("i1", "会议记录不全"), ProblemFact("i3", "活动室被占用")])
    b2 = branch("乙", (6.0, 0.0, 7.0), problems=[
        ProblemFact("i1", "会议记录不全。"), ProblemFact("i1", "党课无记录"), ProblemFact("i2", "台账不规范")])
    b3 = branch("丙", (6.0, 6.0, 8.0), problems=[
        ProblemFact("i1", "学习笔记缺失"), ProblemFact("i3", "活动室被占用"), ProblemFact("i1", "制度未上墙"),
        ProblemFact("i3", "制度未上墙")])
    b4 = branch("丁", (6.0, 0.0, 5.0), problems=[ProblemFact(None, "台账不规范")])
    late = branch("戊", (6.0, None, None), problems=[ProblemFact("i1", "党课无记录"), ProblemFact(None, "门牌缺失")])
    found = analyse_problems(cl, [b1, b2, b3, b4], [late], Fraction(3, 4))
    # i3: all four lost points or wrote a problem; i1: 甲 乙 丙; i2: 甲 乙 丁 — 3 of 4 is the share
    assert [(c.item_id, c.item, c.area, c.count, c.evaluated, c.branches, c.rectification)
            for c in found.common] == [
        ("i3", "活动室", "基础保障", 4, 4, ["甲", "乙", "丙", "丁"], "落实场所"),
        ("i1", "三会一课", "组织生活", 3, 4, ["甲", "乙", "丙"], "补齐记录"),
        ("i2", "主题党日", "组织生活", 3, 4, ["甲", "乙", "丁"], "结合业务开展")]
    assert found.common[1].samples == [("会议记录不全", 2), ("记录缺签名", 1), ("党课无记录", 1)]
    assert found.common[0].samples == [("活动室被占用", 2), ("制度未上墙", 1)]
    assert found.share == Fraction(3, 4)
    # 台账不规范 recurs under 主题党日 and outside the checklist in two branches; 制度未上墙 (one branch)
    # and 活动室被占用 (one item) do not
    assert [(r.text, r.items, r.branches) for r in found.recurring] == [
        ("台账不规范", ["主题党日", "其他方面"], ["乙", "丁"])]
    assert [(b.name, [p.text for p in ps]) for b, ps in found.individual] == [
        ("丁", ["台账不规范"]), ("戊", ["门牌缺失"])]
    assert [c.item_id for c in analyse_problems(cl, [b1, b2, b3, b4], share=Fraction(4, 5)).common] == ["i3"]
