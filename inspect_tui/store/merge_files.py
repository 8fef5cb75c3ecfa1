"""Merging session files on disk: read every input, refuse bad ones by name, write one output.

The CLI's ``merge`` and the TUI's merge screen both call :func:`merge_files`; the rules themselves
are pure and live in :mod:`inspect_tui.core.merge`. What this layer adds is the file side:

* every input is read with ``read_session`` (read-only, no lock) and *all* problems are collected
  before anything is written: a damaged (any line out of its place in the chain, too), torn,
  hand-edited, newer-format or other-checklist file is named with what is wrong, and nothing is
  written until the leader fixes it or leaves the file out (``exclude``);
* an input that was not closed cleanly (no seal: the app crashed, is still running, or the copy
  was cut exactly after a line) is named, and merged only once the leader accepts it
  (``accept_unsealed``, or ``confirm_unsealed`` asked on a terminal);
* an existing output is one more input — the join keeps everything it holds (the leader's
  verdicts, too). Its lock is held from reading it until the new file has taken its place.
  ``replace`` leaves it out instead, after ``warn`` has been told what would be lost;
* the output is written atomically (``write_session``'s path: temp file, fsync, ``os.replace``,
  folder fsync) with the leader's meta and a merge log: the union of the inputs' logs plus, per
  input, its file name, inspector, record digest, the file's SHA-256, counts, the time merged and by
  whom; and one entry for the output carrying any branch aliases the leader confirmed (later merges
  re-apply them, see ``core.merge``).

Speed (10 files x 40 branches, ~50k records, must stay under 2 s on a 2-core machine): each file is
parsed once, its records kept as parsed together with their JSON text (``RawTexts``); every version
is re-hashed; a record passed on unchanged is written back as that text instead of being encoded
again; and the cyclic garbage collector is paused during the bulk work (``paused_gc``). The
output's report digest is built by a helper process once the output is written
(``_digest_helper``), so a large merge from the CLI is done without waiting for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.merge import (
    MERGE_EVENT,
    BranchMatching,
    MergeResult,
    Source,
    SourceStats,
    bad_hash_problems,
    check_compatible,
    check_records,
    digest_parts,
    fast_digest,
    match_branches,
    merge_sources,
    merged_meta,
    verify_source,
    visit_ids,
)
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.scoring import analyse_branch
from inspect_tui.core.versions import canonical, now_iso
from inspect_tui.errors import Problem, UserError, file_error
from inspect_tui.store import evidence
from inspect_tui.store.forked import fork_helper
from inspect_tui.store.integrity import Examined, judge
from inspect_tui.store.journal import paused_gc
from inspect_tui.store.lines import RawTexts
from inspect_tui.store.lock import SessionLock
from inspect_tui.store.paths import same_file
from inspect_tui.store.report_inputs import remember_file, remember_records
from inspect_tui.store.session import parse_meta
from inspect_tui.store.session_file import _read_session, _write_session, write_session
from inspect_tui.store.session_format import _read_bytes

Progress = Callable[[float, str], None]
Confirm = Callable[[list[str]], bool]
#: Inputs of fewer bytes than this (~10k records) get their output's digest in line, from the records
#: in memory: ~0.1 s or less, not worth a second process parsing the whole output again (~2x the CPU).
ASIDE_MIN_BYTES = 4_000_000
_aside: list[int] = []  # helper processes building a digest (``_digest_helper``), not yet reaped
EXCLUDE_HINT = "修正或重新拷贝该文件；或用 --exclude 文件 明确排除它后再合并（其余文件和输出文件均未改动）。"
UNSEALED_HINT = ("从仍在使用或已崩溃的电脑上重新拷贝（先正常退出程序），或确认这些文件已完整后加 "
                 "--accept-unsealed 合并。")


@dataclass
class MergeReport:
    output: Path
    meta: SessionMeta
    stats: list[SourceStats]
    records: int
    conflicts: int
    digest: str
    aliases: dict[str, str] = field(default_factory=dict)
    matching: BranchMatching | None = None
    excluded: list[str] = field(default_factory=list)
    unsettled: int | None = None
    unsealed: list[str] = field(default_factory=list)  # inputs accepted though not closed cleanly
    merged_into: bool = False  # the existing output was one of the inputs
    lost: list[str] = field(default_factory=list)  # with ``replace``: what the old output held, now gone
    photos_missing: list[str] = field(default_factory=list)  # referenced photos found in no input's store

    def table(self) -> list[str]:
        """The per-input summary as aligned text lines (Chinese headers)."""
        rows = [("文件", "观摩员", "读入", "新增", "已有", "冲突")]
        rows += [(s.name, s.inspector, str(s.read), str(s.new), str(s.present), str(s.conflicts))
                 for s in self.stats]
        widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
        return ["  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
                for r in rows]


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _read_unchecked(path: Path, raws: RawTexts | None = None) -> tuple[Source, Examined]:
    """One input read and checked for format, damage, a torn tail and meta — not yet for content
    hashes; with what ``integrity`` makes of it (sealed or not). ``raws`` collects the JSON text of
    its records (see ``_read_session``)."""
    data = _read_bytes(path)  # read once: parsed below, and its SHA-256 goes into the merge log
    found: RawTexts | None = {} if raws is not None else None
    meta_raw, records, log, r = _read_session(path, found, data)
    state = judge(path, r)
    if r.torn_bytes:
        raise file_error(path, f"文件不完整：末尾 {r.torn_bytes} 字节是未完成的写入（拷贝被截断、程序崩溃或磁盘写满？）",
                         hint=EXCLUDE_HINT)
    meta = parse_meta(path, meta_raw)
    if raws is not None and found:
        raws.update(found)  # only once the file has passed every check above
    return Source(str(path), meta, records, log, sha256=hashlib.sha256(data).hexdigest()), state


def read_source(path: Path, known_good: set[str] | None = None) -> Source:
    """One input, fully checked: format, damage, torn tail, meta, content hashes. Raises
    ``UserError``. ``known_good``: version hashes the caller has already verified (see
    ``fast_bad_hashes``)."""
    src, _state = _read_unchecked(path)
    problems = verify_source(src, known_good)
    if problems:
        raise UserError(str(problems[0]), problems=problems, hint=EXCLUDE_HINT)
    return src


def read_sources(paths: Sequence[str | Path], exclude: Iterable[str | Path] = (),
                 progress: Progress | None = None, *,
                 raws: RawTexts | None = None) -> tuple[list[Source], list[str], list[Examined]]:
    """Read every input not excluded; raise one ``UserError`` naming *every* bad file. Also returns
    the names of the inputs left out and what is known of each input that is not sealed.

    Every version of every input is re-hashed (``_check_sources``) and each input's record digest
    is taken on the way (``Source.digest``, reused by the join). ``raws`` (a dict to fill) collects
    the JSON text of the records, so ``merge_files`` can write unchanged ones back without encoding
    them again."""
    paths = [Path(p) for p in paths]
    excl = [Path(p) for p in exclude]
    unknown = [str(e) for e in excl if not any(same_file(e, p) for p in paths)]
    if unknown:
        raise UserError(f"--exclude 指定的文件不在输入文件中：{'、'.join(unknown)}")
    keep = [p for p in paths if not any(same_file(p, e) for e in excl)]
    excluded = [str(p) for p in paths if p not in keep]
    if not keep:
        raise UserError("没有可合并的输入文件")
    read: list[Source | list[Problem]] = []
    unsealed: list[Examined] = []
    for n, p in enumerate(keep):
        if progress:
            progress(0.4 * n / len(keep), f"读取 {p.name}")
        try:
            src, state = _read_unchecked(p, raws)
        except UserError as exc:
            read.append(exc.problems or [Problem(str(p), exc.message)])
            continue
        read.append(src)
        if not state.replay or not state.replay.sealed:
            unsealed.append(state)
    loaded = [r for r in read if isinstance(r, Source)]
    if progress and loaded:
        progress(0.4, "校验内容")
    checked = iter(_check_sources(loaded))
    sources: list[Source] = []
    problems: list[Problem] = []
    for r in read:  # problems in the order of the inputs, as when each file was checked on reading
        c = next(checked) if isinstance(r, Source) else r
        if isinstance(c, Source):
            sources.append(c)
        else:
            problems += c
    if problems:
        bad_files = sorted({pr.path for pr in problems})
        raise UserError(f"{len(bad_files)} 个输入文件有问题，未合并：{'、'.join(bad_files)}", problems=problems,
                        hint=EXCLUDE_HINT)
    return sources, excluded, unsealed


def _check_sources(sources: Sequence[Source]) -> list[Source | list[Problem]]:
    """Each source with its digest and digest parts (``check_records``: every version re-hashed),
    or the problems that refuse it.

    Serial on purpose: a forked second process (the records are already parsed, so it would only
    send back problems and digests) was measured at 0.4-0.6 s for this step against 0.5-0.7 s
    serial with an idle core — and slower than serial whenever the two cores were busy, since the
    copy-on-write faults of touching 50k records in both processes cost ~0.25 s of CPU."""
    out: list[Source | list[Problem]] = []
    for src in sources:
        bad, parts = check_records(src.records)
        if bad:
            out.append(bad_hash_problems(src.name, bad))
        elif parts is None:  # repeated ids cannot come out of read_session; kept for safety
            out.append(dataclasses.replace(src, digest=fast_digest(src.records, verified=True)))
        else:
            out.append(dataclasses.replace(src, digest=digest_parts(parts), parts=parts))
    return out


def shipped_checklists() -> list[Checklist]:
    """Every shipped checklist that loads (to name items when two files' versions differ)."""
    from inspect_tui.core.checklist_load import find_checklists, try_load_checklist

    out = []
    for p in find_checklists():
        cl, _problems = try_load_checklist(p)
        if cl is not None:
            out.append(cl)
    return out


def checklist_of(meta: SessionMeta, extra: Iterable[Checklist] = ()) -> Checklist | None:
    """The checklist matching ``meta``'s reference among ``extra`` and the shipped ones, if any."""
    ref = meta.checklist
    for cl in [*extra, *shipped_checklists()]:
        if (cl.id, cl.version, cl.content_hash()) == (ref.id, ref.version, ref.hash):
            return cl
    return None


def count_unsettled(checklist: Checklist, records: Iterable[dict]) -> int:
    index = RecordIndex(records)
    return sum(len(analyse_branch(checklist, b, index.of_branch(b.id)).unsettled) for b in index.branches())


def plan(sources: Sequence[Source], checklists: Iterable[Checklist] = ()) -> BranchMatching:
    """Refuse incompatible inputs (all problems at once); return the branch matching to decide on."""
    problems = check_compatible(sources, checklists=list(checklists) + _lazy_shipped(sources))
    if problems:
        raise UserError(str(problems[0]) if len(problems) == 1 else f"{len(problems)} 处不一致，未合并",
                        problems=problems,
                        hint="不同清单版本或不同观摩的文件不能合并；可用 --exclude 文件 排除其中的文件。")
    return match_branches(sources)


def _lazy_shipped(sources: Sequence[Source]) -> list[Checklist]:
    refs = {s.meta.checklist for s in sources}
    return shipped_checklists() if len(refs) > 1 else []


def describe_matching(matching: BranchMatching, different_visits: bool) -> list[str]:
    lines = []
    if different_visits:
        lines.append("输入文件来自不同的观摩会话（visit_id 不同），只有确认按名称匹配支部后才能合并。")
    if matching.matches:
        lines.append("按名称建议合并为同一支部（左侧为保留的编号）：")
        lines += [f"  {m.describe()}" for m in matching.matches]
    if matching.ambiguous:
        lines.append(f"同一文件中有多个支部名称相同，未自动匹配：{'、'.join(matching.ambiguous)}")
    return lines


def decide_matching(sources: Sequence[Source], matching: BranchMatching, match_branches: bool | None,
                    confirm: Callable[[list[str]], bool] | None = None) -> bool:
    """Whether to apply the proposed branch matches; refuses when a decision is needed and missing."""
    different = len(visit_ids(sources)) > 1
    if not matching.proposed and not different:
        return False
    lines = describe_matching(matching, different)
    if match_branches is None and confirm is not None:
        match_branches = confirm(lines)
    if match_branches is None:
        raise UserError("需要组长确认支部匹配，未合并：\n" + "\n".join(lines),
                        hint="确认无误请加 --match-branches；不按名称匹配（各自保留）请加 --no-match-branches。")
    if match_branches and matching.ambiguous:
        raise UserError("同一文件中有多个名称相同的支部，无法确定如何匹配，未合并：\n" + "\n".join(lines),
                        hint="请先在该文件中改名或删除重复的支部；或加 --no-match-branches 不按名称匹配。")
    if different and not match_branches:
        raise UserError("输入文件来自不同的观摩会话，未确认支部匹配，未合并：\n" + "\n".join(lines),
                        hint="确认这些文件记录的是同一次观摩后，请加 --match-branches。")
    return bool(match_branches)


def merge_files(paths: Sequence[str | Path], output: str | Path, *, leader: str = "组长",
                exclude: Iterable[str | Path] = (), match_branches: bool | None = None, replace: bool = False,
                accept_unsealed: bool | None = None, checklists: Iterable[Checklist] = (),
                confirm: Confirm | None = None, confirm_unsealed: Confirm | None = None,
                warn: Callable[[list[str]], None] | None = None,
                progress: Progress | None = None, analyse: bool = False) -> MergeReport:
    """Merge session files into ``output`` (atomic). An existing output is merged in as one more
    input, unless ``replace``: then ``warn`` is first given what would be lost. Inputs that are not
    sealed need ``accept_unsealed`` or a yes from ``confirm_unsealed``. ``analyse`` also counts the
    unsettled disagreements (needs the checklist; ~0.5 s at 50k records)."""
    _reap_aside()
    out = Path(output)
    leader = leader.strip()
    if not leader:
        raise UserError("组长姓名不能为空（--as 姓名）")
    if not out.parent.is_dir():
        raise file_error(out, f"输出文件夹 {out.parent} 不存在")
    # The cyclic collector stays off (see ``paused_gc``) until ``_merge`` has returned and so dropped
    # every input record: collections during the merge would walk ~0.5M containers again and again,
    # and one right after it would walk them all once more (~0.6 s together at 50k records). It runs
    # normally while the leader is asked to confirm.
    ask = _with_gc(confirm) if confirm is not None else None  # before pausing: it restores today's state
    ask_unsealed = _with_gc(confirm_unsealed) if confirm_unsealed is not None else None
    go = _digest_helper(out, [*paths, out])  # before the lock is taken: the helper never holds it
    try:
        with SessionLock.acquire(out) as lock, paused_gc():  # nobody writes the output until it is replaced
            return _merge(paths, out, leader, exclude, match_branches, list(checklists), ask, progress, analyse,
                          replace, accept_unsealed, ask_unsealed, warn, lock, go)
    finally:
        if go is not None:
            os.close(go)  # the helper's signal to go on, or (nothing written) to stop


def _with_gc(confirm: Confirm) -> Confirm:
    """``confirm`` with the collector as it was before ``merge_files`` paused it (the leader may
    take minutes to answer)."""
    was_enabled = gc.isenabled()

    def ask(lines: list[str]) -> bool:
        if not was_enabled or gc.isenabled():
            return confirm(lines)
        gc.enable()
        try:
            return confirm(lines)
        finally:
            gc.disable()

    return ask


def _merge(paths: Sequence[str | Path], out: Path, leader: str, exclude: Iterable[str | Path],
           match_branches: bool | None, checklists: list[Checklist], confirm: Confirm | None,
           progress: Progress | None, analyse: bool, replace: bool, accept_unsealed: bool | None,
           confirm_unsealed: Confirm | None, warn: Callable[[list[str]], None] | None,
           lock: SessionLock, go: int | None) -> MergeReport:
    """``merge_files`` after its argument checks; the inputs live only in this frame. ``go``: the
    pipe to the digest helper (``_digest_helper``), if there is one."""
    raws: RawTexts = {}
    paths = [Path(p) for p in paths]
    into = out.exists() and not any(same_file(out, p) for p in paths)
    sources, excluded, unsealed = read_sources(paths, exclude, progress, raws=raws)
    for s in sources:
        if same_file(s.name, out) and s.meta.role != "leader":
            raise file_error(out, f"输出文件就是输入之一（{s.meta.inspector} 的观摩员副本）：合并结果会取代这份副本",
                             hint="请用 -o 另指定合并结果的文件，如 合并结果.jsonl。")
    old = None
    if into:
        old, state = _read_output(out, raws)
        if not replace:
            sources.append(old)
            if state.replay is None or not state.replay.sealed:
                unsealed.append(state)
    accepted = _accept_unsealed(unsealed, accept_unsealed, confirm_unsealed)
    matching = plan(sources, checklists)
    apply = decide_matching(sources, matching, match_branches, confirm)
    aliases = matching.aliases(apply)
    if progress:
        progress(0.6, "合并记录")
    n = len(sources)
    result: MergeResult = merge_sources(
        sources, aliases, (lambda i, _t: progress(0.6 + 0.2 * i / n, "合并记录")) if progress else None,
        verified=True)
    lost = _lost(old, sources, aliases, result) if old is not None and replace else []
    if lost and warn is not None:
        warn(lost)
    meta = merged_meta(sources, leader)
    when = now_iso()
    log = _merged_log(sources, result, when, leader, out, matching)
    unsettled = None
    cl = checklist_of(meta, checklists) if analyse else None
    if cl is not None:
        unsettled = count_unsettled(cl, result.records.values())
    if progress:
        progress(0.85, f"写入 {out.name}")
    # Records passed on unchanged are the inputs' own documents: written as the text they were read
    # from (checksummed, then hash-verified above) instead of being encoded again.
    sha = _write_session(out, meta.model_dump(mode="json"), result.records.values(), log, force=True, raws=raws,
                         lock=lock)
    # The summary report's digest of the output, so the first rollup needn't parse it: the helper's
    # to build, now that the output is durably written; else built here from the records in memory
    # (the bytes hashing to ``sha``), not by reading them back.
    if go is not None:
        with contextlib.suppress(OSError):  # a helper that died leaves no digest, and that is all
            os.write(go, b"go")
    else:
        remember_records(out, sha, meta, result.records.values())
    photos_missing = evidence.carry([s.name for s in sources], out, result.records.values())
    if progress:
        progress(1.0, "完成")
    return MergeReport(out, meta, result.stats, len(result.records), len(result.conflicts), result.digest(),
                       result.aliases, matching, excluded, unsettled, accepted, into and not replace, lost,
                       photos_missing)


def _digest_helper(out: Path, inputs: Sequence[str | Path]) -> int | None:
    """A forked helper that builds the output's report digest — and the app's stored branches list of
    it, so the leader's first opening of the merged file shows the list at once — once the merge has
    durably written it (``remember_file``: it reads the output back), so that a large merge is done without waiting
    for its digest (~0.5 s at 50k records: scoring every branch) — that runs on another core while
    the leader reads the result. Returns the pipe the merge says ``go`` through; closing it without
    that (the merge refused, or failed) lets the helper go without writing anything. ``None`` — the
    merge builds the digest itself — for small inputs (``ASIDE_MIN_BYTES``), from a program with
    threads (the app: forking it could copy a held lock), or if the fork fails.

    Why fork *before* the merge, when the helper must then parse the output instead of using the
    merged records in memory: a helper forked after the merge shares the pages of those records,
    and freeing them after the fork made the merge copy every one of them (~0.15 s of its CPU at
    50k records); forked now, it shares only what the program held before the merge (little in the
    CLI; a long-lived program pays for the pages the merge then reuses). The helper detaches from the
    terminal (Ctrl+C there is for the merge) and keeps none of the program's files: no lock, and no
    pipe a caller reads the program's output from."""
    if _size(inputs) < ASIDE_MIN_BYTES:
        return None
    forked = fork_helper(partial(_digest_when_told, out), helper_reads=True)
    if forked is None:
        return None
    pid, go = forked
    _aside.append(pid)
    return go


def _digest_when_told(out: Path, told: int) -> None:
    """The helper's work: once the merge says ``go`` (the output is durably written), its digest
    and list; nothing if the pipe closes without it."""
    said = b""
    while chunk := os.read(told, 16):
        said += chunk
    os.close(told)
    if said == b"go":
        remember_file(out, branch_list=True)


def _size(paths: Sequence[str | Path]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.stat(p).st_size
    return total


def _reap_aside() -> None:
    """Forget the digest helpers that have finished (they would stay zombies of a long-lived program)."""
    for pid in list(_aside):
        with contextlib.suppress(ChildProcessError):
            if not os.waitpid(pid, os.WNOHANG)[0]:
                continue
        _aside.remove(pid)


def wait_digests() -> float:
    """Wait until every digest helper of this program's merges has finished; their CPU time in
    seconds (the merge benchmark reports it beside the merge's own)."""
    cpu = 0.0
    while _aside:
        with contextlib.suppress(ChildProcessError):
            usage = os.wait4(_aside.pop(), 0)[2]
            cpu += usage.ru_utime + usage.ru_stime
    return cpu


def _read_output(out: Path, raws: RawTexts) -> tuple[Source, Examined]:
    """The existing output, read and checked as an input. A file that is not a sound session file
    is never overwritten, ``replace`` or not: it may be someone's data."""
    try:
        src, state = _read_unchecked(out, raws)
        checked = _check_sources([src])[0]
        if isinstance(checked, list):
            raise UserError(str(checked[0]), problems=checked)
    except UserError as exc:
        raise UserError(f"输出文件 {out} 已存在，但不是完好的会话文件，不能并入也不会覆盖它，未合并",
                        problems=exc.problems or [Problem(str(out), exc.message)],
                        hint="换一个输出文件名，或先把该文件移走（本次没有写入任何文件）。") from None
    return checked, state


def _accept_unsealed(unsealed: list[Examined], accept: bool | None, confirm: Confirm | None) -> list[str]:
    """The names of the unsealed inputs, once the leader has accepted them; else a refusal."""
    if not unsealed:
        return []
    lines = ["以下文件没有正常关闭（没有封存行），无法证明内容完整："]
    lines += [f"  {u.path}：{u.describe()}" for u in unsealed]
    if accept is None and confirm is not None:
        accept = confirm(lines)
    if not accept:
        raise UserError("有输入文件未正常关闭，未合并：\n" + "\n".join(lines), hint=UNSEALED_HINT)
    return [str(u.path) for u in unsealed]


def _lost(old: Source, sources: Sequence[Source], aliases: dict[str, str], result: MergeResult) -> list[str]:
    """What replacing the old output loses: its versions that the merge of the inputs neither holds
    nor supersedes — found by joining the old output in as well and comparing."""
    joined = merge_sources([*sources, old], aliases, verified=True).records
    verdicts: list[str] = []
    records = versions = 0
    for rid, doc in joined.items():
        have = {v["h"] for v in result.records[rid]["versions"]} if rid in result.records else set()
        gone = [v for v in doc["versions"] if v["h"] not in have]
        if not gone:
            continue
        versions += len(gone)
        records += rid not in result.records
        verdicts += [f"  裁定 {rid}（{v.get('by', '?')}，{v.get('at', '?')}）" for v in gone if v["kind"] == "verdict"]
    if not versions:
        return []
    return [f"替换 {old.name} 将丢失其中 {versions} 个版本（其中 {records} 条记录不在任何输入文件中），"
            f"包括组长裁定 {len(verdicts)} 项：", *verdicts[:50], *(["  …"] if len(verdicts) > 50 else [])]


def _merged_log(sources: Sequence[Source], result: MergeResult, when: str, leader: str,
                out: Path, matching: BranchMatching | None = None) -> list[dict[str, Any]]:
    seen: dict[bytes, dict[str, Any]] = {}
    for s in sources:
        for entry in s.log:
            seen.setdefault(canonical(entry), dict(entry))
    old = sorted(seen.items(), key=lambda kv: (str(kv[1].get("at", "")), kv[0]))
    log = [e for _k, e in old]
    for s, st in zip(sources, result.stats, strict=True):
        log.append({"event": MERGE_EVENT, "at": when, "by": leader, "source": Path(s.name).name,
                    "inspector": s.meta.inspector, "replica": s.meta.replica, "visit_id": s.meta.visit_id,
                    "digest": st.digest, "sha256": s.sha256, "records": st.read, "new": st.new,
                    "present": st.present, "conflicts": st.conflicts})
    entry: dict[str, Any] = {"event": "merged", "at": when, "by": leader, "output": out.name,
                             "inputs": [Path(s.name).name for s in sources], "digest": result.digest(),
                             "records": len(result.records), "conflicts": len(result.conflicts)}
    if result.aliases:
        entry["branch_aliases"] = dict(sorted(result.aliases.items()))
        names = {rid: name for m in (matching.matches if matching else ()) for rid, name, _f in m.members}
        entry["branch_alias_names"] = {rid: names[rid] for rid in result.dropped_branches if rid in names}
    log.append(entry)
    return log


def handout(path: str | Path, output: str | Path, inspector: str, *, force: bool = False) -> Path:
    """A copy of a session (a visit plan, or a merged file sent back) for ``inspector``: same visit,
    same records, their name and a new replica id. The source file is not changed."""
    from inspect_tui.core.versions import digest

    path, out = Path(path), Path(output)
    inspector = inspector.strip()
    if not inspector:
        raise UserError("观摩员姓名不能为空（--to 姓名）")
    if same_file(path, out):
        raise file_error(out, "输出文件就是要复制的文件本身：复制会取代它", hint="请用 -o 另指定给观摩员的文件。")
    src = read_source(path)
    meta = src.meta.for_inspector(inspector)
    log = [*src.log, {"event": "handout", "at": now_iso(), "by": src.meta.inspector, "to": inspector,
                      "source": path.name, "digest": digest(src.records)}]
    write_session(out, meta.model_dump(mode="json"), src.records, log, force=force)
    evidence.carry([path], out, src.records)
    return out
