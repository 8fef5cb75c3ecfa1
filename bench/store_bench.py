"""Durable-save latency of the session store against stock TinyDB, side by side.

    python bench/store_bench.py            # 1k / 5k / 20k records (about a minute)
    python bench/store_bench.py --quick    # smoke run: 1k / 5k, few iterations

For each size N the session already holds N realistic record docs (~400 bytes of JSON each); we
time ``put`` of one new record — including its fsync — and report the median. The baseline is stock
TinyDB ``JSONStorage``: ``db.insert`` into a file database already holding N docs. Stock TinyDB
rewrites the whole file per insert but does NOT fsync, so its figures are flattered: a durable
stock save would cost an fsync of the whole file on top. We also time opening (replaying) a 20k
session (25k), both freshly compacted and as a journal grown by 25k single appends.

Files go to a temporary folder next to this script (the same disk as the project: /tmp may be a
RAM disk where fsync costs nothing); pass ``--dir`` to measure elsewhere.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinydb import TinyDB  # noqa: E402

from inspect_tui.store.lines import Chain, encode_line  # noqa: E402
from inspect_tui.store.session_file import FORMAT, FORMAT_VERSION, SessionFile  # noqa: E402

META = {"group": "第一观摩组", "inspector": "张三", "day": "2026-11-22", "checklist": {"id": "std", "version": "1"}}


def record(i: int) -> dict:
    """A record doc about the size and shape the app writes (~400 bytes of JSON)."""
    return {
        "id": f"rec-{i:08d}",
        "versions": [{
            "v": f"v-{i:08d}-01", "kind": "finding", "author": "张三", "by": "张三", "replica": "r1",
            "at": "2026-11-22T09:30:00+08:00",
            "data": {"branch": f"br-{i % 40:04d}", "item": f"i{i % 25}", "step": "check",
                     "text": "会议记录不完整，缺少两次支委会的签到表，需补齐并由支部书记签字确认。",
                     "score": i % 7, "photos": []},
        }],
    }


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def time_saves(save, n: int, iters: int) -> float:
    """Median time of ``save(doc)`` for ``iters`` new records, after the first ``n``."""
    samples = []
    for k in range(iters):
        doc = record(n + k)
        t0 = time.perf_counter()
        save(doc)
        samples.append(time.perf_counter() - t0)
    return median_ms(samples)


def bench_ours(folder: Path, n: int, iters: int) -> float:
    with SessionFile.create(folder / f"ours-{n}.session", META, (record(i) for i in range(n))) as sf:
        return time_saves(sf.put, n, iters)


def bench_stock(folder: Path, n: int, iters: int) -> float:
    db = TinyDB(folder / f"stock-{n}.json")
    try:
        db.insert_multiple(record(i) for i in range(n))
        return time_saves(db.insert, n, iters)
    finally:
        db.close()


def bench_open(path: Path, repeat: int = 3) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sf = SessionFile.open(path)
        samples.append(time.perf_counter() - t0)
        sf.close()
    return median_ms(samples)


def grown_journal(folder: Path, n: int) -> Path:
    """A session grown by n single-record appends, as a day of saving leaves it (before compaction)."""
    path = folder / f"grown-{n}.session"
    header = {"format": FORMAT, "version": FORMAT_VERSION, "id": "be4c4b3e4c40", "created": "2026-11-22T08:00:00"}
    first = encode_line(header)
    chain = Chain.after_header(header, first)
    with open(path, "wb") as f:
        f.write(first)
        f.write(chain.encode({"t": "meta", "set": {"1": META}}))
        for i in range(n):
            f.write(chain.encode({"t": "records", "set": {str(i + 1): record(i)}}))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run")
    ap.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent,
                    help="where to put the temporary files (default: next to this script)")
    args = ap.parse_args()

    if args.quick:
        plan = [(1000, 20, 3), (5000, 20, 2)]
        open_n = 5000
    else:  # (records, iterations ours, iterations stock)
        plan = [(1000, 300, 40), (5000, 300, 12), (20000, 300, 5)]
        open_n = 25000
    folder = Path(tempfile.mkdtemp(prefix=".store-bench-", dir=args.dir))
    size = len(json.dumps(record(1), ensure_ascii=False).encode())
    try:
        rows = []
        for n, it_ours, it_stock in plan:
            ours = bench_ours(folder, n, it_ours)
            stock = bench_stock(folder, n, it_stock)
            rows.append((n, ours, it_ours, stock, it_stock))
            print(f"  {n} records done", file=sys.stderr)
        SessionFile.create(folder / f"open-{open_n}.session", META, (record(i) for i in range(open_n))).close()
        open_compact = bench_open(folder / f"open-{open_n}.session")
        open_grown = bench_open(grown_journal(folder, open_n))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"Durable save of one record (~{size} B of JSON), median; Python {sys.version.split()[0]}\n")
    print("| records in session | inspect-tui store (append + fsync) | stock TinyDB JSONStorage (no fsync) "
          "| speed-up |")
    print("|---:|---:|---:|---:|")
    for n, ours, it_ours, stock, it_stock in rows:
        print(f"| {n:,} | {ours:.2f} ms (n={it_ours}) | {stock:.1f} ms (n={it_stock}) | {stock / ours:.0f}× |")
    print(f"\nOpen (lock + replay) a {open_n:,}-record session: {open_compact:.0f} ms compacted, "
          f"{open_grown:.0f} ms as a journal of {open_n:,} appends.")
    print("Stock TinyDB does not fsync, so its column is flattered; with an fsync of the whole file "
          "per insert it would be slower still.")


if __name__ == "__main__":
    main()
