"""A follow-up (回头看) session: started from issued notices, changed only through ledger rules.

A follow-up is a session file like a visit — handed out, carried to the branches, merged the same
way — whose records are the notices' branches and ledger entries, then ledger changes. Entries and
branches are written with *deterministic* versions (author the visit group, time the visit date,
replica ``notice``): the same notice imported on two laptops, from the session or from its PDF,
gives byte-identical records, so their copies merge without a false conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import Rec
from inspect_tui.core.ledger import Ledger, LedgerItem, build_ledger, check_change, entry_data
from inspect_tui.core.meta import ChecklistRef, SessionMeta
from inspect_tui.core.records import BranchData, Kind, ledger_entry_id, validate_data
from inspect_tui.core.versions import RecordDoc, make_version
from inspect_tui.errors import UserError
from inspect_tui.store import evidence
from inspect_tui.store.session import Session, first_error

NOTICE_REPLICA = "notice"


def _fixed_doc(rid: str, kind: Kind, data: dict[str, Any], notice: Mapping[str, Any]) -> RecordDoc:
    v = make_version(kind=kind, data=validate_data(kind, data), author=notice["group"], by=notice["group"],
                     replica=NOTICE_REPLICA, at=f"{notice['date']}T00:00:00.000+00:00")
    return {"id": rid, "versions": [v]}


def followup_records(notices: list[Mapping[str, Any]]) -> list[RecordDoc]:
    """Branch and ledger-entry records for these issued notices (in the order given)."""
    docs: list[RecordDoc] = []
    for order, n in enumerate(notices, 1):
        b = n["branch"]
        branch = BranchData(name=b["name"], unit=b.get("unit", ""), order=order).model_dump(mode="json")
        docs.append(_fixed_doc(b["id"], Kind.BRANCH, branch, n))
        for item in n["items"]:
            try:
                docs.append(_fixed_doc(ledger_entry_id(n["doc_no"], int(item["no"])), Kind.LEDGER_ENTRY,
                                       entry_data(n, item, b["id"]), n))
            except ValidationError as exc:
                raise UserError(f"通知书 {n['doc_no']}（{b['name']}）第 {item['no']} 项：{first_error(exc)}") from None
    return docs


def start_followup(target: str | Path, notices: list[Mapping[str, Any]], *, inspector: str, day: date,
                   checklist: Checklist, force: bool = False) -> Session:
    """A new follow-up session file holding the ledger of ``notices`` (all of one visit)."""
    if not notices:
        raise UserError("没有可纳入台账的正式整改通知书")
    visits = {n["visit_id"] for n in notices}
    if len(visits) > 1:
        raise UserError(f"这些通知书来自 {len(visits)} 次不同的观摩；一次回头看只跟进一次观摩的通知书")
    numbers: dict[str, str] = {}
    for n in notices:
        other = numbers.setdefault(n["doc_no"], n["branch"]["id"])
        if other != n["branch"]["id"]:
            raise UserError(f"发文字号 {n['doc_no']} 用在了两个支部的通知书上")
    try:
        records = followup_records(notices)
        meta = SessionMeta(group=notices[0]["group"], date=day, inspector=inspector, role="leader",
                           checklist=ChecklistRef.of(checklist), inspectors=(inspector,),
                           checklist_content=checklist.model_dump(mode="json"))
    except ValidationError as exc:
        raise UserError(f"通知书数据有误：{first_error(exc)}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"通知书数据有误：{type(exc).__name__}: {exc}") from None
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    return Session.create(target, meta, records=_dedupe(records), checklist=checklist, force=force)


def _dedupe(docs: Iterable[RecordDoc]) -> list[RecordDoc]:
    return list({d["id"]: d for d in docs}.values())


def ledger_of(session: Session) -> Ledger:
    return build_ledger(r for b in session.branches() for r in session.records(b.id))


def is_followup(session: Session) -> bool:
    return session.is_followup()


def item_or_error(ledger: Ledger, ref: str) -> LedgerItem:
    item = ledger.get(ref)
    if item is None:
        known = "、".join(i.ref for i in ledger.items[:8]) + ("……" if len(ledger.items) > 8 else "")
        raise UserError(f"台账中没有事项 {ref}", hint=f"台账编号形如“发文字号/序号”，例如：{known or '（台账为空）'}")
    return item


def change_data(item: LedgerItem, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A change record's data for ``item``; ``UserError`` when a ledger rule forbids it."""
    data = {"branch": item.branch, "entry": item.id, **{k: v for k, v in fields.items() if v is not None}}
    try:
        clean = validate_data(Kind.LEDGER_CHANGE, data)
    except ValidationError as exc:
        raise UserError(f"{item.ref}：{first_error(exc)}") from None
    why = check_change(item, clean)
    if why:
        raise UserError(f"{item.ref}：{why}")
    return clean


def change_item(session: Session, ref: str, *, today: date | None = None, **fields: Any) -> Rec:
    """Record one change to one ledger item, after the ledger's rules allow it — and none dated
    after ``today`` (a check or a completion recorded in advance)."""
    item = item_or_error(ledger_of(session), ref)
    today = today or date.today()
    data = change_data(item, fields)  # dates checked as dates here
    for key, label in (("checked_on", "核查日期"), ("completed_on", "完成时间")):
        if data.get(key) is not None and date.fromisoformat(data[key]) > today:
            raise UserError(f"{item.ref}：{label} {data[key]} 晚于今天（{today}），不能预先登记")
    return session.save(Kind.LEDGER_CHANGE, data)


def store_evidence(session_path: Path, source: str | Path) -> str:
    """Copy a photo, a scan or a PDF into the session's evidence store (the one photos use, so the
    files travel with the session through handout and merge); returns its reference."""
    return evidence.add(session_path, source, documents=True)


def evidence_path(session_path: Path, stored: str) -> Path | None:
    """The file a stored evidence entry stands for, or None when it is not on this machine."""
    return evidence.locate(session_path, stored)
