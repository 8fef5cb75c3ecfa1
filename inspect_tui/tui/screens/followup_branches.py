"""The branches of a follow-up session, each with how many items are struck off, pending, awaiting
check and overdue (against today). Enter opens the branch's follow-up screen; ``b`` walks the branch
through 述看查问评 like a visit, so what the re-visit finds still failing is recorded as findings.

A follow-up session opens without scoring any branch: the ledger fold is all it needs, so 40
branches and 400 items open as fast as a visit does.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import DataTable, Static

from inspect_tui.core.format import fmt_rate
from inspect_tui.core.labels import LEDGER_STATUS_LABELS
from inspect_tui.core.ledger import Ledger, S, counts
from inspect_tui.store.followup import ledger_of
from inspect_tui.tui import navigation
from inspect_tui.tui.base_screen import BaseScreen


class FollowupBranchesScreen(BaseScreen):
    BINDINGS = [
        Binding("enter", "open_branch", "进入支部", tooltip="逐项核查本支部的整改事项", id="open-branch"),
        Binding("b", "walk_branch", "现场观摩", tooltip="按述看查问评记录回头看中的新发现（再次发现的问题计入汇总）",
                id="walk-branch"),
        Binding("escape", "close", "关闭会话", id="close-session"),
    ]

    def __init__(self, ledger: Ledger | None = None) -> None:
        super().__init__()
        self.ledger = ledger

    @property
    def today(self) -> date:
        return getattr(self.app, "today", None) or date.today()

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="session-title", classes="title")
        table = DataTable(id="fu-branches", cursor_type="row", zebra_stripes=True)
        for key, label in (("n", "序"), ("name", "支部"), ("total", "事项"), ("closed", LEDGER_STATUS_LABELS[S.CLOSED]),
                           ("pending", "未销号"), ("to_check", LEDGER_STATUS_LABELS[S.TO_CHECK]), ("overdue", "逾期")):
            table.add_column(label, key=key)
        yield table
        yield from self.footer()

    def on_mount(self) -> None:
        table = self.query_one("#fu-branches", DataTable)
        for n, b in enumerate(self.app.session.branches(), 1):
            table.add_row(str(n), b.data["name"], *self._cells(b.id), key=b.id)
        self._title()
        table.focus()

    def _title(self) -> None:
        meta = self.app.session.meta
        c = counts(self._ledger().items, self.today)
        self.query_one("#session-title", Static).update(
            f"回头看 · {meta.group} · {self.today.isoformat()} · {meta.inspector} · {c.total} 项，已销号 {c.closed}，"
            f"逾期 {c.overdue} · 整改完成率 {fmt_rate(c.completion_rate)} 销号率 {fmt_rate(c.closed_rate)}")

    def _ledger(self) -> Ledger:
        if self.ledger is None:
            self.ledger = ledger_of(self.app.session)
        return self.ledger

    def _cells(self, branch: str) -> list[Text | str]:
        items = self._ledger().of_branch(branch)
        c = counts(items, self.today)
        waiting = sum(i.status is S.TO_CHECK for i in items)
        return [str(c.total), Text(str(c.closed), style="green" if c.closed else ""), str(c.pending),
                str(waiting) if waiting else "", Text(str(c.overdue), style="bold red") if c.overdue else ""]

    def refresh_branch(self, branch: str) -> None:
        self.ledger = None
        table = self.query_one("#fu-branches", DataTable)
        for key, value in zip(("total", "closed", "pending", "to_check", "overdue"), self._cells(branch), strict=True):
            table.update_cell(branch, key, value)
        self._title()

    def current(self) -> str | None:
        try:
            table = self.query_one("#fu-branches", DataTable)
        except NoMatches:
            return None
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_branch", "walk_branch"):
            return self.current() is not None or None
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_branch()

    def action_open_branch(self) -> None:
        branch = self.current()
        if branch:
            navigation.open_followup_branch(self.app, branch, lambda _=None: self.refresh_branch(branch))

    def action_walk_branch(self) -> None:
        branch = self.current()
        if branch:
            navigation.open_branch(self.app, branch)

    def action_close(self) -> None:
        self.app.close_session()
        self.app.show_sessions()
