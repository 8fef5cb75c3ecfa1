"""Reading a journal back: replay its lines into tables, checking each one's place in the chain.

``replay`` is what every open does: a complete line that is not valid JSON, fails its checksum, or
is not the line that belongs where it sits (``chain_error``) raises ``JournalError`` — the caller
turns that into a message naming the line and never touches the file. A last line with no newline
is a torn, never acknowledged write and is ignored — unless it is whole and in its place, when only
its newline was lost and it is kept. ``salvage`` is the lenient reading used by recovery.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from inspect_tui.store.lines import (
    Chain,
    Link,
    RawTexts,
    check_change,
    decode_chained,
    decode_here,
    decode_line,
    is_seal,
)

Tables = dict[str, dict[str, dict]]


class JournalError(Exception):
    """A complete line of the journal is damaged (bad JSON, bad checksum or bad shape)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def apply_change(tables: Tables, obj: dict) -> None:
    name = obj["t"]
    if obj.get("drop"):
        tables.pop(name, None)
        return
    table = tables.setdefault(name, {})
    if obj.get("clear"):
        table.clear()
    for k in obj.get("del", ()):
        table.pop(k, None)
    table.update(obj.get("set", {}))


@dataclass
class Replay:
    """What reading a journal found."""

    header: dict
    header_end: int  # byte offset just after the header line
    tables: Tables = field(default_factory=dict)
    lines: int = 0  # committed change lines
    valid_size: int = 0  # bytes up to the end of the last complete commit
    file_size: int = 0
    dropped_tail: int = 0  # lines of an unfinished commit plus a torn last line (never acknowledged)
    damaged: list[JournalError] = field(default_factory=list)  # lines skipped by ``skip_damage``
    kept: list[tuple[int, int]] = field(default_factory=list)  # byte ranges of applied lines (skip mode)
    chain: Chain | None = None  # format 2: where the next line goes (after the last commit)
    sealed: bool = False  # format 2: the file ends with its seal (closed cleanly)
    seal_size: int = 0  # bytes of the seal line: part of ``file_size``, not of ``valid_size``
    open_newline: bool = False  # the last committed line is whole but lacks its "\n" (kept)
    reordered: bool = False  # ``salvage``: lines were out of order and have been put back in order

    @property
    def torn_bytes(self) -> int:
        """Bytes after the last commit (and its seal) that are ignored: a write that never returned."""
        return self.file_size - self.valid_size - self.seal_size


def iter_lines(data: bytes, start: int) -> Iterator[tuple[int, int, bytes, bool]]:
    """Yield ``(line_no, end_offset, raw, complete)`` for each line after ``start`` (line 2 on); a
    final line without newline comes last with ``complete=False``."""
    pos, n, line_no = start, len(data), 2
    while pos < n:
        nl = data.find(b"\n", pos)
        if nl < 0:
            yield line_no, n, data[pos:], False
            return
        yield line_no, nl + 1, data[pos:nl], True
        pos, line_no = nl + 1, line_no + 1


def chain_error(line_no: int, link: Link, chain: Chain) -> str | None:
    """Why a checksum-valid line is not the one that belongs at ``line_no`` (``None``: it is)."""
    if link.fid != chain.fid:
        return f"这一行属于另一个会话文件（文件标识 {link.fid}，本文件为 {chain.fid}），是被拼接进来的"
    if link.n > line_no:
        missing = link.n - line_no
        return f"这一行是原文件的第 {link.n} 行：它之前少了 {missing} 行（行被删除或次序颠倒）"
    if link.n < line_no:
        return f"这一行是原文件的第 {link.n} 行，在此重复出现或次序颠倒"
    if link.p != chain.head:
        return "这一行与上一行接不上（来自同一文件的另一份副本，或上一行被替换）"
    return None


def replay(data: bytes, header: dict, header_end: int, *, skip_damage: bool = False, raws: RawTexts | None = None,
           raw_table: str = "", chain: Chain | None = None) -> Replay:
    """Rebuild the tables from the change lines. Raises ``JournalError`` at the first damaged line.

    ``chain`` (format 2: ``Chain.after_header``) checks that every line is the one that belongs
    where it sits, and finds the seal. A last line without its newline is a torn write — unless it
    is whole and in its place: then only the newline was lost, and the line is kept.

    With ``skip_damage`` (recovery of a format-1 file; format 2 uses ``salvage``) a damaged line
    and the commit it belongs to are skipped and every intact commit after it is still applied.
    ``raws`` collects the JSON text of ``raw_table``'s documents (``_scan_set``)."""
    r = Replay(header=header, header_end=header_end, valid_size=header_end, file_size=len(data))
    pending: list[dict] = []
    group_start = line_start = header_end
    committed = (chain.n, chain.head) if chain is not None else (0, 0)
    for line_no, end, raw, complete in iter_lines(data, header_end):
        if not pending:
            group_start = line_start
        line_start = end
        err: JournalError | None = None
        obj: dict = {}
        try:
            if r.sealed:
                raise ValueError("文件已在上一行封存，其后不应再有内容")
            if not raw.strip():
                raise ValueError("空行（文件被编辑过？）")
            if chain is None:
                obj = decode_line(raw, raws, raw_table)
            else:
                here = decode_here(raw, chain, raws, raw_table)
                if here is None:  # not the line expected here: say why
                    obj, link = decode_chained(raw, raws, raw_table)
                    why = chain_error(line_no, link, chain)
                    if why is not None:
                        raise ValueError(why)
                    here = obj, link.c
                obj, crc = here
            if chain is not None and is_seal(obj):
                if pending:
                    raise ValueError("封存行出现在一次未完成的修改之中")
            else:
                check_change(obj)
        except ValueError as exc:
            if not complete and not r.sealed:  # torn tail: never acknowledged
                pending.append({})
                break
            err = JournalError(line_no, str(exc))
        if err is not None:
            if skip_damage:
                r.damaged.append(err)
                pending = []
                continue
            raise err
        if chain is not None:
            chain.n, chain.head = line_no + 1, crc
            if is_seal(obj):
                r.sealed, r.seal_size = True, end - r.valid_size
                continue
        pending.append(obj)
        if not obj.get("more"):
            for o in pending:
                apply_change(r.tables, o)
            r.lines += len(pending)
            r.valid_size = end
            r.open_newline = not complete
            if chain is not None:
                committed = (chain.n, chain.head)
            if skip_damage:
                r.kept.append((group_start, end))
            pending = []
    r.dropped_tail += len(pending)
    if chain is not None:
        chain.n, chain.head = committed
        r.chain = chain
    return r


def salvage(data: bytes, header_end: int, chain: Chain) -> tuple[Replay, list[int]]:
    """Recovery of a format-2 journal: every checksum-valid change line of *this* file (its ``f``),
    each line number once, applied in line-number order; commits with a missing line are skipped.
    A line from another file, a damaged line, a repeat and the loser of two different lines with
    one number (the other copy's) go to ``damaged``. Returns the replay and the line numbers that are missing altogether."""
    r = Replay(header={}, header_end=header_end, valid_size=header_end, file_size=len(data))
    found: dict[int, list[tuple[int, dict, Link]]] = {}
    for line_no, _end, raw, complete in iter_lines(data, header_end):
        try:
            obj, link = decode_chained(raw)
            if link.fid != chain.fid:
                raise ValueError(chain_error(line_no, link, chain))
            if not is_seal(obj):
                check_change(obj)
        except ValueError as exc:
            if complete:
                r.damaged.append(JournalError(line_no, str(exc)))
            else:
                r.dropped_tail += 1
            continue
        found.setdefault(link.n, []).append((line_no, obj, link))
    followed = {link.p for cands in found.values() for _l, _o, link in cands}
    order: list[tuple[int, dict]] = []
    positions: list[int] = []
    for n in sorted(found):
        cands = found[n]
        best = next((c for c in cands if c[2].c in followed), cands[0])
        for c in cands:
            if c is not best:
                why = (f"重复了第 {best[0]} 行" if c[2].c == best[2].c else f"与第 {best[0]} 行同为原文件第 {n} 行")
                r.damaged.append(JournalError(c[0], why))
        positions.append(best[0])
        if is_seal(best[1]):
            r.sealed = True
        else:
            order.append((n, best[1]))
    r.damaged.sort(key=lambda e: e.line)
    r.reordered = positions != sorted(positions)
    top = max(found, default=1)
    missing = [n for n in range(2, top + 1) if n not in found]
    group: list[dict] = []
    prev = 0
    for n, obj in order:
        if group and n != prev + 1:  # a line of this commit is missing: drop the commit
            r.dropped_tail += len(group)
            group = []
        group.append(obj)
        prev = n
        if not obj.get("more"):
            for o in group:
                apply_change(r.tables, o)
            r.lines += len(group)
            group = []
    r.dropped_tail += len(group)
    return r, missing
