"""Session metadata: which visit, which checklist, whose copy.

``visit_id``, ``group``, ``date`` and the checklist reference are shared by every copy of a visit
plan; ``inspector`` and ``replica`` are local to one copy (one laptop) and never merged.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.versions import now_iso
from inspect_tui.errors import UserError, first_error

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
#: Control characters (line breaks and tabs included: a name is one line) and invisible format
#: characters (zero-width, bidi overrides — "\u202e" would make a PDF's file name read backwards).
_CONTROL = re.compile("[\x00-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def has_control_chars(*texts: str) -> bool:
    return any(_CONTROL.search(text) for text in texts)


def refuse_control_chars(*texts: str) -> None:
    """Names typed or imported for a new visit must be printable: a NUL or another control
    character would travel into file names, PDFs and other programs. Checked when a visit is
    created, not when a file is read, so an old file with such a name still opens."""
    for text in texts:
        if _CONTROL.search(text):
            raise ValueError(f"“{_CONTROL.sub('�', text)[:40]}”含有控制字符或不可见字符（如 NUL、换行、制表符、"
                             "从右到左覆盖），请删去后重试")


class ChecklistRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    version: str
    hash: str

    @classmethod
    def of(cls, checklist: Checklist) -> ChecklistRef:
        return cls(id=checklist.id, version=checklist.version, hash=checklist.content_hash())


class SessionMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    visit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    group: Name
    date: date
    checklist: ChecklistRef
    inspectors: tuple[str, ...] = ()
    inspector: Name
    replica: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    role: Literal["inspector", "leader"] = "inspector"
    report_limit_minutes: int = Field(15, ge=1, le=240)
    created_at: str = Field(default_factory=now_iso)
    checklist_content: dict[str, Any] | None = Field(
        None, description="the checklist itself, so a session opens on a laptop that lacks its file")

    def for_inspector(self, inspector: str, role: Literal["inspector", "leader"] = "inspector") -> SessionMeta:
        """The same visit handed to another person: a new replica, their name."""
        names = self.inspectors if inspector in self.inspectors else (*self.inspectors, inspector)
        try:  # validated, not copied: a name typed for a hand-out obeys the same rules as at creation
            refuse_control_chars(inspector)
            return SessionMeta.model_validate({**self.model_dump(), "inspector": inspector, "role": role,
                                               "inspectors": names, "replica": uuid.uuid4().hex[:12],
                                               "created_at": now_iso()})
        except ValidationError as exc:
            raise UserError(first_error(exc)) from None
        except ValueError as exc:
            raise UserError(str(exc)) from None
