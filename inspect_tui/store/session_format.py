"""The session file's framing: what line 1 says, which formats exist and how an older one is
brought up to date, and how a file is read and recognised before it is replayed.

Kept apart from ``session_file`` (the open file and its writes) because ``integrity`` and
``session check`` need these rules without opening anything for writing.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspect_tui.errors import Problem, UserError, file_error, os_reason
from inspect_tui.store.journal import O_BINARY
from inspect_tui.store.lines import Chain, decode_line
from inspect_tui.store.replay import Tables

FORMAT = "inspect-tui-session"
FORMAT_VERSION = 2


def _framing_only(tables: Tables) -> Tables:
    """Format 1 → 2: the documents are unchanged; the lines gain their chain and the file its seal,
    which rewriting the file in format 2 provides."""
    return tables


#: ``MIGRATIONS[v]`` turns the tables of a format-``v`` file into format ``v + 1``; the file is then
#: written anew in the current framing (``journal_chunks``), whatever changed.
MIGRATIONS: dict[int, Callable[[Tables], Tables]] = {1: _framing_only}

#: The first format whose lines are chained and whose files are sealed (format 1 has neither).
CHAINED_SINCE = 2


def chain_after_header(header: dict, data: bytes, start: int) -> Chain | None:
    """Where line 2 of ``data`` goes in the chain; ``None`` for a format without one."""
    return Chain.after_header(header, data[:start]) if header["version"] >= CHAINED_SINCE else None


def migrate(tables: Tables, version: int) -> Tables:
    """The tables of a format-``version`` file in the current format (``MIGRATIONS``, in turn)."""
    for v in range(version, FORMAT_VERSION):
        tables = MIGRATIONS[v](tables)
    return tables


_RECOVER_HINT = ("文件未被改动。可用以下命令把损坏处之前的全部修改复制到新文件："
                 "inspect-tui session recover {path} -o 新文件")


def _now() -> datetime:
    return datetime.now(UTC)


def new_file_id() -> str:
    """A file's identity, bound into every line by the chain: new each time a file is written whole."""
    return secrets.token_hex(6)


def _header(**extra: Any) -> dict:
    return {"format": FORMAT, "version": FORMAT_VERSION, "id": new_file_id(),
            "created": _now().isoformat(timespec="seconds"), **extra}


def _read_bytes(path: Path) -> bytes:
    """The whole file. Opened non-blocking and checked to be a regular file first: a FIFO or a
    device given as a session file is refused instead of hanging the program."""
    try:
        fd = os.open(path, os.O_RDONLY | O_BINARY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError
            if not stat.S_ISREG(mode):
                raise file_error(path, "不是普通文件（管道、设备等），不是会话文件")
            return f.read()
    except FileNotFoundError:
        raise file_error(path, "会话文件不存在") from None
    except IsADirectoryError:
        raise file_error(path, "这是一个文件夹，不是会话文件") from None
    except OSError as exc:
        raise file_error(path, f"无法读取：{os_reason(exc)}") from None


class CorruptSessionError(UserError):
    """A complete line of the session file (or its header) is damaged; the file was not touched."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        problem = Problem(str(path), f"会话文件第 {line} 行已损坏：{reason}", line)
        super().__init__(str(problem), problems=[problem], hint=_RECOVER_HINT.format(path=path))
        self.path = path
        self.line = line
        self.reason = reason


class NotWritableError(UserError):
    """The file cannot be opened for writing (read-only media, no permission, cannot be upgraded in
    place); nothing was changed. It can still be opened read-only: ``SessionFile.open(path,
    readonly=True)`` takes no lock and refuses every write."""

    def __init__(self, path: Path, reason: str, hint: str = "只需查看时可用只读方式打开。") -> None:
        problem = Problem(str(path), f"无法以写入方式打开：{reason}")
        super().__init__(str(problem), problems=[problem], hint=hint)
        self.path = path
        self.reason = reason


def _corrupt(path: Path, line: int, reason: str) -> UserError:
    return CorruptSessionError(path, line, reason)


def _not_session(path: Path, data: bytes) -> UserError | None:
    """Recognise files that are something else, so the message can say what they are."""
    if not data.strip():
        return file_error(path, "文件是空的，不是 inspect-tui 会话文件")
    if data.lstrip()[:1] == b"{":
        try:
            whole = json.loads(data)
        except ValueError:
            return None
        if (isinstance(whole, dict) and "format" not in whole
                and all(isinstance(v, dict) for v in whole.values())):
            tables = "、".join(sorted(whole)) or "无"
            return file_error(path, f"这是一个普通的 TinyDB JSON 数据库（表：{tables}），"
                                    "不是 inspect-tui 会话文件",
                              hint="会话文件须由 inspect-tui 创建（一行一条修改的日志格式）。")
    return None


def parse_header(path: Path, data: bytes) -> tuple[dict, int]:
    """Check line 1; return the header and the offset where the change lines start."""
    nl = data.find(b"\n")
    first = data if nl < 0 else data[:nl]
    try:
        loose = json.loads(first)
    except ValueError:
        loose = None
    if not (isinstance(loose, dict) and "format" in loose):  # (parsing a whole session costs 80 ms per 40 MB)
        other = _not_session(path, data)
        if other is not None:
            raise other
    if not isinstance(loose, dict):
        if first.startswith(b'{"format"'):
            raise _corrupt(path, 1, "文件头不完整（文件被截断？）")
        raise file_error(path, "不是 inspect-tui 会话文件（第 1 行不是会话文件头）", line=1)
    if loose.get("format") != FORMAT:
        raise file_error(path, f"不是 inspect-tui 会话文件（format 为 {loose.get('format')!r}）", line=1)
    version = loose.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _corrupt(path, 1, f"文件头的 version 无效：{version!r}")
    if version > FORMAT_VERSION:
        raise file_error(path, f"该会话文件由更新版本的 inspect-tui 创建（格式版本 {version}，"
                               f"本程序只支持到 {FORMAT_VERSION}）", line=1,
                         hint="请升级 inspect-tui 后再打开（made by a newer inspect-tui; upgrade）。")
    if nl < 0:
        raise _corrupt(path, 1, "文件头不完整（缺少换行，文件被截断？）")
    try:
        header = decode_line(first)
    except ValueError as exc:
        raise _corrupt(path, 1, f"文件头{exc}") from None
    if version >= CHAINED_SINCE and not (isinstance(header.get("id"), str) and header["id"]
                             and all(ch in "0123456789abcdef" for ch in header["id"])):
        raise _corrupt(path, 1, f"文件头的文件标识 id 无效：{header.get('id')!r}")
    if version < FORMAT_VERSION:
        missing = [v for v in range(version, FORMAT_VERSION) if v not in MIGRATIONS]
        if missing:
            raise file_error(path, f"该会话文件的格式版本 {version} 太旧或未知，本程序无法迁移"
                                   f"（没有从版本 {missing[0]} 到 {missing[0] + 1} 的迁移）", line=1)
    return header, nl + 1
