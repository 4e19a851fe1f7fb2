"""The AsyncAPI 3 catalogue of the department stream: generated from the FastStream application,
a valid AsyncAPI 3 document (checked structurally here; the end-to-end test in
subscriber/tests/test_end_to_end.py checks real DUCHA_DEPT messages against it), every event a
department may receive present with its payload schema and version, served by notify."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
from ducha.contracts import registry
from ducha.contracts.publicgen import department_events
from ducha.kernel.identity import KeyPair
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.deptstream.catalogue import asyncapi_document
from faststream.specification.asyncapi.v3_0_0.schema import ApplicationSchema

from .conftest import fast_settings  # type: ignore[import-not-found]


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_catalogue_is_a_valid_asyncapi_3_document() -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0" and doc["info"]["title"] and doc["info"]["version"] == "1.0.0"
    ApplicationSchema.model_validate(doc)  # FastStream's own AsyncAPI 3 model reads it back
    for ref in _refs(doc):
        _resolve(doc, ref)  # every reference points at something
    for server in doc["servers"].values():
        assert server["protocol"] == "nats" and server["host"]
    for name, channel in doc["channels"].items():
        params = set(re.findall(r"{([^}]+)}", channel["address"]))
        assert params == set(channel.get("parameters", {})), name  # address parameters are declared
        for ref in channel["messages"].values():
            assert ref["$ref"].startswith("#/components/messages/")
    for name, op in doc["operations"].items():
        assert op["action"] in ("send", "receive")
        channel_ref = op["channel"]["$ref"]
        assert all(m["$ref"].startswith(channel_ref + "/messages/") for m in op["messages"]), name
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft7Validator.check_schema(schema)
    for message in doc["components"]["messages"].values():
        jsonschema.Draft7Validator.check_schema(message["headers"])


def test_every_department_visible_event_is_there_with_its_payload_schema_and_version() -> None:
    doc = asyncapi_document()
    visible = department_events()
    assert set(doc["channels"]) == set(visible)
    schemas = doc["components"]["schemas"]
    for event_type, redactable in visible.items():
        cls = registry.get(event_type)
        channel = doc["channels"][event_type]
        assert channel["address"] == f"ducha.dept.{{department}}.{event_type}"
        message = _resolve(doc, channel["messages"]["Message"]["$ref"])
        assert message["name"] == event_type and message["x-ducha-schema-version"] == cls.schema_version
        envelope = _resolve(doc, message["payload"]["$ref"])
        assert envelope["properties"]["event_type"]["const"] == event_type
        assert envelope["properties"]["schema_version"]["const"] == cls.schema_version
        assert {"event_id", "aggregate_id", "actor", "occurred_at", "sequence"} <= set(envelope["required"])
        assert envelope["properties"]["redacted"]["type"] == "array"
        payload = schemas[envelope["properties"]["payload"]["$ref"].rsplit("/", 1)[1]]
        assert set(payload["properties"]) == set(cls.model_fields), event_type
        internal_required = {n for n, f in cls.model_fields.items() if f.is_required()}
        assert set(payload.get("required", [])) == internal_required - redactable, event_type
    # nothing internal leaks into the catalogue
    assert not {"command_id", "correlation_id", "causation_id", "prev_hash"} & set(schemas["IssueFedBackMessage"]["properties"])


async def test_notify_serves_the_catalogue_and_a_readable_page_without_sign_in(
        nats_server: Any, tmp_path: Path, keys: KeyPair) -> None:
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        r = await svc.client.get("/asyncapi.json")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.json() == asyncapi_document()
        page = await svc.client.get("/asyncapi")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "部门事件目录" in page.text and "<script" not in page.text
        for event_type in department_events():
            assert f'id="{event_type}"' in page.text
