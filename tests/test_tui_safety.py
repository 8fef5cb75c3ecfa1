"""Pilot tests: the app never drops typed text unasked, never ends in a traceback, and opens what
it may not write read-only — by key presses, then checking the stored file.

* Ctrl+Q with a refused field (a score above full marks; a full disk) asks: keep editing keeps the
  text in the field, discard quits and stores nothing;
* read-only mode (``--read-only``, another writer holding the file, read-only media): the status
  line says 只读, editing keys are greyed out and refused, and the file stays byte for byte;
* the new-session form says what is wrong with a plan dated 2026-13-45 or a 201-character name;
* a defect inside an action is a notification and a crash report, and the app keeps running;
* a file that is missing, a folder, garbage or nested 100,000 deep is reported, the list shown.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_tui_app import ME, wait_for

from inspect_tui.core.checklist_load import DEFAULT_CHECKLIST_PATH, load_default_checklist
from inspect_tui.core.records import Kind, score_id
from inspect_tui.store.lock import SessionLock
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import NotSavedError
from inspect_tui.tui.app import make_app


def recording_app(*args, **kwargs):
    """``make_app``, with the notifications it shows kept in a list."""
    app = make_app(*args, **kwargs)
    notified: list[str] = []
    app.notify = lambda message, **kw: notified.append(str(message))  # type: ignore[method-assign]
    return app, notified


def status_text(app) -> str:
    return str(app.screen.query_one("#save-status").render())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _type_score_above_full_marks(pilot, app) -> None:
    await wait_for(pilot, app, "BranchesScreen")
    await pilot.press("enter")
    await wait_for(pilot, app, "BranchScreen")
    await pilot.press("f3", "5", "enter", *"99", "enter")  # 评: the first item's score
    assert app.focused.id == "score" and app.focused.has_class("-unsaved")


@pytest.mark.parametrize("choice", ["keep", "discard"])
def test_quit_with_a_refused_score_asks_first(fresh, tmp_path, choice):
    path, branch = fresh
    item = load_default_checklist().items()[0].id

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await _type_score_above_full_marks(pilot, app)
            assert "超过" in status_text(app)  # the status line says why it was not saved
            await pilot.press("ctrl+q")
            await wait_for(pilot, app, "UnsavedScreen")
            assert "超过" in str(app.screen.query_one("#unsaved-reason").render())
            if choice == "keep":
                await pilot.press("k")
                await wait_for(pilot, app, "BranchScreen")
                assert app.focused.id == "score" and app.focused.value == "99"  # the text is still there
                assert app.session is not None and app.return_code is None
                await pilot.press("ctrl+u", "2", "enter")  # now a valid score: saved, and quitting just quits
                await pilot.press("ctrl+q")
                await pilot.pause()
            else:
                await pilot.press("d")
                await pilot.pause()
        assert app.return_code == 0
        assert app.session is None

    asyncio.run(go())
    with Session.open(path, readonly=True) as s:
        rec = s.index.live(score_id(branch, item, ME))
        assert (rec.data["score"] if rec else None) == (2 if choice == "keep" else None)


@pytest.mark.parametrize("choice", ["keep", "discard"])
def test_leaving_a_branch_with_a_refused_score_asks_first(fresh, tmp_path, choice):
    """Esc back to the branch list is a way out too: it must not drop refused text unasked."""
    path, branch = fresh
    item = load_default_checklist().items()[0].id

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await _type_score_above_full_marks(pilot, app)
            await pilot.press("escape")  # from the field to the step's list: the text stays
            await pilot.press("escape")  # and out of the branch: asked first
            await wait_for(pilot, app, "ConfirmDialog")
            if choice == "keep":
                await pilot.press("n")
                await wait_for(pilot, app, "BranchScreen")
                assert app.focused.id == "score" and app.focused.value == "99"
                await pilot.press("ctrl+u", "2", "enter", "escape", "escape")
                await wait_for(pilot, app, "BranchesScreen")
            else:
                await pilot.press("y")
                await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("ctrl+q")
            await pilot.pause()
        assert app.return_code == 0

    asyncio.run(go())
    with Session.open(path, readonly=True) as s:
        rec = s.index.live(score_id(branch, item, ME))
        assert (rec.data["score"] if rec else None) == (2 if choice == "keep" else None)


def test_a_full_disk_keeps_the_typed_text_and_says_why(fresh, tmp_path):
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("enter")
            await wait_for(pilot, app, "BranchScreen")

            def full(*_a, **_k):
                raise NotSavedError(errno.ENOSPC, "No space left on device", str(path))

            app.session.file.put = full
            await pilot.press("tab", *"书记汇报了三会一课", "ctrl+s")  # the claims list has focus first
            await pilot.pause()
            notes = app.focused
            assert notes.text == "书记汇报了三会一课" and notes.has_class("-unsaved")
            assert "磁盘已满" in status_text(app)
            await pilot.press("ctrl+q")
            await wait_for(pilot, app, "UnsavedScreen")
            await pilot.press("escape")  # keep editing
            await wait_for(pilot, app, "BranchScreen")
            assert app.focused.text == "书记汇报了三会一课"
            del app.session.file.put  # space freed: the same text now saves, and Ctrl+Q quits
            await pilot.press("ctrl+q")
            await pilot.pause()
        assert app.return_code == 0

    before = sha(path)
    asyncio.run(go())
    assert sha(path) != before
    with Session.open(path, readonly=True) as s:
        assert [r.data["text"] for r in s.records(branch, Kind.STEP_NOTE)] == ["书记汇报了三会一课"]


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write of the store fails the way a full disk fails it: the journal's own write raises
    ENOSPC (the store cuts the file back and raises ``NotSavedError``), not a stub of the session."""
    import inspect_tui.store.journal as journal

    def full(fd: int, payload: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(journal, "_write_all", full)


#: Each kind of save on the branch screen: the keys before it, the text they type (None: a key
#: press, nothing typed), the keys that save, and the kind and field of the stored record.
SAVES = {
    "claim": ([], None, ["space"], Kind.CLAIM, "claimed"),
    "mark": (["2"], None, ["y"], Kind.OBSERVATION, "status"),
    "note": (["2", "tab"], "公开栏未更新", ["enter"], Kind.OBSERVATION, "note"),
    "score": (["5", "enter"], "2.5", ["enter"], Kind.SCORE, "score"),
    "interview": (["4", "enter"], "普通党员", ["enter"], Kind.INTERVIEW, "role"),
    "feedback": (["5", "h"], "活动室布置规范", ["ctrl+s"], Kind.HIGHLIGHT, "text"),
}


@pytest.mark.parametrize("how", SAVES)
def test_a_failed_save_is_told_and_the_typed_text_kept(fresh, tmp_path, monkeypatch, how):
    """A save the disk refuses: the inspector is told which file and why, the text stays where it was
    typed, nothing reaches the file — and once there is room, the same key saves it."""
    path, branch = fresh
    keys, typed, save_keys, kind, key = SAVES[how]

    async def go() -> None:
        app, notified = recording_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("enter")
            await wait_for(pilot, app, "BranchScreen")
            await pilot.press(*keys, *(typed or ""))
            await pilot.pause()
            recorded, saves, screen = len(app.session.records(branch)), app.save_count, app.screen
            with monkeypatch.context() as m:
                disk_full(m)
                await pilot.press(*save_keys)
                await pilot.pause()
                told = [*notified, status_text(app) if app.screen.query("#save-status") else "",
                        str(app.screen.query_one("#fb-error").render()) if how == "feedback" else ""]
                assert any("磁盘已满" in t and str(path) in t for t in told), told
                assert not any("Errno" in t or "No space" in t for t in told), told
                assert app.screen is screen  # a form stays open
                if typed is not None:
                    field = app.focused
                    assert (field.text if hasattr(field, "text") else field.value) == typed
                    assert how == "feedback" or field.has_class("-unsaved")
                assert app.save_count == saves and len(app.session.records(branch)) == recorded
                if how == "claim":  # what is shown is what is stored
                    assert app.screen.query_one("#claims").selected == []
                if how == "mark":
                    assert "未记录" in str(app.screen.query_one("#look .item-status").render())
            await pilot.press(*save_keys)  # room again: the same key saves what is still there
            await pilot.pause()
            assert app.save_count > saves
            await pilot.press("ctrl+q")
            await pilot.pause()

    before = sha(path)
    asyncio.run(go())
    assert sha(path) != before
    with Session.open(path, readonly=True) as s:
        [rec] = s.records(branch, kind)
        assert rec.data[key] == {"claim": True, "mark": "meets", "score": 2.5}.get(how, typed)


async def _try_to_edit(pilot, app) -> None:
    """Every way an inspector might change something, from the branch list down to 看 and 评."""
    await wait_for(pilot, app, "BranchesScreen")
    assert "只读" in status_text(app)
    await pilot.press("a")  # add a branch
    await pilot.pause()
    await wait_for(pilot, app, "BranchesScreen")
    await pilot.press("enter")
    await wait_for(pilot, app, "BranchScreen")
    assert "只读" in status_text(app)
    await pilot.press(*"汇报要点", "tab", "space", "d")  # no typing in the notes, no claim; 'done' refused
    assert not app.screen.query_one("#claims").selected
    await pilot.press("f3", "y", "n", "f")  # 看: judgements and promotion refused
    await pilot.press("5", "h", "enter", *"3", "enter")  # 评: feedback and a score refused
    await pilot.pause()
    assert "只读" in status_text(app)


def test_read_only_flag_refuses_every_edit_and_writes_nothing(fresh, tmp_path):
    path, branch = fresh
    before = sha(path)

    async def go() -> None:
        app, notified = recording_app(path, sessions_dir=tmp_path / "sessions", read_only=True)
        async with app.run_test(size=(100, 32)) as pilot:
            await _try_to_edit(pilot, app)
            from textual.actions import parse
            from textual.widgets._footer import FooterKey

            from inspect_tui.tui.app import EDITING_ACTIONS

            editing = [k for k in app.screen.query(FooterKey) if parse(k.action)[1] in EDITING_ACTIONS]
            assert len(editing) >= 3 and all(k.has_class("-disabled") for k in editing)
            assert any("只读" in n for n in notified)
            assert app.save_count == 0
            await pilot.press("ctrl+q")
            await pilot.pause()
        assert app.return_code == 0

    asyncio.run(go())
    assert sha(path) == before
    assert not list(path.parent.glob(".*.lock"))


def test_a_file_open_in_another_writer_opens_read_only(fresh, tmp_path):
    path, _branch = fresh
    before = sha(path)
    other = SessionLock.acquire(path)  # another window holds the file for writing
    try:
        async def go() -> None:
            app = make_app(path, sessions_dir=tmp_path / "sessions")
            async with app.run_test(size=(100, 32)) as pilot:
                await _try_to_edit(pilot, app)
                assert "另一个" in app.read_only
                assert app.save_count == 0

        asyncio.run(go())
    finally:
        other.release()
    assert sha(path) == before


def _mount_read_only_copy(src: Path, folder: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        return False
    shutil.copy(src, folder / src.name)
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    return True


def test_a_file_on_read_only_media_opens_read_only(fresh, tmp_path):
    path, _branch = fresh
    media = tmp_path / "usb"
    if not _mount_read_only_copy(path, media):
        pytest.skip("cannot mount a read-only file system here")
    try:
        async def go() -> None:
            app = make_app(media / path.name, sessions_dir=tmp_path / "sessions")
            async with app.run_test(size=(100, 32)) as pilot:
                await _try_to_edit(pilot, app)
                assert app.read_only == "所在介质是只读的"

        asyncio.run(go())
        assert sha(media / path.name) == sha(path)
    finally:
        subprocess.run(["umount", "-l", str(media)], check=True)


@pytest.mark.parametrize(("plan", "name", "expected"), [
    ("date: 2026-13-45\nbranches: [省统计局综合处党支部]\n", "", "2026-13-45"),
    ("branches: [省统计局综合处党支部]\n", "长" * 201, "最多 200 个字"),
])
def test_new_session_form_explains_a_bad_plan_or_name(tmp_path, monkeypatch, plan, name, expected):
    monkeypatch.chdir(tmp_path)
    Path("plan.yaml").write_text(plan, encoding="utf-8")

    async def go() -> None:
        app = make_app(None, sessions_dir=Path("sessions"))
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "SessionsScreen")
            await pilot.press("n")
            await wait_for(pilot, app, "NewSessionScreen")
            screen = app.screen
            await pilot.press(*"第二观摩小组", "tab", "tab", *"张伟", "tab", "tab", "tab")
            await pilot.press(*"plan.yaml", "ctrl+o")
            await pilot.pause()
            if name:  # the plan was fine; now a name that is too long, typed into the form
                screen.query_one("#branches").load_text(name)
                await pilot.press("ctrl+s")
                await pilot.pause()
            assert app.screen is screen  # still on the form, which says what is wrong
            assert expected in str(screen.query_one("#new-error").render())
            assert app.session is None and not list(Path("sessions").glob("*.jsonl"))

    asyncio.run(go())


def test_a_defect_in_an_action_is_reported_and_the_app_keeps_running(fresh, tmp_path, monkeypatch):
    path, _branch = fresh
    monkeypatch.delenv("INSPECT_TUI_DEBUG")
    monkeypatch.setenv("INSPECT_TUI_CRASH_DIR", str(tmp_path / "crashes"))
    from inspect_tui.tui.app import InspectApp

    monkeypatch.setattr(InspectApp, "action_toggle_theme", lambda self: {}["oops"])

    async def go() -> None:
        app, notified = recording_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert any("缺陷" in n and "crash-" in n for n in notified)
            await pilot.press("enter")  # still working
            await wait_for(pilot, app, "BranchScreen")

    asyncio.run(go())
    (report,) = (tmp_path / "crashes").iterdir()
    assert "KeyError" in report.read_text(encoding="utf-8")


def test_a_closed_terminal_keeps_unsaveable_text_in_a_note(fresh, tmp_path, monkeypatch):
    """SIGHUP/SIGTERM: no one can answer the question, so the refused text goes to a note."""
    path, _branch = fresh
    monkeypatch.setenv("INSPECT_TUI_CRASH_DIR", str(tmp_path / "notes"))

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await _type_score_above_full_marks(pilot, app)
            app._quit_on_signal()
            await pilot.pause()
        assert app.return_code == 0

    asyncio.run(go())
    (note,) = (tmp_path / "notes").iterdir()
    assert note.name.startswith("unsaved-") and "score: 99" in note.read_text(encoding="utf-8")


@pytest.mark.parametrize("what", ["missing", "folder", "garbage with NUL", "nested 100,000 deep", "a checklist"])
def test_opening_something_that_is_not_a_session_falls_back_to_the_list(tmp_path, what):
    target = tmp_path / "sessions" / "坏文件.jsonl"
    target.parent.mkdir()
    if what == "folder":
        target.mkdir()
    elif what == "garbage with NUL":
        target.write_bytes(b'{"format": "inspect-tui-session"\x00\xff\n\x00\x81\n')
    elif what == "nested 100,000 deep":
        target.write_text('{"format": "inspect-tui-session", "version": 1}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    elif what == "a checklist":
        shutil.copy(DEFAULT_CHECKLIST_PATH, target)
    before = sha(target) if target.is_file() else None

    async def go() -> None:
        app, notified = recording_app(target, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, app, "SessionsScreen")
            assert app.session is None and app.return_code is None
            assert notified and str(target.name) in notified[0] and "Traceback" not in notified[0]

    asyncio.run(go())
    assert (sha(target) if target.is_file() else None) == before


def test_a_defect_outside_an_action_ends_with_a_report_not_a_traceback(fresh, tmp_path, monkeypatch):
    """An event handler that fails has stopped its widget: the app ends, saying so in a sentence."""
    path, _branch = fresh
    monkeypatch.delenv("INSPECT_TUI_DEBUG")
    monkeypatch.setenv("INSPECT_TUI_CRASH_DIR", str(tmp_path / "crashes"))
    from inspect_tui.tui.screens.branches import BranchesScreen

    monkeypatch.setattr(BranchesScreen, "on_mount", lambda self: [][0], raising=False)

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)):
            for _ in range(500):  # not pilot.pause: the failed screen processes no more messages
                if app.return_code is not None and not app.is_running:
                    break
                await asyncio.sleep(0.02)
        assert app.return_code == 70

    asyncio.run(go())
    (report,) = (tmp_path / "crashes").iterdir()
    assert "IndexError" in report.read_text(encoding="utf-8")


def test_a_failed_branch_add_or_undo_is_told_and_the_name_kept(fresh, tmp_path, monkeypatch):
    """A dialog's answer that cannot be stored comes back in the dialog; an undo the disk refuses is
    told as such, not as "nothing to undo"."""
    path, _branch = fresh

    async def go() -> None:
        app, notified = recording_app(path, sessions_dir=tmp_path / "sessions")
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "BranchesScreen")
            with monkeypatch.context() as m:
                disk_full(m)
                await pilot.press("a", *"省审计厅财务处党支部", "enter", *"省审计厅", "enter")
                await wait_for(pilot, app, "AddBranchModal")
                assert [i.value for i in app.screen.query("Input")] == ["省审计厅财务处党支部", "省审计厅"]
                assert any("磁盘已满" in t and str(path) in t for t in notified), notified
            await pilot.press("enter", "enter")  # room again: the same answer is stored
            await wait_for(pilot, app, "BranchesScreen")
            assert [b.data["name"] for b in app.session.branches()][-1] == "省审计厅财务处党支部"
            notified.clear()
            with monkeypatch.context() as m:
                disk_full(m)
                await pilot.press("ctrl+z")
                await pilot.pause()
                assert any("磁盘已满" in t for t in notified) and not any("没有可撤销" in t for t in notified), notified
            assert len(app.session.branches()) == 3

    asyncio.run(go())
    with Session.open(path, readonly=True) as s:
        assert [b.data["unit"] for b in s.branches()][-1] == "省审计厅"


def test_a_failed_follow_up_change_is_told_and_the_answer_kept(tmp_path, monkeypatch):
    from test_followup_tui import issued_followup

    from inspect_tui.store.followup import ledger_of

    fu = issued_followup(tmp_path)

    async def go() -> None:
        app, notified = recording_app(fu, sessions_dir=fu.parent)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, app, "FollowupBranchesScreen")
            await pilot.press("enter")
            await wait_for(pilot, app, "FollowupScreen")
            with monkeypatch.context() as m:
                disk_full(m)
                await pilot.press("m", *"已补齐近一年会议记录", "enter", *"2026-12-01", "enter")
                await wait_for(pilot, app, "AskModal")  # asked again, the answer still there
                assert [i.value for i in app.screen.query("Input")] == ["已补齐近一年会议记录", "2026-12-01"]
                assert any("磁盘已满" in t and str(fu) in t for t in notified), notified
            await pilot.press("enter", "enter")
            await wait_for(pilot, app, "FollowupScreen")
            item = ledger_of(app.session).items[0]
            assert item.measures == "已补齐近一年会议记录" and str(item.completed_on) == "2026-12-01"

    asyncio.run(go())
