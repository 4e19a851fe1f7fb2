"""Hostile input at the edge: ids and paging bounds in every service's documented API, body limits
before any other work, formula-safe cells."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from importlib.metadata import entry_points
from typing import Any

import httpx
from ducha.audit.timeline import to_csv
from ducha.kernel.cells import safe_cell
from ducha.kernel.http import install_error_handlers
from ducha.kernel.limits import BodyLimitMiddleware, BodyLimits
from ducha.kernel.service import create_app
from fastapi import FastAPI, Request


def _service_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for ep in entry_points(group="ducha.services"):
        if ep.name != "web":
            schemas[ep.name] = create_app(ep.load()()).openapi()
    return schemas


def test_every_path_id_and_integer_query_parameter_is_bounded_in_the_schema() -> None:
    unbounded = []
    schemas = _service_schemas()
    assert set(schemas) >= {"intake", "rectification", "verification", "notify"}
    for service, schema in schemas.items():
        for path, operations in schema["paths"].items():
            for method, op in operations.items():
                for p in op.get("parameters", []):
                    s = p.get("schema", {})
                    where = f"{service} {method.upper()} {path} {p['name']}"
                    pattern = s.get("pattern", "")
                    if p["in"] == "path" and not (pattern.startswith("^") and pattern.endswith("$")
                                                  and "." not in pattern.replace(r"\.", "")):
                        unbounded.append(where)
                    variants = s.get("anyOf", [s])
                    if p["in"] == "query" and any(v.get("type") == "integer" and "maximum" not in v
                                                  for v in variants):
                        unbounded.append(where)
    assert unbounded == []


def _echo_app(limits: BodyLimits) -> tuple[FastAPI, list[str]]:
    """An app whose one route demands a token and reads the body; records what ran."""
    app = FastAPI()
    install_error_handlers(app)
    ran: list[str] = []

    @app.post("/v1/things")
    async def things(request: Request) -> dict[str, int]:
        ran.append("handler")
        if "authorization" not in request.headers:
            from ducha.kernel.errors import Unauthorized

            raise Unauthorized("a bearer token is required")
        return {"size": len(await request.body())}

    @app.post("/v1/upload")
    async def upload(request: Request) -> dict[str, int]:
        ran.append("handler")
        form = await request.form()
        return {"fields": len(form)}

    app.add_middleware(BodyLimitMiddleware, limits=limits)
    return app, ran


async def test_an_oversized_body_is_refused_with_413_before_authentication() -> None:
    app, ran = _echo_app(BodyLimits(json_bytes=2048, upload_bytes=8192))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/v1/things", content=b"x" * 5000, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert ran == []  # nothing behind the edge ran: no 401, no body read
        small = await c.post("/v1/things", content=b"{}", headers={"content-type": "application/json"})
        assert small.status_code == 401
        # an upload has its own (larger) class
        files = {"file": ("a.xlsx", b"y" * 4000)}
        assert (await c.post("/v1/upload", files=files)).status_code == 200
        big = await c.post("/v1/upload", files={"file": ("a.xlsx", b"y" * 9000)})
        assert big.status_code == 413 and "8192" in big.json()["error"]["message"]


async def test_a_body_without_length_is_cut_off_once_it_passes_the_limit() -> None:
    app, _ran = _echo_app(BodyLimits(json_bytes=2048, upload_bytes=8192))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"z" * 1000

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/v1/things", content=chunks(),
                         headers={"content-type": "application/json", "authorization": "Bearer x"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_formula_like_text_is_neutralised_and_other_values_are_not() -> None:
    for text in ("=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(text) == "'" + text
    for value in ("城关区", "a=b", 42, -3, None, 1.5):
        assert safe_cell(value) == value


def test_timeline_csv_neutralises_formula_cells() -> None:
    entry = {"sequence": 1, "occurred_at": "2026-03-02T09:00:00", "label": "问题上报",
             "event_type": "IssueReported", "command_id": "-c", "changes": {},
             "reasons": ['=HYPERLINK("http://x","y")'], "evidence": [],
             "actor": {"id": "@x", "name": "+n", "role": "team", "role_label": "督查组", "unit_id": None,
                       "team_id": "T1", "team_leader": False}}
    row = list(csv.reader(io.StringIO(to_csv([entry]))))[1]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in row), row
    assert """'=HYPERLINK("http://x","y")""" in row and "'-c" in row
