"""F1: what the current screen is for and every key it takes, in Chinese.

The keys are the screen's own bindings as the app finds them along the focus chain (the same list
as the command palette), so the help can never describe a key that does not exist; the short
guide above them is written per screen.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from inspect_tui.tui.base_screen import BaseScreen

GUIDES = {
    "SessionsScreen": "最近的会话文件。回车打开，N 新建，L 打开上次使用的会话，M 合并组员文件（组长）。",
    "BranchesScreen": "本次观摩的支部和进度。回车进入支部逐步观摩，V 审阅，S 汇总，/ 查找支部，R 改名，Del 删除，"
                      "A 添加，E 导出 PDF，M 合并。",
    "SummaryScreen": "本组的排名、各方面得分率和共性问题。W 生成汇总报告，D 生成征求意见稿，F5 重新计算，Esc 返回。",
    "BranchScreen": "一个支部的述、看、查、问、评五个环节。F2/F3 或 1–5 换环节；看/查中 Y 符合、P 部分、N 不符、"
                    "X 不适用、C 清除判定、F 提为问题；Ctrl+Z 撤销上一次修改；Ctrl+F 查找检查项和问题；"
                    "Esc 先回到列表，再返回支部列表。",
    "ReviewScreen": "本支部的全部记录，按反馈意见的结构排列；相同的亮点和问题合并显示。E 去评分，Esc 返回。",
    "MergeScreen": "合并组员的会话文件：可改文件夹（如 U 盘），勾选文件后按 M；数字键采纳对应观摩员的意见（先确认），"
                   "V 输入裁定值和理由。",
    "ExportScreen": "导出点对点反馈意见和整改通知书 PDF。E 导出，A 全选/全不选。",
}
COMMON = "任何时候：Ctrl+Q 保存并退出 · Ctrl+P 命令面板 · Ctrl+T 切换浅色/深色主题 · F1 帮助。"


class HelpScreen(BaseScreen):
    BINDINGS = [Binding("escape,f1,q", "close", "关闭帮助", id="close-help")]

    def __init__(self, screen_name: str, keys: list[tuple[str, str, str, bool]]) -> None:
        super().__init__()
        self.screen_name = screen_name
        self.keys = keys

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static("帮助", classes="title")
        with VerticalScroll(id="help"):
            yield Static(self.body(), id="help-body")
        yield from self.footer()

    def body(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column()
        table.add_row("", Text(GUIDES.get(self.screen_name, ""), style="italic"))
        table.add_row("", "")
        for key, description, tooltip, available in self.keys:
            line = Text(description, style="" if available else "dim")
            if tooltip and tooltip != description:
                line.append(f" — {tooltip}", style="dim")
            table.add_row(key, line)
        table.add_row("", "")
        table.add_row("", Text(COMMON, style="dim"))
        return table

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def action_close(self) -> None:
        self.dismiss()
