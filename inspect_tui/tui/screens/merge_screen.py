"""The group leader's merge screen: pick inspectors' files, merge them, settle disagreements.

Everything it does goes through ``store.merge_files.merge_files`` and
``core.disagreements.list_disagreements`` / ``settle`` — the same functions as ``inspect-tui merge``,
``disagreements`` and ``settle`` — so the screen holds no rule of its own. Merging and settling run
in thread workers (reading and writing tens of thousands of records takes a second or two); the
merge reports progress through ``call_from_thread`` so the screen stays responsive. A refusal (bad
file, other checklist version, existing output, branch matching to confirm) is shown as text with
what to do: untick the bad file, tick "覆盖" or "按名称匹配支部", and merge again.

Keys: ``m`` merge; ``1``–``9`` adopt that inspector's value for the selected disagreement; ``v``
type a value and a reason; ``r`` re-list the folder; ``escape`` back.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, DataTable, Footer, Input, Label, ProgressBar, SelectionList, Static
from textual.worker import Worker, WorkerState

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.disagreements import Disagreement, list_disagreements, settle
from inspect_tui.errors import UserError
from inspect_tui.store.merge_files import MergeReport, merge_files
from inspect_tui.store.paths import SUFFIX

DEFAULT_OUTPUT = "合并结果.jsonl"


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class SettleDialog(ModalScreen[tuple[str, str] | None]):
    """Type the group's value and the reason for one disagreement."""

    DEFAULT_CSS = """
    SettleDialog { align: center middle; }
    SettleDialog > Vertical { width: 72; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    SettleDialog #settle-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "取消")]

    def __init__(self, d: Disagreement) -> None:
        super().__init__()
        self.d = d

    def compose(self) -> ComposeResult:
        d = self.d
        hint = "分数" if d.field == "score" else "符合 / 部分符合 / 不符合 / 不适用"
        with Vertical():
            yield Label(f"小组裁定：{d.branch_name} · {d.item} {d.item_title}（{d.field_label}）")
            for n, o in enumerate(d.opinions, 1):
                yield Label(f"{n}. {o.inspector}：{o.label}" + (f" — {o.note}" if o.note else ""))
            yield Input(placeholder=f"裁定值（{hint}）", id="settle-value")
            yield Input(placeholder="裁定理由（必填）", id="settle-reason")
            yield Static("", id="settle-error")

    @on(Input.Submitted, "#settle-value")
    def _next(self) -> None:
        self.query_one("#settle-reason", Input).focus()

    @on(Input.Submitted, "#settle-reason")
    def _done(self) -> None:
        value = self.query_one("#settle-value", Input).value.strip()
        reason = self.query_one("#settle-reason", Input).value.strip()
        if not value or not reason:
            self.query_one("#settle-error", Static).update("请填写裁定值和理由。")
            self.query_one("#settle-value" if not value else "#settle-reason", Input).focus()
            return
        self.dismiss((value, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MergeScreen(Screen[None]):
    DEFAULT_CSS = """
    MergeScreen { layout: vertical; }
    MergeScreen #merge-title { padding: 0 1; background: $boost; text-style: bold; }
    MergeScreen #merge-top { height: 10; }
    MergeScreen #merge-files { width: 1fr; height: 100%; }
    MergeScreen #merge-options { width: 44; height: 100%; padding: 0 1; }
    MergeScreen #merge-progress-row { height: 1; padding: 0 1; }
    MergeScreen #merge-status { width: 1fr; padding: 0 1; }
    MergeScreen #merge-problems { color: $error; padding: 0 1; height: auto; max-height: 10; }
    MergeScreen #merge-summary { height: auto; max-height: 14; }
    MergeScreen #merge-disagreements { height: 1fr; }
    """
    BINDINGS = [
        Binding("m", "merge", "合并"),
        Binding("v", "settle_value", "输入裁定值"),
        Binding("r", "rescan", "刷新文件"),
        Binding("escape", "back", "返回"),
        *[Binding(str(n), f"pick({n})", f"采纳第{n}位", show=False) for n in range(1, 10)],
    ]

    def __init__(self, folder: Path, output: Path | None = None, leader: str = "组长", *,
                 checklist: Checklist | None = None) -> None:
        super().__init__()
        self.checklist = checklist  # None: the shipped checklist the merged session names
        self.folder = Path(folder)
        self.output = Path(output) if output else self.folder / DEFAULT_OUTPUT
        self.leader = leader
        self.report: MergeReport | None = None
        self.disagreements: list[Disagreement] = []
        self.inspectors: list[str] = []
        self.merged: Path | None = None
        self.busy = False  # a merge or a settle is running: keys that start another wait

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(f"合并观摩员文件 · 文件夹 {self.folder} · 组长 {self.leader}", id="merge-title")
        with Horizontal(id="merge-top"):
            yield SelectionList[str](id="merge-files")
            with Vertical(id="merge-options"):
                yield Label("输出文件")
                yield Input(str(self.output), id="merge-output")
                yield Checkbox("覆盖已有的输出文件", id="merge-force")
                yield Checkbox("按名称匹配支部（确认）", id="merge-match")
                yield Button("合并（m）", id="merge-go", variant="primary")
        with Horizontal(id="merge-progress-row"):
            yield ProgressBar(total=100, show_eta=False, id="merge-progress")
            yield Static("勾选要合并的文件，按 m 合并。", id="merge-status")
        yield Static("", id="merge-problems")
        yield DataTable(id="merge-summary", cursor_type="none", zebra_stripes=True)
        yield DataTable(id="merge-disagreements", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        summary = self.query_one("#merge-summary", DataTable)
        summary.add_columns("文件", "观摩员", "读入", "新增", "已有", "冲突")
        self.query_one("#merge-files", SelectionList).border_title = "输入文件（空格键勾选）"
        self.query_one("#merge-disagreements", DataTable).border_title = "待裁定的分歧"
        self.action_rescan()
        self.query_one("#merge-files", SelectionList).focus()

    def candidate_files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob(f"*{SUFFIX}") if p.is_file() and p.resolve() != self._out().resolve())

    def _out(self) -> Path:
        try:
            text = self.query_one("#merge-output", Input).value.strip()
        except Exception:  # before compose
            text = ""
        p = Path(text) if text else self.output
        return p if p.is_absolute() else self.folder / p

    def action_rescan(self) -> None:
        files = self.query_one("#merge-files", SelectionList)
        files.clear_options()
        found = self.candidate_files()
        files.add_options([(p.name, str(p), True) for p in found])
        if not found:
            self._status(f"文件夹中没有 {SUFFIX} 会话文件。")

    # --- merging -------------------------------------------------------------------------------

    def _status(self, text: str) -> None:
        self.query_one("#merge-status", Static).update(text)

    def _progress(self, fraction: float, message: str) -> None:
        self.query_one("#merge-progress", ProgressBar).update(progress=round(100 * fraction))
        self._status(message)

    @on(Button.Pressed, "#merge-go")
    def action_merge(self) -> None:
        if self.busy:
            self._status("正在处理，请稍候……")
            return
        paths = [Path(v) for v in self.query_one("#merge-files", SelectionList).selected]
        if not paths:
            self._show_problem("请至少勾选一个输入文件。")
            return
        force = self.query_one("#merge-force", Checkbox).value
        match = True if self.query_one("#merge-match", Checkbox).value else None
        self._show_problem("")
        self.query_one("#merge-progress", ProgressBar).update(progress=0)
        self._status("正在合并……")
        self.busy = True
        self.run_merge(paths, self._out(), force, match)

    @work(thread=True, exclusive=True, exit_on_error=False, group="merge", name="merge")
    def run_merge(self, paths: list[Path], output: Path, force: bool,
                  match: bool | None) -> tuple[MergeReport, list[Disagreement], str]:
        def progress(fraction: float, message: str) -> None:
            self.app.call_from_thread(self._progress, fraction, message)

        report = merge_files(paths, output, leader=self.leader, replace=force, match_branches=match,
                             progress=progress, checklists=[self.checklist] if self.checklist else ())
        try:
            return report, self._load_disagreements(output), "\n".join(report.lost)
        except UserError as exc:  # merged, but its checklist is not at hand: no disagreement list
            return report, [], f"合并已完成，但无法列出分歧：{exc.render()}"

    def _load_disagreements(self, path: Path) -> list[Disagreement]:
        from inspect_tui.store.session import Session

        with Session.open(path, readonly=True, checklist=self.checklist) as s:
            self.inspectors = [n for n in s.meta.inspectors if n != s.meta.inspector]
            return list_disagreements(s.checklist, s.index)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name not in ("merge", "settle"):
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.busy = False
        if event.state is WorkerState.ERROR:
            exc = worker.error
            if isinstance(exc, UserError):
                extra = ("\n（界面中：取消勾选有问题的文件、勾选“覆盖”或“按名称匹配支部”后，再按 m 合并）"
                         if worker.name == "merge" else "")
                self._show_problem(exc.render() + extra)
            else:
                self._show_problem(f"出错了（程序问题，请报告）：{exc!r}")
            self._status("未完成。")
        elif event.state is WorkerState.SUCCESS:
            if worker.name == "merge":
                report, found, note = worker.result
                self._merged(report, found)
                self._show_problem(note)
            else:
                found, message = worker.result
                self._show_disagreements(found)
                self._status(message)

    def _merged(self, report: MergeReport, found: list[Disagreement]) -> None:
        self.report = report
        self.merged = report.output
        summary = self.query_one("#merge-summary", DataTable)
        summary.clear()
        for s in report.stats:
            summary.add_row(Path(s.name).name, s.inspector, str(s.read), str(s.new), str(s.present), str(s.conflicts))
        self.query_one("#merge-progress", ProgressBar).update(progress=100)
        self._status(f"已写入 {report.output.name}：{report.records} 条记录，并发修改冲突 {report.conflicts} 条，"
                     f"摘要 {report.digest}")
        self._show_disagreements(found)

    def _show_problem(self, text: str) -> None:
        self.query_one("#merge-problems", Static).update(text)

    # --- disagreements -------------------------------------------------------------------------

    def _show_disagreements(self, found: list[Disagreement]) -> None:
        self.disagreements = found
        names = list(dict.fromkeys([*self.inspectors, *(o.inspector for d in found for o in d.opinions)]))
        self.inspectors = names
        table = self.query_one("#merge-disagreements", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        # Inspectors' values side by side come first; long texts are cut so every column fits.
        table.add_columns("项目", "方面", *[f"{n}. {name}" for n, name in enumerate(names, 1)], "支部")
        note_len = max(4, 24 // max(len(names), 1))
        for d in found:
            cells = []
            for name in names:
                o = d.opinion_of(name)
                cells.append("—" if o is None else o.label + (f"：{_cut(o.note, note_len)}" if o.note else ""))
            table.add_row(f"{d.item} {_cut(d.item_title, 8)}", d.field_label, *cells, _cut(d.branch_name, 12))
        table.border_title = f"待裁定的分歧 {len(found)} 处（数字键 采纳该观摩员的值，v 看全文并输入裁定值）"
        if found:
            table.move_cursor(row=min(max(row, 0), len(found) - 1))

    def _current(self) -> Disagreement | None:
        if self.busy:
            self._status("正在处理，请稍候……")
            return None
        if self.merged is None or not self.disagreements:
            self._status("先合并，再裁定分歧。")
            return None
        row = self.query_one("#merge-disagreements", DataTable).cursor_row
        return self.disagreements[row] if 0 <= row < len(self.disagreements) else None

    def action_pick(self, n: int) -> None:
        d = self._current()
        if d is None:
            return
        if not 1 <= n <= len(self.inspectors) or d.opinion_of(self.inspectors[n - 1]) is None:
            self._status(f"第 {n} 位观摩员没有记录这一项。")
            return
        self.busy = True
        self.run_settle(d, None, "", self.inspectors[n - 1])

    def action_settle_value(self) -> None:
        d = self._current()
        if d is None:
            return

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.busy = True
                self.run_settle(d, result[0], result[1], None)

        self.app.push_screen(SettleDialog(d), done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="settle", name="settle")
    def run_settle(self, d: Disagreement, value: str | None, reason: str,
                   chosen_from: str | None) -> tuple[list[Disagreement], str]:
        from inspect_tui.store.session import Session

        assert self.merged is not None
        with Session.open(self.merged, checklist=self.checklist) as s:
            rec = settle(s, d.branch, d.item, d.field, value=value, reason=reason, chosen_from=chosen_from)
            found = list_disagreements(s.checklist, s.index)
        return found, f"已裁定 {d.branch_name} {d.item}（{d.field_label}）：{rec.data.get('reason', '')}"

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
