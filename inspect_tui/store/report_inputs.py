"""Reading the sessions a report is made from: whole sessions for one group, cached digests for many.

One group's workbook needs each whole session, opened read-only (it lists every interview and
every rectification item, which only the records hold). A rollup over hundreds of sessions needs only
the facts (``core.report_facts``) — a few kilobytes per session instead of megabytes — so it keeps
them in a *digest cache* (``store.report_digest``): one JSON file per session, named by the SHA-256
of the session file's bytes. A session that changes has another hash, so a stale digest is never
used; a digest that cannot be used is simply rebuilt. ``merge`` (from the records in memory) and a
closing ``Session`` write the digest of what they wrote; sessions still without one are parsed in
a process pool (parsing is pure Python and CPU-bound), each worker storing the digest it made. One
group's report takes its facts from the digests too, and reads the whole sessions only for its
workbook. See docs/benchmarks.md for the figures.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.report_facts import SessionFacts, session_facts
from inspect_tui.core.versions import RecordDoc
from inspect_tui.errors import UserError, file_error
from inspect_tui.store.journal import paused_gc
from inspect_tui.store.report_digest import default_cache_dir, file_hash, read_digest, remember, write_digest
from inspect_tui.store.session import Session, checklist_for


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
    if not Path(path).is_file():
        raise file_error(path, "会话文件不存在" if not Path(path).exists() else "不是会话文件")
    try:
        return Session.open(path, readonly=True)
    except OSError as exc:
        raise file_error(path, f"无法读取：{exc.strerror or exc}") from None


def facts_of(session: Session) -> SessionFacts:
    return session_facts(session.meta, session.checklist, session.index, str(session.path))


def remember_file(path: Path, cache: Path | None = None) -> None:
    """Best effort: the digest of the session file ``path`` as read back from disk (what
    ``remember_records`` must equal). Stored only if the file's bytes are the same before and after
    reading it; a file that cannot be read as a session gets none (the report will say why)."""
    with contextlib.suppress(UserError, OSError):
        sha = file_hash(path)
        with Session.open(path, readonly=True) as s:
            if file_hash(path) == sha:
                remember(path, sha, s.meta, s.checklist, s.index, cache)


def remember_records(path: Path, sha: str, meta: SessionMeta, records: Iterable[RecordDoc],
                     cache: Path | None = None) -> None:
    """Best effort, right after ``merge`` wrote ``records`` to ``path`` as bytes hashing to ``sha``
    (under the output's lock): the digest built from the records still in memory — the same facts
    ``remember_file`` would get by parsing the file again, without the ~0.5 s that costs."""
    with contextlib.suppress(UserError, OSError, ValueError):
        remember(path, sha, meta, checklist_for(path, meta), RecordIndex(records), cache)


def _parse(path: str, sha: str, cache: Path) -> tuple[dict | None, dict | None, str | None]:
    """Worker: (facts as JSON, checklist as JSON, error message), and the digest stored under
    ``sha`` — only if the file still hashes to it once parsed: a file changed since it was hashed
    must not leave its new facts under the old bytes' name. Errors travel as text so that a user's
    damaged file becomes one file-named message, never a traceback from a worker."""
    try:
        with paused_gc(), Session.open(path, readonly=True) as s:  # no cycles to find: 30 % less CPU
            facts, checklist = facts_of(s).to_json(), s.checklist.model_dump(mode="json")
        if file_hash(Path(path)) == sha:
            write_digest(cache, sha, facts, checklist)
        return facts, checklist, None
    except UserError as exc:
        return None, None, exc.render()
    except OSError as exc:
        return None, None, f"{path}: 无法读取：{exc.strerror or exc}"


def load_digests(paths: Sequence[Path], *, cache: Path | None = None, workers: int | None = None,
                 progress: Callable[[int, int], None] | None = None
                 ) -> tuple[list[SessionFacts], dict[str, Checklist]]:
    """Facts of every session (from the cache when its digest is there) and the checklists by
    content hash. Any session that cannot be read is reported with every other one that failed."""
    facts, checklists, _hashes = hashed_digests(paths, cache=cache, workers=workers, progress=progress)
    return facts, checklists


def hashed_digests(paths: Sequence[Path], *, cache: Path | None = None, workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None
                   ) -> tuple[list[SessionFacts], dict[str, Checklist], list[str]]:
    """``load_digests``, with the SHA-256 of each file the facts stand for."""
    with paused_gc():  # a rollup reads ~1M objects of facts and no cycles (see ``paused_gc``)
        return _hashed_digests(paths, cache or default_cache_dir(), workers, progress)


def _hashed_digests(paths: Sequence[Path], cache: Path, workers: int | None,
                    progress: Callable[[int, int], None] | None
                    ) -> tuple[list[SessionFacts], dict[str, Checklist], list[str]]:
    hashes = file_hashes(paths)
    facts: list[SessionFacts | None] = [None] * len(paths)
    checklists: dict[str, Checklist] = {}
    todo: list[int] = []
    for k, sha in enumerate(hashes):
        loaded = read_digest(cache, sha, checklists)
        if loaded is None:
            todo.append(k)
            continue
        facts[k] = _relabel(loaded, str(paths[k]))
    errors: list[str] = []
    parsed = _parse_all([(str(paths[k]), hashes[k], cache) for k in todo], workers)
    for done, (k, (data, cl, err)) in enumerate(zip(todo, parsed, strict=True), 1):
        if progress:
            progress(done, len(todo))
        if err is not None:
            errors.append(err)
            continue
        facts[k] = SessionFacts.from_json(data)
        if facts[k].checklist[2] not in checklists:
            checklists[facts[k].checklist[2]] = Checklist.model_validate(cl)
    if errors:
        raise UserError(f"{len(errors)} 个会话文件无法读取，未生成任何报告：\n" + "\n".join(errors))
    return [f for f in facts if f is not None], checklists, hashes


def file_hashes(paths: Sequence[Path]) -> list[str]:
    """``file_hash`` of every path, two at a time: hashlib and file reads release the GIL, so two
    threads use both cores (the warm rollup hashes 1.3 GB). The first unreadable file is raised."""
    if len(paths) < 2:
        return [file_hash(Path(p)) for p in paths]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda p: file_hash(Path(p)), paths))


def _parse_all(jobs: list[tuple[str, str, Path]], workers: int | None
               ) -> Iterator[tuple[dict | None, dict | None, str | None]]:
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
