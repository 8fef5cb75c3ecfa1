"""One writer per session file, whatever the path: an exclusive lock on the file itself.

Why on the file and not on a sidecar beside its name? A name is not a file: the same file reached
through a hard link, a symbolic link or a bind mount has another name, and a sidecar per name let a
second writer in. ``flock`` locks the open file's inode, so every path to it meets the same lock;
the in-process registry is keyed by device and inode for the same reason.

Compaction and migration replace the file (``os.replace``), which gives the path a new inode. The
writer therefore locks the new file *before* the swap (``write_atomic`` calls ``hold_next``) and
lets go of the old one after it (``move_to_next``). An acquirer that locked a file which has
meanwhile been replaced notices (inode check) and tries again — on the new file, which is locked.

``flock(LOCK_EX | LOCK_NB)`` belongs to the open file and the kernel drops it when the process dies,
so a crashed writer never blocks anyone. A small sidecar ``.NAME.lock`` beside the file's real path
holds the owner's pid and host, only to make the refusal message useful (reached through another
name, the holder may show as unknown). Read-only opens take no lock; ``holder`` tells whether a
writer has the file open, for ``session check``.

Windows (untested here): ``msvcrt.locking`` on one byte far beyond the end of the file — a
mandatory lock there blocks no reader.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

from inspect_tui.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

FileKey = tuple[int, int]  # (device, inode)

_held: set[FileKey] = set()
# Re-entrant: garbage collection may run a dropped lock's ``__del__`` (→ ``release``) on this very
# thread while the mutex is held; a plain Lock would deadlock right there.
_held_mutex = threading.RLock()
_WINDOWS_LOCK_AT = 1 << 40
# Read-only is enough for flock; non-blocking so that a FIFO given as a session file cannot hang us.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)


def info_path_for(session_path: str | Path) -> Path:
    """The sidecar holding the writer's pid and host (informational only)."""
    target = Path(os.path.realpath(session_path))
    return target.with_name(f".{target.name}.lock")


def _key(fd: int) -> FileKey:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _try_lock(fd: int, *, shared: bool = False, busy_only: bool = False) -> bool:
    """Whether the lock was taken. ``busy_only``: only "someone holds it" counts as not taken; any
    other failure (a file system without locks) raises."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            os.lseek(fd, _WINDOWS_LOCK_AT, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if busy_only and exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _read_owner(session_path: str | Path, key: FileKey) -> dict:
    """The owner written by the holder, if the sidecar beside this name is about this very file."""
    try:
        owner = json.loads(info_path_for(session_path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    if not isinstance(owner, dict) or owner.get("file") != list(key):
        return {}
    return owner


def _write_owner(session_path: Path, key: FileKey) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"), "file": list(key)}
    with contextlib.suppress(OSError):
        info_path_for(session_path).write_text(json.dumps(info) + "\n", encoding="utf-8")


class SessionBusyError(UserError):
    """Another writer holds the file: the app then offers it read-only instead."""


def _busy(session_path: str | Path, owner: dict, *, same_process: bool) -> UserError:
    pid = owner.get("pid", "未知")
    host = owner.get("host", "未知")
    where = "已在本进程中打开" if same_process else "正被另一个进程打开"
    return SessionBusyError(f"{session_path} {where}（pid {pid}，主机 {host}），不能同时写入。",
                            hint="请先关闭另一处打开的会话；只需查看时可用只读方式打开："
                                 f"inspect-tui --read-only {session_path}")


def holder(session_path: str | Path) -> dict | None:
    """Whether a writer has ``session_path`` open: ``None`` if not, else what is known of it
    (``pid``, ``host``; possibly nothing). Probes with a shared lock, taken and dropped at once."""
    try:
        fd = os.open(session_path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        key = _key(fd)
        with _held_mutex:
            if key in _held:
                return {"pid": os.getpid(), "host": socket.gethostname()}
        try:
            if _try_lock(fd, shared=True, busy_only=True):
                _unlock(fd)
                return None
        except OSError:  # no locks on this file system: nobody can be told to hold one
            return None
        return _read_owner(session_path, key)
    finally:
        os.close(fd)


class SessionLock:
    """An acquired write lock on one session file; ``release()`` is idempotent.

    ``fd`` is ``None`` while the path names no file yet (a file about to be created): the file
    written there by ``write_atomic(..., lock=this)`` is locked before it appears."""

    def __init__(self, session_path: Path, fd: int | None) -> None:
        self.session_path = session_path
        self._fd = fd
        self._key: FileKey | None = _key(fd) if fd is not None else None
        self._next: int | None = None
        self._released = False

    @classmethod
    def acquire(cls, session_path: str | Path) -> SessionLock:
        """Lock ``session_path`` for writing or raise ``UserError`` naming the holder."""
        path = Path(session_path)
        for _ in range(20):
            try:
                fd = os.open(path, _OPEN_FLAGS)
            except FileNotFoundError:
                return cls(path, None)
            except OSError as exc:  # no permission, unreadable: said with the session's path
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            key = _key(fd)
            with _held_mutex:
                if key in _held:
                    os.close(fd)
                    raise _busy(path, {"pid": os.getpid(), "host": socket.gethostname()}, same_process=True)
                if not _try_lock(fd):
                    os.close(fd)
                    raise _busy(path, _read_owner(path, key), same_process=False)
                try:
                    st = os.stat(path)
                    same = (st.st_dev, st.st_ino) == key
                except OSError:
                    same = False
                if not same:  # replaced under us (another writer's compaction): try the new file
                    os.close(fd)
                    continue
                _held.add(key)
            _write_owner(path, key)
            return cls(path, fd)
        raise UserError(f"{path}: 无法获得写锁（文件不断被替换）")

    @property
    def held(self) -> bool:
        return not self._released

    def guards(self, fd: int) -> bool:
        """Whether ``fd`` is open on the very file this lock holds (not one put in its place)."""
        return self._key is not None and _key(fd) == self._key

    def hold_next(self, fd: int) -> None:
        """Lock the file about to replace the locked one (``fd``: open on it, not yet renamed)."""
        self.drop_next()
        dup = os.dup(fd)
        if not _try_lock(dup):  # pragma: no cover - a file nobody else can have opened yet
            os.close(dup)
            raise OSError("无法锁定新写入的会话文件")
        self._next = dup

    def drop_next(self) -> None:
        nxt, self._next = self._next, None
        if nxt is not None:
            os.close(nxt)

    def move_to_next(self) -> None:
        """The new file has taken the path: keep its lock, let go of the old file."""
        with _held_mutex:
            old, self._fd, self._next = self._fd, self._next, None
            if self._key is not None:
                _held.discard(self._key)
            self._key = _key(self._fd) if self._fd is not None else None
            if self._key is not None:
                _held.add(self._key)
            if old is not None:
                os.close(old)
        if self._key is not None:
            _write_owner(self.session_path, self._key)

    def release(self) -> None:
        with _held_mutex:
            if self._released:
                return
            self._released = True
            self.drop_next()
            fd, self._fd = self._fd, None
            if self._key is not None:
                _held.discard(self._key)
            if fd is None:
                return
            if _read_owner(self.session_path, self._key or (0, 0)).get("pid") == os.getpid():
                with contextlib.suppress(OSError):
                    os.unlink(info_path_for(self.session_path))
            os.close(fd)

    def __del__(self) -> None:  # a SessionFile dropped without close() must not keep the lock
        with contextlib.suppress(Exception):
            self.release()

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
