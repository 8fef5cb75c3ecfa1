"""评: a score per item (with the score the core suggests from what was seen), the branch's totals
following the typing, and the highlights, problems, suggestions and rectification demands.

A new highlight/problem/suggestion starts linked to no item (the form asks), so it never lands
silently under the row the table happened to highlight. ``Del`` asks before deleting.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label

from inspect_tui.core.index import Rec
from inspect_tui.core.labels import KIND_LABELS
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import BranchResult, ItemResult
from inspect_tui.core.steps import Step
from inspect_tui.tui.format import fmt_score
from inspect_tui.tui.screens.branch.pane import Confirm, EditFeedback, Saved, StepPane
from inspect_tui.tui.widgets.fields import FieldInput
from inspect_tui.tui.widgets.follow import FollowTable
from inspect_tui.tui.widgets.steady import SteadyStatic

TYPING = "（输入中，未保存）"


class EvaluatePane(StepPane):
    step = Step.EVALUATE
    BINDINGS = [
        Binding("h", "add('highlight')", "亮点", tooltip="添加亮点（经验做法）"),
        Binding("b", "add('problem')", "问题", tooltip="添加问题（关联检查项与证据）"),
        Binding("s", "add('suggestion')", "建议", tooltip="添加建议"),
        Binding("z", "add('rectification')", "整改", tooltip="添加整改要求（时限、责任人）"),
        Binding("f", "promote", "提取", tooltip="把所选项中不符合/部分符合的观察提为问题"),
        Binding("e", "edit_feedback", "编辑", tooltip="编辑所选的亮点/问题/建议/整改要求（也可按回车）", show=False),
        Binding("delete", "delete_feedback", "删除", tooltip="删除所选的亮点/问题/建议/整改要求（需确认）"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item_id: str | None = None
        self.preview: str | None = None
        self._shown: dict[str, tuple[str, str]] = {}
        self._feedback_signature: list[tuple[str, str]] | None = None
        self._binding_state: bool | None = None
        # Kept at hand: shown again at every move through the table (a query each time cost more).
        self._items = FollowTable(id="score-items", zebra_stripes=True, follow=self._follow_row)
        self._score = FieldInput(commit=self._save_score, id="score", type="number", placeholder="回车保存")
        self._note = FieldInput(commit=self._save_score_note, id="score-note")
        self._totals = SteadyStatic(id="totals")

    def compose(self) -> ComposeResult:
        table = self._items
        table.add_column("检查项", key="title")
        table.add_column("满分", key="full")
        table.add_column("建议", key="suggested")
        table.add_column("评分", key="score")
        yield table
        with Horizontal(classes="row"):
            yield Label("评分", classes="inline-label")
            yield self._score
            yield Label("说明", classes="inline-label")
            yield self._note
        yield self._totals
        feedback = DataTable(id="feedback", cursor_type="row", zebra_stripes=True)
        feedback.add_column("类别", key="kind")
        feedback.add_column("检查项", key="item")
        feedback.add_column("内容", key="text")
        yield feedback

    def on_mount(self) -> None:
        result = self.bench.result()
        table = self._items
        for ir in result.items:
            table.add_row(*self._item_cells(ir), key=ir.item.id)
        self.fill_feedback()
        if result.items:
            self.select_item(result.items[0].item.id)

    def first_focus(self) -> Widget | None:
        return self._items

    def _item_cells(self, ir: ItemResult) -> list[Any]:
        """An inspector sees their own score; the leader of a merged session the group's value (the
        verdict, else the inspectors' mean), marked ≠ while they disagree."""
        item = ir.item
        value = self.bench.my_score(item.id) if self.bench.mine_only else ir.value
        cell = Text(fmt_score(value), style="bold") if value is not None else Text("—", style="dim")
        if not self.bench.mine_only and ir.disagreement:
            cell.append(" ≠", style="bold yellow")
        return [item.title, fmt_score(item.full_marks), fmt_score(ir.suggested), cell]

    @on(DataTable.RowHighlighted, "#score-items")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._follow_row(event.row_key.value)

    def _follow_row(self, item_id: str | None) -> None:
        """The cursor is on another item (called in the same frame, see ``FollowTable``)."""
        if item_id is not None and item_id != self.item_id:
            self.select_item(item_id)

    @on(DataTable.RowSelected, "#score-items")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self._score.focus()

    def select(self, item_id: str) -> None:
        """Highlight an item's row (search jumps here)."""
        table = self._items
        table.focus()
        table.move_cursor(row=table.get_row_index(item_id))

    def select_feedback(self, record_id: str) -> None:
        table = self.query_one("#feedback", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(record_id))

    def select_item(self, item_id: str) -> None:
        for field in (self._score, self._note):
            field.commit_now()
        self.item_id = item_id
        rec = self.bench.score(item_id)
        d = rec.data if rec else {}
        self._score.load(fmt_score(d["score"]) if d.get("score") is not None else "")
        self._note.load(d.get("note", ""))
        if self.preview is not None:  # the typed score it previewed was refused and is gone now
            self.preview = None
            self.post_message(Saved(None))
        state = self.bench.can_promote_item(item_id)
        if state != self._binding_state:  # the footer is rebuilt only when needed
            self._binding_state = state
            self.refresh_bindings()

    def _save_score(self, value: str) -> bool:
        if self.item_id is None:
            return False
        ok = self.run(self.bench.set_score, self.item_id, value).ok
        if ok:
            self.preview = None
        return ok

    def _save_score_note(self, value: str) -> bool:
        return self.item_id is not None and self.run(self.bench.set_score_note, self.item_id, value).ok

    @on(Input.Changed, "#score")
    def _typing(self, event: Input.Changed) -> None:
        """Totals follow the typing: the core scores the branch as if the value were saved."""
        field = self._score
        if self.item_id is None:
            return
        if not field.dirty:  # back to the stored value: nothing pending, no stale warning
            if self.preview is not None or field.has_class("-unsaved"):
                self.preview = None
                field.remove_class("-unsaved")
                self.post_message(Saved(None))
            return
        result = self.bench.preview(self.item_id, event.value)
        if result is not None:
            self.preview = TYPING
            self.show_totals(result)

    def show_result(self, result: BranchResult) -> None:
        table = self._items
        for ir in result.items:
            cells = self._item_cells(ir)[2:]
            key = (cells[0], str(cells[1]))
            if self._shown.get(ir.item.id) != key:  # touch only the cells that changed
                self._shown[ir.item.id] = key
                for column, value in zip(("suggested", "score"), cells, strict=True):
                    table.update_cell(ir.item.id, column, value, update_width=True)
        self.show_totals(result)
        self.fill_feedback()

    def show_totals(self, result: BranchResult) -> None:
        text = Text()
        for a in result.areas:
            text.append(f"{a.area.title} ", style="dim")
            text.append(f"{fmt_score(a.score)}/{fmt_score(a.full_marks)}  ")
        text.append("\n总分 ")
        text.append(f"{fmt_score(result.total)}/{fmt_score(result.full_marks)}", style="bold")
        text.append(f"  评级 {result.rating_label}  已评 {result.scored_items}/{len(result.items)} 项")
        if self.preview:
            text.append(self.preview, style="italic yellow")
        self._totals.show(text)

    def fill_feedback(self) -> None:
        recs = self.bench.feedback()
        signature = [(r.id, r.at) for r in recs]
        if signature == self._feedback_signature:
            return
        self._feedback_signature = signature
        table = self.query_one("#feedback", DataTable)
        row = table.cursor_row
        table.clear()
        for r in recs:
            text = r.data.get("text") or r.data.get("requirement", "")
            table.add_row(KIND_LABELS[r.kind], self.bench.item_title(r.data.get("item")), text, key=r.id)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "promote":
            return (self.item_id is not None and self.bench.can_promote_item(self.item_id)) or None
        if action in ("edit_feedback", "delete_feedback"):
            table = self.query_one("#feedback", DataTable)
            return (table.has_focus and table.row_count > 0) or None
        return True

    def action_promote(self) -> None:
        if self.item_id is None:
            return
        outcome = self.run(self.bench.promote_item, self.item_id)
        if outcome.ok and outcome.value:
            self.notify(f"已提取 {len(outcome.value)} 条问题")

    def action_add(self, kind: str) -> None:
        self.post_message(EditFeedback(Kind(kind)))

    def _selected_feedback(self) -> Rec | None:
        table = self.query_one("#feedback", DataTable)
        if not table.row_count:
            return None
        return self.bench.session.index.live(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected, "#feedback")
    def _feedback_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit_feedback()

    def action_edit_feedback(self) -> None:
        rec = self._selected_feedback()
        if rec is not None:
            self.post_message(EditFeedback(rec.kind, rec))

    def action_delete_feedback(self) -> None:
        rec = self._selected_feedback()
        if rec is None:
            return
        label = KIND_LABELS[rec.kind]
        self.post_message(Confirm(f"删除这条{label}吗？", lambda: self.run(
            self.bench.delete, rec.id, say=f"已删除{label}（Ctrl+Z 可撤销）") and None,
            detail=rec.data.get("text") or rec.data.get("requirement", "")))
