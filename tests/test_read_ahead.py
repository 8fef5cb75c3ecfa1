"""The read-ahead helper (``store.read_ahead``): a second process, forked by the command line before
Textual is imported, that works out a large session's branches list while the app starts. Forking
is only safe in a process without threads, so the helper is driven from a clean child interpreter
(as the command line is); its answers and the cache it fills are then checked here."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tui_startup_list import Gate, _until

from inspect_tui.core.records import Kind
from inspect_tui.core.steps import Step
from inspect_tui.store import branch_table, read_ahead
from inspect_tui.store.branch_table import committed_hash, list_of_bytes, read_table, table_of
from inspect_tui.store.lines import _parse
from inspect_tui.store.session import Session
from inspect_tui.tui.app import InspectApp

ASK = """
import sys
from inspect_tui.store import read_ahead as ra
ra.PREVIEW_MIN_BYTES = 0
ahead = ra.read_ahead(sys.argv[1])
print(ahead.reading(), ahead.key())
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tables"
    monkeypatch.setenv(branch_table.CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def visit(fresh) -> Path:
    path, branch = fresh
    with Session.open(path) as s:
        for item in s.checklist.items_for(Step.LOOK)[:3]:
            s.update(Kind.OBSERVATION, f"observation/{branch}/{item.id}", branch=branch, item=item.id, step="look",
                     status="meets")
    return path


def _ask(path: Path, script: str = ASK) -> list[str]:
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _full_table(path: Path) -> branch_table.BranchTable:
    with Session.open(path, readonly=True) as s:
        return table_of(s, InspectApp.compute_results(s))


def test_the_helper_stores_the_list_the_records_give_and_names_its_key(visit, cache):
    assert _ask(visit) == ["True", committed_hash(visit)]  # none stored: it read the file
    assert read_table(committed_hash(visit)) == _full_table(visit)
    assert _ask(visit) == ["False", committed_hash(visit)]  # stored: it answered from the hash alone


def test_a_program_started_with_stdin_and_stdout_closed_still_hears_its_helper(visit, cache, tmp_path):
    """The pipe then takes descriptors 0 and 1: the helper moves its end clear of them before it
    puts the null device there."""
    out = tmp_path / "out.txt"
    script = ASK.replace("print(ahead.reading(), ahead.key())",
                         "open(sys.argv[2], 'w').write(f'{ahead.reading()} {ahead.key()}')")
    done = subprocess.run(["sh", "-c", 'exec "$0" -c "$1" "$2" "$3" 0<&- 1>&-', sys.executable, script, str(visit),
                           str(out)], capture_output=False, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_text().split() == ["True", committed_hash(visit)]


def test_a_damaged_or_foreign_file_gets_no_list_and_no_key(visit, cache, tmp_path):
    data = visit.read_bytes()
    at = data.index(b'"status":"meets"') + len(b'"status":"')
    visit.write_bytes(data[:at] + b"M" + data[at + 1:])  # one byte changed: its line's checksum fails
    assert _ask(visit)[-1] == "None"
    other = tmp_path / "notes.txt"
    other.write_text("不是会话文件\n" * 100, encoding="utf-8")
    assert _ask(other)[-1] == "None"
    assert not cache.exists() or not any(cache.glob("*.json"))


def test_a_follow_up_session_gets_no_branches_list(visit):
    with Session.open(visit) as s:
        branch = s.branches()[0].id
        s.save(Kind.LEDGER_ENTRY, {"branch": branch, "notice_no": "第三观摩小组〔2026〕1号", "visit_id": "v1", "no": 1,
                                   "item": "pol-01", "item_title": "三会一课", "area": "组织生活", "problem": "记录不全",
                                   "requirement": "补齐记录", "category": "deadline", "responsible": "张明",
                                   "deadline": "2026-12-05"})
    assert list_of_bytes(visit, visit.read_bytes()) is None


SLOW = ASK.replace("ahead = ", """import time
work = ra._store_list
ra._store_list = lambda path, answer: (time.sleep(60), work(path, answer))
ahead = """).replace("print(ahead.reading(), ahead.key())", "print(ahead._pid)")


def test_a_helper_still_reading_when_the_program_ends_is_stopped(visit, cache):
    script = SLOW
    [pid] = _ask(visit, script)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)


STOPPED_WHILE_WAITED_ON = SLOW.replace("print(ahead._pid)", """import os, threading, time
got = []
waiting = threading.Thread(target=lambda: got.append(ahead.key()))
waiting.start()
time.sleep(0.2)
pid = ahead._pid
ahead.stop()
waiting.join(5)
print(waiting.is_alive(), got, ahead.finished, pid)""")


def test_a_helper_stopped_while_a_thread_waits_for_its_answer_ends_that_wait(visit, cache):
    alive, got, finished, pid = _ask(visit, STOPPED_WHILE_WAITED_ON)
    assert (alive, got, finished) == ("False", "[None]", "True")
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)


def test_no_helper_for_a_small_or_huge_file_or_in_a_process_with_threads(visit, monkeypatch):
    assert read_ahead.read_ahead(visit) is None  # a few kilobytes: read at once
    monkeypatch.setattr(read_ahead, "PREVIEW_MIN_BYTES", 0)
    monkeypatch.setattr(read_ahead, "READ_AHEAD_MAX_BYTES", 100)
    assert read_ahead.read_ahead(visit) is None  # twice in memory would be too much
    monkeypatch.setattr(read_ahead, "READ_AHEAD_MAX_BYTES", 1 << 30)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert read_ahead.read_ahead(visit) is None  # forking now could copy a lock another thread holds
    finally:
        stop.set()
        other.join()


APP = """
import asyncio, sys
from inspect_tui.store import read_ahead as ra
from inspect_tui.tui import session_loading
ra.PREVIEW_MIN_BYTES = session_loading.PREVIEW_MIN_BYTES = 0
ahead = ra.read_ahead(sys.argv[1])
from inspect_tui.tui import app as app_module
from inspect_tui.tui.app import make_app
from textual.widgets import DataTable

shown = []
real = app_module.InspectApp._show_preview

def show(self, table, drawn):
    shown.append((self.session is None, [r.name for r in table.rows]))
    real(self, table, drawn)

app_module.InspectApp._show_preview = show

async def main(path):
    app = make_app(path, sessions_dir=path.rsplit("/", 1)[0])
    app.read_ahead = ahead
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3000):
            if app.session is not None and type(app.screen).__name__ == "BranchesScreen":
                break
            await pilot.pause(0.01)
        await pilot.pause()
        table = app.screen.query_one("#branches", DataTable)
        print(len(shown), shown[0][0], "|".join(shown[0][1]) == "|".join(str(table.get_row_at(k)[1])
                                                                        for k in range(table.row_count)))
        await pilot.press("ctrl+q")

asyncio.run(main(sys.argv[1]))
"""


def test_the_app_shows_the_helpers_list_before_its_own_read_on_a_first_opening(visit, cache):
    assert not cache.exists()
    assert _ask(visit, APP) == ["1", "True", "True"]  # shown once, before the session was read; same rows
    assert read_table(committed_hash(visit)) == _full_table(visit)
    assert len(list(cache.glob("*.json"))) == 1


def test_the_stored_key_of_bytes_in_memory_is_the_files(visit):
    data = visit.read_bytes()
    assert branch_table.committed_hash_of(data) == committed_hash(visit)
    body, seal = data.rstrip(b"\n").rsplit(b"\n", 1)
    for variant in (body + b"\n", body + b"\n" + seal, data + data[-10:], b"", b"{}\n"):
        visit.write_bytes(variant)
        assert branch_table.committed_hash_of(variant) == committed_hash(visit), variant[-40:]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


def _typed(value: object) -> object:
    """The value with every number's type beside it: 1 and 1.0 are equal but not the same JSON."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON, max_size=5), st.booleans(), st.sampled_from([None, 1]))
def test_a_line_reads_exactly_as_json_reads_it(doc, ascii_only, indent):
    """The fast reader (orjson) must give json's very values — long integers and escapes included."""
    body = json.dumps(doc, ensure_ascii=ascii_only, indent=indent, separators=None if indent else (",", ":"))
    raw = body.encode("utf-8")
    assert _typed(_parse(raw, None, "")) == _typed(json.loads(raw))


@pytest.mark.parametrize("raw", [b'{"a":NaN}', b'{"a":1e400}', b'{"a":"\\ud800"}', b'{"a":123456789012345678901}',
                                 b'{"a": -9223372036854775809}', b'{"a":' + b'[' * 1100 + b']' * 1100 + b'}'])
def test_what_orjson_refuses_or_reads_otherwise_is_read_by_json(raw):
    try:
        expected = _typed(json.loads(raw))
    except RecursionError:
        with pytest.raises(ValueError):
            _parse(raw, None, "")
        return
    assert _typed(_parse(raw, None, "")) == expected


def test_the_app_asks_the_helper_and_reads_after_it(visit, cache, monkeypatch):
    """In process: the worker takes the helper's key for the stored list (no hashing of its own)."""
    class Answered:
        path = visit
        finished = True

        def reading(self) -> bool:
            return True

        def key(self, timeout: float = 0) -> str:
            branch_table.write_table(committed_hash(visit), _full_table(visit))
            return committed_hash(visit)

        def stop(self) -> None:
            pass

    hashed: list[Path] = []
    monkeypatch.setattr(branch_table, "committed_hash", lambda p: hashed.append(p) or committed_hash(p))
    monkeypatch.setattr("inspect_tui.tui.session_loading.PREVIEW_MIN_BYTES", 0)
    from inspect_tui.tui.app import make_app

    async def go() -> None:
        app = make_app(visit, sessions_dir=visit.parent)
        app.read_ahead = Answered()  # type: ignore[assignment]
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: app.session is not None and type(app.screen).__name__ == "BranchesScreen")
            assert app.session is not None and app.preview() is None
            await pilot.press("ctrl+q")

    asyncio.run(go())
    assert hashed.count(visit) == 1  # once, after the read, to keep the list: not before it


class Slow:
    """A helper that has no answer within the app's patience, and gives it when the test says so."""

    def __init__(self, path: Path) -> None:
        self.path, self.finished = path, False
        self.answer, self.stopped = threading.Event(), threading.Event()

    def reading(self) -> bool:
        return True

    def key(self, timeout: float | None = None) -> str | None:
        if timeout is not None and timeout < 1:  # the app's first, short wait
            return None
        while not (self.answer.is_set() or self.stopped.is_set()):
            self.answer.wait(0.01)
        self.finished = True
        if self.stopped.is_set():
            return None
        branch_table.write_table(committed_hash(self.path), _full_table(self.path))
        return committed_hash(self.path)

    def stop(self) -> None:
        if not self.finished:
            self.stopped.set()


@pytest.mark.parametrize("answers", [True, False])
def test_a_slow_helper_does_not_hold_the_records_back(visit, cache, monkeypatch, answers):
    """The records are read while the helper still works; its list is shown if it comes first, and
    a helper still working when they are read is stopped (its list would come too late)."""
    from inspect_tui.tui.app import make_app

    monkeypatch.setattr("inspect_tui.tui.session_loading.PREVIEW_MIN_BYTES", 0)
    gate, helper = Gate(monkeypatch), Slow(visit)

    async def go() -> None:
        app = make_app(visit, sessions_dir=visit.parent)
        app.read_ahead = helper  # type: ignore[assignment]
        async with app.run_test(size=(120, 40)) as pilot:
            assert await asyncio.to_thread(gate.reached.wait, 10)  # reading began: the helper had not answered
            if answers:
                helper.answer.set()
                await _until(pilot, lambda: app.preview() is not None)
                assert app.session is None
            gate.release()
            await _until(pilot, lambda: app.session is not None and type(app.screen).__name__ == "BranchesScreen")
            assert app.session is not None and app.preview() is None
            assert helper.stopped.is_set() is not answers
            await pilot.press("ctrl+q")

    asyncio.run(go())
    assert read_table(committed_hash(visit)) == _full_table(visit)  # kept either way
