"""A visit interrupted by a killed process loses nothing already committed.

The real app runs in a child process (headless, driven by Pilot key presses — the same code path as
a terminal, without needing one). After each commit the child prints a line; the parent waits for
them, then sends SIGKILL — no cleanup, no atexit, no flush — and reopens the file with
``Session.open`` to check every committed value. A field still being typed when the process died is
not expected to survive (it was never committed), and must not damage what was.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind, observation_id, score_id, step_note_id
from inspect_tui.core.steps import Step
from inspect_tui.store.session import Session, new_session

ME = "李秀英"


async def drive(path: Path) -> None:
    """Child process: walk part of a visit, announcing each commit, then hang until killed."""
    from inspect_tui.tui.app import make_app

    app = make_app(path, sessions_dir=path.parent)
    async with app.run_test(size=(100, 32)) as pilot:

        async def say(tag: str) -> None:
            await pilot.pause()
            print(f"COMMITTED {tag} {app.save_count}", flush=True)

        for _ in range(200):
            if type(app.screen).__name__ == "BranchesScreen":
                break
            await pilot.pause(0.02)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("tab", *"汇报要点", "escape")  # the claims list has focus first
        await say("report")
        await pilot.press("f3", "n", "up", "tab", *"标识不清", "enter")
        await say("look")
        await pilot.press("escape", "f3", "f3", "f3", "enter", *"3", "enter")
        await say("score")
        await pilot.press("escape", "up", "down", "enter", *"12")  # typed, never committed
        await pilot.pause()
        print("READY", flush=True)
        await asyncio.sleep(3600)


@pytest.fixture
def session_path(tmp_path: Path) -> tuple[Path, str]:
    s = new_session(tmp_path, group="第一观摩小组", day=date(2026, 11, 21), inspector=ME,
                    checklist=load_default_checklist(), branches=["省水利厅规划处党支部"])
    path, branch = s.path, s.branches()[0].id
    s.close()
    return path, branch


def test_killed_mid_visit_loses_nothing_committed(session_path):
    path, branch = session_path
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, __file__, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env)
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        assert child.stdout is not None
        for line in child.stdout:
            seen.append(line.strip())
            if line.startswith("READY") or time.monotonic() > deadline:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert [s.split()[1] for s in seen if s.startswith("COMMITTED")] == ["report", "look", "score"], seen

    cl = load_default_checklist()
    first_look = cl.items_for(Step.LOOK)[0].id
    first, last = cl.items()[0].id, cl.items()[-1].id
    with Session.open(path) as s:  # a writable open: the dead process's lock must not block it
        note = s.index.live(step_note_id(branch, Step.REPORT, ME))
        assert note is not None and note.data["text"] == "汇报要点"
        obs = s.index.live(observation_id(branch, first_look, Step.LOOK, ME))
        assert obs is not None and (obs.data["status"], obs.data["note"]) == ("not", "标识不清")
        score = s.index.live(score_id(branch, first, ME))
        assert score is not None and score.data["score"] == 3
        assert s.index.live(score_id(branch, last, ME)) is None  # "12" was being typed, never committed
        assert s.result(branch, mine_only=True).item(first).value == 3
        kinds = sorted(r.kind.value for r in s.records(branch) if r.kind is not Kind.BRANCH)
        assert kinds == ["observation", "score", "step_note"]


if __name__ == "__main__":
    asyncio.run(drive(Path(sys.argv[1])))
