"""Per-module table of the last mutation run, for docs/testing.md.

mutmut keeps one ``<module>.py.meta`` file per mutated module under ``mutants/``, mapping every
mutant to the exit code of its test run. mutmut has no notion of an equivalent mutant (one no test
can tell from the original), so those are listed with a reason in ``tests/mutation_equivalent.txt``
and counted apart: the kill rate is killed / (total - equivalent).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, -24, 24, 152, 255}
NOT_RUN = {None, 2, 34}


def load_equivalent(path: Path) -> dict[str, str]:
    """Mutant name → why it is equivalent; blank lines and ``#`` comments are skipped."""
    if not path.exists():
        return {}
    equivalent: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path}:{number}: {name} has no reason; write why no test can tell it apart")
        equivalent[name] = reason.strip()
    return equivalent


def classify(exit_code: int | None, name: str, equivalent: dict[str, str]) -> str:
    if exit_code in KILLED or exit_code in TIMEOUT:
        return "killed"
    if name in equivalent:
        return "equivalent"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in NO_TESTS:
        return "no tests"
    if exit_code in NOT_RUN:
        return "not run"
    return "suspicious"


def tally(mutants: Path, equivalent: dict[str, str]) -> tuple[dict[str, Counter[str]], dict[str, list[str]]]:
    counts: dict[str, Counter[str]] = {}
    survivors: dict[str, list[str]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        counter: Counter[str] = Counter()
        for name, code in codes.items():
            kind = classify(code, name, equivalent)
            counter[kind] += 1
            if kind in {"survived", "no tests", "suspicious"}:
                survivors.setdefault(module, []).append(name)
        counts[module] = counter
    return counts, survivors


def kill_rate(counter: Counter[str]) -> float | None:
    judged = sum(counter.values()) - counter["equivalent"] - counter["not run"]
    return counter["killed"] / judged if judged else None


def render(counts: dict[str, Counter[str]]) -> str:
    lines = [
        "| module | mutants | killed | survived | no tests | equivalent | not run | killed % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, c in counts.items():
        rate = kill_rate(c)
        shown = "—" if rate is None else f"{rate:.1%}"
        lines.append(
            f"| `{module}` | {sum(c.values())} | {c['killed']} | {c['survived']} | {c['no tests']} "
            f"| {c['equivalent']} | {c['not run']} | {shown} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--equivalent", type=Path, default=Path("tests/mutation_equivalent.txt"))
    parser.add_argument("--survivors", action="store_true", help="also list the surviving mutants")
    parser.add_argument("--target", type=float, default=0.90, help="exit 1 if a module is below this rate")
    args = parser.parse_args(argv)
    if not args.mutants.is_dir():
        print(f"{args.mutants}: no mutation run yet; run ./run mutate first", file=sys.stderr)
        return 2
    counts, survivors = tally(args.mutants, load_equivalent(args.equivalent))
    print(render(counts))
    if args.survivors:
        for module, names in survivors.items():
            print(f"\n{module}:")
            print("\n".join(f"  {name}" for name in names))
    below = [m for m, c in counts.items() if (rate := kill_rate(c)) is not None and rate < args.target]
    if below:
        print(f"\nbelow {args.target:.0%}: " + ", ".join(below), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
