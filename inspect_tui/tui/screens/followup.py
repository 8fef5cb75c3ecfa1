"""One branch in a follow-up (回头看): its ledger items, their status, days left against today.

Keys act on the selected item and every change goes through ``store.followup.change_item`` — the
ledger's rules are the core's, so the app refuses exactly what the CLI refuses (销号 without
evidence, 未通过 without a reason and a new deadline …) and says why. The status line under the
table reads the selected item's deadline against today; the detail pane lists its evidence files,
each checked to exist, and the re-check note and date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from inspect_tui.core.labels import LEDGER_STATUS_LABELS
from inspect_tui.core.ledger import LedgerItem, S, counts, days_text
from inspect_tui.errors import UserError
from inspect_tui.store.evidence import display_name
from inspect_tui.store.followup import change_item, evidence_path, ledger_of, store_evidence
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.dialogs.draft import DraftDialog
from inspect_tui.tui.widgets.footer import QuietFooter

STATUS_STYLE = {S.OPEN: "red", S.IN_PROGRESS: "yellow", S.TO_CHECK: "cyan", S.CLOSED: "green", S.FAILED: "bold red"}


class AskModal(DraftDialog):
    """A few one-line fields; Enter moves on, Enter on the last returns them all, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "取消")]

    def __init__(self, title: str, fields: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields  # (key, label, initial value)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            for key, label, value in self.fields:
                yield Label(label)
                yield Input(value=value, id=f"ask-{key}")
        yield QuietFooter(compact=True)

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        n = inputs.index(event.input)
        if n + 1 < len(inputs):
            inputs[n + 1].focus()
        else:
            self.dismiss({key: self.query_one(f"#ask-{key}", Input).value.strip() for key, _, _ in self.fields})

    def action_cancel(self) -> None:
        self.dismiss(None)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"“{text}”不是 YYYY-MM-DD 格式的日期") from None


class FollowupScreen(BaseScreen):
    BINDINGS = [
        Binding("w", "status('in_progress')", LEDGER_STATUS_LABELS[S.IN_PROGRESS], id="in-progress"),
        Binding("t", "status('to_check')", LEDGER_STATUS_LABELS[S.TO_CHECK], id="to-check"),
        Binding("o", "status('open')", LEDGER_STATUS_LABELS[S.OPEN], show=False, id="open"),
        Binding("c", "close_item", "销号", tooltip="核查通过：记下佐证与核查意见后销号", id="close-item"),
        Binding("f", "fail_item", LEDGER_STATUS_LABELS[S.FAILED], tooltip="核查未通过：原因与新的整改时限", id="fail-item"),
        Binding("m", "measures", "措施", tooltip="整改措施及完成情况", id="measures"),
        Binding("e", "evidence", "佐证", tooltip="添加佐证文件（路径须存在）或佐证说明", id="evidence"),
        Binding("escape", "back", "返回", id="back"),
    ]

    def __init__(self, branch: str) -> None:
        super().__init__()
        self.branch = branch
        self.items: list[LedgerItem] = []

    @property
    def today(self) -> date:
        return getattr(self.app, "today", None) or date.today()

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="fu-title", classes="title")
        table = DataTable(id="fu-items", cursor_type="row", zebra_stripes=True)
        for key, label in (("no", "序"), ("status", "状态"), ("category", "类别"), ("deadline", "时限"),
                           ("left", "剩余/逾期"), ("requirement", "整改要求"), ("evidence", "佐证")):
            table.add_column(label, key=key)
        yield table
        yield Static(id="fu-days")
        with VerticalScroll(id="fu-detail-box"):
            yield Static(id="fu-detail", classes="detail")
        yield from self.footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#fu-items", DataTable).focus()

    def reload(self) -> None:
        session = self.app.session
        self.items = ledger_of(session).of_branch(self.branch)
        name = next((b.data["name"] for b in session.branches() if b.id == self.branch), self.branch)
        c = counts(self.items, self.today)
        self.query_one("#fu-title", Static).update(
            f"回头看 · {name} · {c.total} 项：已销号 {c.closed}，未销号 {c.pending}，逾期 {c.overdue}")
        table = self.query_one("#fu-items", DataTable)
        row = table.cursor_row
        table.clear()
        for i in self.items:
            table.add_row(*self._cells(i), key=i.id)
        if self.items:
            table.move_cursor(row=min(row, len(self.items) - 1))
        self.show_current()

    def _missing(self, item: LedgerItem) -> list[str]:
        return [f for f in item.evidence_files if evidence_path(self.app.session.path, f) is None]

    def _cells(self, i: LedgerItem) -> list[Any]:
        left = days_text(i, self.today)
        evidence = "" if not (i.evidence_files or i.evidence_text) else ("⚠ 缺文件" if self._missing(i) else "✓")
        return [str(i.no), Text(i.status_label, style=STATUS_STYLE[i.status]), i.category_label,
                i.deadline.isoformat() if i.deadline else "—",
                Text(left, style="bold red" if i.overdue(self.today) else ""), i.requirement[:30], evidence]

    def current(self) -> LedgerItem | None:
        table = self.query_one("#fu-items", DataTable)
        if not self.items or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_current()

    def show_current(self) -> None:
        i = self.current()
        days = self.query_one("#fu-days", Static)
        detail = self.query_one("#fu-detail", Static)
        if i is None:
            days.update("")
            detail.update("")
            return
        days.update(f"{i.ref} · {i.status_label} · {days_text(i, self.today)}（今天 {self.today.isoformat()}）")
        lines = [f"存在问题：{i.problem}", f"整改要求：{i.requirement}", f"责任人：{i.responsible or '—'}",
                 f"整改措施：{i.measures or '—'}"]
        if i.completed_on:
            lines.append(f"完成时间：{i.completed_on}")
        lines.append(f"佐证说明：{i.evidence_text or '—'}")
        missing = set(self._missing(i))
        lines += [f"佐证文件：{display_name(f)}" + ("  ⚠ 文件不在本机" if f in missing else "  ✓")
                  for f in i.evidence_files]
        if i.checker or i.checked_on:
            lines.append(f"核查：{i.checker or '—'} {i.checked_on or ''}  {i.note}")
        if i.status is S.FAILED:
            lines.append(f"未通过原因：{i.reason}；新的整改时限 {i.deadline}")
        lines += [f"⚠ 冲突：{c.by} {c.at[:16]} 的变更未生效：{why}" for c, why in i.conflicts]
        detail.update("\n".join(lines))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "back" and self.is_mounted and self.current() is None:
            return None
        return True

    # --- changes ----------------------------------------------------------------------------------

    def change(self, **fields: Any) -> bool:
        """Store one change of the selected item; False when it was refused (the app said why)."""
        item = self.current()
        if item is None:
            return False
        if self.app.write(change_item, self.app.session, item.ref, today=self.app.today, **fields) is None:
            return False
        self.reload()
        return True

    def ask(self, title: str, fields: list[tuple[str, str, str]], then: Callable[[dict[str, str]], bool]) -> None:
        """Ask for a few values and hand them to ``then``; when that is refused (a rule of the
        ledger, a wrong date, a full disk), ask again with what was typed still in the fields."""
        def answered(values: dict[str, str] | None) -> None:
            if values is not None and not then(values):
                self.ask(title, [(key, label, values[key]) for key, label, _ in fields], then)

        self.app.push_screen(AskModal(title, fields), answered)

    def action_status(self, status: str) -> None:
        self.change(status=S(status))

    def action_measures(self) -> None:
        item = self.current()
        if item is None:
            return

        def done(v: dict[str, str]) -> bool:
            completed = _maybe_day(self.app, v["completed"])
            if v["completed"] and completed is None:
                return False
            return not v["measures"] or self.change(measures=v["measures"], completed_on=completed)

        self.ask("整改措施及完成情况", [
            ("measures", "整改措施及完成情况", item.measures),
            ("completed", "完成时间（YYYY-MM-DD，可空）", item.completed_on.isoformat() if item.completed_on else "")],
            done)

    def action_evidence(self) -> None:
        def done(v: dict[str, str]) -> bool:
            if not (v["file"] or v["text"]):
                return True
            stored = self.app.write(store_evidence, self.app.session.path, v["file"]) if v["file"] else None
            if v["file"] and stored is None:
                return False
            return self.change(evidence_files=(stored,) if stored else None, evidence_text=v["text"] or None)

        self.ask("添加佐证", [("file", "佐证文件路径（须存在，可空）", ""), ("text", "佐证说明（可空）", "")], done)

    def action_close_item(self) -> None:
        item = self.current()
        if item is None:
            return

        def done(v: dict[str, str]) -> bool:
            return self.change(status=S.CLOSED, checker=self.app.me, checked_on=self.today,
                               evidence_text=v["text"] or None, note=v["note"] or None)

        self.ask(f"销号 {item.ref}（核查人 {self.app.me}，{self.today}）", [
            ("text", "佐证说明（已有佐证可空）", item.evidence_text), ("note", "核查意见", "")], done)

    def action_fail_item(self) -> None:
        item = self.current()
        if item is None:
            return

        def done(v: dict[str, str]) -> bool:
            deadline = _maybe_day(self.app, v["deadline"])
            if v["deadline"] and deadline is None:
                return False
            return self.change(status=S.FAILED, reason=v["reason"] or None, deadline=deadline, checker=self.app.me,
                               checked_on=self.today)

        self.ask(f"未通过 {item.ref}", [("reason", "未通过原因", ""), ("deadline", "新的整改时限（YYYY-MM-DD）", "")],
                 done)

    def action_back(self) -> None:
        self.dismiss()


def _maybe_day(app: Any, text: str) -> date | None:
    """A typed date, or None (empty or wrong — a wrong one is said in a notification)."""
    if not text:
        return None
    try:
        return _day(text)
    except UserError as exc:
        app.notify(exc.message, title="未保存", severity="error")
        return None
