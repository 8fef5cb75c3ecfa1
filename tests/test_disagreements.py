"""Who said what: the disagreements the leader sees, how items, branches and values are found from
what a user types, and the verdict that settles a field."""

from __future__ import annotations

import pytest
from test_scoring import Records

from inspect_tui.core.disagreements import (
    Opinion,
    branch_disagreements,
    find_branch,
    find_item,
    format_disagreement,
    inspector_value,
    item_number,
    list_disagreements,
    numbered_inspectors,
    parse_value,
    settle,
)
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.records import observation_id, score_id, verdict_id
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import make_version
from inspect_tui.errors import UserError


def disputed() -> Records:
    """b1: 甲 and 乙 differ on i1's score (乙 typed it, 甲's is derived: 甲's score record is empty) and on i3's look; they agree on the
    scores of i2 and i3."""
    r = Records()
    r.add(observation_id("b1", "i1", Step.CHECK, "甲"), "observation", "甲", item="i1", step="check", status="meets")
    r.add(score_id("b1", "i1", "甲"), "score", "甲", item="i1", score=None, note="未打分")
    r.add(score_id("b1", "i1", "乙"), "score", "乙", item="i1", score=3.0, note="记录缺两次", evidence="照片3")
    r.add(observation_id("b1", "i3", Step.LOOK, "甲"), "observation", "甲", item="i3", step="look", status="meets",
          note="有活动室")
    r.add(observation_id("b1", "i3", Step.LOOK, "乙"), "observation", "乙", item="i3", step="look", status="not",
          evidence="门锁着")
    for who in ("甲", "乙"):
        r.add(score_id("b1", "i2", who), "score", who, item="i2", score=6.0)
        r.add(score_id("b1", "i3", who), "score", who, item="i3", score=5.0)
    return r


def found(checklist, r: Records, **kw):
    idx = RecordIndex(r.docs)
    return branch_disagreements(checklist, idx.live("b1"), idx.of_branch("b1"), **kw)


def test_who_said_what_with_notes_and_derived_scores(tiny_checklist):
    r = disputed()
    ds = found(tiny_checklist, r)
    assert [(d.branch, d.branch_name, d.item, d.item_title, d.field, d.field_label) for d in ds] == [
        ("b1", "预算处党支部", "i1", "三会一课", "score", "分数"), ("b1", "预算处党支部", "i3", "活动室", "look", "看")]
    score, look = ds
    assert score.key == ("b1", "i1", "score") and not score.settled and score.verdict_label == ""
    yi, jia = score.opinions  # in the order of names
    assert (jia.inspector, jia.value, jia.note, jia.record_id, jia.at, jia.derived, jia.label) == (
        "甲", 6.0, "", None, "", True, "6（按观察推算）")
    typed = r.docs[3]["versions"][0]
    assert (yi.inspector, yi.value, yi.note, yi.record_id, yi.at, yi.derived, yi.label) == (
        "乙", 3.0, "记录缺两次；照片3", score_id("b1", "i1", "乙"), typed["at"], False, "3")
    assert [(o.inspector, o.value, o.label, o.note, o.record_id) for o in look.opinions] == [
        ("乙", "not", "不符合", "门锁着", observation_id("b1", "i3", Step.LOOK, "乙")),
        ("甲", "meets", "符合", "有活动室", observation_id("b1", "i3", Step.LOOK, "甲"))]
    assert look.opinion_of("甲") is look.opinions[1] and look.opinion_of("丙") is None
    assert look.opinions[1].at == r.docs[4]["versions"][0]["at"]


def test_settled_fields_are_listed_only_on_request(tiny_checklist):
    r = disputed()
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=4.5, reason="折中")
    r.add(verdict_id("b1", "i3", "look"), "verdict", "组长", item="i3", field="look", status="not", reason="现场")
    assert found(tiny_checklist, r) == []
    score, look = found(tiny_checklist, r, include_settled=True)
    assert score.settled and score.verdict_label == "4.5" and look.verdict_label == "不符合"
    idx = RecordIndex(r.docs)
    assert list_disagreements(tiny_checklist, idx) == []
    assert [d.field for d in list_disagreements(tiny_checklist, idx, include_settled=True)] == ["score", "look"]
    assert list_disagreements(tiny_checklist, idx, branch="b2", include_settled=True) == []
    two = disputed().docs + [{**d, "id": d["id"].replace("b1", "b2"), "versions": [
        {**v, "data": {**v["data"], "branch": "b2"}} for v in d["versions"]]} for d in disputed().docs[1:]]
    two.append({"id": "b2", "versions": [{**disputed().docs[0]["versions"][0], "data": {"name": "二支部", "order": 2}}]})
    assert [(d.branch, d.field) for d in list_disagreements(tiny_checklist, RecordIndex(two))] == [
        ("b1", "score"), ("b1", "look"), ("b2", "score"), ("b2", "look")]
    assert len(list_disagreements(tiny_checklist, RecordIndex(disputed().docs), branch="b1")) == 2


def test_a_score_verdict_without_a_score_shows_a_dash(tiny_checklist):
    r = disputed()
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=None, reason="待议")
    (score, _look) = found(tiny_checklist, r, include_settled=True)
    assert score.verdict_label == "—"


def test_format_numbers_inspectors_and_shows_the_verdict(tiny_checklist):
    r = disputed()
    r.add(verdict_id("b1", "i3", "look"), "verdict", "组长", item="i3", field="look", status="not", reason="现场核实")
    _score, look = found(tiny_checklist, r, include_settled=True)
    at = r.docs[-1]["versions"][0]["at"][:16].replace("T", " ")
    assert format_disagreement(look, ["丙", "乙", "甲"], 2).splitlines() == [
        "  2. 活动室（看）", "    2. 乙：不符合 — 门锁着", "    3. 甲：符合 — 有活动室",
        f"    ✔ 小组裁定：不符合（组长，{at}） 理由：现场核实"]
    r.add(verdict_id("b1", "i1", "score"), "verdict", "组长", item="i1", field="score", score=4.0, reason="")
    score, _ = found(tiny_checklist, r, include_settled=True)
    at = r.docs[-1]["versions"][0]["at"][:16].replace("T", " ")
    assert format_disagreement(score).splitlines()[-1] == f"    ✔ 小组裁定：4（组长，{at}）"  # no reason given
    score, _ = found(tiny_checklist, disputed())
    assert format_disagreement(score) == "  三会一课（分数）\n    1. 乙：3 — 记录缺两次；照片3\n    2. 甲：6（按观察推算）"
    long = Opinion("欧阳文", 1.0)
    padded = format_disagreement(type(score)(**{**score.__dict__, "opinions": (long, *score.opinions)}))
    assert padded.splitlines()[1:] == ["    1. 乙　　：3 — 记录缺两次；照片3", "    2. 欧阳文：1", "    3. 甲　　：6（按观察推算）"]


def test_numbered_inspectors_keeps_the_sessions_order(tiny_checklist):
    ds = found(tiny_checklist, disputed())
    assert numbered_inspectors(["组长", "乙", "丁"], ds, leader="组长") == ["乙", "丁", "甲"]
    assert numbered_inspectors([], ds) == ["乙", "甲"]
    assert numbered_inspectors(["组长"], ds) == ["组长", "乙", "甲"]


def test_items_are_found_by_number_id_or_title(tiny_checklist):
    assert item_number(tiny_checklist, "i1") == 1 and item_number(tiny_checklist, "i3") == 3
    assert [find_item(tiny_checklist, t).id for t in ("1", " 3 ", "i2", "活动室", "三会一课")] == ["i1", "i3", "i2", "i3", "i1"]
    for bad in ("0", "4", "i9", "活动"):
        with pytest.raises(UserError) as exc:
            find_item(tiny_checklist, bad)
        assert exc.value.message == f"清单 tiny 1 中没有项目“{bad}”"
        assert exc.value.hint == "用 disagreements 列出的项目序号，或项目名称。"


def branches(*names: str) -> RecordIndex:
    docs = [{"id": f"b{n}", "versions": [make_version(kind="branch", data={"name": name, "unit": "", "order": n},
                                                      author="组长", by="组长", replica="plan")]}
            for n, name in enumerate(names, 1)]
    return RecordIndex(docs)


def test_branches_are_found_by_id_number_name_or_spelling():
    idx = branches("省财政厅办公室党支部", "省教育厅人事处党支部", "2")
    assert [find_branch(idx, t).id for t in ("b2", " 1 ", "3", "2", "省教育厅人事处党支部", "中共省财政厅 办公室支部")] == \
        ["b2", "b1", "b3", "b2", "b2", "b1"]
    with pytest.raises(UserError) as exc:
        find_branch(idx, "4")
    assert exc.value.message == "找不到支部“4”"
    assert exc.value.hint == "本会话的支部：1. 省财政厅办公室党支部；2. 省教育厅人事处党支部；3. 2"
    twins = branches("办公室党支部", "办公室支部")
    assert find_branch(twins, "办公室支部").id == "b2"  # an exact name before a loose one
    with pytest.raises(UserError) as exc:
        find_branch(twins, "中共办公室党支部")
    assert exc.value.message == "找不到支部“中共办公室党支部”（有多个同名支部，请用编号）"
    with pytest.raises(UserError) as exc:
        find_branch(RecordIndex(), "1")
    assert exc.value.hint == "本会话还没有支部。"
    with pytest.raises(UserError):
        find_branch(idx, "0")
    r = disputed()
    with pytest.raises(UserError):  # a record id that is not a branch
        find_branch(RecordIndex(r.docs), score_id("b1", "i1", "乙"))


def test_typed_values_are_parsed_and_checked(tiny_checklist):
    assert parse_value(tiny_checklist, "i1", "score", "4.5") == {"score": 4.5}
    assert parse_value(tiny_checklist, "i1", "score", 0) == {"score": 0.0}
    assert parse_value(tiny_checklist, "i1", "score", "6") == {"score": 6.0}
    for bad, message in (("abc", "分数“abc”不是数字"), (None, "分数“None”不是数字"),
                         ("6.5", "分数 6.5 超出范围：项目 i1 满分 6"), ("-0.5", "分数 -0.5 超出范围：项目 i1 满分 6")):
        with pytest.raises(UserError) as exc:
            parse_value(tiny_checklist, "i1", "score", bad)
        assert exc.value.message == message
    words = {"meets": "meets", " NOT ": "not", "Partly": "partly", "符合": "meets", " 不适用 ": "na", "部分符合": "partly"}
    for word, status in words.items():
        assert parse_value(tiny_checklist, "i3", "look", word) == {"status": status}
    with pytest.raises(UserError) as exc:
        parse_value(tiny_checklist, "i3", "check", "好")
    assert exc.value.message == "“好”不是有效的判断"
    assert exc.value.hint == "可用：符合、部分符合、不符合、不适用（meets/partly/not/na）"


def test_inspector_value_is_what_they_recorded(tiny_checklist):
    idx = RecordIndex(disputed().docs)
    assert inspector_value(tiny_checklist, idx, "b1", "i1", "score", "乙") == 3.0
    assert inspector_value(tiny_checklist, idx, "b1", "i1", "score", "甲") == 6.0  # derived
    assert inspector_value(tiny_checklist, idx, "b1", "i3", "look", "乙") == "not"
    with pytest.raises(UserError) as exc:
        inspector_value(tiny_checklist, idx, "b1", "i3", "check", "乙")
    assert (exc.value.message, exc.value.hint) == ("乙 没有记录该项的查", "有记录的观摩员：（无人记录）")
    with pytest.raises(UserError) as exc:
        inspector_value(tiny_checklist, idx, "b1", "i3", "look", "丙")
    assert (exc.value.message, exc.value.hint) == ("丙 没有记录该项的看", "有记录的观摩员：乙、甲")


class FakeSession:
    """What ``settle`` uses of a session: its checklist, index and ``save`` (recorded here)."""

    def __init__(self, checklist, docs):
        self.checklist, self.index, self.saved = checklist, RecordIndex(docs), []

    def save(self, kind, data, record_id):
        self.saved.append((kind.value, data, record_id))
        return record_id


def test_settle_records_the_verdict_it_is_given(tiny_checklist):
    s = FakeSession(tiny_checklist, disputed().docs)
    settle(s, "b1", "1", "score", chosen_from="乙")
    settle(s, "b1", "活动室", "look", value="不符合", reason=" 现场核实 ")
    settle(s, "b1", "i3", "look", chosen_from="甲", reason="有照片")
    settle(s, "b1", "i1", "score", value="4", reason="折中")
    assert s.saved == [
        ("verdict", {"branch": "b1", "item": "i1", "field": "score", "reason": "采纳乙的意见", "chosen_from": "乙",
                     "score": 3.0}, verdict_id("b1", "i1", "score")),
        ("verdict", {"branch": "b1", "item": "i3", "field": "look", "reason": "现场核实", "chosen_from": None,
                     "status": "not"}, verdict_id("b1", "i3", "look")),
        ("verdict", {"branch": "b1", "item": "i3", "field": "look", "reason": "有照片", "chosen_from": "甲",
                     "status": "meets"}, verdict_id("b1", "i3", "look")),
        ("verdict", {"branch": "b1", "item": "i1", "field": "score", "reason": "折中", "chosen_from": None,
                     "score": 4.0}, verdict_id("b1", "i1", "score"))]


@pytest.mark.parametrize(("args", "message"), [
    (("b1", "i1", "note", {"value": "1", "reason": "x"}), "未知字段“note”"),
    (("b1", "i1", "score", {"value": "1", "reason": "x", "chosen_from": None}), None),
    (("b9", "i1", "score", {"value": "1", "reason": "x"}), "会话中没有支部“b9”"),
    ((score_id("b1", "i1", "乙"), "i1", "score", {"value": "1", "reason": "x"}),
     f"会话中没有支部“{score_id('b1', 'i1', '乙')}”"),
    (("b1", "i1", "score", {}), "请给出裁定值（附理由），或指定采纳哪位观摩员的值"),
    (("b1", "i1", "score", {"value": "1", "chosen_from": "乙"}), "请给出裁定值（附理由），或指定采纳哪位观摩员的值"),
    (("b1", "i1", "score", {"value": "1", "reason": "  "}), "直接给出裁定值时须写明理由（--reason）"),
    (("b1", "i1", "score", {"value": "1"}), "直接给出裁定值时须写明理由（--reason）"),
])
def test_settle_refuses_what_it_cannot_record(tiny_checklist, args, message):
    s = FakeSession(tiny_checklist, disputed().docs)
    *where, kw = args
    if message is None:
        settle(s, *where, **kw)
        assert len(s.saved) == 1
        return
    with pytest.raises(UserError) as exc:
        settle(s, *where, **kw)
    assert exc.value.message == message and s.saved == []
    if message.startswith("未知字段"):
        assert exc.value.hint == "可用：score（分数）、look（看）、check（查）"
