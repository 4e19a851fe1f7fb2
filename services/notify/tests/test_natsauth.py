"""Department NATS users from the directory (the permissions themselves are exercised against a
real nats-server in test_deptstream.py)."""

from __future__ import annotations

import json
from pathlib import Path

import nats
from ducha.contracts import registry
from ducha.contracts.intake import HelperDepartmentRegistered
from ducha.kernel.commands import CommandRunner
from ducha.kernel.eventstore import EventStore, ensure_streams
from ducha.kernel.natsserver import NatsServer
from ducha_notify.natsauth import department_permissions, generate

from .conftest import make_emit, seed_directory  # type: ignore[import-not-found]


async def test_one_user_per_unit_and_helper_department_with_stable_passwords(
        nats_server: NatsServer, tmp_path: Path) -> None:
    nc = await nats.connect(nats_server.url)
    await ensure_streams(nc.jetstream())
    emit = make_emit(CommandRunner(EventStore(nc, registry)))
    await seed_directory(emit)
    await emit(HelperDepartmentRegistered(name="市住建局"), "H1", None)
    await nc.close()
    conf, creds_file = tmp_path / "auth.conf", tmp_path / "creds.json"
    depts = await generate(nats_server.url, conf, creds_file)
    assert [d.user for d in depts] == ["unit-U1", "unit-U2", "helper-H1"]
    again = await generate(nats_server.url, conf, creds_file)
    assert [d.password for d in again] == [d.password for d in depts]
    creds = json.loads(creds_file.read_text())
    h1 = next(d for d in creds["departments"] if d["user"] == "helper-H1")
    assert h1["stream"] == "DUCHA_DEPT" and h1["subject"] == "ducha.dept.H1.>"
    assert h1["consumers"] == ["dept-H1-1", "dept-H1-2"] and h1["inbox_prefix"] == "_INBOX_H1"
    assert oct(creds_file.stat().st_mode & 0o777) == "0o600"
    text = conf.read_text()
    assert "DUCHA_EVENTS.>" in text and "ducha.ev.*" not in text


def test_department_permissions_name_only_its_own_consumers() -> None:
    perms = department_permissions("U1")
    allow = perms["publish"]["allow"]
    assert all(".dept-U1-" in s for s in allow), allow
    assert not any("CREATE" in s or "DELETE" in s or "DUCHA_EVENTS" in s for s in allow)
    assert perms["subscribe"]["allow"] == ["_INBOX_U1.>"]
