"""The first screen: recent session files, or a new one; also the door to merging."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from inspect_tui.store.paths import recent_sessions
from inspect_tui.tui import navigation
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.settings import load_settings


class SessionsScreen(BaseScreen):
    BINDINGS = [
        Binding("enter", "open", "打开", tooltip="打开所选会话", id="open"),
        Binding("n", "new", "新建会话", tooltip="新建观摩会话（可导入访问计划）", id="new"),
        Binding("l", "open_last", "上次会话", tooltip="打开上次使用的会话（也可在其他文件夹）", id="open-last"),
        Binding("m", "merge", "合并", tooltip="合并组员的会话文件（组长）", id="merge"),
        Binding("f5", "refresh", "刷新", tooltip="重新读取会话目录", id="refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[Path] = []
        self.listed = False

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="sessions-title", classes="title")
        table = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        table.add_columns("会话文件", "修改时间")
        yield table
        yield Static("按 N 新建会话；选中后按 Enter 打开。", id="sessions-hint", classes="hint")
        yield from self.footer()

    def on_mount(self) -> None:
        self.refresh_list()

    def refresh_list(self) -> None:
        folder: Path = self.app.sessions_dir
        self.paths = recent_sessions(folder)
        self.listed = True
        last = self.last_session()
        self.query_one("#sessions-title", Static).update(f"最近的会话 · {folder}")
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for p in self.paths:
            mtime = datetime.fromtimestamp(p.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            table.add_row(p.name, mtime, key=str(p))
        if last is not None and last.resolve() in [p.resolve() for p in self.paths]:
            table.move_cursor(row=[p.resolve() for p in self.paths].index(last.resolve()))
        hint = f"上次使用：{last.name}（L 打开）" if last is not None else "按 N 新建会话；选中后按 Enter 打开。"
        self.query_one("#sessions-hint", Static).update(hint)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return bool(self.paths) or None
        if action == "open_last":
            return self.last_session() is not None or None
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_session(Path(event.row_key.value))

    def action_open(self) -> None:
        table = self.query_one("#sessions", DataTable)
        if self.paths:
            self.app.open_session(self.paths[table.cursor_row])

    @staticmethod
    def last_session() -> Path | None:
        """The session opened last time, if its file is still there."""
        text = load_settings().get("last_session")
        path = Path(text) if isinstance(text, str) and text else None
        return path if path is not None and path.is_file() else None

    def action_open_last(self) -> None:
        last = self.last_session()
        if last is not None:
            self.app.open_session(last)

    def action_new(self) -> None:
        def created(path: Path | None) -> None:
            if path is not None:
                self.refresh_list()
                self.app.open_session(path)

        navigation.open_new_session(self.app, created)

    def action_merge(self) -> None:
        navigation.open_merge(self.app, self.app.sessions_dir)

    def action_refresh(self) -> None:
        self.refresh_list()

    def on_screen_resume(self) -> None:
        if self.listed:
            self.refresh_list()
