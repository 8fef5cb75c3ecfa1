"""Pilot tests for the rough edges a first-time user hit: each drives the real app by keys and then
checks what is stored or shown."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from test_tui_app import ME, type_text, wait_for

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind, observation_id, step_note_id
from inspect_tui.core.steps import Step
from inspect_tui.store.session import Session
from inspect_tui.tui.app import make_app

CL = load_default_checklist()


async def open_branch(pilot, app) -> None:
    await wait_for(pilot, app, "BranchesScreen")
    await pilot.press("enter")
    await wait_for(pilot, app, "BranchScreen")


def status_line(app) -> str:
    return str(app.screen.query_one("#save-status").render())


def test_number_keys_switch_steps_right_after_opening(fresh, tmp_path):  # noqa: F811  (item 6)
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("2")
            assert app.screen.step is Step.LOOK
            await pilot.press("1")
            assert app.screen.query_one("#report-notes").text == ""

    asyncio.run(go())


def shown_step(app) -> str:
    """The id of the one step pane on screen (what the inspector sees, not the screen's attribute)."""
    from textual.widgets import ContentSwitcher

    switcher = app.screen.query_one("#steps", ContentSwitcher)
    shown = [pane.id for pane in switcher.children if pane.display]
    assert len(shown) == 1 and switcher.current == shown[0], shown
    return shown[0]


def test_step_keys_switch_the_pane_shown(fresh, tmp_path):
    """F2/F3, ``[``/``]`` and 1–5 move between steps; F2/F3 also from a text field, where ``[`` is typed."""
    path, _branch = fresh
    presses = [("f3", "look"), ("f3", "check"), ("f2", "look"), ("right_square_bracket", "check"),
               ("right_square_bracket", "ask"), ("left_square_bracket", "check"), ("5", "evaluate"),
               ("f3", "evaluate"), ("right_square_bracket", "evaluate"), ("1", "report"), ("f2", "report"),
               ("left_square_bracket", "report"), ("4", "ask"), ("3", "check"), ("2", "look")]

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            assert shown_step(app) == "report"
            for key, step in presses:
                await pilot.press(key)
                await pilot.pause()
                assert shown_step(app) == step, f"after {key}"
            await pilot.press("1", "tab")  # 述's notes field: brackets and digits are text there
            assert app.focused.id == "report-notes"
            await pilot.press("left_square_bracket", "2", "right_square_bracket")
            assert shown_step(app) == "report" and app.focused.text == "[2]"
            await pilot.press("f3")  # F-keys still switch, and the typed text is saved on the way
            await pilot.pause()
            assert shown_step(app) == "look"
            await pilot.press("f2")
            await pilot.pause()
            assert shown_step(app) == "report"
            await pilot.press("5", "h")  # a dialog open: the step keys do not switch steps behind it
            await wait_for(pilot, app, "FeedbackModal")
            await pilot.press("f2", "f3", "left_square_bracket", "1")
            assert type(app.screen).__name__ == "FeedbackModal"
            await pilot.press("escape")
            await wait_for(pilot, app, "BranchScreen")
            assert shown_step(app) == "evaluate"
        with Session.open(path, readonly=True) as s:
            [note] = s.records(_branch, Kind.STEP_NOTE)
            assert note.data["text"] == "[2]"

    asyncio.run(go())


def test_new_feedback_is_not_linked_to_the_highlighted_row(fresh, tmp_path):  # noqa: F811  (item 2)
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("5", "down", "down", "b")
            await wait_for(pilot, app, "FeedbackModal")
            await type_text(pilot, "台账不全")
            await pilot.press("ctrl+s")
            await wait_for(pilot, app, "BranchScreen")
            [problem] = app.session.records(branch, Kind.PROBLEM)
            assert problem.data["item"] is None

    asyncio.run(go())


def test_report_timer_survives_ctrl_q_and_says_when_a_step_switch_paused_it(fresh, tmp_path):  # noqa: F811
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("f4")
            timer = app.screen.query_one("#timer")
            assert timer.running
            timer.seconds = 42  # as if it had run 42 s since the last save
            await pilot.press("2", "1")
            assert not timer.running and "切换环节时已暂停" in str(timer.render())
            await pilot.press("f4")
            timer.seconds = 75
            await pilot.press("ctrl+q")

    asyncio.run(go())
    with Session.open(path, readonly=True) as s:
        assert s.index.live(step_note_id(branch, Step.REPORT, ME)).data["seconds"] == 75


def test_clear_a_mark_undo_and_drop_a_promoted_problem(fresh, tmp_path):  # noqa: F811  (item 5)
    path, branch = fresh
    first = CL.items_for(Step.LOOK)[0].id
    oid = observation_id(branch, first, Step.LOOK, ME)

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            status = lambda: app.session.index.live(oid).data["status"]  # noqa: E731
            await pilot.press("2", "y", "up", "c")
            assert status() is None  # back to 未记录, not 不适用
            await pilot.press("ctrl+z")
            await pilot.pause()
            assert status() == "meets"
            await pilot.press("n", "up", "f")
            await pilot.pause()
            assert len(app.session.records(branch, Kind.PROBLEM)) == 1
            await pilot.press("y")  # ✗ → ✓: the promoted problem is offered for removal
            await wait_for(pilot, app, "ConfirmDialog")
            await pilot.press("y")
            await wait_for(pilot, app, "BranchScreen")
            assert status() == "meets" and app.session.records(branch, Kind.PROBLEM) == []
            await pilot.press("ctrl+z")  # undo brings the problem back
            await pilot.pause()
            assert len(app.session.records(branch, Kind.PROBLEM)) == 1

    asyncio.run(go())


def test_no_stale_status_totals_rating_or_names(fresh, tmp_path):  # noqa: F811  (item 8)
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            screen = app.screen
            await pilot.press("5", "enter", "1", "enter")
            await pilot.pause()
            await pilot.press("backspace", "9", "9", "enter")  # over full marks: refused
            await pilot.pause()
            assert "未保存" in status_line(app)
            await pilot.press("backspace", "backspace", "1")  # back to the stored value
            await pilot.pause()
            totals = str(screen.query_one("#totals").render())
            assert "输入中" not in totals and "未保存" not in status_line(app)
            await pilot.press("backspace", "2", "enter")
            await pilot.pause()
            assert "输入中" not in str(screen.query_one("#totals").render())

            await pilot.press("escape", "4", "enter", *"普通党员", "tab")  # 问: an interview, then the name
            await type_text(pilot, "欧阳明华")
            await pilot.press("tab")
            await pilot.pause()
            table = screen.query_one("#interviews")
            who = table.get_cell_at((0, 1))
            assert "欧阳明华" in who and table.columns[list(table.columns)[1]].content_width >= cell_len(who)

            await pilot.press("escape", "escape")
            await wait_for(pilot, app, "BranchesScreen")
            branches = app.screen.query_one("#branches")
            rating = app.session.result(branch, mine_only=True).rating_label
            assert branches.get_cell(branch, "rating") == rating
            assert branches.columns[list(branches.columns)[-1]].content_width >= cell_len(rating)

    asyncio.run(go())


def test_score_refusal_then_correction_clears_the_status_line(fresh, tmp_path):  # noqa: F811
    path, _branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("5", "enter", "9", "9", "enter")
            await pilot.pause()
            assert "未保存" in status_line(app)
            await pilot.press("backspace", "backspace", "1", "enter")
            await pilot.pause()
            assert "未保存" not in status_line(app)

    asyncio.run(go())


def test_sessions_dir_is_a_path(tmp_path):
    assert isinstance(make_app(None, sessions_dir=tmp_path).sessions_dir, Path)


def test_search_rename_delete_branch_and_undo(fresh, tmp_path):  # noqa: F811  (item 11)
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            table = app.screen.query_one("#branches")
            await pilot.press("slash")
            await wait_for(pilot, app, "SearchDialog")
            await type_text(pilot, "教育")
            await pilot.press("enter")
            await wait_for(pilot, app, "BranchesScreen")
            second = app.session.branches()[1].id
            assert app.screen.current() == second
            await pilot.press("r")
            await wait_for(pilot, app, "AddBranchModal")
            await pilot.press("ctrl+u")
            await type_text(pilot, "省教育厅机关党支部")
            await pilot.press("enter", "enter")
            await wait_for(pilot, app, "BranchesScreen")
            assert app.session.index.live(second).data["name"] == "省教育厅机关党支部"
            assert table.get_cell(second, "name") == "省教育厅机关党支部"
            await pilot.press("delete")
            await wait_for(pilot, app, "ConfirmDialog")
            await pilot.press("y")
            await wait_for(pilot, app, "BranchesScreen")
            assert [b.id for b in app.session.branches()] == [branch] and table.row_count == 1
            await pilot.press("ctrl+z")
            await pilot.pause()
            assert table.row_count == 2

    asyncio.run(go())


def test_search_in_a_branch_jumps_to_the_item(fresh, tmp_path):  # noqa: F811
    path, _branch = fresh
    item = CL.items_for(Step.CHECK)[-1]

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("ctrl+f")
            await wait_for(pilot, app, "SearchDialog")
            await type_text(pilot, item.title[:6])
            await pilot.press("down", "enter")
            await wait_for(pilot, app, "BranchScreen")
            await pilot.pause()
            assert app.screen.step in (Step.LOOK, Step.CHECK) and app.screen.pane().item_id == item.id

    asyncio.run(go())


def test_theme_and_last_session_are_remembered_and_help_is_chinese(fresh, tmp_path):  # noqa: F811
    path, _branch = fresh

    async def first() -> None:
        app = make_app(path, sessions_dir=tmp_path / "elsewhere")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("ctrl+t")
            await pilot.press("f1")
            await wait_for(pilot, app, "HelpScreen")
            console = Console(width=100, record=True, file=io.StringIO())
            console.print(app.screen.body())
            text = console.export_text()
            assert "进入支部" in text and "Ctrl+Q" in text
            await pilot.press("escape")
            await pilot.press("ctrl+q")

    async def second() -> None:
        app = make_app(None, sessions_dir=tmp_path / "elsewhere")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "SessionsScreen")
            assert app.theme == "textual-light"
            assert path.name in str(app.screen.query_one("#sessions-hint").render())
            await pilot.press("l")
            await wait_for(pilot, app, "BranchesScreen")
            assert app.session.path.resolve() == path.resolve()
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert app.screen.query_one("CommandInput").placeholder.startswith("输入命令")

    asyncio.run(first())
    asyncio.run(second())


def test_textual_own_words_are_chinese(fresh, tmp_path):  # (item 7)
    """What Textual itself says — the palette's placeholder and "no matches", the theme palette,
    the hint when Ctrl+C is pressed to quit — is said in Chinese."""
    from textual.command import CommandInput, CommandList

    path, _branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        told: list[str] = []
        app.notify = lambda message, *, title="", **_: told.append(f"{title}|{message}")  # type: ignore[method-assign]
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("ctrl+c")
            assert told == ["要退出吗？|按 Ctrl+Q 退出（输入框中的内容会先保存）"]
            await pilot.press("ctrl+p", *"zzz")
            assert app.screen.query_one(CommandInput).placeholder == "输入命令名称搜索……"
            options = app.screen.query_one(CommandList)
            prompts: list[str] = []
            for _ in range(200):  # the search runs in the background; "no matches" follows a countdown
                prompts = [str(getattr(o.prompt, "renderable", o.prompt)) for o in options.options]
                if prompts and all(o.disabled for o in options.options):
                    break
                await pilot.pause(0.02)
            assert prompts == ["没有匹配的命令"]
            await pilot.press("ctrl+u", *"更换主题")
            await pilot.pause(0.3)
            await pilot.press("enter")
            for _ in range(100):
                if app.screen.query(CommandInput) and app.screen.query_one(CommandInput).placeholder != "输入命令名称搜索……":
                    break
                await pilot.pause(0.02)
            assert app.screen.query_one(CommandInput).placeholder == "输入主题名称搜索……"

    asyncio.run(go())


def test_review_folds_identical_findings_of_several_inspectors(tmp_path):  # (item 9)
    from inspect_tui.core.demo import generate
    from inspect_tui.store.merge_files import merge_files
    from inspect_tui.store.session_file import write_session

    paths = []
    for copy in generate(CL, branches=1, inspectors=3, seed=5):
        s_path = tmp_path / f"{copy.meta.inspector}.jsonl"
        write_session(s_path, copy.meta.model_dump(mode="json"), copy.records, [])
        with Session.open(s_path, checklist=CL) as s:
            b = s.branches()[0].id
            s.save(Kind.HIGHLIGHT, {"branch": b, "text": "学习强国积分榜每周公示"})
            s.save(Kind.PROBLEM, {"branch": b, "item": CL.items()[0].id, "text": "会议记录缺少签名 "})
        paths.append(s_path)
    merged = tmp_path / "merged.jsonl"
    merge_files(paths, merged, checklists=[CL])

    async def go() -> None:
        app = make_app(merged, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("v")
            await wait_for(pilot, app, "ReviewScreen")
            console = Console(width=120, record=True, file=io.StringIO())
            console.print(app.screen.build())
            text = console.export_text()
            assert text.count("学习强国积分榜每周公示") == 1 and text.count("会议记录缺少签名") == 1
            assert "3 位观摩员" in text

    asyncio.run(go())


def test_a_leader_merges_a_late_file_into_the_open_merged_session(tmp_path, monkeypatch):  # (item 1)
    """The leader has the merged session open when a late copy arrives: M merges into that very file
    (closed first), and the list then offers it to open again."""
    from test_tui_snapshots import inspectors_copies

    from inspect_tui.store.merge_files import merge_files

    monkeypatch.chdir(tmp_path)
    folder = Path("sessions")
    folder.mkdir()
    *early, late = inspectors_copies(folder)
    merged = merge_files(early, folder / "合并结果.jsonl", leader="李组长").output
    with Session.open(merged, readonly=True) as s:
        before = {b.id: len(s.records(b.id)) for b in s.branches()}

    async def go() -> None:
        app = make_app(merged, sessions_dir=folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("m")
            await wait_for(pilot, app, "MergeScreen")
            await pilot.press("m")
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = str(app.screen.query_one("#merge-status").render())
            assert status.startswith("已写入 合并结果.jsonl"), status
            assert app.session is None  # the merged file is not held open by the app any more
            await pilot.press("escape")
            await wait_for(pilot, app, "SessionsScreen")

    asyncio.run(go())
    with Session.open(merged, readonly=True) as s:
        assert late.stem.rsplit("-", 1)[1] in s.meta.inspectors
        assert all(len(s.records(b)) > n for b, n in before.items())


def test_the_leader_sees_what_is_left_to_settle(tmp_path, monkeypatch):
    """A merged session: each branch's 待裁定 counts its unsettled items and edit conflicts; the
    review names them."""
    from test_tui_snapshots import inspectors_copies

    from inspect_tui.store.merge_files import merge_files

    monkeypatch.chdir(tmp_path)
    folder = Path("sessions")
    folder.mkdir()
    merged = merge_files(inspectors_copies(folder), folder / "合并结果.jsonl", leader="李组长").output

    async def go() -> None:
        app = make_app(merged, sessions_dir=folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            table = app.screen.query_one("#branches")
            first, second = app.session.branches()
            expected = {}
            for b, conflicts in ((first, 1), (second, 0)):
                unsettled = len(app.session.result(b.id).unsettled)
                assert unsettled > 0
                expected[b.id] = (unsettled, conflicts)
                assert str(table.get_cell(b.id, "unsettled")) == str(unsettled + conflicts)
            await pilot.press("v")
            await wait_for(pilot, app, "ReviewScreen")
            console = Console(width=120, file=io.StringIO(), record=True)
            console.print(app.screen.build())
            text = console.export_text().replace("\n", "")
            assert f"意见不一致、待裁定（{expected[first.id][0]}项）" in text
            assert "编辑冲突（1条）：支部「" in text and "2 个并存版本" in text

    asyncio.run(go())


def test_the_leaders_evaluate_table_shows_the_groups_values(tmp_path):
    """The leader has no scores of their own: the 评 table showed "—" on every row while the header
    gave the total. It shows each item's group value, marked ≠ while the inspectors disagree."""
    from inspect_tui.core.demo import generate
    from inspect_tui.core.format import fmt_score
    from inspect_tui.store.merge_files import merge_files
    from inspect_tui.store.session_file import write_session

    paths = []
    for copy in generate(CL, branches=1, inspectors=3, seed=5):
        paths.append(tmp_path / f"{copy.meta.inspector}.jsonl")
        write_session(paths[-1], copy.meta.model_dump(mode="json"), copy.records, [])
    merged = tmp_path / "merged.jsonl"
    merge_files(paths, merged, checklists=[CL])

    async def go() -> None:
        app = make_app(merged, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("5")
            await pilot.pause()
            result = app.session.result(app.session.branches()[0].id)
            table = app.screen.query_one("#score-items")
            shown = {str(table.get_cell(ir.item.id, "score")) for ir in result.items}
            assert shown != {"—"}
            for ir in result.items:
                assert str(table.get_cell(ir.item.id, "score")) == \
                    (fmt_score(ir.value) if ir.value is not None else "—") + (" ≠" if ir.disagreement else "")
            assert any(ir.disagreement for ir in result.items)

    asyncio.run(go())


def test_ctrl_q_over_a_dialog_with_typed_text_asks_before_dropping_it(fresh, tmp_path):  # noqa: F811
    """A new problem typed into its dialog is saved only by Ctrl+S: Ctrl+Q used to quit at once and
    lose it. Now the app asks (K keeps the dialog and its text, D drops it); an untouched dialog
    does not hold the quit up."""
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await open_branch(pilot, app)
            await pilot.press("5", "b")
            await wait_for(pilot, app, "FeedbackModal")
            await type_text(pilot, "记录缺少签名")
            await pilot.press("ctrl+q")
            await wait_for(pilot, app, "UnsavedScreen")
            assert "尚未确认" in str(app.screen.query_one("#unsaved-reason").render())
            await pilot.press("k")
            await wait_for(pilot, app, "FeedbackModal")
            assert app.screen.query_one("#fb-text").text == "记录缺少签名"
            await pilot.press("ctrl+s")
            await wait_for(pilot, app, "BranchScreen")
            await pilot.press("b")
            await wait_for(pilot, app, "FeedbackModal")
            assert app.screen.drafts() == [] and app.screen._opened_with  # its own on_mount ran too
            app.screen.query_one("#fb-item").focus()
            await pilot.press("enter")  # the list of items opens: its Esc is said in Chinese (item 7)
            await pilot.pause()
            shown = {b.binding.description for b in app.active_bindings.values() if b.binding.show}
            assert "收起列表" in shown and "Dismiss menu" not in shown
            await pilot.press("escape")
            await pilot.press("ctrl+q")  # nothing typed: quits
            await pilot.pause()
            assert app.return_code == 0
        with Session.open(path, readonly=True) as s:
            assert [p.data["text"] for p in s.records(branch, Kind.PROBLEM)] == ["记录缺少签名"]

    asyncio.run(go())
