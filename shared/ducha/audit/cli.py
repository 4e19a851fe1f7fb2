"""`ducha audit ...`: verify, checkpoint, export, timeline, replay, as-of."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ..clisupport import CliError, connect, data_dir, nats_url

T = TypeVar("T")


def _nats_url(args: argparse.Namespace) -> str:
    return nats_url(args)


def _data_dir(args: argparse.Namespace) -> Path:
    return data_dir(args)


def _key(args: argparse.Namespace) -> Any:
    """The office's audit key: $DUCHA_AUDIT_KEY, else <data dir>/keys/audit.key (as the services)."""
    from .chain import AuditKey

    return AuditKey.load(data_dir(args) / "keys")


def _with_nats(args: argparse.Namespace, work: Callable[[Any], Awaitable[T]]) -> T:
    """Connect as `ducha run`'s services do (same settings), run `work(nc)`, close."""

    async def run() -> T:
        nc = await connect(_nats_url(args))
        try:
            return await work(nc)
        finally:
            await nc.close()

    return asyncio.run(run())


def cmd_verify(args: argparse.Namespace) -> int:
    from .sources import verify_file, verify_live

    report = verify_file(args.file) if args.file else _with_nats(args, lambda nc: verify_live(nc, args.stream, key=_key(args)))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return 0 if report.ok else 1
    print(f"来源 source: {report.source}")
    print(f"事件 events: {report.events} (sequence {report.first_sequence}..{report.last_sequence}); "
          f"chain hash {report.chain_hash}")
    print(f"检查点 checkpoints: {report.checkpoints_matched}/{report.checkpoints} match")
    if report.verified_up_to:
        print(f"已验证 verified: sequence {report.first_sequence}..{report.verified_up_to} (hash chains and checkpoints)")
    if report.tail:
        print(f"部分验证 partially verified: {report.tail[0]}..{report.tail[1]} (hash chains only; no checkpoint yet)")
    if report.ok:
        print("结论: 未发现篡改 (no tampering found)")
        return 0
    print(f"结论: 发现 {len(report.problems)} 处问题 (tampering found):")
    for p in report.problems:
        where = f"sequence {p.sequence}" if p.sequence is not None else "-"
        print(f"  [{p.label} {p.kind}] {where} {p.subject or ''}\n      {p.detail}")
    return 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from .checkpoint import checkpoint_until_current

    recorded = _with_nats(args, lambda nc: checkpoint_until_current(nc, args.stream, key=_key(args)))
    for c in recorded:
        print(f"checkpoint up to sequence {c.up_to_sequence} ({c.events} events): {c.chain_hash}")
    if not recorded:
        print("nothing new to checkpoint")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    header = _with_nats(args, lambda nc: export(nc, args.output, round_id=args.round, unit_id=args.unit,
                                                stream=args.stream, checkpoint=not args.no_checkpoint,
                                                key=_key(args)))
    print(f"wrote {args.output}: {header['events_included']} events included, {header['events_excluded']} "
          f"others as hashes, sequence 1..{header['last_sequence']}, chain hash {header['chain_hash']}")
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    from ..contracts import registry
    from ..contracts.base import Role
    from ..disclosure import Viewer
    from ..kernel.eventstore import EventStore
    from .timeline import disclosed_timeline, render_table, to_csv

    # Without --for-*, the office's view (everything); with them, exactly what that reader may see.
    viewer = Viewer(Role(args.for_role), unit_id=args.for_unit, team_id=args.for_team,
                    team_units=frozenset(args.for_team_unit or ()))

    async def read(nc: Any) -> list[dict[str, Any]]:
        store = EventStore(nc, registry, stream=args.stream)
        return await disclosed_timeline(store, args.unit, args.problem, viewer) or []

    entries = _with_nats(args, read)
    if not entries:
        raise CliError(f"no events of problem {args.problem} at unit {args.unit}: check both ids "
                       f"(the unit is the one the problem was reported against)")
    if args.json:
        text = json.dumps({"problem_id": args.problem, "unit_id": args.unit, "events": entries},
                          ensure_ascii=False, indent=2)
    elif args.csv:
        text = to_csv(entries)
    else:
        text = render_table(entries)
    if args.output:
        Path(args.output).write_text(text if not args.csv else "\ufeff" + text, encoding="utf-8")
        print(f"wrote {args.output} ({len(entries)} events)")
    else:
        print(text)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import Progress, replay_all

    results = _with_nats(args, lambda nc: replay_all(nc, _data_dir(args), args.service or None, Progress()))
    if args.json:
        print(json.dumps({k: [s.to_dict() for s in v] for k, v in results.items()}, ensure_ascii=False, indent=2))
    differing = 0
    for service, summaries in results.items():
        for s in summaries:
            if not args.json:
                print(f"{service}/{s.projection:<28} {s.events:>9,} events {s.seconds:>8.2f} s "
                      f"{s.events_per_second:>9,.0f} events/s  up to sequence {s.up_to_sequence}")
            for d in s.differences:
                differing += 1
                if args.json:
                    continue
                print(f"  DIFFERENT {d['table']}: live {d['live_rows']} rows, replay {d['replay_rows']} rows")
                for row in d["only_live"]:
                    print(f"    only live:   {row}")
                for row in d["only_replay"]:
                    print(f"    only replay: {row}")
    if not args.json:
        print("no differences" if not differing else f"{differing} table(s) differ")
    return 0 if not differing else 1


def cmd_as_of(args: argparse.Namespace) -> int:
    from ..cli import service_specs
    from ..clisupport import service_settings
    from ..contracts import registry
    from ..kernel.eventstore import EventStore
    from .replay import Progress, as_of

    specs = service_specs()
    if args.service not in specs:
        raise CliError(f"no service {args.service!r}: name one of {', '.join(specs)}")
    spec = specs[args.service]
    settings = service_settings(args, spec.name, spec.default_port)
    try:
        at = datetime.fromisoformat(args.at) if args.at else None
    except ValueError:
        raise CliError(f"--at {args.at!r} is not a time: write it like 2026-03-05T18:00:00+08:00") from None
    if at is not None and at.tzinfo is None:
        at = at.astimezone()  # local time

    async def run(nc: Any) -> Any:
        return await as_of(spec, EventStore(nc, registry), settings.resolved_database_url(), sequence=args.sequence,
                           at=at, progress=Progress(), folder=Path(args.out) if args.out else None)

    scratch, target, summaries = _with_nats(args, run)
    scratch.engine.dispose()
    for s in summaries:
        print(f"{spec.name}/{s.projection}: {s.events} events applied up to sequence {target}")
    print(f"state as of sequence {target}: {scratch.describe()}")
    return 0


def register(subparsers: Any) -> None:
    """Add `ducha audit ...` to the `ducha` command line."""
    audit = subparsers.add_parser("audit", help="audit: verify the log, export, timelines, replay, as-of")
    sub = audit.add_subparsers(dest="audit_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--nats", help="NATS URL (default $DUCHA_NATS_URL, else port $DUCHA_NATS_PORT as `ducha run`)")
        p.add_argument("--stream", default="DUCHA_EVENTS")
        return p

    v = common(sub.add_parser("verify", help="check hash chains and checkpoints (live, or a file offline)"))
    v.add_argument("--file", help="an export file: verify offline, without NATS")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_verify)

    c = common(sub.add_parser("checkpoint", help="record checkpoints up to the end of the log now"))
    c.set_defaults(func=cmd_checkpoint)

    e = common(sub.add_parser("export", help="export a round's or a unit's events for inspection"))
    which = e.add_mutually_exclusive_group(required=True)
    which.add_argument("--round")
    which.add_argument("--unit")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--no-checkpoint", action="store_true", help="do not record a checkpoint first")
    e.set_defaults(func=cmd_export)

    t = common(sub.add_parser("timeline", help="the complete history of one problem"))
    t.add_argument("problem")
    t.add_argument("--unit", required=True, help="the problem's unit id")
    fmt = t.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    t.add_argument("-o", "--output", help="write to a file")
    t.add_argument("--for-role", default="office", choices=["office", "cadre", "auditor", "team", "unit", "helper"],
                   help="show only what this reader may see (the disclosure policy)")
    t.add_argument("--for-unit", help="the reader's unit or helper department (roles unit, helper)")
    t.add_argument("--for-team", help="the reader's team (role team)")
    t.add_argument("--for-team-unit", action="append", help="a unit the reader's team is assigned to (repeatable)")
    t.set_defaults(func=cmd_timeline)

    r = common(sub.add_parser("replay", help="rebuild every projection and compare it with the live one"))
    r.add_argument("--service", action="append", help="only this service (repeatable)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_replay)

    a = common(sub.add_parser("as-of", help="build a service's projections as of a sequence or time"))
    a.add_argument("service")
    when = a.add_mutually_exclusive_group(required=True)
    when.add_argument("--sequence", type=int)
    when.add_argument("--at", help="ISO time, e.g. 2026-03-05T18:00:00+08:00")
    a.add_argument("--out", help="folder for the SQLite database (default: a temporary folder)")
    a.set_defaults(func=cmd_as_of)
