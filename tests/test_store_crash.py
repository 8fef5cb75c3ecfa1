"""kill -9 a writer at random moments: every acknowledged save survives and the file always opens.

A writer subprocess saves records one at a time and prints each id only after ``put`` returned
(i.e. after fsync). We SIGKILL it after a random delay (from a fixed, printed seed), open the file,
and check that every printed id is there with at least the printed version. Rounds alternate small and large records
(a large record makes a torn, half-written line likely) and a mode that compacts on every close, so
kills land inside compaction too. Two more tests kill the writer at exact points of compaction.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspect_tui.store.session_file import SessionFile

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

WRITER = r"""
import os, signal, sys
from inspect_tui.store import journal, session_file
from inspect_tui.store.session_file import SessionFile

path, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
pad = "记" * (20_000 if mode == "large" else 100)

def kill_self(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)

if mode in ("compact", "kill-before-replace", "kill-after-replace"):
    session_file.COMPACT_FACTOR = 0   # compact on every open and close
    session_file.COMPACT_MIN_LINES = 0

if mode in ("kill-before-replace", "kill-after-replace"):
    sf = SessionFile.open(path, drop_torn=True)
    for i in range(5):
        sf.put({"id": f"{tag}-{i}", "n": 0, "pad": pad}); print(f"{tag}-{i} 0", flush=True)
    if mode == "kill-before-replace":
        os.replace = kill_self
    else:
        journal.fsync_dir = kill_self
    sf.close()
elif mode == "compact":
    n = 0
    while True:
        with SessionFile.open(path, drop_torn=True) as sf:
            for i in range(10):
                n += 1
                rid = f"{tag}-{n % 15}"          # mostly updates, so compaction has work to drop
                sf.put({"id": rid, "n": n, "pad": pad}); print(rid, n, flush=True)
else:
    with SessionFile.open(path, drop_torn=True) as sf:  # the writer after a crash here: it recovers
        n = 0
        while True:
            n += 1
            rid = f"{tag}-{n}"
            sf.put({"id": rid, "n": n, "pad": pad}); print(rid, n, flush=True)
"""


def start(path: Path, mode: str, tag: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), mode, tag], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})


def acknowledged(proc: subprocess.Popen, first: bytes = b"") -> dict[str, int]:
    out = first + proc.stdout.read()
    proc.wait(timeout=30)
    err = proc.stderr.read()
    acked: dict[str, int] = {}
    for line in out.decode().split("\n")[:-1]:  # a line without its newline was never fully printed
        rid, n = line.split()
        acked[rid] = max(acked.get(rid, 0), int(n))
    assert b"Traceback" not in err, err.decode()
    return acked


def check(path: Path, acked: dict[str, int], where: str = "") -> None:
    with SessionFile.open(path, readonly=True) as sf:
        for rid, n in acked.items():
            doc = sf.get(rid)
            assert doc is not None, f"acknowledged {rid} lost {where}"
            assert doc["n"] >= n, f"{rid}: acknowledged version {n}, file has {doc['n']} {where}"


#: Fixed, so a failure can be replayed: ``CRASH_SEED=N pytest tests/test_store_crash.py`` runs seed N
#: instead. The seed fixes every choice (when to kill, how long to wait); where exactly in the writer's
#: work the signal lands still depends on the machine's speed.
SEEDS = [int(os.environ["CRASH_SEED"])] if os.environ.get("CRASH_SEED") else [20261130]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_kills_lose_no_acknowledged_save(tmp_path: Path, seed: int) -> None:
    print(f"CRASH_SEED={seed}")  # pytest shows it beside a failure
    rng = random.Random(seed)
    path = tmp_path / "crash.session"
    SessionFile.create(path, {"t": "crash"}).close()
    acked: dict[str, int] = {}
    modes = ["small", "large", "compact"] * 3
    for rnd, mode in enumerate(modes):
        proc = start(path, mode, f"{mode}{rnd}")
        # mostly wait for the first save; sometimes kill during start-up (open, replay, compaction)
        first = proc.stdout.readline() if rng.random() < 0.8 else b""
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        got = acknowledged(proc, first)
        acked.update(got)
        check(path, acked, f"(round {rnd}, {mode}, CRASH_SEED={seed})")
    assert len(acked) > 20, f"the writers saved almost nothing: is the machine overloaded? (CRASH_SEED={seed})"
    # and the file is still good for writing after all that (a plain open refuses a torn tail: it
    # cannot tell a crash from a copy cut short; this writer knows it follows a crash)
    with SessionFile.open(path, drop_torn=True) as sf:
        sf.put({"id": "after", "n": 1})
    check(path, {**acked, "after": 1}, f"(CRASH_SEED={seed})")


@pytest.mark.parametrize("mode", ["kill-before-replace", "kill-after-replace"])
def test_kill_inside_compaction(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "c.session"
    SessionFile.create(path, {"t": "compact"}).close()
    proc = start(path, mode, "k")
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    acked = acknowledged(proc)
    assert len(acked) == 5
    check(path, acked)
    with SessionFile.open(path) as sf:  # a writable open cleans up the half-done temp file
        assert len(sf) == 5
    assert not list(tmp_path.glob(".*.tmp-*"))
