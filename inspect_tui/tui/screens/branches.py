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
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.errors import UserError
from inspect_tui.tui import navigation
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.dialogs.confirm import ConfirmDialog
from inspect_tui.tui.dialogs.search import SearchDialog
from inspect_tui.tui.format import fmt_score
from inspect_tui.tui.widgets.footer import QuietFooter


class AddBranchModal(ModalScreen[tuple[str, str] | None]):
    """A branch's name and unit: for a new branch, or to rename one."""

    BINDINGS = [Binding("escape", "cancel", "取消")]

    def __init__(self, name: str = "", unit: str = "", title: str = "添加支部") -> None:
        super().__init__()
        self.initial = (name, unit)
        self.title_text = title

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(classes="dialog"):
            yield Label(f"{self.title_text}：名称（回车确认）")
            yield Input(self.initial[0], placeholder="支部名称", id="name")
            yield Label("所属单位（可选）")
            yield Input(self.initial[1], placeholder="单位", id="unit")
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
        Binding("slash,ctrl+f", "search", "查找", tooltip="按名称查找支部（/ 或 Ctrl+F）", show=False, id="search"),
        Binding("r", "rename_branch", "改名", tooltip="修改所选支部的名称和单位", show=False, id="rename-branch"),
        Binding("delete", "delete_branch", "删除支部", tooltip="从本次观摩中删除所选支部（需确认，可撤销）",
                show=False, id="delete-branch"),
        Binding("ctrl+z", "undo", "撤销", tooltip="撤销本会话的上一次修改", show=False, id="undo"),
        Binding("e", "export", "导出", tooltip="导出反馈意见和整改通知书", id="export"),
        Binding("s", "summary", "汇总", tooltip="排名、各方面得分率、共性问题；生成汇总报告", id="summary"),
        Binding("m", "merge", "合并", tooltip="合并组员的会话文件（组长）", id="merge"),
        Binding("escape", "close", "关闭会话", id="close-session"),
    ]

    def __init__(self, results: dict[str, BranchResult]) -> None:
        super().__init__()
        self.results = results
        self.seen: dict[str, int] = {}  # each branch's change count when its row was last shown

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
        if self.merged:
            table.add_column("待裁定", key="unsettled")
        yield table
        yield from self.footer()

    def on_mount(self) -> None:
        meta = self.app.session.meta
        role = "组长" if meta.role == "leader" else "观摩员"
        self.query_one("#session-title", Static).update(
            f"{meta.group} · {meta.date.isoformat()} · {role} {meta.inspector} · {self.app.session.checklist.title}")
        self.fill_table()
        self.query_one("#branches", DataTable).focus()

    def fill_table(self) -> None:
        """All live branches, in order; the cursor stays on the same row number."""
        table = self.query_one("#branches", DataTable)
        row = table.cursor_row
        table.clear()
        changes = self.app.session.index.changes
        for n, b in enumerate(self.app.session.branches(), 1):
            r = self.results.get(b.id) if self.seen.get(b.id, changes[b.id]) == changes[b.id] else None
            r = r or self.app.result(b.id)
            self.results[b.id] = r
            self.seen[b.id] = changes[b.id]
            table.add_row(str(n), b.data["name"], *self._cells(r), key=b.id)
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))

    @property
    def merged(self) -> bool:
        """The leader's merged session: inspectors may disagree, and two may have edited one record."""
        return self.app.session.meta.role == "leader"

    @property
    def cell_keys(self) -> list[str]:
        return [s.value for s in STEPS] + ["problems", "total", "rating"] + (["unsettled"] if self.merged else [])

    def _cells(self, r: BranchResult) -> list[Text | str]:
        cells: list[Text | str] = [*progress_cells(r), str(r.problems) if r.problems else "",
                                   fmt_score(r.total) if r.scored_items else "", r.rating.label if r.scored_items else ""]
        if self.merged:  # items the inspectors disagree on, plus records edited in two places at once
            open_points = len(r.unsettled) + sum(1 for rec in self.app.session.records(r.branch) if rec.conflict)
            cells.append(Text(str(open_points), style="bold red") if open_points else "")
        return cells

    def on_screen_resume(self) -> None:
        """Back from a branch, its review, a merge …: every row whose records changed is shown again."""
        changes = self.app.session.index.changes
        for b in self.app.session.branches():
            if changes[b.id] != self.seen.get(b.id):
                self.refresh_branch(b.id)

    def refresh_branch(self, branch: str) -> None:
        table = self.query_one("#branches", DataTable)
        r = self.app.result(branch)
        self.results[branch] = r
        self.seen[branch] = self.app.session.index.changes[branch]
        for key, value in zip(self.cell_keys, self._cells(r), strict=True):
            table.update_cell(branch, key, value, update_width=True)

    def current(self) -> str | None:
        try:
            table = self.query_one("#branches", DataTable)
        except NoMatches:  # asked (by the footer) before the table is composed
            return None
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_branch", "review", "rename_branch", "delete_branch"):
            return self.current() is not None or None
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_branch()

    def action_open_branch(self) -> None:
        branch = self.current()
        if branch:
            navigation.open_branch(self.app, branch)

    def action_review(self) -> None:
        branch = self.current()
        if branch:
            navigation.open_review(self.app, branch)

    def action_add_branch(self) -> None:
        def added(value: tuple[str, str] | None) -> None:
            if value is None:
                return
            rec = self.app.write(self.app.session.add_branch, *value)
            if rec is None:  # refused (the app said why): ask again, with what was typed
                self.app.push_screen(AddBranchModal(*value), added)
                return
            r = self.app.result(rec.id)
            self.results[rec.id] = r
            table = self.query_one("#branches", DataTable)
            table.add_row(str(table.row_count + 1), rec.data["name"], *self._cells(r), key=rec.id)
            table.move_cursor(row=table.row_count - 1)

        self.app.push_screen(AddBranchModal(), added)

    def action_search(self) -> None:
        def found(branch: str | None) -> None:
            if branch is not None:
                table = self.query_one("#branches", DataTable)
                table.move_cursor(row=table.get_row_index(branch))

        candidates = [(f"{n}. {b.data['name']}" + (f"（{b.data['unit']}）" if b.data.get("unit") else ""), b.id)
                      for n, b in enumerate(self.app.session.branches(), 1)]
        self.app.push_screen(SearchDialog("查找支部", candidates), found)

    def _bench(self, branch: str) -> BranchWorkbench:
        return BranchWorkbench(self.app.session, branch)

    def action_rename_branch(self) -> None:
        branch = self.current()
        rec = self.app.session.index.live(branch) if branch else None
        if rec is None:
            return

        def renamed(value: tuple[str, str] | None) -> None:
            if value is None:
                return
            if self.app.write(self._bench(rec.id).rename, *value) is None:  # refused: ask again
                self.app.push_screen(AddBranchModal(*value, "支部改名"), renamed)
                return
            self.query_one("#branches", DataTable).update_cell(rec.id, "name", value[0], update_width=True)

        self.app.push_screen(AddBranchModal(rec.data["name"], rec.data.get("unit", ""), "支部改名"), renamed)

    def action_delete_branch(self) -> None:
        branch = self.current()
        rec = self.app.session.index.live(branch) if branch else None
        if rec is None:
            return
        bench = self._bench(rec.id)

        def confirmed(yes: bool | None) -> None:
            if yes and self.app.write(bench.delete_branch) is not None:
                self.fill_table()
                self.notify(f"已删除支部“{rec.data['name']}”（Ctrl+Z 可撤销）")

        count = bench.recorded()
        detail = f"该支部已有 {count} 条记录，删除后不再显示、不再导出。" if count else "该支部还没有记录。"
        self.app.push_screen(ConfirmDialog(f"删除支部“{rec.data['name']}”吗？", detail), confirmed)

    def action_undo(self) -> None:
        try:
            rec = self.app.session.undo()
        except (UserError, OSError) as exc:
            self.app.report_refused(exc)
            return
        if rec is None:
            self.notify("没有可撤销的修改", severity="warning")
            return
        self.app.report_saved()
        self.fill_table()
        self.notify("已撤销上一次修改")

    def action_export(self) -> None:
        navigation.open_export(self.app)

    def action_summary(self) -> None:
        navigation.open_summary(self.app)

    def action_merge(self) -> None:
        """A leader merging from their merged session merges into it: it is closed first (a file held
        open for writing here cannot be written by the merge), and opened again from the list."""
        session = self.app.session
        folder, me, group = session.path.parent, session.meta.inspector, session.meta.group
        if session.meta.role == "leader":
            self.action_close()
        navigation.open_merge(self.app, folder, me, group)

    def action_close(self) -> None:
        self.app.close_session()
        self.app.show_sessions()
