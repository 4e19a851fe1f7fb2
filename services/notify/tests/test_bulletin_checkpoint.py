"""Each published bulletin prints the audit checkpoint latest at its publication, so whoever holds
the bulletin can compare it with the log (docs/audit.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ducha.audit import checkpoint_until_current
from ducha.audit.chain import AuditKey
from ducha.contracts.verification import Effectiveness, RectificationVerified
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.bulletins.render import docx_text

from .conftest import OFFICE, fast_settings, issue, make_emit, seed_directory  # type: ignore[import-not-found]


async def test_a_published_bulletin_prints_the_latest_checkpoint_hash(nats_server: NatsServer, tmp_path: Path,
                                                                     keys: Any) -> None:
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await emit(issue("招商项目落地慢"), "P1", "U1")
        await emit(RectificationVerified(submission_no=1, effectiveness=Effectiveness.GOOD, assessment="建立专班"),
                   "P1", "U1")
        draft = (await svc.client.post("/v1/bulletins", json={"round_id": "R2"}, headers=svc.headers(OFFICE))).json()
        checkpoint = (await checkpoint_until_current(svc.kernel.store, key=AuditKey(b"k" * 32)))[-1]
        pub = await svc.client.post(f"/v1/bulletins/{draft['bulletin_id']}/publish", headers=svc.headers(OFFICE))
        assert pub.status_code == 200, pub.text
        line = f"审计检查点：截至第{checkpoint.up_to_sequence}条记录，检查点哈希 {checkpoint.chain_hash}"
        seq = pub.json()["sequence"]
        page = await svc.client.get(f"/v1/public/bulletins/{draft['bulletin_id']}?min_sequence={seq}")
        assert line in page.text
        docx = (await svc.client.get(f"/v1/public/bulletins/{draft['bulletin_id']}/docx")).content
        assert line in docx_text(docx)
