"""The session's branches: progress through the five steps, problems found, current score.

Every figure is a ``BranchResult`` from the core, shown as a ``BranchRow``. Results are computed
once when the session is opened (in the loading worker) and afterwards only for the branch just
edited, when this screen comes back into view.

A large session can be shown from its stored list (``store.branch_table``: the rows of exactly the
file's bytes) while it is still being read: the rows are real and the cursor moves, but every key
that needs the records waits for them — the status line says so, the key is run once the session
is read (through the app, so read-only mode still applies), and the rows are shown again from the
records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.strip import Strip
from textual.widgets import DataTable, Input, Label, Static

from inspect_tui.core.branch_rows import BranchRow
from inspect_tui.core.format import fmt_score
from inspect_tui.core.steps import STEPS
from inspect_tui.errors import UserError
from inspect_tui.store.branch_table import BranchTable, row_of, table_of
from inspect_tui.tui import navigation
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.dialogs.confirm import ConfirmDialog
from inspect_tui.tui.dialogs.draft import DraftDialog
from inspect_tui.tui.dialogs.search import SearchDialog
from inspect_tui.tui.widgets.footer import QuietFooter

if TYPE_CHECKING:
    from inspect_tui.core.scoring import BranchResult
    from inspect_tui.core.workbench import BranchWorkbench

ActionT = TypeVar("ActionT", bound=Callable[..., Any])
READING = "正在读取全部记录……按键将在读完后执行"


def needs_session(action: ActionT) -> ActionT:
    """An action that works on the records: while the list is shown from its stored copy, it waits
    for the session (``BranchesScreen.session_ready`` runs it)."""
    name = action.__name__.removeprefix("action_")

    @functools.wraps(action)
    def waiting(self: BranchesScreen) -> Any:
        if self.preview is not None:
            self.pending = name
            self.notify("正在读取全部记录，读完后继续", title="请稍候", timeout=3)
            return None
        return action(self)

    return waiting  # type: ignore[return-value]


class AddBranchModal(DraftDialog):
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
            yield Label(f"{self.title_text}：名称（回车转到单位，再回车确认）")
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


class ListTable(DataTable):
    """The branches table; ``painted`` is called once its first rows have been drawn (not merely
    added: a DataTable sizes itself for new rows only when idle, a refresh or two later)."""

    painted: Callable[[], None] | None = None

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        if self.painted is not None and self.row_count:
            callback, self.painted = self.painted, None
            self.call_after_refresh(callback)
        return line


def progress_cell(row: BranchRow) -> Text:
    """The five steps in one cell — 述看查问评, a step not done yet as a dim dot: one cell instead of
    five, a fifth of the drawing (every cell is a separate render)."""
    text = Text()
    for s, done in zip(STEPS, row.steps, strict=True):
        text.append(*((s.label, "bold green") if done else ("· ", "dim")))  # "· ": as wide as a step's label
    return text


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

    def __init__(self, results: dict[str, BranchResult] | None = None, *, preview: BranchTable | None = None,
                 on_drawn: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.results = results or {}
        self.preview = preview  # the stored list shown while the session is read; None once it is open
        self.on_drawn = on_drawn  # called once the first rows are on screen
        self.pending: str | None = None  # the action asked for while the session was being read
        self.seen: dict[str, int] = {}  # each branch's change count when its row was last shown

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="session-title", classes="title")
        table = ListTable(id="branches", cursor_type="row", zebra_stripes=True)
        table.painted = self.on_drawn
        table.add_column("序", key="n")
        table.add_column("支部", key="name")
        table.add_column("".join(s.label for s in STEPS), key="progress")
        table.add_column("问题", key="problems")
        table.add_column("得分", key="total")
        table.add_column("评级", key="rating")
        if self.merged:
            table.add_column("待裁定", key="unsettled")
        yield table
        yield from self.footer()

    def on_mount(self) -> None:
        if self.preview is not None:
            self._show_title(self.preview)
            self._show_rows(self.preview.rows)
            self.show_status(None, READING, "")
        else:
            self.fill_table()
        self.query_one("#branches", DataTable).focus()

    def _show_title(self, t: BranchTable) -> None:
        role = "组长" if t.merged else "观摩员"
        self.query_one("#session-title", Static).update(
            f"{t.group} · {t.date} · {role} {t.inspector} · {t.checklist_title}")

    def session_ready(self, results: dict[str, BranchResult]) -> None:
        """The session is read: the rows are shown from its records, and a key pressed meanwhile is
        run now."""
        shown, self.preview, self.results = self.preview, None, results
        self.fill_table(unless=shown)
        if self.pending is not None:
            self.call_later(self.app.run_action, self.pending, self)
            self.pending = None
        self.refresh_bindings()

    def fill_table(self, *, unless: BranchTable | None = None) -> None:
        """All live branches, in order (scored again only where their records changed since shown);
        the cursor stays on the same row number. Nothing is redrawn when the list is ``unless``."""
        session = self.app.session
        changes = session.index.changes
        for b in session.branches():
            r = self.results.get(b.id) if self.seen.get(b.id, changes[b.id]) == changes[b.id] else None
            self.results[b.id] = r or self.app.result(b.id)
            self.seen[b.id] = changes[b.id]
        table = table_of(session, self.results)
        if table != unless:
            self._show_title(table)
            self._show_rows(table.rows)

    def _show_rows(self, rows: Iterable[BranchRow]) -> None:
        table = self.query_one("#branches", ListTable)
        row = table.cursor_row
        table.clear()
        for n, r in enumerate(rows, 1):
            table.add_row(str(n), r.name, *self._cells(r), key=r.id)
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))
        elif table.painted is not None:  # no rows to wait for
            table.call_after_refresh(table.painted)
            table.painted = None

    @property
    def merged(self) -> bool:
        """The leader's merged session: inspectors may disagree, and two may have edited one record."""
        return self.preview.merged if self.preview is not None else self.app.session.meta.role == "leader"

    @property
    def cell_keys(self) -> list[str]:
        return ["progress", "problems", "total", "rating"] + (["unsettled"] if self.merged else [])

    def _cells(self, r: BranchRow) -> list[Text | str]:
        cells: list[Text | str] = [progress_cell(r), str(r.problems) if r.problems else "",
                                   fmt_score(r.total) if r.scored else "", r.rating if r.scored else ""]
        if r.open_points is not None:  # the merged view: disagreements and edit conflicts to settle
            cells.append(Text(str(r.open_points), style="bold red") if r.open_points else "")
        return cells

    def on_screen_resume(self) -> None:
        """Back from a branch, its review, a merge …: every row whose records changed is shown again."""
        if self.preview is not None:  # back from help or the palette while the session is read
            return
        changes = self.app.session.index.changes
        for b in self.app.session.branches():
            if changes[b.id] != self.seen.get(b.id):
                self.refresh_branch(b.id)

    def refresh_branch(self, branch: str) -> None:
        table = self.query_one("#branches", DataTable)
        r = self.app.result(branch)
        self.results[branch] = r
        self.seen[branch] = self.app.session.index.changes[branch]
        for key, value in zip(self.cell_keys, self._cells(row_of(self.app.session, r)), strict=True):
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

    @needs_session
    def action_open_branch(self) -> None:
        branch = self.current()
        if branch:
            navigation.open_branch(self.app, branch)

    @needs_session
    def action_review(self) -> None:
        branch = self.current()
        if branch:
            navigation.open_review(self.app, branch)

    @needs_session
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
            table.add_row(str(table.row_count + 1), rec.data["name"], *self._cells(row_of(self.app.session, r)),
                          key=rec.id)
            table.move_cursor(row=table.row_count - 1)

        self.app.push_screen(AddBranchModal(), added)

    @needs_session
    def action_search(self) -> None:
        def found(branch: str | None) -> None:
            if branch is not None:
                table = self.query_one("#branches", DataTable)
                table.move_cursor(row=table.get_row_index(branch))

        candidates = [(f"{n}. {b.data['name']}" + (f"（{b.data['unit']}）" if b.data.get("unit") else ""), b.id)
                      for n, b in enumerate(self.app.session.branches(), 1)]
        self.app.push_screen(SearchDialog("查找支部", candidates), found)

    def _bench(self, branch: str) -> BranchWorkbench:
        from inspect_tui.core.workbench import BranchWorkbench

        return BranchWorkbench(self.app.session, branch)

    @needs_session
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

    @needs_session
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

    @needs_session
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

    @needs_session
    def action_export(self) -> None:
        navigation.open_export(self.app)

    @needs_session
    def action_summary(self) -> None:
        navigation.open_summary(self.app)

    @needs_session
    def action_merge(self) -> None:
        """A leader merging from their merged session merges into it: it is closed first (a file held
        open for writing here cannot be written by the merge), and opened again from the list."""
        session = self.app.session
        folder, me, group = session.path.parent, session.meta.inspector, session.meta.group
        if session.meta.role == "leader":
            self.action_close()
        navigation.open_merge(self.app, folder, me, group)

    @needs_session
    def action_close(self) -> None:
        self.app.close_session()
        self.app.show_sessions()
