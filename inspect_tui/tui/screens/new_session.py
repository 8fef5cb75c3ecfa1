"""Creating a session: group, date, own name, checklist and the branches visited.

Branches are typed one per line (``名称`` or ``名称,单位``) or imported from a CSV/YAML visit plan
(``core.plan.load_plan``), which may also fill in the group, date and fellow inspectors. The
session itself is made by ``store.session.new_session`` — the same function ``session new`` uses.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Input, Label, Select, Static, TextArea

from inspect_tui.core.plan import PlannedBranch
from inspect_tui.errors import UserError, describe_os_error
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.widgets.footer import QuietFooter


class NewSessionScreen(BaseScreen[Path | None]):
    BINDINGS = [
        Binding("ctrl+s", "create", "创建", tooltip="创建会话并打开", id="create"),
        Binding("ctrl+o", "import_plan", "导入计划", tooltip="从“访问计划文件”读取支部等信息", id="import"),
        Binding("escape", "cancel", "取消", id="cancel"),
    ]

    def __init__(self, today: date | None = None) -> None:
        super().__init__()
        self.today = today or date.today()
        self.inspectors: list[str] = []

    def compose(self) -> ComposeResult:
        from inspect_tui.core.checklist_load import find_checklists

        yield Header()
        with VerticalScroll(id="new-form"):
            yield Label("观摩小组")
            yield Input(placeholder="如：第三观摩小组", id="group")
            yield Label("日期（YYYY-MM-DD）")
            yield Input(self.today.isoformat(), id="date")
            yield Label("本人姓名")
            yield Input(placeholder="观摩员姓名", id="inspector")
            yield Label("汇报限时（分钟，“述”环节计时用）")
            yield Input("15", id="limit", type="integer")
            yield Label("检查清单")
            options = [(p.stem, str(p)) for p in find_checklists()]
            yield Select(options, value=options[0][1] if options else Select.NULL, allow_blank=not options,
                         id="checklist")
            yield Label("访问计划文件（CSV 或 YAML，可选；填好后按 Ctrl+O 导入）")
            yield Input(placeholder="如：plans/第三组.csv", id="plan")
            yield Label("被观摩支部（每行一个：名称 或 名称,单位）")
            yield TextArea(id="branches", soft_wrap=True, tab_behavior="focus")
            yield Static(id="new-error", classes="error")
        yield QuietFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#group", Input).focus()

    def _error(self, message: str) -> None:
        self.query_one("#new-error", Static).update(message)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_import_plan(self) -> None:
        from inspect_tui.core.plan import load_plan

        raw = self.query_one("#plan", Input).value.strip()
        if not raw:
            self._error("请先填写访问计划文件的路径。")
            self.query_one("#plan", Input).focus()
            return
        try:
            plan = load_plan(Path(raw).expanduser())
        except UserError as exc:
            self._error(exc.render())
            return
        except OSError as exc:
            self._error(describe_os_error(exc))
            return
        lines = [f"{b.name},{b.unit}" if b.unit else b.name for b in plan.branches]
        self.query_one("#branches", TextArea).load_text("\n".join(lines))
        if plan.group:
            self.query_one("#group", Input).value = plan.group
        if plan.date:
            self.query_one("#date", Input).value = plan.date.isoformat()
        self.inspectors = list(plan.inspectors)
        self._error(f"已导入 {len(plan.branches)} 个支部。")

    def branches(self) -> list[PlannedBranch]:
        out = []
        for line in self.query_one("#branches", TextArea).text.splitlines():
            name, _, unit = line.replace("，", ",").partition(",")
            if name.strip():
                out.append(PlannedBranch(name.strip(), unit.strip()))
        return out

    def action_create(self) -> None:
        from inspect_tui.core.checklist_load import load_checklist
        from inspect_tui.store.session import new_session

        group = self.query_one("#group", Input).value.strip()
        inspector = self.query_one("#inspector", Input).value.strip()
        try:
            day = date.fromisoformat(self.query_one("#date", Input).value.strip())
        except ValueError:
            self._error("日期格式应为 YYYY-MM-DD。")
            self.query_one("#date", Input).focus()
            return
        if not group or not inspector:
            self._error("请填写观摩小组和本人姓名。")
            self.query_one("#group" if not group else "#inspector", Input).focus()
            return
        branches = self.branches()
        if not branches:
            self._error("请至少填写一个被观摩支部，或导入访问计划。")
            return
        choice = self.query_one("#checklist", Select).value
        try:
            limit = int(self.query_one("#limit", Input).value or 15)
        except ValueError:
            self._error("汇报限时应为 1–240 之间的整数（分钟）。")
            return
        try:
            checklist = load_checklist(str(choice))
            session = new_session(self.app.sessions_dir, group=group, day=day, inspector=inspector,
                                  checklist=checklist, branches=branches, inspectors=self.inspectors,
                                  report_limit_minutes=limit)
        except UserError as exc:
            self._error(exc.render())
            return
        except OSError as exc:
            self._error(f"无法创建会话文件：{describe_os_error(exc)}")
            return
        path = session.path
        session.close()
        self.dismiss(path)
