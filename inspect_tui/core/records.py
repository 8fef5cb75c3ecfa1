"""What inspectors record, one pydantic model per kind of record.

A session is a bag of records of these kinds. Records that can exist once per inspector and
place (an observation of one item at one step, a score, a step note) get a *deterministic* id built
from that place and the author, so two saves of the same field are two versions of one record and
never duplicates; list-like records (interviews, problems, suggestions …) get random ids.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from inspect_tui.core.steps import Step

Ref = Annotated[str, StringConstraints(min_length=1, max_length=200)]
#: The longest typed text (a problem, a demand, a note): one limit for the visit's records and the
#: ledger that copies them, so every notice that can be issued can also be followed up.
MAX_TEXT = 10_000
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
TypedText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


class Kind(StrEnum):
    BRANCH = "branch"
    STEP_NOTE = "step_note"
    CLAIM = "claim"
    OBSERVATION = "observation"
    INTERVIEW = "interview"
    SCORE = "score"
    HIGHLIGHT = "highlight"
    PROBLEM = "problem"
    SUGGESTION = "suggestion"
    RECTIFICATION = "rectification"
    VERDICT = "verdict"
    DOC_NUMBER = "doc_number"
    LEDGER_ENTRY = "ledger_entry"
    LEDGER_CHANGE = "ledger_change"


class Status(StrEnum):
    MEETS = "meets"
    PARTLY = "partly"
    NOT = "not"
    NA = "na"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {Status.MEETS: "符合", Status.PARTLY: "部分符合", Status.NOT: "不符合", Status.NA: "不适用"}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class BranchData(_Data):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    unit: str = ""
    order: int = 0
    secretary: str = Field("", description="the branch secretary's name (from the plan): who 支部书记 means")


class StepNoteData(_Data):
    branch: Ref
    step: Step
    text: str = ""
    seconds: int = Field(0, ge=0, description="time used by the branch's report (述)")
    done: bool = False


class ClaimData(_Data):
    """During 述 the inspector marks the items the branch claims to meet."""

    branch: Ref
    item: Ref
    claimed: bool = True


class ObservationData(_Data):
    branch: Ref
    item: Ref
    step: Literal[Step.LOOK, Step.CHECK]
    status: Status | None = None
    note: str = ""
    evidence: str = ""
    files: tuple[str, ...] = ()


class InterviewData(_Data):
    branch: Ref
    role: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    name: str = ""
    question_id: str | None = None
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    answer: str = ""
    adequate: bool | None = None


class ScoreData(_Data):
    branch: Ref
    item: Ref
    score: float | None = Field(None, ge=0)
    note: str = ""


class HighlightData(_Data):
    branch: Ref
    item: str | None = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ProblemData(_Data):
    branch: Ref
    item: str | None = None
    text: TypedText
    evidence: Text = ""
    source: str | None = Field(None, description="id of the observation this problem was promoted from")


class SuggestionData(_Data):
    branch: Ref
    item: str | None = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class RectificationData(_Data):
    branch: Ref
    item: str | None = None
    problem: str | None = Field(None, description="id of the problem this demand answers")
    requirement: TypedText
    deadline: date | None = None
    responsible: str = ""


class VerdictData(_Data):
    """The group's settled value where inspectors disagreed (decided by the group leader)."""

    branch: Ref
    item: Ref
    field: Literal["score", "look", "check"]
    score: float | None = Field(None, ge=0)
    status: Status | None = None
    reason: str = ""
    chosen_from: str | None = Field(None, description="inspector whose value was adopted, if one was")


class DocNumberData(_Data):
    """The number (发文字号) a document was issued under: given once, kept for every re-export. A
    notice also keeps the fingerprint of what it demanded (``export.notice.content_hash``), so the
    same number never prints other demands, and numbers it replaced when it was issued again."""

    branch: Ref
    document: Literal["feedback", "notice"]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    content: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    superseded: tuple[SupersededNumber, ...] = ()


class SupersededNumber(_Data):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    content: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class LedgerStatus(StrEnum):
    """Where a rectification item stands (labels and allowed transitions: core.ledger)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    TO_CHECK = "to_check"
    CLOSED = "closed"
    FAILED = "failed"


class Category(StrEnum):
    IMMEDIATE = "immediate"
    DEADLINE = "deadline"
    ONGOING = "ongoing"


class LedgerEntryData(_Data):
    """One rectification item of an issued notice, as issued: what the 台账 row is about. Written
    once when a follow-up starts (the same bytes for the same notice on every laptop); what happens
    to it afterwards is a series of ``LedgerChangeData`` records."""

    branch: Ref
    notice_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    visit_id: Ref
    no: int = Field(ge=1, le=999)
    item: str | None = None
    item_title: str = ""
    area: str = ""
    problem: Text = ""
    requirement: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
    category: Category = Category.DEADLINE
    responsible: str = ""
    deadline: date | None = None


class LedgerChangeData(_Data):
    """One change to a ledger item: a status transition and/or new values of its working fields
    (None = unchanged). Changes are never edited, only added, so concurrent ones never overwrite
    each other; the item's state is the fold of its changes (core.ledger)."""

    branch: Ref
    entry: Ref
    status: LedgerStatus | None = None
    measures: Text | None = None
    evidence_text: Text | None = None
    evidence_files: tuple[Annotated[str, StringConstraints(min_length=1, max_length=1000)], ...] = ()
    completed_on: date | None = None
    checker: str | None = None
    checked_on: date | None = None
    note: Text | None = None
    reason: Text | None = None
    deadline: date | None = None
    category: Category | None = None
    responsible: str | None = None


DATA_MODELS: dict[Kind, type[_Data]] = {
    Kind.BRANCH: BranchData,
    Kind.STEP_NOTE: StepNoteData,
    Kind.CLAIM: ClaimData,
    Kind.OBSERVATION: ObservationData,
    Kind.INTERVIEW: InterviewData,
    Kind.SCORE: ScoreData,
    Kind.HIGHLIGHT: HighlightData,
    Kind.PROBLEM: ProblemData,
    Kind.SUGGESTION: SuggestionData,
    Kind.RECTIFICATION: RectificationData,
    Kind.VERDICT: VerdictData,
    Kind.DOC_NUMBER: DocNumberData,
    Kind.LEDGER_ENTRY: LedgerEntryData,
    Kind.LEDGER_CHANGE: LedgerChangeData,
}


def validate_data(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check a record's payload against its kind; returns it normalised to JSON types."""
    model = DATA_MODELS[Kind(kind)]
    return model.model_validate(data).model_dump(mode="json")


def slot_id(kind: Kind, author: str, *parts: str) -> str:
    """Deterministic id for a record that exists once per author and place."""
    return "/".join([kind.value, *parts, author])


def new_id(kind: Kind) -> str:
    return f"{kind.value}/{uuid.uuid4().hex}"


def observation_id(branch: str, item: str, step: Step, author: str) -> str:
    return slot_id(Kind.OBSERVATION, author, branch, item, step.value)


def score_id(branch: str, item: str, author: str) -> str:
    return slot_id(Kind.SCORE, author, branch, item)


def claim_id(branch: str, item: str, author: str) -> str:
    return slot_id(Kind.CLAIM, author, branch, item)


def step_note_id(branch: str, step: Step, author: str) -> str:
    return slot_id(Kind.STEP_NOTE, author, branch, step.value)


def verdict_id(branch: str, item: str, field: str) -> str:
    """One verdict per branch, item and field for the whole group: two leaders settling the same
    point concurrently produce a conflict, not two verdicts."""
    return "/".join([Kind.VERDICT.value, branch, item, field])


def doc_number_id(branch: str, document: str) -> str:
    """One number per branch and document for the whole group (like verdicts)."""
    return "/".join([Kind.DOC_NUMBER.value, branch, document])


def ledger_entry_id(notice_no: str, no: int) -> str:
    """Stable across laptops and re-imports: the notice's 发文字号 and the item's number in it."""
    return f"{Kind.LEDGER_ENTRY.value}/{notice_no}/{no}"
