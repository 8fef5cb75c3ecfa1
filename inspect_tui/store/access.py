"""Opening a session for the app: for writing when possible, read-only — and saying why — when not.

A file on a write-protected USB stick, in a folder the inspector may not write, or already open in
another window can still be read: refusing to open it at all (as a plain writable open must) would
leave an inspector unable even to look at a colleague's findings. So the app asks here first, and
opens read-only with the reason it will show in the status line.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from inspect_tui.errors import os_reason
from inspect_tui.store.lock import SessionBusyError
from inspect_tui.store.session import Session
from inspect_tui.store.session_format import NotWritableError

#: Refusals that mean "you may read but not write here", as opposed to a missing or broken file
#: (a disk too full even for the lock file can still be read).
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


def read_only_reason(path: str | Path) -> str | None:
    """Why ``path`` cannot be written in place (or its lock beside it created), or None."""
    path = Path(path)
    folder = path.resolve().parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "所在介质是只读的"
    except (OSError, AttributeError):  # no statvfs (Windows): the checks below still apply
        pass
    if path.exists() and not os.access(path, os.W_OK):
        return "没有写入该文件的权限"
    if not os.access(folder, os.W_OK):
        return "没有写入所在文件夹的权限"
    return None


def open_for_app(path: str | Path, *, read_only: bool = False) -> tuple[Session, str | None]:
    """The session at ``path`` and, when it was opened read-only, the reason (else None)."""
    why = "按要求以只读方式打开" if read_only else read_only_reason(path)
    if why is None:
        try:
            return Session.open(path), None
        except SessionBusyError:
            why = "另一个窗口或程序正在编辑该文件"
        except NotWritableError as exc:
            why = exc.reason
        except OSError as exc:
            if exc.errno not in _READ_ONLY_ERRNOS:
                raise
            why = os_reason(exc)
    return Session.open(path, readonly=True), why
