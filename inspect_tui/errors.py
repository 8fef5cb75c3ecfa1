"""Errors that are the user's to fix, as opposed to bugs.

Every file the tool reads can be wrong. Those mistakes must reach the user as a plain message that
names the file and the place — never as a traceback — so the CLI catches exactly this family and
prints it, and lets everything else (our bugs) surface loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one place in one file; printed as ``FILE:LINE:COL: message``."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class UserError(Exception):
    """A mistake in the user's input; ``problems`` lists every one found, ``hint`` says what to do."""

    def __init__(self, message: str, *, problems: list[Problem] | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        self.hint = hint

    def render(self) -> str:
        lines = [str(p) for p in self.problems]
        if not lines or self.message not in lines:
            lines.insert(0, self.message)
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


def file_error(path: str | Path, message: str, *, line: int | None = None, column: int | None = None,
               hint: str = "") -> UserError:
    """A ``UserError`` about a single place in one file."""
    problem = Problem(str(path), message, line, column)
    return UserError(str(problem), problems=[problem], hint=hint)
