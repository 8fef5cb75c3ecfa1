"""The rectification notice (整改通知书): its canonical data, what is missing before it can be
issued, and the page context built from the data alone.

**The page is a function of the data.** ``notice_context(data)`` builds everything the template
prints from the embedded data (plus the seal image, whose hash the data holds). The exporter and
``verify`` call the same function, so ``verify`` can rebuild the page from the PDF's own data and
compare it with what is printed (see verify.py).

**Only what someone recorded.** Each row is one demand (整改要求) an inspector or the leader
entered, with the problem it answers. A problem no demand answers, a demand without a deadline, or
a responsible given only as a role (支部书记) is a *gap*: listed to the leader before export, and an
issued notice is refused until it is filled — never filled with default text. A draft (征求意见稿)
may be exported with gaps; they print as visibly open.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind
from inspect_tui.core.versions import canonical
from inspect_tui.export.documents import cn_date, item_title, norm_text, sorted_by_item
from inspect_tui.export.issuer import Issuer, seal_hash
from inspect_tui.export.printable import Printer

NOTICE_FORMAT = "inspect-tui/rectification-notice"
NOTICE_FORMAT_VERSION = 2
ISSUED, DRAFT = "issued", "draft"
DRAFT_MARK = "征求意见稿"
OPEN = "（未填）"

# A responsible given only as one of these is a role, not a person who can be held to a deadline.
ROLES = {"支部书记", "书记", "副书记", "支部副书记", "组织委员", "宣传委员", "纪检委员", "青年委员", "统战委员",
         "支部委员", "委员", "支委", "党员", "全体党员", "支部", "党支部", "组长", "支委会", "党小组长"}


@dataclass
class NoticeVM:
    branch_id: str
    branch_name: str
    data: dict[str, Any]  # canonical notice: embedded as JSON and hashed into the QR code
    seal: bytes | None = None
    gaps: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return notice_hash(self.data)


def notice_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of a notice's data."""
    return hashlib.sha256(canonical(data)).hexdigest()


def content_hash(data: dict[str, Any]) -> str:
    """The fingerprint of what a notice demands of its branch — its rows and overall deadline, the
    part built from the session's records — kept with its 发文字号 when issued. Letterhead, contact
    and seal (the issuer file's) are not in it."""
    return hashlib.sha256(canonical({"branch": data["branch"]["id"], "deadline": data["deadline"],
                                     "items": data["items"]})).hexdigest()


def changed_since_issue(issued: Any, data: dict[str, Any]) -> bool:
    """The notice built now (``data``) demands other than what was issued under its number: the
    ``doc_number`` record ``issued`` keeps a fingerprint, and it differs. (None kept: not issued
    yet, or issued before fingerprints were kept — nothing to compare.)"""
    kept = issued.data.get("content") if issued is not None else None
    return kept is not None and kept != content_hash(data)


def is_role(name: str) -> bool:
    return name.strip() in ROLES


def named(responsible: str, secretary: str | None) -> str:
    """"支部书记" becomes the person when the plan names the branch's secretary."""
    if secretary and responsible.strip() in ("支部书记", "书记"):
        return f"{secretary}（支部书记）"
    return responsible.strip()


def notice_items(checklist: Checklist, records: list[Rec], secretary: str | None = None,
                 folded: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The notice's rows (one per recorded demand, identical demands folded) and its gaps.
    ``secretary``: the branch secretary's name from the plan, for demands whose responsible is 支部书记.
    ``folded`` collects, for the leader's review, each row whose folded demands were recorded with
    different deadlines (the earliest is printed) or different responsible people (all are named)."""
    problems = {r.id: r for r in records if r.kind is Kind.PROBLEM}
    demands = sorted_by_item(checklist, [r for r in records if r.kind is Kind.RECTIFICATION])
    linked = {d.data.get("problem") for d in demands if d.data.get("problem") in problems}
    item_level = {d.data.get("item") for d in demands if not d.data.get("problem")}
    rows: dict[tuple[str | None, str], dict[str, Any]] = {}
    for d in demands:
        item_id = d.data.get("item")
        pid = d.data.get("problem")
        if pid in problems:
            texts = [problems[pid].data["text"]]
        else:
            texts = [p.data["text"] for p in sorted_by_item(checklist, list(problems.values()))
                     if p.data.get("item") == item_id and p.id not in linked]
        key = (item_id, norm_text(d.data["requirement"]))
        row = rows.setdefault(key, {"item_id": item_id or "", "problems": [], "requirement": d.data["requirement"].strip(),
                                    "deadlines": [], "responsible": []})
        row["problems"] += texts
        if d.data.get("deadline"):
            row["deadlines"].append(str(d.data["deadline"]))
        if (d.data.get("responsible") or "").strip():
            row["responsible"].append(named(d.data["responsible"], secretary))
    items, gaps = [], []
    for n, row in enumerate(rows.values(), 1):
        title, area = item_title(checklist, row["item_id"] or None)
        resp = list(dict.fromkeys(row["responsible"]))
        items.append({"no": n, "item_id": row["item_id"], "item": title, "area": area,
                      "problem": "；".join(dict.fromkeys(t.strip() for t in row["problems"])),
                      "requirement": row["requirement"],
                      "deadline": min(row["deadlines"]) if row["deadlines"] else None,
                      "responsible": "、".join(resp)})
        label = f"第 {n} 项（{title}）"
        if folded is not None and len(set(row["deadlines"])) > 1:
            folded.append(f"{label}各条记录的整改时限不同（{'、'.join(sorted(set(row['deadlines'])))}），"
                          f"通知书印最早的 {min(row['deadlines'])}")
        if folded is not None and len(resp) > 1:
            folded.append(f"{label}各条记录的责任人不同，通知书并列印出：{'、'.join(resp)}")
        if not row["problems"]:
            gaps.append(f"{label}的整改要求没有对应的问题记录")
        if not row["deadlines"]:
            gaps.append(f"{label}没有整改时限")
        if not resp:
            gaps.append(f"{label}没有责任人")
        elif all(is_role(r) for r in resp):
            gaps.append(f"{label}责任人“{'、'.join(resp)}”是职务，应写具体人员姓名")
    for p in sorted_by_item(checklist, list(problems.values())):
        if p.id not in linked and p.data.get("item") not in item_level:
            gaps.append(f"问题“{p.data['text'][:40]}”（{item_title(checklist, p.data.get('item'))[0]}）没有整改要求")
    return items, gaps


def build_notice(*, meta: Any, checklist: Checklist, branch: Rec, records: list[Rec], number: str | None,
                 issuer: Issuer | None = None, seal: bytes | None = None, draft: bool = False) -> NoticeVM | None:
    """The notice for one branch, or None when nothing was found that needs rectifying."""
    if not any(r.kind in (Kind.PROBLEM, Kind.RECTIFICATION) for r in records):
        return None
    issuer = issuer or Issuer()
    items, gaps = notice_items(checklist, records, branch.data.get("secretary", ""))
    deadlines = [i["deadline"] for i in items if i["deadline"]]
    deadline = max(deadlines) if deadlines else None
    body = issuer.body or meta.group
    data = {
        "format": NOTICE_FORMAT, "format_version": NOTICE_FORMAT_VERSION,
        "status": DRAFT if draft else ISSUED,
        "doc_no": number or "",
        "visit_id": meta.visit_id, "group": meta.group, "date": meta.date.isoformat(),
        "issuer": {"body": body, "letterhead": issuer.letterhead or body, "cc": list(issuer.cc),
                   "contact": issuer.contact or "", "phone": issuer.phone or "",
                   "reply_address": issuer.reply_address or "", "seal_sha256": seal_hash(seal)},
        "addressee": issuer.addressee.format(branch=branch.data["name"], unit=branch.data.get("unit", "")),
        "checklist": {"id": checklist.id, "version": checklist.version},
        "branch": {"id": branch.id, "name": branch.data["name"], "unit": branch.data.get("unit", "")},
        "deadline": deadline,
        "reply_by": (date.fromisoformat(deadline) + timedelta(days=issuer.reply_days)).isoformat() if deadline else None,
        "items": items,
    }
    return NoticeVM(branch.id, branch.data["name"], data, seal, gaps)


def notice_context(data: dict[str, Any], seal: bytes | None = None) -> tuple[dict[str, Any], list[str]]:
    """What the template prints, from the notice data alone; and warnings for text that could not
    be printed as typed (placeholders). Raises KeyError/TypeError/ValueError on malformed data."""
    p = Printer()
    issuer = data["issuer"]
    draft = data["status"] == DRAFT
    items = [{"no": int(i["no"]), "item": p(f"第{i['no']}项检查项", i["item"]), "area": p("方面", i["area"]),
              "problem": p(f"第{i['no']}项存在问题", i["problem"]) or OPEN,
              "requirement": p(f"第{i['no']}项整改要求", i["requirement"]) or OPEN,
              "deadline_cn": cn_date(i["deadline"]) if i["deadline"] else OPEN,
              "responsible": p(f"第{i['no']}项责任人", i["responsible"]) or OPEN}
             for i in data["items"]]
    context = {
        "title": "整改通知书", "draft": draft, "draft_mark": DRAFT_MARK,
        "doc_no": p("发文字号", data["doc_no"]),
        "letterhead": p("版头", issuer["letterhead"]), "body": p("发文机关", issuer["body"]),
        "group": p("观摩小组", data["group"]), "date": cn_date(data["date"]),
        "addressee": p("主送", data["addressee"]), "branch": p("支部", data["branch"]["name"]),
        "unit": p("单位", data["branch"]["unit"]),
        "cc": "、".join(p("抄送", c) for c in issuer["cc"]),
        "contact": p("联系人", issuer["contact"]), "phone": p("联系电话", issuer["phone"]),
        "reply_address": p("报送地址", issuer["reply_address"]),
        "deadline": cn_date(data["deadline"]) if data["deadline"] else OPEN,
        "reply_by": cn_date(data["reply_by"]) if data["reply_by"] else OPEN,
        "items": items,
        "seal": "data:image/png;base64," + base64.b64encode(seal).decode("ascii") if seal else "",
    }
    return context, p.warnings
