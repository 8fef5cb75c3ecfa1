"""The session file's framing (``session_format``): every file that is not a readable session of a
format this program knows is refused with its own message — which file, which line, what is wrong
and what to do — compared whole, so that a wrong word or a wrong line number fails."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from inspect_tui.errors import UserError
from inspect_tui.store import session_format as sfmt
from inspect_tui.store.lines import Chain, encode_line
from inspect_tui.store.session_file import FORMAT, SessionFile, read_session

RECOVER = "文件未被改动。可用以下命令把损坏处之前的全部修改复制到新文件：inspect-tui session recover {p} -o 新文件"
TINYDB_HINT = "会话文件须由 inspect-tui 创建（一行一条修改的日志格式）。"


def header(**fields) -> bytes:
    return encode_line({"format": FORMAT, **fields})


def refusal(path: Path) -> str:
    with pytest.raises(UserError) as info:
        read_session(path)
    return info.value.render()


def corrupt(reason: str) -> str:
    return "{p}:1: 会话文件第 1 行已损坏：" + reason + "\n" + RECOVER


CASES = {
    "empty": (b"", "{p}: 文件是空的，不是 inspect-tui 会话文件"),
    "blank": (b" \n\t\n", "{p}: 文件是空的，不是 inspect-tui 会话文件"),
    "tinydb": (b'  {"_default": {"1": {"a": 1}}, "x": {}}',
               "{p}: 这是一个普通的 TinyDB JSON 数据库（表：_default、x），不是 inspect-tui 会话文件\n" + TINYDB_HINT),
    "tinydb-empty": (b"{}", "{p}: 这是一个普通的 TinyDB JSON 数据库（表：无），不是 inspect-tui 会话文件\n" + TINYDB_HINT),
    "json-not-tables": (b'{"a": 1}\n', "{p}:1: 不是 inspect-tui 会话文件（format 为 None）"),
    "json-array": (b"[1]\n", "{p}:1: 不是 inspect-tui 会话文件（第 1 行不是会话文件头）"),
    "json-format-table": (b'{"format": {}}', "{p}:1: 不是 inspect-tui 会话文件（format 为 {{}}）"),
    "empty-first-line": (b'\n{"format": "x", "version": 1}', "{p}:1: 不是 inspect-tui 会话文件（第 1 行不是会话文件头）"),
    "csv": ("名称,日期\n".encode(), "{p}:1: 不是 inspect-tui 会话文件（第 1 行不是会话文件头）"),
    "other-format": (encode_line({"format": "x", "version": 1}), "{p}:1: 不是 inspect-tui 会话文件（format 为 'x'）"),
    "cut-header": (header(version=2, id="ab")[:25], corrupt("文件头不完整（文件被截断？）")),
    "no-newline": (header(version=2, id="ab")[:-1], corrupt("文件头不完整（缺少换行，文件被截断？）")),
    "version-text": (header(version="2", id="ab"), corrupt("文件头的 version 无效：'2'")),
    "version-bool": (header(version=True), corrupt("文件头的 version 无效：True")),
    "version-missing": (header(id="ab"), corrupt("文件头的 version 无效：None")),
    "bad-checksum": (header(version=2, id="ab").replace(b'"id"', b' "id"'),
                     corrupt("文件头校验和不符（该行被改动或已损坏）")),
    "no-id": (header(version=2), corrupt("文件头的文件标识 id 无效：None")),
    "empty-id": (header(version=2, id=""), corrupt("文件头的文件标识 id 无效：''")),
    "upper-id": (header(version=2, id="AB"), corrupt("文件头的文件标识 id 无效：'AB'")),
    "number-id": (header(version=2, id=12), corrupt("文件头的文件标识 id 无效：12")),
    "x-id": (header(version=2, id="aXb"), corrupt("文件头的文件标识 id 无效：'aXb'")),
    "newer": (header(version=3, id="ab"),
              "{p}:1: 该会话文件由更新版本的 inspect-tui 创建（格式版本 3，本程序只支持到 2）\n"
              "请升级 inspect-tui 后再打开（made by a newer inspect-tui; upgrade）。"),
    "too-old": (header(version=0), "{p}:1: 该会话文件的格式版本 0 太旧或未知，本程序无法迁移（没有从版本 0 到 1 的迁移）"),
    "negative": (header(version=-1), "{p}:1: 该会话文件的格式版本 -1 太旧或未知，本程序无法迁移（没有从版本 -1 到 0 的迁移）"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_wrong_file_has_its_own_message(tmp_path: Path, case: str) -> None:
    data, expected = CASES[case]
    path = tmp_path / "s.jsonl"
    path.write_bytes(data)
    assert refusal(path) == expected.format(p=path)
    assert path.read_bytes() == data


def test_a_corrupt_header_says_where_and_why(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(header(version=2, id="AB"))
    with pytest.raises(sfmt.CorruptSessionError) as info:
        SessionFile.open(path)
    assert (info.value.path, info.value.line, info.value.reason) == (path, 1, "文件头的文件标识 id 无效：'AB'")
    assert [str(p) for p in info.value.problems] == [f"{path}:1: 会话文件第 1 行已损坏：文件头的文件标识 id 无效：'AB'"]


def test_format_1_needs_no_id_and_has_no_chain(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    data = header(version=1) + encode_line({"t": "records", "set": {"1": {"id": "a"}}})
    path.write_bytes(data)
    head, start = sfmt.parse_header(path, data)
    assert head == {"format": FORMAT, "version": 1} and start == data.index(b"\n") + 1
    assert sfmt.chain_after_header(head, data, start) is None
    assert read_session(path) == ({}, [{"id": "a"}], [])


def test_format_2_chain_starts_after_the_header(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    first = header(version=2, id="ab")
    data = first + b"rest"
    head, start = sfmt.parse_header(path, data)
    assert start == len(first)
    chain = sfmt.chain_after_header(head, data, start)
    expected = Chain.after_header(head, first)
    assert (chain.fid, chain.n, chain.head) == (expected.fid, expected.n, expected.head) == ("ab", 2, expected.head)


def test_migrations_run_in_turn_up_to_the_current_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sfmt.MIGRATIONS, 0, lambda t: {**t, "steps": [*t.get("steps", []), 0]})
    monkeypatch.setitem(sfmt.MIGRATIONS, 1, lambda t: {**t, "steps": [*t.get("steps", []), 1]})
    assert sfmt.migrate({}, 0) == {"steps": [0, 1]}
    assert sfmt.migrate({}, 1) == {"steps": [1]}
    assert sfmt.migrate({"x": {}}, sfmt.FORMAT_VERSION) == {"x": {}}


def test_a_new_header_is_current_and_unique() -> None:
    a, b = sfmt._header(extra=1), sfmt._header()
    assert (a["format"], a["version"], a["extra"]) == (FORMAT, sfmt.FORMAT_VERSION, 1)
    assert a["id"] != b["id"] and len(a["id"]) == 12 and int(a["id"], 16) >= 0
    assert len(a["created"]) == len("2026-11-30T18:00:00+00:00") and a["created"].endswith("+00:00")


def test_what_is_not_a_regular_readable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "missing.jsonl"
    assert refusal(missing) == f"{missing}: 会话文件不存在"
    assert refusal(tmp_path) == f"{tmp_path}: 这是一个文件夹，不是会话文件"
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    assert refusal(fifo) == f"{fifo}: 不是普通文件（管道、设备等），不是会话文件"
    locked = tmp_path / "locked.jsonl"
    locked.write_bytes(header(version=2, id="ab"))
    real_open = os.open

    def no_permission(path, *a, **kw):
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", no_permission)
    assert refusal(locked).startswith(f"{locked}: 无法读取：")


def test_not_writable_says_it_can_still_be_read(tmp_path: Path) -> None:
    error = sfmt.NotWritableError(tmp_path / "s.jsonl", "只读介质")
    assert error.render() == f"{tmp_path / 's.jsonl'}: 无法以写入方式打开：只读介质\n只需查看时可用只读方式打开。"
    assert (error.path, error.reason) == (tmp_path / "s.jsonl", "只读介质")
    assert [str(p) for p in error.problems] == [f"{tmp_path / 's.jsonl'}: 无法以写入方式打开：只读介质"]
