"""The checklist schema: the one place where items, weights, prompts and rating bands are defined.

Everything else — suggested scores, totals, ratings, the UI's prompts, the PDFs' wording — reads
from a validated ``Checklist``. The models are pydantic so that a malformed file yields *every*
error with its path, which ``inspect_tui.core.checklist_load`` maps back to YAML line numbers.
Item ids are stable across versions: sessions and merges refer to items by id only.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from inspect_tui.core.steps import Step

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    """No unknown field, and numbers that are numbers: not NaN or infinity, and not a yes/no —
    YAML reads ``yes``, ``no``, ``on``, ``off`` as true/false, which would otherwise count as 1 and 0."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_yes_no_numbers(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, bool) and info.field_name and cls.model_fields[info.field_name].annotation in (float, int):
            raise ValueError(f"应为数字，而不是“{'是' if value else '否'}”（YAML 把 yes、no、on、off 读作是/否）")
        return value


class ScoringMethod(StrEnum):
    PROPORTIONAL = "proportional"  # meets=1, partly=`partly`, not=0; averaged over observations
    ALL_OR_NOTHING = "all_or_nothing"  # full marks only if every observation meets
    DEDUCT = "deduct"  # full marks minus `deduct_per` for each partly/not observation


class Scoring(_Strict):
    method: ScoringMethod = ScoringMethod.PROPORTIONAL
    partly: float = Field(0.5, ge=0, le=1, description="share of full marks for a 'partly' finding")
    deduct_per: float = Field(1.0, gt=0, description="points deducted per shortfall (method: deduct)")
    rule: Text | None = Field(None, description="the scoring rule in words, shown to the inspector")


_KINDS = {"area": "方面", "item": "检查项", "question": "访谈题", "tag": "归类标签"}


class Question(_Strict):
    id: Id
    text: Text
    expect: Text | None = Field(None, description="the gist of an adequate answer")
    to: Text | None = Field(None, description="who to ask, e.g. 支部书记 / 普通党员")


class StepPrompt(_Strict):
    """What an inspector needs at one step for one item."""

    prompt: Text
    records: tuple[Text, ...] = Field((), description="records to examine (check step)")
    questions: tuple[Question, ...] = Field((), description="questions for members (ask step)")


class Item(_Strict):
    id: Id
    title: Text
    full_marks: float = Field(gt=0)
    tags: tuple[Id, ...] = Field((), description="ids of the checklist's tags this item counts towards (e.g. 四强)")
    scoring: Scoring = Scoring()
    steps: dict[Step, StepPrompt] = Field(min_length=1)
    problems: tuple[Text, ...] = Field(min_length=1, description="typical problems found")
    rectification: Text = Field(description="suggested rectification wording")

    @model_validator(mode="after")
    def _step_rules(self) -> Item:
        ask = self.steps.get(Step.ASK)
        if ask is not None and not ask.questions:
            raise ValueError("“问”（ask）环节至少需要一道访谈题（questions）")
        for step, prompt in self.steps.items():
            if prompt.questions and step is not Step.ASK:
                raise ValueError(f"访谈题（questions）只能放在“问”（ask）环节，不能放在 '{step.value}'")
        if Step.EVALUATE not in self.steps:
            raise ValueError("每个检查项都需要“评”（evaluate）环节的提示（如何评判）")
        if not {Step.LOOK, Step.CHECK} & self.steps.keys():
            raise ValueError("每个检查项都需要“看”（look）或“查”（check）环节的提示（如何观察）")
        return self

    def applies_to(self, step: Step) -> bool:
        return step in self.steps

    @property
    def questions(self) -> tuple[Question, ...]:
        ask = self.steps.get(Step.ASK)
        return ask.questions if ask else ()


class Area(_Strict):
    id: Id
    title: Text
    full_marks: float = Field(gt=0)
    items: tuple[Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> Area:
        total = sum(i.full_marks for i in self.items)
        if abs(total - self.full_marks) > 1e-6:
            raise ValueError(f"各检查项满分合计 {total:g}，但本方面的 full_marks 是 {self.full_marks:g}")
        return self


class Level(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


class RatingBand(_Strict):
    label: Text
    min: float = Field(ge=0, le=100, description="lowest score, in percent of full marks")
    level: Level


class Tag(_Strict):
    """A heading that cuts across areas, such as one of the 四强 (政治功能强 …): the report shows a
    subtotal per tag over the items that carry it."""

    id: Id
    title: Text


class ScoreClass(_Strict):
    """A band of total scores for grouping branches in a report (先进 / 中间 / 后进)."""

    label: Text
    min: float = Field(ge=0, le=100, description="lowest score, in percent of full marks")


def _bands_in_order(mins: list[float], what: str, one: str) -> None:
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        raise ValueError(f"{one}（{what}）应按 min 从高到低排列，且各 min 互不相同")
    if mins[-1] != 0:
        raise ValueError(f"最后一个{one}（{what}）的 min 必须为 0，每个分数才都有{one}")


class Checklist(_Strict):
    id: Id
    title: Text
    version: Text
    full_marks: float = Field(gt=0)
    ratings: tuple[RatingBand, ...] = Field(min_length=2)
    areas: tuple[Area, ...] = Field(min_length=1)
    questions: tuple[Question, ...] = Field((), description="general awareness questions for the 'ask' step")
    tags: tuple[Tag, ...] = Field((), description="headings across areas (e.g. 四强) that items may be tagged with")
    classes: tuple[ScoreClass, ...] = Field((), description="先进/中间/后进 bands by total score, for reports")

    @model_validator(mode="after")
    def _consistency(self) -> Checklist:
        total = sum(a.full_marks for a in self.areas)
        if abs(total - self.full_marks) > 1e-6:
            raise ValueError(f"各方面满分合计 {total:g}，但 full_marks 是 {self.full_marks:g}")
        seen: dict[str, str] = {}
        for kind, ident in self._all_ids():
            if ident in seen:
                raise ValueError(f"编号重复 '{ident}'（{_KINDS[kind]}，已被一个{_KINDS[seen[ident]]}使用）")
            seen[ident] = kind
        _bands_in_order([b.min for b in self.ratings], "ratings", "等次")
        if self.classes:
            _bands_in_order([c.min for c in self.classes], "classes", "档次")
        tag_ids = {t.id for t in self.tags}
        for item in self.items():
            unknown = [t for t in item.tags if t not in tag_ids]
            if unknown:
                raise ValueError(f"检查项 '{item.id}' 标注了 {', '.join(unknown)}，但清单的 tags 中没有定义")
        return self

    def _all_ids(self) -> list[tuple[str, str]]:
        ids = [("area", a.id) for a in self.areas]
        ids += [("item", i.id) for a in self.areas for i in a.items]
        ids += [("question", q.id) for q in self.all_questions()]
        ids += [("tag", t.id) for t in self.tags]
        return ids

    # --- lookups used by the model, UI and exports -------------------------------------------

    def items(self) -> list[Item]:
        return [i for a in self.areas for i in a.items]

    def item(self, item_id: str) -> Item:
        for i in self.items():
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def area_of(self, item_id: str) -> Area:
        for a in self.areas:
            if any(i.id == item_id for i in a.items):
                return a
        raise KeyError(item_id)

    def items_for(self, step: Step) -> list[Item]:
        return [i for i in self.items() if i.applies_to(step)]

    def all_questions(self) -> list[Question]:
        return list(self.questions) + [q for i in self.items() for q in i.questions]

    def rating_for(self, score: float) -> RatingBand:
        percent = 100.0 * score / self.full_marks
        for band in self.ratings:
            if percent >= band.min:
                return band
        return self.ratings[-1]

    def class_for(self, score: float) -> ScoreClass | None:
        percent = 100.0 * score / self.full_marks
        return next((c for c in self.classes if percent >= c.min), None)

    def content_hash(self) -> str:
        """A hash of the checklist's meaning (not its formatting): sessions record it so that files
        made with different wording of the same version are caught before they are merged."""
        blob = json.dumps(_without_empty_additions(self.model_dump(mode="json")), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _without_empty_additions(dumped: dict) -> dict:
    """Fields added to the schema after checklists were in use (``tags``, ``classes``) are left out of
    the hash while empty, so a checklist that does not use them keeps the hash its sessions record."""
    out = {k: v for k, v in dumped.items() if not (k in ("tags", "classes") and not v)}
    out["areas"] = [{**a, "items": [{k: v for k, v in i.items() if not (k == "tags" and not v)} for i in a["items"]]}
                    for a in dumped["areas"]]
    return out
