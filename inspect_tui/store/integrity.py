"""How sound a session file is, told in full — and the recovery of what is intact.

``examine`` reads a file without locking or changing it and says which of these it is in:

* **sealed** — every line intact and in its place, and the file ends with its seal: it was closed
  cleanly and nothing is missing (a cut copy cannot end with the right seal);
* **open** — intact, not sealed, and a writer holds its lock right now: the live file of a running
  app, which seals it on closing;
* **unsealed** — intact but not closed cleanly, and nobody has it open: the app crashed, or this is
  a copy cut exactly after a line (or taken while the app was running). The file cannot tell these
  apart, and says so. A format-1 file has no seal and is always here;
* **torn** — a last write that never finished (N bytes) is ignored; what precedes it is intact;
* **damaged** — a complete line is wrong (checksum, or not the line that belongs there: removed,
  repeated, reordered, from another file); its number and the reason are given.

``EXIT_CODES`` gives ``session check`` one exit code per state. ``refuse_broken`` is the refusal
of a torn or damaged file by a command that reads it whole (a report); ``ends_sealed`` the cheap
look at a file's last line that the report's digest cache relies on. ``recover`` copies every
intact commit into a new file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from inspect_tui.errors import file_error
from inspect_tui.store import evidence
from inspect_tui.store.journal import journal_chunks, paused_gc, write_atomic
from inspect_tui.store.lines import Chain, decode_chained, is_seal, line_crc
from inspect_tui.store.lock import holder
from inspect_tui.store.replay import JournalError, Replay, replay, salvage
from inspect_tui.store.session_file import META, RECORDS
from inspect_tui.store.session_format import (
    CHAINED_SINCE,
    CorruptSessionError,
    _header,
    _read_bytes,
    chain_after_header,
    migrate,
    parse_header,
)


class State(Enum):
    SEALED = "sealed"
    OPEN = "open"
    UNSEALED = "unsealed"
    TORN = "torn"
    DAMAGED = "damaged"


#: ``session check``'s exit code per state (2 is kept for "not a session file / cannot be read").
EXIT_CODES = {State.SEALED: 0, State.OPEN: 0, State.UNSEALED: 4, State.TORN: 5, State.DAMAGED: 6}


@dataclass
class Examined:
    """What ``examine`` found. ``replay`` (the tables) is there unless the file is damaged."""

    path: Path
    state: State
    version: int
    replay: Replay | None = None
    damaged_line: int | None = None
    reason: str = ""
    writer: dict | None = None  # who holds the write lock, if anyone

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]

    @property
    def sound(self) -> bool:
        return self.state in (State.SEALED, State.OPEN)

    def describe(self) -> str:
        """One line in Chinese: the state and what can be told about it."""
        r = self.replay
        if self.state is State.DAMAGED:
            return f"已损坏：第 {self.damaged_line} 行{self.reason}"
        assert r is not None
        notes = []
        if r.open_newline:
            notes.append("最后一行缺少换行符，该行完整，已保留")
        if self.state is State.SEALED:
            text = f"完好，已正常关闭（封存于第 {r.lines + 2} 行）"
        elif self.state is State.OPEN:
            text = f"完好，正被写入（{_who(self.writer)}），关闭时封存"
        else:
            text = "内容完好，但未正常关闭"
            if self.state is State.TORN:
                text = f"末尾 {r.torn_bytes} 字节是未完成的写入，已忽略；其前内容完好，未正常关闭"
            if self.writer is not None:
                text += f"；正被写入（{_who(self.writer)}）"
            elif self.version < CHAINED_SINCE:
                text += f"：格式版本 {self.version} 没有封存，无法证明完整（以写入方式打开一次即升级到当前格式）"
            elif self.state is State.TORN:
                text += "：没有进程在写入——程序曾在写入中途崩溃，或这是中途截断的副本"
            else:
                text += "：没有进程在写入——程序曾崩溃，或这是在某行之后被截断（或在写入中途拷贝）的副本，无法区分"
        return "；".join([text, *notes])


def _who(writer: dict | None) -> str:
    writer = writer or {}
    return f"pid {writer.get('pid', '未知')}，主机 {writer.get('host', '未知')}"


def examine(path: str | Path, data: bytes | None = None) -> Examined:
    """The whole truth about ``path`` (never modified, never locked). A file that is not a session
    file at all, cannot be read or is of a newer format raises ``UserError`` as when opening."""
    path = Path(path)
    if data is None:
        data = _read_bytes(path)
    try:
        header, start = parse_header(path, data)
    except CorruptSessionError as exc:
        return Examined(path, State.DAMAGED, 0, damaged_line=exc.line, reason=f"：{exc.reason}")
    try:
        with paused_gc():
            r = replay(data, header, start, raw_table=RECORDS, chain=chain_after_header(header, data, start))
    except JournalError as exc:
        return Examined(path, State.DAMAGED, header["version"], damaged_line=exc.line, reason=f"：{exc.reason}")
    r.tables = migrate(r.tables, header["version"])
    return judge(path, r)


def judge(path: Path, r: Replay) -> Examined:
    """The state of ``path``, replayed as ``r`` without damage: sealed, open, unsealed or torn."""
    version = r.header["version"]
    writer = holder(path)
    if r.torn_bytes:
        state = State.TORN
    elif r.sealed:
        state = State.SEALED
    elif writer is not None and version >= CHAINED_SINCE:
        state = State.OPEN
    else:
        state = State.UNSEALED
    return Examined(path, state, version, r, writer=writer)


def refuse_broken(found: Examined) -> None:
    """Raise the file-named refusal of a file that is damaged (the line and what is wrong with it)
    or torn (where its unfinished last write starts); an intact file passes, sealed or not."""
    if found.state is State.DAMAGED:
        raise CorruptSessionError(found.path, found.damaged_line or 1, found.reason.removeprefix("："))
    if found.state is State.TORN:
        r = found.replay
        assert r is not None
        line = r.lines + 2  # the header, then every committed line: the unfinished write starts here
        raise file_error(found.path, f"文件不完整：第 {line} 行起末尾 {r.torn_bytes} 字节是未完成的写入"
                                     "（拷贝被截断、程序崩溃或磁盘写满？）", line=line)


def ends_sealed(data: bytes) -> bool:
    """Whether the last line of ``data`` is a seal of this very file: checksum right, the header's
    file id, chained to the line before it. Looks at the header and the last two lines only, not at
    what lies between — the report's digest cache pairs it with the whole file's hash, which must
    equal that of bytes once replayed in full and found sealed. False for anything else."""
    if not data.endswith(b"\n"):
        return False
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    header_end = data.find(b"\n") + 1
    if start < header_end or header_end == 0:
        return False
    before = data.rfind(b"\n", 0, start - 1) + 1
    try:
        obj, link = decode_chained(data[start:-1])
        fid = json.loads(data[:header_end])["id"]
        return is_seal(obj) and link.fid == fid and link.p == line_crc(data[before:start])
    except (ValueError, KeyError, TypeError):
        return False


# --------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class RecoverReport:
    source: Path
    out: Path
    kept: int  # change lines copied
    dropped: int  # complete lines at and after the damage, plus an unfinished last write
    damaged_line: int | None  # first damaged line, None if none was found
    reason: str
    records: int  # records in the recovered file
    header_rebuilt: bool = False
    damaged_lines: tuple[int, ...] = ()
    missing_lines: tuple[int, ...] = ()  # format 2: line numbers found nowhere in the file
    reordered: bool = False  # format 2: lines were found out of order (put back in order)

    def __str__(self) -> str:
        lines = [f"已写入 {self.out}：保留 {self.kept} 条修改，丢弃 {self.dropped} 行，"
                 f"共 {self.records} 条记录。"]
        if self.damaged_line is not None:
            lines.append(f"{self.source} 第 {_some(self.damaged_lines)} 行已损坏或不属于此处（{self.reason}），"
                         "其余完好的修改均已保留。")
        if self.missing_lines:
            lines.append(f"{self.source} 缺少原文件的第 {_some(self.missing_lines)} 行（已被删除或截断），"
                         "这些修改无法找回。")
        if self.reordered:
            lines.append(f"{self.source} 中有次序颠倒的行，已按原行号放回。")
        torn = self.dropped and self.damaged_line is None and not self.missing_lines
        if torn:
            lines.append(f"{self.source} 末尾是未完成的写入（拷贝被截断，或写入中途中断），已丢弃 {self.dropped} 行；"
                         "其前完好的修改均已保留。若是拷贝不完整，原文件中可能还有更多记录。")
        if self.damaged_line is None and not self.missing_lines and not self.reordered and not torn:
            lines.append(f"{self.source} 中没有发现损坏。")
        if self.header_rebuilt:
            lines.append("原文件头已损坏，已按当前格式重写文件头。")
        return "\n".join(lines)


def _some(numbers: tuple[int, ...]) -> str:
    return "、".join(map(str, numbers[:10])) + ("…" if len(numbers) > 10 else "")


def recover(path: str | Path, out: str | Path) -> RecoverReport:
    """Copy every intact commit of ``path`` into a new, sealed file ``out`` (atomically). ``path`` is
    never modified; ``out`` must not exist yet.

    Format 2: every checksum-valid line of this file (its ``f``) counts once, in the order of its
    line number — so reordered lines are put back, repeats and lines from other files are left
    out, and a commit loses only the lines that are gone. Format 1 (no chain): every intact commit,
    in file order."""
    path, out = Path(path), Path(out)
    if out.exists():
        raise file_error(out, "输出文件已存在，请换一个文件名")
    if not out.parent.is_dir():
        raise file_error(out, f"文件夹 {out.parent} 不存在")
    data = _read_bytes(path)
    header_rebuilt = False
    try:
        header, start = parse_header(path, data)
        chain = chain_after_header(header, data, start)
    except CorruptSessionError:
        # Only a damaged header of what is otherwise our journal is rebuilt; a newer version, an
        # empty file or a foreign format is refused as when opening.
        nl = data.find(b"\n")
        start = len(data) if nl < 0 else nl + 1
        header, chain, header_rebuilt = {"version": 1}, _chain_of_lines(data, start), True
    missing: list[int] = []
    if chain is not None:
        r, missing = salvage(data, start, chain)
    else:
        r = replay(data, header, start, skip_damage=True)
        r.tables = migrate(r.tables, header["version"])
    if not r.tables.get(META):
        raise file_error(path, "找不到会话信息（观摩小组、日期、观摩员等所在的一行已损坏或缺失，文件可能在开头就被截断）："
                               "无法写出可用的会话文件，未写入任何内容", hint="请找回原文件的完整副本。")
    total = data.count(b"\n", start) + (0 if data.endswith(b"\n") or len(data) <= start else 1)
    new = _header(recovered=True, **({"recovered_from": header["id"]} if "id" in header else {}))
    write_atomic(out, journal_chunks(new, r.tables))
    evidence.carry([path], out, r.tables.get(RECORDS, {}).values())  # the photos go with the records
    first = r.damaged[0] if r.damaged else None
    return RecoverReport(path, out, r.lines, total - r.lines - r.sealed, first.line if first else None,
                         first.reason if first else "", len(r.tables.get(RECORDS, {})), header_rebuilt,
                         tuple(e.line for e in r.damaged), tuple(missing), r.reordered)


def _chain_of_lines(data: bytes, start: int) -> Chain | None:
    """For a damaged header: the chain of the first format-2 line after it, if there is one."""
    end = data.find(b"\n", start)
    try:
        _obj, link = decode_chained(data[start:end if end >= 0 else len(data)])
    except ValueError:
        return None
    return Chain(link.fid, 2, link.p)
