"""Generate the public contracts package's event classes (`contracts/ducha_contracts/events.py`)
from Ducha's own contracts and the disclosure policy, so what departments install cannot drift
from what notify sends:

    python -m ducha.contracts.publicgen > contracts/ducha_contracts/events.py

(`shared/tests/test_public_contracts.py` fails when the file is out of date.) Only the event types
the policy can disclose to a department are included; a payload field the policy may redact
becomes optional (it is then absent). Upcasters are not generated: a department-visible event
whose `schema_version` grows needs a hand-written upcaster in `ducha_contracts/upcasters.py`
(the test checks one exists for every internal one).
"""

from __future__ import annotations

import dataclasses
import sys
import types
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..disclosure import PROBLEM_EVENTS, ProblemFacts, Stage, Viewer, decide
from . import registry
from .base import Role

_STAGES = (Stage.FED_BACK, Stage.RECTIFYING, Stage.WRITTEN_OFF, Stage.WITHDRAWN)
_VIEWERS = (Viewer(Role.UNIT, unit_id="U1"), Viewer(Role.HELPER, unit_id="H1"))
_PAYLOADS: tuple[dict[str, Any] | None, ...] = (None, {"kind": "unannounced_visit"})


def _decisions(event_type: str) -> list[Any]:
    """The policy's answers for a department over every kind of problem it could concern."""
    out = []
    for viewer in _VIEWERS:
        for stage in _STAGES:
            for unannounced in (False, True):
                facts = ProblemFacts("P1", "U1", "T1", stage=stage, fed_back=True, unannounced=unannounced,
                                     helpers={"H1": 1})
                for payload in _PAYLOADS:
                    out.append(decide(viewer, event_type, facts if event_type in PROBLEM_EVENTS else None,
                                      event_unit="U1", sequence=2, payload=payload))
    return out


def department_events() -> dict[str, set[str]]:
    """Event types a department may receive -> payload fields the policy may remove from them."""
    out: dict[str, set[str]] = {}
    for event_type in registry.types():
        decisions = [d for d in _decisions(event_type) if d.visible]
        if decisions:
            out[event_type] = {p.removeprefix("payload.") for d in decisions for p in d.redact if p.startswith("payload.")}
    return out


class _Writer:
    def __init__(self) -> None:
        self.enums: dict[str, type[Enum]] = {}
        self.models: dict[str, str] = {}
        self.imports: set[tuple[str, str]] = set()

    def ann(self, tp: Any) -> str:
        if tp is type(None):
            return "None"
        if tp is Ellipsis:
            return "..."
        origin = get_origin(tp)
        if origin is Annotated:
            base, *meta = get_args(tp)
            return f"Annotated[{self.ann(base)}, {', '.join(self.meta(m) for m in meta)}]"
        if origin in (Union, types.UnionType):
            return " | ".join(self.ann(a) for a in get_args(tp))
        if origin is Literal:
            return f"Literal[{', '.join(repr(a) for a in get_args(tp))}]"
        if origin in (tuple, list, dict, frozenset, set):
            return f"{origin.__name__}[{', '.join(self.ann(a) for a in get_args(tp))}]"
        if tp is Role:
            return "Role"  # the envelope's
        if isinstance(tp, type) and issubclass(tp, Enum):
            self.enums[tp.__name__] = tp
            return tp.__name__
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp.__name__ not in self.models:
                self.models[tp.__name__] = ""  # placeholder against recursion
                self.models[tp.__name__] = self.model(tp, "PublicModel", set())
            return tp.__name__
        if tp in (str, int, bool, float):
            return str(tp.__name__)
        if tp in (date, datetime):
            self.imports.add(("datetime", tp.__name__))
            return str(tp.__name__)
        if tp is UUID:
            self.imports.add(("uuid", "UUID"))
            return "UUID"
        raise TypeError(f"publicgen cannot render the type {tp!r}")

    def meta(self, m: Any) -> str:
        self.imports.add((type(m).__module__.replace("pydantic.types", "pydantic"), type(m).__name__))
        if dataclasses.is_dataclass(m):  # only what is set: older pydantic lacks newer parameters
            set_ = [f"{f.name}={getattr(m, f.name)!r}" for f in dataclasses.fields(m)
                    if getattr(m, f.name) != f.default]
            return f"{type(m).__name__}({', '.join(set_)})"
        return str(repr(m))

    def value(self, v: Any) -> str:
        if isinstance(v, Enum):
            self.enums[type(v).__name__] = type(v)
            return f"{type(v).__name__}.{v.name}"
        return str(repr(v))

    def field(self, name: str, info: FieldInfo, optional: bool) -> str:
        tp: Any = info.annotation
        if info.metadata:
            tp = Annotated[(tp, *info.metadata)]
        text = self.ann(tp)
        args: list[str] = []
        if optional:
            if "None" not in text.split(" | "):
                text += " | None"
            args.append("default=None")
        elif info.default_factory is not None:
            args.append(f"default_factory={getattr(info.default_factory, '__name__', '')}")
        elif not info.is_required():
            args.append(f"default={self.value(info.default)}")
        if info.description:
            args.append(f"description={info.description!r}")
        if not args:
            return f"    {name}: {text}"
        if args == ["default=None"] or (len(args) == 1 and args[0].startswith("default=")):
            return f"    {name}: {text} = {args[0].removeprefix('default=')}"
        return f"    {name}: {text} = Field({', '.join(args)})"

    def model(self, cls: type[BaseModel], base: str, optional: set[str], *, event: bool = False) -> str:
        lines = [f"class {cls.__name__}({base}):"]
        doc = " ".join((cls.__doc__ or "").split())
        if doc and cls.__doc__ != BaseModel.__doc__:
            lines.append(f"    {doc!r}" if '"""' in doc else f'    """{doc}"""')
            lines.append("")
        if event:
            for attr in ("event_type", "schema_version", "context", "aggregate_type", "label_zh"):
                lines.append(f"    {attr} = {getattr(cls, attr)!r}")
        for name, info in cls.model_fields.items():
            lines.append(self.field(name, info, name in optional))
        if len(lines) == 1:
            lines.append("    pass")
        return "\n".join(lines)


HEADER = '''"""The events a department may receive on its part of DUCHA_DEPT: generated from Ducha's contracts
and disclosure policy by `python -m ducha.contracts.publicgen`; do not edit. Fields the policy may
redact are optional here (absent when `redacted` names them)."""

# fmt: off
from __future__ import annotations

from typing import Annotated, Literal  # noqa: F401

from pydantic import Field  # noqa: F401

'''


def render() -> str:
    w = _Writer()
    visible = department_events()
    classes = []
    for event_type in sorted(visible, key=lambda t: (registry.get(t).context, t)):
        cls = registry.get(event_type)
        classes.append("@registry.register\n" + w.model(cls, "PublicEvent", visible[event_type], event=True))
    imports = w.imports | {("enum", "StrEnum"), ("ducha_contracts.envelope", "PublicEvent"), ("ducha_contracts.envelope", "Role"),
                           ("ducha_contracts.envelope", "PublicModel"), ("ducha_contracts.envelope", "registry")}
    out = [HEADER]
    for module in sorted({m for m, _ in imports}):
        names = ", ".join(sorted(n for m, n in imports if m == module))
        out.append(f"from {module} import {names}  # noqa: F401")
    out.append("")
    for name, enum in sorted(w.enums.items()):
        body = "\n".join(f"    {m.name} = {m.value!r}" for m in enum)
        out.append(f"\nclass {name}(StrEnum):\n{body}\n")
    for text in w.models.values():
        out.append(f"\n{text}\n")
    for text in classes:
        out.append(f"\n{text}\n")
    out.append("\nDEPARTMENT_EVENTS: tuple[str, ...] = (\n"
               + "".join(f"    {t!r},\n" for t in sorted(visible)) + ")\n")
    out.append("REDACTABLE: dict[str, tuple[str, ...]] = {\n"
               + "".join(f"    {t!r}: {tuple(sorted(f))!r},\n" for t, f in sorted(visible.items()) if f) + "}\n")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
