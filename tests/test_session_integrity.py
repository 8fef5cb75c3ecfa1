"""Format 2 proves its own completeness: a damage matrix through ``session check``, open, merge and
recover; property tests that any single removal, swap, duplication or splice is caught; the seal
across reopen and compaction; the migration of a format-1 file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_tui.cli import main
from inspect_tui.cli.demo_cmd import write_demo
from inspect_tui.core.records import Kind
from inspect_tui.core.versions import digest
from inspect_tui.store import session_file as sfm
from inspect_tui.store.integrity import State, examine, recover
from inspect_tui.store.lines import decode_chained
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import CorruptSessionError, SessionFile, read_session

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "v1-session.jsonl"
V1_DIGEST = "ee2687ff41203e3c"  # of the fixture's records, taken by the format-1 code that wrote it


def build(folder: Path, *, branches: int, edits: int, seed: int) -> Path:
    """A demo inspector's file (compacted), then ``edits`` saves — one new problem record each, so
    every appended line holds exactly one record of its own — closed cleanly."""
    [path] = write_demo(folder, branches=branches, inspectors=1, seed=seed)
    with Session.open(path) as s:
        branch = s.branches()[0].id
        item = s.checklist.items()[0].id
        for i in range(edits):
            s.save(Kind.PROBLEM, {"branch": branch, "item": item, "text": f"问题 {i}", "evidence": "查阅记录"})
    return path


def line_ids(lines: list[bytes]) -> list[set[str]]:
    """The record ids each line sets (empty for the header, other tables and the seal)."""
    out: list[set[str]] = [set()]
    for raw in lines[1:]:
        obj, _ = decode_chained(raw.rstrip(b"\n"))
        out.append({d["id"] for d in obj.get("set", {}).values()} if obj.get("t") == "records" else set())
    return out


@pytest.fixture(scope="module", params=[(1, 6), (12, 60)], ids=["small", "large"])
def files(request, tmp_path_factory):
    branches, edits = request.param
    folder = tmp_path_factory.mktemp("matrix")
    path = build(folder / "a", branches=branches, edits=edits, seed=7)
    other = build(folder / "b", branches=1, edits=2, seed=8)  # another visit's file
    return path, other


Damage = Callable[[list[bytes], list[bytes]], list[bytes]]


def _remove(k: int) -> Damage:
    return lambda lines, _o: lines[:k] + lines[k + 1:]


def _swap_last_changes(lines, _o):
    *head, a, b, seal = lines
    return [*head, b, a, seal]


def _swap_last_two(lines, _o):
    *head, a, b = lines
    return [*head, b, a]


def _repeat_at_end(k: int) -> Damage:
    return lambda lines, _o: [*lines, lines[k]]


def _repeat_before_seal(k: int) -> Damage:
    return lambda lines, _o: [*lines[:-1], lines[k], lines[-1]]


def _splice(k: int) -> Damage:
    def damage(lines, other):
        foreign = next(ln for ln in other if ln.startswith(b'{"t":"records"'))  # checksum valid
        return lines[:k] + [foreign] + lines[k + 1:]
    return damage


def _insert(k: int) -> Damage:
    def damage(lines, other):
        foreign = next(ln for ln in other if ln.startswith(b'{"t":"records"'))
        return lines[:k] + [foreign] + lines[k:]
    return damage


def positions(n: int) -> list[int]:
    """Change lines near the start, in the middle and at the end (not the header, not the seal)."""
    return sorted({2, n // 2, n - 2})


@pytest.fixture
def work(tmp_path, files):
    path, other = files
    lines = path.read_bytes().splitlines(keepends=True)
    good = tmp_path / "good.jsonl"
    shutil.copy(path, good)
    return lines, other.read_bytes().splitlines(keepends=True), good, tmp_path


def _damaged_cases(n: int) -> list[tuple[str, Damage, int]]:
    """(name, damage, the file line reported)."""
    cases = [("swap-last-changes", _swap_last_changes, n - 2), ("swap-last-two", _swap_last_two, n - 1)]
    for k in positions(n):
        cases += [(f"remove-{k}", _remove(k), k + 1), (f"repeat-{k}-at-end", _repeat_at_end(k), n + 1),
                  (f"repeat-{k}-before-seal", _repeat_before_seal(k), n), (f"splice-{k}", _splice(k), k + 1),
                  (f"insert-{k}", _insert(k), k + 1)]
    return cases


def _expect_refused_everywhere(path: Path, good: Path, tmp_path: Path, capsys, code: int, what: str) -> None:
    before = path.read_bytes()
    assert main(["session", "check", str(path)]) == code, what
    capsys.readouterr()
    out = tmp_path / "merged.jsonl"
    assert main(["merge", str(good), str(path), "-o", str(out), "--accept-unsealed"]) == 2, what
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    assert not out.exists() and path.read_bytes() == before


def test_damage_is_named_by_line_and_refused(work, capsys):
    lines, other, good, tmp_path = work
    n = len(lines)
    for name, damage, line_no in _damaged_cases(n):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"".join(damage(list(lines), other)))
        found = examine(path)
        assert (found.state, found.damaged_line) == (State.DAMAGED, line_no), (name, found.describe())
        for readonly in (True, False):
            with pytest.raises(CorruptSessionError) as info:
                SessionFile.open(path, readonly=readonly)
            assert info.value.line == line_no, name
        _expect_refused_everywhere(path, good, tmp_path, capsys, 6, name)


def test_recover_keeps_every_intact_commit_and_nothing_foreign(work):
    lines, other, good, tmp_path = work
    ids = line_ids(lines)
    everything = set().union(*ids)
    assert everything == {r["id"] for r in read_session(good)[1]}
    n = len(lines)
    for name, damage, line_no in _damaged_cases(n):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"".join(damage(list(lines), other)))
        report = recover(path, tmp_path / f"{name}.recovered")
        assert f"第 {line_no} 行" in str(report) or report.missing_lines or report.reordered, name
        got = {r["id"] for r in read_session(report.out)[1]}
        replaced = name.startswith(("remove-", "splice-"))  # the line at k is gone
        lost = ids[int(name.split("-")[1])] if replaced else set()
        assert got == everything - lost, name  # nothing foreign, nothing intact left out
        assert examine(report.out).state is State.SEALED
        if not replaced:  # reordered, repeated or inserted: every record exactly as it was
            assert digest(read_session(report.out)[1]) == digest(read_session(good)[1]), name


def test_cut_mid_line_is_a_torn_tail_kept_out(work, capsys):
    lines, _other, good, tmp_path = work
    data = b"".join(lines)
    ids = line_ids(lines)
    ends = [sum(map(len, lines[:i + 1])) for i in range(len(lines))]
    for k in positions(len(lines)) + [len(lines) - 1]:  # a change line, or the seal, cut in half
        path = tmp_path / f"cut-{k}.jsonl"
        cut = ends[k] - len(lines[k]) // 2
        path.write_bytes(data[:cut])
        found = examine(path)
        assert found.state is State.TORN and found.exit_code == 5
        assert found.replay.torn_bytes == cut - ends[k - 1]
        assert f"{found.replay.torn_bytes} 字节" in found.describe()
        with SessionFile.open(path, readonly=True) as sf:
            assert {r["id"] for r in sf.records()} == set().union(*ids[:k])
        _expect_refused_everywhere(path, good, tmp_path, capsys, 5, f"cut-{k}")
        report = recover(path, tmp_path / f"cut-{k}.recovered")
        assert {r["id"] for r in read_session(report.out)[1]} == set().union(*ids[:k])


def test_cut_exactly_after_a_line_is_not_closed_cleanly(work, capsys):
    lines, _other, good, tmp_path = work
    ids = line_ids(lines)
    for k in positions(len(lines)) + [len(lines) - 1]:  # keep lines[:k]: the seal is gone
        path = tmp_path / f"after-{k}.jsonl"
        path.write_bytes(b"".join(lines[:k]))
        found = examine(path)
        assert found.state is State.UNSEALED and found.exit_code == 4 and found.writer is None
        assert "未正常关闭" in found.describe() and "截断" in found.describe()
        assert main(["session", "check", str(path)]) == 4
        assert "未正常关闭" in capsys.readouterr().out
        out = tmp_path / f"after-{k}.merged"
        assert main(["merge", str(good), str(path), "-o", str(out)]) == 2  # no terminal, no flag
        err = capsys.readouterr().err
        assert str(path) in err and "--accept-unsealed" in err and not out.exists()
        assert main(["merge", str(good), str(path), "-o", str(out), "--accept-unsealed"]) == 0
        assert str(path) in capsys.readouterr().out
        assert {r["id"] for r in read_session(out)[1]} >= set().union(*ids[:k])
        recovered = tmp_path / f"after-{k}.recovered"
        assert main(["session", "recover", str(path), "-o", str(recovered)]) == 0
        assert "没有发现损坏" in capsys.readouterr().out
        assert {r["id"] for r in read_session(recovered)[1]} == set().union(*ids[:k])


def test_missing_final_newline_keeps_the_line_through_the_next_save(work, capsys):
    lines, _other, _good, tmp_path = work
    ids = line_ids(lines)
    for name, kept in (("sealed", lines), ("unsealed", lines[:-1])):
        path = tmp_path / f"nonl-{name}.jsonl"
        path.write_bytes(b"".join(kept)[:-1])
        found = examine(path)
        assert found.state is (State.SEALED if name == "sealed" else State.UNSEALED)
        assert found.replay.open_newline == (name == "unsealed") and found.replay.torn_bytes == 0
        with SessionFile.open(path) as sf:
            assert {r["id"] for r in sf.records()} == set().union(*ids)
            sf.put({"id": "extra"})
        assert examine(path).state is State.SEALED
        assert {r["id"] for r in read_session(path)[1]} == set().union(*ids) | {"extra"}


# --------------------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[list[bytes], list[bytes]]:
    folder = tmp_path_factory.mktemp("prop")
    path = build(folder / "a", branches=1, edits=8, seed=11)
    other = build(folder / "b", branches=1, edits=3, seed=12)
    return path.read_bytes().splitlines(keepends=True), other.read_bytes().splitlines(keepends=True)


def _verdict(lines: list[bytes]) -> State:
    return examine(Path("/nonexistent/prop.jsonl"), b"".join(lines)).state


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPS
@given(data=st.data())
def test_any_single_line_removal_is_caught(base, data):
    lines, _ = base
    k = data.draw(st.integers(1, len(lines) - 1))
    state = _verdict(lines[:k] + lines[k + 1:])
    assert state is (State.UNSEALED if k == len(lines) - 1 else State.DAMAGED)  # the seal: a cut copy


@PROPS
@given(data=st.data())
def test_any_swap_is_caught(base, data):
    lines, _ = base
    i = data.draw(st.integers(1, len(lines) - 2))
    j = data.draw(st.integers(i + 1, len(lines) - 1))
    swapped = list(lines)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert _verdict(swapped) is State.DAMAGED


@PROPS
@given(data=st.data())
def test_any_duplication_is_caught(base, data):
    lines, _ = base
    i = data.draw(st.integers(1, len(lines) - 1))
    at = data.draw(st.integers(1, len(lines)))
    assert _verdict(lines[:at] + [lines[i]] + lines[at:]) is State.DAMAGED


@PROPS
@given(data=st.data())
def test_any_splice_from_another_file_is_caught(base, data):
    lines, other = base
    foreign = data.draw(st.sampled_from(other[1:]))
    at = data.draw(st.integers(1, len(lines)))
    replace = data.draw(st.booleans()) and at < len(lines)
    spliced = lines[:at] + [foreign] + lines[at + replace:]
    assert _verdict(spliced) is State.DAMAGED


# --------------------------------------------------------------------------- the seal


def test_seal_is_cut_on_reopen_and_the_chain_continues(tmp_path, capsys):
    path = build(tmp_path, branches=1, edits=2, seed=5)
    assert examine(path).state is State.SEALED
    with Session.open(path) as s:
        assert examine(path).state is State.OPEN  # a writer has it: not sealed while open
        assert "正被写入" in examine(path).describe()
        assert main(["session", "check", str(path)]) == 0 and "正被写入" in capsys.readouterr().out
        copy = tmp_path / "copied-while-open.jsonl"
        shutil.copy(path, copy)
        s.save(Kind.HIGHLIGHT, {"branch": s.branches()[0].id, "text": "亮点"})
    assert examine(copy).state is State.UNSEALED and examine(copy).writer is None
    found = examine(path)
    assert found.state is State.SEALED
    seals = [ln for ln in path.read_bytes().splitlines() if ln.startswith(b'{"seal"')]
    assert len(seals) == 1  # the old seal was cut off, not left in the middle


def test_compaction_writes_a_sealed_chain_and_the_lock_follows(tmp_path, monkeypatch):
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 5)
    path = tmp_path / "c.session"
    sf = SessionFile.create(path, {"m": 1}, [{"id": "a"}], [])
    for i in range(20):
        sf.put({"id": f"r{i % 3}", "n": i})
    sf.compact()
    assert examine(path).state is State.OPEN
    with pytest.raises(Exception, match="已在本进程中打开"):
        SessionFile.open(path)
    sf.put({"id": "after", "n": 1})
    sf.close()
    assert examine(path).state is State.SEALED
    assert {r["id"] for r in read_session(path)[1]} == {"a", "r0", "r1", "r2", "after"}


def test_a_fake_seal_after_a_cut_needs_the_right_head(tmp_path):
    path = build(tmp_path, branches=1, edits=4, seed=6)
    lines = path.read_bytes().splitlines(keepends=True)
    seal = lines[-1]
    cut = lines[:-3] + [seal]  # two change lines cut off, the original seal put back
    assert _verdict(cut) is State.DAMAGED


# --------------------------------------------------------------------------- format 1


def test_format_1_file_migrates_on_first_writable_open(tmp_path, capsys):
    path = tmp_path / "old.jsonl"
    shutil.copy(FIXTURE_V1, path)
    original = path.read_bytes()
    found = examine(path)
    assert found.state is State.UNSEALED and found.version == 1 and "格式版本 1" in found.describe()
    assert main(["session", "check", str(path)]) == 4
    assert digest(read_session(path)[1]) == V1_DIGEST and path.read_bytes() == original  # read: untouched
    with Session.open(path, readonly=True) as s:
        assert len(s.branches()) == 2
    assert path.read_bytes() == original
    with Session.open(path) as s:  # the upgrade
        assert s.file.header["version"] == 2 and s.file.header["migrated_from"] == 1
        s.save(Kind.HIGHLIGHT, {"branch": s.branches()[0].id, "text": "升级后第一条"})
    assert path.with_name("old.jsonl.v1.bak").read_bytes() == original
    assert examine(path).state is State.SEALED
    assert main(["session", "check", str(path)]) == 0
    records = read_session(path)[1]
    assert len(records) == 6 and digest([r for r in records if r["versions"][0]["kind"] != "highlight"]) == V1_DIGEST


def test_format_1_file_recovers_and_merges_with_confirmation(tmp_path, capsys):
    path = tmp_path / "old.jsonl"
    shutil.copy(FIXTURE_V1, path)
    report = recover(path, tmp_path / "rec.jsonl")
    assert report.records == 5 and digest(read_session(report.out)[1]) == V1_DIGEST
    assert examine(report.out).state is State.SEALED
    out = tmp_path / "m.jsonl"
    assert main(["merge", str(path), "-o", str(out)]) == 2 and "格式版本 1" in capsys.readouterr().err
    assert main(["merge", str(path), "-o", str(out), "--accept-unsealed"]) == 0


# --------------------------------------------------------------------------- the documented rules


def verify_as_documented(data: bytes) -> tuple[str, int | None]:
    """An independent verifier written from docs/session-format.md ("Verifying a file") alone:
    ("sealed" | "unsealed" | "torn" | "damaged", line)."""
    import json
    import re
    import zlib

    lines = data.split(b"\n")
    last = lines.pop()  # b"" when the file ends with a newline
    header_raw = lines[0]
    body, _, c = header_raw.rpartition(b',"c":')
    header = json.loads(header_raw)
    if zlib.crc32(body + b"}") != int(c[:-1]) or not re.fullmatch("[0-9a-f]+", header["id"]):
        return "damaged", 1
    head, sealed = header["c"], False
    tail = re.compile(rb',"f":"([0-9a-f]+)","n":(\d+),"p":(\d+),"c":(\d+)\}\Z')
    numbered = [(i + 2, raw, True) for i, raw in enumerate(lines[1:])] + ([(len(lines) + 1, last, False)] if last else [])
    for number, raw, complete in numbered:
        m = tail.search(raw)
        ok = m is not None and zlib.crc32(raw[:m.start(4) - 5] + b"}") == int(m[4])
        if ok and (m[1].decode() != header["id"] or int(m[2]) != number or int(m[3]) != head or sealed):
            ok = False
        if not ok:
            return ("damaged", number) if complete else ("torn", None)
        head = int(m[4])
        sealed = json.loads(raw[:m.start()] + b"}") == {"seal": True}
    return ("sealed" if sealed else "unsealed"), None


def test_the_documented_example_is_a_sealed_file():
    doc = (Path(__file__).parents[1] / "docs" / "session-format.md").read_text(encoding="utf-8")
    example = doc.split('```\n{"format":"inspect-tui-session"', 1)[1].split("```", 1)[0]
    data = ('{"format":"inspect-tui-session"' + example).encode("utf-8")
    assert verify_as_documented(data) == ("sealed", None)
    found = examine(Path("/nonexistent/example.jsonl"), data)
    assert found.state is State.SEALED and found.replay.lines == 5


@PROPS
@given(data=st.data())
def test_the_documented_rules_judge_every_damage_as_the_code_does(base, data):
    lines, other = base
    kind = data.draw(st.sampled_from(["remove", "swap", "repeat", "splice", "cut", "none"]))
    i = data.draw(st.integers(1, len(lines) - 1))
    j = data.draw(st.integers(1, len(lines) - 1))
    damaged = list(lines)
    if kind == "remove":
        del damaged[i]
    elif kind == "swap":
        damaged[i], damaged[j] = damaged[j], damaged[i]
    elif kind == "repeat":
        damaged.insert(j, lines[i])
    elif kind == "splice":
        damaged[i] = other[min(i, len(other) - 1)]
    blob = b"".join(damaged)
    if kind == "cut":
        blob = blob[:data.draw(st.integers(len(lines[0]), len(blob)))]
    found = examine(Path("/nonexistent/prop.jsonl"), blob)
    expected = {State.SEALED: "sealed", State.UNSEALED: "unsealed", State.TORN: "torn", State.DAMAGED: "damaged"}
    assert verify_as_documented(blob) == (expected[found.state], found.damaged_line)


def test_a_line_from_another_copy_of_the_same_file_is_caught(tmp_path):
    """Two copies of one file share every line up to where they part; a line of one spliced into
    the other has the right file id and number, and still breaks the chain."""
    path = build(tmp_path / "a", branches=1, edits=1, seed=9)
    copy = tmp_path / "copy.jsonl"
    shutil.copy(path, copy)
    for p, text in ((path, "甲"), (copy, "乙")):
        with Session.open(p) as s:
            for i in range(3):
                s.save(Kind.HIGHLIGHT, {"branch": s.branches()[0].id, "text": f"{text}{i}"})
    mine, theirs = (p.read_bytes().splitlines(keepends=True) for p in (path, copy))
    parted = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
    for k in range(parted, len(mine) - 1):  # each of the lines after the parting, and the seal
        spliced = [*mine[:k], theirs[k], *mine[k + 1:]]
        found = examine(tmp_path / "x.jsonl", b"".join(spliced))
        # the first line after the parting fits where it is (same prefix): the line after it breaks
        assert (found.state, found.damaged_line) == (State.DAMAGED, k + 2 if k == parted else k + 1), k
        assert "接不上" in found.describe()
