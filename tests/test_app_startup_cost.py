"""What the app does at start-up and per key press, checked by what it imports and calls — never by
the clock (the timings themselves are ``bench/tui_bench.py``'s business).

Start-up must not pay for what the branch list does not need (the PDF, workbook and YAML code);
opening a session must leave the cyclic collector as it found it (and, in the real app, turned on
with the start-up objects frozen); a key press re-scores at most the branch it changed.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys

import pytest

from inspect_tui.core.steps import Step
from inspect_tui.store import session as session_module
from inspect_tui.store.session import Session
from inspect_tui.tui.app import make_app

#: Modules the branch list never needs: the PDF and workbook exporters, YAML (sessions carry their
#: checklist), the report and its digest, Textual's multi-line editor, the follow-up and photo code.
NOT_AT_START = ("weasyprint", "openpyxl", "qrcode", "yaml", "inspect_tui.export", "inspect_tui.core.report",
                "inspect_tui.core.report_facts", "inspect_tui.store.report_digest", "inspect_tui.core.checklist_load",
                "inspect_tui.core.plan", "textual.widgets._text_area", "inspect_tui.store.followup",
                "inspect_tui.store.evidence")

STARTUP = """
import asyncio, sys
import inspect_tui.cli  # what the console script imports first
from inspect_tui.tui.app import make_app

async def main(path):
    app = make_app(path, sessions_dir=path.rsplit("/", 1)[0])
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3000):
            screen = app.screen
            table = screen.query("#branches")
            if type(screen).__name__ == "BranchesScreen" and table and table.first().row_count:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        print(type(app.screen).__name__)
        print(" ".join(sorted(sys.modules)))
        await pilot.press("ctrl+q")

asyncio.run(main(sys.argv[1]))
"""


async def _until(pilot, app, name: str) -> None:
    for _ in range(300):
        if type(app.screen).__name__ == name:
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{name} never shown; at {type(app.screen).__name__}")


def test_start_up_to_the_branch_list_imports_no_exporter_yaml_or_report(fresh):
    path, _ = fresh
    out = subprocess.run([sys.executable, "-c", STARTUP, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    shown, modules = out.stdout.splitlines()
    assert shown == "BranchesScreen"
    loaded = set(modules.split())
    assert "textual" in loaded and "inspect_tui.store.session" in loaded  # the list did open a session
    early = sorted(m for m in loaded if any(m == bad or m.startswith(bad + ".") for bad in NOT_AT_START))
    assert early == []


def test_closing_a_changed_session_still_writes_its_report_digest(fresh, monkeypatch):
    """The report digest's code is imported when a session closes, not at start-up: it must still run."""
    path, branch = fresh
    calls = []
    from inspect_tui.store import report_digest

    monkeypatch.setattr(report_digest, "remember", lambda *args: calls.append(args[0]))
    with Session.open(path) as s:
        s.update(session_module.Kind.OBSERVATION, f"observation/{branch}/x", branch=branch,
                 item=s.checklist.items_for(Step.LOOK)[0].id, step="look", status="meets")
    assert calls == [path]


def test_opening_a_session_restores_the_collector_and_the_real_app_freezes_start_up(fresh, tmp_path):
    path, _ = fresh

    async def go(freeze: bool) -> tuple[bool, int]:
        app = make_app(path, sessions_dir=tmp_path)
        app.freeze_gc = freeze
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, app, "BranchesScreen")
            state = gc.isenabled(), gc.get_freeze_count()
            await pilot.press("ctrl+q")
        return state

    assert gc.isenabled()
    try:
        assert asyncio.run(go(False)) == (True, 0)  # Pilot tests: collector on, nothing frozen
        gc.disable()  # as ``inspect-tui`` starts the app
        enabled, frozen = asyncio.run(go(True))
        assert enabled and frozen > 0
    finally:
        gc.unfreeze()
        gc.enable()


@pytest.fixture
def scored(monkeypatch) -> list[str]:
    """Every branch ``Session.result`` scores, by id."""
    calls: list[str] = []
    real = session_module.analyse_branch

    def counting(checklist, branch, records, authors=None):
        calls.append(branch.id)
        return real(checklist, branch, records, authors)

    monkeypatch.setattr(session_module, "analyse_branch", counting)
    return calls


def test_a_key_press_re_scores_only_the_branch_it_changed(fresh, tmp_path, scored):
    path, branch = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, app, "BranchesScreen")
            assert sorted(scored) == sorted(b.id for b in app.session.branches())  # opening scores each once
            assert len(scored) == 2
            await pilot.press("enter")
            await _until(pilot, app, "BranchScreen")
            await pilot.press("f3")
            await pilot.pause()
            scored.clear()
            await pilot.press("down", "up", "down")
            assert scored == []  # moving between items scores nothing
            await pilot.press("y")
            await pilot.pause()
            assert scored == [branch]  # a saved status: that branch, once (the screen and its panes share it)
            scored.clear()
            await pilot.press("escape")
            await _until(pilot, app, "BranchesScreen")
            assert scored == []  # back on the list: the changed row is shown from the result of the save
            scored.clear()
            await pilot.press("down", "up")
            assert scored == []
            await pilot.press("ctrl+q")

    asyncio.run(go())
