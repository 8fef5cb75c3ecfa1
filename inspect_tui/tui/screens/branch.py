"""One branch, five steps: 述 report, 看 look, 查 check, 问 ask, 评 evaluate.

The screen is a ``ContentSwitcher`` of five panes, one per step, with F2/F3 (also ``[``/``]`` and
``1``–``5`` when no text field has focus) to move between them in order or jump back. F-keys are
used because they reach the app in every terminal the inspectors use (Windows Terminal, the Linux
console, SSH) and never collide with typing. Each pane shows what the checklist asks at that step
and writes what the inspector records through ``InspectApp.save``; after every save the screen asks
the core for the branch's result again (``Session.result`` → ``core.scoring.analyse_branch``, a few
milliseconds for one branch) and shows it. Nothing is computed here.

Keys act on what has focus: the item lists take ``y``/``p``/``n``/``x`` for a status, text fields
take typing (including IME composition, which Textual's ``Input``/``TextArea`` position correctly),
and ``Esc`` leaves a text field for the list before it leaves the screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import (
    ContentSwitcher,
    DataTable,
    Input,
    Label,
    OptionList,
    Select,
    SelectionList,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from inspect_tui.core.checklist import Item
from inspect_tui.core.index import Rec
from inspect_tui.core.records import (
    Kind,
    claim_id,
    observation_id,
    score_id,
    step_note_id,
)
from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import STEPS, Step
from inspect_tui.errors import UserError
from inspect_tui.store.evidence import store_files
from inspect_tui.tui.format import STATUS_MARK, STATUS_STYLE, fmt_rate, fmt_score, status_label
from inspect_tui.tui.screens.base import BaseScreen
from inspect_tui.tui.widgets.fields import FieldArea, FieldInput, commit_all

ROLES = ["支部书记", "支部副书记", "组织委员", "宣传委员", "纪检委员", "支部委员", "普通党员", "入党积极分子"]


class Detail(VerticalScroll, can_focus=False):
    """The right-hand side of a pane: scrolls with its fields, never takes focus itself."""


class StepPane(Vertical):
    """Base for the five panes: access to the app, the session and this branch."""

    step: Step

    @property
    def branch(self) -> str:
        return self.screen.branch  # type: ignore[attr-defined]

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    def note_rec(self) -> Rec | None:
        return self.session.index.live(step_note_id(self.branch, self.step, self.app.me))  # type: ignore[attr-defined]

    def save_note(self, **fields: Any) -> Rec | None:
        rec = self.app.update(Kind.STEP_NOTE, step_note_id(self.branch, self.step, self.app.me),  # type: ignore
                              branch=self.branch, step=self.step.value, **fields)
        self.screen.changed()  # type: ignore[attr-defined]
        return rec

    def first_focus(self) -> Widget | None:
        return None

    def show_result(self, result: BranchResult) -> None:
        """Called after every save with the branch's fresh result."""


# --- 述 ---------------------------------------------------------------------------------------------


class ReportPane(StepPane):
    step = Step.REPORT
    BINDINGS = [
        Binding("f4", "toggle_timer", "计时", tooltip="开始/暂停汇报计时（输入时也可用）"),
        Binding("ctrl+r", "reset_timer", "计时归零", show=False),
        Binding("plus,equals_sign", "limit(1)", "限时+1分", show=False),
        Binding("minus", "limit(-1)", "限时-1分", show=False),
    ]
    seconds: reactive[int] = reactive(0)
    running: reactive[bool] = reactive(False)

    def compose(self) -> ComposeResult:
        yield Static(id="timer")
        yield Label("汇报要点（离开或 Ctrl+S 保存）", classes="field-label")
        yield FieldArea(commit=lambda text: self.save_note(text=text) is not None, id="report-notes")
        yield Label("支部自述达到的检查项（空格勾选，即时保存）", classes="field-label")
        yield SelectionList[str](id="claims")

    def on_mount(self) -> None:
        self.limit_minutes = self.session.meta.report_limit_minutes
        rec = self.note_rec()
        if rec is not None:
            self.query_one(FieldArea).load(rec.data.get("text", ""))
            self.seconds = int(rec.data.get("seconds", 0))
        claims = self.query_one("#claims", SelectionList)
        claimed = {r.data["item"] for r in self.session.records(self.branch, Kind.CLAIM)
                   if r.author == self.app.me and r.data.get("claimed")}
        claims.add_options([(f"{i.title}", i.id, i.id in claimed) for i in self.session.checklist.items()])
        if claims.option_count:
            claims.highlighted = 0
        self._ticker = self.set_interval(1, self._tick, pause=True)
        self.render_timer()

    def first_focus(self) -> Widget | None:
        return self.query_one(FieldArea)

    def render_timer(self) -> None:
        used, limit = self.seconds, self.limit_minutes * 60
        text = Text(f"汇报用时 {used // 60:02d}:{used % 60:02d} / 限时 {self.limit_minutes} 分钟  ")
        text.append("计时中" if self.running else "已暂停（F4 开始）", style="bold" if self.running else "dim")
        if used > limit:
            text.append(f"  已超时 {(used - limit) // 60:02d}:{(used - limit) % 60:02d}", style="bold red")
        self.query_one("#timer", Static).update(text, layout=False)

    def watch_seconds(self) -> None:
        if self.is_mounted:
            self.render_timer()

    def watch_running(self) -> None:
        if self.is_mounted:
            self.render_timer()

    def _tick(self) -> None:
        self.seconds += 1
        if self.seconds % 30 == 0:
            self.save_note(seconds=self.seconds)

    def action_toggle_timer(self) -> None:
        self.running = not self.running
        if self.running:
            self._ticker.resume()
        else:
            self._ticker.pause()
            self.save_note(seconds=self.seconds)

    def action_reset_timer(self) -> None:
        self.seconds = 0
        self.save_note(seconds=0)

    def action_limit(self, delta: int) -> None:
        try:
            self.session.set_report_limit(max(1, self.limit_minutes + delta))
        except (UserError, OSError) as exc:
            self.app.notify(f"汇报限时未保存：{exc}", severity="error")
            return
        self.limit_minutes = self.session.meta.report_limit_minutes
        self.render_timer()

    def stop(self) -> None:
        """Leaving the step pauses the clock and saves the time used."""
        if self.running:
            self.action_toggle_timer()

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled) -> None:
        item = event.selection.value
        claimed = item in event.selection_list.selected
        self.app.update(Kind.CLAIM, claim_id(self.branch, item, self.app.me),  # type: ignore[attr-defined]
                        branch=self.branch, item=item, claimed=claimed)
        self.screen.changed()  # type: ignore[attr-defined]


# --- 看 / 查 -----------------------------------------------------------------------------------------


class ObservePane(StepPane):
    BINDINGS = [
        Binding("y", "status('meets')", "符合", tooltip="标记为符合"),
        Binding("p", "status('partly')", "部分", tooltip="标记为部分符合"),
        Binding("n", "status('not')", "不符", tooltip="标记为不符合"),
        Binding("x", "status('na')", "不适用", tooltip="标记为不适用"),
        Binding("f", "promote", "提问题", tooltip="把此项观察提为问题（评环节可见）"),
    ]

    def __init__(self, step: Step, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.item_id: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(classes="items")
            with Detail(classes="detail"):
                yield Static(classes="item-title")
                yield Static(classes="item-prompt")
                yield Static(classes="item-status")
                yield Label("说明（回车保存）", classes="field-label")
                yield FieldInput(commit=lambda v: self._save_field(note=v), classes="note", placeholder="看到的情况")
                yield Label("证据（材料名称、页码等）", classes="field-label")
                yield FieldInput(commit=lambda v: self._save_field(evidence=v), classes="evidence",
                                 placeholder="如：2026年第三季度党员大会记录 第5页")
                yield Label("照片/扫描件路径（多个用 ; 分隔，须存在）", classes="field-label")
                yield FieldInput(commit=self._save_files, classes="files", placeholder="如：photos/活动室-01.jpg")

    @property
    def items(self) -> list[Item]:
        return self.session.checklist.items_for(self.step)

    def obs(self, item_id: str) -> Rec | None:
        return self.session.index.live(observation_id(self.branch, item_id, self.step, self.app.me))  # type: ignore

    def _prompt(self, item: Item) -> Text:
        rec = self.obs(item.id)
        status = rec.data.get("status") if rec else None
        text = Text()
        text.append(STATUS_MARK[status] + " ", style=STATUS_STYLE.get(status or "", ""))
        text.append(item.title)
        return text

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.add_options([Option(self._prompt(i), id=i.id) for i in self.items])
        if self.items:
            ol.highlighted = 0

    def first_focus(self) -> Widget | None:
        return self.query_one(OptionList)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        commit_all(self.query_one(".detail"))
        self.item_id = event.option.id
        self.show_item()
        self.refresh_bindings_if_changed()

    def refresh_bindings_if_changed(self) -> None:
        """Re-checking bindings rebuilds the footer (~20 ms): only do it when a key's state changed."""
        rec = self.obs(self.item_id) if self.item_id else None
        state = (self.item_id is not None, self.screen.can_promote(rec))  # type: ignore[attr-defined]
        if state != getattr(self, "_binding_state", None):
            self._binding_state = state
            self.screen.refresh_bindings()

    def show_item(self) -> None:
        if self.item_id is None:
            return
        item = self.session.checklist.item(self.item_id)
        area = self.session.checklist.area_of(item.id)
        sp = item.steps[self.step]
        self.query_one(".item-title", Static).update(
            Text.assemble((item.title, "bold"), f"  {area.title} · 满分 {fmt_score(item.full_marks)}"))
        prompt = Text(sp.prompt)
        for r in sp.records:
            prompt.append(f"\n · {r}", style="italic")
        self.query_one(".item-prompt", Static).update(prompt)
        rec = self.obs(item.id)
        data = rec.data if rec else {}
        self.show_status(data.get("status"))
        self.query_one(".note", FieldInput).load(data.get("note", ""))
        self.query_one(".evidence", FieldInput).load(data.get("evidence", ""))
        self.query_one(".files", FieldInput).load("; ".join(data.get("files", ())))

    def show_status(self, status: str | None) -> None:
        text = Text("判定：")
        text.append(status_label(status), style="bold " + STATUS_STYLE.get(status or "", ""))
        if status is None:
            text.append("  （按 Y/P/N/X）", style="dim")
        self.query_one(".item-status", Static).update(text, layout=False)

    def _save_field(self, **fields: Any) -> bool:
        if self.item_id is None:
            return False
        rec = self.app.update(Kind.OBSERVATION, observation_id(self.branch, self.item_id, self.step, self.app.me),  # type: ignore
                              branch=self.branch, item=self.item_id, step=self.step.value, **fields)
        if rec is None:
            return False
        self._refresh_option()
        self.screen.changed()  # type: ignore[attr-defined]
        return True

    def _save_files(self, value: str) -> bool:
        refs = self.app.write(store_files, self.app.session.path, value)  # copied into the evidence store
        return refs is not None and self._save_field(files=refs)

    def _refresh_option(self) -> None:
        ol = self.query_one(OptionList)
        index = ol.get_option_index(self.item_id)
        ol.replace_option_prompt_at_index(index, self._prompt(self.session.checklist.item(self.item_id)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "status":
            return self.item_id is not None or None
        if action == "promote":
            rec = self.obs(self.item_id) if self.item_id else None
            return self.screen.can_promote(rec) or None  # type: ignore[attr-defined]
        return True

    def action_status(self, value: str) -> None:
        rec = self.obs(self.item_id) if self.item_id else None
        if (rec is not None and rec.data.get("status") == value) or self._save_field(status=value):
            self.show_status(value)
            ol = self.query_one(OptionList)
            if ol.has_focus and ol.highlighted is not None and ol.highlighted < ol.option_count - 1:
                ol.highlighted += 1  # move on to the next item, as on a paper form
            self.refresh_bindings_if_changed()

    def action_promote(self) -> None:
        rec = self.obs(self.item_id) if self.item_id else None
        if rec is not None and self.screen.promote(rec) is not None:  # type: ignore[attr-defined]
            self.refresh_bindings_if_changed()


# --- 问 ------------------------------------------------------------------------------------------


class AskPane(StepPane):
    step = Step.ASK
    BINDINGS = [
        Binding("ctrl+n", "new_interview", "新访谈", tooltip="清空表单，记录下一位受访人"),
        Binding("delete", "delete_interview", "删除访谈", tooltip="删除表中所选的访谈记录"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current: str | None = None
        self.question_id: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(classes="questions")
            with Vertical(classes="detail"):
                yield Static(id="awareness")
                with Horizontal(classes="row"):
                    yield Label("受访人", classes="inline-label")
                    yield FieldInput(commit=lambda v: self._save(role=v), id="ask-role", placeholder="角色，如 普通党员",
                                     suggester=SuggestFromList(ROLES))
                    yield Label("姓名", classes="inline-label")
                    yield FieldInput(commit=lambda v: self._save(name=v), id="ask-name", placeholder="可不填")
                yield Label("问题（左侧选择，或直接输入）", classes="field-label")
                yield FieldInput(commit=lambda v: self._save(question=v), id="ask-question")
                yield Label("回答要点", classes="field-label")
                yield FieldInput(commit=lambda v: self._save(answer=v), id="ask-answer")
                with Horizontal(classes="row"):
                    yield Label("是否答对", classes="inline-label")
                    yield Select([("答对（知晓）", "yes"), ("未答对", "no")], prompt="未判定", id="ask-adequate")
                table = DataTable(id="interviews", cursor_type="row", zebra_stripes=True)
                table.add_column("受访人", key="role")
                table.add_column("问题", key="question")
                table.add_column("判定", key="adequate")
                yield table

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        cl = self.session.checklist
        self.bank = {q.id: q for q in cl.all_questions()}
        ol.add_options([Option(Text.assemble(q.text, (f"（{q.to}）" if q.to else "", "dim")), id=q.id)
                        for q in self.bank.values()])
        if self.bank:
            ol.highlighted = 0
        table = self.query_one("#interviews", DataTable)
        for r in self.mine():
            table.add_row(*self._cells(r), key=r.id)

    def first_focus(self) -> Widget | None:
        return self.query_one(OptionList)

    def mine(self) -> list[Rec]:
        return [r for r in self.session.records(self.branch, Kind.INTERVIEW) if r.author == self.app.me]

    @staticmethod
    def _cells(r: Rec) -> list[str]:
        d = r.data
        who = d["role"] + (f" {d['name']}" if d.get("name") else "")
        verdict = {True: "答对", False: "未答对"}.get(d.get("adequate"), "未判定")
        return [who, d["question"], verdict]

    def show_result(self, result: BranchResult) -> None:
        rate = fmt_rate(result.awareness)
        self.query_one("#awareness", Static).update(
            Text.assemble("应知应会知晓率 ", (rate, "bold"), f"（答对 {result.adequate} / 已判定 {result.asked}）"),
            layout=False)

    def _form(self) -> dict[str, Any]:
        adequate = self.query_one("#ask-adequate", Select).value
        question = self.query_one("#ask-question", FieldInput).value.strip()
        asked = self.bank.get(self.question_id or "")
        qid = self.question_id if asked is not None and asked.text == question else None
        return {"branch": self.branch, "role": self.query_one("#ask-role", FieldInput).value.strip(),
                "name": self.query_one("#ask-name", FieldInput).value.strip(), "question_id": qid,
                "question": question, "answer": self.query_one("#ask-answer", FieldInput).value.strip(),
                "adequate": {"yes": True, "no": False}.get(adequate)}  # type: ignore[call-overload]

    def _save(self, **_changed: Any) -> bool:
        """Save the whole form: the first save (once role and question are there) creates the record."""
        data = self._form()
        if self.current is None and (not data["role"] or not data["question"]):
            return True  # not a record yet; it is created as soon as both are filled in
        rec = self.app.save(Kind.INTERVIEW, data, self.current)  # type: ignore[attr-defined]
        if rec is None:
            return False
        table = self.query_one("#interviews", DataTable)
        if self.current is None:
            self.current = rec.id
            table.add_row(*self._cells(rec), key=rec.id)
            table.move_cursor(row=table.row_count - 1)
        else:
            for key, value in zip(("role", "question", "adequate"), self._cells(rec), strict=True):
                table.update_cell(rec.id, key, value)
        self.screen.changed()  # type: ignore[attr-defined]
        return True

    @on(Select.Changed, "#ask-adequate")
    def _adequate(self, event: Select.Changed) -> None:
        wanted = {"yes": True, "no": False}.get(event.value)  # type: ignore[call-overload]
        rec = self.session.index.live(self.current) if self.current else None
        if wanted != (rec.data.get("adequate") if rec else None):  # not just a record being shown
            self._save()

    @on(OptionList.OptionSelected)
    def _pick(self, event: OptionList.OptionSelected) -> None:
        q = self.bank[event.option.id]
        self.question_id = q.id
        field = self.query_one("#ask-question", FieldInput)
        field.value = q.text
        field.commit_now()
        role = self.query_one("#ask-role", FieldInput)
        (role if not role.value.strip() else self.query_one("#ask-answer", FieldInput)).focus()

    def load(self, rec: Rec | None) -> None:
        d = rec.data if rec else {}
        self.current = rec.id if rec else None
        self.question_id = d.get("question_id")
        self.query_one("#ask-role", FieldInput).load(d.get("role", ""))
        self.query_one("#ask-name", FieldInput).load(d.get("name", ""))
        self.query_one("#ask-question", FieldInput).load(d.get("question", ""))
        self.query_one("#ask-answer", FieldInput).load(d.get("answer", ""))
        adequate = {True: "yes", False: "no"}.get(d.get("adequate"), Select.NULL)  # type: ignore[call-overload]
        self.query_one("#ask-adequate", Select).value = adequate

    @on(DataTable.RowSelected, "#interviews")
    def _edit(self, event: DataTable.RowSelected) -> None:
        commit_all(self)
        self.load(self.session.index.live(event.row_key.value))
        self.query_one("#ask-answer", FieldInput).focus()

    def action_new_interview(self) -> None:
        commit_all(self)
        self.load(None)
        self.query_one("#interviews", DataTable).move_cursor(row=-1)
        self.query_one("#ask-role", FieldInput).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete_interview":
            table = self.query_one("#interviews", DataTable)
            return (table.has_focus and table.row_count > 0) or None
        return True

    def action_delete_interview(self) -> None:
        table = self.query_one("#interviews", DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        if self.app.delete(key.value) is not None:  # type: ignore[attr-defined]
            table.remove_row(key)
            if self.current == key.value:
                self.load(None)
            self.screen.changed()  # type: ignore[attr-defined]


# --- 评 ------------------------------------------------------------------------------------------

FEEDBACK_KINDS = {Kind.HIGHLIGHT: "亮点", Kind.PROBLEM: "问题", Kind.SUGGESTION: "建议", Kind.RECTIFICATION: "整改"}


class EvaluatePane(StepPane):
    step = Step.EVALUATE
    BINDINGS = [
        Binding("h", "add('highlight')", "亮点", tooltip="添加亮点（经验做法）"),
        Binding("b", "add('problem')", "问题", tooltip="添加问题（关联检查项与证据）"),
        Binding("s", "add('suggestion')", "建议", tooltip="添加建议"),
        Binding("z", "add('rectification')", "整改", tooltip="添加整改要求（时限、责任人）"),
        Binding("f", "promote", "提取", tooltip="把所选项中不符合/部分符合的观察提为问题"),
        Binding("e", "edit_feedback", "编辑", tooltip="编辑所选的亮点/问题/建议/整改（也可按回车）", show=False),
        Binding("delete", "delete_feedback", "删除", tooltip="删除所选的亮点/问题/建议/整改"),
    ]

    def compose(self) -> ComposeResult:
        table = DataTable(id="score-items", cursor_type="row", zebra_stripes=True)
        table.add_column("检查项", key="title")
        table.add_column("满分", key="full")
        table.add_column("建议", key="suggested")
        table.add_column("评分", key="score")
        yield table
        with Horizontal(classes="row"):
            yield Label("评分", classes="inline-label")
            yield FieldInput(commit=self._save_score, id="score", type="number", placeholder="回车保存")
            yield Label("说明", classes="inline-label")
            yield FieldInput(commit=lambda v: self._save_score_note(v), id="score-note")
        yield Static(id="totals")
        feedback = DataTable(id="feedback", cursor_type="row", zebra_stripes=True)
        feedback.add_column("类别", key="kind")
        feedback.add_column("检查项", key="item")
        feedback.add_column("内容", key="text")
        yield feedback

    def on_mount(self) -> None:
        self.item_id: str | None = None
        self._preview: str | None = None
        result = self.app.result(self.branch)  # type: ignore[attr-defined]
        table = self.query_one("#score-items", DataTable)
        for ir in result.items:
            table.add_row(*self._item_cells(ir.item, ir.suggested), key=ir.item.id)
        self.fill_feedback()
        if result.items:
            self.select_item(result.items[0].item.id)

    def first_focus(self) -> Widget | None:
        return self.query_one("#score-items", DataTable)

    def score_rec(self, item_id: str) -> Rec | None:
        return self.session.index.live(score_id(self.branch, item_id, self.app.me))  # type: ignore[attr-defined]

    def _item_cells(self, item: Item, suggested: float | None) -> list[Any]:
        rec = self.score_rec(item.id)
        mine = rec.data.get("score") if rec else None
        return [item.title, fmt_score(item.full_marks), fmt_score(suggested),
                Text(fmt_score(mine), style="bold") if mine is not None else Text("—", style="dim")]

    @on(DataTable.RowHighlighted, "#score-items")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value != self.item_id:
            self.select_item(event.row_key.value)

    @on(DataTable.RowSelected, "#score-items")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#score", FieldInput).focus()

    def select_item(self, item_id: str) -> None:
        commit_all(self)
        self.item_id = item_id
        rec = self.score_rec(item_id)
        d = rec.data if rec else {}
        self.query_one("#score", FieldInput).load(fmt_score(d["score"]) if d.get("score") is not None else "")
        self.query_one("#score-note", FieldInput).load(d.get("note", ""))
        state = any(self.screen.can_promote(r) for r in self.observations())  # type: ignore[attr-defined]
        if state != getattr(self, "_binding_state", None):  # the footer is rebuilt only when needed
            self._binding_state = state
            self.screen.refresh_bindings()

    def _save_score(self, value: str) -> bool:
        if self.item_id is None:
            return False
        value = value.strip()
        try:
            score = float(value) if value else None
        except ValueError:
            self.app.notify(f"“{value}”不是数字", severity="error")
            return False
        return self._save_score_fields(score=score)

    def _save_score_note(self, value: str) -> bool:
        return self._save_score_fields(note=value)

    def _save_score_fields(self, **fields: Any) -> bool:
        rec = self.app.update(Kind.SCORE, score_id(self.branch, self.item_id, self.app.me),  # type: ignore
                              branch=self.branch, item=self.item_id, **fields)
        if rec is None:
            return False
        self._preview = None
        self.screen.changed()  # type: ignore[attr-defined]
        return True

    @on(Input.Changed, "#score")
    def _typing(self, event: Input.Changed) -> None:
        """Totals follow the typing: the core scores the branch as if the value were saved."""
        field = self.query_one("#score", FieldInput)
        if self.item_id is None or not field.dirty:
            return
        try:
            score = float(event.value) if event.value.strip() else None
        except ValueError:
            return
        try:
            result = self.session.result(self.branch, mine_only=self.app.mine_only,  # type: ignore[attr-defined]
                                         preview_score=(self.item_id, score))
        except UserError:
            return
        self._preview = "（输入中，未保存）"
        self.show_totals(result)

    def show_result(self, result: BranchResult) -> None:
        table = self.query_one("#score-items", DataTable)
        shown = self.__dict__.setdefault("_shown", {})
        for ir in result.items:
            cells = self._item_cells(ir.item, ir.suggested)[2:]
            key = (cells[0], str(cells[1]))
            if shown.get(ir.item.id) != key:  # touch only the cells that changed
                shown[ir.item.id] = key
                for column, value in zip(("suggested", "score"), cells, strict=True):
                    table.update_cell(ir.item.id, column, value)
        self.show_totals(result)
        self.fill_feedback()

    def show_totals(self, result: BranchResult) -> None:
        text = Text()
        for a in result.areas:
            text.append(f"{a.area.title} ", style="dim")
            text.append(f"{fmt_score(a.score)}/{fmt_score(a.full_marks)}  ")
        text.append("\n总分 ")
        text.append(f"{fmt_score(result.total)}/{fmt_score(result.full_marks)}", style="bold")
        text.append(f"  评级 {result.rating.label}  已评 {result.scored_items}/{len(result.items)} 项")
        if self._preview:
            text.append(self._preview, style="italic yellow")
        self.query_one("#totals", Static).update(text)

    def feedback(self) -> list[Rec]:
        recs = [r for k in FEEDBACK_KINDS for r in self.session.records(self.branch, k) if r.author == self.app.me]  # type: ignore
        return sorted(recs, key=lambda r: (list(FEEDBACK_KINDS).index(r.kind), r.at))

    def fill_feedback(self) -> None:
        recs = self.feedback()
        signature = [(r.id, r.at) for r in recs]
        if signature == getattr(self, "_feedback_signature", None):
            return
        self._feedback_signature = signature
        table = self.query_one("#feedback", DataTable)
        row = table.cursor_row
        table.clear()
        cl = self.session.checklist
        for r in recs:
            item = r.data.get("item")
            title = cl.item(item).title if item else "—"
            text = r.data.get("text") or r.data.get("requirement", "")
            table.add_row(FEEDBACK_KINDS[r.kind], title, text, key=r.id)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "promote":
            if self.item_id is None:
                return None
            return any(self.screen.can_promote(r) for r in self.observations()) or None  # type: ignore
        if action in ("edit_feedback", "delete_feedback"):
            table = self.query_one("#feedback", DataTable)
            return (table.has_focus and table.row_count > 0) or None
        return True

    def observations(self) -> list[Rec]:
        if self.item_id is None:
            return []
        recs = [self.session.index.live(observation_id(self.branch, self.item_id, s, self.app.me))  # type: ignore
                for s in (Step.LOOK, Step.CHECK)]
        return [r for r in recs if r is not None]

    def action_promote(self) -> None:
        made = [p for r in self.observations() if self.screen.can_promote(r)  # type: ignore[attr-defined]
                and (p := self.screen.promote(r)) is not None]  # type: ignore[attr-defined]
        if made:
            self.app.notify(f"已提取 {len(made)} 条问题")

    def action_add(self, kind: str) -> None:
        from inspect_tui.tui.screens.feedback import FeedbackModal

        self.app.push_screen(FeedbackModal(Kind(kind), self.branch, item=self.item_id),
                             lambda rec: rec and self.screen.changed())  # type: ignore[attr-defined]

    def _selected_feedback(self) -> Rec | None:
        table = self.query_one("#feedback", DataTable)
        if not table.row_count:
            return None
        return self.session.index.live(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected, "#feedback")
    def _feedback_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit_feedback()

    def action_edit_feedback(self) -> None:
        from inspect_tui.tui.screens.feedback import FeedbackModal

        rec = self._selected_feedback()
        if rec is not None:
            self.app.push_screen(FeedbackModal(rec.kind, self.branch, record=rec),
                                 lambda r: r and self.screen.changed())  # type: ignore[attr-defined]

    def action_delete_feedback(self) -> None:
        rec = self._selected_feedback()
        if rec is not None and self.app.delete(rec.id) is not None:  # type: ignore[attr-defined]
            self.screen.changed()  # type: ignore[attr-defined]


# --- the screen ---------------------------------------------------------------------------------


class BranchScreen(BaseScreen):
    BINDINGS = [
        Binding("f2", "step(-1)", "上步", tooltip="回到上一环节（不在文本框时也可按 [ ）", priority=True,
                id="prev-step"),
        Binding("f3", "step(1)", "下步", tooltip="进入下一环节（不在文本框时也可按 ] ）", priority=True,
                id="next-step"),
        Binding("left_square_bracket", "step(-1)", "上一环节", show=False),
        Binding("right_square_bracket", "step(1)", "下一环节", show=False),
        *[Binding(str(n), f"goto('{s.value}')", f"转到{s.label}", show=False) for n, s in enumerate(STEPS, 1)],
        Binding("d", "toggle_done", "完成", tooltip="标记/取消本环节已完成（计入进度）", id="step-done"),
        # At 80 columns the footer cannot hold every key of the 看/查 panes; these two (Esc is the
        # universal "back", review is also on the branches list) stay in the palette and in the help.
        Binding("v", "review", "审阅", tooltip="查看本支部的全部记录", show=False, id="review"),
        Binding("escape", "back", "返回", tooltip="从输入框回到本环节的列表；再按返回支部列表", show=False,
                id="back"),
    ]
    step: reactive[Step] = reactive(Step.REPORT, init=False)

    def __init__(self, branch: str) -> None:
        super().__init__()
        self.branch = branch

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="branch-title", classes="title")
        yield Static(id="stepbar")
        with ContentSwitcher(initial=Step.REPORT.value, id="steps"):
            yield ReportPane(id=Step.REPORT.value)
            yield ObservePane(Step.LOOK, id=Step.LOOK.value)
            yield ObservePane(Step.CHECK, id=Step.CHECK.value)
            yield AskPane(id=Step.ASK.value)
            yield EvaluatePane(id=Step.EVALUATE.value)
        yield from self.footer()

    def on_mount(self) -> None:
        self.changed()
        self.focus_pane()

    def pane(self, step: Step | None = None) -> StepPane:
        return self.query_one(f"#{(step or self.step).value}", StepPane)

    def focus_pane(self) -> None:
        target = self.pane().first_focus()
        if target is not None:
            target.focus()

    def changed(self) -> None:
        """After a save: fetch the branch's result from the core and show it everywhere."""
        result = self.app.result(self.branch)
        self.result = result
        head = Text.assemble((result.name, "bold"), "  得分 ",
                             (f"{fmt_score(result.total)}/{fmt_score(result.full_marks)}", "bold"),
                             f" {result.rating.label if result.scored_items else '未评'}"
                             f" · 问题 {result.problems} · 知晓率 {fmt_rate(result.awareness)}")
        self.query_one("#branch-title", Static).update(head, layout=False)
        bar = Text()
        for s in STEPS:
            style = "reverse bold" if s is self.step else ""
            mark = "✓" if result.steps_done[s] else " "
            bar.append(f" {s.label}{mark}", style=style)
            bar.append(" ")
        bar.append(f"  {self.step.title}", style="bold")
        bar.append("   F2/F3 换环节", style="dim")
        self.query_one("#stepbar", Static).update(bar, layout=False)
        self.pane().show_result(result)  # the other panes catch up when they are shown (watch_step)

    def watch_step(self, old: Step, new: Step) -> None:
        commit_all(self.pane(old))
        if isinstance(self.pane(old), ReportPane):
            self.pane(old).stop()  # type: ignore[attr-defined]
        self.query_one("#steps", ContentSwitcher).current = new.value
        self.changed()
        self.focus_pane()
        self.refresh_bindings()

    def action_step(self, delta: int) -> None:
        index = STEPS.index(self.step) + delta
        if 0 <= index < len(STEPS):
            self.step = STEPS[index]

    def action_goto(self, step: str) -> None:
        self.step = Step(step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step":
            index = STEPS.index(self.step) + int(parameters[0])  # type: ignore[call-overload]
            return 0 <= index < len(STEPS) or None
        return True

    def action_toggle_done(self) -> None:
        commit_all(self.pane())
        done = bool(self.result.steps_done[self.step])
        self.pane().save_note(done=not done)

    def action_review(self) -> None:
        from inspect_tui.tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self.branch))

    def action_back(self) -> None:
        focused, home = self.focused, self.pane().first_focus()
        if focused is not None and home is not None and focused is not home and not isinstance(home, TextArea):
            home.focus()  # Esc goes up one level: from a field back to the step's list first
            return
        commit_all(self)
        self.pane(Step.REPORT).stop()  # type: ignore[attr-defined]
        self.dismiss()

    # --- promoting observations to problems --------------------------------------------------

    def can_promote(self, obs: Rec | None) -> bool:
        return self.app.session.promotable(obs)

    def promote(self, obs: Rec) -> Rec | None:
        rec = self.app.write(self.app.session.promote, obs.id)
        if rec is not None:
            self.app.notify(f"已提为问题：{rec.data['text']}")
            self.changed()
        return rec
