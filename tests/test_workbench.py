"""The branch workbench without a screen: the visit's rules as the app and the CLI use them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from inspect_tui.core.labels import FEEDBACK_KINDS, field_key, status_label
from inspect_tui.core.records import Kind, new_id, observation_id
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import make_version
from inspect_tui.core.workbench import BranchWorkbench, parse_score
from inspect_tui.errors import UserError
from inspect_tui.store.session import Session, new_session


@pytest.fixture
def bench(tmp_path: Path, tiny_checklist) -> BranchWorkbench:
    s = new_session(tmp_path, group="第一组", day=date(2026, 11, 20), inspector="甲", checklist=tiny_checklist,
                    branches=["一支部"], inspectors=["乙"])
    yield BranchWorkbench(s, s.branches()[0].id)
    s.close()


def test_labels_have_one_word_for_no_status():
    assert status_label(None) == status_label("") == status_label("bogus") == "未记录"
    assert status_label("partly") == "部分符合"
    assert field_key("分数") == "score" and field_key(" 看 ") == "look" and field_key("score") == "score"


def test_status_set_cleared_and_unchanged_writes_nothing(bench):
    assert bench.set_status("i1", Step.CHECK, "not") is not None
    assert bench.set_status("i1", Step.CHECK, "not") is None
    assert bench.status("i1", Step.CHECK) == "not"
    bench.clear_status("i1", Step.CHECK)
    assert bench.status("i1", Step.CHECK) is None
    assert bench.observation("i1", Step.CHECK) is not None  # a note and evidence stay


def test_promote_and_orphaned_problem(bench):
    bench.set_status("i1", Step.CHECK, "not")
    assert bench.can_promote_item("i1")
    [problem] = bench.promote_item("i1")
    assert problem.data["source"] == observation_id(bench.branch, "i1", Step.CHECK, "甲")
    assert not bench.can_promote("i1", Step.CHECK)
    assert bench.orphaned_problem("i1", Step.CHECK) is None
    bench.set_status("i1", Step.CHECK, "meets")
    assert bench.orphaned_problem("i1", Step.CHECK).id == problem.id


def test_attachment_rule(bench, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (4, 4), "red").save("a.png")
    Path("b.jpg").write_bytes(b"not a photo")
    with pytest.raises(UserError, match="照片未保存"):
        bench.attach("i1", Step.LOOK, "a.png; b.jpg")
    with pytest.raises(UserError):
        bench.attach("i1", Step.LOOK, "a.png；missing.jpg")
    assert bench.observation("i1", Step.LOOK) is None  # nothing saved unless every file is good
    rec = bench.attach("i1", Step.LOOK, " a.png ；")
    [ref] = rec.data["files"]
    assert "/" not in ref and ref != "a.png"  # a reference into the session's evidence store


def test_interview_question_id_kept_only_for_the_checklist_question(bench):
    q = next(iter(bench.questions().values()))
    assert bench.save_interview({"role": "", "question": q.text, "question_id": q.id}) is None
    rec = bench.save_interview({"role": " 普通党员 ", "question": q.text, "question_id": q.id, "adequate": True})
    assert rec.data["question_id"] == q.id and rec.data["role"] == "普通党员"
    rec = bench.save_interview({**rec.data, "question": "自己问的问题"}, rec.id)
    assert rec.data["question_id"] is None
    assert [r.id for r in bench.interviews()] == [rec.id]


def test_scores_parse_and_refuse(bench):
    assert parse_score(" ") is None and parse_score("4.5") == 4.5
    with pytest.raises(UserError, match="不是数字"):
        bench.set_score("i1", "四")
    with pytest.raises(UserError, match="满分"):
        bench.set_score("i1", "7")
    bench.set_score("i1", "5")
    assert bench.my_score("i1") == 5
    assert bench.preview("i1", "6").total > bench.result().total
    assert bench.preview("i1", "x") is None


def test_whose_records_one_rule_for_inspector_and_leader(bench):
    s = bench.session
    v = make_version(kind=Kind.HIGHLIGHT, data={"branch": bench.branch, "item": None, "text": "乙的亮点"},
                     author="乙", by="乙", replica="r-乙")
    doc = {"id": new_id(Kind.HIGHLIGHT), "versions": [v]}
    s.file.put(doc)
    s.index.apply(doc)  # as if merged in from 乙's copy
    bench.save_feedback(Kind.PROBLEM, {"text": "甲的问题"})
    assert [r.data["text"] for r in bench.feedback()] == ["甲的问题"]
    leader = BranchWorkbench(bench.session, bench.branch, mine_only=False)
    assert [r.data["text"] for r in leader.feedback()] == ["乙的亮点", "甲的问题"]
    assert [r.kind for r in leader.feedback()] == sorted((r.kind for r in leader.feedback()), key=FEEDBACK_KINDS.index)


def test_timer_saved_only_when_changed(bench):
    assert bench.save_timer(0) is None
    assert bench.save_timer(42) is not None
    assert bench.report_seconds() == 42


def test_undo_takes_back_each_change_durably(bench, tmp_path):
    bench.set_status("i1", Step.LOOK, "not")
    bench.set_status("i1", Step.LOOK, "meets")
    rec = bench.save_feedback(Kind.PROBLEM, {"text": "记录不全"})
    bench.delete(rec.id)
    assert bench.undo().id == rec.id and bench.session.index.live(rec.id) is not None  # delete undone
    bench.undo()
    assert bench.session.index.live(rec.id) is None  # the new record is gone again
    bench.undo()
    assert bench.status("i1", Step.LOOK) == "not"
    bench.undo()
    assert bench.observation("i1", Step.LOOK) is None
    assert bench.undo() is None
    path = bench.session.path
    bench.session.close()
    with Session.open(path, readonly=True) as s:
        assert BranchWorkbench(s, bench.branch, "甲").observation("i1", Step.LOOK) is None


def test_two_branches_never_share_a_name(bench):
    """Renaming used to allow a second 乙支部 (the export then wrote …乙支部-2.pdf and a merge could
    not tell them apart by name)."""
    s = bench.session
    other = s.add_branch("乙支部")
    taken = s.index.live(bench.branch).data["name"]
    with pytest.raises(UserError, match=f"已有名为“{taken}”的支部"):
        s.add_branch(f" {taken} ")
    with pytest.raises(UserError, match="已有名为“乙支部”的支部"):
        bench.rename("乙支部")
    bench.rename(taken, "某某局")  # its own name again: allowed
    assert [b.data["name"] for b in s.branches()].count("乙支部") == 1 and other.data["name"] == "乙支部"
