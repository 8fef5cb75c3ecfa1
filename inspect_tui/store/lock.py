"""One writer per session file: an exclusive lock on a sidecar file ``.NAME.lock``.

Why a sidecar and not the session file itself? Compaction and migration replace the session file
with ``os.replace``; a lock on the old inode would silently stop protecting the new one.

``flock(LOCK_EX | LOCK_NB)`` belongs to the open file and the kernel drops it when the process dies,
so a lock file left behind by a killed process never blocks anyone; the pid and host written into it
are only there to make the refusal message useful. ``flock`` locks held through two different opens
conflict even inside one process, and a process-wide registry refuses a second open early with a
clearer message. On release the lock file is unlinked while still locked; an acquirer that locked a
file which has meanwhile been unlinked or replaced notices (inode check) and tries again.

Windows (untested here): ``msvcrt.locking`` on the first byte; the owner's details follow it.
"""

from __future__ import annotations

import contextlib
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

_held: set[str] = set()
# Re-entrant: garbage collection may run a dropped lock's ``__del__`` (→ ``release``) on this very
# thread while the mutex is held; a plain Lock would deadlock right there.
_held_mutex = threading.RLock()
_INFO_AT = 1 if fcntl is None else 0  # Windows locks byte 0, so the owner info starts after it


def lock_path_for(session_path: str | Path) -> Path:
    target = Path(os.path.realpath(session_path))
    return target.with_name(f".{target.name}.lock")


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _read_owner(fd: int) -> dict:
    try:
        os.lseek(fd, _INFO_AT, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode("utf-8", "replace").strip("\0 \n") or "{}")
    except (OSError, ValueError):
        return {}


class SessionBusyError(UserError):
    """Another writer holds the file: the app then offers it read-only instead."""


def _busy(session_path: str | Path, owner: dict, *, same_process: bool) -> UserError:
    pid = owner.get("pid", "未知")
    host = owner.get("host", "未知")
    where = "已在本进程中打开" if same_process else "正被另一个进程打开"
    return SessionBusyError(f"{session_path} {where}（pid {pid}，主机 {host}），不能同时写入。",
                            hint="请先关闭另一处打开的会话；只需查看时可用只读方式打开："
                                 f"inspect-tui --read-only {session_path}")


class SessionLock:
    """An acquired write lock; ``release()`` is idempotent."""

    def __init__(self, session_path: Path, lock_path: Path, fd: int) -> None:
        self.session_path = session_path
        self.lock_path = lock_path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, session_path: str | Path) -> SessionLock:
        """Lock ``session_path`` for writing or raise ``UserError`` naming the holder."""
        lock_path = lock_path_for(session_path)
        key = str(lock_path)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        with _held_mutex:
            if key in _held:
                raise _busy(session_path, me, same_process=True)
            for _ in range(20):
                try:
                    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
                except OSError as exc:  # read-only media, no permission: said with the session's path
                    raise OSError(exc.errno, exc.strerror, str(session_path)) from None
                if not _try_lock(fd):
                    owner = _read_owner(fd)
                    os.close(fd)
                    raise _busy(session_path, owner, same_process=False)
                try:
                    st = os.stat(lock_path)
                    same = (st.st_ino, st.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev)
                except OSError:
                    same = False
                if fcntl is not None and not same:  # released and unlinked under us: try again
                    os.close(fd)
                    continue
                info = dict(me, since=datetime.now(UTC).isoformat(timespec="seconds"))
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, _INFO_AT)
                    os.lseek(fd, _INFO_AT, os.SEEK_SET)
                    os.write(fd, (json.dumps(info) + "\n").encode())
                _held.add(key)
                return cls(Path(session_path), lock_path, fd)
        raise UserError(f"{session_path}: 无法获得写锁（锁文件 {lock_path} 不断被替换）")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        with _held_mutex:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            _held.discard(str(self.lock_path))
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.lock_path)
            os.close(fd)

    def __del__(self) -> None:  # a SessionFile dropped without close() must not keep the lock
        with contextlib.suppress(Exception):
            self.release()

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
