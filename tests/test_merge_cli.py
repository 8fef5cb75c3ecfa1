"""The leader's merge end to end: a three-inspector visit built through the public API and the CLI,
a round trip (merge, hand back, edit, merge again), verdicts, history, and every refusal."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
import yaml

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_checklist, load_default_checklist
from inspect_tui.core.disagreements import list_disagreements
from inspect_tui.core.history import history_lines
from inspect_tui.core.records import Kind, Status, observation_id, score_id, verdict_id
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import digest
from inspect_tui.store.merge_files import merge_files
from inspect_tui.store.session import Session, new_session
from inspect_tui.store.session_file import read_session, write_session

DAY = date(2026, 11, 20)
INSPECTORS = ["王建国", "李秀英", "张伟"]
BRANCHES = ["省财政厅办公室党支部", "省教育厅人事处党支部"]


@pytest.fixture(scope="module")
def checklist():
    return load_default_checklist()


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def record(path: Path, checklist, values: dict[str, float], look: Status, note: str = "") -> None:
    """One inspector's work on the first branch: scores for some items and a look observation."""
    with Session.open(path, checklist=checklist) as s:
        me = s.meta.inspector
        b = s.branches()[0].id
        for item, value in values.items():
            s.save(Kind.SCORE, {"branch": b, "item": item, "score": value, "note": f"{me}的说明"},
                   score_id(b, item, me))
        item = checklist.items_for(Step.LOOK)[0].id
        s.save(Kind.OBSERVATION, {"branch": b, "item": item, "step": "look", "status": look.value, "note": note},
               observation_id(b, item, Step.LOOK, me))


@pytest.fixture()
def visit(tmp_path, checklist, capsys):
    """The leader creates the plan and hands a copy to each inspector, who records on it."""
    with new_session(tmp_path, group="第三观摩小组", day=DAY, inspector="组长", checklist=checklist,
                     branches=BRANCHES, inspectors=INSPECTORS, path=tmp_path / "plan.jsonl"):
        pass
    items = [i.id for i in checklist.items()[:3]]
    values = {"王建国": [3.0, 2.0, 1.0], "李秀英": [3.0, 1.5, 1.0], "张伟": [2.0, 2.0, 1.0]}
    looks = {"王建国": Status.MEETS, "李秀英": Status.NOT, "张伟": Status.MEETS}
    paths = []
    for name in INSPECTORS:
        out = tmp_path / f"{name}.jsonl"
        code, text, _ = cli(capsys, "handout", tmp_path / "plan.jsonl", "--to", name, "-o", out)
        assert code == 0 and name in text
        record(out, checklist, dict(zip(items, values[name], strict=True)), looks[name], note=f"{name}看到的情况")
        paths.append(out)
    return tmp_path, paths, items


def test_three_inspectors_round_trip(visit, checklist, capsys):
    folder, paths, items = visit
    merged = folder / "merged.jsonl"
    code, out, err = cli(capsys, "merge", *paths, "-o", merged)
    assert code == 0, err
    for name in INSPECTORS:
        assert name in out
    assert "新增" in out and "已有" in out and "冲突" in out
    meta, records, log = read_session(merged)
    assert meta["role"] == "leader" and meta["inspector"] == "组长"
    assert meta["replica"] not in {read_session(p)[0]["replica"] for p in paths}
    assert [e["inspector"] for e in log if e.get("event") == "merge"] == INSPECTORS
    assert all(e["by"] == "组长" and e["digest"] and e["at"] for e in log if e.get("event") == "merge")
    assert [e["sha256"] for e in log if e.get("event") == "merge"] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]

    # the same records whatever the order, and merging a file twice changes nothing
    again = folder / "again.jsonl"
    assert cli(capsys, "merge", paths[2], paths[0], paths[1], paths[0], "-o", again)[0] == 0
    d1, d2 = cli(capsys, "session", "digest", merged)[1], cli(capsys, "session", "digest", again)[1]
    assert d1.strip() == d2.strip() == digest(records)

    # disagreements side by side; settle one by picking an inspector, one by value + reason
    code, out, _ = cli(capsys, "disagreements", merged)
    assert code == 0 and "王建国" in out and "李秀英" in out and "王建国的说明" in out and "李秀英看到的情况" in out
    look_item = checklist.items_for(Step.LOOK)[0].id
    assert cli(capsys, "settle", merged, "--branch", "1", "--item", items[0], "--field", "score",
               "--from", "李秀英")[0] == 0
    code, _, err = cli(capsys, "settle", merged, "--branch", BRANCHES[0], "--item", look_item, "--field", "look",
                       "--value", "不符合")
    assert code == 2 and "理由" in err
    assert cli(capsys, "settle", merged, "--branch", BRANCHES[0], "--item", look_item, "--field", "look",
               "--value", "不符合", "--reason", "活动室标识确未设置")[0] == 0
    with Session.open(merged, readonly=True, checklist=checklist) as s:
        b = s.branches()[0].id
        v = s.index.live(verdict_id(b, items[0], "score"))
        assert v.data["score"] == 3.0 and v.data["chosen_from"] == "李秀英" and v.by == "组长" and v.at
        open_points = {(d.item, d.field) for d in list_disagreements(checklist, s.index)}
        assert (items[0], "score") not in open_points and (look_item, "look") not in open_points
        assert (items[1], "score") in open_points  # still unsettled: exports mark it
        assert s.result(b).item(items[1]).disagreement
    code, out, _ = cli(capsys, "session", "log", merged)
    assert code == 0 and "活动室标识确未设置" in out and "合并了" in out

    # round trip: the merged file goes back to 张伟, who edits on it; the leader merges again
    back = folder / "张伟-2.jsonl"
    assert cli(capsys, "handout", merged, "--to", "张伟", "-o", back)[0] == 0
    with Session.open(back, checklist=checklist) as s:
        b = s.branches()[0].id
        s.update(Kind.SCORE, score_id(b, items[1], "张伟"), score=1.5, note="复核后下调")
    final = folder / "final.jsonl"
    code, out, err = cli(capsys, "merge", merged, back, *paths, "-o", final)
    assert code == 0, err
    with Session.open(final, readonly=True, checklist=checklist) as s:
        rec = s.index.live(score_id(b, items[1], "张伟"))
        assert rec.data["score"] == 1.5 and not rec.conflict  # the later edit saw the earlier one
        assert s.index.live(verdict_id(b, items[0], "score")) is not None  # verdicts merge like records
        assert not s.index.conflicts()
    # merging the leader's file back into an inspector's copy gives the same records
    back2 = folder / "back2.jsonl"
    assert cli(capsys, "merge", paths[1], final, "-o", back2)[0] == 0
    assert digest(read_session(back2)[1]) == digest(read_session(final)[1])
    assert any("张伟" in line and "复核后下调" not in line for line in history_lines(*read_session(final)))


def test_concurrent_edit_is_kept_as_conflict(visit, checklist, capsys):
    folder, paths, items = visit
    merged = folder / "m.jsonl"
    assert cli(capsys, "merge", *paths, "-o", merged)[0] == 0
    # the leader corrects 王建国's score in the merged file while 王建国 edits his own copy
    with Session.open(merged, checklist=checklist) as s:
        b = s.branches()[0].id
        s.update(Kind.SCORE, score_id(b, items[0], "王建国"), score=2.5)
    with Session.open(paths[0], checklist=checklist) as s:
        s.update(Kind.SCORE, score_id(b, items[0], "王建国"), score=2.0)
    final = folder / "f.jsonl"
    code, out, _ = cli(capsys, "merge", merged, paths[0], "-o", final)
    assert code == 0
    rows = {line.split()[1]: line.split() for line in out.splitlines()[1:3]}
    assert rows["王建国"][-1] == "1"  # the conflict is counted for the input it came from
    assert "并发修改冲突 1 条" in out
    with Session.open(final, readonly=True, checklist=checklist) as s:
        rec = s.index.get(score_id(b, items[0], "王建国"))
        assert rec.conflict and {v["data"]["score"] for v in rec.versions} == {2.5, 2.0}
    code, out, _ = cli(capsys, "disagreements", final)
    assert "并发修改冲突 1 条" in out


# --- refusals ---------------------------------------------------------------------------------------


def _unchanged(paths):
    return {p: p.read_bytes() for p in paths}


def test_never_overwrites_an_existing_output_that_is_not_a_session(visit, capsys):
    folder, paths, _ = visit
    out = folder / "exists.jsonl"
    out.write_text("keep me")
    for extra in ((), ("--replace",)):
        code, _, err = cli(capsys, "merge", *paths, "-o", out, *extra)
        assert code == 2 and "已存在" in err and "不会覆盖" in err and "Traceback" not in err
        assert out.read_text() == "keep me"
    code, _, err = cli(capsys, "merge", *paths, "-o", out, "--force")
    assert code == 2 and "--replace" in err and out.read_text() == "keep me"


def test_an_output_that_is_one_of_the_inputs_is_refused_unless_it_is_the_leaders_file(visit, capsys):
    """A careless glob (merge usb/*.jsonl -o usb/张伟.jsonl) must not turn an inspector's own copy
    into the leader's file; handout onto its own source is refused even with --force."""
    folder, paths, _ = visit
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    code, _, err = cli(capsys, "merge", *paths, "-o", paths[0])
    assert code == 2 and f"{paths[0]}: 输出文件就是输入之一（王建国 的观摩员副本）" in err
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths} == before
    merged = folder / "merged.jsonl"
    assert cli(capsys, "merge", *paths, "-o", merged)[0] == 0
    assert cli(capsys, "merge", merged, paths[1], "-o", merged)[0] == 0  # the leader's file takes more in
    code, _, err = cli(capsys, "handout", merged, "--to", "张伟", "-o", merged, "--force")
    assert code == 2 and "输出文件就是要复制的文件本身" in err
    with Session.open(merged, readonly=True) as s:
        assert s.meta.role == "leader"
    code, _, err = cli(capsys, "followup", "new", "--session", merged, "-o", merged, "--inspector", "组长", "--force")
    assert code == 2 and "输出文件就是输入之一" in err
    with Session.open(merged, readonly=True) as s:
        assert s.meta.role == "leader" and not s.is_followup()


def test_refuses_truncated_file_and_exclude_proceeds(visit, capsys):
    folder, paths, _ = visit
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 40])
    before = _unchanged(paths)
    out = folder / "o.jsonl"
    code, _, err = cli(capsys, "merge", *paths, "-o", out)
    assert code == 2 and str(paths[1]) in err and "截断" in err and "--exclude" in err
    assert not out.exists() and _unchanged(paths) == before
    code, text, _ = cli(capsys, "merge", *paths, "-o", out, "--exclude", paths[1])
    assert code == 0 and "已排除" in text and _unchanged(paths) == before


def test_refuses_corrupt_line(visit, capsys):
    folder, paths, _ = visit
    lines = paths[2].read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"', b"'", 3)
    paths[2].write_bytes(b"\n".join(lines))
    code, _, err = cli(capsys, "merge", *paths, "-o", folder / "o.jsonl")
    assert code == 2 and f"{paths[2]}:2" in err
    assert not (folder / "o.jsonl").exists()


def test_refuses_hash_mismatch(visit, capsys):
    folder, paths, items = visit
    meta, records, log = read_session(paths[0])
    for doc in records:
        if doc["id"].startswith("score/"):
            doc["versions"][0]["data"]["score"] = 5.0  # hand-edited; the version hash no longer fits
            edited = doc["id"]
            break
    write_session(paths[0], meta, records, log, force=True)
    code, _, err = cli(capsys, "merge", *paths, "-o", folder / "o.jsonl")
    assert code == 2 and str(paths[0]) in err and "校验" in err and edited in err
    assert not (folder / "o.jsonl").exists()


def test_refuses_unknown_format_version(visit, capsys):
    folder, paths, _ = visit
    data = paths[0].read_bytes()
    head, rest = data.split(b"\n", 1)
    paths[0].write_bytes(head.replace(b'"version":2', b'"version":99') + b"\n" + rest)
    code, _, err = cli(capsys, "merge", *paths, "-o", folder / "o.jsonl")
    assert code == 2 and str(paths[0]) in err and "99" in err
    assert not (folder / "o.jsonl").exists()


def test_refuses_other_checklist_version(visit, checklist, tmp_path, capsys):
    folder, paths, _ = visit
    doc = checklist.model_dump(mode="json")
    doc["version"] = "2027.1"
    first = doc["areas"][0]["items"][0]
    first["title"] = first["title"] + "（修订）"
    other_file = tmp_path / "other.yaml"
    other_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    other = load_checklist(other_file)
    with new_session(tmp_path, group="第三观摩小组", day=DAY, inspector="赵敏", checklist=other,
                     branches=BRANCHES, path=tmp_path / "zhao.jsonl"):
        pass
    out = folder / "o.jsonl"
    code, _, err = cli(capsys, "merge", *paths, tmp_path / "zhao.jsonl", "-o", out, "--checklist", other_file)
    assert code == 2
    assert checklist.version in err and "2027.1" in err and first["id"] in err and "zhao.jsonl" in err
    assert not out.exists()


def test_independent_sessions_need_branch_matching(tmp_path, checklist, capsys):
    """Two inspectors who started their own sessions: branches matched by normalised name."""
    a = new_session(tmp_path, group="第三观摩小组", day=DAY, inspector="王建国", checklist=checklist,
                    branches=["省财政厅办公室党支部", "省教育厅人事处党支部"], path=tmp_path / "a.jsonl")
    b = new_session(tmp_path, group="第三观摩小组 ", day=DAY, inspector="李秀英", checklist=checklist,
                    branches=["省财政厅 办公室支部", "省教育厅人事处党支部", "省水利厅规划处党支部"],
                    path=tmp_path / "b.jsonl")
    a.close()
    b.close()
    item = checklist.items()[0].id
    record(tmp_path / "a.jsonl", checklist, {item: 3.0}, Status.MEETS)
    record(tmp_path / "b.jsonl", checklist, {item: 2.0}, Status.NOT)
    out = tmp_path / "m.jsonl"
    code, _, err = cli(capsys, "merge", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-o", out)
    assert code == 2 and "--match-branches" in err and "省财政厅 办公室支部" in err and not out.exists()
    code, _, err = cli(capsys, "merge", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-o", out, "--no-match-branches")
    assert code == 2 and not out.exists()  # different visits may only be merged with matching
    code, text, err = cli(capsys, "merge", tmp_path / "b.jsonl", tmp_path / "a.jsonl", "-o", out,
                          "--match-branches")
    assert code == 0, err
    with Session.open(out, readonly=True, checklist=checklist) as s:
        names = [r.data["name"] for r in s.branches()]
        assert len(names) == 3
        first = next(r for r in s.branches() if "财政" in r.data["name"])
        scores = {r.author: r.data["score"] for r in s.records(first.id, Kind.SCORE)}
        assert scores == {"王建国": 3.0, "李秀英": 2.0}
        assert any(d.field == "score" for d in list_disagreements(checklist, s.index, branch=first.id))
    # the other order gives the same records; the aliases are logged and re-applied later
    out2 = tmp_path / "m2.jsonl"
    assert cli(capsys, "merge", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-o", out2, "--match-branches")[0] == 0
    assert digest(read_session(out)[1]) == digest(read_session(out2)[1])
    assert any(e.get("branch_aliases") for e in read_session(out)[2])
    out3 = tmp_path / "m3.jsonl"
    assert cli(capsys, "merge", tmp_path / "b.jsonl", out, "-o", out3, "--match-branches")[0] == 0
    assert digest(read_session(out3)[1]) == digest(read_session(out)[1])


def test_merge_files_progress_and_report(visit):
    folder, paths, _ = visit
    seen = []
    report = merge_files(paths, folder / "p.jsonl", leader="李组长", progress=lambda f, m: seen.append((f, m)),
                         analyse=True)
    assert seen[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in seen)
    assert report.meta.inspector == "李组长" and report.unsettled and report.unsettled > 0
    assert [s.inspector for s in report.stats] == INSPECTORS
    assert report.table()[0].split() == ["文件", "观摩员", "读入", "新增", "已有", "冲突"]


def test_normalized_branch_names():
    from inspect_tui.core.merge import normalize_branch_name as n

    assert n("省财政厅办公室党支部") == n("省财政厅 办公室支部") == n("中共省财政厅办公室党支部委员会") \
        == n("省财政厅办公室（党支部）") == n("省财政厅办公室党支部　")
    assert n("省财政厅办公室党支部") != n("省财政厅预算处党支部")
    assert n("ＡＢＣ党支部") == n("abc支部")


def test_history_lines_show_who_what_when_and_reasons(visit, checklist, capsys):
    folder, paths, items = visit
    merged = folder / "h.jsonl"
    assert cli(capsys, "merge", *paths, "-o", merged, "--as", "李组长")[0] == 0
    assert cli(capsys, "settle", merged, "--branch", "1", "--item", items[1], "--field", "score",
               "--value", "1.75", "--reason", "两人意见折中")[0] == 0
    lines = history_lines(*read_session(merged), checklist=checklist)
    assert lines[0].startswith("会话：第三观摩小组 2026-11-20") and "李组长" in lines[0]
    verdict = [line for line in lines if "小组裁定" in line]
    assert len(verdict) == 1 and "1.75 分" in verdict[0] and "两人意见折中" in verdict[0] and "李组长" in verdict[0]
    merges = [line for line in lines if "合并了" in line]
    assert len(merges) == 3 and all("李组长" in line for line in merges)
    assert any("王建国 记录了评分" in line for line in lines)
    assert any(checklist.item(items[0]).title in line for line in lines)


def test_branch_keys_and_ambiguous_names(tmp_path, checklist, capsys, monkeypatch):
    from inspect_tui.core.merge import branch_key

    assert branch_key("办公室党支部", "省财政厅") != branch_key("办公室党支部", "省教育厅")
    assert branch_key("省财政厅办公室党支部", "省财政厅办公室") == branch_key("省财政厅办公室支部")
    a = new_session(tmp_path, group="第三观摩小组", day=DAY, inspector="王建国", checklist=checklist,
                    branches=["省财政厅办公室党支部", "省财政厅办公室支部"], path=tmp_path / "a.jsonl")
    b = new_session(tmp_path, group="第三观摩小组", day=DAY, inspector="李秀英", checklist=checklist,
                    branches=["省财政厅 办公室党支部"], path=tmp_path / "b.jsonl")
    a.close()
    b.close()
    out = tmp_path / "m.jsonl"
    code, _, err = cli(capsys, "merge", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-o", out, "--match-branches")
    assert code == 2 and "名称相同" in err and not out.exists()
    # on a terminal the leader is asked; answering no keeps the sessions apart -> refused (different visits)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    code, _, err = cli(capsys, "merge", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-o", out)
    assert code == 2 and "不同的观摩会话" in err and not out.exists()


def test_confirmation_on_a_terminal(tmp_path, checklist, capsys, monkeypatch):
    for name, spelling in (("王建国", "省财政厅办公室党支部"), ("李秀英", "省财政厅办公室支部")):
        new_session(tmp_path, group="第三观摩小组", day=DAY, inspector=name, checklist=checklist,
                    branches=[spelling], path=tmp_path / f"{name}.jsonl").close()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "y")
    out = tmp_path / "m.jsonl"
    code, text, err = cli(capsys, "merge", tmp_path / "王建国.jsonl", tmp_path / "李秀英.jsonl", "-o", out)
    assert code == 0, err
    assert "省财政厅办公室支部" in err  # the proposals were shown before asking
    assert "已按名称匹配支部 1 个" in text
    assert len([d for d in read_session(out)[1] if d["id"].startswith("branch/")]) == 1


def test_ctrl_d_at_the_confirmation_means_no(tmp_path, checklist, capsys, monkeypatch):
    for name, spelling in (("王建国", "省财政厅办公室党支部"), ("李秀英", "省财政厅办公室支部")):
        new_session(tmp_path, group="第三观摩小组", day=DAY, inspector=name, checklist=checklist,
                    branches=[spelling], path=tmp_path / f"{name}.jsonl").close()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    out = tmp_path / "m.jsonl"
    code, _text, err = cli(capsys, "merge", tmp_path / "王建国.jsonl", tmp_path / "李秀英.jsonl", "-o", out)
    assert code == 2 and "Traceback" not in err and not out.exists()


# --- merging into an existing output ----------------------------------------------------------------


def _verdicts(path: Path) -> set[str]:
    return {r["id"] for r in read_session(path)[1] if r["versions"][0]["kind"] == "verdict"}


def test_merging_into_an_existing_output_keeps_the_leaders_verdicts(visit, capsys):
    folder, paths, items = visit
    merged = folder / "merged.jsonl"
    assert cli(capsys, "merge", *paths, "-o", merged)[0] == 0
    assert cli(capsys, "settle", merged, "--branch", "1", "--item", items[1], "--field", "score",
               "--value", "1.75", "--reason", "两人意见折中")[0] == 0
    verdicts = _verdicts(merged)
    assert len(verdicts) == 1
    code, out, _ = cli(capsys, "merge", *paths, "-o", merged)  # again, after the inspectors' new saves
    assert code == 0 and "已作为输入之一合并" in out
    assert _verdicts(merged) == verdicts
    with Session.open(merged) as s:  # the leader has it open: nobody may replace it meanwhile
        before = merged.read_bytes()
        code, _, err = cli(capsys, "merge", *paths, "-o", merged)
        assert code == 2 and "不能同时写入" in err and merged.read_bytes() == before
        assert s.file.path == merged
    code, _, err = cli(capsys, "merge", *paths, "-o", merged, "--force")
    assert code == 2 and "--replace" in err and _verdicts(merged) == verdicts
    code, _, err = cli(capsys, "merge", *paths, "-o", merged, "--replace")  # says what goes, then goes
    assert code == 0 and "将丢失" in err and "裁定 1 项" in err and next(iter(verdicts)) in err
    assert _verdicts(merged) == set()
