"""Reading the sessions a report is made from: whole sessions for one group, cached digests for many.

One group's workbook needs each whole session, opened read-only (it lists every interview and
every rectification item, which only the records hold). A rollup over hundreds of sessions needs only
the facts (``core.report_facts``) — a few kilobytes per session instead of megabytes — so it keeps
them in a *digest cache* (``store.report_digest``): one JSON file per session, named by the SHA-256
of the session file's bytes. A session that changes has another hash, so a stale digest is never
used; a digest that cannot be used is simply rebuilt. ``merge`` (a large one in a forked helper
that parses its output on the other core, a small one from the records in memory) and a
closing ``Session`` write the digest of what they wrote; sessions still without one are parsed in
a process pool (parsing is pure Python and CPU-bound), each worker storing the digest it made. One
group's report takes its facts from the digests too, and reads the whole sessions only for its
workbook. See docs/benchmarks.md for the figures.

Every input is judged as ``merge`` judges it (``store.integrity``) before anything is written: a
damaged or torn file is refused by name, line and what is wrong; an intact file that was not
closed cleanly (no seal) is refused unless the leader accepts it (``Unsealed``). Only sealed bytes
ever get a digest, so the warm path judges by the hash it computes anyway (plus a look at the last
line): a file without a digest is replayed in full, every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.report_facts import SessionFacts, session_facts
from inspect_tui.core.versions import RecordDoc
from inspect_tui.errors import UserError, file_error
from inspect_tui.store.integrity import Examined, State, examine, refuse_broken
from inspect_tui.store.journal import JournalStorage, paused_gc
from inspect_tui.store.report_digest import (
    default_cache_dir,
    file_hash,
    read_digest,
    remember,
    sealed_hash,
    write_digest,
)
from inspect_tui.store.session import Session, checklist_for
from inspect_tui.store.session_file import SessionFile, UncleanSessionWarning
from inspect_tui.store.session_format import _read_bytes

BROKEN_HINT = ("用 inspect-tui session check 文件 查看详情，从原电脑重新拷贝，或用 session recover 找回完好的部分；"
               "也可以不把该文件列入报告。")
UNSEALED_HINT = ("从仍在使用或已崩溃的电脑上重新拷贝（先正常退出程序），或确认这些文件已完整后加 "
                 "--accept-unsealed 生成报告。")


def open_sessions(paths: Sequence[Path]) -> list[Session]:
    """Every session read-only; if one cannot be opened, the others are closed and its error raised."""
    sessions: list[Session] = []
    try:
        for p in paths:
            sessions.append(_open(p))
    except BaseException:
        for s in sessions:
            s.close()
        raise
    return sessions


def _open(path: Path) -> Session:
    """Read-only. A report has judged its inputs already (refused, or accepted and said so), so the
    store's notice of a file not closed cleanly would only say it a second time."""
    if not Path(path).is_file():
        raise file_error(path, "会话文件不存在" if not Path(path).exists() else "不是会话文件")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncleanSessionWarning)
            return Session.open(path, readonly=True)
    except OSError as exc:
        raise file_error(path, f"无法读取：{exc.strerror or exc}") from None


def facts_of(session: Session) -> SessionFacts:
    return session_facts(session.meta, session.checklist, session.index, str(session.path))


@dataclass(frozen=True)
class Unsealed:
    """What a report does with inputs that are intact but were not closed cleanly (no seal: the app
    crashed or is writing the file now, or the copy was cut exactly after a line — the file cannot
    tell which): refused unless ``accept`` or a yes from ``confirm`` (asked on a terminal; ``None``
    is no answer); once accepted, ``warn`` is given the lines naming them and ``accepted`` holds
    them (a draft lists them on its first page). As ``merge`` does."""

    accept: bool | None = None
    confirm: Callable[[list[str]], bool | None] | None = None
    warn: Callable[[list[str]], None] | None = None
    accepted: list[str] = field(default_factory=list)

    def decide(self, found: Sequence[tuple[str, str]]) -> None:
        """Refuse ``found`` ((path, what ``integrity`` says of it)) unless accepted; warn if accepted."""
        if not found:
            return
        lines = ["以下文件没有正常关闭（没有封存行），无法证明内容完整：", *(f"  {p}：{what}" for p, what in found)]
        accept = self.accept
        if accept is None and self.confirm is not None:
            accept = self.confirm(lines)
        if not accept:
            raise UserError("有会话文件未正常关闭，未生成任何报告：\n" + "\n".join(lines), hint=UNSEALED_HINT)
        if self.warn is not None:
            self.warn([f"注意：报告包含 {len(found)} 个未正常关闭的会话文件，内容可能不完整：",
                       *(f"  {p}" for p, _what in found)])
        self.accepted.extend(p for p, _what in found)


class Judged(NamedTuple):
    """A file read for a report, as one worker sends it back: its facts and checklist (JSON), or why
    it is refused (text: a worker's exception would reach the user as a traceback); ``unsealed``
    says what ``integrity`` makes of an intact file that is not sealed."""

    facts: dict | None
    checklist: dict | None
    error: str | None
    unsealed: str | None = None


def judged_session(path: Path, data: bytes) -> tuple[Session, Examined]:
    """The session in ``data`` (the bytes of ``path``), read-only, with the verdict on them; a file
    that is damaged or torn — or not a session file at all — is a file-named ``UserError``."""
    found = examine(path, data)
    refuse_broken(found)
    r = found.replay
    assert r is not None
    return Session(SessionFile(path, JournalStorage(path, r, fd=None), None, r.header)), found


def remember_file(path: Path, cache: Path | None = None, *, branch_list: bool = False) -> None:
    """Best effort: the digest of the session file ``path`` as read back from disk (what
    ``remember_records`` must equal) — if it is sealed. A file that cannot be read as a session, or
    is not sealed, gets none (the report will say why). ``branch_list``: the app's stored branches
    list of it too (``store.branch_table``), from the same read."""
    with contextlib.suppress(UserError, OSError):
        data = _read_bytes(path)
        s, found = judged_session(path, data)
        with s:
            if found.state is State.SEALED:
                remember(path, hashlib.sha256(data).hexdigest(), s.meta, s.checklist, s.index, cache)
                if branch_list:
                    from inspect_tui.store.branch_table import remember_list

                    remember_list(path, s)


def remember_records(path: Path, sha: str, meta: SessionMeta, records: Iterable[RecordDoc],
                     cache: Path | None = None) -> None:
    """Best effort, right after a small ``merge`` (or one in a program with threads: the app) wrote
    ``records`` to ``path`` as bytes hashing to ``sha`` (under the output's lock): the digest built
    from the records still in memory — the same facts ``remember_file`` would get by parsing the
    file again. A large merge from the CLI leaves that parse to a forked helper instead
    (``merge_files._digest_helper``), off the merge's own time."""
    with contextlib.suppress(UserError, OSError, ValueError):
        remember(path, sha, meta, checklist_for(path, meta), RecordIndex(records), cache)


def _parse(path: str, sha: str, cache: Path) -> Judged:
    """Worker: one file read once, judged (``judged_session``) and its facts taken; the digest is
    stored under ``sha`` only if the bytes are sealed and still hash to it — a file changed since
    it was hashed must not leave its new facts under the old bytes' name."""
    try:
        data = _read_bytes(Path(path))
        with paused_gc():  # no cycles to find: 30 % less CPU
            s, found = judged_session(Path(path), data)
            with s:
                facts, checklist = facts_of(s).to_json(), s.checklist.model_dump(mode="json")
        if found.state is State.SEALED and hashlib.sha256(data).hexdigest() == sha:
            write_digest(cache, sha, facts, checklist)
        return Judged(facts, checklist, None, None if found.state is State.SEALED else found.describe())
    except UserError as exc:
        return Judged(None, None, _told(exc))
    except OSError as exc:
        return Judged(None, None, f"{path}: 无法读取：{exc.strerror or exc}")


def load_digests(paths: Sequence[Path], *, cache: Path | None = None, workers: int | None = None,
                 progress: Callable[[int, int], None] | None = None, unsealed: Unsealed | None = None
                 ) -> tuple[list[SessionFacts], dict[str, Checklist]]:
    """Facts of every session (from the cache when its digest is there) and the checklists by
    content hash. Every session that cannot be read, is damaged or torn is reported together;
    sessions not closed cleanly are refused or accepted by ``unsealed``."""
    facts, checklists, _hashes = hashed_digests(paths, cache=cache, workers=workers, progress=progress,
                                                unsealed=unsealed)
    return facts, checklists


def hashed_digests(paths: Sequence[Path], *, cache: Path | None = None, workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None, unsealed: Unsealed | None = None
                   ) -> tuple[list[SessionFacts], dict[str, Checklist], list[str]]:
    """``load_digests``, with the SHA-256 of each file the facts stand for."""
    with paused_gc():  # a rollup reads ~1M objects of facts and no cycles (see ``paused_gc``)
        return _hashed_digests(paths, cache or default_cache_dir(), workers, progress, unsealed or Unsealed())


def _hashed_digests(paths: Sequence[Path], cache: Path, workers: int | None,
                    progress: Callable[[int, int], None] | None, unsealed: Unsealed
                    ) -> tuple[list[SessionFacts], dict[str, Checklist], list[str]]:
    hashed = _sealed_hashes(paths)
    facts: list[SessionFacts | None] = [None] * len(paths)
    checklists: dict[str, Checklist] = {}
    errors = {k: h for k, h in enumerate(hashed) if isinstance(h, str)}  # files that cannot be read
    shas = ["" if isinstance(h, str) else h[0] for h in hashed]
    todo: list[int] = []
    for k, h in enumerate(hashed):
        if isinstance(h, str):
            continue
        loaded = read_digest(cache, shas[k], checklists) if h[1] else None
        if loaded is None:
            todo.append(k)
            continue
        facts[k] = _relabel(loaded, str(paths[k]))
    not_sealed: list[tuple[str, str]] = []
    parsed = _parse_all([(str(paths[k]), shas[k], cache) for k in todo], workers)
    for done, (k, got) in enumerate(zip(todo, parsed, strict=True), 1):
        if progress:
            progress(done, len(todo))
        if got.error is not None:
            errors[k] = got.error
            continue
        if got.unsealed is not None:
            not_sealed.append((str(paths[k]), got.unsealed))
        facts[k] = SessionFacts.from_json(got.facts)
        if facts[k].checklist[2] not in checklists:
            checklists[facts[k].checklist[2]] = Checklist.model_validate(got.checklist)
    if errors:
        raise UserError(f"{len(errors)} 个会话文件有问题，未生成任何报告：\n" + "\n".join(errors[k] for k in sorted(errors)),
                        hint=BROKEN_HINT)
    unsealed.decide(not_sealed)
    return [f for f in facts if f is not None], checklists, shas


def _sealed_hashes(paths: Sequence[Path]) -> list[tuple[str, bool] | str]:
    """``sealed_hash`` of every path, two at a time (see ``file_hashes``); for a file that cannot be
    read, why (so that every bad input is named at once)."""
    def one(path: Path) -> tuple[str, bool] | str:
        try:
            return sealed_hash(Path(path))
        except UserError as exc:
            return _told(exc)

    if len(paths) < 2:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, paths))


def _told(exc: UserError) -> str:
    """A refusal as one file's lines in the list of all (the common hint is said once, after them)."""
    return "\n".join(map(str, exc.problems)) or exc.message


def file_hashes(paths: Sequence[Path]) -> list[str]:
    """``file_hash`` of every path, two at a time: hashlib and file reads release the GIL, so two
    threads use both cores (the warm rollup hashes 1.3 GB). The first unreadable file is raised."""
    if len(paths) < 2:
        return [file_hash(Path(p)) for p in paths]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda p: file_hash(Path(p)), paths))


def _parse_all(jobs: list[tuple[str, str, Path]], workers: int | None) -> Iterator[Judged]:
    """``_parse`` of every job, in order: in a pool of processes when there is more than one to do
    and more than one core; should a helper process die (out of memory, killed), the rest are
    parsed here."""
    n = min(len(jobs), workers or os.cpu_count() or 1)
    done = 0
    if n > 1:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
        try:
            with ProcessPoolExecutor(n, mp_context=ctx) as pool:
                for result in pool.map(_parse, *zip(*jobs, strict=True), chunksize=1):
                    done += 1
                    yield result
            return
        except BrokenProcessPool:
            pass
    for job in jobs[done:]:
        yield _parse(*job)


def _relabel(facts: SessionFacts, source: str) -> SessionFacts:
    """A cached digest may have been made from a copy elsewhere: report the file as given now."""
    if facts.source == source:
        return facts
    from dataclasses import replace

    return replace(facts, source=source, branches=tuple(replace(b, source=source) for b in facts.branches))
