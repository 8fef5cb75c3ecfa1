"""View-models for the exported documents, built from a session and the scoring results.

The model computes; templates only show. Everything a template prints — numbers already formatted,
dates in Chinese, the list numbering (一、/（一）/ 1. /（1）), the overall evaluation — is decided
here, so an organisation's own template cannot get a total or a rating wrong. View-models are plain,
picklable data (dicts, lists, strings) so the batch exporter can ship them to worker processes
that only render. Every typed text goes through ``printable`` (bidi and zero-width characters
neutralised, characters no font has as visible placeholders, with a warning naming the field).

The feedback goes to the branch: it never shows individual inspectors' values. Disagreements go to
the leader's internal 分歧与裁定清单 (``disputes.py``). The rectification notice is in ``notice.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.folding import Folded, fold, normalise
from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import AreaResult, BranchResult
from inspect_tui.core.steps import Step
from inspect_tui.export.printable import Printer
from inspect_tui.store import evidence

FEEDBACK = "feedback"
NOTICE = "notice"
KIND_LABELS = {FEEDBACK: "点对点反馈意见", NOTICE: "整改通知书"}
CN_NUMBERS = "一二三四五六七八九十"


def cn_date(d: date | str | None) -> str:
    if d is None or d == "":
        return "待定"
    if isinstance(d, str):
        d = date.fromisoformat(d)
    return f"{d.year}年{d.month}月{d.day}日"


def cn_ordinal(n: int) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一 (for （一） headings)."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CN_NUMBERS[ones - 1]
    return (CN_NUMBERS[tens - 1] if tens > 1 else "") + "十" + (CN_NUMBERS[ones - 1] if ones else "")


def norm_text(text: str) -> str:
    return normalise(text)


@dataclass
class FeedbackVM:
    branch_id: str
    branch_name: str
    context: dict[str, Any]
    attachments: list[str] = field(default_factory=list)  # absolute paths the renderer may read
    seal: bytes | None = None
    warnings: list[str] = field(default_factory=list)


def sorted_by_item(checklist: Checklist, recs: list[Rec]) -> list[Rec]:
    order = {it.id: n for n, it in enumerate(checklist.items())}
    return sorted(recs, key=lambda r: (order.get(r.data.get("item"), len(order)), r.at, r.id))


def _folded_by_item(checklist: Checklist, records: list[Rec], kind: Kind) -> list[Folded]:
    """The branch's findings of ``kind``, identical ones folded (one number everywhere), in checklist order."""
    order = {it.id: n for n, it in enumerate(checklist.items())}
    return sorted(fold(records, (kind,)), key=lambda f: (order.get(f.item, len(order)), f.at, f.record_ids[0]))


def item_title(checklist: Checklist, item_id: str | None) -> tuple[str, str]:
    if not item_id:
        return "其他方面", ""
    try:
        item = checklist.item(item_id)
    except KeyError:
        return f"检查项 {item_id}", ""
    return item.title, checklist.area_of(item_id).title


def composed_evaluation(branch_name: str, result: BranchResult, problems: int, highlights: int) -> str:
    """The 总体评价 when the leader wrote none (the leader's 评 note replaces it)."""
    def share(a: AreaResult) -> float:
        return a.score / a.full_marks  # a checklist has at least one area, each with full marks > 0

    best, worst = max(result.areas, key=share), min(result.areas, key=share)
    text = (f"经观摩，{branch_name}标准化规范化建设总得分 {fmt_score(result.total)} 分"
            f"（满分 {fmt_score(result.full_marks)} 分），评定等次为“{result.rating.label}”。")
    if best is not worst:
        text += f"其中“{best.area.title}”方面完成较好，“{worst.area.title}”方面相对薄弱。"
    text += f"观摩中总结亮点 {highlights} 条，发现问题 {problems} 个，请对照反馈意见抓好整改。"
    return text


def leader_evaluation(records: list[Rec], leader: str | None) -> str:
    """The leader's own 评 (evaluate step) note for the branch, if written."""
    notes = [r for r in records if r.kind is Kind.STEP_NOTE and r.data.get("step") == Step.EVALUATE.value
             and r.author == leader and (r.data.get("text") or "").strip()]
    return notes[-1].data["text"].strip() if notes else ""


def build_feedback(*, meta: Any, checklist: Checklist, branch: Rec, records: list[Rec], result: BranchResult,
                   session_path: Path, number: str | None = None, issuer: Any = None, seal: bytes | None = None,
                   draft: bool = False) -> FeedbackVM:
    """The point-by-point feedback (点对点反馈意见) for one branch: 总体评价, scores, then
    亮点 → 问题 → 建议, numbered 一、/（一）/ 1. /（1）."""
    from inspect_tui.export.issuer import Issuer

    issuer = issuer or Issuer()
    p = Printer()

    areas = [{"title": p("方面", a.area.title), "full": fmt_score(a.full_marks), "score": fmt_score(a.score),
              "scored": a.scored_items, "item_count": len(a.area.items)} for a in result.areas]

    highlights = [{"no": f"（{cn_ordinal(n)}）", "text": p("亮点", f.text),
                   "item": p("检查项", item_title(checklist, f.item)[0]) if f.item else ""}
                  for n, f in enumerate(_folded_by_item(checklist, records, Kind.HIGHLIGHT), 1)]

    # Problems: （一） per area, 1. per problem, （1） per piece of evidence when there are several.
    problem_groups: dict[str, list[dict[str, Any]]] = {}
    for f in _folded_by_item(checklist, records, Kind.PROBLEM):
        title, area = item_title(checklist, f.item)
        entries = problem_groups.setdefault(area or "其他方面", [])
        proofs = [p("佐证材料", e) for e in f.evidence]
        entries.append({"no": f"{len(entries) + 1}.", "item": p("检查项", title), "text": p("存在问题", f.text),
                        "evidence": [{"no": f"（{k}）", "text": e} for k, e in enumerate(proofs, 1)]
                        if len(proofs) > 1 else [{"no": "", "text": e} for e in proofs]})
    problems = [{"no": f"（{cn_ordinal(n)}）", "area": p("方面", area), "entries": entries}
                for n, (area, entries) in enumerate(problem_groups.items(), 1)]

    suggestions = [{"no": f"（{cn_ordinal(n)}）", "text": p("意见建议", f.text),
                    "item": p("检查项", item_title(checklist, f.item)[0]) if f.item else ""}
                   for n, f in enumerate(_folded_by_item(checklist, records, Kind.SUGGESTION), 1)]

    photos, allowed = [], []
    for r in sorted_by_item(checklist, [r for r in records if r.kind is Kind.OBSERVATION]):
        for name in r.data.get("files") or ():
            path = evidence.locate(session_path, name)
            title = item_title(checklist, r.data.get("item"))[0]
            step = f"（{Step(r.data['step']).label}）" if r.data.get("step") else ""
            caption = title + step + (f"：{r.data['note']}" if r.data.get("note") else "")
            photos.append({"no": len(photos) + 1, "url": path.as_uri() if path else "", "caption": p("照片说明", caption),
                           "file": p("照片文件名", evidence.display_name(name)), "path": str(path) if path else "",
                           "missing": path is None, "reason": "" if path else "文件不在本机"})
            if path:
                allowed.append(str(path))

    leader = meta.inspector if meta.role == "leader" else None
    evaluation = leader_evaluation(records, leader) or composed_evaluation(
        branch.data["name"], result, result.problems, len(highlights))
    heads = {s: f"{CN_NUMBERS[n]}、{s}" for n, s in enumerate(("总体评价", "得分情况", "亮点与经验做法", "存在问题", "意见建议"))}
    awareness = result.awareness
    body = issuer.body or meta.group
    unit = branch.data.get("unit") or ""
    context = {
        "title": KIND_LABELS[FEEDBACK], "draft": draft, "draft_mark": "征求意见稿",
        "doc_no": p("发文字号", number or ""),
        "letterhead": p("版头", issuer.letterhead or body), "body": p("发文机关", body),
        "addressee": p("主送", issuer.addressee.format(branch=branch.data["name"], unit=unit)),
        "cc": "、".join(p("抄送", c) for c in issuer.cc),
        "contact": p("联系人", issuer.contact or ""), "phone": p("联系电话", issuer.phone or ""),
        "group": p("观摩小组", meta.group), "date": cn_date(meta.date), "branch": p("支部", branch.data["name"]),
        "unit": p("单位", unit),
        "checklist": p("检查依据", f"{checklist.title}（{checklist.version}）"),
        "heads": heads, "evaluation": p("总体评价", evaluation),
        "areas": areas, "total": fmt_score(result.total), "full_marks": fmt_score(result.full_marks),
        "rating": result.rating.label, "rating_level": result.rating.level.value,
        "awareness": f"{fmt_rate(awareness)}（{result.adequate}/{result.asked}）" if awareness is not None else "未访谈",
        "problem_count": result.problems,
        "highlights": highlights, "problems": problems, "suggestions": suggestions, "photos": photos,
        "unsettled_count": len(result.unsettled),
        "scored_items": result.scored_items, "item_count": len(result.items),
        "seal": "",
    }
    if seal:
        import base64

        context["seal"] = "data:image/png;base64," + base64.b64encode(seal).decode()
    return FeedbackVM(branch.id, branch.data["name"], context, allowed, seal, p.warnings)
