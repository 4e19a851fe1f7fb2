"""`ducha` command line: run the whole system locally, issue tokens, rebuild projections.

    ducha run                 start nats-server (pinned) and every service on SQLite
    ducha token --role office --name 张三      print a bearer token for local use and tests
    ducha rebuild intake      drop a service's projections and replay them from the log
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .clisettings import child_environment, cli_settings, service_port
from .clisupport import DEFAULT_NATS_PORT, CliError, OneLineParser, run_command, service_settings
from .clisupport import data_dir as _cli_data_dir
from .contracts.base import Actor, Role
from .kernel.identity import MAX_TOKEN_TTL, TokenIssuer, ensure_local_keys
from .kernel.natsserver import NatsServer, PortInUseError, port_is_free
from .kernel.service import ServiceSpec
from .supervisor import MAX_CRASHES, Child, Supervisor

__all__ = ["DEFAULT_NATS_PORT", "build_parser", "main", "service_specs"]


def service_specs() -> dict[str, ServiceSpec]:
    """Every service registered under the `ducha.services` entry point group, in start order
    (`ServiceSpec.start_order`, then name)."""
    specs = [ep.load()() for ep in entry_points(group="ducha.services")]
    return {spec.name: spec for spec in sorted(specs, key=lambda spec: (spec.start_order, spec.name))}


def _data_dir(args: argparse.Namespace) -> Path:
    return _cli_data_dir(args)


def cmd_run(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    nats_port = int(args.nats_port or cli_settings().nats_port or DEFAULT_NATS_PORT)
    specs = service_specs()
    ports = {}
    for name, spec in specs.items():
        port = service_port(name, spec.default_port)
        if not port_is_free(port, args.host):
            print(
                f"error: port {port} for service '{name}' is already in use; set "
                f"DUCHA_{name.upper()}_PORT to a free port (or stop what is listening there)",
                file=sys.stderr,
            )
            return 2
        ports[name] = port
    keys = ensure_local_keys(data_dir / "keys")
    try:
        server = NatsServer(
            store_dir=data_dir / "jetstream", port=nats_port, log_file=data_dir / "nats-server.log"
        ).start()
    except PortInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env = child_environment()
    env.update(DUCHA_NATS_URL=server.url, DUCHA_DATA_DIR=str(data_dir))
    if args.demo:
        for spec in specs.values():
            for name, value in spec.demo_env.items():
                env.setdefault(name, value)
    # A service may stay out given the environment (e.g. the workbench without a sign-in method):
    # say why, and how to get it.
    skipped = {}
    for name, spec in specs.items():
        reason = spec.run_skip(env) if spec.run_skip is not None else None
        if reason is not None:
            skipped[name] = reason
            ports.pop(name)

    def service_starter(name: str, port: int) -> Callable[[], subprocess.Popen[bytes]]:
        def start() -> subprocess.Popen[bytes]:
            # Own session: Ctrl-C reaches only the supervisor, which stops services before NATS.
            return subprocess.Popen(
                [
                    sys.executable, "-m", "ducha.kernel.serve", name,
                    "--host", args.host, "--port", str(port),
                ],
                env=env, start_new_session=True,
            )
        return start

    def nats_starter() -> subprocess.Popen[bytes]:
        proc = server.start().process
        assert proc is not None
        return proc

    nats_child = Child("nats-server", nats_starter, proc=server.process, stop_last=True)
    nats_child.started_at = time.monotonic()
    children = [Child(name, service_starter(name, port)) for name, port in ports.items()]
    supervisor = Supervisor([*children, nats_child])
    try:
        for child in children:
            child.launch()
        for child in children:
            assert child.proc is not None
            _wait_healthy(child.name, args.host, ports[child.name], child.proc)
        if args.demo:
            for spec in specs.values():
                if spec.demo_module and spec.name in ports:
                    print(f"filling the system with a demo city (python -m {spec.demo_module}) ...", flush=True)
                    subprocess.run([sys.executable, "-m", spec.demo_module], env=env, check=False)
        print()
        print("Ducha (督查) is running:")
        print(f"  nats-server {server.url}  (JetStream store {data_dir / 'jetstream'})")
        for child in children:
            port = ports[child.name]
            pid = child.proc.pid if child.proc else "?"
            print(f"  {child.name:<13} http://{args.host}:{port}   "
                  f"(API docs: http://{args.host}:{port}/docs, pid {pid})")
        offset = cli_settings().dev_clock_offset
        if offset:
            print(f"  development clock: every service runs {offset} "
                  "off the real time (DUCHA_DEV_CLOCK_OFFSET)")
        for name, spec in specs.items():
            if spec.run_banner is not None and name in ports:
                print("\n" + spec.run_banner(f"http://{args.host}:{ports[name]}", bool(args.demo)))
        issuer = TokenIssuer(keys.private_pem)
        token = issuer.issue(Actor(id="office-admin", name="督查办管理员", role=Role.OFFICE))
        for name, reason in skipped.items():
            print(f"  {name:<13} not started: {reason}")
        print("\nAn office token for trying the API (valid 12 h; more with `ducha token --help`):")
        print(f"  export TOKEN={token}")
        print(f"\nA crashed service is restarted (after {MAX_CRASHES} crashes in a row everything "
              "stops). Press Ctrl-C to stop.", flush=True)
        supervisor.install_signal_handlers()
        return supervisor.run()
    finally:
        supervisor.stop_all()
        server.stop()


def _wait_healthy(name: str, host: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: service {name} exited with code {proc.returncode} at start")
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"error: service {name} did not answer /health on port {port} within 60 s")


def _token_hours(raw: str) -> float:
    try:
        hours = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {raw!r}") from None
    if not 0 < hours <= MAX_TOKEN_TTL.total_seconds() / 3600:
        raise argparse.ArgumentTypeError(
            f"a token lives more than 0 and at most {MAX_TOKEN_TTL.total_seconds() / 3600:g} hours (asked: {raw})")
    return hours


def cmd_token(args: argparse.Namespace) -> int:
    keys = ensure_local_keys(_data_dir(args) / "keys")
    actor = Actor(
        id=args.id or f"{args.role}-{args.unit or args.team or 'user'}",
        name=args.name or "",
        role=Role(args.role),
        unit_id=args.unit,
        team_id=args.team,
        team_leader=args.leader,
    )
    print(TokenIssuer(keys.private_pem).issue(actor, ttl=timedelta(hours=args.hours)))
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    specs = service_specs()
    names = list(specs) if args.service == "all" else [args.service]
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise CliError(f"no service {unknown[0]!r}: name one of {', '.join(specs)} or 'all'")
    for name in names:
        settings = service_settings(args, name, specs[name].default_port)
        summary = asyncio.run(_rebuild(specs[name], settings))
        print(json.dumps(summary, ensure_ascii=False))
    return 0


async def _rebuild(spec: ServiceSpec, settings: Any) -> dict[str, Any]:
    from .audit.replay import Progress
    from .clisupport import connect
    from .kernel.rebuild import rebuild_service

    bar = Progress()

    def show(label: str, done: int, total: int) -> None:
        bar.show(label, done, total)
        if done >= total:
            bar.end()

    nc = await connect(settings.nats_url)
    try:
        return await rebuild_service(spec, settings, nc, show)
    finally:
        await nc.close()


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="ducha", description="Ducha (督查) command line")
    parser.add_argument("--data-dir", help="data folder (default $DUCHA_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start nats-server and all services locally (SQLite)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--nats-port", type=int, help=f"default $DUCHA_NATS_PORT or {DEFAULT_NATS_PORT}")
    run.add_argument("--demo", action="store_true", help="fill a fresh system with a demo city")
    run.set_defaults(func=cmd_run)

    tok = sub.add_parser("token", help="issue a bearer token signed by the local issuer key")
    tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    tok.add_argument("--id", help="person id (default derived from role and scope)")
    tok.add_argument("--name", help="display name, e.g. 张三")
    tok.add_argument("--unit", help="unit / helper department id (roles unit, helper)")
    tok.add_argument("--team", help="team id (role team)")
    tok.add_argument("--leader", action="store_true", help="team leader (组长)")
    tok.add_argument("--hours", type=_token_hours, default=12.0,
                     help=f"lifetime, more than 0 and at most {MAX_TOKEN_TTL.total_seconds() / 3600:g} hours")
    tok.set_defaults(func=cmd_token)

    reb = sub.add_parser("rebuild", help="drop a service's projections and replay them from the log")
    reb.add_argument("service", help="service name or 'all'")
    reb.add_argument("--nats", help="NATS URL (default $DUCHA_NATS_URL, else port $DUCHA_NATS_PORT as `ducha run`)")
    reb.set_defaults(func=cmd_rebuild)
    __import__("ducha.audit.cli", fromlist=["register"]).register(sub)  # `ducha audit ...` (docs/audit.md)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    raise SystemExit(main())
