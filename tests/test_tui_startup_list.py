"""Opening a large session: the branches list is shown from its stored copy (``store.branch_table``)
while the records are read, and every key that needs them waits — by key presses, the session's
reading held back until the test lets it go."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable

from inspect_tui.core.records import Kind
from inspect_tui.core.steps import Step
from inspect_tui.errors import UserError
from inspect_tui.store import access
from inspect_tui.store.branch_table import committed_hash, read_table
from inspect_tui.store.session import Session
from inspect_tui.tui import session_loading
from inspect_tui.tui.app import make_app
from inspect_tui.tui.screens.branches import READING


class Gate:
    """Holds ``open_for_app`` (the full read) until ``release``; ``reached`` once the worker is there —
    by then it has decided whether to show a stored list."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, error: Exception | None = None) -> None:
        self.reached, self.go = threading.Event(), threading.Event()
        real = access.open_for_app

        def held(*args, **kwargs):
            self.reached.set()
            self.go.wait(10)
            if error is not None:
                raise error
            return real(*args, **kwargs)

        monkeypatch.setattr(access, "open_for_app", held)

    def release(self) -> None:
        self.go.set()


@pytest.fixture
def large(fresh, monkeypatch) -> tuple[Path, str]:
    """The fresh session, treated as large (a stored list is kept for it), with one observation."""
    monkeypatch.setattr(session_loading, "PREVIEW_MIN_BYTES", 0)
    path, branch = fresh
    with Session.open(path) as s:
        item = s.checklist.items_for(Step.LOOK)[0].id
        s.update(Kind.OBSERVATION, f"observation/{branch}/x", branch=branch, item=item, step="look", status="not")
    return fresh


async def _until(pilot, what, tries: int = 300) -> None:
    for _ in range(tries):
        if what():
            return
        await pilot.pause(0.02)
    raise AssertionError("never happened")


def _rows(app) -> list[list[str]]:
    if not app.screen.query("#branches"):
        return []
    table = app.screen.query_one("#branches", DataTable)
    return [[str(c) for c in table.get_row_at(k)] for k in range(table.row_count)]


async def _first_open(path: Path, tmp_path: Path) -> list[list[str]]:
    """Open in full (no stored list yet), wait until the list is stored; the rows shown."""
    app = make_app(path, sessions_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.session is not None and type(app.screen).__name__ == "BranchesScreen")
        await _until(pilot, lambda: read_table(committed_hash(path)) is not None)
        rows = _rows(app)
        await pilot.press("ctrl+q")
    return rows


def test_the_stored_list_is_shown_while_reading_and_a_key_waits_for_the_records(large, tmp_path, monkeypatch):
    path, _ = large

    async def go() -> None:
        full = await _first_open(path, tmp_path)
        gate = Gate(monkeypatch)
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: app.preview() is not None and _rows(app))
            await pilot.pause()
            assert app.session is None and _rows(app) == full
            assert "第三观摩小组" in str(app.screen.query_one("#session-title").render())
            assert app.screen.query_one("#save-status").message == READING
            await pilot.press("down", "up", "down")  # moving is fine: the rows are real
            await pilot.press("enter")  # opening a branch needs the records: it waits
            await pilot.pause()
            assert type(app.screen).__name__ == "BranchesScreen" and app.screen.pending == "open_branch"
            gate.release()
            await _until(pilot, lambda: type(app.screen).__name__ == "BranchScreen")
            assert app.session is not None and app.preview() is None
            assert app.screen.branch == app.session.branches()[1].id  # the row the cursor was on
            await pilot.press("escape")
            await _until(pilot, lambda: type(app.screen).__name__ == "BranchesScreen")
            assert _rows(app) == full and app.screen.query_one("#save-status").message == ""
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_a_queued_editing_key_is_still_refused_in_read_only_mode(large, tmp_path, monkeypatch):
    path, _ = large

    async def go() -> None:
        await _first_open(path, tmp_path)
        gate = Gate(monkeypatch)
        app = make_app(path, sessions_dir=tmp_path, read_only=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: app.preview() is not None)
            await pilot.press("a")  # add a branch
            gate.release()
            await _until(pilot, lambda: app.session is not None)
            await pilot.pause()
            await pilot.pause()
            assert type(app.screen).__name__ == "BranchesScreen"  # no form to add a branch
            assert len(app.session.branches()) == 2
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_a_file_changed_since_its_list_was_stored_is_read_in_full_first(large, tmp_path, monkeypatch):
    path, branch = large

    async def go() -> None:
        await _first_open(path, tmp_path)
        with Session.open(path) as s:
            s.update(Kind.OBSERVATION, f"observation/{branch}/x", status="meets")
        gate = Gate(monkeypatch)
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, gate.reached.is_set)
            await pilot.pause(0.1)
            assert app.preview() is None and type(app.screen).__name__ != "BranchesScreen"
            gate.release()
            await _until(pilot, lambda: app.session is not None and type(app.screen).__name__ == "BranchesScreen")
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_a_session_that_cannot_be_read_after_its_list_was_shown_goes_back_to_the_list_of_sessions(
        large, tmp_path, monkeypatch):
    path, _ = large

    async def go() -> None:
        await _first_open(path, tmp_path)
        gate = Gate(monkeypatch, UserError("会话文件已损坏"))
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: app.preview() is not None)
            await pilot.press("enter")
            gate.release()
            await _until(pilot, lambda: type(app.screen).__name__ == "SessionsScreen")
            await pilot.pause(0.2)
            assert app.session is None and app.preview() is None
            assert any("会话文件已损坏" in str(n.message) for n in app._notifications)
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_closing_a_changed_session_stores_the_list_of_its_new_bytes(large, tmp_path):
    path, branch = large

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: app.session is not None and type(app.screen).__name__ == "BranchesScreen")
            await pilot.press("a")
            await _until(pilot, lambda: type(app.screen).__name__ == "AddBranchModal")
            await pilot.press(*"新支部", "enter", "enter")
            await _until(pilot, lambda: len(_rows(app)) == 3)
            rows = _rows(app)
            await pilot.press("ctrl+q")
        table = read_table(committed_hash(path))
        assert table is not None and [r.name for r in table.rows] == [r[1] for r in rows]
        with Session.open(path, readonly=True) as s:
            assert [b.data["name"] for b in s.branches()][-1] == "新支部"

    asyncio.run(go())


SECOND_OPEN = """
import asyncio, sys
import inspect_tui.cli
from inspect_tui.tui import app as app_module, session_loading
from inspect_tui.tui.app import make_app

session_loading.PREVIEW_MIN_BYTES = 0
early, show_calls = [], []
real = app_module.InspectApp._show_preview

def show(self, table, drawn):
    show_calls.append(1)
    early.extend(m for m in sys.modules if m.split(".")[0] == "pydantic" or m.startswith("inspect_tui.store.session"))
    real(self, table, drawn)

app_module.InspectApp._show_preview = show

async def main(path):
    app = make_app(path, sessions_dir=path.rsplit("/", 1)[0])
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3000):
            if app.session is not None:
                break
            await pilot.pause(0.01)
        print(app.session is not None, len(early), "shown" if show_calls else "")
        await pilot.press("ctrl+q")

asyncio.run(main(sys.argv[1]))
"""


def test_the_stored_list_is_drawn_before_the_records_models_are_even_imported(large, tmp_path):
    """pydantic and the session code (≈0.1 s of imports) load behind the list, not before it."""
    import subprocess
    import sys

    path, _ = large
    asyncio.run(_first_open(path, tmp_path))
    out = subprocess.run([sys.executable, "-c", SECOND_OPEN, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "0", "shown"]


def test_opening_from_the_list_of_sessions_shows_the_stored_list_and_leaves_no_loading_screen(
        large, tmp_path, monkeypatch):
    path, _ = large

    async def go() -> None:
        full = await _first_open(path, tmp_path)
        gate = Gate(monkeypatch)
        app = make_app(None, sessions_dir=path.parent)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: type(app.screen).__name__ == "SessionsScreen")
            await pilot.pause()
            await pilot.press("enter")
            await _until(pilot, lambda: app.preview() is not None and _rows(app))
            gate.release()
            await _until(pilot, lambda: app.session is not None)
            await pilot.pause()
            assert _rows(app) == full
            assert [type(s).__name__ for s in app.screen_stack][1:] == ["SessionsScreen", "BranchesScreen"]
            await pilot.press("escape")  # close: back to the list of sessions
            await _until(pilot, lambda: type(app.screen).__name__ == "SessionsScreen")
            await pilot.pause(0.2)
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_quitting_while_the_stored_list_is_shown_leaves_the_session_closed_and_unlocked(large, tmp_path, monkeypatch):
    path, branch = large

    async def go() -> None:
        await _first_open(path, tmp_path)
        gate = Gate(monkeypatch)
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: app.preview() is not None)
            await pilot.press("ctrl+q")
        gate.release()

    asyncio.run(go())
    for _ in range(200):  # the reading thread finishes on its own
        if not any(t.name != "MainThread" and t.is_alive() for t in threading.enumerate()):
            break
        threading.Event().wait(0.05)
    with Session.open(path) as s:  # writable: no lock left behind
        assert len(s.branches()) == 2
