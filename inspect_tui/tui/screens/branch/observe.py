"""看 and 查: the checklist's items for the step on the left, the highlighted item on the right —
what to look for, its status (Y/P/N/X, C clears it back to 未记录), a note, evidence and photos.

Changing a shortfall (✗/◐) that was already promoted to a problem into ✓ or 不适用 asks whether the
problem should go too; the rules (what may be promoted, what a photo path must be) are the
workbench's.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label
from textual.widgets.option_list import Option

from inspect_tui.core.checklist import Item
from inspect_tui.core.labels import STATUS_MARK, STATUS_STYLE, status_label
from inspect_tui.core.steps import Step
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.tui.format import fmt_score
from inspect_tui.tui.screens.branch.pane import Confirm, Detail, StepPane
from inspect_tui.tui.widgets.fields import FieldInput
from inspect_tui.tui.widgets.follow import FollowList
from inspect_tui.tui.widgets.steady import SteadyStatic


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
        # Kept at hand: shown again at every move through the list (a query each time cost more).
        self._list = FollowList(classes="items", follow=self._highlighted)
        self._detail = Detail(classes="detail")
        self._title = SteadyStatic(classes="item-title")
        self._prompt_text = SteadyStatic(classes="item-prompt")
        self._status = SteadyStatic(classes="item-status")
        self._note = FieldInput(commit=lambda v: self._save(note=v), classes="note", placeholder="看到的情况")
        self._evidence = FieldInput(commit=lambda v: self._save(evidence=v), classes="evidence",
                                    placeholder="如：2026年第三季度党员大会记录 第5页")
        self._files = FieldInput(commit=self._attach_files, classes="files", placeholder="如：photos/活动室-01.jpg")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield self._list
            with self._detail:
                yield self._title
                yield self._prompt_text
                yield self._status
                yield Label("说明（回车保存）", classes="field-label")
                yield self._note
                yield Label("证据（材料名称、页码等）", classes="field-label")
                yield self._evidence
                yield Label("照片/扫描件路径（多个用 ; 分隔，须存在）", classes="field-label")
                yield self._files

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
        ol = self._list
        ol.add_options([Option(self._prompt(i), id=i.id) for i in self.items])
        if self.items:
            ol.highlighted = 0

    def first_focus(self) -> Widget | None:
        return self._list

    def select(self, item_id: str) -> None:
        """Highlight an item (search jumps here)."""
        ol = self._list
        ol.focus()
        ol.highlighted = ol.get_option_index(item_id)

    def _highlighted(self, item_id: str) -> None:
        """The list's highlight moved (called in the same frame, see ``FollowList``)."""
        if item_id == self.item_id:
            return
        for field in (self._note, self._evidence, self._files):
            field.commit_now()
        self.item_id = item_id
        self.show_item()
        self.refresh_bindings_if_changed()

    def refresh_bindings_if_changed(self) -> None:
        """Re-checking bindings rebuilds the footer: only do it when a key's state changed."""
        state = (self.item_id is not None, self.item_id is not None and self.bench.can_promote(self.item_id, self.step))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def _heading(self, item: Item) -> Text:
        area = self.bench.checklist.area_of(item.id).title
        return Text.assemble((item.title, "bold"), f"  {area} · 满分 {fmt_score(item.full_marks)}")

    def _what_to_look_for(self, item: Item) -> Text:
        prompt = Text(item.steps[self.step].prompt)
        for r in item.steps[self.step].records:
            prompt.append(f"\n · {r}", style="italic")
        return prompt

    def on_resize(self) -> None:
        """Where the detail has room for them, the item's heading and prompt keep the height of the
        step's tallest: the fields below stay where they are from item to item, and moving through
        the list lays out nothing. Where it has not (80×24), they follow each item's text, so that
        the fields stay on screen."""
        texts = ((self._title, [self._heading(i) for i in self.items]),
                 (self._prompt_text, [self._what_to_look_for(i) for i in self.items]))
        used = sum(w.outer_size.height + w.styles.margin.top for w in self._detail.children)
        tallest = [widget.tallest(contents) for widget, contents in texts]
        needed = used + sum(tallest) - sum(widget.outer_size.height for widget, _ in texts)
        fits = needed <= self._detail.scrollable_content_region.height
        for (widget, _), height in zip(texts, tallest, strict=True):
            widget.keep_height(height if fits else None)

    def show_item(self) -> None:
        if self.item_id is None:
            return
        item = self.bench.checklist.item(self.item_id)
        self._title.show(self._heading(item))
        self._prompt_text.show(self._what_to_look_for(item))
        rec = self.bench.observation(item.id, self.step)
        data = rec.data if rec else {}
        self.show_status(data.get("status"))
        self._note.load(data.get("note", ""))
        self._evidence.load(data.get("evidence", ""))
        self._files.load("; ".join(data.get("files", ())))

    def show_status(self, status: str | None) -> None:
        text = Text("判定：")
        text.append(status_label(status), style="bold " + STATUS_STYLE.get(status or "", ""))
        if status is None:
            text.append("  （按 Y/P/N/X）", style="dim")
        self._status.show(text)

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
        ol = self._list
        ol.set_prompt(ol.get_option_index(self.item_id), self._prompt(self.bench.checklist.item(self.item_id)))

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
        ol = self._list
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
