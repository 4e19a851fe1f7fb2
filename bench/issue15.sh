#!/usr/bin/env bash
# Issue 15's figures in one run, Ducha beside the peer, each benchmark's output kept in OUT.
#
#   bench/issue15.sh OUT SYSTEM [PEER]
#
# SYSTEM is a folder made once by `bench/bench_pages.py --problems 100000 --keep SYSTEM` (the log
# and every projection at 100,000 problems; making it takes ~10 minutes and is not part of the
# run). PEER is a copy of ../shared/peer/eventsourcing-lib with its venv installed (see its
# README; PostgreSQL role `peerbench`). Run it on a quiet machine: it takes about 30 minutes.
# Knobs: RATE (open-loop commands/s, default 60), PROBLEMS (closed-loop problems, default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/issue15.sh OUT SYSTEM [PEER]}
SYSTEM=${2:?usage: bench/issue15.sh OUT SYSTEM [PEER]}
PEER=${3:-}
RATE=${RATE:-60}
PROBLEMS=${PROBLEMS:-1000}
PY=.venv/bin/python
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
step() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$OUT/steps.log"; }

if [ -n "$PEER" ]; then
  step "peer: write_seq and batched projection, SQLite and PostgreSQL"
  (cd "$PEER" && venv/bin/python bench.py --backends sqlite,postgres --reps 1 --problems 1000 \
     --proj-sizes 10000 --only write,projection --out "$OUT/peer.json" > "$OUT/peer.log" 2>&1)
fi
step "commands as deployed, SQLite, closed loop"
$PY bench/commands_bench.py --problems "$PROBLEMS" --concurrency 32 > "$OUT/commands_sqlite.json"
step "commands as deployed, SQLite, open loop at $RATE/s"
$PY bench/commands_bench.py --problems "$PROBLEMS" --concurrency 64 --rate "$RATE" > "$OUT/commands_sqlite_rate.json"
step "commands as deployed, PostgreSQL, closed loop"
$PY bench/commands_bench.py --problems "$PROBLEMS" --concurrency 32 --postgres > "$OUT/commands_pg.json"
step "commands as deployed, PostgreSQL, open loop at $RATE/s"
$PY bench/commands_bench.py --problems "$PROBLEMS" --concurrency 64 --rate "$RATE" --postgres > "$OUT/commands_pg_rate.json"
step "in-process workload (three services, one process) with replay = live"
$PY bench/workload_bench.py --problems 500 > "$OUT/workload.txt" 2>&1
step "replay of every projection, SQLite"
$PY bench/replay_bench.py --store "$SYSTEM/jetstream" --json > "$OUT/replay_sqlite.json"
step "replay of every projection, PostgreSQL"
$PY bench/replay_bench.py --store "$SYSTEM/jetstream" --postgres --json > "$OUT/replay_pg.json"
step "pages at 100,000 problems"
$PY bench/bench_pages.py --keep "$SYSTEM" --reuse --rounds 5 --json > "$OUT/pages.json"
step "resident memory at 100,000 problems"
$PY bench/resident_bench.py --dir "$SYSTEM" > "$OUT/resident.txt" 2>&1
step "done"
