"""述: the branch's report — a timer against the visit's time limit, notes, and the items the branch
claims to meet.

The timer's time is stored (``seconds`` of the 述 step note) when it is paused, every ten seconds
while it runs, when the step is left and when the app quits (it commits like a field), so a
Ctrl+Q or a closed lid loses at most a few seconds. Leaving the step pauses it and says so.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, SelectionList, Static

from inspect_tui.core.steps import Step
from inspect_tui.tui.screens.branch.pane import Saved, StepPane
from inspect_tui.tui.widgets.field_area import FieldArea
from inspect_tui.tui.widgets.fields import COMMITS

SAVE_EVERY = 10  # seconds of a running timer between two saves


class ReportTimer(Static):
    """The report clock; commits its time like a field so quitting never loses it."""

    seconds: reactive[int] = reactive(0)
    running: reactive[bool] = reactive(False)

    def __init__(self, pane: ReportPane, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class(COMMITS)
        self.pane = pane
        self.limit_minutes = 15
        self.paused_by_step = False

    def commit_now(self) -> bool:
        return self.pane.run(self.pane.bench.save_timer, self.seconds).ok

    def render_time(self) -> None:
        used, limit = self.seconds, self.limit_minutes * 60
        text = Text(f"汇报用时 {used // 60:02d}:{used % 60:02d} / 限时 {self.limit_minutes} 分钟  ")
        if self.running:
            text.append("计时中", style="bold")
        elif self.paused_by_step:
            text.append("切换环节时已暂停（F4 继续）", style="bold yellow")
        else:
            text.append("已暂停（F4 开始）", style="dim")
        if used > limit:
            text.append(f"  已超时 {(used - limit) // 60:02d}:{(used - limit) % 60:02d}", style="bold red")
        self.update(text, layout=False)

    def watch_seconds(self) -> None:
        self.render_time()

    def watch_running(self) -> None:
        self.render_time()


class ReportPane(StepPane):
    step = Step.REPORT
    BINDINGS = [
        Binding("f4", "toggle_timer", "计时", tooltip="开始/暂停汇报计时（输入时也可用）"),
        Binding("ctrl+r", "reset_timer", "计时归零", show=False),
        Binding("plus,equals_sign", "limit(1)", "限时+1分", show=False),
        Binding("minus", "limit(-1)", "限时-1分", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield ReportTimer(self, id="timer")
        yield Label("支部自述达到的检查项（空格勾选，即时保存；Tab 到汇报要点）", classes="field-label")
        yield SelectionList[str](id="claims")
        yield Label("汇报要点（离开或 Ctrl+S 保存）", classes="field-label")
        yield FieldArea(commit=lambda text: self.run(self.bench.save_note, Step.REPORT, text=text).ok,
                        id="report-notes")

    @property
    def timer(self) -> ReportTimer:
        return self.query_one(ReportTimer)

    def on_mount(self) -> None:
        timer = self.timer
        timer.limit_minutes = self.bench.session.meta.report_limit_minutes
        rec = self.bench.note(Step.REPORT)
        if rec is not None:
            self.query_one(FieldArea).load(rec.data.get("text", ""))
        timer.seconds = self.bench.report_seconds()
        claims = self.query_one("#claims", SelectionList)
        claimed = self.bench.claimed()
        claims.add_options([(i.title, i.id, i.id in claimed) for i in self.bench.checklist.items()])
        if claims.option_count:
            claims.highlighted = 0
        self._ticker = self.set_interval(1, self._tick, pause=True)
        timer.render_time()

    def first_focus(self) -> Widget | None:
        return self.query_one("#claims", SelectionList)

    def _tick(self) -> None:
        if not self.is_attached:  # the screen is going away (quitting): the time was committed
            self._ticker.stop()
            return
        self.timer.seconds += 1
        if self.timer.seconds % SAVE_EVERY == 0:
            self.timer.commit_now()

    def action_toggle_timer(self) -> None:
        timer = self.timer
        timer.paused_by_step = False
        timer.running = not timer.running
        if timer.running:
            self._ticker.resume()
        else:
            self._ticker.pause()
            timer.commit_now()

    def action_reset_timer(self) -> None:
        self.timer.seconds = 0
        self.timer.commit_now()

    def action_limit(self, delta: int) -> None:
        timer = self.timer
        if self.run(self.bench.session.set_report_limit, max(1, timer.limit_minutes + delta)).ok:
            timer.limit_minutes = self.bench.session.meta.report_limit_minutes
            timer.render_time()

    def leave(self) -> None:
        """Leaving the step pauses the clock, saves the time used and says so."""
        timer = self.timer
        if timer.running:
            self.action_toggle_timer()
            timer.paused_by_step = True
            timer.render_time()
            used = timer.seconds
            self.post_message(Saved(None, f"汇报计时已暂停于 {used // 60:02d}:{used % 60:02d}，回到“述”按 F4 继续"))

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled) -> None:
        claims, item = event.selection_list, event.selection.value
        claimed = item in claims.selected
        if not self.run(self.bench.set_claim, item, claimed).ok:  # not stored: show what is
            (claims.deselect if claimed else claims.select)(item)
