"""The session commands, driven the way a user drives them, and the Session API under them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from inspect_tui.cli import main
from inspect_tui.cli.demo_cmd import write_demo
from inspect_tui.core.records import Kind, observation_id
from inspect_tui.core.session_schema import SCHEMA_PATH, schema_text
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import make_version
from inspect_tui.errors import UserError
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import read_session, write_session


def test_published_schema_matches_the_models():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_new_show_check_and_refuse_overwrite(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    args = ["session", "new", "--group", "第三观摩小组", "--inspector", "张伟", "--date", "2026-11-20",
            "--branch", "预算处党支部", "--branch", "人事处党支部", "-o", str(out)]
    assert main(args) == 0
    assert "2 个支部" in capsys.readouterr().out
    assert main(["session", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "第三观摩小组" in shown and "预算处党支部" in shown and "人事处党支部" in shown
    assert "共 2 个支部，尚无评完的支部" in shown and "达标率 0" not in shown  # nothing scored: 未评, not 0
    assert main(["session", "check", str(out)]) == 0
    assert "正常" in capsys.readouterr().out
    before = out.read_bytes()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "s.jsonl: 文件已存在" in err and "--force" not in err and "-o 另指定文件名" in err  # no flag it lacks
    assert out.read_bytes() == before


def test_new_from_plan_and_bad_plan(tmp_path, capsys):
    plan = tmp_path / "plan.csv"
    plan.write_text("支部名称,单位\n预算处党支部,省财政厅\n办公室党支部,省财政厅\n", encoding="utf-8")
    assert main(["session", "new", "--group", "G", "--inspector", "李秀英", "--plan", str(plan),
                 "--dir", str(tmp_path / "sessions")]) == 0
    [made] = (tmp_path / "sessions").glob("*.jsonl")
    with Session.open(made, readonly=True) as s:
        assert [(b.data["name"], b.data["unit"]) for b in s.branches()] == [
            ("预算处党支部", "省财政厅"), ("办公室党支部", "省财政厅")]
    capsys.readouterr()
    plan.write_text("单位\n省财政厅\n", encoding="utf-8")
    assert main(["session", "new", "--group", "G", "--inspector", "王", "--plan", str(plan),
                 "--dir", str(tmp_path / "other")]) == 2
    assert f"{plan}:1: 第一行应为表头" in capsys.readouterr().err
    assert not (tmp_path / "other").exists() or not list((tmp_path / "other").iterdir())


def test_saved_records_survive_reopen(tmp_path):
    path = tmp_path / "s.jsonl"
    assert main(["session", "new", "--group", "G", "--inspector", "张伟", "--branch", "预算处党支部", "-o", str(path)]) == 0
    with Session.open(path) as s:
        b = s.branches()[0].id
        item = s.checklist.items()[0].id
        oid = observation_id(b, item, Step.CHECK, "张伟")
        s.update(Kind.OBSERVATION, oid, branch=b, item=item, step="check", status="partly", note="缺签名")
        s.update(Kind.OBSERVATION, oid, branch=b, item=item, step="check", evidence="2026年党员大会记录")
        assert s.last_saved is not None
    with Session.open(path, readonly=True) as s:
        rec = s.index.live(oid)
        assert rec.data["status"] == "partly" and rec.data["note"] == "缺签名"
        assert rec.data["evidence"] == "2026年党员大会记录" and len(rec.versions) == 1


def test_demo_is_deterministic_and_valid(tmp_path, capsys):
    a = write_demo(tmp_path / "a", branches=3, inspectors=2, seed=7)
    b = write_demo(tmp_path / "b", branches=3, inspectors=2, seed=7)
    assert len(a) == 2
    assert main(["session", "check", *map(str, a)]) == 0
    capsys.readouterr()
    digests = []
    for p in a + b:
        assert main(["session", "digest", str(p)]) == 0
        digests.append(capsys.readouterr().out.strip())
    assert digests[:2] == digests[2:] and digests[0] != digests[1]
    meta, records, _ = read_session(a[0])
    kinds = {r["versions"][0]["kind"] for r in records}
    assert {"observation", "interview", "score", "problem", "rectification", "step_note", "claim"} <= kinds


def _rewrite(path, mutate):
    meta, records, log = read_session(path)
    mutate(records)
    write_session(path, meta, records, log, force=True)


def test_check_reports_hand_edits_and_dangling_references(tmp_path, capsys):
    [path] = write_demo(tmp_path, branches=2, inspectors=1, seed=3)

    def tamper(records):
        obs = next(r for r in records if r["versions"][0]["kind"] == "observation")
        obs["versions"][0]["data"]["note"] = "改过的内容"

    _rewrite(path, tamper)
    assert main(["session", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "校验值不符" in err

    [path] = write_demo(tmp_path / "2", branches=2, inspectors=1, seed=3)

    def dangle(records):
        v = make_version(kind="highlight", data={"branch": "branch/nowhere", "item": "no-such-item", "text": "x"},
                         author="甲", by="甲", replica="r")
        records.append({"id": "highlight/x", "versions": [v]})

    _rewrite(path, dangle)
    assert main(["session", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "不存在的支部 branch/nowhere" in err and "没有条目 no-such-item" in err


def test_check_reports_schema_errors_by_record(tmp_path, capsys):
    [path] = write_demo(tmp_path, branches=1, inspectors=1, seed=3)

    def break_it(records):
        obs = next(r for r in records if r["versions"][0]["kind"] == "observation")
        obs["versions"][0]["data"]["status"] = "maybe"

    _rewrite(path, break_it)
    assert main(["session", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "记录 observation/" in err and "'maybe'" in err


@pytest.mark.parametrize("content", [b"", b"not json at all\n", b'{"_default": {"1": {"a": 1}}}'])
def test_unreadable_files_give_a_message_not_a_traceback(tmp_path, content):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    for cmd in (["session", "check"], ["session", "show"], ["session", "digest"]):
        r = subprocess.run([sys.executable, "-m", "inspect_tui", *cmd, str(bad)], capture_output=True, text=True)
        assert r.returncode == 2, (cmd, r.stderr)
        assert "Traceback" not in r.stderr and "bad.jsonl" in r.stderr
    assert bad.read_bytes() == content


def test_session_file_is_json_lines(tmp_path):
    [path] = write_demo(tmp_path, branches=1, inspectors=1, seed=1)
    for line in path.read_text(encoding="utf-8").splitlines():
        json.loads(line)


def test_scores_are_checked_against_the_checklist_and_previews_write_nothing(tmp_path):
    path = tmp_path / "s.jsonl"
    assert main(["session", "new", "--group", "G", "--inspector", "张伟", "--branch", "预算处党支部", "-o", str(path)]) == 0
    with Session.open(path) as s:
        b = s.branches()[0].id
        item = s.checklist.items()[0]
        with pytest.raises(UserError, match="超过"):
            s.save(Kind.SCORE, {"branch": b, "item": item.id, "score": item.full_marks + 1})
        with pytest.raises(UserError, match="没有条目 nope"):
            s.save(Kind.SCORE, {"branch": b, "item": "nope", "score": 1})
        before = path.read_bytes()
        preview = s.result(b, mine_only=True, preview_score=(item.id, item.full_marks))
        assert preview.item(item.id).value == item.full_marks and preview.total == item.full_marks
        assert path.read_bytes() == before and s.result(b).total == 0
        with pytest.raises(UserError):
            s.result(b, preview_score=(item.id, item.full_marks + 1))


def test_session_file_names_are_safe_whatever_people_type():
    from datetime import date

    from inspect_tui.store.paths import session_filename

    name = session_filename("../../etc/第三组", date(2026, 11, 20), "CON")
    assert "/" not in name and "\\\\" not in name and not name.startswith(".")
    assert name == "2026-11-20-etc_第三组-_CON.jsonl"


def test_promoting_a_shortfall_to_a_problem(tmp_path):
    path = tmp_path / "s.jsonl"
    assert main(["session", "new", "--group", "G", "--inspector", "张伟", "--branch", "预算处党支部", "-o", str(path)]) == 0
    with Session.open(path) as s:
        b = s.branches()[0].id
        item = s.checklist.items()[0]
        ok = s.update(Kind.OBSERVATION, observation_id(b, item.id, Step.CHECK, "张伟"), branch=b, item=item.id,
                      step="check", status="meets")
        assert not s.promotable(ok)
        with pytest.raises(UserError, match="部分符合"):
            s.promote(ok.id)
        bad = s.update(Kind.OBSERVATION, ok.id, status="not", evidence="党员大会记录")
        problem = s.promote(bad.id)
        assert problem.data == {"branch": b, "item": item.id, "text": item.problems[0],
                                "evidence": "党员大会记录", "source": bad.id}
        assert not s.promotable(s.index.live(bad.id))  # once only
