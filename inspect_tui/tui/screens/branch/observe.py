"""看 and 查: the checklist's items for the step on the left, the highlighted item on the right —
what to look for, its status (Y/P/N/X, C clears it back to 未记录), a note, evidence and photos.

Changing a shortfall (✗/◐) that was already promoted to a problem into ✓ or 不适用 asks whether the
problem should go too; the rules (what may be promoted, what a photo path must be) are the
workbench's.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from inspect_tui.core.checklist import Item
from inspect_tui.core.labels import STATUS_MARK, STATUS_STYLE, status_label
from inspect_tui.core.steps import Step
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.tui.format import fmt_score
from inspect_tui.tui.screens.branch.pane import Confirm, Detail, StepPane
from inspect_tui.tui.widgets.fields import FieldInput, commit_all


class ObservePane(StepPane):
    BINDINGS = [
        Binding("y", "status('meets')", "符合", tooltip="标记为符合"),
        Binding("p", "status('partly')", "部分", tooltip="标记为部分符合"),
        Binding("n", "status('not')", "不符", tooltip="标记为不符合"),
        Binding("x", "status('na')", "不适用", tooltip="标记为不适用"),
        Binding("c", "clear_status", "清除", tooltip="清除判定，回到“未记录”", show=False),
        Binding("f", "promote", "提问题", tooltip="把此项观察提为问题（评环节可见）"),
    ]

    def __init__(self, bench: BranchWorkbench, step: Step, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.step = step
        self.item_id: str | None = None
        self._binding_state: tuple[bool, bool] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(classes="items")
            with Detail(classes="detail"):
                yield Static(classes="item-title")
                yield Static(classes="item-prompt")
                yield Static(classes="item-status")
                yield Label("说明（回车保存）", classes="field-label")
                yield FieldInput(commit=lambda v: self._save(note=v), classes="note", placeholder="看到的情况")
                yield Label("证据（材料名称、页码等）", classes="field-label")
                yield FieldInput(commit=lambda v: self._save(evidence=v), classes="evidence",
                                 placeholder="如：2026年第三季度党员大会记录 第5页")
                yield Label("照片/扫描件路径（多个用 ; 分隔，须存在）", classes="field-label")
                yield FieldInput(commit=self._attach_files, classes="files", placeholder="如：photos/活动室-01.jpg")

    @property
    def items(self) -> list[Item]:
        return self.bench.items(self.step)

    def _prompt(self, item: Item) -> Text:
        status = self.bench.status(item.id, self.step)
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

    def select(self, item_id: str) -> None:
        """Highlight an item (search jumps here)."""
        ol = self.query_one(OptionList)
        ol.focus()
        ol.highlighted = ol.get_option_index(item_id)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        commit_all(self.query_one(".detail"))
        self.item_id = event.option.id
        self.show_item()
        self.refresh_bindings_if_changed()

    def refresh_bindings_if_changed(self) -> None:
        """Re-checking bindings rebuilds the footer: only do it when a key's state changed."""
        state = (self.item_id is not None, self.item_id is not None and self.bench.can_promote(self.item_id, self.step))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def show_item(self) -> None:
        if self.item_id is None:
            return
        cl = self.bench.checklist
        item = cl.item(self.item_id)
        sp = item.steps[self.step]
        self.query_one(".item-title", Static).update(
            Text.assemble((item.title, "bold"), f"  {cl.area_of(item.id).title} · 满分 {fmt_score(item.full_marks)}"))
        prompt = Text(sp.prompt)
        for r in sp.records:
            prompt.append(f"\n · {r}", style="italic")
        self.query_one(".item-prompt", Static).update(prompt)
        rec = self.bench.observation(item.id, self.step)
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

    def _save(self, **fields: Any) -> bool:
        if self.item_id is None:
            return False
        ok = self.run(self.bench.observe, self.item_id, self.step, **fields).ok
        if ok:
            self._refresh_option()
        return ok

    def _attach_files(self, value: str) -> bool:
        if self.item_id is None:
            return False
        ok = self.run(self.bench.attach, self.item_id, self.step, value).ok
        if ok:
            self._refresh_option()
        return ok

    def _refresh_option(self) -> None:
        if self.item_id is None:
            return
        ol = self.query_one(OptionList)
        ol.replace_option_prompt_at_index(ol.get_option_index(self.item_id),
                                          self._prompt(self.bench.checklist.item(self.item_id)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("status", "clear_status"):
            return self.item_id is not None or None
        if action == "promote":
            return (self.item_id is not None and self.bench.can_promote(self.item_id, self.step)) or None
        return True

    def action_status(self, value: str | None) -> None:
        item = self.item_id
        if item is None:
            return
        if not self.run(self.bench.set_status, item, self.step, value).ok:
            return
        self._refresh_option()
        self.show_status(value)
        self._offer_to_drop_problem(item)
        ol = self.query_one(OptionList)
        if value is not None and ol.has_focus and ol.highlighted is not None and ol.highlighted < ol.option_count - 1:
            ol.highlighted += 1  # move on to the next item, as on a paper form
        self.refresh_bindings_if_changed()

    def action_clear_status(self) -> None:
        self.action_status(None)

    def _offer_to_drop_problem(self, item: str) -> None:
        problem = self.bench.orphaned_problem(item, self.step)
        if problem is not None:
            self.post_message(Confirm(
                f"此项已提为问题，现判定为“{status_label(self.bench.status(item, self.step))}”：删除该问题吗？",
                lambda: self.run(self.bench.delete, problem.id, say="已删除由此项提出的问题") and None,
                detail=problem.data.get("text", "")))

    def action_promote(self) -> None:
        if self.item_id is None:
            return
        outcome = self.run(self.bench.promote, self.item_id, self.step)
        if outcome.ok:
            self.notify(f"已提为问题：{outcome.value.data['text']}")
            self.refresh_bindings_if_changed()
