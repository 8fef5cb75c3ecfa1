"""The report digest exists before the first rollup: ``merge`` writes it for its output and a
writable session writes it when it closes after saving — always equal to what parsing the file
gives, keyed by the file's bytes, and never used for other bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import small_session

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.records import Kind
from inspect_tui.store import keyed_cache, report_digest, report_inputs
from inspect_tui.store.report_digest import default_cache_dir, digest_path, file_hash
from inspect_tui.store.report_inputs import facts_of, load_digests
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session


def parsed(path: Path):
    with Session.open(path, readonly=True) as s:
        return facts_of(s)


def no_parsing(monkeypatch) -> None:
    def refuse(path: str, *_args):
        raise AssertionError(f"{path} was parsed although its digest should be cached")
    monkeypatch.setattr(report_inputs, "_parse", refuse)


def inspector_files(folder: Path, *, branches: int, inspectors: int, seed: int) -> list[str]:
    """Demo inspectors' copies of one visit, each in its own file."""
    inputs = []
    for c in generate(load_default_checklist(), branches=branches, inspectors=inspectors, seed=seed):
        path = folder / f"{c.meta.inspector}.jsonl"
        write_session(path, c.meta.model_dump(mode="json"), c.records, [])
        inputs.append(str(path))
    return inputs


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "digests"
    monkeypatch.setenv("INSPECT_TUI_DIGESTS", str(folder))
    assert default_cache_dir() == folder
    return folder


def test_merge_writes_the_digest_of_its_output(tmp_path, cache, monkeypatch):
    inputs = inspector_files(tmp_path, branches=3, inspectors=2, seed=7)
    out = tmp_path / "merged.jsonl"
    assert main(["merge", *inputs, "-o", str(out)]) == 0
    assert digest_path(cache, file_hash(out)).is_file()
    expected = parsed(out)
    no_parsing(monkeypatch)
    facts, checklists = load_digests([out], workers=1)
    assert facts == [expected] and expected.checklist[2] in checklists


def test_the_merge_builds_the_digest_from_memory_equal_to_the_one_read_from_the_file(tmp_path, cache, monkeypatch):
    """The merge does not read its output back: its digest, built from the records in memory (a
    merge into an existing output, with disagreements, too), is the very file ``remember_file``
    writes after parsing the output."""
    inputs = inspector_files(tmp_path, branches=4, inspectors=3, seed=5)
    out = tmp_path / "merged.jsonl"
    opened: list[str] = []
    real_open = Session.open

    def spy(path, *a, **k):
        opened.append(str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(Session, "open", spy)
    for sources in (inputs[:2], inputs[2:]):  # the second merge merges into the first one's output
        opened.clear()
        assert main(["merge", *sources, "-o", str(out), "--accept-unsealed"]) == 0
        assert str(out) not in opened
        written = digest_path(cache, file_hash(out))
        from_memory = written.read_bytes()
        written.unlink()
        report_inputs.remember_file(out)
        assert written.read_bytes() == from_memory
    assert parsed(out).branches and any(b.unsettled for b in parsed(out).branches)


def test_closing_after_saving_writes_the_digest_of_the_bytes_on_disk(tmp_path, cache, monkeypatch):
    path = small_session(tmp_path)  # saved through a writable Session, then closed
    assert digest_path(cache, file_hash(path)).is_file()
    with Session.open(path) as s:
        b = next(b for b in s.branches() if b.data["name"] == "丙支部")
        s.save(Kind.PROBLEM, {"branch": b.id, "item": "i2", "text": "关闭时写入摘要"})
    expected = parsed(path)
    assert "关闭时写入摘要" in [p.text for br in expected.branches for p in br.problems]
    with monkeypatch.context() as m:
        no_parsing(m)
        assert load_digests([path], workers=1)[0] == [expected]
    # opening read-only, or writable without saving, writes nothing
    before = sorted(cache.iterdir())
    Session.open(path, readonly=True).close()
    Session.open(path).close()
    assert sorted(cache.iterdir()) == before


def test_a_digest_is_never_used_for_other_bytes(tmp_path, cache):
    a = small_session(tmp_path, "a.jsonl", group="甲组")
    b = small_session(tmp_path, "b.jsonl", group="乙组")
    # a's digest put under b's name (a copied or renamed cache file) is refused and rebuilt
    shutil.copy(digest_path(cache, file_hash(a)), digest_path(cache, file_hash(b)))
    facts, _ = load_digests([b], workers=1)
    assert [f.group for f in facts] == ["乙组"]
    # once the records change, the old digest (still in the cache) is never served for the new bytes
    old = digest_path(cache, file_hash(b))
    with Session.open(b) as s:
        s.save(Kind.HIGHLIGHT, {"branch": s.branches()[0].id, "item": "i1", "text": "新增亮点"})
    digest_path(cache, file_hash(b)).unlink()
    assert old.is_file()
    facts, _ = load_digests([b], workers=1)
    assert "新增亮点" in [h.text for br in facts[0].branches for h in br.highlights]


def test_a_parsed_file_that_changed_since_it_was_hashed_leaves_no_digest(tmp_path, cache):
    """The rollup hashes every file first and parses the ones without a digest later: a file
    changed in between must not leave its new facts under the old bytes' hash."""
    path = small_session(tmp_path)
    for f in cache.iterdir():
        f.unlink()
    stale = "0" * 64  # the hash the file had when the rollup looked
    got = report_inputs._parse(str(path), stale, cache)
    assert got.error is None and got.facts is not None
    assert not digest_path(cache, stale).exists() and not list(cache.iterdir())
    report_inputs._parse(str(path), file_hash(path), cache)
    assert digest_path(cache, file_hash(path)).is_file()


def test_a_forged_or_damaged_digest_is_not_used(tmp_path, cache):
    """A digest under the right name whose text was edited (the facts made better), damaged, or
    signed with another cache's key does not verify: the file is parsed again."""
    import json

    path = small_session(tmp_path, group="甲组")
    digest = digest_path(cache, file_hash(path))
    genuine = json.loads(digest.read_text(encoding="utf-8"))
    assert load_digests([path], workers=1)[0][0].group == "甲组"

    def plant(blob: dict) -> None:
        digest.write_text(json.dumps(blob, ensure_ascii=False), encoding="utf-8")

    forged = {**genuine, "body": genuine["body"].replace("甲组", "优秀组")}
    assert "优秀组" in forged["body"]
    other = tmp_path / "other-cache"
    report_digest.write_digest(other, "0" * 64, {}, {})  # another cache's key
    for blob in (forged, {**forged, "mac": keyed_cache.mac(other, file_hash(path), forged["body"], create=False)},
                 {**genuine, "mac": "0" * 64}, {"sha256": genuine["sha256"], "facts": {}}):
        plant(blob)
        facts, _ = load_digests([path], workers=1)
        assert [f.group for f in facts] == ["甲组"]
        assert json.loads(digest.read_text(encoding="utf-8")) == genuine  # rebuilt by the rollup
    digest.write_bytes(digest.read_bytes()[:100])  # torn
    assert [f.group for f in load_digests([path], workers=1)[0]] == ["甲组"]


def test_a_damaged_key_is_replaced_and_its_digests_rebuilt(tmp_path, cache):
    path = small_session(tmp_path, group="甲组")
    old = digest_path(cache, file_hash(path))
    (cache / report_digest.KEY_FILE).write_bytes(b"short")
    facts, _ = load_digests([path], workers=1)  # the old digest does not verify: parsed, signed anew
    assert [f.group for f in facts] == ["甲组"] and old.is_file()
    assert len((cache / report_digest.KEY_FILE).read_bytes()) == 32
    assert report_digest.read_digest(cache, file_hash(path), {}) is not None
