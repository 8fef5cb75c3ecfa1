"""A large session's branches list, worked out by a second process while the app starts.

The first opening of a large session this machine holds no stored list for (a copy off a USB stick,
a merge made elsewhere, a file changed by the CLI) used to read the whole file only after Textual
had started: one core doing both, one after the other, while a laptop's second core idled. So the
command line, before it imports Textual, forks a helper that reads the file and stores its list
(``branch_table.list_of_bytes``, under the hash of the bytes it read), then tells the app that hash
through a pipe. The app shows that list as it shows any stored one and reads the session itself
behind it, as it always does: the helper's list is only ever a preview of exactly those bytes.

Nothing here writes the session file — the helper only reads it — and nothing depends on the
helper: if it fails, hangs, is killed or cannot be started (no ``fork``, or threads running
already), the app reads the file as before. A helper still running when the program ends is
stopped and reaped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NoReturn

from inspect_tui.store.forked import fork_helper

#: Smaller session files are read at once; larger ones first show their stored list.
PREVIEW_MIN_BYTES = 512 * 1024
#: Larger files get no helper: the helper and the app would each hold the whole session in memory.
READ_AHEAD_MAX_BYTES = 256 * 1024 * 1024
READING = b"-"  # the helper's first answer when no list is stored for the bytes it read
WAIT = 30.0  # s: the longest anything waits for an answer from the helper
_KEY_BYTES = 64  # a SHA-256 in hex


class ReadAhead:
    """The helper reading ``path``. It answers through a pipe: ``READING`` if it found no list
    stored for those bytes (it is working one out), then the hash the list is stored under."""

    def __init__(self, path: Path, pid: int, fd: int) -> None:
        self.path = path
        self._pid: int | None = pid
        self._fd: int | None = fd
        self._got = b""
        self._ended = False  # the helper closed its end of the pipe
        self._stopping = threading.Lock()  # the app's worker and a waiting thread may both stop it

    def reading(self, timeout: float = WAIT) -> bool:
        """Wait for the helper's first answer: True while it works out a list (none was stored for
        the bytes it read), False once it has one to tell — or has given up."""
        self._receive(lambda got: bool(got), timeout)
        return self._got == READING

    def key(self, timeout: float = WAIT) -> str | None:
        """The hash under which the list of ``path``, as the helper read it, is now stored; None if
        the helper stored none (not a visit's session, damaged) — or has not yet, within
        ``timeout``: then it goes on (``finished`` is false) and may be asked again."""
        self._receive(lambda got: len(got.lstrip(READING)) >= _KEY_BYTES, timeout)
        key = self._got.lstrip(READING)
        if len(key) >= _KEY_BYTES or self._ended:
            self.stop()
            self._close()
        if len(key) == _KEY_BYTES and all(c in b"0123456789abcdef" for c in key):
            return key.decode("ascii")
        return None

    @property
    def finished(self) -> bool:
        """The helper has answered for good (or was stopped)."""
        return self._pid is None

    def _receive(self, enough: Callable[[bytes], bool], timeout: float) -> None:
        with contextlib.suppress(OSError):
            while self._fd is not None and not enough(self._got) and select.select([self._fd], [], [], timeout)[0]:
                chunk = os.read(self._fd, 128)
                if not chunk:
                    self._ended = True
                    break
                self._got += chunk

    def stop(self) -> None:
        """Stop the helper if it still runs, and reap it. Its end of the pipe closes with it, so a
        thread waiting in ``key`` hears the end; the pipe is closed by the reader (a descriptor
        closed under a reader could be reused meanwhile by a file the app opens)."""
        with self._stopping:
            pid, self._pid = self._pid, None
        if pid is not None:
            with contextlib.suppress(OSError):
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def read_ahead(path: str | Path) -> ReadAhead | None:
    """Start the helper for a session file large enough to be worth it (``PREVIEW_MIN_BYTES``) and
    not so large that two copies in memory would hurt (``READ_AHEAD_MAX_BYTES``) — only in a
    process with no other thread (the command line, before it imports Textual): a forked copy of a
    process with threads may hang on a lock another thread held."""
    path = Path(path)
    try:
        if not PREVIEW_MIN_BYTES <= path.stat().st_size <= READ_AHEAD_MAX_BYTES:
            return None
    except OSError:
        return None
    forked = fork_helper(partial(_store_list, path), helper_reads=False)
    if forked is None:
        return None
    ahead = ReadAhead(path, *forked)
    atexit.register(ahead.stop)
    return ahead


def _store_list(path: Path, answer: int) -> None:
    """The helper's work: the list of the bytes of ``path`` stored, and their hash written to
    ``answer``. The hash is taken by a thread (SHA-256 lets go of the interpreter's lock) while the
    records are read; when the list of those bytes is stored already, that thread answers at once
    and ends the helper."""
    from inspect_tui.store.branch_table import committed_hash_of, list_of_bytes, read_table, write_table
    from inspect_tui.store.session_format import _read_bytes

    data = _read_bytes(path)
    hashed: list[str] = []

    def hashing() -> None:
        key = committed_hash_of(data)
        if read_table(key) is not None:
            _answer(answer, key)
        hashed.append(key)
        os.write(answer, READING)

    thread = threading.Thread(target=hashing, daemon=True)
    thread.start()
    table = list_of_bytes(path, data)
    thread.join()
    if table is not None:
        write_table(hashed[0], table)
        _answer(answer, hashed[0])


def _answer(fd: int, key: str) -> NoReturn:
    os.write(fd, key.encode("ascii"))
    os._exit(0)
