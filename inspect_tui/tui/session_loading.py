"""Opening and closing the app's session: read in a worker behind a loading screen — or, for a large
file, behind its stored branches list (``store.branch_table``), or the list the read-ahead helper
works out meanwhile (``store.read_ahead``) — handed to the app on the UI thread, and closed
leaving that list for next time. A mixin of ``InspectApp``, which owns the
session; kept apart because reading, previewing and storing the list are one job of their own.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from inspect_tui.store.read_ahead import PREVIEW_MIN_BYTES
from inspect_tui.tui.settings import save_settings

if TYPE_CHECKING:  # the records' models (pydantic) are imported by the worker that reads a session
    from inspect_tui.core.scoring import BranchResult
    from inspect_tui.store.read_ahead import ReadAhead

LOADING_DELAY = 0.25  # s: a session read faster than this shows no loading screen
#: s: how long reading the records waits for the read-ahead helper's list before it starts anyway
PATIENCE = 0.25
#: What showing the list and reading the records import (~0.15 s), in steps of a few hundredths of a second
_WHILE_WAITING = ("inspect_tui.tui.screens.branches", "pydantic", "inspect_tui.core.checklist",
                  "inspect_tui.store.access")


class SessionLoading:
    """``InspectApp``'s opening and closing of its session (``self`` is the app)."""

    session: Any
    loading: Path | None
    #: The helper the command line started to read the session given to it (``store.read_ahead``).
    read_ahead: ReadAhead | None = None

    def open_session(self, path: Path) -> None:
        """Read the session in a worker, behind the loading screen. At start-up (nothing on screen
        yet to press keys on) that screen only comes up if reading takes a while (``LOADING_DELAY``):
        a session read in a blink, or shown at once from its stored list, would otherwise cost a
        second screen drawn and taken down."""
        self.loading = Path(path)
        if len(self.screen_stack) > 1:  # from the list of sessions: keep its keys from acting meanwhile
            self._show_loading(self.loading)
        else:
            self.set_timer(LOADING_DELAY, partial(self._show_loading, self.loading))
        self._load_session(self.loading)

    def _show_loading(self, path: Path) -> None:
        from inspect_tui.tui.screens.loading import LoadingScreen

        if self.loading == path and self.preview() is None:
            self.push_screen(LoadingScreen(path))

    def preview(self) -> Any:
        """The branches screen showing a stored list while its session is read, if there is one."""
        from inspect_tui.tui.screens.branches import BranchesScreen

        return next((s for s in self.screen_stack if isinstance(s, BranchesScreen) and s.preview is not None), None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", name="open-session")
    def _load_session(self, path: Path) -> None:
        ahead, self.read_ahead = self.read_ahead, None
        if ahead is not None and ahead.path != path:
            ahead.stop()
            ahead = None
        if ahead is None:
            key = self._show_stored_list(path)
            key_of_list: Callable[[], str | None] = lambda: key  # noqa: E731
        else:
            key_of_list = self._list_from(path, ahead)
        from inspect_tui.store.access import open_for_app  # after the stored list is drawn: ~0.1 s of imports
        from inspect_tui.store.journal import paused_gc

        with paused_gc():  # a session is tens of thousands of new, acyclic objects: nothing to collect
            session, read_only = open_for_app(path, read_only=self.open_read_only)
            try:
                results = _ledger_of(session) if session.is_followup() else self.compute_results(session)
                key = key_of_list()
                table = self._table_of(session, results) if key is not None else None
            except BaseException:
                session.close()
                raise
        drawn = threading.Event()
        try:
            if self.loading != path:  # the app quit meanwhile: nobody takes the session
                raise RuntimeError("not wanted any more")
            self.call_from_thread(self._session_loaded, session, results, read_only, drawn.set)
        except RuntimeError:  # (Textual: the app is not running any more)
            session.close()
            return
        if table is not None:
            drawn.wait(timeout=5)  # hashing the file again would only slow the drawing down
            self._keep_list(path, key, table)

    def _list_from(self, path: Path, ahead: ReadAhead) -> Callable[[], str | None]:
        """Worker: the list the read-ahead helper works out, shown once it has it — and when that
        takes a while (a very large file), the records are read meanwhile, not after it. Returns
        what gives the key of the list to keep, once the records are read."""
        if ahead.reading():  # no list stored: while the helper works one out, the imports ahead
            for module in _WHILE_WAITING:
                if ahead.key(timeout=0) is not None or ahead.finished:  # the list first
                    break
                importlib.import_module(module)
        key = ahead.key(timeout=PATIENCE)
        if ahead.finished:
            key = self._show_stored_list(path, key)
            return lambda: key
        answer: list[str | None] = []

        def show_when_ready() -> None:
            answer.append(ahead.key())
            if answer[0] is not None and self.loading == path:
                self._show_stored_list(path, answer[0])

        waiting = threading.Thread(target=show_when_ready, name="read-ahead", daemon=True)
        waiting.start()

        def key_of_list() -> str | None:
            from inspect_tui.store.branch_table import committed_hash

            ahead.stop()  # read in full already: its list would come too late to be worth the wait
            waiting.join()
            if answer and answer[0]:
                return answer[0]
            try:
                return committed_hash(path)
            except OSError:
                return None

        return key_of_list

    def _show_stored_list(self, path: Path, key: str | None = None) -> str | None:
        """Worker: for a large file, the hash of its committed bytes (``key``, when the read-ahead
        helper has it) — and if the list of exactly those bytes is stored, it is shown now and the
        records are read once it is on screen."""
        from inspect_tui.store.branch_table import committed_hash, read_table

        try:
            if path.stat().st_size < PREVIEW_MIN_BYTES:
                return None
            key = key or committed_hash(path)
        except OSError:  # the full open says what is wrong with the file
            return None
        table = read_table(key)
        if table is not None:
            drawn = threading.Event()
            self.call_from_thread(self._show_preview, table, drawn)
            drawn.wait(timeout=5)  # reading would only slow the drawing down
        return key

    def _show_preview(self, table: Any, drawn: Any) -> None:
        from inspect_tui.tui.screens.branches import BranchesScreen

        if self.loading is None:  # the load failed meanwhile
            drawn.set()
            return
        if isinstance(self.screen, loading_type()):
            self.pop_screen()
        self.push_screen(BranchesScreen(preview=table, on_drawn=drawn.set))

    @staticmethod
    def _table_of(session: Any, results: Any) -> Any:
        from inspect_tui.store.branch_table import table_of

        return table_of(session, results) if isinstance(results, dict) else None

    @staticmethod
    def _keep_list(path: Path, key: str, table: Any) -> None:
        """Worker, after the session was handed over: store its list under the hash of the bytes it
        was read from — if the file still has them (nothing saved or written meanwhile) and the
        stored list is not that already."""
        from inspect_tui.store.branch_table import committed_hash, read_table, write_table

        try:
            if committed_hash(path) == key and read_table(key) != table:
                write_table(key, table)
        except OSError:
            pass

    @staticmethod
    def compute_results(session: Any) -> dict[str, BranchResult]:
        from inspect_tui.store.branch_table import results_of

        return results_of(session)

    def _session_loaded(self, session: Any, results: Any, read_only: str | None,
                        on_drawn: Callable[[], None] = lambda: None) -> None:
        """``results``: every branch's scores (a visit) or the ledger (a follow-up, 回头看);
        ``on_drawn`` is called once the branches are shown from them."""
        from inspect_tui.tui.screens.branches import BranchesScreen

        self.close_session()
        self.loading = None
        self.session = session
        self.read_only = read_only
        self.session_path = session.path
        save_settings(last_session=str(Path(session.path).resolve()))
        if read_only:
            self.notify(f"{session.path.name}：{read_only}。可以查看，不能修改。", title="只读", timeout=8)
        if session.file.unclean:
            self.notify(f"{session.path.name}：{session.file.unclean}。", title="上次未正常关闭", severity="warning",
                        timeout=12)
        if isinstance(self.screen, loading_type()):
            self.pop_screen()
        preview = self.preview()
        if preview is not None and isinstance(results, dict):
            preview.session_ready(results)
            preview.call_after_refresh(on_drawn)
            self._show_status("")
        elif isinstance(results, dict):
            self.push_screen(BranchesScreen(results, on_drawn=on_drawn))
        else:
            from inspect_tui.tui.screens.followup_branches import FollowupBranchesScreen

            self.push_screen(FollowupBranchesScreen(results))
            on_drawn()
        self._settle_gc()

    def close_session(self) -> None:
        """Close the open session. A large one that was changed also leaves its branches list, stored
        under the hash of the sealed bytes (``Session.close`` runs that while it still holds the
        lock), so that it opens at once next time."""
        if self.session is not None:
            session, self.session = self.session, None
            session.close(sealed=self._list_keeper(session))
        self.read_only = None

    def _list_keeper(self, session: Any) -> Callable[[], None] | None:
        try:
            if session.file.readonly or session.last_saved is None or session.is_followup() \
                    or session.path.stat().st_size < PREVIEW_MIN_BYTES:
                return None
            table = self._table_of(session, self.compute_results(session))  # only changed branches are scored
        except (KeyError, OSError):
            return None

        def keep() -> None:
            from inspect_tui.store.branch_table import committed_hash, write_table

            write_table(committed_hash(session.path), table)

        return keep


def _ledger_of(session: Any) -> Any:
    from inspect_tui.store.followup import ledger_of  # follow-up code only for a follow-up session

    return ledger_of(session)


def loading_type() -> type:
    from inspect_tui.tui.screens.loading import LoadingScreen

    return LoadingScreen
