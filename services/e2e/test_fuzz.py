"""A bounded property-based fuzz (schemathesis) of every service's documented API and the
workbench's JSON endpoints, as deployed (`ducha run`: real HTTP, NATS, database), with several
roles' tokens. The suite fails on any 5xx other than a documented 503, and on any response that
violates the documented schema.

One schemathesis run per service; its requests take the roles' tokens in turn (fuzz_hooks.py). The
budget is `DUCHA_FUZZ_EXAMPLES` examples per operation and role in the fuzzing phase (default 2); it
runs once per CI, in the SQLite pass (the PostgreSQL pass skips it unless `DUCHA_FUZZ_EXAMPLES` is
set). `DUCHA_FUZZ_COVERAGE=1` adds schemathesis' coverage phase (every boundary and wrong-type value
of every parameter, e.g. an offset one past its maximum: about 1,000-2,500 requests per service,
too slow for every CI run). Figures
are printed (`-s`) and recorded in docs/security.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ducha.cli import service_specs
from ducha.kernel.natsserver import free_port
from ducha.testing.plugin import LOCAL_POSTGRES, assert_no_dead_letters, drop_schema
from ducha.testing.plugin import test_database_kind as database_kind

SERVICES = list(service_specs())  # every service `ducha run` starts, each on a port of its own
ROLES = {
    "office": ["--role", "office", "--name", "fuzz-office"],
    "team": ["--role", "team", "--team", "T01", "--leader", "--name", "fuzz-team"],
    "unit": ["--role", "unit", "--unit", "U001", "--name", "fuzz-unit"],
}
# 503 is documented (a projection behind the requested min_sequence, the log not answering): it is
# an answer, not a crash.
DOCUMENTED_5XX = {503}

schemathesis_bin = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(schemathesis_bin is None, reason="schemathesis is not installed (pip install -e '.[dev]')")


@dataclass
class Figures:
    requests: int = 0
    operations: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)


@dataclass
class System:
    ports: dict[str, int]
    env: dict[str, str]


@pytest.fixture(scope="module")
def system_under_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    if database_kind() == "postgres" and "DUCHA_FUZZ_EXAMPLES" not in os.environ:
        pytest.skip("the fuzz runs once per CI, in the SQLite pass (set DUCHA_FUZZ_EXAMPLES to run it here)")
    tmp = tmp_path_factory.mktemp("fuzz")
    ports = {name: free_port() for name in [*SERVICES, "nats"]}
    env = dict(os.environ, DUCHA_DATA_DIR=str(tmp / "data"), DUCHA_WEB_AUTH="demo")
    env.update({f"DUCHA_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    schemas: list[tuple[str, str]] = []
    if database_kind() == "postgres":
        url = os.environ.get("DUCHA_TEST_DATABASE_URL", LOCAL_POSTGRES)
        env["DUCHA_DATABASE_URL"] = url
        for name in SERVICES:
            schema = f"fz_{name}_{uuid.uuid4().hex[:8]}"
            env[f"DUCHA_{name.upper()}_DATABASE_SCHEMA"] = schema
            schemas.append((url, schema))
    proc = subprocess.Popen([sys.executable, "-m", "ducha.cli", "run"], env=env, cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C" in line or proc.poll() is not None:
                break
        assert "Ducha (督查) is running" in "".join(lines), "".join(lines)
        yield System(ports, env)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        for url, schema in schemas:
            drop_schema(url, schema)


def _token(system: System, role: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ducha.cli", "token", *ROLES[role]], env=system.env,
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip().splitlines()[-1]


def _fuzz(system: System, service: str, tokens: list[str], report: Path) -> Figures:
    # examples per operation and role (the hooks rotate the roles' tokens over the requests)
    examples = int(os.environ.get("DUCHA_FUZZ_EXAMPLES", "2")) * len(tokens)
    phases = "examples,coverage,fuzzing" if os.environ.get("DUCHA_FUZZ_COVERAGE") == "1" else "examples,fuzzing"
    assert schemathesis_bin is not None
    cmd = [schemathesis_bin, "run", f"http://127.0.0.1:{system.ports[service]}/openapi.json",
           "--checks", "response_schema_conformance", "--phases", phases, "-n", str(examples),
           "--no-shrink", "--workers", "2", "--seed", "13", "--request-timeout", "30",
           "--exclude-path-regex", "^/v1/streams/",  # SSE: an open stream, not a request/response
           "--report", "ndjson", "--report-ndjson-path", str(report)]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="fuzz_hooks", DUCHA_FUZZ_TOKENS=json.dumps(tokens),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(cmd, cwd=report.parent, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return _figures(report)


def _figures(report: Path) -> Figures:
    figures = Figures()
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        figures.operations.add(recorder["label"])
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response")
            if response is None:
                continue
            figures.requests += 1
            status = int(response["status_code"])
            figures.statuses[status] += 1
            if status >= 500 and status not in DOCUMENTED_5XX:
                req = interaction["request"]
                figures.server_errors.append(f"{status} {req['method']} {req['uri']}")
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check["status"] == "failure":
                    info = check.get("failure_info", {}).get("failure", {})
                    figures.schema_violations.append(f"{info.get('operation')}: {info.get('message', '')[:300]}")
    return figures


def test_fuzzing_finds_no_server_error_and_no_schema_violation(system_under_fuzz: System, tmp_path: Path) -> None:
    system = system_under_fuzz
    tokens = [_token(system, role) for role in ROLES]
    total = Figures()
    for service in SERVICES:
        figures = _fuzz(system, service, tokens, tmp_path / f"{service}.ndjson")
        total.requests += figures.requests
        total.operations |= {f"{service} {op}" for op in figures.operations}
        total.statuses += figures.statuses
        total.server_errors += [f"{service}: {e}" for e in figures.server_errors]
        total.schema_violations += [f"{service}: {v}" for v in figures.schema_violations]
    print(f"\nfuzz: {total.requests} requests, {len(total.operations)} operations, roles {sorted(ROLES)}, "
          f"statuses {dict(sorted(total.statuses.items()))}")
    assert total.requests > 200 and len(total.operations) > 60
    assert total.server_errors == []
    assert total.schema_violations == []
    assert_no_dead_letters(f"nats://127.0.0.1:{system.ports['nats']}")
