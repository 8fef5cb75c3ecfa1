"""A session as the UI and the CLI use it: the store file, its checklist and a live record index.

``Session`` is the one door through which records are written: every ``save`` validates the payload
against its kind, makes a new version that supersedes what this copy has seen, and returns only
after the store has made it durable. The TUI and the CLI both call these methods, so neither holds
a rule the other lacks.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.format import fmt_score
from inspect_tui.core.index import Rec, RecordIndex
from inspect_tui.core.meta import ChecklistRef, SessionMeta, refuse_control_chars
from inspect_tui.core.records import BranchData, Kind, new_id, score_id, validate_data
from inspect_tui.core.scoring import BranchResult, analyse_branch
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import RecordDoc, make_version
from inspect_tui.errors import UserError, file_error, first_error
from inspect_tui.store.paths import session_filename
from inspect_tui.store.session_file import SessionFile

if TYPE_CHECKING:
    from inspect_tui.core.plan import PlannedBranch  # plan reading (and YAML) is not needed to open a session

UNDO_DEPTH = 200  # changes Ctrl+Z can take back, per open session


def parse_meta(path: Path | str, raw: Mapping[str, Any]) -> SessionMeta:
    try:
        return SessionMeta.model_validate(raw)
    except ValidationError as exc:
        raise file_error(path, f"会话信息不完整或有误：{first_error(exc)}") from None


@functools.lru_cache(maxsize=8)
def _load_once(path: str, mtime_ns: int) -> Checklist:
    from inspect_tui.core.checklist_load import load_checklist

    return load_checklist(path)


def open_checklist(name_or_path: str | Path | None) -> Checklist:
    """A checklist by shipped id or path, parsed once per file version (sessions reopen it often).
    (The YAML parser is imported here, not at start-up: opening a session reads the copy embedded
    in it.)"""
    from inspect_tui.core.checklist_load import resolve_checklist

    path = resolve_checklist(name_or_path)
    return _load_once(str(path), path.stat().st_mtime_ns)


def checklist_for(path: Path | str, meta: SessionMeta, checklist: Checklist | None = None) -> Checklist:
    """The checklist a session was made with: the one given, else the copy embedded in the session,
    else a shipped one with the same id, version and content. A different version is refused.

    The embedded copy is tried before the shipped YAML: it is the same content (its hash is checked)
    and validating a dict costs milliseconds where parsing the YAML cost most of opening a session."""
    ref = meta.checklist

    def candidates() -> Iterator[Checklist]:
        if checklist is not None:
            yield checklist
            return
        if meta.checklist_content is not None:
            with contextlib.suppress(ValidationError):
                yield Checklist.model_validate(meta.checklist_content)
        with contextlib.suppress(UserError, OSError):
            yield open_checklist(ref.id)

    tried: list[Checklist] = []
    for cl in candidates():
        if cl.id == ref.id and cl.version == ref.version and cl.content_hash() == ref.hash:
            return cl
        tried.append(cl)
    have = "、".join(f"{c.id} {c.version}（{c.content_hash()}）" for c in tried) or "无"
    raise file_error(path, f"会话使用检查清单 {ref.id} {ref.version}（{ref.hash}），但找到的是：{have}",
                     hint="请用 --checklist 指定创建该会话时使用的清单文件。")


def branch_doc(name: str, order: int, *, author: str, replica: str, unit: str = "",
               branch_id: str | None = None, secretary: str = "") -> RecordDoc:
    data = BranchData(name=name, unit=unit, order=order, secretary=secretary).model_dump(mode="json")
    v = make_version(kind=Kind.BRANCH, data=data, author=author, by=author, replica=replica)
    return {"id": branch_id or new_id(Kind.BRANCH), "versions": [v]}


class Session:
    def __init__(self, file: SessionFile, checklist: Checklist | None = None) -> None:
        self.file = file
        self.meta = parse_meta(file.path, file.meta)
        self.checklist = checklist_for(file.path, self.meta, checklist)
        self.index = RecordIndex(file.records(copy=False))  # read-only use: the index never mutates docs
        # A fresh replica id per writable open: a file copied to a USB stick and edited on two
        # laptops must never reuse one version-vector key, or one copy's edits could appear to
        # have seen the other's and silently win.
        self.replica = f"{self.meta.replica}.{uuid.uuid4().hex[:8]}"
        # What each change of this open replaced, newest last: Ctrl+Z writes it back as a new version.
        self._undo: deque[tuple[str, Rec | None]] = deque(maxlen=UNDO_DEPTH)
        # Each branch's last result per view, with the branch's change count it was computed at: the
        # list, the branch screen and its panes ask again after every change, and a close asks for all.
        self._results: dict[tuple[str, bool], tuple[int, BranchResult]] = {}
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False, checklist: Checklist | None = None) -> Session:
        file = SessionFile.open(path, readonly=readonly)
        try:
            return cls(file, checklist)
        except BaseException:
            file.close()
            raise

    @classmethod
    def create(cls, path: str | Path, meta: SessionMeta, branches: Iterable[PlannedBranch | str] = (), *,
               checklist: Checklist | None = None, records: Iterable[RecordDoc] = (),
               force: bool = False) -> Session:
        from inspect_tui.core.plan import PlannedBranch

        cl = checklist_for(path, meta, checklist)
        docs = list(records)
        for n, b in enumerate(branches, 1):
            b = b if isinstance(b, PlannedBranch) else PlannedBranch(b)
            try:
                refuse_control_chars(b.name, b.unit, b.secretary)
                docs.append(branch_doc(b.name, n, unit=b.unit, author=meta.inspector, replica=meta.replica,
                                       secretary=b.secretary))
            except (ValidationError, ValueError) as exc:
                why = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
                shown = f"“{b.name[:20]}{'…' if len(b.name) > 20 else ''}”" if b.name.strip() else ""
                raise UserError(f"第 {n} 个支部{shown}：{why}") from None
        file = SessionFile.create(path, meta.model_dump(mode="json"), docs, force=force)
        return cls(file, cl)

    def close(self, *, sealed: Callable[[], None] | None = None) -> None:
        """Close the file; if anything was saved, store the report digest of the sealed bytes
        (computed from this index while the lock still keeps every other writer out), so the next
        summary report need not parse the whole file — and run ``sealed`` there too (the app stores
        its branches list). A seal that could not be written (full disk) gets no digest: the report
        must judge such a file itself."""
        def digest() -> None:
            from inspect_tui.store.report_digest import remember, sealed_hash  # the report's code, not at start-up

            with contextlib.suppress(Exception):  # only a cache: failing costs time, never the close
                sha, whole = sealed_hash(self.path)
                if whole:
                    remember(self.path, sha, self.meta, self.checklist, self.index)
            if sealed is not None:
                with contextlib.suppress(Exception):
                    sealed()

        wanted = not self.file.readonly and self.file.last_saved is not None and not self._closed
        self._closed = True
        self.file.close(sealed=digest if wanted else None)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def last_saved(self) -> datetime | None:
        return self.file.last_saved

    # --- writing -------------------------------------------------------------------------------

    def save(self, kind: Kind, data: Mapping[str, Any], record_id: str | None = None, *,
             deleted: bool = False) -> Rec:
        """Durably record ``data`` as the new value of ``record_id`` (a new record when None)."""
        before = self.index.get(record_id) if record_id else None
        rec = self._write(kind, data, record_id, deleted=deleted)
        self._undo.append((rec.id, before))
        return rec

    def save_many(self, changes: Iterable[tuple[Kind, Mapping[str, Any]]]) -> list[Rec]:
        """New records, all validated before any is written, then written in one durable batch:
        either every one is saved or none is. (Not on the undo stack: the ledger's changes are
        taken back by a new change, not by Ctrl+Z.)"""
        docs = [self._new_version(kind, data, None, False) for kind, data in changes]
        self.file.put_many(docs)
        return [self.index.apply(doc) for doc in docs]

    def _write(self, kind: Kind, data: Mapping[str, Any], record_id: str | None, *, deleted: bool = False) -> Rec:
        doc = self._new_version(kind, data, record_id, deleted)
        self.file.put(doc)
        return self.index.apply(doc)

    def _new_version(self, kind: Kind, data: Mapping[str, Any], record_id: str | None, deleted: bool) -> RecordDoc:
        try:
            clean = validate_data(kind, dict(data))
        except ValidationError as exc:
            raise UserError(first_error(exc)) from None
        self._check_against_checklist(kind, clean)
        rid = record_id or new_id(kind)
        old = self.file.get(rid)
        seen = old["versions"] if old else []
        author = seen[0]["author"] if seen else self.meta.inspector
        v = make_version(kind=kind, data=clean, author=author, by=self.meta.inspector,
                         replica=self.replica, seen=seen, deleted=deleted)
        return {"id": rid, "versions": [v]}

    def _check_against_checklist(self, kind: Kind, data: Mapping[str, Any]) -> None:
        """Rules that need the checklist: the item exists, a score stays within its full marks."""
        item_id = data.get("item")
        if item_id is None:
            return
        try:
            item = self.checklist.item(item_id)
        except KeyError:
            raise UserError(f"检查清单中没有条目 {item_id}") from None
        score = data.get("score")
        if kind in (Kind.SCORE, Kind.VERDICT) and score is not None and score > item.full_marks:
            raise UserError(f"评分 {fmt_score(score)} 超过“{item.title}”的满分 {fmt_score(item.full_marks)}")

    def update(self, kind: Kind, record_id: str, **fields: Any) -> Rec:
        """Change some fields of a record (creating it from ``fields`` when it does not exist)."""
        current = self.index.get(record_id)
        base = dict(current.data) if current and not current.deleted else {}
        base.update(fields)
        return self.save(kind, base, record_id)

    def delete(self, record_id: str) -> Rec:
        current = self.index.get(record_id)
        if current is None:
            raise UserError(f"没有这条记录：{record_id}")
        return self.save(current.kind, current.data, record_id, deleted=True)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> Rec | None:
        """Undo the last change made through this session: the value it replaced comes back as a new
        version (a record that did not exist before is deleted), so the undo is durable and merges
        like any edit. None when there is nothing to undo."""
        if not self._undo:
            return None
        rid, before = self._undo[-1]
        current = self.index.get(rid)
        if before is None or before.deleted:
            assert current is not None
            rec = self._write(current.kind, current.data, rid, deleted=True)
        else:
            rec = self._write(before.kind, before.data, rid)
        self._undo.pop()
        return rec

    def promotable(self, obs: Rec | None) -> bool:
        """An observation judged partly or not met, not yet turned into a problem."""
        if obs is None or obs.kind is not Kind.OBSERVATION or obs.data.get("status") not in ("partly", "not"):
            return False
        return not any(p.data.get("source") == obs.id for p in self.records(obs.branch, Kind.PROBLEM))

    def promote(self, observation_id: str) -> Rec:
        """Turn a shortfall into a problem record tied to its item, with the observation's note (or
        the checklist's typical problem) and its evidence (or photos, or where it was seen)."""
        obs = self.index.live(observation_id)
        if not self.promotable(obs):
            raise UserError("只有判定为“部分符合”或“不符合”、且尚未提出问题的观察才能提为问题")
        item = self.checklist.item(obs.data["item"])
        step = Step(obs.data["step"])
        photos = len(obs.data.get("files", ()))
        evidence = obs.data.get("evidence") or (f"现场照片 {photos} 张" if photos else f"{step.label}：{item.title}")
        return self.save(Kind.PROBLEM, {"branch": obs.branch, "item": item.id,
                                        "text": obs.data.get("note") or item.problems[0],
                                        "evidence": evidence, "source": obs.id})

    def set_report_limit(self, minutes: int) -> None:
        """The time limit for a branch's report (述) is visit-wide meta, saved durably."""
        try:
            meta = SessionMeta.model_validate({**self.meta.model_dump(), "report_limit_minutes": minutes})
        except ValidationError as exc:
            raise UserError(f"汇报限时应为 1–240 分钟：{first_error(exc)}") from None
        self.file.set_meta(meta.model_dump(mode="json"))
        self.meta = meta

    def add_branch(self, name: str, unit: str = "") -> Rec:
        self.refuse_taken_name(name)
        order = max((b.data.get("order", 0) for b in self.index.branches()), default=0) + 1
        return self.save(Kind.BRANCH, {"name": name, "unit": unit, "order": order})

    def refuse_taken_name(self, name: str, branch: str | None = None) -> None:
        """Two branches of one visit never share a name: the list, the documents and the merge's
        matching by name would not tell them apart. ``branch``: the one being renamed."""
        if any(b.data["name"].strip() == name.strip() and b.id != branch for b in self.index.branches()):
            raise UserError(f"已有名为“{name.strip()}”的支部", hint="请换一个名称（同名支部可在名称中加上单位区分）。")

    # --- reading -------------------------------------------------------------------------------

    def branches(self) -> list[Rec]:
        return self.index.branches()

    def is_followup(self) -> bool:
        """A follow-up (回头看) session: its branches hold ledger entries."""
        return any(self.records(b.id, Kind.LEDGER_ENTRY) for b in self.branches())

    def records(self, branch: str, kind: Kind | None = None) -> list[Rec]:
        return self.index.of_branch(branch, kind)

    def result(self, branch: str, *, mine_only: bool = False,
               preview_score: tuple[str, float | None] | None = None) -> BranchResult:
        """The branch's scores and rates; with ``preview_score=(item, score)``, as if this inspector
        had saved that score (nothing is written), so totals can follow what is being typed."""
        changes = self.index.changes.get(branch, 0)
        known = self._results.get((branch, mine_only))
        if preview_score is None and known is not None and known[0] == changes:
            return known[1]
        rec = self.index.live(branch)
        if rec is None or rec.kind is not Kind.BRANCH:
            raise KeyError(branch)
        records = self.index.of_branch(branch)
        if preview_score is not None:
            item, score = preview_score
            data = {"branch": branch, "item": item, "score": score, "note": ""}
            self._check_against_checklist(Kind.SCORE, data)
            rid = score_id(branch, item, self.meta.inspector)
            records = [r for r in records if r.id != rid]
            records.append(Rec(id=rid, kind=Kind.SCORE, data=data, author=self.meta.inspector,
                               by=self.meta.inspector, at="", deleted=False, versions=()))
        authors = {self.meta.inspector} if mine_only else None
        result = analyse_branch(self.checklist, rec, records, authors)
        if preview_score is None:
            self._results[(branch, mine_only)] = (changes, result)
        return result



def new_session(folder: str | Path, *, group: str, day: date, inspector: str, checklist: Checklist,
                branches: Iterable[PlannedBranch | str], inspectors: Iterable[str] = (),
                report_limit_minutes: int = 15, path: str | Path | None = None, force: bool = False) -> Session:
    """Start a visit: the one function behind both ``session new`` and the TUI's new-session form."""
    try:
        refuse_control_chars(group, inspector, *inspectors)
        meta = SessionMeta(group=group, date=day, inspector=inspector, checklist=ChecklistRef.of(checklist),
                           inspectors=tuple(dict.fromkeys([*inspectors, inspector])),
                           report_limit_minutes=report_limit_minutes,
                           checklist_content=checklist.model_dump(mode="json"))
    except ValidationError as exc:
        raise UserError(first_error(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    target = Path(path) if path else Path(folder) / session_filename(group, day, inspector)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Session.create(target, meta, branches, checklist=checklist, force=force)
