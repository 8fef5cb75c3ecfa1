"""Helper processes: forked, kept off the terminal and out of the program's files, joined to it by
one pipe.

Two jobs run on the other core of the laptop this way — a large merge's digest and stored list,
built while the leader reads the result (``merge_files``), and a large session's list, worked out
while the app starts (``read_ahead``). Both need the same care: forking only a program with no
other thread, keeping the helper's hands off the terminal (its keys and Ctrl+C are the program's),
off the program's locks and pipes, and never letting it return into the program's code.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable


def fork_helper(work: Callable[[int], object], *, helper_reads: bool) -> tuple[int, int] | None:
    """Fork a helper that runs ``work(fd)`` — ``fd`` its end of a pipe to the caller: the read end
    with ``helper_reads``, else the write end — and then exits (0 when ``work`` returned, 1 when it
    raised). Returns the helper's pid and the caller's end of the pipe; None where forking is not
    safe (another thread runs: a forked copy may hang on a lock it held) or not possible.

    The helper runs in a session of its own with stdin, stdout and stderr on the null device, holds
    no other descriptor of the program's (no lock, no pipe someone reads the program's output
    from), and leaves the cyclic collector off: it lives for one job."""
    if threading.active_count() > 1 or not hasattr(os, "fork"):
        return None
    try:
        r, w = os.pipe()
    except OSError:
        return None
    mine, theirs = (w, r) if helper_reads else (r, w)
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid:
        os.close(theirs)
        return pid, mine
    code = 1
    try:  # the helper: never returns into the caller's code
        os.close(mine)
        os.setsid()
        gc.disable()
        work(_detach(theirs))
        code = 0
    finally:
        os._exit(code)


def _detach(fd: int) -> int:
    """Only ``fd`` (moved above 0–2 if the program was started with one of those closed) and the
    null device as 0–2 stay open; returns where ``fd`` is now."""
    if fd < 3:
        import fcntl

        fd = fcntl.fcntl(fd, fcntl.F_DUPFD, 3)
    null = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(null, std)
    os.closerange(3, fd)
    os.closerange(fd + 1, os.sysconf("SC_OPEN_MAX"))
    return fd
