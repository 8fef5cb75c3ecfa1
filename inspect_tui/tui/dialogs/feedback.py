"""Adding or editing one highlight, problem, suggestion or rectification demand.

The form validates nothing itself: it hands the payload to the branch's workbench, which saves
through ``Session.save`` and the record's model (required text, date format …); a refused value
keeps the dialog open with the reason shown. A new entry starts linked to no item: the inspector
picks one, so nothing lands silently under whatever row happened to be highlighted.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select, Static, TextArea

from inspect_tui.core.index import Rec
from inspect_tui.core.labels import KIND_LABELS
from inspect_tui.core.records import Kind
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.errors import UserError, describe_os_error
from inspect_tui.tui.dialogs.draft import DraftDialog
from inspect_tui.tui.widgets.footer import QuietFooter


class FeedbackModal(DraftDialog):
    BINDINGS = [
        Binding("ctrl+s", "save", "保存", tooltip="保存并关闭"),
        Binding("escape", "cancel", "取消"),
    ]

    def __init__(self, bench: BranchWorkbench, kind: Kind, *, record: Rec | None = None) -> None:
        super().__init__()
        self.bench = bench
        self.kind = kind
        self.record = record
        self.data: dict[str, Any] = dict(record.data) if record else {}

    def compose(self) -> ComposeResult:
        d = self.data
        verb = "编辑" if self.record else "添加"
        with VerticalScroll(classes="dialog"):
            yield Static(f"{verb}{KIND_LABELS[self.kind]}（Ctrl+S 保存，Esc 取消）", classes="title")
            yield Label("检查项")
            options = [(i.title, i.id) for i in self.bench.checklist.items()]
            yield Select(options, value=d.get("item") or Select.NULL, prompt="（不针对具体检查项）", id="fb-item")
            text_key = "requirement" if self.kind is Kind.RECTIFICATION else "text"
            if self.kind is Kind.RECTIFICATION:
                problems = [(p.data["text"][:40], p.id) for p in self.bench.records(Kind.PROBLEM)]
                yield Label("针对的问题")
                yield Select(problems, value=d.get("problem") or Select.NULL, prompt="（无）", id="fb-problem")
            yield Label("整改要求" if self.kind is Kind.RECTIFICATION else "内容")
            yield TextArea(d.get(text_key, ""), id="fb-text", soft_wrap=True, tab_behavior="focus")
            if self.kind is Kind.PROBLEM:
                yield Label("证据")
                yield Input(d.get("evidence", ""), id="fb-evidence")
            if self.kind is Kind.RECTIFICATION:
                yield Label("整改时限（YYYY-MM-DD）")
                yield Input(d.get("deadline") or "", id="fb-deadline", placeholder="如 2026-12-31")
                yield Label("责任人")
                yield Input(d.get("responsible", ""), id="fb-responsible", placeholder="如 支部书记")
            yield Static(classes="error", id="fb-error")
        yield QuietFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#fb-text", TextArea).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Linking a demand to a problem brings its item along."""
        if event.select.id == "fb-problem" and event.value is not Select.NULL:
            problem = self.bench.session.index.live(event.value)
            if problem is not None and problem.data.get("item"):
                self.query_one("#fb-item", Select).value = problem.data["item"]

    def payload(self) -> dict[str, Any]:
        item = self.query_one("#fb-item", Select).value
        data: dict[str, Any] = {"item": None if item is Select.NULL else item}
        text = self.query_one("#fb-text", TextArea).text.strip()
        if self.kind is Kind.RECTIFICATION:
            problem = self.query_one("#fb-problem", Select).value
            data.update(requirement=text, problem=None if problem is Select.NULL else problem,
                        deadline=self.query_one("#fb-deadline", Input).value.strip() or None,
                        responsible=self.query_one("#fb-responsible", Input).value.strip())
        else:
            data["text"] = text
        if self.kind is Kind.PROBLEM:
            data.update(evidence=self.query_one("#fb-evidence", Input).value.strip(),
                        source=self.data.get("source"))
        return data

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        try:
            rec = self.bench.save_feedback(self.kind, self.payload(), self.record.id if self.record else None)
        except UserError as exc:
            self.query_one("#fb-error", Static).update(f"未保存：{exc.render()}")
            return
        except OSError as exc:  # a full disk: the dialog stays open with the text, and says where and why
            self.query_one("#fb-error", Static).update(f"未保存：{describe_os_error(exc)}")
            return
        self.dismiss(rec)

    def action_cancel(self) -> None:
        self.dismiss(None)
