"""The group leader's merge screen: pick inspectors' files, merge them, settle disagreements.

Everything it does goes through ``store.merge_files.merge_files`` and
``core.disagreements.list_disagreements`` / ``settle`` — the same functions as ``inspect-tui merge``,
``disagreements`` and ``settle`` — so the screen holds no rule of its own. Merging and settling run
in thread workers (reading and writing tens of thousands of records takes a second or two); the
merge reports progress through ``call_from_thread`` so the screen stays responsive. A refusal (bad
file, other checklist version, existing output, branch matching to confirm) is shown as text with
what to do: untick the bad file, tick "覆盖" or "按名称匹配支部", and merge again.

The folder can be changed (a USB stick's folder works directly) and the output name is relative to
it. Files are pre-ticked only when they are inspectors' copies of the same group's visit: earlier
merge results, other groups' files and unreadable files are listed but left unticked, with why.

Keys: ``m`` merge; ``1``–``9`` adopt that inspector's value for the selected disagreement (after a
confirmation; the numbers are the ones ``disagreements`` prints and ``settle --from`` accepts);
``v`` type a value and a reason; ``r`` re-list the folder; ``escape`` back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, DataTable, Input, Label, ProgressBar, SelectionList, Static
from textual.worker import Worker, WorkerState

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.disagreements import Disagreement, list_disagreements, numbered_inspectors, settle
from inspect_tui.crash import explain
from inspect_tui.errors import UserError, os_reason
from inspect_tui.store.merge_files import MergeReport, merge_files
from inspect_tui.store.paths import SUFFIX
from inspect_tui.tui.base_screen import BaseScreen
from inspect_tui.tui.dialogs.confirm import ConfirmDialog
from inspect_tui.tui.dialogs.draft import DraftDialog

DEFAULT_OUTPUT = "合并结果.jsonl"


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class SettleDialog(DraftDialog):
    """Type the group's value and the reason for one disagreement."""

    DEFAULT_CSS = """
    SettleDialog { align: center middle; }
    SettleDialog > Vertical { width: 72; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    SettleDialog #settle-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "取消")]

    def __init__(self, d: Disagreement, numbering: list[str]) -> None:
        super().__init__()
        self.d = d
        self.numbering = numbering

    def compose(self) -> ComposeResult:
        d = self.d
        hint = "分数" if d.field == "score" else "符合 / 部分符合 / 不符合 / 不适用"
        with Vertical():
            yield Label(f"小组裁定：{d.branch_name} · {d.item_title}（{d.field_label}）")
            for n, name in enumerate(self.numbering, 1):
                o = d.opinion_of(name)
                if o is not None:
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


@dataclass(frozen=True)
class Candidate:
    """A session file in the folder, what it is, and whether it is ticked to begin with."""

    path: Path
    label: str
    ticked: bool


def describe_files(folder: Path, output: Path, group: str | None) -> list[Candidate]:
    """The folder's session files, inspectors' copies of ``group``'s visit ticked (of the group most
    files belong to when no group is given); merge results, other groups' files, unreadable files
    and the output itself unticked, each saying why."""
    from inspect_tui.store.session_file import SessionFile

    if not folder.is_dir():
        return []
    found: list[tuple[Path, dict | None, str]] = []
    for p in sorted(folder.glob(f"*{SUFFIX}")):
        if not p.is_file():
            continue
        try:
            with SessionFile.open(p, readonly=True) as f:
                found.append((p, f.meta, ""))
        except (UserError, OSError) as exc:
            first = (exc.render() if isinstance(exc, UserError) else os_reason(exc)).splitlines()[0]
            found.append((p, None, first))
    groups = Counter(m.get("group") for _p, m, _e in found if m and m.get("role") != "leader")
    group = group or (groups.most_common(1)[0][0] if groups else None)
    out = output.resolve()
    listed = []
    for p, meta, error in found:
        if meta is None:
            listed.append(Candidate(p, f"{p.name}（无法读取：{_cut(error, 40)}）", False))
            continue
        reason = ("本次输出文件" if p.resolve() == out else "合并结果" if meta.get("role") == "leader"
                  else "其他小组" if meta.get("group") != group else "")
        label = (f"{meta.get('inspector', '?')}{f'（{reason}）' if reason else ''} · {meta.get('group', '?')}"
                 f" · {meta.get('date', '')} · {p.name}")  # who first: a narrow list still shows it
        listed.append(Candidate(p, label, not reason))
    return listed


class MergeScreen(BaseScreen):
    DEFAULT_CSS = """
    MergeScreen { layout: vertical; }
    MergeScreen #merge-top { height: 10; }
    MergeScreen #merge-folder-row { height: 1; }
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
                 checklist: Checklist | None = None, group: str | None = None) -> None:
        super().__init__()
        self.checklist = checklist  # None: the shipped checklist the merged session names
        self.folder = Path(folder)
        self.output = Path(output) if output else Path(DEFAULT_OUTPUT)  # relative: inside the folder
        self.leader = leader
        self.group = group
        self.report: MergeReport | None = None
        self.disagreements: list[Disagreement] = []
        self.inspectors: list[str] = []
        self.merged: Path | None = None
        self.busy = False  # a merge or a settle is running: keys that start another wait

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(f"合并观摩员文件 · 组长 {self.leader}", id="merge-title", classes="title")
        with Horizontal(id="merge-folder-row", classes="row"):
            yield Label("文件夹", classes="inline-label")
            yield Input(str(self.folder), id="merge-folder", placeholder="如 U 盘上的文件夹（回车重新列出）")
        with Horizontal(id="merge-top"):
            yield SelectionList[str](id="merge-files")
            with Vertical(id="merge-options"):
                yield Label("输出文件（相对于文件夹）")
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
        yield from self.footer()

    def on_mount(self) -> None:
        summary = self.query_one("#merge-summary", DataTable)
        summary.add_columns("文件", "观摩员", "读入", "新增", "已有", "冲突")
        self.query_one("#merge-files", SelectionList).border_title = "输入文件（空格键勾选）"
        self.query_one("#merge-disagreements", DataTable).border_title = "待裁定的分歧"
        self.action_rescan()
        self.query_one("#merge-files", SelectionList).focus()

    def _out(self) -> Path:
        text = self.query_one("#merge-output", Input).value.strip()
        p = Path(text).expanduser() if text else self.output
        return p if p.is_absolute() else self.folder / p

    @on(Input.Submitted, "#merge-folder")
    def _folder_changed(self) -> None:
        self.folder = Path(self.query_one("#merge-folder", Input).value.strip() or ".").expanduser()
        self.action_rescan()

    def action_rescan(self) -> None:
        self.query_one("#merge-files", SelectionList).clear_options()
        self._status("正在读取文件夹……")
        self.scan_folder(self.folder, self._out())

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan", name="scan")
    def scan_folder(self, folder: Path, output: Path) -> list[Candidate]:
        return describe_files(folder, output, self.group)

    def _listed(self, found: list[Candidate]) -> None:
        files = self.query_one("#merge-files", SelectionList)
        files.clear_options()
        files.add_options([(c.label, str(c.path), c.ticked) for c in found])
        if not self.folder.is_dir():
            self._status(f"找不到文件夹 {self.folder}。")
        elif not found:
            self._status(f"文件夹中没有 {SUFFIX} 会话文件。")
        else:
            self._status(f"已勾选 {sum(c.ticked for c in found)} 个观摩员文件（共 {len(found)} 个），按 m 合并。")

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
            self.inspectors = numbered_inspectors(
                s.meta.inspectors, list_disagreements(s.checklist, s.index, include_settled=True), s.meta.inspector)
            return list_disagreements(s.checklist, s.index)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "scan" and event.state is WorkerState.SUCCESS:
            self._listed(worker.result)
            return
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
                self._show_problem(explain(exc))
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
        names = numbered_inspectors(self.inspectors, found)
        self.inspectors = names
        table = self.query_one("#merge-disagreements", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        # The branch and item first (cut to fit), then the inspectors' values side by side.
        table.add_columns("支部", "项目", "方面", *[f"{n}. {name}" for n, name in enumerate(names, 1)])
        # Sized for 80 columns; a wider terminal's extra width (in characters of two cells) goes to
        # the branch's and then the item's names, up to the longest of each.
        spare = max(0, self.size.width - 80) // 2
        branch_len = 7 + min(spare, max((len(d.branch_name) - 7 for d in found), default=0))
        item_len = 8 + min(spare - (branch_len - 7), max((len(d.item_title) - 8 for d in found), default=0))
        note_len = max(2, 12 // max(len(names), 1))
        for d in found:
            cells = []
            for name in names:
                o = d.opinion_of(name)
                cells.append("—" if o is None else o.label + (f"：{_cut(o.note, note_len)}" if o.note else ""))
            table.add_row(_cut(d.branch_name, branch_len), _cut(d.item_title, item_len), d.field_label, *cells)
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
        if not 1 <= n <= len(self.inspectors) or (o := d.opinion_of(self.inspectors[n - 1])) is None:
            self._status(f"第 {n} 位观摩员没有记录这一项。")
            return
        name = self.inspectors[n - 1]

        def confirmed(yes: bool | None) -> None:
            if yes and not self.busy:
                self.busy = True
                self.run_settle(d, None, "", name)

        self.app.push_screen(ConfirmDialog(f"采纳第 {n} 位 {name} 的意见“{o.label}”作为小组裁定吗？",
                                           f"{d.branch_name} · {d.item_title}（{d.field_label}）"), confirmed)

    def action_settle_value(self) -> None:
        d = self._current()
        if d is None:
            return

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.busy = True
                self.run_settle(d, result[0], result[1], None)

        self.app.push_screen(SettleDialog(d, self.inspectors), done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="settle", name="settle")
    def run_settle(self, d: Disagreement, value: str | None, reason: str,
                   chosen_from: str | None) -> tuple[list[Disagreement], str]:
        from inspect_tui.store.session import Session

        assert self.merged is not None
        with Session.open(self.merged, checklist=self.checklist) as s:
            rec = settle(s, d.branch, d.item, d.field, value=value, reason=reason, chosen_from=chosen_from)
            found = list_disagreements(s.checklist, s.index)
        return found, f"已裁定 {d.branch_name} {d.item_title}（{d.field_label}）：{rec.data.get('reason', '')}"

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
