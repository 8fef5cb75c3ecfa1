"""A large merge leaves its output's report digest to a helper process, forked before the merge and
told to go on once the output is written: the digest is the one ``remember_file`` makes, a refused
merge leaves none, and the helper holds none of the program's locks, pipes or terminal. Small
merges and programs with threads build the digest in line, from the records in memory."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.errors import UserError
from inspect_tui.store import merge_files as mf
from inspect_tui.store import report_inputs
from inspect_tui.store.lock import SessionLock
from inspect_tui.store.report_digest import digest_path, file_hash
from inspect_tui.store.session_file import write_session


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "digests"
    monkeypatch.setenv("INSPECT_TUI_DIGESTS", str(folder))
    return folder


@pytest.fixture
def inputs(tmp_path) -> list[Path]:
    paths = []
    for c in generate(load_default_checklist(), branches=3, inspectors=3, seed=4):
        path = tmp_path / f"{c.meta.inspector}.jsonl"
        write_session(path, c.meta.model_dump(mode="json"), c.records, [])
        paths.append(path)
    return paths


@pytest.fixture
def large(monkeypatch) -> None:
    """These few hundred records count as a large merge; the merge itself never builds the digest."""
    def not_here(*_args):
        raise AssertionError("the merge built the digest itself")

    monkeypatch.setattr(mf, "ASIDE_MIN_BYTES", 1)
    monkeypatch.setattr(mf, "remember_records", not_here)
    assert threading.active_count() == 1


def read_back(out: Path, cache: Path) -> bytes:
    """What ``remember_file`` writes for ``out``, parsing it."""
    written = digest_path(cache, file_hash(out))
    written.unlink()
    report_inputs.remember_file(out)
    return written.read_bytes()


def test_a_large_merge_leaves_the_digest_of_its_output_to_the_helper(tmp_path, inputs, cache, large):
    out = tmp_path / "merged.jsonl"
    for sources in (inputs[:2], inputs[1:]):  # the second merges into the first's output
        mf.merge_files(sources, out, accept_unsealed=True)
        assert len(mf._aside) == 1
        assert mf.wait_digests() >= 0 and not mf._aside
        built = digest_path(cache, file_hash(out)).read_bytes()
        assert read_back(out, cache) == built


def test_the_helper_also_stores_the_branches_list_the_app_would_show(tmp_path, inputs, cache, large):
    from inspect_tui.store.branch_table import committed_hash, read_table, results_of, table_of
    from inspect_tui.store.session import Session

    out = tmp_path / "merged.jsonl"
    mf.merge_files(inputs, out, accept_unsealed=True)
    mf.wait_digests()
    stored = read_table(committed_hash(out))
    with Session.open(out, readonly=True) as s:
        assert stored == table_of(s, results_of(s)), "the list of the merged file, as the app scores it"
    assert stored is not None and stored.merged and len(stored.rows) == 3


def test_a_refused_merge_lets_the_helper_go_without_a_digest(tmp_path, inputs, cache, large):
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(inputs[0].read_bytes()[:-40])
    with pytest.raises(UserError):
        mf.merge_files([damaged, *inputs[1:]], tmp_path / "merged.jsonl")
    assert len(mf._aside) == 1
    mf.wait_digests()
    assert not (tmp_path / "merged.jsonl").exists() and not cache.exists()


def test_a_helper_that_died_costs_the_digest_and_nothing_else(tmp_path, inputs, cache, large, monkeypatch):
    real = mf._write_session

    def kill_then_write(*args, **kwargs):
        (pid,) = mf._aside
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)  # gone before the merge says go: the pipe has no reader
        mf._aside.clear()
        return real(*args, **kwargs)

    monkeypatch.setattr(mf, "_write_session", kill_then_write)
    report = mf.merge_files(inputs, tmp_path / "merged.jsonl")
    assert report.records and (tmp_path / "merged.jsonl").is_file() and not cache.exists()


def test_a_program_started_without_stdin_still_gets_its_digest(tmp_path, inputs, cache, large):
    saved = os.dup(0)
    os.close(0)  # the pipe to the helper then gets descriptor 0
    try:
        mf.merge_files(inputs, tmp_path / "merged.jsonl")
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    mf.wait_digests()
    assert digest_path(cache, file_hash(tmp_path / "merged.jsonl")).is_file()


def test_small_merges_and_threaded_programs_build_the_digest_in_line(tmp_path, inputs, cache, monkeypatch):
    out = tmp_path / "merged.jsonl"
    mf.merge_files(inputs, out)  # a few hundred records: below ASIDE_MIN_BYTES
    assert not mf._aside and digest_path(cache, file_hash(out)).is_file()
    monkeypatch.setattr(mf, "ASIDE_MIN_BYTES", 1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        mf.merge_files(inputs, out, replace=True, warn=lambda _lines: None)
    finally:
        stop.set()
        other.join()
    assert not mf._aside and digest_path(cache, file_hash(out)).is_file()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads a process's open files from /proc")
def test_the_helper_holds_no_lock_pipe_or_terminal_of_the_program(tmp_path, inputs, cache, large, monkeypatch):
    """While the helper is at work, the output can be locked for writing again, the helper has no
    file of the program open (a caller reading the program's output through a pipe is not kept
    waiting) and a session of its own (Ctrl+C in the terminal is not for it)."""
    started, go_on = tmp_path / "started", tmp_path / "go-on"
    real = mf.remember_file

    def held_back(*args, **kwargs):  # runs in the helper, once the merge has said go
        started.touch()
        wait_for(go_on)
        real(*args, **kwargs)

    monkeypatch.setattr(mf, "remember_file", held_back)
    out = tmp_path / "merged.jsonl"
    try:
        mf.merge_files(inputs, out)
        (pid,) = mf._aside
        wait_for(started)
        with SessionLock.acquire(out):
            pass
        assert os.getsid(pid) == pid != os.getsid(0)
        fds = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
        assert fds == {0, 1, 2} and all(os.readlink(f"/proc/{pid}/fd/{fd}") == os.devnull for fd in fds)
        assert not digest_path(cache, file_hash(out)).exists()
    finally:
        go_on.touch()
        mf.wait_digests()
    built = digest_path(cache, file_hash(out)).read_bytes()  # written once the helper was let go
    assert read_back(out, cache) == built


def wait_for(flag: Path) -> None:
    """Until ``flag`` exists — 60 s at most, so that a failing test leaves no helper waiting forever."""
    for _ in range(6000):
        if flag.exists():
            return
        time.sleep(0.01)
