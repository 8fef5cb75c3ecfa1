"""One row of the branches list: the figures it shows for a branch, and nothing else.

The list shows the same few values wherever they come from — a ``BranchResult`` scored from the
records, or the stored summary of a session file (``store.branch_table``) that lets a large session
show its list before all of it is read. Both go through this type, so the two cannot show a branch
differently. It is plain data (no checklist, no pydantic): the summary is read before either is
imported.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

from inspect_tui.core.steps import STEPS

if TYPE_CHECKING:
    from inspect_tui.core.scoring import BranchResult


@dataclass(frozen=True)
class BranchRow:
    id: str
    name: str
    steps: tuple[bool, ...]  # each step of ``STEPS`` done
    problems: int  # folded: the same problem from several inspectors counts once
    total: float
    scored: int  # items with a value (none: no total or rating shown yet)
    rating: str
    open_points: int | None  # the leader's merged view: unsettled items plus edit conflicts; else None

    @classmethod
    def of(cls, result: BranchResult, open_points: int | None = None) -> BranchRow:
        return cls(id=result.branch, name=result.name, steps=tuple(result.steps_done[s] for s in STEPS),
                   problems=result.problems, total=result.total, scored=result.scored_items,
                   rating=result.rating_label, open_points=open_points)

    def to_json(self) -> list[Any]:
        return list(astuple(self))

    @classmethod
    def from_json(cls, data: list[Any]) -> BranchRow:
        """A row as ``to_json`` wrote it; ``ValueError`` for anything of another shape."""
        if not isinstance(data, list) or len(data) != 8:
            raise ValueError("not a branch row")
        rid, name, steps, problems, total, scored, rating, open_points = data
        if not (isinstance(rid, str) and isinstance(name, str) and isinstance(rating, str)
                and isinstance(steps, list) and len(steps) == len(STEPS) and all(isinstance(s, bool) for s in steps)
                and type(problems) is int and type(scored) is int and isinstance(total, int | float)
                and (open_points is None or type(open_points) is int)):
            raise ValueError("not a branch row")
        return cls(rid, name, tuple(steps), problems, float(total), scored, rating, open_points)
