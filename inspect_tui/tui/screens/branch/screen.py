"""One branch, five steps: 述 report, 看 look, 查 check, 问 ask, 评 evaluate.

The screen is a ``ContentSwitcher`` of five panes, one module each, all given the branch's
:class:`~inspect_tui.core.workbench.BranchWorkbench`. F2/F3 (also ``[``/``]`` and ``1``–``5`` when
no text field has focus) move between steps; F-keys reach the app in every terminal the inspectors
use and never collide with typing. Panes report up (``Saved``, ``Refused``, ``Confirm``,
``EditFeedback``); the screen then asks the workbench for the branch's result (a few milliseconds)
and hands it down to the visible pane. Nothing is computed here.

``Ctrl+Z`` undoes the session's last change (through the store, durably) and shows the branch again.
Opening the screen focuses the step's list, never a text field, so the number keys switch steps.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, TextArea

from inspect_tui.core.steps import STEPS, Step
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.errors import UserError
from inspect_tui.tui import navigation
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.dialogs.confirm import ConfirmDialog
from inspect_tui.tui.dialogs.feedback import FeedbackModal
from inspect_tui.tui.dialogs.search import SearchDialog
from inspect_tui.tui.format import fmt_rate, fmt_score
from inspect_tui.tui.screens.branch.ask import AskPane
from inspect_tui.tui.screens.branch.evaluate import EvaluatePane
from inspect_tui.tui.screens.branch.observe import ObservePane
from inspect_tui.tui.screens.branch.pane import Confirm, EditFeedback, Refused, Saved, StepPane
from inspect_tui.tui.screens.branch.report import ReportPane
from inspect_tui.tui.widgets.fields import commit_all
from inspect_tui.tui.widgets.steady import SteadyStatic


class BranchScreen(BaseScreen):
    BINDINGS = [
        Binding("f2", "step(-1)", "上步", tooltip="回到上一环节（不在文本框时也可按 [ ）", priority=True,
                id="prev-step"),
        Binding("f3", "step(1)", "下步", tooltip="进入下一环节（不在文本框时也可按 ] ）", priority=True,
                id="next-step"),
        Binding("left_square_bracket", "step(-1)", "上一环节", show=False),
        Binding("right_square_bracket", "step(1)", "下一环节", show=False),
        *[Binding(str(n), f"goto('{s.value}')", f"转到{s.label}", show=False) for n, s in enumerate(STEPS, 1)],
        Binding("d", "toggle_done", "完成", tooltip="标记/取消本环节已完成（计入进度）", id="step-done"),
        Binding("ctrl+z", "undo", "撤销", tooltip="撤销本会话的上一次修改", show=False, id="undo"),
        Binding("ctrl+f", "search", "查找", tooltip="查找检查项或问题并转到它", show=False, id="search"),
        # At 80 columns the footer cannot hold every key of the 看/查 panes; these stay in the
        # palette and the help (Esc is the universal "back", review is also on the branches list).
        Binding("v", "review", "审阅", tooltip="查看本支部的全部记录", show=False, id="review"),
        Binding("escape", "back", "返回", tooltip="从输入框回到本环节的列表；再按返回支部列表", show=False,
                id="back"),
    ]
    step: reactive[Step] = reactive(Step.REPORT, init=False)

    def __init__(self, bench: BranchWorkbench, step: Step = Step.REPORT) -> None:
        super().__init__()
        self.bench = bench
        self.branch = bench.branch
        self.set_reactive(BranchScreen.step, step)

    def compose(self) -> ComposeResult:
        # Kept at hand (built again by a recompose): shown again after every change.
        self._title = SteadyStatic(id="branch-title", classes="title")
        self._stepbar = SteadyStatic(id="stepbar")
        self._panes: dict[Step, StepPane] = {
            Step.REPORT: ReportPane(self.bench, id=Step.REPORT.value),
            Step.LOOK: ObservePane(self.bench, Step.LOOK, id=Step.LOOK.value),
            Step.CHECK: ObservePane(self.bench, Step.CHECK, id=Step.CHECK.value),
            Step.ASK: AskPane(self.bench, id=Step.ASK.value),
            Step.EVALUATE: EvaluatePane(self.bench, id=Step.EVALUATE.value),
        }
        yield from self.header()
        yield self._title
        yield self._stepbar
        with ContentSwitcher(initial=self.step.value, id="steps"):
            yield from self._panes.values()
        yield from self.footer()

    def on_mount(self) -> None:
        self.changed()
        self.focus_pane()

    def pane(self, step: Step | None = None) -> StepPane:
        return self._panes[step or self.step]

    def focus_pane(self) -> None:
        target = self.pane().first_focus()
        if target is not None:
            target.focus()

    def changed(self) -> None:
        """After a change: fetch the branch's result from the core and show it."""
        if not self._title.is_mounted:  # being recomposed (after an undo): shown once it is back
            return
        result = self.bench.result()
        self.result = result
        head = Text.assemble((result.name, "bold"), "  得分 ",
                             (f"{fmt_score(result.total)}/{fmt_score(result.full_marks)}", "bold"),
                             f" {result.rating_label}"
                             f" · 问题 {result.problems} · 知晓率 {fmt_rate(result.awareness)}")
        self._title.show(head)
        bar = Text()
        for s in STEPS:
            style = "reverse bold" if s is self.step else ""
            mark = "✓" if result.steps_done[s] else " "
            bar.append(f" {s.label}{mark}", style=style)
            bar.append(" ")
        bar.append(f"  {self.step.title}", style="bold")
        bar.append("   F2/F3 换环节", style="dim")
        self._stepbar.show(bar)
        self.pane().show_result(result)  # the other panes catch up when they are shown (watch_step)

    # --- messages from the panes -----------------------------------------------------------------

    def on_saved(self, message: Saved) -> None:
        self.app.report_saved(wrote=message.record is not None)  # type: ignore[attr-defined]
        if message.note:
            self.notify(message.note)
        self.changed()

    def on_refused(self, message: Refused) -> None:
        self.app.report_refused(message.error)  # type: ignore[attr-defined]

    def on_confirm(self, message: Confirm) -> None:
        self.app.push_screen(ConfirmDialog(message.question, message.detail),
                             lambda yes: message.then() if yes else None)

    def on_edit_feedback(self, message: EditFeedback) -> None:
        def done(rec: object) -> None:
            if rec is not None:
                self.app.report_saved()  # type: ignore[attr-defined]
                self.changed()

        self.app.push_screen(FeedbackModal(self.bench, message.kind, record=message.record), done)

    # --- steps -----------------------------------------------------------------------------------

    def watch_step(self, old: Step, new: Step) -> None:
        commit_all(self.pane(old))
        self.pane(old).leave()
        self.query_one("#steps", ContentSwitcher).current = new.value
        self.changed()
        self.focus_pane()
        self.refresh_bindings()

    def action_step(self, delta: int) -> None:
        index = STEPS.index(self.step) + delta
        if 0 <= index < len(STEPS):
            self.step = STEPS[index]

    def action_goto(self, step: str) -> None:
        self.step = Step(step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step":
            index = STEPS.index(self.step) + int(parameters[0])  # type: ignore[call-overload]
            return 0 <= index < len(STEPS) or None
        return True

    def action_toggle_done(self) -> None:
        commit_all(self.pane())
        self.pane().run(self.bench.toggle_done, self.step)

    async def action_undo(self) -> None:
        commit_all(self)
        try:
            rec = self.bench.undo()
        except (UserError, OSError) as exc:
            self.app.report_refused(exc)  # type: ignore[attr-defined]
            return
        if rec is None:
            self.notify("没有可撤销的修改", severity="warning")
            return
        self.app.report_saved()  # type: ignore[attr-defined]
        self.notify("已撤销上一次修改")
        await self.recompose()  # every pane shows the stored values again
        self.changed()
        self.focus_pane()

    def action_search(self) -> None:
        self.app.push_screen(SearchDialog("查找检查项或问题", self.bench.search_targets()), self.go_to)

    def go_to(self, target: str | None) -> None:
        """Show a search result: an item in the 看/查 step that lists it (else 评), a problem in 评."""
        if target is None:
            return
        kind, _, key = target.partition(":")
        if kind == "item":
            here = self.step if self.step in (Step.LOOK, Step.CHECK) else Step.LOOK
            steps = [s for s in (here, Step.LOOK, Step.CHECK) if key in {i.id for i in self.bench.items(s)}]
            self.step = steps[0] if steps else Step.EVALUATE
            pane = self.pane()
            self.call_after_refresh(pane.select, key)  # type: ignore[attr-defined]
        else:
            self.step = Step.EVALUATE
            self.call_after_refresh(self.query_one(EvaluatePane).select_feedback, key)

    def action_review(self) -> None:
        commit_all(self)
        navigation.open_review(self.app, self.branch)

    def action_back(self) -> None:
        focused, home = self.focused, self.pane().first_focus()
        if focused is not None and home is not None and focused is not home and not isinstance(home, TextArea):
            home.focus()  # Esc goes up one level: from a field back to the step's list first
            return
        if commit_all(self):
            self._leave()
            return

        def answered(discard: bool | None) -> None:
            refused = [f for f in self.query("FieldInput, FieldArea") if f.dirty]  # type: ignore[attr-defined]
            if not discard:
                if refused:
                    refused[0].focus()
                return
            for field in refused:
                field.load(field.committed)  # type: ignore[attr-defined]
            self._leave()

        self.app.push_screen(ConfirmDialog("有输入内容未能保存，放弃这些内容并返回支部列表吗？",
                                           "原因见状态栏。选“取消”可继续修改（输入的文字仍在）。"), answered)

    def _leave(self) -> None:
        self.pane(Step.REPORT).leave()
        self.dismiss()
