"""问: random interviews — a question from the checklist's bank (or typed), who answered, what they
said and whether it was right; the awareness rate the core computes from them is shown on top.

The form is saved as a whole through the workbench, which decides when it becomes a record and
whether the question still is the checklist's. ``Del`` on the table asks before deleting.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import DataTable, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from inspect_tui.core.index import Rec
from inspect_tui.core.labels import ROLES, adequate_label
from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import Step
from inspect_tui.tui.format import fmt_rate
from inspect_tui.tui.screens.branch.pane import Confirm, StepPane
from inspect_tui.tui.widgets.fields import FieldInput, commit_all

ADEQUATE_CHOICES = {"yes": True, "no": False}
COLUMNS = ("adequate", "role", "question")  # the verdict first: it must survive a narrow terminal


class AskPane(StepPane):
    step = Step.ASK
    BINDINGS = [
        Binding("ctrl+n", "new_interview", "新访谈", tooltip="清空表单，记录下一位受访人"),
        Binding("delete", "delete_interview", "删除访谈", tooltip="删除表中所选的访谈记录（需确认）"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current: str | None = None
        self.question_id: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(classes="questions")
            with Vertical(classes="detail"):
                yield Static(id="awareness")
                with Horizontal(classes="row"):
                    yield Label("受访人", classes="inline-label")
                    yield FieldInput(commit=self._save, id="ask-role", placeholder="角色，如 普通党员",
                                     suggester=SuggestFromList(ROLES))
                    yield Label("姓名", classes="inline-label")
                    yield FieldInput(commit=self._save, id="ask-name", placeholder="可不填")
                yield Label("问题（左侧选择，或直接输入）", classes="field-label")
                yield FieldInput(commit=self._save, id="ask-question")
                yield Label("回答要点", classes="field-label")
                yield FieldInput(commit=self._save, id="ask-answer")
                with Horizontal(classes="row"):
                    yield Label("是否答对", classes="inline-label")
                    yield Select([("答对（知晓）", "yes"), ("未答对", "no")], prompt=adequate_label(None),
                                 id="ask-adequate")
                table = DataTable(id="interviews", cursor_type="row", zebra_stripes=True)
                table.add_column("判定", key="adequate")
                table.add_column("受访人", key="role")
                table.add_column("问题", key="question")
                yield table

    def on_mount(self) -> None:
        self.bank = self.bench.questions()
        ol = self.query_one(OptionList)
        ol.add_options([Option(Text.assemble(q.text, (f"（{q.to}）" if q.to else "", "dim")), id=q.id)
                        for q in self.bank.values()])
        if self.bank:
            ol.highlighted = 0
        table = self.query_one("#interviews", DataTable)
        for r in self.bench.interviews():
            table.add_row(*self._cells(r), key=r.id)

    def first_focus(self) -> Widget | None:
        return self.query_one(OptionList)

    @staticmethod
    def _cells(r: Rec) -> list[str]:
        d = r.data
        who = d["role"] + (f" {d['name']}" if d.get("name") else "")
        return [adequate_label(d.get("adequate")), who, d["question"]]

    def show_result(self, result: BranchResult) -> None:
        self.query_one("#awareness", Static).update(
            Text.assemble("应知应会知晓率 ", (fmt_rate(result.awareness), "bold"),
                          f"（答对 {result.adequate} / 已判定 {result.asked}）"), layout=False)

    def _form(self) -> dict[str, Any]:
        adequate = self.query_one("#ask-adequate", Select).value
        return {"role": self.query_one("#ask-role", FieldInput).value,
                "name": self.query_one("#ask-name", FieldInput).value, "question_id": self.question_id,
                "question": self.query_one("#ask-question", FieldInput).value,
                "answer": self.query_one("#ask-answer", FieldInput).value,
                "adequate": ADEQUATE_CHOICES.get(adequate)}  # type: ignore[call-overload]

    def _save(self, _value: str = "") -> bool:
        """Save the whole form; the first save once role and question are there creates the record."""
        outcome = self.run(self.bench.save_interview, self._form(), self.current)
        if not outcome.ok or outcome.value is None:
            return outcome.ok
        rec: Rec = outcome.value
        table = self.query_one("#interviews", DataTable)
        if self.current is None:
            self.current = rec.id
            table.add_row(*self._cells(rec), key=rec.id)
            table.move_cursor(row=table.row_count - 1)
        else:
            for key, value in zip(COLUMNS, self._cells(rec), strict=True):
                table.update_cell(rec.id, key, value, update_width=True)
        return True

    @on(Select.Changed, "#ask-adequate")
    def _adequate(self, event: Select.Changed) -> None:
        wanted = ADEQUATE_CHOICES.get(event.value)  # type: ignore[call-overload]
        rec = self.bench.session.index.live(self.current) if self.current else None
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
        for key in ("role", "name", "question", "answer"):
            self.query_one(f"#ask-{key}", FieldInput).load(d.get(key, ""))
        adequate = {True: "yes", False: "no"}.get(d.get("adequate"), Select.NULL)  # type: ignore[call-overload]
        self.query_one("#ask-adequate", Select).value = adequate

    @on(DataTable.RowSelected, "#interviews")
    def _edit(self, event: DataTable.RowSelected) -> None:
        commit_all(self)
        self.load(self.bench.session.index.live(event.row_key.value))
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
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        rec = self.bench.session.index.live(key.value)
        if rec is None:
            return

        def delete() -> None:
            if self.run(self.bench.delete, rec.id, say="已删除访谈记录（Ctrl+Z 可撤销）").ok:
                table.remove_row(key)
                if self.current == rec.id:
                    self.load(None)

        self.post_message(Confirm("删除这条访谈记录吗？", delete, detail=" · ".join(self._cells(rec)[1:])))

    def reload(self) -> None:
        """Show the stored interviews again (after an undo)."""
        table = self.query_one("#interviews", DataTable)
        table.clear()
        for r in self.bench.interviews():
            table.add_row(*self._cells(r), key=r.id)
        if self.current is not None and self.bench.session.index.live(self.current) is None:
            self.load(None)
