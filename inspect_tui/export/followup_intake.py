"""What a follow-up takes in: issued notices (rebuilt from a visit session, or read from PDFs that
``verify`` has proven unchanged) and returned reply forms (matched by their QR code).

Nothing enters the ledger unproven. A notice PDF is verified first — QR, embedded data and the
printed page must agree (and, when the visit session is given too, the session's records) — and a
forged or altered one is refused with verify's reason. A draft (征求意见稿) was never issued and a
notice without a 发文字号 has no stable ledger id: both are refused as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_tui.core.ledger import S
from inspect_tui.core.records import Kind
from inspect_tui.errors import UserError
from inspect_tui.export.documents import NOTICE
from inspect_tui.export.issuer import assigned_number, issued_record
from inspect_tui.export.notice import DRAFT, build_notice, changed_since_issue
from inspect_tui.export.reply_qr import ReplyPayload, read_reply_codes
from inspect_tui.store.followup import change_data, ledger_of, store_evidence
from inspect_tui.store.session import Session


@dataclass
class Intake:
    notices: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    notes: list[str] = field(default_factory=list)
    checklist: Any = None


def notices_from_session(session: Session, intake: Intake) -> None:
    """The notices the session has issued (a 发文字号 recorded), rebuilt from its records."""
    intake.checklist = session.checklist
    for b in session.branches():
        records = session.records(b.id)
        number = assigned_number(records, b.id, NOTICE)
        if number is None:
            if any(r.kind in (Kind.PROBLEM, Kind.RECTIFICATION) for r in records):
                intake.notes.append(f"{b.data['name']}：整改通知书尚未正式签发（没有发文字号），未纳入台账")
            continue
        vm = build_notice(meta=session.meta, checklist=session.checklist, branch=b, records=records, number=number)
        if vm is None:
            continue
        if vm.gaps:
            intake.refused.append((f"{b.data['name']}（{number}）", "记录不完整：" + "；".join(vm.gaps)))
            continue
        if changed_since_issue(issued_record(records, b.id, NOTICE), vm.data):
            intake.refused.append((f"{b.data['name']}（{number}）", "签发后整改事项有改动：台账须按签发的通知书建立——"
                                   "请改用签发的通知书 PDF，或先重新签发（export --reissue）"))
            continue
        intake.notices.append(vm.data)


def notices_from_pdfs(pdfs: Sequence[str | Path], intake: Intake, session_path: str | Path | None = None,
                      template_dir: str | Path | None = None) -> None:
    """Each PDF verified, then its embedded data taken; a PDF already covered by the session is
    checked against it (``verify --session``) and its issued data replaces the rebuilt one."""
    from inspect_tui.export.verify import verify_pdf

    for pdf in pdfs:
        report = verify_pdf(pdf, session_path=session_path, template_dir=template_dir)
        if not report.ok:
            why = "；".join(f"{c.name}：{c.detail}" if c.detail else c.name for c in report.checks if not c.ok)
            intake.refused.append((str(pdf), f"核验未通过，不是原件或已被改动（{why}）"))
            continue
        notice = report.notice or {}
        if notice.get("status") == DRAFT or not notice.get("doc_no"):
            intake.refused.append((str(pdf), "征求意见稿（未正式签发、没有发文字号）不能纳入台账"))
            continue
        same = [n for n in intake.notices if n["doc_no"] == notice["doc_no"]]
        for n in same:
            intake.notices.remove(n)
        intake.notices.append(notice)


@dataclass
class Attached:
    scan: str
    notice_no: str = ""
    items: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str = ""


def attach_scan(session: Session, scan: str | Path) -> Attached:
    """Match one returned reply form to its notice by the QR code, keep the file as evidence of
    the form's items and mark them 待核查. Errors are returned, not raised, so one bad scan
    among many does not stop the others."""
    out = Attached(str(scan))
    try:
        replies, others = read_reply_codes(scan)
    except UserError as exc:
        out.error = exc.problems[0].message if exc.problems else exc.message
        return out
    if not replies:
        out.error = ("扫描件上读不到《整改情况反馈表》的二维码" +
                     ("（只找到整改通知书正文页的二维码，请扫描所附的反馈表页）" if any("notice" in o for o in others)
                      else "（请确认扫描了反馈表页、二维码完整清晰，必要时重新扫描或拍照）"))
        return out
    ledger = ledger_of(session)
    visits = {i.visit_id for i in ledger.items}
    changes = []
    for text in replies:
        try:
            payload = ReplyPayload.decode(text)
        except ValueError as exc:
            out.error = str(exc)
            return out
        if payload.session not in visits:
            out.error = f"这是另一次观摩的通知书（{payload.notice_no or '无文号'}）的反馈表，不属于本次回头看"
            return out
        items = [ledger.get(f"{payload.notice_no}/{n}") for n in payload.items]
        if not any(items):
            out.error = f"本次回头看的台账中没有通知书 {payload.notice_no}"
            return out
        out.notice_no = payload.notice_no
        stored = store_evidence(session.path, scan)
        for item in items:
            if item is None:
                continue
            if item.status is S.CLOSED:
                out.skipped.append(f"{item.ref}（已销号）")
                continue
            status = S.TO_CHECK if item.status is not S.TO_CHECK else None
            if status is None and stored in item.evidence_files:
                out.items.append(item.ref)  # the same scan again: already recorded
                continue
            changes.append((Kind.LEDGER_CHANGE, change_data(item, {"status": status, "evidence_files": (stored,)})))
            out.items.append(item.ref)
    session.save_many(changes)
    return out

