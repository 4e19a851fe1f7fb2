"""What tamper evidence costs appends: the kernel benchmark's single-writer and concurrent append
runs, each on a fresh nats-server, without and with a checkpoint job running at the same time
(same process and event loop, as when a service runs it in `ServiceSpec.background`).

    .venv/bin/python bench/audit_bench.py [--single 2000] [--appends 10000] [--interval 0.2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from ducha.audit import checkpoint_job, load_checkpoints, verify
from ducha.kernel.eventstore import EventStore, ensure_streams
from ducha.kernel.natsserver import NatsServer
from ducha.testing.sample import test_registry

_spec = importlib.util.spec_from_file_location("kernel_bench", Path(__file__).with_name("kernel_bench.py"))
assert _spec and _spec.loader
kb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kb)


class _Kernel:
    def __init__(self, nc: Any, store: EventStore) -> None:
        self.nc, self.store, self.settings = nc, store, None


async def one_run(tmp: Path, name: str, args: argparse.Namespace, checkpointing: bool) -> dict[str, Any]:
    server = NatsServer(store_dir=tmp / name / "js").start()
    try:
        nc = await nats.connect(server.url)
        await ensure_streams(nc.jetstream())
        store = EventStore(nc, test_registry)
        task = None
        proc = None
        if checkpointing and args.process:  # the job in its own process, as in a separate service
            code = ("import asyncio,nats,sys\nfrom ducha.audit.checkpoint import checkpoint_job\n"
                    "from ducha.kernel.eventstore import EventStore\nfrom ducha.testing.sample import test_registry\n"
                    "class K: pass\nasync def m():\n nc=await nats.connect(sys.argv[1]); k=K(); k.nc=nc; "
                    "k.store=EventStore(nc,test_registry); k.settings=None\n"
                    f" await checkpoint_job(k,{args.interval})\nasyncio.run(m())")
            proc = subprocess.Popen([sys.executable, "-c", code, server.url])  # noqa: ASYNC220
        if checkpointing and not args.process:
            cp_nc = await nats.connect(server.url)  # its own connection, as a separate job would have
            task = asyncio.create_task(checkpoint_job(_Kernel(cp_nc, EventStore(cp_nc, test_registry)), args.interval))
        single = await kb.kernel_single_writer(store, args.single)
        concurrent = await kb.kernel_concurrent_appends(store, args.appends, args.concurrency)
        out: dict[str, Any] = {"single": single, "concurrent": concurrent}
        if proc is not None:
            await asyncio.sleep(2 * args.interval + 1)
            proc.terminate()
            proc.wait()
            checkpoints = await load_checkpoints(nc.jetstream())
            out.update(checkpoints=len(checkpoints), covered=checkpoints[-1].up_to_sequence if checkpoints else 0)
            started = time.perf_counter()
            report = await verify(nc)
            out.update(verify_events_per_s=report.events / (time.perf_counter() - started), verify_ok=report.ok)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            checkpoints = await load_checkpoints(cp_nc.jetstream())
            out["checkpoints"] = len(checkpoints)
            out["covered"] = checkpoints[-1].up_to_sequence if checkpoints else 0
            started = time.perf_counter()
            report = await verify(nc)
            out["verify_events_per_s"] = report.events / (time.perf_counter() - started)
            out["verify_ok"] = report.ok
            await cp_nc.close()
        await nc.close()
        return out
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--appends", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=0.2, help="checkpoint job interval (s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1000, help="appends in flight")
    parser.add_argument("--process", action="store_true", help="run the checkpoint job in its own process")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ducha-audit-bench-"))
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    for r in range(args.rounds):  # alternate, so drift of the machine hits both alike
        runs["without"].append(await one_run(tmp, f"without{r}", args, False))
        runs["with"].append(await one_run(tmp, f"with{r}", args, True))
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("single", "concurrent")} for k, v in runs.items()}
    print(f"{'appends per second (median of ' + str(args.rounds) + ')':<44}{'without':>10}{'with':>10}{'change':>9}")
    for label, m in (("single writer", "single"), (f"concurrent ({args.concurrency} in flight)", "concurrent")):
        a, b = med["without"][m], med["with"][m]
        print(f"{label:<44}{a:>10,.0f}{b:>10,.0f}{100 * (b - a) / a:>8.1f}%")
    last = runs["with"][-1]
    print(f"checkpoint job every {args.interval}s: {last['checkpoints']} checkpoints, covering "
          f"{last['covered']} events; verify {last['verify_events_per_s']:,.0f} events/s, ok={last['verify_ok']}")
    if args.json:
        print(json.dumps({"runs": runs, "median": med}, default=round))


if __name__ == "__main__":
    asyncio.run(main())
