"""The export screen: PDFs for the branches of one session — point-by-point feedback, rectification
notices, or both — with a progress bar, the files made and what went wrong.

Everything goes through ``inspect_tui.export.batch.export_session``, the function behind
``inspect-tui export``, so the screen holds no rule of its own. The export runs in a thread worker
(which itself spreads the rendering over a process pool) and reports each finished document with
``call_from_thread``; prerequisites (a Chinese font, HarfBuzz's subsetter) are checked first and a
missing one is shown with what to install.

Before exporting, the screen lists what the leader must look at (``export.review``): unsettled
disagreements and incomplete demands, which block issued documents (a draft, 征求意见稿, may still be
made), and points lost without a recorded problem.

Keys: ``e`` export; ``a`` select all branches / none; ``escape`` back.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
)
from textual.worker import Worker, WorkerState

from inspect_tui.crash import explain
from inspect_tui.tui.base_screen import BaseScreen

KIND_OPTIONS = (("both", "两者都导出", ("feedback", "notice")),
                ("feedback", "点对点反馈意见", ("feedback",)),
                ("notice", "整改通知书", ("notice",)))
KIND_NAMES = {"feedback": "反馈意见", "notice": "整改通知书"}


class ExportScreen(BaseScreen):
    DEFAULT_CSS = """
    ExportScreen #export-kind { layout: horizontal; height: 1; width: auto; border: none; padding: 0; }
    ExportScreen #export-kind RadioButton { width: auto; margin-right: 2; }
    ExportScreen #export-body { height: 1fr; }
    ExportScreen #export-left { width: 32; padding: 0 1; }
    ExportScreen #export-right { width: 1fr; padding: 0 1; }
    ExportScreen #export-branches { height: 1fr; }
    ExportScreen #export-draft { width: 1fr; }
    ExportScreen #export-progress { margin: 0 0 1 0; }
    ExportScreen #export-results { height: 1fr; min-height: 4; }
    ExportScreen #export-message { height: auto; }
    ExportScreen #export-review { height: auto; max-height: 8; overflow-y: auto; color: $warning; }
    ExportScreen #export-message.error { color: $error; }
    ExportScreen .row { padding: 0 1; }
    ExportScreen .row .field-name { width: 11; color: $text-muted; }
    ExportScreen .title { text-style: bold; }
    """
    BINDINGS = [
        Binding("e", "export", "导出"),
        Binding("a", "toggle_all", "全选/全不选"),
        Binding("escape", "back", "返回"),
    ]

    def __init__(self, session_path: Path, output_dir: Path) -> None:
        super().__init__()
        self.session_path = Path(session_path)
        self.output_dir = Path(output_dir)
        self.files: list[str] = []
        self.errors: list[str] = []

    def compose(self) -> ComposeResult:
        """One line each for what to export, the draft switch and the optional files; the branches
        beside the progress, the review and the results — so that 80×24 shows all of it."""
        yield from self.header()
        with Horizontal(classes="row"):
            yield Label("导出内容", classes="inline-label title")
            with RadioSet(id="export-kind", compact=True):
                for n, (key, label, _) in enumerate(KIND_OPTIONS):
                    yield RadioButton(label, value=n == 0, id=f"kind-{key}", compact=True)
        with Horizontal(classes="row"):
            yield Checkbox("征求意见稿（有分歧时也可导出）", id="export-draft", compact=True)
            yield Checkbox("重新签发", id="export-reissue", compact=True,
                           tooltip="签发后整改事项有改动的通知书取新文号，原文号记为已被取代")
            yield Button("开始导出 (E)", id="export-start", variant="primary", disabled=True, compact=True)
        with Horizontal(id="export-body"):
            with Vertical(id="export-left"):
                yield Label("支部（默认全部）", classes="title")
                yield SelectionList[str](id="export-branches", compact=True)
            with Vertical(id="export-right"):
                yield Label(f"输出到：{self.output_dir}", id="export-output")
                yield ProgressBar(total=100, id="export-progress", show_eta=False)  # empty, not animated, until E
                yield Static("正在读取会话…", id="export-message")
                yield Static("", id="export-review")
                yield DataTable(id="export-results", cursor_type="row", zebra_stripes=True)
        for key, label, hint in (("templates", "模板文件夹", "本单位的文书模板（可不填）"),
                                 ("key", "小组密钥", "给通知书二维码加签名（可不填）"),
                                 ("issuer", "发文设置", "发文机关、文号、印章（可不填）")):
            with Horizontal(classes="row"):
                yield Label(label, classes="field-name")
                yield Input(placeholder=hint, id=f"export-{key}")
        yield from self.footer()

    def on_mount(self) -> None:
        self.query_one("#export-results", DataTable).add_columns("支部", "文件", "结果")
        self._load_branches()

    # --- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="export-load", name="export-load")
    def _load_branches(self) -> tuple[list[tuple[str, str]], list[str]]:
        from inspect_tui.export.review import review_session
        from inspect_tui.store.session import Session

        with Session.open(self.session_path, readonly=True) as session:
            lines = [line for r in review_session(session) for line in r.lines()]
            return [(b.data["name"], b.id) for b in session.branches()], lines

    # --- actions ------------------------------------------------------------------------------------

    def action_toggle_all(self) -> None:
        sel = self.query_one("#export-branches", SelectionList)
        if len(sel.selected) == sel.option_count:
            sel.deselect_all()
        else:
            sel.select_all()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @on(Button.Pressed, "#export-start")
    def _start_pressed(self) -> None:
        self.action_export()

    def action_export(self) -> None:
        button = self.query_one("#export-start", Button)
        if button.disabled:
            return
        sel = self.query_one("#export-branches", SelectionList)
        chosen = list(sel.selected)
        if not chosen:
            self._message("请至少选择一个支部。", error=True)
            return
        branches = None if len(chosen) == sel.option_count else chosen
        kind_index = self.query_one("#export-kind", RadioSet).pressed_index
        kinds = KIND_OPTIONS[max(kind_index, 0)][2]
        templates = self.query_one("#export-templates", Input).value.strip() or None
        key_file = self.query_one("#export-key", Input).value.strip() or None
        issuer = self.query_one("#export-issuer", Input).value.strip() or None
        draft = self.query_one("#export-draft", Checkbox).value
        reissue = self.query_one("#export-reissue", Checkbox).value
        self.files, self.errors = [], []
        self.query_one("#export-results", DataTable).clear()
        progress = self.query_one("#export-progress", ProgressBar)
        progress.update(total=None, progress=0)
        button.disabled = True
        self._message("正在导出…")
        self._export(kinds, branches, templates, key_file, issuer, draft, reissue)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", name="export")
    def _export(self, kinds, branches, templates, key_file, issuer, draft, reissue):
        from inspect_tui.export.batch import export_session
        from inspect_tui.export.qr import load_key

        key = load_key(key_file) if key_file else None

        def progress(done: int, total: int, result) -> None:
            self.app.call_from_thread(self._one_done, done, total, result)

        # Issued documents are numbered in the session: use the app's open (locked) session if it is this one.
        open_session = getattr(self.app, "session", None)
        if open_session is not None and Path(open_session.path) != self.session_path:
            open_session = None
        return export_session(self.session_path, self.output_dir, kinds=kinds, branches=branches,
                              template_dir=templates, progress=progress, key=key, issuer=issuer, draft=draft,
                              session=open_session, reissue=reissue)

    def _one_done(self, done: int, total: int, result) -> None:
        self.query_one("#export-progress", ProgressBar).update(total=total, progress=done)
        table = self.query_one("#export-results", DataTable)
        if result.error:
            self.errors.append(f"{result.branch_name}：{result.error}")
            table.add_row(result.branch_name, KIND_NAMES.get(result.kind, result.kind), "失败：" + result.error)
        else:
            self.files.append(result.path)
            table.add_row(result.branch_name, Path(result.path).name,
                          "完成；" + "；".join(result.warnings) if result.warnings else "完成")
        self._message(f"已完成 {done} / {total}")

    def _message(self, text: str, *, error: bool = False) -> None:
        msg = self.query_one("#export-message", Static)
        msg.update(text)
        msg.set_class(error, "error")

    # --- worker results -------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "export-load":
            if event.state is WorkerState.SUCCESS:
                names, review = worker.result
                sel = self.query_one("#export-branches", SelectionList)
                sel.clear_options()
                sel.add_options([(name, bid, True) for name, bid in names])
                self.query_one("#export-start", Button).disabled = False
                self._message(f"共 {len(names)} 个支部。按 E 开始导出。"
                              + (f"签发前请核对以下 {len(review)} 条：" if review else ""))
                self.query_one("#export-review", Static).update("\n".join(f"· {line}" for line in review))
            elif event.state is WorkerState.ERROR:
                self._message(_error_text(worker.error), error=True)
            return
        if worker.name != "export":
            return
        if event.state is WorkerState.SUCCESS:
            summary = worker.result
            table = self.query_one("#export-results", DataTable)
            for r in summary.skipped:
                table.add_row(r.branch_name, KIND_NAMES.get(r.kind, r.kind), r.error or r.note or "跳过")
            text = f"导出完成：{len(summary.files)} 个文件，用时 {summary.seconds:.1f} 秒，保存在 {self.output_dir}"
            if summary.errors or summary.refused:
                text += f"；{len(summary.errors) + len(summary.refused)} 个未导出（见列表）"
            if summary.warnings:
                text += "\n警告：" + "\n".join(summary.warnings)
            self._message(text, error=bool(summary.errors or summary.refused or summary.warnings))
            self.query_one("#export-start", Button).disabled = False
        elif event.state is WorkerState.ERROR:
            self._message(_error_text(worker.error), error=True)
            self.query_one("#export-start", Button).disabled = False


def _error_text(exc: BaseException | None) -> str:
    return explain(exc) if exc is not None else "导出失败"
