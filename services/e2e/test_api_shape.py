"""One request/response convention for every service, read from each service's OpenAPI:

- every command (POST/PUT/PATCH/DELETE under /v1) answers `{"id", "sequence", "replayed"}` (plus
  what is particular to it) and accepts `?min_sequence=`;
- every JSON request body refuses unknown fields (`additionalProperties: false`, i.e. pydantic
  `extra="forbid"`), so a misspelt field is a 422 naming it instead of being dropped.
"""

from __future__ import annotations

from typing import Any

import pytest
from ducha.cli import service_specs
from ducha.kernel.service import create_app

# Not commands on one aggregate: each says what it answers instead.
NOT_ONE_AGGREGATE = {
    ("intake", "post", "/v1/problems/import"): "a bulk import answers a report per row",
    ("intake", "post", "/v1/units/import"): "a bulk import answers a report per row",
    ("intake", "post", "/v1/helpers/import"): "a bulk import answers a report per row",
    ("intake", "post", "/v1/persons/import"): "a bulk import answers a report per row",
    ("notify", "post", "/v1/notify/scan"): "runs the scan now; answers how many notifications it requested",
    ("intake", "post", "/v1/audit/verifications"): "verifies the whole log now; answers the verification run",
    ("notify", "post", "/v1/departments/{department}/consumers/{name}/reset"):
        "moves a department's NATS consumer; no event is written",
}
WRITES = ("post", "put", "patch", "delete")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _open_models(spec: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> list[str]:
    """Names of request models (this one and every model it nests) that accept unknown fields."""
    found: list[str] = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return found
        seen.add(name)
        model = spec["components"]["schemas"][name]
        if model.get("type") == "object" and model.get("additionalProperties") is not False:
            found.append(name)
        schema = model
    for value in schema.values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, dict):
                for sub in (child, *child.values()):
                    if isinstance(sub, dict):
                        found += _open_models(spec, sub, seen)
    return found


def _commands(name: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    spec = create_app(service_specs()[name]).openapi()
    return [(method, path, op, spec) for path, ops in spec["paths"].items() if path.startswith("/v1/")
            for method, op in ops.items() if method in WRITES]


@pytest.mark.parametrize("name", ["intake", "rectification", "verification", "notify"])
def test_every_command_answers_id_sequence_replayed_and_takes_min_sequence(name: str) -> None:
    wrong = []
    for method, path, op, spec in _commands(name):
        if (name, method, path) in NOT_ONE_AGGREGATE:
            continue
        ok = next((r for status, r in op["responses"].items() if status in ("200", "201")), None)
        schema = _resolve(spec, ok["content"]["application/json"]["schema"]) if ok and "content" in ok else {}
        props = schema.get("properties", {})
        types = {k: props.get(k, {}).get("type") for k in ("id", "sequence", "replayed")}
        if types != {"id": "string", "sequence": "integer", "replayed": "boolean"}:
            wrong.append(f"{method.upper()} {path} answers {sorted(props) or schema}")
        if "min_sequence" not in {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}:
            wrong.append(f"{method.upper()} {path} takes no ?min_sequence=")
    assert wrong == []


@pytest.mark.parametrize("name", ["intake", "rectification", "verification", "notify"])
def test_every_request_body_refuses_unknown_fields(name: str) -> None:
    wrong = []
    for method, path, op, spec in _commands(name):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        open_models = _open_models(spec, body["schema"], set())
        if open_models:
            wrong.append(f"{method.upper()} {path}: {open_models} accept unknown fields")
    assert wrong == []
