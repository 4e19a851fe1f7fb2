"""The credentials Ducha generates for a department (`python -m ducha_notify.natsauth`): its NATS
user, password, inbox prefix, stream, subject and system-made consumers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: str
    department: str
    name: str
    inbox_prefix: str
    stream: str
    subject: str
    consumers: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        try:
            return cls(user=data["user"], password=data["password"], department=data["unit_id"],
                       name=data.get("name", ""), inbox_prefix=data["inbox_prefix"], stream=data["stream"],
                       subject=data["subject"], consumers=tuple(data["consumers"]))
        except KeyError as exc:
            raise ValueError(f"credentials lack {exc.args[0]!r}") from None

    def consumer(self, name: str | None = None) -> str:
        if name is None:
            return self.consumers[0]
        if name not in self.consumers:
            raise ValueError(f"{name!r} is not one of this department's consumers {list(self.consumers)}")
        return name


def load(path: Path, department: str | None = None) -> Credentials:
    """One department's entry (`<department>.creds`), or the whole file `natsauth` wrote with
    `department` naming the entry."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if "departments" in data:
        entries = {d["unit_id"]: d for d in data["departments"]}
        if department is None:
            if len(entries) != 1:
                raise ValueError(f"{path} holds {len(entries)} departments: name one with --department")
            department = next(iter(entries))
        if department not in entries:
            raise ValueError(f"{path} holds no department {department!r}")
        data = entries[department]
    creds = Credentials.from_dict(data)
    if department is not None and creds.department != department:
        raise ValueError(f"{path} is the credentials of {creds.department!r}, not {department!r}")
    return creds
