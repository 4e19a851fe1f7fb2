"""Generate docs/events.md from the registry, so the event reference cannot drift from the code:
`python -m ducha.contracts.docgen > docs/events.md` (a test checks the file is current)."""

from __future__ import annotations

import sys
from typing import Any

from . import registry
from .base import EnvelopeHeader

INTRO = """# Events

Generated from the contracts in `shared/ducha/contracts/` by
`python -m ducha.contracts.docgen > docs/events.md`; `shared/tests/test_docs.py` fails when this file
is out of date. Every event is stored as an envelope (below) around its payload, on the subject
`ducha.ev.<context>.<unit>.<aggregate_type>.<aggregate_id>.<EventType>`. Payloads are versioned:
an older stored shape is upcast when read, never rewritten.
"""


def _schema_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        if "enum" in target:
            return " / ".join(f"`{v}`" for v in target["enum"])
        return str(name)
    if "anyOf" in prop:
        return " or ".join(_schema_type(p, defs) for p in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_schema_type(prop.get('items', {}), defs)}"
    if kind == "string" and "format" in prop:
        return str(prop["format"])
    if kind == "string" and "pattern" in prop:
        return "id"
    return str(kind)


def _table(model: Any) -> list[str]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        default = f"no (default `{prop['default']!r}`)" if "default" in prop else "no"
        req = "yes" if name in required else default
        desc = (prop.get("description") or "").replace("|", "/")
        rows.append(f"| `{name}` | {_schema_type(prop, defs)} | {req} | {desc} |")
    return rows


def render() -> str:
    out = [INTRO, "## Envelope", "", *_table(EnvelopeHeader)]
    out.append("| `payload` | object | yes | the event's fields below |")
    by_context: dict[str, list[Any]] = {}
    for cls in registry.types().values():
        by_context.setdefault(cls.context, []).append(cls)
    for context in sorted(by_context):
        out += ["", f"## Context `{context}`"]
        for cls in sorted(by_context[context], key=lambda c: c.event_type):
            doc = " ".join((cls.__doc__ or "").split())
            out += [
                "",
                f"### {cls.event_type} (v{cls.schema_version})",
                "",
                f"Aggregate `{cls.aggregate_type}`. {doc}".rstrip(),
                "",
                *_table(cls),
            ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
