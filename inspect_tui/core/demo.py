"""A realistic visit day, generated: what a group leader holds after the inspectors hand in.

One visit plan (group, date, branches, checklist) copied to K inspectors, each of whom recorded
every step of every branch: notes, observations that mostly agree but sometimes differ, interviews,
scores, problems and rectification demands. Deterministic for a seed, so tests and benchmarks can
rely on it. Pure: it returns documents; writing them is the store's job.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from inspect_tui.core.checklist import Checklist, Item
from inspect_tui.core.meta import ChecklistRef, SessionMeta
from inspect_tui.core.records import (
    Kind,
    Status,
    claim_id,
    observation_id,
    score_id,
    step_note_id,
)
from inspect_tui.core.scoring import suggested_score
from inspect_tui.core.steps import Step
from inspect_tui.core.versions import RecordDoc, make_version

RESPONSIBLE = ["张红梅", "李志刚", "王海燕", "赵国庆", "陈晓东", "刘建华", "孙玉兰", "周文斌"]
INSPECTORS = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴强", "孙丽", "马骏"]
UNITS = ["省财政厅", "省教育厅", "省卫生健康委", "省交通运输厅", "省自然资源厅", "省商务厅", "省水利厅", "省统计局"]
DIVISIONS = ["办公室", "预算处", "人事处", "规划处", "综合处", "法规处", "信息中心", "机关服务中心", "审计处", "科技处"]
ROLES = ["支部书记", "支部委员", "普通党员", "普通党员", "入党积极分子", "组织委员"]
GOOD_ANSWERS = ["能完整说出要点，并结合本处室工作举例", "回答准确，说出了具体做法和时间安排",
                "基本答出要点，表述较清楚", "熟悉流程，能说明本支部的实际做法"]
WEAK_ANSWERS = ["只能说出个别要点，对具体要求不清楚", "表示不太了解，需要查看材料", "回答笼统，与本支部实际联系不够",
                "混淆了相关制度的要求"]
REPORT_NOTES = ["书记汇报了本年度标准化建设的主要做法，突出“支部建在处室”和业务党建融合。",
                "汇报条理清楚，介绍了三会一课、主题党日和党员积分管理的做法。",
                "汇报偏重业务工作成绩，党建具体举措讲得较少。",
                "重点介绍了换届选举、后备书记培养和党建责任清单落实情况。"]
STEP_NOTES = {
    Step.LOOK: ["活动室布置规范，制度上墙，党务公开栏内容为本季度更新。", "活动室与会议室合用，标识不够醒目。",
                "公开栏内容更新不及时，部分材料仍为去年。"],
    Step.CHECK: ["会议记录齐全，但个别记录缺少出席人签名。", "台账分类清楚，党费收缴凭证完整。",
                 "部分学习记录内容雷同，存在照搬照抄现象。"],
    Step.ASK: ["随机访谈书记与党员，多数能说出标准化建设的主要内容。", "部分年轻党员对组织生活流程不熟悉。"],
    Step.EVALUATE: ["整体达到标准化要求，个别环节需补齐。", "亮点突出，可作为交流示范。", "短板较明显，需限期整改。"],
}
HIGHLIGHTS = ["把党建责任清单细化到每名支委，按季度对账销号。", "主题党日与业务攻坚结合，形成了可复制的做法。",
              "建立党员学习积分台账，学习情况一目了然。", "组织生活会前逐一谈心谈话并留有记录。",
              "活动室建设简朴实用，利用率高。"]
SUGGESTIONS = ["建议对照标准化手册逐项梳理台账，补齐缺项。", "建议结合业务特点设计主题党日内容，避免形式化。",
               "建议加强对普通党员的标准化知识培训。", "建议规范会议记录格式，统一签名和审核要求。"]
EVIDENCE = ["2026年第三季度支部党员大会记录", "党费收缴台账（1—10月）", "组织生活会会议记录及对照检查材料",
            "现场照片 活动室-01", "发展党员档案抽查 2 份", "换届选举请示及批复文件", "主题党日活动记录本"]


@dataclass(frozen=True)
class DemoCopy:
    """One inspector's session file: its meta and record docs."""

    meta: SessionMeta
    records: list[RecordDoc]


def branch_names(n: int, rng: random.Random) -> list[str]:
    combos = [f"{u}{d}党支部" for u in UNITS for d in DIVISIONS]
    rng.shuffle(combos)
    names = combos[:n]
    names += [f"第{k}联合党支部" for k in range(1, n - len(names) + 1)]
    return names


class _Clock:
    """Plausible timestamps through the visit day, one per saved record."""

    def __init__(self, day: date, rng: random.Random) -> None:
        self.t = datetime.combine(day, time(8, 30))
        self.rng = rng

    def tick(self) -> str:
        self.t += timedelta(seconds=self.rng.randint(5, 40))
        return self.t.isoformat(timespec="seconds") + "+08:00"


def generate(checklist: Checklist, *, branches: int = 6, inspectors: int = 3, seed: int = 1,
             day: date | None = None, group: str = "第三观摩小组") -> list[DemoCopy]:
    rng = random.Random(seed)
    day = day or date(2026, 11, 20)
    names = INSPECTORS[:inspectors] + [f"观摩员{k}" for k in range(len(INSPECTORS) + 1, inspectors + 1)]
    plan = SessionMeta(visit_id=uuid.UUID(int=rng.getrandbits(128)).hex, group=group, date=day,
                       checklist=ChecklistRef.of(checklist), inspectors=tuple(names), inspector="组长",
                       replica="plan", role="leader", checklist_content=checklist.model_dump(mode="json"))
    plan_clock = _Clock(day - timedelta(days=1), rng)
    plan_docs: list[RecordDoc] = []
    quality: dict[str, float] = {}
    for n, name in enumerate(branch_names(branches, rng), 1):
        bid = f"branch/{uuid.UUID(int=rng.getrandbits(128)).hex}"
        v = make_version(kind=Kind.BRANCH, data={"name": name, "unit": name[:-3], "order": n}, author="组长",
                         by="组长", replica="plan", at=plan_clock.tick())
        plan_docs.append({"id": bid, "versions": [v]})
        quality[bid] = rng.uniform(0.45, 0.97)
    truth = {(b, i.id, s): _draw_status(rng, quality[b]) for b in quality for i in checklist.items()
             for s in (Step.LOOK, Step.CHECK) if i.applies_to(s)}
    copies = []
    for name in names:
        meta = plan.for_inspector(name)
        meta = meta.model_copy(update={"replica": uuid.UUID(int=rng.getrandbits(128)).hex[:12],
                                       "created_at": plan.created_at})
        docs = list(plan_docs)
        for b in quality:
            docs += _inspector_records(checklist, meta, b, quality[b], truth, rng, _Clock(day, rng))
        copies.append(DemoCopy(meta, docs))
    return copies


def _draw_status(rng: random.Random, q: float) -> Status:
    x = rng.random()
    if x < 0.04:
        return Status.NA
    if x < q:
        return Status.MEETS
    return Status.PARTLY if x < q + (1 - q) * 0.6 else Status.NOT


def _inspector_records(checklist: Checklist, meta: SessionMeta, branch: str, q: float,
                       truth: dict[tuple[str, str, Step], Status], rng: random.Random,
                       clock: _Clock) -> list[RecordDoc]:
    me = meta.inspector
    out: list[RecordDoc] = []

    def add(kind: Kind, data: dict, rid: str | None = None) -> str:
        rid = rid or f"{kind.value}/{uuid.UUID(int=rng.getrandbits(128)).hex}"
        v = make_version(kind=kind, data=data, author=me, by=me, replica=meta.replica, at=clock.tick())
        out.append({"id": rid, "versions": [v]})
        return rid

    add(Kind.STEP_NOTE, {"branch": branch, "step": "report", "text": rng.choice(REPORT_NOTES),
                         "seconds": rng.randint(8, 19) * 60, "done": True}, step_note_id(branch, Step.REPORT, me))
    for item in rng.sample(checklist.items(), k=min(10, len(checklist.items()))):
        add(Kind.CLAIM, {"branch": branch, "item": item.id, "claimed": True}, claim_id(branch, item.id, me))
    problems: list[tuple[Item, str, str]] = []
    for item in checklist.items():
        statuses = []
        for step in (Step.LOOK, Step.CHECK):
            if not item.applies_to(step):
                continue
            status = truth[(branch, item.id, step)]
            if rng.random() < 0.04:
                status = rng.choice([s for s in Status if s is not status])
            statuses.append(status)
            note = "" if status is Status.MEETS else rng.choice(item.problems)
            evidence = rng.choice(EVIDENCE) if step is Step.CHECK or rng.random() < 0.3 else ""
            oid = add(Kind.OBSERVATION, {"branch": branch, "item": item.id, "step": step.value,
                                         "status": status.value, "note": note, "evidence": evidence, "files": []},
                      observation_id(branch, item.id, step, me))
            if status in (Status.NOT, Status.PARTLY) and note and rng.random() < 0.7:
                problems.append((item, note, oid))
        score = suggested_score(item, statuses)
        if score is not None:
            if rng.random() < 0.06:
                score = max(0.0, min(item.full_marks, score + rng.choice([-1.0, -0.5, 0.5])))
            add(Kind.SCORE, {"branch": branch, "item": item.id, "score": score, "note": ""},
                score_id(branch, item.id, me))
    for step in (Step.LOOK, Step.CHECK, Step.ASK, Step.EVALUATE):
        add(Kind.STEP_NOTE, {"branch": branch, "step": step.value, "text": rng.choice(STEP_NOTES[step]),
                             "seconds": 0, "done": True}, step_note_id(branch, step, me))
    for question in rng.sample(checklist.all_questions(), k=min(rng.randint(5, 9), len(checklist.all_questions()))):
        ok = rng.random() < q + 0.1
        add(Kind.INTERVIEW, {"branch": branch, "role": rng.choice(ROLES), "name": "", "question_id": question.id,
                             "question": question.text, "answer": rng.choice(GOOD_ANSWERS if ok else WEAK_ANSWERS),
                             "adequate": ok})
    for text in rng.sample(HIGHLIGHTS, k=rng.randint(1, 2)):
        add(Kind.HIGHLIGHT, {"branch": branch, "item": None, "text": text})
    for item, text, oid in problems[:6]:
        pid = add(Kind.PROBLEM, {"branch": branch, "item": item.id, "text": text,
                                 "evidence": rng.choice(EVIDENCE), "source": oid})
        add(Kind.SUGGESTION, {"branch": branch, "item": item.id, "text": rng.choice(SUGGESTIONS)})
        add(Kind.RECTIFICATION, {"branch": branch, "item": item.id, "problem": pid,
                                 "requirement": item.rectification,
                                 "deadline": (meta.date + timedelta(days=rng.choice([30, 45, 60]))).isoformat(),
                                 "responsible": rng.choice(RESPONSIBLE)})
    return out
