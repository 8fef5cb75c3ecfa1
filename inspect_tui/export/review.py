"""What the leader must see before documents are issued: the pre-export review of one branch.

* **Unsettled disagreements** block the issued feedback and notice (a draft may still be made; the
  inspectors' values go only to the internal 分歧与裁定清单).
* **Notice gaps** (a problem without a demand, a demand without deadline or named person) block the
  issued notice: nobody's demand is invented.
* **Points lost without a recorded problem** are flagged (not blocking): the branch would read a
  lower score with no reason given.
* **What the notice decides on its own** is said (not blocking): demands folded though recorded
  with different deadlines or responsible people, and problems under an item the group ruled 符合.

The CLI prints this review and the export screen shows it; both call ``review_session``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inspect_tui.core.format import fmt_score
from inspect_tui.core.records import Kind, Status
from inspect_tui.core.scoring import BranchResult


@dataclass
class BranchReview:
    branch_id: str
    name: str
    result: BranchResult
    unsettled: list[str] = field(default_factory=list)  # item titles
    gaps: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # "title（得分 x / y）"
    folded: list[str] = field(default_factory=list)  # what the notice chose among differing records
    has_findings: bool = False

    def blockers(self, kind: str) -> list[str]:
        """Why an issued document of ``kind`` cannot be made, in short (details: ``lines``)."""
        out = []
        if self.unsettled:
            out.append(f"{len(self.unsettled)} 项分歧未裁定")
        if kind == "notice" and self.gaps:
            out.append(f"整改事项有 {len(self.gaps)} 处不全")
        return out

    def lines(self) -> list[str]:
        """Everything the leader should look at before issuing, one line each (empty when nothing)."""
        out = []
        if self.unsettled:
            out.append(f"{self.name}：分歧未裁定（{len(self.unsettled)} 项）：{'、'.join(self.unsettled)}")
        out += [f"{self.name}：{g}" for g in self.gaps]
        if self.unexplained:
            out.append(f"{self.name}：扣分但没有记录问题（{len(self.unexplained)} 项）：{'、'.join(self.unexplained)}")
        out += [f"{self.name}：{f}" for f in self.folded]
        return out


def branch_review(session: Any, branch: Any) -> BranchReview:
    from inspect_tui.export.notice import notice_items

    records = session.records(branch.id)
    result = session.result(branch.id)
    review = BranchReview(branch.id, branch.data["name"], result)
    review.unsettled = [i.item.title for i in result.unsettled]
    review.has_findings = any(r.kind in (Kind.PROBLEM, Kind.RECTIFICATION) for r in records)
    if review.has_findings:
        review.gaps = notice_items(session.checklist, records, branch.data.get("secretary", ""), review.folded)[1]
    met = _ruled_met(records)
    titles = {i.item.id: i.item.title for i in result.items}
    review.folded += [f"「{titles.get(p.data['item'], p.data['item'])}」小组裁定为符合，但仍有问题记录"
                      f"“{p.data['text'][:30]}”，会印入整改通知书" for p in records
                      if p.kind is Kind.PROBLEM and p.data.get("item") in met]
    with_problem = {r.data.get("item") for r in records if r.kind is Kind.PROBLEM}
    review.unexplained = [f"{i.item.title}（得分 {fmt_score(i.value)} / {fmt_score(i.item.full_marks)}）"
                          for i in result.items
                          if i.value is not None and i.value < i.item.full_marks and i.item.id not in with_problem]
    return review


def _ruled_met(records: list[Any]) -> set[str]:
    """Items whose 看/查 the group settled, every such verdict 符合."""
    ruled: dict[str, set[str | None]] = {}
    for r in records:
        if r.kind is Kind.VERDICT and r.data.get("field") in ("look", "check"):
            ruled.setdefault(r.data["item"], set()).add(r.data.get("status"))
    return {item for item, statuses in ruled.items() if statuses == {Status.MEETS.value}}


def review_session(session: Any, branches: list[Any] | None = None) -> list[BranchReview]:
    return [branch_review(session, b) for b in (branches if branches is not None else session.branches())]
