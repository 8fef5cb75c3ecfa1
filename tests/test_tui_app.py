"""Pilot tests: an inspector walks one branch through 述、看、查、问、评 by key presses only, and the
store then holds exactly what was entered. Also: opening, new-session form, palette commands."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image
from rich.console import Console

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind, claim_id, observation_id, score_id, step_note_id
from inspect_tui.core.steps import Step
from inspect_tui.store.evidence import store_dir
from inspect_tui.store.session import Session
from inspect_tui.tui.app import make_app

ME = "王建国"


async def wait_for(pilot, app, name: str, tries: int = 100) -> None:
    for _ in range(tries):
        if type(app.screen).__name__ == name:
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{name} never shown; at {type(app.screen).__name__}")


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


def test_walk_one_branch_through_all_five_steps(fresh, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    asyncio.run(_walk(fresh, tmp_path))


async def _walk(fresh, tmp_path):
    path, branch = fresh
    photo = Path("活动室.jpg")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo)
    cl = load_default_checklist()
    look_items = [i.id for i in cl.items_for(Step.LOOK)]
    check_items = [i.id for i in cl.items_for(Step.CHECK)]
    question = cl.all_questions()[0]
    first = cl.items()[0]

    app = make_app(path, sessions_dir=tmp_path / "sessions")
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, app, "BranchesScreen")
        await pilot.press("enter")
        await wait_for(pilot, app, "BranchScreen")
        screen = app.screen

        # 述: a claimed item (the list has focus first, not the notes), notes, step done
        assert app.focused.id == "claims"
        await pilot.press("space")  # claim the first item
        await pilot.press("tab")
        await type_text(pilot, "书记汇报了三会一课做法")
        await pilot.press("escape")  # back to the list: leaving the notes field commits them
        await pilot.press("d")
        assert screen.result.steps_done[Step.REPORT]

        # 看: first item meets (cursor moves on), second does not, with a note; promote it to a problem
        await pilot.press("f3")
        assert screen.step is Step.LOOK
        await pilot.press("y", "n")
        await pilot.press("up")
        await pilot.press("tab")
        await type_text(pilot, "公开栏未更新")
        await pilot.press("enter", "escape")
        await pilot.press("f", "d")

        # 查: partly, with a note, evidence and an existing photo file
        await pilot.press("f3")
        assert screen.step is Step.CHECK
        await pilot.press("p", "up", "tab")
        await type_text(pilot, "记录缺签名")
        await pilot.press("tab")
        await type_text(pilot, "会议记录第3页")
        await pilot.press("tab")
        await type_text(pilot, str(photo))
        await pilot.press("enter", "escape", "d")

        # 问: pick a question, interviewee role, answer, adequate
        await pilot.press("f3")
        assert screen.step is Step.ASK
        await pilot.press("enter")  # pick the first question: focus goes to the interviewee's role
        await type_text(pilot, "普通党员")
        await pilot.press("enter", "tab", "tab", "tab")
        await type_text(pilot, "能说出六个方面")
        await pilot.press("enter", "tab")
        await pilot.press("enter", "down", "enter")  # 是否答对 → 答对
        await pilot.pause()
        assert "100.0%" in str(screen.query_one("#awareness").render())
        await pilot.press("escape", "d")

        # 评: a score typed for the first item, a highlight, a rectification demand
        await pilot.press("f3")
        assert screen.step is Step.EVALUATE
        await pilot.press("enter")
        await type_text(pilot, "2.5")
        await pilot.press("enter", "escape")
        await pilot.press("h")
        await type_text(pilot, "活动室布置规范")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("z")
        await type_text(pilot, "补齐会议记录签名")
        await pilot.press("tab")
        await type_text(pilot, "2026-12-31")
        await pilot.press("tab")
        await type_text(pilot, "支部书记")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("d")
        assert all(screen.result.steps_done.values())
        saves = app.save_count
        await pilot.press("ctrl+q")

    with Session.open(path, readonly=True) as s:
        recs = {r.id: r for r in s.records(branch)}
        got = {k: [r for r in recs.values() if r.kind is k] for k in Kind}
        for step in Step:
            note = recs[step_note_id(branch, step, ME)].data
            assert note["done"] is True
        assert recs[step_note_id(branch, Step.REPORT, ME)].data["text"] == "书记汇报了三会一课做法"
        assert [r.id for r in got[Kind.CLAIM]] == [claim_id(branch, first.id, ME)]
        assert recs[claim_id(branch, first.id, ME)].data["claimed"] is True

        look0 = recs[observation_id(branch, look_items[0], Step.LOOK, ME)].data
        look1 = recs[observation_id(branch, look_items[1], Step.LOOK, ME)].data
        chk0 = recs[observation_id(branch, check_items[0], Step.CHECK, ME)].data
        assert look0["status"] == "meets" and look0["note"] == ""
        assert (look1["status"], look1["note"]) == ("not", "公开栏未更新")
        assert (chk0["status"], chk0["note"], chk0["evidence"]) == ("partly", "记录缺签名", "会议记录第3页")
        (ref,) = chk0["files"]  # copied into the session's evidence store, stored by content hash
        assert (store_dir(path) / ref).read_bytes() == photo.read_bytes()
        assert len(got[Kind.OBSERVATION]) == 3

        [problem] = got[Kind.PROBLEM]
        assert problem.data["item"] == look_items[1] and problem.data["text"] == "公开栏未更新"
        assert problem.data["source"] == observation_id(branch, look_items[1], Step.LOOK, ME)

        [interview] = got[Kind.INTERVIEW]
        assert interview.data == {"branch": branch, "role": "普通党员", "name": "", "question_id": question.id,
                                  "question": question.text, "answer": "能说出六个方面", "adequate": True}

        [score] = got[Kind.SCORE]
        assert score.id == score_id(branch, first.id, ME) and score.data["score"] == 2.5
        [highlight] = got[Kind.HIGHLIGHT]
        assert highlight.data["text"] == "活动室布置规范" and highlight.data["item"] is None  # not pre-linked
        [rect] = got[Kind.RECTIFICATION]
        assert (rect.data["requirement"], rect.data["deadline"], rect.data["responsible"]) == (
            "补齐会议记录签名", "2026-12-31", "支部书记")
        assert not got[Kind.SUGGESTION] and not got[Kind.VERDICT]
        # the result the screens showed is the core's
        r = s.result(branch, mine_only=True)
        assert r.problems == 1 and r.awareness == 1.0 and r.item(first.id).value == 2.5
        # nothing else in the file for the other branch
        assert [r.kind for r in s.records(s.branches()[1].id)] == [Kind.BRANCH]
    assert saves > 0


def run(coro) -> None:
    asyncio.run(coro)


def test_new_session_from_a_visit_plan(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("plan.csv").write_text("支部名称,单位\n省统计局综合处党支部,省统计局\n省水利厅办公室党支部,省水利厅\n",
                                encoding="utf-8")

    async def go() -> None:
        app = make_app(None, sessions_dir=Path("sessions"))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, app, "SessionsScreen")
            assert app.screen.check_action("open", ()) is None  # nothing to open yet: greyed out
            await pilot.press("n")
            await wait_for(pilot, app, "NewSessionScreen")
            await pilot.press(*"第二观摩小组", "tab")  # a field's text is selected on entry: typing replaces it
            await type_text(pilot, "2026-11-21")
            await pilot.press("tab", *"张伟", "tab", *"20", "tab", "tab")  # name, report time limit, checklist
            await type_text(pilot, "plan.csv")
            await pilot.press("ctrl+o")
            await pilot.press("ctrl+s")
            await wait_for(pilot, app, "BranchesScreen")
            assert app.session.meta.group == "第二观摩小组" and app.session.meta.inspector == "张伟"
            assert app.session.meta.report_limit_minutes == 20
            assert [b.data["name"] for b in app.session.branches()] == ["省统计局综合处党支部", "省水利厅办公室党支部"]
            assert app.screen.query_one("#branches").row_count == 2
            await pilot.press("escape")  # close the session: back to the list, which now shows it
            await wait_for(pilot, app, "SessionsScreen")
            assert app.session is None and app.screen.query_one("#sessions").row_count == 1

    run(go())


def footer_key(app, action: str):
    from textual.widgets._footer import FooterKey

    return next(k for k in app.screen.query(FooterKey) if k.action == action)


def greyed(app, action: str) -> bool:
    """The footer key is greyed out — by its class, and as drawn (dim); never one without the other."""
    key = footer_key(app, action)
    assert key.has_class("-disabled") == bool(key.rich_style.dim)
    return key.has_class("-disabled")


def test_palette_offers_every_screen_action_and_marks_unavailable_ones(fresh, tmp_path):
    path, _ = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            titles = {c.title: c.help for c in app.get_system_commands(app.screen)}
            for title in ("进入支部", "审阅", "添加支部", "导出", "合并", "关闭会话", "退出", "主题"):
                assert title in titles
            await pilot.press("enter")
            await wait_for(pilot, app, "BranchScreen")
            await pilot.press("f3")  # 看: nothing observed yet, so "提问题" is greyed out
            cmds = {c.title: c for c in app.get_system_commands(app.screen)}
            assert cmds["提问题"].help.startswith("当前不可用")
            assert greyed(app, "promote")  # greyed in the footer too
            assert cmds["上步"].help.startswith("F2") or "f2" in cmds["上步"].help.lower()
            await pilot.press("n")  # "not": now it can be promoted
            await pilot.press("up")
            cmds = {c.title: c for c in app.get_system_commands(app.screen)}
            assert not cmds["提问题"].help.startswith("当前不可用")
            await pilot.pause()
            assert not greyed(app, "promote")
            for status, can_promote in (("y", False), ("n", True)):  # greyed out and back, in place
                await pilot.press(status, "up")
                await pilot.pause()
                assert greyed(app, "promote") is not can_promote
            await cmds["提问题"].callback()  # run from the palette
            await pilot.pause()
            assert app.result(app.screen.branch).problems == 1
            theme = app.theme
            await pilot.press("ctrl+t")
            assert app.theme != theme

    run(go())


def test_refused_values_are_not_saved_and_say_so(fresh, tmp_path):
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("enter", "f3", "tab", "tab", "tab")
            await type_text(pilot, "没有这个文件.jpg")
            await pilot.press("enter")
            files = app.focused
            assert files.has_class("-unsaved")
            assert app.save_count == 0
            await pilot.press("escape", "5", "enter")
            await type_text(pilot, "99")  # above full marks: the preview ignores it, Enter refuses it
            await pilot.press("enter")
            assert app.focused.has_class("-unsaved") and app.save_count == 0
            await pilot.press("ctrl+u")
            await type_text(pilot, "1")  # totals follow the typing before it is saved
            totals = str(app.screen.query_one("#totals").render())
            assert "总分 1/100" in totals and "未保存" in totals
            await pilot.press("enter")
            assert app.save_count == 1

    run(go())


def test_unreadable_session_reports_and_falls_back_to_the_list(tmp_path):
    bad = tmp_path / "sessions" / "坏文件.jsonl"
    bad.parent.mkdir()
    bad.write_text("not a session\n", encoding="utf-8")

    async def go() -> None:
        app = make_app(bad, sessions_dir=tmp_path / "sessions")
        told: list[tuple[str, str, str]] = []
        app.notify = lambda message, *, title="", severity="information", **_: told.append(  # type: ignore[method-assign]
            (title, severity, str(message)))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, app, "SessionsScreen")
            assert app.session is None
            # one message naming the file, the line and what is wrong with it
            message = ("无法打开会话", "error", f"{bad}:1: 不是 inspect-tui 会话文件（第 1 行不是会话文件头）")
            assert told == [message]
            await pilot.press("enter")  # the same file chosen from the list: said again, the list kept
            for _ in range(100):
                if len(told) == 2:
                    break
                await pilot.pause(0.02)
            await wait_for(pilot, app, "SessionsScreen")
            assert told == [message, message] and app.session is None

    run(go())


def test_edit_and_delete_records_then_review(fresh, tmp_path):
    path, branch = fresh
    cl = load_default_checklist()

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("enter")
            await wait_for(pilot, app, "BranchScreen")
            screen = app.screen
            await pilot.press("f3", "f3", "f3", "enter", *"普通党员", "enter")  # interview 1: from the bank
            await pilot.press("ctrl+n", *"支部书记", "tab", "tab", *"自拟问题", "enter")  # interview 2: typed
            interviews = lambda: app.session.records(branch, Kind.INTERVIEW)  # noqa: E731
            assert sorted(r.data["question"] for r in interviews()) == sorted(["自拟问题", cl.all_questions()[0].text])
            assert [r.data["question_id"] for r in interviews() if r.data["question"] == "自拟问题"] == [None]
            await pilot.press("tab", "tab", "tab", "up", "enter")  # the table: open interview 1 again
            await type_text(pilot, "基本能答出")
            await pilot.press("enter")
            assert len(interviews()) == 2
            first = next(r for r in interviews() if r.data["role"] == "普通党员")
            assert first.data["answer"] == "基本能答出"
            await pilot.press("tab", "tab", "delete")  # delete the selected interview: asks first
            await wait_for(pilot, app, "ConfirmDialog")
            await pilot.press("n")  # no: nothing deleted
            assert len(interviews()) == 2
            await pilot.press("delete", "y")
            await pilot.pause()
            assert [r.data["role"] for r in interviews()] == ["支部书记"]

            await pilot.press("f3", "b")
            await type_text(pilot, "台账不全")
            await pilot.press("tab")
            await type_text(pilot, "党费台账")
            await pilot.press("enter")
            await pilot.pause()
            assert screen.result.problems == 1
            await pilot.press("s", *"建议补齐台账", "ctrl+s")
            await pilot.pause()
            await pilot.press("tab", "tab", "tab", "delete")  # the feedback list: delete the problem
            await wait_for(pilot, app, "ConfirmDialog")
            await pilot.press("enter")
            await pilot.pause()
            assert screen.result.problems == 0
            assert [r.data["text"] for r in app.session.records(branch, Kind.SUGGESTION)] == ["建议补齐台账"]

            await pilot.press("v")
            await wait_for(pilot, app, "ReviewScreen")
            console = Console(width=100, file=io.StringIO(), record=True)
            console.print(app.screen.build())
            text = console.export_text()
            assert "建议补齐台账" in text and "台账不全" not in text and "自拟问题" in text
            await pilot.press("e")  # back to 评 from the review
            await wait_for(pilot, app, "BranchScreen")
            assert app.screen.step is Step.EVALUATE

    run(go())


def test_report_time_limit_is_saved(fresh, tmp_path):
    asyncio.run(_limit(fresh, tmp_path))


async def _limit(fresh, tmp_path):
    path, _branch = fresh
    app = make_app(path, sessions_dir=tmp_path / "sessions")
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, app, "BranchesScreen")
        await pilot.press("enter")
        await wait_for(pilot, app, "BranchScreen")
        await pilot.press("plus", "plus", "plus", "minus")
        await pilot.pause()
        assert "限时 17 分钟" in str(app.screen.query_one("#timer").render())
    with Session.open(path, readonly=True) as s:
        assert s.meta.report_limit_minutes == 17
