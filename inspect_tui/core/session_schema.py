"""The published JSON Schema of a session's content, generated from the pydantic models.

The models in ``records`` and ``meta`` are the source of truth; ``inspect_tui/schemas/
session.schema.json`` is their published form for other tools (and for ``session check``). A test
regenerates it and fails if the committed file has drifted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.records import DATA_MODELS

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "session.schema.json"


def build_schema() -> dict[str, Any]:
    models = [(SessionMeta, "validation"), *((m, "validation") for m in DATA_MODELS.values())]
    refs, defs = models_json_schema(models, ref_template="#/$defs/{model}")
    by_kind = [
        {"if": {"properties": {"kind": {"const": kind.value}}},
         "then": {"properties": {"data": refs[(model, "validation")]}}}
        for kind, model in DATA_MODELS.items()
    ]
    version = {
        "type": "object",
        "required": ["kind", "data", "author", "by", "at", "vv", "deleted", "h"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": [k.value for k in DATA_MODELS]},
            "data": {"type": "object"},
            "author": {"type": "string", "minLength": 1, "description": "who created the record"},
            "by": {"type": "string", "minLength": 1, "description": "who made this version"},
            "at": {"type": "string", "description": "ISO 8601 time of this version"},
            "vv": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}, "minProperties": 1,
                   "description": "version vector: replica id -> edit counter"},
            "deleted": {"type": "boolean"},
            "h": {"type": "string", "pattern": "^[0-9a-f]{24}$", "description": "content hash of this version"},
        },
        "allOf": by_kind,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "inspect-tui/session.schema.json",
        "title": "inspect-tui session content",
        "description": "A session's meta, records (each the set of its maximal versions) and merge log.",
        "type": "object",
        "required": ["meta", "records", "log"],
        "additionalProperties": False,
        "properties": {
            "meta": refs[(SessionMeta, "validation")],
            "records": {"type": "array", "items": {
                "type": "object", "required": ["id", "versions"], "additionalProperties": False,
                "properties": {"id": {"type": "string", "minLength": 1},
                               "versions": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Version"}}}}},
            "log": {"type": "array", "items": {"type": "object"}},
        },
        "$defs": {**defs["$defs"], "Version": version},
    }


def schema_text() -> str:
    return json.dumps(build_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
