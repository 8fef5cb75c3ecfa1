"""View-models for the exported documents, built from a session and the scoring results.

The model computes; templates only show. Everything a template prints — numbers already formatted,
dates in Chinese, the list numbering, which items are unsettled — is decided here, so an
organisation's own template cannot get a total or a rating wrong. View-models are plain,
picklable data (dicts, lists, strings) so the batch exporter can ship them to worker processes
that only render.

The rectification notice also has a *canonical data* form (``NoticeVM.data``): the exact JSON that
is embedded in the PDF and hashed into the QR code. It holds what the branch must do — numbered
items with problem, requirement, deadline and responsible — plus the identifiers of the visit, so the
follow-up visit can load it from the PDF alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.folding import Folded, fold, normalise
from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import canonical
from inspect_tui.store import evidence

NOTICE_FORMAT = "inspect-tui/rectification-notice"
NOTICE_FORMAT_VERSION = 1

FEEDBACK = "feedback"
NOTICE = "notice"
KIND_LABELS = {FEEDBACK: "点对点反馈意见", NOTICE: "整改通知书"}


def cn_date(d: date | str | None) -> str:
    if d is None or d == "":
        return "待定"
    if isinstance(d, str):
        d = date.fromisoformat(d)
    return f"{d.year}年{d.month}月{d.day}日"


def _unique(texts: list[str]) -> list[str]:
    """Texts in first-seen order without repeats, compared as findings are (``core.folding``)."""
    seen: dict[str, str] = {}
    for t in texts:
        if t.strip():
            seen.setdefault(normalise(t), t.strip())
    return list(seen.values())


@dataclass
class FeedbackVM:
    branch_id: str
    branch_name: str
    context: dict[str, Any]
    attachments: list[str] = field(default_factory=list)  # absolute paths the renderer may read


@dataclass
class NoticeVM:
    branch_id: str
    branch_name: str
    data: dict[str, Any]  # canonical notice: embedded as JSON and hashed into the QR code
    context: dict[str, Any]

    @property
    def sha256(self) -> str:
        return notice_hash(self.data)


def notice_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of a notice's data."""
    return hashlib.sha256(canonical(data)).hexdigest()


def _sorted_by_item(checklist: Checklist, recs: list[Rec]) -> list[Rec]:
    order = {it.id: n for n, it in enumerate(checklist.items())}
    return sorted(recs, key=lambda r: (order.get(r.data.get("item") or "", 10**6), r.at, r.id))


def _folded_by_item(checklist: Checklist, records: list[Rec], kind: Kind) -> list[Folded]:
    """The branch's findings of ``kind``, identical ones folded (one number everywhere), in checklist order."""
    order = {it.id: n for n, it in enumerate(checklist.items())}
    return sorted(fold(records, (kind,)), key=lambda f: (order.get(f.item or "", 10**6), f.at, f.record_ids[0]))


def _item_title(checklist: Checklist, item_id: str | None) -> tuple[str, str]:
    if not item_id:
        return "其他方面", ""
    try:
        item = checklist.item(item_id)
    except KeyError:
        return f"检查项 {item_id}", ""
    return item.title, checklist.area_of(item_id).title


def build_feedback(*, meta: Any, checklist: Checklist, branch: Rec, records: list[Rec], result: BranchResult,
                   session_path: Path) -> FeedbackVM:
    """The point-by-point feedback (点对点反馈意见) for one branch."""
    by_kind: dict[Kind, list[Rec]] = {}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r)
    unsettled_ids = {i.item.id for i in result.unsettled}

    areas = [{"title": a.area.title, "full": fmt_score(a.full_marks), "score": fmt_score(a.score),
              "scored": a.scored_items, "item_count": len(a.area.items),
              "unsettled": sum(1 for i in result.items if i.area.id == a.area.id and i.disagreement)}
             for a in result.areas]

    # Findings: one numbered entry per checklist item with problems or suggestions, in checklist order.
    groups: dict[str | None, dict[str, list[str]]] = {}
    for f in _folded_by_item(checklist, records, Kind.PROBLEM):
        g = groups.setdefault(f.item, {"found": [], "evidence": [], "suggest": []})
        g["found"].append(f.text)
        g["evidence"] += f.evidence
    for f in _folded_by_item(checklist, records, Kind.SUGGESTION):
        groups.setdefault(f.item, {"found": [], "evidence": [], "suggest": []})["suggest"].append(f.text)
    order = {it.id: n for n, it in enumerate(checklist.items())}
    findings = []
    for n, (item_id, g) in enumerate(sorted(groups.items(), key=lambda kv: order.get(kv[0] or "", 10**6)), 1):
        title, area = _item_title(checklist, item_id)
        ir = next((i for i in result.items if i.item.id == item_id), None)
        findings.append({
            "no": n, "item_id": item_id or "", "title": title, "area": area,
            "found": g["found"], "evidence": _unique(g["evidence"]), "suggestions": g["suggest"],
            "score": f"{fmt_score(ir.value)} / {fmt_score(ir.item.full_marks)}" if ir else "",
            "unsettled": item_id in unsettled_ids,
        })

    unsettled = [{"title": i.item.title, "area": i.area.title, "value": fmt_score(i.value),
                  "full": fmt_score(i.item.full_marks), "score_settled": i.verdict is not None,
                  "scores": "；".join(f"{a} {fmt_score(s)} 分" for a, s in sorted(i.scores.items())),
                  "statuses": "；".join(f"{a}（{st.label}）{s.label}"
                                        for (a, st), s in sorted(i.statuses.items(), key=lambda kv: kv[0]))}
                 for i in result.unsettled]

    highlights = [{"text": f.text, "item": _item_title(checklist, f.item)[0] if f.item else ""}
                  for f in _folded_by_item(checklist, records, Kind.HIGHLIGHT)]

    photos, allowed = [], []
    for r in _sorted_by_item(checklist, by_kind.get(Kind.OBSERVATION, [])):
        for name in r.data.get("files") or ():
            path = evidence.locate(session_path, name)
            title = _item_title(checklist, r.data.get("item"))[0]
            step = Step(r.data["step"]).label if r.data.get("step") else ""
            caption = f"{title}（{step}）" + (f"：{r.data['note']}" if r.data.get("note") else "")
            photos.append({"no": len(photos) + 1, "url": path.as_uri() if path else "", "caption": caption,
                           "file": evidence.display_name(name), "path": str(path) if path else "",
                           "missing": path is None, "reason": "" if path else "文件不在本机"})
            if path:
                allowed.append(str(path))

    inspectors = [a for a in result.authors if a in meta.inspectors] or list(meta.inspectors)
    awareness = result.awareness
    context = {
        "title": KIND_LABELS[FEEDBACK],
        "group": meta.group, "date": cn_date(meta.date), "branch": branch.data["name"],
        "unit": branch.data.get("unit", ""), "inspectors": "、".join(inspectors),
        "checklist": f"{checklist.title}（{checklist.version}）",
        "areas": areas, "total": fmt_score(result.total), "full_marks": fmt_score(result.full_marks),
        "rating": result.rating.label, "rating_level": result.rating.level.value,
        "awareness": f"{fmt_rate(awareness)}（{result.adequate}/{result.asked}）" if awareness is not None else "未访谈",
        "problem_count": result.problems,
        "findings": findings, "highlights": highlights, "unsettled": unsettled, "photos": photos,
        "scored_items": result.scored_items, "item_count": len(result.items),
    }
    return FeedbackVM(branch.id, branch.data["name"], context, allowed)


def branch_numbers(branches: list[Rec]) -> dict[str, int]:
    """The number each branch carries in notice numbers: its planned ``order`` when those are unique and
    positive (stable when another branch is deleted later), else its position in the list."""
    orders = [b.data.get("order", 0) for b in branches]
    if all(isinstance(o, int) and o > 0 for o in orders) and len(set(orders)) == len(orders):
        return {b.id: o for b, o in zip(branches, orders, strict=True)}
    return {b.id: n for n, b in enumerate(branches, 1)}


def notice_number(meta: Any, position: int) -> str:
    """ASCII so it survives any QR reader: ``<date>-<visit id prefix>-<branch position>``."""
    return f"{meta.date:%Y%m%d}-{meta.visit_id[:6]}-{position:02d}"


def build_notice(*, meta: Any, checklist: Checklist, branch: Rec, records: list[Rec], position: int) -> NoticeVM | None:
    """The rectification notice (整改通知书) for one branch, or None when it has no problems."""
    problems = {r.id: r for r in records if r.kind is Kind.PROBLEM}
    rects = [r for r in records if r.kind is Kind.RECTIFICATION]
    if not problems and not rects:
        return None
    groups: dict[str | None, dict[str, list]] = {}

    def group(item_id: str | None) -> dict[str, list]:
        return groups.setdefault(item_id, {"problems": [], "reqs": [], "deadlines": [], "resp": []})

    for f in _folded_by_item(checklist, records, Kind.PROBLEM):
        group(f.item)["problems"].append(f.text)
    for r in _sorted_by_item(checklist, rects):
        g = group(r.data.get("item"))
        g["reqs"].append(r.data["requirement"])
        linked = problems.get(r.data.get("problem") or "")
        if linked is not None and linked.data.get("item") != r.data.get("item"):
            g["problems"].append(linked.data["text"])
        if r.data.get("deadline"):
            g["deadlines"].append(str(r.data["deadline"]))
        if r.data.get("responsible"):
            g["resp"].append(r.data["responsible"])
    order = {it.id: n for n, it in enumerate(checklist.items())}
    items = []
    for n, (item_id, g) in enumerate(sorted(groups.items(), key=lambda kv: order.get(kv[0] or "", 10**6)), 1):
        title, area = _item_title(checklist, item_id)
        reqs = _unique(g["reqs"])
        if not reqs and item_id:
            try:
                reqs = [checklist.item(item_id).rectification]
            except KeyError:
                reqs = []
        items.append({
            "no": n, "item_id": item_id or "", "item": title, "area": area,
            "problem": "；".join(_unique(g["problems"])) or "（见整改要求）",
            "requirement": "；".join(reqs) or "按检查要求整改",
            "deadline": min(g["deadlines"]) if g["deadlines"] else None,
            "responsible": "、".join(_unique(g["resp"])) or "支部书记",
        })
    deadlines = [i["deadline"] for i in items if i["deadline"]]
    data = {
        "format": NOTICE_FORMAT, "format_version": NOTICE_FORMAT_VERSION,
        "notice_no": notice_number(meta, position),
        "visit_id": meta.visit_id, "group": meta.group, "date": meta.date.isoformat(),
        "checklist": {"id": checklist.id, "version": checklist.version},
        "branch": {"id": branch.id, "name": branch.data["name"], "unit": branch.data.get("unit", "")},
        "deadline": max(deadlines) if deadlines else None,
        "items": items,
    }
    context = {
        "title": KIND_LABELS[NOTICE], "notice_no": data["notice_no"], "group": meta.group,
        "date": cn_date(meta.date), "branch": branch.data["name"], "unit": branch.data.get("unit", ""),
        "deadline": cn_date(data["deadline"]),
        "items": [{**i, "deadline_cn": cn_date(i["deadline"])} for i in items],
    }
    return NoticeVM(branch.id, branch.data["name"], data, context)
