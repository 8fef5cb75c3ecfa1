"""The five steps of a visit, in order. Ids are ASCII so they are easy to type in YAML; labels are
what inspectors see."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    REPORT = "report"
    LOOK = "look"
    CHECK = "check"
    ASK = "ask"
    EVALUATE = "evaluate"

    @property
    def label(self) -> str:
        return STEP_LABELS[self]

    @property
    def title(self) -> str:
        return STEP_TITLES[self]


STEP_LABELS = {Step.REPORT: "述", Step.LOOK: "看", Step.CHECK: "查", Step.ASK: "问", Step.EVALUATE: "评"}
STEP_TITLES = {
    Step.REPORT: "述 · 支部汇报",
    Step.LOOK: "看 · 现场查看",
    Step.CHECK: "查 · 查阅资料",
    Step.ASK: "问 · 随机访谈",
    Step.EVALUATE: "评 · 评价打分",
}
STEPS: tuple[Step, ...] = tuple(Step)
