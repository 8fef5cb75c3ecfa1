"""The stored branches list (``store.branch_table``): keyed by the file's committed bytes, used only
when it verifies, and equal to the list the records give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspect_tui.core.branch_rows import BranchRow
from inspect_tui.core.records import Kind
from inspect_tui.core.steps import Step
from inspect_tui.store import branch_table
from inspect_tui.store.branch_table import committed_hash, entry_path, read_table, table_of, write_table
from inspect_tui.store.session import Session
from inspect_tui.tui.app import InspectApp


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _table(path: Path):
    with Session.open(path, readonly=True) as s:
        return table_of(s, InspectApp.compute_results(s))


def _observe(path: Path, branch: str, status: str = "meets") -> None:
    with Session.open(path) as s:
        item = s.checklist.items_for(Step.LOOK)[0].id
        s.update(Kind.OBSERVATION, f"observation/{branch}/x", branch=branch, item=item, step="look", status=status)


def test_a_sealed_file_and_the_same_file_left_unsealed_share_one_key(fresh):
    path, branch = fresh
    _observe(path, branch)
    sealed = path.read_bytes()
    assert sealed.rstrip(b"\n").rsplit(b"\n", 1)[1].startswith(b'{"seal":true,')
    key = committed_hash(path)
    with Session.open(path):  # a writable open cuts the seal off until it closes
        assert not path.read_bytes().endswith(sealed[-20:])
        assert committed_hash(path) == key
    assert path.read_bytes() == sealed and committed_hash(path) == key


def test_any_other_change_gives_another_key(fresh):
    path, branch = fresh
    key = committed_hash(path)
    _observe(path, branch)
    assert committed_hash(path) != key
    data = path.read_bytes()
    body, seal = data.rstrip(b"\n").rsplit(b"\n", 1)
    path.write_bytes(body + b"\n" + seal.replace(b'"n":', b'"n":1') + b"\n")  # a seal for another place
    assert committed_hash(path) != committed_hash_of(body + b"\n")
    path.write_bytes(body + b"\n")
    assert committed_hash(path) == committed_hash_of(body + b"\n")


def committed_hash_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_a_stored_list_reads_back_as_written(fresh, cache):
    path, branch = fresh
    _observe(path, branch, "not")
    table = _table(path)
    assert [r.name for r in table.rows] == ["省财政厅办公室党支部", "省教育厅人事处党支部"]
    assert table.rows[0].steps == (False,) * 5 and table.rows[0].open_points is None
    key = committed_hash(path)
    assert read_table(key, cache) is None
    write_table(key, table, cache)
    assert read_table(key, cache) == table
    assert read_table(committed_hash_of(b"other"), cache) is None


def _tamper(cache: Path, key: str, change) -> None:
    entry = entry_path(cache, key)
    blob = json.loads(entry.read_text(encoding="utf-8"))
    change(blob)
    entry.write_text(json.dumps(blob, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("how", ["better score", "other name", "other code", "torn", "no key", "other key"])
def test_a_stored_list_that_does_not_verify_is_never_used(fresh, cache, how, monkeypatch):
    path, _ = fresh
    table, key = _table(path), committed_hash(path)
    write_table(key, table, cache)
    if how == "better score":
        _tamper(cache, key, lambda b: b.update(body=b["body"].replace('"rows":[["', '"rows":[["x')))
    elif how == "other name":
        entry_path(cache, key).rename(entry_path(cache, committed_hash_of(b"x")))
        key = committed_hash_of(b"x")
    elif how == "other code":
        monkeypatch.setattr(branch_table, "code_fingerprint", lambda: "made by another release")
    elif how == "torn":
        entry = entry_path(cache, key)
        entry.write_bytes(entry.read_bytes()[:-30])
    elif how == "no key":
        (cache / branch_table.KEY_FILE).unlink()
    else:
        (cache / branch_table.KEY_FILE).write_bytes(b"k" * 32)
    assert read_table(key, cache) is None


def test_the_code_fingerprint_follows_the_scoring_source(monkeypatch, tmp_path):
    import shutil

    import inspect_tui

    copy = tmp_path / "inspect_tui"
    for part in ("core", "store"):
        shutil.copytree(Path(inspect_tui.__file__).parent / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(inspect_tui, "__file__", str(copy / "__init__.py"))
    branch_table.code_fingerprint.cache_clear()
    before = branch_table.code_fingerprint()
    branch_table.code_fingerprint.cache_clear()
    (copy / "core" / "scoring.py").write_text((copy / "core" / "scoring.py").read_text() + "\n# changed\n")
    assert branch_table.code_fingerprint() != before
    branch_table.code_fingerprint.cache_clear()


def test_rows_refuse_another_shape():
    row = BranchRow("b1", "支部", (True, False, False, False, True), 2, 61.5, 3, "达标", None)
    assert BranchRow.from_json(json.loads(json.dumps(row.to_json()))) == row
    for bad in ([], ["b1"] * 8, [*row.to_json()[:2], [True] * 4, *row.to_json()[3:]],
                [*row.to_json()[:3], "2", *row.to_json()[4:]]):
        with pytest.raises(ValueError):
            BranchRow.from_json(bad)
