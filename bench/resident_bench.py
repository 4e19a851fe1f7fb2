"""Resident memory of every service at a given size: start the system kept by another bench (for
example `bench_pages.py --problems 100000 --keep DIR`), wait until every projection has caught up,
exercise the pages once, and read each process's RSS.

    .venv/bin/python bench/resident_bench.py --dir DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_pages import wait_caught_up  # the page bench's readiness wait: one copy of it
from commands_bench import resident_mb  # RSS by service name from `ducha run`'s process tree


def main() -> int:
    from ducha_web import devsystem

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    system = devsystem.start(Path(args.dir))
    try:
        caught_up = wait_caught_up(system)
        assert system.proc is not None
        idle = resident_mb(system.proc.pid)
        with httpx.Client(base_url=system.web, timeout=600, follow_redirects=True) as office:
            office.post("/login", data={"account": "P0001"})
            for path in ("/dashboard", "/ledger", "/ledger?light=red", "/ledger.xlsx?light=red"):
                office.get(path)
        busy = resident_mb(system.proc.pid)
        print(json.dumps({"caught_up_seconds": caught_up, "resident_mb_after_start": idle,
                          "resident_mb_after_pages": busy}, indent=2))
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
