"""The session's branches: progress through the five steps, problems found, current score.

Every figure is a ``BranchResult`` from the core. Results are computed once when the session is
opened (in the loading worker) and afterwards only for the branch just edited, when this screen
comes back into view.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import STEPS
from inspect_tui.tui.format import fmt_score
from inspect_tui.tui.screens.base import BaseScreen
from inspect_tui.tui.widgets.footer import QuietFooter


class AddBranchModal(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [Binding("escape", "cancel", "取消")]

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(classes="dialog"):
            yield Label("添加支部：名称（回车确认）")
            yield Input(placeholder="支部名称", id="name")
            yield Label("所属单位（可选）")
            yield Input(placeholder="单位", id="unit")
        yield QuietFooter(compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = self.query_one("#name", Input).value.strip()
        if event.input.id == "name" and name:
            self.query_one("#unit", Input).focus()
        elif name:
            self.dismiss((name, self.query_one("#unit", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


def progress_cells(result: BranchResult) -> list[Text]:
    return [Text(s.label, style="bold green") if result.steps_done[s] else Text("·", style="dim") for s in STEPS]


class BranchesScreen(BaseScreen):
    BINDINGS = [
        Binding("enter", "open_branch", "进入支部", tooltip="进入所选支部，逐步观摩", id="open-branch"),
        Binding("v", "review", "审阅", tooltip="查看所选支部的全部记录（按反馈意见的结构）", id="review"),
        Binding("a", "add_branch", "添加支部", id="add-branch"),
        Binding("e", "export", "导出", tooltip="导出反馈意见和整改通知书", id="export"),
        Binding("s", "summary", "汇总", tooltip="排名、各方面得分率、共性问题；生成汇总报告", id="summary"),
        Binding("m", "merge", "合并", tooltip="合并组员的会话文件（组长）", id="merge"),
        Binding("escape", "close", "关闭会话", id="close-session"),
    ]

    def __init__(self, results: dict[str, BranchResult]) -> None:
        super().__init__()
        self.results = results

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="session-title", classes="title")
        table = DataTable(id="branches", cursor_type="row", zebra_stripes=True)
        table.add_column("序", key="n")
        table.add_column("支部", key="name")
        for s in STEPS:
            table.add_column(s.label, key=s.value)
        table.add_column("问题", key="problems")
        table.add_column("得分", key="total")
        table.add_column("评级", key="rating")
        yield table
        yield from self.footer()

    def on_mount(self) -> None:
        meta = self.app.session.meta
        role = "组长" if meta.role == "leader" else "观摩员"
        self.query_one("#session-title", Static).update(
            f"{meta.group} · {meta.date.isoformat()} · {role} {meta.inspector} · {self.app.session.checklist.title}")
        table = self.query_one("#branches", DataTable)
        for n, b in enumerate(self.app.session.branches(), 1):
            r = self.results.get(b.id) or self.app.result(b.id)
            self.results[b.id] = r
            table.add_row(str(n), b.data["name"], *self._cells(r), key=b.id)
        table.focus()

    def _cells(self, r: BranchResult) -> list[Text | str]:
        return [*progress_cells(r), str(r.problems) if r.problems else "", fmt_score(r.total) if r.scored_items else "",
                r.rating.label if r.scored_items else ""]

    def refresh_branch(self, branch: str) -> None:
        table = self.query_one("#branches", DataTable)
        r = self.app.result(branch)
        self.results[branch] = r
        for key, value in zip([s.value for s in STEPS] + ["problems", "total", "rating"], self._cells(r),
                              strict=True):
            table.update_cell(branch, key, value)

    def current(self) -> str | None:
        try:
            table = self.query_one("#branches", DataTable)
        except NoMatches:  # asked (by the footer) before the table is composed
            return None
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_branch", "review"):
            return self.current() is not None or None
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_branch()

    def action_open_branch(self) -> None:
        from inspect_tui.tui.screens.branch import BranchScreen

        branch = self.current()
        if branch:
            self.app.push_screen(BranchScreen(branch), lambda _=None: self.refresh_branch(branch))

    def action_review(self) -> None:
        from inspect_tui.tui.screens.review import ReviewScreen

        branch = self.current()
        if branch:
            self.app.push_screen(ReviewScreen(branch))

    def action_add_branch(self) -> None:
        def added(value: tuple[str, str] | None) -> None:
            if value is None:
                return
            rec = self.app.write(self.app.session.add_branch, *value) if value[0] else None
            if rec is not None:
                r = self.app.result(rec.id)
                self.results[rec.id] = r
                table = self.query_one("#branches", DataTable)
                table.add_row(str(table.row_count + 1), rec.data["name"], *self._cells(r), key=rec.id)
                table.move_cursor(row=table.row_count - 1)

        self.app.push_screen(AddBranchModal(), added)

    def action_export(self) -> None:
        from inspect_tui.tui.screens.export_screen import ExportScreen

        self.app.push_screen(ExportScreen(self.app.session.path, self.app.exports_dir))

    def action_summary(self) -> None:
        from inspect_tui.tui.screens.summary import SummaryScreen

        self.app.push_screen(SummaryScreen())

    def action_merge(self) -> None:
        from inspect_tui.tui.screens.merge_screen import MergeScreen

        self.app.push_screen(MergeScreen(self.app.session.path.parent, None, self.app.me))

    def action_close(self) -> None:
        self.app.close_session()
        self.app.show_sessions()
