"""Everything recorded for one branch, grouped the way the point-by-point feedback reads.

基本情况 (score, rating, awareness, area subtotals) → 亮点 → 问题 (item, evidence) → 建议 → 整改要求
(deadline, responsible) → 逐项情况 (each item: what was seen and checked, the score) → 汇报与访谈.
Read-only; the figures are the core's ``BranchResult`` and the records shown are the workbench's
(the same "whose records" rule as the 评 step).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from inspect_tui.core.disagreements import branch_disagreements
from inspect_tui.core.folding import Folded, fold
from inspect_tui.core.labels import KIND_LABELS, STATUS_STYLE, adequate_label, status_label
from inspect_tui.core.records import Kind
from inspect_tui.core.report_facts import conflict_label
from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import Step
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.store.evidence import display_name
from inspect_tui.tui import navigation
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.format import fmt_rate, fmt_score


def heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


class ReviewScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "back", "返回", id="back"),
        Binding("e", "edit", "去评分", tooltip="转到本支部的“评”环节", id="edit"),
    ]

    def __init__(self, bench: BranchWorkbench) -> None:
        super().__init__()
        self.bench = bench
        self.branch = bench.branch

    def compose(self) -> ComposeResult:
        yield from self.header()
        with VerticalScroll(id="review"):
            yield Static(id="review-body")
        yield from self.footer()

    def on_mount(self) -> None:
        self.query_one("#review-body", Static).update(self.build())
        self.query_one("#review").focus()

    def on_screen_resume(self) -> None:
        self.query_one("#review-body", Static).update(self.build())

    def mine(self, kind: Kind) -> list:
        return self.bench.records(kind)

    def build(self) -> RenderableType:
        r = self.bench.result()
        title = self.bench.item_title
        parts: list[RenderableType] = [Text(f"{r.name} · 观摩记录", style="bold")]

        parts.append(heading("一、基本情况"))
        parts.append(Text(f"得分 {fmt_score(r.total)}/{fmt_score(r.full_marks)}，评级 {r.rating_label}，"
                          f"已评 {r.scored_items}/{len(r.items)} 项；应知应会知晓率 {fmt_rate(r.awareness)}"
                          f"（{r.adequate}/{r.asked}）；发现问题 {r.problems} 个。"))
        parts.extend(self.unsettled(r))
        areas = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        areas.add_column("方面")
        areas.add_column("得分", justify="right")
        areas.add_column("满分", justify="right")
        for a in r.areas:
            areas.add_row(a.area.title, fmt_score(a.score), fmt_score(a.full_marks))
        parts.append(areas)

        def who(f: Folded) -> Text:
            """Several inspectors' identical findings are one entry; it says whose they are."""
            return Text(f"（{len(f.authors)} 位观摩员：{'、'.join(f.authors)}）", style="dim") \
                if len(f.authors) > 1 else Text()

        def numbered(head: str, recs: list, line) -> None:
            parts.append(heading(head))
            if not recs:
                parts.append(Text("（无）", style="dim"))
            for n, rec in enumerate(recs, 1):
                parts.append(Text(f"{n}. ") + line(rec))

        numbered(f"二、{KIND_LABELS[Kind.HIGHLIGHT]}", fold(self.mine(Kind.HIGHLIGHT)),
                 lambda h: Text(h.text) + who(h))
        numbered(f"三、{KIND_LABELS[Kind.PROBLEM]}", fold(self.mine(Kind.PROBLEM)), lambda p: Text.assemble(
            (f"【{title(p.item)}】", "bold"), p.text, who(p),
            (f"\n   证据：{'；'.join(p.evidence)}" if p.evidence else "", "dim")))
        numbered(f"四、{KIND_LABELS[Kind.SUGGESTION]}", fold(self.mine(Kind.SUGGESTION)), lambda s: Text.assemble(
            (f"【{title(s.item)}】", "bold"), s.text, who(s)))
        numbered(f"五、{KIND_LABELS[Kind.RECTIFICATION]}", self.mine(Kind.RECTIFICATION), lambda z: Text.assemble(
            (f"【{title(z.data.get('item'))}】", "bold"), z.data["requirement"],
            (f"\n   时限：{z.data.get('deadline') or '未定'}  责任人：{z.data.get('responsible') or '未定'}", "dim")))

        parts.append(heading("六、逐项情况"))
        obs = {(o.data["item"], o.data["step"]): o for o in self.mine(Kind.OBSERVATION)}
        for ir in r.items:
            item = ir.item
            head = Text.assemble((item.title, "bold"),
                                 f"  评分 {fmt_score(ir.value)}/{fmt_score(item.full_marks)}"
                                 f"（观察建议 {fmt_score(ir.suggested)}）")
            if ir.disagreement:
                head.append("  意见不一致", style="bold red")
            parts.append(head)
            for step in (Step.LOOK, Step.CHECK):
                o = obs.get((item.id, step.value))
                if o is None:
                    continue
                d = o.data
                line = Text(f"   {step.label} ")
                line.append(status_label(d.get("status")), style=STATUS_STYLE.get(d.get("status") or "", ""))
                for label, key in (("说明", "note"), ("证据", "evidence")):
                    if d.get(key):
                        line.append(f"  {label}：{d[key]}")
                if d.get("files"):
                    line.append(f"  照片：{'; '.join(map(display_name, d['files']))}")
                parts.append(line)

        parts.append(heading("七、汇报与访谈"))
        for note in self.mine(Kind.STEP_NOTE):
            step = Step(note.data["step"])
            extra = f"（用时 {note.data['seconds'] // 60} 分钟）" if note.data.get("seconds") else ""
            if note.data.get("text") or extra:
                parts.append(Text(f"{step.label}{extra}：{note.data.get('text', '')}"))
        claims = [c for c in self.mine(Kind.CLAIM) if c.data.get("claimed")]
        if claims:
            parts.append(Text("自述达标：" + "、".join(title(c.data["item"]) for c in claims)))
        interviews = self.mine(Kind.INTERVIEW)
        if interviews:
            t = Table(box=None, pad_edge=False, header_style="dim", expand=True)
            t.add_column("受访人", no_wrap=True)
            t.add_column("问题", ratio=2)
            t.add_column("回答要点", ratio=2)
            t.add_column("判定", no_wrap=True)
            for i in interviews:
                d = i.data
                t.add_row(d["role"] + (f" {d['name']}" if d.get("name") else ""), d["question"], d.get("answer", ""),
                          adequate_label(d.get("adequate")))
            parts.append(t)
        return Group(*parts)

    def unsettled(self, r: BranchResult) -> list[Text]:
        """In a merged session: the fields on which inspectors differ and no verdict settles them yet,
        and the records edited in two places at once — what the leader must settle before issuing."""
        if self.bench.session.meta.role != "leader":
            return []
        lines = []
        branch, records = self.bench.session.index.live(self.branch), self.bench.session.records(self.branch)
        fields: dict[str, list[str]] = {}
        for d in branch_disagreements(self.bench.checklist, branch, records, result=r):
            fields.setdefault(d.item_title, []).append(d.field_label)
        if fields:
            lines.append(Text.assemble((f"意见不一致、待裁定（{len(fields)}项）：", "bold red"),
                                       "；".join(f"{t}（{'、'.join(f)}）" for t, f in fields.items())))
        conflicts = [conflict_label(self.bench.checklist, c) for c in records if c.conflict]
        if conflicts:
            lines.append(Text.assemble((f"编辑冲突（{len(conflicts)}条）：", "bold red"), "；".join(conflicts)))
        return lines

    def action_back(self) -> None:
        self.dismiss()

    def action_edit(self) -> None:
        navigation.edit_branch(self.app, self.branch)
