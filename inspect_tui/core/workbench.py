"""One inspector's work on one branch, without a screen: every command the app issues and every
query it shows.

The app's step panes (述, 看/查, 问, 评), the review and the CLI all go through a
:class:`BranchWorkbench`, so the rules of the visit live here once: which records are "mine", how
a record's id is built from its place, what a photo attachment must be, when a typed question still
is the checklist's question, what a typed score means, which observations may become problems and
which problem goes with an observation whose shortfall was withdrawn. Commands write through the
session (durably, validated) and raise ``UserError`` with the reason when a value is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from inspect_tui.core.checklist import Item, Question
from inspect_tui.core.index import Rec
from inspect_tui.core.labels import FEEDBACK_KINDS
from inspect_tui.core.records import Kind, claim_id, observation_id, score_id, step_note_id
from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import Step
from inspect_tui.errors import UserError

if TYPE_CHECKING:
    from inspect_tui.store.session import Session

SHORTFALL = ("partly", "not")


def parse_score(text: str) -> float | None:
    """A typed score: blank is "no score", anything else must be a number."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise UserError(f"“{text}”不是数字") from None


class BranchWorkbench:
    """Commands and queries of ``inspector`` on ``branch`` of an open session."""

    def __init__(self, session: Session, branch: str, inspector: str | None = None, *,
                 mine_only: bool | None = None) -> None:
        self.session = session
        self.branch = branch
        self.me = inspector or session.meta.inspector
        # An inspector works with their own records; the leader of a merged session sees everyone's.
        self.mine_only = session.meta.role != "leader" if mine_only is None else mine_only

    # --- queries ---------------------------------------------------------------------------------

    @property
    def checklist(self) -> Any:
        return self.session.checklist

    @property
    def name(self) -> str:
        rec = self.session.index.live(self.branch)
        return rec.data["name"] if rec is not None else self.branch

    def records(self, kind: Kind) -> list[Rec]:
        """Whose records a screen shows: the inspector's own, or everyone's for the leader; oldest first."""
        recs = self.session.records(self.branch, kind)
        if self.mine_only:
            recs = [r for r in recs if r.author == self.me]
        return sorted(recs, key=lambda r: r.at)

    def result(self, preview_score: tuple[str, float | None] | None = None) -> BranchResult:
        return self.session.result(self.branch, mine_only=self.mine_only, preview_score=preview_score)

    def item_title(self, item_id: str | None) -> str:
        if not item_id:
            return "（综合）"
        try:
            return self.checklist.item(item_id).title
        except KeyError:
            return item_id

    # --- 述 ---------------------------------------------------------------------------------------

    def note(self, step: Step) -> Rec | None:
        return self.session.index.live(step_note_id(self.branch, step, self.me))

    def save_note(self, step: Step, **fields: Any) -> Rec:
        return self.session.update(Kind.STEP_NOTE, step_note_id(self.branch, step, self.me),
                                   branch=self.branch, step=step.value, **fields)

    def step_done(self, step: Step) -> bool:
        rec = self.note(step)
        return bool(rec and rec.data.get("done"))

    def toggle_done(self, step: Step) -> Rec:
        return self.save_note(step, done=not self.step_done(step))

    def report_seconds(self) -> int:
        rec = self.note(Step.REPORT)
        return int(rec.data.get("seconds", 0)) if rec else 0

    def save_timer(self, seconds: int) -> Rec | None:
        """Store the report time used; nothing is written when it has not changed."""
        if seconds == self.report_seconds():
            return None
        return self.save_note(Step.REPORT, seconds=max(0, int(seconds)))

    def claimed(self) -> set[str]:
        return {r.data["item"] for r in self.session.records(self.branch, Kind.CLAIM)
                if r.author == self.me and r.data.get("claimed")}

    def set_claim(self, item: str, claimed: bool) -> Rec:
        return self.session.update(Kind.CLAIM, claim_id(self.branch, item, self.me), branch=self.branch,
                                   item=item, claimed=claimed)

    # --- 看 / 查 -----------------------------------------------------------------------------------

    def items(self, step: Step) -> list[Item]:
        return self.checklist.items_for(step)

    def observation(self, item: str, step: Step) -> Rec | None:
        return self.session.index.live(observation_id(self.branch, item, step, self.me))

    def status(self, item: str, step: Step) -> str | None:
        rec = self.observation(item, step)
        return rec.data.get("status") if rec else None

    def observe(self, item: str, step: Step, **fields: Any) -> Rec:
        return self.session.update(Kind.OBSERVATION, observation_id(self.branch, item, step, self.me),
                                   branch=self.branch, item=item, step=step.value, **fields)

    def set_status(self, item: str, step: Step, status: str | None) -> Rec | None:
        """Judge an item (``None`` clears the mark back to 未记录); nothing is written for no change."""
        if self.status(item, step) == status and self.observation(item, step) is not None:
            return None
        return self.observe(item, step, status=status)

    def clear_status(self, item: str, step: Step) -> Rec | None:
        return self.set_status(item, step, None) if self.status(item, step) is not None else None

    def promoted_from(self, item: str, step: Step) -> Rec | None:
        """The problem promoted from this observation, if it is still there."""
        obs_id = observation_id(self.branch, item, step, self.me)
        return next((p for p in self.session.records(self.branch, Kind.PROBLEM) if p.data.get("source") == obs_id),
                    None)

    def orphaned_problem(self, item: str, step: Step) -> Rec | None:
        """A promoted problem whose observation no longer shows a shortfall (e.g. ✗ changed to ✓)."""
        return None if self.status(item, step) in SHORTFALL else self.promoted_from(item, step)

    def attach(self, item: str, step: Step, text: str) -> Rec:
        """Photos and scans for an observation: each file is copied into the session's evidence
        store (``store.evidence``), which refuses what is missing or not an image; the observation
        keeps the store's references, so the photos travel with the session."""
        from inspect_tui.store.evidence import store_files

        return self.observe(item, step, files=store_files(self.session.path, text))

    def can_promote(self, item: str, step: Step) -> bool:
        return self.session.promotable(self.observation(item, step))

    def promote(self, item: str, step: Step) -> Rec:
        obs = self.observation(item, step)
        if obs is None:
            raise UserError("此项尚未记录观察")
        return self.session.promote(obs.id)

    def can_promote_item(self, item: str) -> bool:
        return any(self.can_promote(item, s) for s in (Step.LOOK, Step.CHECK))

    def promote_item(self, item: str) -> list[Rec]:
        """Every shortfall of ``item`` (看 and 查) not yet a problem, as problems."""
        return [self.promote(item, s) for s in (Step.LOOK, Step.CHECK) if self.can_promote(item, s)]

    # --- 问 ---------------------------------------------------------------------------------------

    def questions(self) -> dict[str, Question]:
        return {q.id: q for q in self.checklist.all_questions()}

    def interviews(self) -> list[Rec]:
        return self.records(Kind.INTERVIEW)

    def save_interview(self, form: Mapping[str, Any], record_id: str | None = None) -> Rec | None:
        """Save the interview form. A new interview becomes a record once role and question are
        filled in (``None`` before that). The checklist question's id is kept only while the text
        is still that question's — an edited question is the inspector's own."""
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items()}
        if record_id is None and (not data.get("role") or not data.get("question")):
            return None
        asked = self.questions().get(data.get("question_id") or "")
        data["question_id"] = asked.id if asked is not None and asked.text == data.get("question") else None
        data["branch"] = self.branch
        return self.session.save(Kind.INTERVIEW, data, record_id)

    # --- 评 ---------------------------------------------------------------------------------------

    def score(self, item: str) -> Rec | None:
        return self.session.index.live(score_id(self.branch, item, self.me))

    def my_score(self, item: str) -> float | None:
        rec = self.score(item)
        return rec.data.get("score") if rec else None

    def set_score(self, item: str, text: str) -> Rec:
        return self._save_score(item, score=parse_score(text))

    def set_score_note(self, item: str, note: str) -> Rec:
        return self._save_score(item, note=note)

    def _save_score(self, item: str, **fields: Any) -> Rec:
        return self.session.update(Kind.SCORE, score_id(self.branch, item, self.me), branch=self.branch,
                                   item=item, **fields)

    def preview(self, item: str, text: str) -> BranchResult | None:
        """The branch's result as if ``text`` were saved as the score; None when it is not valid."""
        try:
            return self.result(preview_score=(item, parse_score(text)))
        except UserError:
            return None

    def feedback(self) -> list[Rec]:
        """Highlights, problems, suggestions and rectification demands, grouped by kind, oldest first."""
        return [r for k in FEEDBACK_KINDS for r in self.records(k)]

    def save_feedback(self, kind: Kind, data: Mapping[str, Any], record_id: str | None = None) -> Rec:
        return self.session.save(kind, {**data, "branch": self.branch}, record_id)

    def delete(self, record_id: str) -> Rec:
        rec = self.session.index.live(record_id)
        if rec is None or rec.branch != self.branch:
            raise UserError("这条记录已不存在")
        return self.session.delete(record_id)

    # --- the branch itself ----------------------------------------------------------------------

    def rename(self, name: str, unit: str | None = None) -> Rec:
        self.session.refuse_taken_name(name, self.branch)
        fields: dict[str, Any] = {"name": name}
        if unit is not None:
            fields["unit"] = unit
        return self.session.update(Kind.BRANCH, self.branch, **fields)

    def recorded(self) -> int:
        """How many records (all inspectors') hang on this branch besides the branch itself."""
        return sum(1 for r in self.session.records(self.branch) if r.kind is not Kind.BRANCH)

    def delete_branch(self) -> Rec:
        """Remove the branch from the visit; its records stay in the file (and come back with an undo)."""
        return self.session.delete(self.branch)

    # --- search -----------------------------------------------------------------------------------

    def search_targets(self) -> list[tuple[str, str]]:
        """(label, key) for every checklist item (``item:ID``) and every problem (``problem:ID``)."""
        out = [(f"检查项 · {i.title}", f"item:{i.id}") for i in self.checklist.items()]
        out += [(f"问题 · {p.data['text']}", f"problem:{p.id}") for p in self.records(Kind.PROBLEM)]
        return out

    def undo(self) -> Rec | None:
        """Undo this session's last change (whatever branch it was on)."""
        return self.session.undo()
