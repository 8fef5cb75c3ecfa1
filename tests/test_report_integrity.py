"""``report group|rollup`` judge every session file as ``merge`` does, before anything is written: a
copy cut short, a hand-edited or damaged line, an empty or foreign file is refused by name (and line),
exit 2, the output folder exactly as it was; a copy not closed cleanly only with --accept-unsealed,
and then the report says so. The digest cache never lets a broken file through."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from conftest import TINY, small_session
from pypdf import PdfReader

from inspect_tui.cli import main
from inspect_tui.core.checklist import Checklist
from inspect_tui.core.records import Kind, score_id
from inspect_tui.export import fonts
from inspect_tui.export.report_files import REPORT_PDF, ROLLUP_PDF
from inspect_tui.store import keyed_cache, report_digest
from inspect_tui.store.integrity import ends_sealed
from inspect_tui.store.report_digest import digest_path, file_hash
from inspect_tui.store.report_inputs import load_digests
from inspect_tui.store.session import Session, new_session

pytestmark = pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                                reason="needs a Chinese font and libharfbuzz-subset (see `inspect-tui doctor`)")


def text_of(pdf: Path) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in PdfReader(str(pdf)).pages))


def folder_state(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def sound(tmp_path_factory) -> Path:
    """A sealed session of the tiny checklist (甲 20/20, 乙 14/20, 丙 未评) and a second group's."""
    folder = tmp_path_factory.mktemp("sound")
    small_session(folder, "other.jsonl", group="第四观摩小组")
    return small_session(folder)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "digests"


def run(kind: str, inputs: list[Path], out: Path, cache: Path, *extra: str) -> int:
    return main(["report", kind, *map(str, inputs), "-o", str(out), "--draft", "--cache", str(cache),
                 *(["-j", "1"] if kind == "rollup" else []), *extra])


def _cut_mid_line(data: bytes, path: Path) -> tuple[bytes, str]:
    lines = data.splitlines(keepends=True)
    kept = b"".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2]  # the seal and half a record line gone
    return kept, (f"{path}:{len(lines) - 1}: 文件不完整：第 {len(lines) - 1} 行起末尾 {len(lines[-2]) // 2} 字节"
                  "是未完成的写入（拷贝被截断、程序崩溃或磁盘写满？）")


def _flipped(data: bytes, path: Path) -> tuple[bytes, str]:
    lines = data.splitlines(keepends=True)
    n = len(lines) // 2
    line = bytearray(lines[n])
    line[len(line) // 3] ^= 0x01
    return (b"".join([*lines[:n], bytes(line), *lines[n + 1:]]),
            f"{path}:{n + 1}: 会话文件第 {n + 1} 行已损坏：校验和不符（该行被改动或已损坏）")


def _hand_edited(data: bytes, path: Path) -> tuple[bytes, str]:
    """An interviewee's answer changed from 不清楚 to 很清楚 in a text editor (same length)."""
    lines = data.splitlines(keepends=True)
    n = next(k for k, line in enumerate(lines) if "不清楚".encode() in line)
    lines[n] = lines[n].replace("不清楚".encode(), "很清楚".encode())
    return b"".join(lines), f"{path}:{n + 1}: 会话文件第 {n + 1} 行已损坏：校验和不符（该行被改动或已损坏）"


def _line_removed(data: bytes, path: Path) -> tuple[bytes, str]:
    """A record line deleted by hand; the two lines before the seal and the seal itself intact."""
    lines = data.splitlines(keepends=True)
    n = len(lines) - 3
    return (b"".join([*lines[:n - 1], *lines[n:]]),
            f"{path}:{n}: 会话文件第 {n} 行已损坏：这一行是原文件的第 {n + 1} 行：它之前少了 1 行")


BROKEN = {
    "cut mid-line": _cut_mid_line,
    "line removed": _line_removed,
    "flipped byte": _flipped,
    "hand-edited line": _hand_edited,
    "zero bytes": lambda _d, p: (b"", f"{p}: 文件是空的"),
    "not a session file": lambda _d, p: ("会议记录\n第一条\n".encode(), f"{p}:1: 不是 inspect-tui 会话文件"),
}


@pytest.mark.parametrize("kind", ["group", "rollup"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_copy_is_refused_by_name_and_the_folder_stays_as_it_was(sound, tmp_path, cache, capsys, kind, case):
    out = tmp_path / "out"
    assert run(kind, [sound], out, cache) == 0  # an earlier report in the folder
    before = folder_state(out)
    assert before
    copy = tmp_path / "usb" / "visit.jsonl"
    copy.parent.mkdir()
    data, expected = BROKEN[case](sound.read_bytes(), copy)
    copy.write_bytes(data)
    capsys.readouterr()
    for accept in ([], ["--accept-unsealed"]):  # accepting unsealed files never lets a broken one in
        assert run(kind, [copy], out, cache, *accept) == 2
        err = capsys.readouterr().err
        assert expected in err and "未生成任何报告" in err and "Traceback" not in err, err
        assert "session check" in err and "session recover" in err  # what to do about it
        assert folder_state(out) == before
    assert main(["session", "check", str(copy)]) != 0  # what `session check` says of the same copy


@pytest.mark.parametrize("kind", ["group", "rollup"])
def test_a_copy_cut_after_a_line_needs_accept_unsealed_and_is_then_named(sound, tmp_path, cache, capsys, kind):
    out = tmp_path / "out"
    copy = tmp_path / "visit.jsonl"
    copy.write_bytes(b"".join(lines_of(sound)[:-1]))  # every record intact, the seal gone
    assert run(kind, [copy], out, cache) == 2
    err = capsys.readouterr().err
    assert f"{copy}：内容完好，但未正常关闭" in err and "--accept-unsealed" in err and "未生成任何报告" in err
    assert not out.exists()
    assert run(kind, [copy], out, cache, "--accept-unsealed") == 0
    err = capsys.readouterr().err
    assert "未正常关闭" in err and str(copy) in err
    pdf = out / (REPORT_PDF if kind == "group" else ROLLUP_PDF)
    text = text_of(pdf)
    assert "甲支部" in text and "乙支部" in text and "征求意见稿" in text
    assert "本稿包含1份未正常关闭（没有封存行）的会话文件，无法证明内容完整：visit.jsonl。" in text
    assert not list(cache.glob("*.json"))  # the unsealed bytes got no digest: judged again next time
    assert run(kind, [copy], out, cache) == 2


def test_a_sealed_copy_passes_and_its_figures_are_read_back(sound, tmp_path, cache, capsys):
    out = tmp_path / "out"
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(sound.read_bytes())
    assert main(["report", "group", str(copy), "-o", str(out), "--cache", str(cache)]) == 0
    assert capsys.readouterr().err == ""
    text = text_of(out / REPORT_PDF)
    assert "达标率100.0%" in text and "知晓率50.0%（1/2）" in text and "征求意见稿" not in text
    assert "未正常关闭" not in text


def test_a_session_open_in_the_app_is_unsealed_until_closed(tmp_path, cache, capsys):
    path = small_session(tmp_path)
    out = tmp_path / "out"
    with Session.open(path) as live:  # the app has it open: intact, not sealed, someone writing
        b = live.branches()[2]
        for item, score in (("i1", 6), ("i2", 6), ("i3", 5)):
            live.save(Kind.SCORE, {"branch": b.id, "item": item, "score": score}, score_id(b.id, item, "张伟"))
        assert main(["report", "group", str(path), "-o", str(out), "--cache", str(cache)]) == 2
        assert "正被写入" in capsys.readouterr().err and not out.exists()
    assert main(["report", "group", str(path), "-o", str(out), "--cache", str(cache)]) == 0
    text = text_of(out / REPORT_PDF)
    assert "丙支部" in text and "未评完的支部" not in text  # the scores saved in the app are in


def test_another_checklist_mixed_in_is_refused_by_name(sound, tmp_path, cache, capsys):
    other = dict(TINY, version="2")
    path = tmp_path / "v2.jsonl"
    with new_session(tmp_path, group="第五观摩小组", day=dt.date(2026, 11, 21), inspector="李强",
                     checklist=Checklist.model_validate(other), branches=["丁支部"], path=path) as s:
        b = s.branches()[0]
        for item, score in (("i1", 6), ("i2", 6), ("i3", 8)):
            s.save(Kind.SCORE, {"branch": b.id, "item": item, "score": score}, score_id(b.id, item, "李强"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "note.txt").write_text("leader's own file")
    before = folder_state(out)
    assert main(["report", "group", str(sound), str(path), "-o", str(out), "--draft", "--cache", str(cache)]) == 2
    err = capsys.readouterr().err
    assert "v2.jsonl" in err and sound.name in err and "Traceback" not in err
    assert folder_state(out) == before


def test_every_broken_input_is_named_at_once(sound, tmp_path, cache, capsys):
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(_cut_mid_line(sound.read_bytes(), cut)[0])
    edited = tmp_path / "edited.jsonl"
    edited.write_bytes(_hand_edited(sound.read_bytes(), edited)[0])
    gone = tmp_path / "gone.jsonl"
    assert main(["report", "rollup", str(cut), str(gone), str(sound), str(edited), "-o", str(tmp_path / "out"),
                 "--draft", "--cache", str(cache), "-j", "1"]) == 2
    err = capsys.readouterr().err
    named = [err.index(f"{p}:") for p in (cut, gone, edited)]
    assert "3 个会话文件有问题" in err and named == sorted(named) and f"{sound}:" not in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the digest cache


def test_a_torn_file_whose_sound_version_had_a_digest_is_refused(sound, tmp_path, cache, capsys):
    path = tmp_path / "visit.jsonl"
    path.write_bytes(sound.read_bytes())
    out = tmp_path / "out"
    assert run("rollup", [path], out, cache) == 0
    assert digest_path(cache, file_hash(path)).is_file()  # the sound bytes' digest
    before = folder_state(out)
    for data in (_cut_mid_line(sound.read_bytes(), path)[0], b"".join(lines_of(sound)[:-1])):
        path.write_bytes(data)
        assert run("rollup", [path], out, cache) == 2
        assert str(path) in capsys.readouterr().err
        assert folder_state(out) == before


def test_a_digest_left_for_torn_bytes_is_not_trusted(sound, tmp_path, cache, capsys):
    """A cache may hold a digest for bytes that were never judged sealed — written before reports
    judged their inputs (no ``sealed`` mark), or planted under the cache's own key: neither makes a
    torn copy pass."""
    path = tmp_path / "visit.jsonl"
    path.write_bytes(sound.read_bytes())
    facts, checklists = load_digests([path], cache=cache, workers=1)
    good = json.loads(digest_path(cache, file_hash(path)).read_text(encoding="utf-8"))
    torn = _cut_mid_line(sound.read_bytes(), path)[0]
    path.write_bytes(torn)
    sha = hashlib.sha256(torn).hexdigest()
    content = json.loads(good["body"])
    old_body = json.dumps({"facts": content["facts"], "checklist": content["checklist"]}, ensure_ascii=False)
    for body in (old_body, good["body"]):  # an old-format digest, then one marked sealed
        blob = {"sha256": sha, "mac": keyed_cache.mac(cache, sha, body, create=False), "body": body}
        digest_path(cache, sha).write_text(json.dumps(blob, ensure_ascii=False), encoding="utf-8")
        assert run("group", [path], tmp_path / "out", cache) == 2
        assert f"{path}:" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_ends_sealed_looks_at_the_last_line_only_as_far_as_it_must(sound):
    data = sound.read_bytes()
    lines = data.splitlines(keepends=True)
    assert ends_sealed(data)
    assert not ends_sealed(b"".join(lines[:-1]))  # cut after a line
    assert not ends_sealed(data[:-1])  # the seal's newline gone
    # A line removed further up is not seen here — the whole file's hash sees it (see BROKEN)
    assert ends_sealed(b"".join([*lines[:-3], lines[-2], lines[-1]]))
    assert not ends_sealed(b"".join([*lines[:-1], lines[-1].replace(b'"seal":true', b'"seal":tru1')]))
    assert not ends_sealed(b"".join([*lines[:-2], lines[-1]]))  # the seal moved up a line: not chained
    other = lines_of(sound.parent / "other.jsonl")
    assert not ends_sealed(b"".join([*lines[:-1], other[-1]]))  # another file's seal
    assert not ends_sealed(b"") and not ends_sealed(b"\n") and not ends_sealed(lines[0])
    from inspect_tui.store.lines import Chain

    header = json.loads(lines[0])
    assert ends_sealed(lines[0] + Chain.after_header(header, lines[0]).seal())  # nothing but the header and seal


def test_a_close_whose_seal_failed_leaves_no_digest(tmp_path, monkeypatch):
    from inspect_tui.store.journal import JournalStorage

    path = small_session(tmp_path)
    cache = Path(report_digest.default_cache_dir())
    with Session.open(path) as s:
        s.save(Kind.HIGHLIGHT, {"branch": s.branches()[0].id, "item": "i1", "text": "新亮点"})

        def full_disk(_self) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(JournalStorage, "seal", full_disk)
        with pytest.warns(UserWarning, match="封存"):
            s.close()
    assert not ends_sealed(path.read_bytes())
    assert not digest_path(cache, file_hash(path)).exists()


def test_the_leaders_answer_on_a_terminal_decides_like_the_flag():
    from inspect_tui.errors import UserError
    from inspect_tui.store.report_inputs import Unsealed

    found = [("a.jsonl", "内容完好，但未正常关闭")]
    asked: list[list[str]] = []
    warned: list[str] = []

    def answer(yes: bool | None):
        def confirm(lines: list[str]) -> bool | None:
            asked.append(lines)
            return yes
        return confirm

    accepting = Unsealed(None, answer(True), warned.extend)
    accepting.decide(found)
    assert asked[-1] == ["以下文件没有正常关闭（没有封存行），无法证明内容完整：", "  a.jsonl：内容完好，但未正常关闭"]
    assert warned == ["注意：报告包含 1 个未正常关闭的会话文件，内容可能不完整：", "  a.jsonl"]
    assert accepting.accepted == ["a.jsonl"]
    for no in (False, None):  # "no", or no terminal to ask on
        with pytest.raises(UserError) as refused:
            Unsealed(None, answer(no), warned.extend).decide(found)
        assert refused.value.message == "有会话文件未正常关闭，未生成任何报告：\n" + "\n".join(asked[-1])
        assert "--accept-unsealed" in refused.value.hint
    asked.clear()
    Unsealed(True, answer(False)).decide(found)  # the flag: not asked
    with pytest.raises(UserError):
        Unsealed(False, answer(True)).decide(found)
    assert asked == []
    Unsealed().decide([])  # nothing unsealed: nothing asked, nothing refused


def test_remember_file_keeps_digests_of_sealed_files_only(sound, tmp_path, cache):
    from inspect_tui.store.report_inputs import remember_file

    unsealed = tmp_path / "unsealed.jsonl"
    unsealed.write_bytes(b"".join(lines_of(sound)[:-1]))
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(_cut_mid_line(sound.read_bytes(), torn)[0])
    for path in (unsealed, torn):
        remember_file(path, cache)
    assert not cache.exists() or not list(cache.glob("*.json"))
    remember_file(sound, cache)
    assert digest_path(cache, file_hash(sound)).is_file()


def test_a_read_error_while_parsing_is_a_file_named_message(sound, tmp_path, monkeypatch):
    from inspect_tui.store import report_inputs

    def failing(path, data):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(report_inputs, "examine", failing)
    got = report_inputs._parse(str(sound), file_hash(sound), tmp_path)
    assert got == (None, None, f"{sound}: 无法读取：Input/output error", None)
