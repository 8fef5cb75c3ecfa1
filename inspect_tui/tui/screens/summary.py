"""The group's summary in the app: ranking with the branch × area heat map, rates, common problems,
and a key to write the report — the same ``GroupReport`` and the same writer as ``inspect-tui
report group``, so the screen computes nothing of its own.

The report is rebuilt whenever the screen is shown (records may have changed on any other screen);
for 40 branches that is a fraction of a second. Writing reads the records on the UI thread
(``prepare_group_report``) and renders the PDF and the workbook in a thread worker, so the inspector
can go on working while WeasyPrint runs.

Keys: ``w`` write the report (refused while disagreements are unsettled) · ``d`` write it as a
draft (征求意见稿) · ``F5`` recompute · ``escape`` back.
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.naming import safe_stem
from inspect_tui.core.report import GroupReport, area_shares
from inspect_tui.crash import explain
from inspect_tui.errors import UserError
from inspect_tui.export.report_charts import heat_colour
from inspect_tui.tui.base_screen import BaseScreen


def report_folder(exports: Path, report: GroupReport) -> Path:
    """One folder per group and day range, so two groups' reports never overwrite each other."""
    days = report.dates[0] + (f"～{report.dates[-1]}" if len(report.dates) > 1 else "")
    return exports / safe_stem(f"汇总报告-{'、'.join(report.groups)}-{days}")


class SummaryScreen(BaseScreen):
    DEFAULT_CSS = """
    SummaryScreen #ranking { height: 1fr; }
    SummaryScreen #common { height: auto; max-height: 35%; }
    SummaryScreen #summary-rates { padding: 0 1; }
    """
    BINDINGS = [
        Binding("w", "write(False)", "写报告", tooltip="生成《交叉观摩情况汇总报告》PDF 和 汇总.xlsx", id="write-report"),
        Binding("d", "write(True)", "征求意见稿", tooltip="有未裁定分歧时，生成标注“征求意见稿”的报告", id="write-draft"),
        Binding("f5", "recompute", "刷新", id="recompute"),
        Binding("escape", "back", "返回", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: GroupReport | None = None
        self.writing = False

    def compose(self) -> ComposeResult:
        yield from self.header()
        yield Static(id="summary-title", classes="title")
        yield Static(id="summary-rates")
        yield DataTable(id="ranking", cursor_type="row", zebra_stripes=False)
        yield Static("共性问题", id="common-title", classes="title")
        yield DataTable(id="common", cursor_type="row")
        yield from self.footer()

    def on_mount(self) -> None:
        self.recompute()
        self.query_one("#ranking", DataTable).focus()

    def on_screen_resume(self) -> None:
        if self.report is not None:
            self.recompute()

    def action_recompute(self) -> None:
        self.recompute()

    def recompute(self) -> None:
        from inspect_tui.export.report_files import group_report

        session = self.app.session
        meta = session.meta
        self.query_one("#summary-title", Static).update(f"{meta.group} · 汇总 · {session.checklist.title}")
        try:
            self.report = group_report([session])
        except UserError as exc:
            self.report = None
            self.query_one("#summary-rates", Static).update(exc.message)
            self.query_one("#ranking", DataTable).clear(columns=True)
            self.query_one("#common", DataTable).clear(columns=True)
            return
        self._show(self.report)

    def _show(self, r: GroupReport) -> None:
        parts = [f"已评 {len(r.ranked)}/{len(r.branches)} 个支部", f"平均 {fmt_score(r.average)} 分",
                 f"达标率 {fmt_rate(r.pass_rate)}", f"优秀率 {fmt_rate(r.excellence_rate)}",
                 f"知晓率 {fmt_rate(r.awareness)}（{r.adequate}/{r.asked}）"]
        rates = Text("　".join(parts))
        if r.unsettled:
            rates.append(f"　未裁定分歧 {len(r.unsettled)} 处（排名暂定）", style="bold red")
        self.query_one("#summary-rates", Static).update(rates)

        table = self.query_one("#ranking", DataTable)
        table.clear(columns=True)
        table.add_column("排名", key="rank", width=4)
        table.add_column("支部", key="name", width=max([cell_len(b.name) for b in r.branches] + [4]))
        for a in r.checklist.areas:
            table.add_column(a.title, key=a.id, width=max(6, cell_len(a.title)))
        table.add_column("总分", key="total", width=6)
        table.add_column("等次", key="rating", width=max(cell_len(b.label) for b in r.checklist.ratings))
        table.add_column("问题", key="problems", width=4)
        for x in r.ranked:
            cells = []
            for share in area_shares(r.checklist, x.facts):
                fill, ink = heat_colour(share)
                cells.append(Text(f"{share:.0%}", style=f"{ink} on {fill}", justify="center"))
            table.add_row(str(x.rank), x.facts.name, *cells, fmt_score(x.facts.total), x.rating.label,
                          str(len(x.facts.problems)), key=x.facts.id)
        for b in r.unevaluated:
            table.add_row(Text("未评", style="dim"), b.name, *[Text("—", style="dim")] * len(r.checklist.areas),
                          Text(f"{b.scored}/{len(b.items)}", style="dim"), "", str(len(b.problems)), key=b.id)

        p = r.problems
        self.query_one("#common-title", Static).update(
            f"共性问题：{len(p.common)} 项（不少于 {p.share.numerator}/{p.share.denominator} 的已评支部失分或有问题）")
        common = self.query_one("#common", DataTable)
        common.clear(columns=True)
        for label, width in (("检查项", 26), ("方面", 12), ("支部", 4), ("占比", 6), ("典型表现", 60)):
            common.add_column(label, width=width)
        for c in p.common:
            sample = c.samples[0][0] if c.samples else "失分，未记录具体问题"
            common.add_row(c.item, c.area, str(c.count), fmt_rate(c.share), sample, key=c.item_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write":
            return (self.report is not None and not self.writing) or None
        return True

    def action_write(self, draft: bool) -> None:
        from inspect_tui.export.report_files import prepare_group_report

        if self.report is None or self.writing:
            return
        try:
            prepared = prepare_group_report([self.app.session], draft=draft)
        except UserError as exc:
            self.notify(f"{exc.message}\n按 d 生成征求意见稿，或先裁定分歧。", title="不能生成正式报告",
                        severity="warning", timeout=8)
            return
        self.writing = True
        self.refresh_bindings()
        self.notify("正在生成汇总报告……", timeout=3)
        self._write(prepared, report_folder(self.app.exports_dir, prepared.report))

    @work(thread=True, exclusive=True, exit_on_error=False, group="report", name="write-report")
    def _write(self, prepared, folder: Path) -> list[Path]:
        from inspect_tui.export.report_files import write_prepared

        return write_prepared(prepared, folder)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "report" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.writing = False
        self.refresh_bindings()
        if event.state is WorkerState.SUCCESS:
            files = event.worker.result or []
            self.notify("已写入：" + "、".join(str(f) for f in files), title="汇总报告", timeout=10)
        else:
            error = event.worker.error
            self.notify(explain(error, ["worker: write-report"]), title="汇总报告生成失败", severity="error",
                        timeout=10)

    def action_back(self) -> None:
        self.app.pop_screen()
