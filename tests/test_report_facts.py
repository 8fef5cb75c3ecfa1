"""What a report takes from a session, against hand-made records: scores, interview counts,
problems with their evidence and suggestions, highlights, unsettled points and edit conflicts;
and the digest's round trip."""

from __future__ import annotations

import pytest
from conftest import small_session, tagged
from test_report_files import with_edit_conflict

from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind, score_id
from inspect_tui.core.report_facts import (
    BranchFacts,
    HighlightFact,
    ProblemFact,
    SessionFacts,
    branch_facts,
    session_facts,
)
from inspect_tui.store.session import Session

BRANCH = "branch/1"


def rec(kind: Kind, rid: str, data: dict, by: str = "张伟", versions: int = 1) -> Rec:
    return Rec(id=rid, kind=kind, data={"branch": BRANCH, **data}, author=by, by=by, at="2026-11-20T09:00:00+08:00",
               deleted=False, versions=({},) * versions)


def test_branch_facts_from_hand_made_records():
    branch = Rec(id=BRANCH, kind=Kind.BRANCH, data={"name": " 甲\t支部 ", "unit": "财政厅\n办公室"}, author="张伟",
                 by="张伟", at="2026-11-20T09:00:00+08:00", deleted=False, versions=({},))
    records = [
        rec(Kind.SCORE, score_id(BRANCH, "i1", "张伟"), {"item": "i1", "score": 6}),
        rec(Kind.SCORE, score_id(BRANCH, "i1", "李娜"), {"item": "i1", "score": 4}, by="李娜"),
        rec(Kind.SCORE, score_id(BRANCH, "i2", "张伟"), {"item": "i2", "score": 6}),
        rec(Kind.OBSERVATION, "observation/1", {"item": "i1", "step": "look", "status": "meets"}),
        rec(Kind.OBSERVATION, "observation/2", {"item": "i1", "step": "look", "status": "not"}, by="李娜"),
        rec(Kind.PROBLEM, "problem/1", {"item": "i1", "text": "记录  不全", "evidence": "会议记录本"}),
        rec(Kind.PROBLEM, "problem/2", {"item": "i1", "text": "记录不全", "evidence": "党员\n反映"}, by="李娜"),
        rec(Kind.PROBLEM, "problem/3", {"item": None, "text": "门牌缺失"}),
        rec(Kind.SUGGESTION, "suggestion/1", {"item": "i1", "text": "逐次 补齐"}),
        rec(Kind.SUGGESTION, "suggestion/2", {"item": "i1", "text": "逐次补齐"}, by="李娜"),
        rec(Kind.SUGGESTION, "suggestion/3", {"item": "i1", "text": "逐次\t补齐"}, by="李娜"),
        rec(Kind.SUGGESTION, "suggestion/4", {"item": None, "text": "挂门牌"}),
        rec(Kind.HIGHLIGHT, "highlight/1", {"item": "i2", "text": "结合 业务"}),
        *(rec(Kind.INTERVIEW, f"interview/{n}", {"role": "普通党员", "question": "多久开会", "answer": "每月",
                                                 "adequate": ok}) for n, ok in enumerate((True, False, None))),
    ]
    conflict = rec(Kind.PROBLEM, "problem/9", {"item": "i3", "text": "活动室"}, versions=2)
    facts = branch_facts(tagged(), branch, records, group="一组", source="s.jsonl", conflicts=[conflict])
    assert facts == BranchFacts(
        id=BRANCH, name="甲 支部", unit="财政厅 办公室", total=11.0, scored=2, items=(5.0, 6.0, None),
        areas=(11.0, 0.0), interviews=3, asked=2, adequate=1,
        problems=(ProblemFact("i1", "记录 不全", "会议记录本；党员 反映", "逐次 补齐；逐次补齐"),
                  ProblemFact(None, "门牌缺失", "", "挂门牌")),
        highlights=(HighlightFact("i2", "结合 业务"),),
        unsettled=("三会一课（分数、看）", "问题·活动室「活动室」（2 个并存版本，编辑冲突未解决）"),
        group="一组", source="s.jsonl")
    assert not facts.evaluated and facts.awareness == 0.5
    bare = Rec(id=BRANCH, kind=Kind.BRANCH, data={"name": "乙"}, author="张伟", by="张伟", at="", deleted=False,
               versions=({},))
    assert branch_facts(tagged(), bare, [], group="", source="").unit == ""


def test_session_facts_and_their_digest(tmp_path):
    path = with_edit_conflict(small_session(tmp_path))
    with Session.open(path, readonly=True) as s:
        facts = session_facts(s.meta, s.checklist, s.index, "conflict.jsonl")
        visit = s.meta.visit_id
    cl = tagged()
    assert (facts.source, facts.visit_id, facts.group, facts.date, facts.inspectors, facts.checklist) == (
        "conflict.jsonl", visit, "第三观摩小组", "2026-11-20", ("张伟",), (cl.id, cl.version, cl.content_hash()))
    by_name = {b.name: b for b in facts.branches}
    assert list(by_name) == ["甲支部", "乙支部", "丙支部"]
    assert {(b.group, b.source) for b in facts.branches} == {("第三观摩小组", "conflict.jsonl")}
    assert by_name["乙支部"].unsettled == ("评分·三会一课（2 个并存版本，编辑冲突未解决）",)
    assert by_name["甲支部"].unsettled == () == by_name["丙支部"].unsettled
    assert SessionFacts.from_json(facts.to_json()) == facts
    with pytest.raises(ValueError, match="^digest format differs$"):
        SessionFacts.from_json({**facts.to_json(), "format": 0})
