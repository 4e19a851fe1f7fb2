"""`ducha-subscriber`: follow a department's part of DUCHA_DEPT into its own database and/or HTTP endpoint.

    ducha-subscriber run --creds unit.creds --server nats://ducha.example:4222 \
        --mirror postgresql://ducha@db/dept [--forward https://oa.example/ducha --forward-secret ...]
    ducha-subscriber status --creds unit.creds --server nats://... [--mirror ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import nats

from .app import Follower, build
from .credentials import Credentials, load
from .forward import ForwardSink
from .mirror import MirrorSink, engine_for
from .settings import EnvDefaults

log = logging.getLogger("ducha_subscriber")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ducha-subscriber", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    env = EnvDefaults.from_environment()
    for name, help_ in (("run", "follow the stream (until stopped)"), ("status", "how current the consumer and the mirror are")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--creds", type=Path, required=True, help="the department's credentials file from Ducha")
        p.add_argument("--department", help="which department, if the file holds several")
        p.add_argument("--server", default=env.server)
        p.add_argument("--consumer", help="which of the department's consumers (default: the first)")
        p.add_argument("--mirror", default=env.mirror,
                       help="database URL (sqlite:///dept.db, postgresql://user@host/db)")
    run = sub.choices["run"]
    run.add_argument("--forward", default=env.forward, help="HTTP endpoint to POST each event to")
    run.add_argument("--forward-secret", default=env.forward_secret,
                     help="HMAC key of X-Ducha-Signature (or DUCHA_FORWARD_SECRET)")
    run.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines")
    run.add_argument("--accept-gap", action="store_true",
                     help="start although the consumer acknowledged more than the mirror holds (see the guide)")
    sub.choices["status"].add_argument("--json", action="store_true", help="machine-readable output")
    return parser


async def _consumer_info(creds: Credentials, server: str, durable: str) -> Any:
    nc = await nats.connect(server, user=creds.user, password=creds.password, inbox_prefix=creds.inbox_prefix,
                            allow_reconnect=False, connect_timeout=10)
    try:
        return await nc.jetstream(timeout=10).consumer_info(creds.stream, durable)
    finally:
        await nc.close()


def gap_message(creds: Credentials, durable: str, mirrored: int, info: Any) -> str | None:
    """The consumer acknowledged events this mirror does not hold (a database restored from a
    backup, or a new database on a used consumer): following on would leave a hole."""
    acked = int(info.ack_floor.stream_seq if info.ack_floor else 0)
    if acked <= mirrored:
        return None
    return (f"consumer {durable} has acknowledged DUCHA_DEPT up to {acked}, but the mirror holds only up to {mirrored}. "
            f"Ask Ducha to move the consumer back: POST /v1/departments/{creds.department}/consumers/{durable}/reset "
            f'{{"from_sequence": {mirrored + 1}}} (notify), then run again (or --accept-gap to continue with the hole).')


async def progress(follower: Follower, js: Any, creds: Credentials, durable: str, every: float, out: TextIO) -> None:
    """A line every `every` seconds while catching up, one when current, one when behind again."""
    current = False
    last_count, last_time = follower.processed, time.monotonic()
    while True:
        await asyncio.sleep(every)
        try:
            info = await js.consumer_info(creds.stream, durable)
        except (nats.errors.Error, OSError, TimeoutError) as exc:  # NATS away: the follower reconnects, so do we
            print(f"progress: consumer info unavailable ({exc})", file=out, flush=True)
            continue
        pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        now = time.monotonic()
        rate = (follower.processed - last_count) / max(now - last_time, 1e-6)
        last_count, last_time = follower.processed, now
        if pending:
            current = False
            print(f"catching up: {follower.processed} events handled, {pending} pending, {rate:.0f}/s, "
                  f"at DUCHA_DEPT sequence {follower.last_sequence}", file=out, flush=True)
        elif not current:
            current = True
            print(f"current: {follower.processed} events handled, at DUCHA_DEPT sequence {follower.last_sequence}",
                  file=out, flush=True)


async def run(args: argparse.Namespace, out: TextIO = sys.stderr) -> int:
    creds = load(args.creds, args.department)
    durable = creds.consumer(args.consumer)
    mirror = None
    if args.mirror:
        mirror = MirrorSink(engine_for(args.mirror), durable, creds.department)
        await asyncio.to_thread(mirror.create)
    forward = None
    if args.forward:
        if not args.forward_secret:
            print("error: --forward needs --forward-secret (or DUCHA_FORWARD_SECRET)", file=out)
            return 2
        forward = ForwardSink(args.forward, args.forward_secret, creds.department)
    if mirror is None and forward is None:
        print("error: give --mirror and/or --forward", file=out)
        return 2
    if mirror is not None and not args.accept_gap:
        info = await _consumer_info(creds, args.server, durable)
        gap = gap_message(creds, durable, mirror.position().last_sequence, info)
        if gap:
            print(f"error: {gap}", file=out)
            return 4
    follower = Follower(creds.department, mirror=mirror, forward=forward)
    app, broker = build(creds, args.server, follower, consumer=durable)
    ticker: asyncio.Task[None] | None = None

    @app.after_startup
    async def _started() -> None:
        nonlocal ticker
        print(f"following {creds.stream} as {creds.user} (consumer {durable}) from {args.server}", file=out, flush=True)
        ticker = asyncio.create_task(progress(follower, broker.connection.jetstream(timeout=10), creds, durable,
                                              args.progress_every, out))

    @app.on_shutdown
    async def _stopping() -> None:
        if ticker is not None:
            ticker.cancel()

    await app.run(log_level=logging.WARNING)
    if follower.failure is not None:
        print(f"stopped: {follower.failure}", file=out)
        return 3
    return 0


async def status(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    creds = load(args.creds, args.department)
    durable = creds.consumer(args.consumer)
    info = await _consumer_info(creds, args.server, durable)
    report: dict[str, Any] = {
        "department": creds.department, "stream": creds.stream, "consumer": durable,
        "pending": int(info.num_pending or 0), "unacknowledged": int(info.num_ack_pending or 0),
        "acknowledged_through": int(info.ack_floor.stream_seq if info.ack_floor else 0),
    }
    if args.mirror:
        position = MirrorSink(engine_for(args.mirror), durable, creds.department).position()
        report["mirror_sequence"] = position.last_sequence
        report["mirror_last_event_at"] = position.last_occurred_at.isoformat() if position.last_occurred_at else None
        report["mirror_updated_at"] = position.updated_at.isoformat() if position.updated_at else None
        report["gap"] = gap_message(creds, durable, position.last_sequence, info)
    report["current"] = report["pending"] == 0 and report["unacknowledged"] == 0 and not report.get("gap")
    if args.json:
        print(json.dumps(report, ensure_ascii=False), file=out)
    else:
        for key, value in report.items():
            print(f"{key:24} {value}", file=out)
    return 0 if report["current"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(args) if args.command == "run" else status(args))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
