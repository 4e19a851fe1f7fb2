"""The AsyncAPI 3 catalogue of what departments receive, generated from a FastStream application:
one documented publisher per department-visible event type on `ducha.dept.{department}.<EventType>`
(the subjects `publisher` publishes to), with the public contract (`ducha_contracts`) as payload.

FastStream writes the document; `_complete` adds what FastStream does not describe for publishers:
the `{department}` channel parameter, the message headers notify sets, and each message's name,
event type and version. Built on first use (no connection: the broker is only described).
"""

from __future__ import annotations

import functools
import html
import json
from importlib.metadata import version
from typing import Any

from ducha_contracts import DEPARTMENT_EVENTS, REDACTABLE, registry
from faststream.nats import JStream, NatsBroker, NatsUserPassword
from faststream.specification import AsyncAPI

from .stream import DEPT_STREAM, dept_subject

TITLE = "Ducha department stream DUCHA_DEPT"
DESCRIPTION = (
    "What each department (an inspected unit or a helper department) receives of Ducha's events: exactly what the "
    "disclosure policy lets it see, redacted, in the public contract shape (`pip install ducha-contracts`). "
    "Departments fetch from their own system-made durable pull consumers `dept-<department>-<k>` on the JetStream "
    "stream DUCHA_DEPT with the NATS user and password the office gives them (`ducha-subscriber` does it all)."
)
HEADERS = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {"type": "string", "description": "<department>:<event id>, unique per department and event"},
        "Ducha-Source-Sequence": {"type": "string", "description": "the event's position in Ducha's internal log"},
        "Ducha-Event-Type": {"type": "string", "description": "the event type (also the last subject token)"},
        "Ducha-Outbox": {"type": "string", "description": "notify's outbox position (internal bookkeeping)"},
    },
}


def catalogue_broker() -> NatsBroker:
    broker = NatsBroker("nats://ducha-nats:4222", security=NatsUserPassword("unit-<department>", "<password>"),
                        description="the NATS address the office gives with the department's credentials")
    stream = JStream(DEPT_STREAM, declare=False)
    for event_type in DEPARTMENT_EVENTS:
        cls = registry.get(event_type)
        doc = " ".join((cls.__doc__ or "").split())
        redactable = ", ".join(REDACTABLE.get(event_type, ()))
        note = f" The disclosure policy may remove: {redactable}." if redactable else ""
        broker.publisher(dept_subject("{department}", event_type), stream=stream, schema=registry.envelope(event_type),
                         title=event_type, description=f"{doc}{note} (v{cls.schema_version}, context {cls.context})".strip())
    return broker


def _complete(doc: dict[str, Any]) -> dict[str, Any]:
    messages = doc["components"]["messages"]
    for name, channel in doc["channels"].items():
        channel["parameters"] = {"department": {"description": "the unit or helper department id (its credentials say)"}}
        cls = registry.get(name)
        for ref in channel["messages"].values():
            message = messages[ref["$ref"].rsplit("/", 1)[1]]
            message.update(name=name, title=f"{name} v{cls.schema_version}", headers=HEADERS,
                           contentType="application/json")
            message["x-ducha-event-type"] = name
            message["x-ducha-schema-version"] = cls.schema_version
            message.pop("correlationId", None)  # notify sets no correlation header
    return doc


@functools.cache
def asyncapi_json() -> str:
    spec = AsyncAPI(catalogue_broker(), title=TITLE, version=version("ducha-contracts"), description=DESCRIPTION,
                    schema_version="3.0.0")
    doc = _complete(json.loads(spec.to_specification().to_json()))
    return json.dumps(doc, ensure_ascii=False, indent=2)


def asyncapi_document() -> dict[str, Any]:
    return dict(json.loads(asyncapi_json()))


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[1]
    if "anyOf" in prop:
        return " | ".join(_type(p) for p in prop["anyOf"])
    if "const" in prop:
        return json.dumps(prop["const"], ensure_ascii=False)
    if prop.get("type") == "array":
        return f"{_type(prop.get('items', {}))}[]"
    return str(prop.get("format") or prop.get("type") or "any")


def _fields(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(_type(p))}</td><td>{'是' if n in required else '否'}</td>"
        f"<td>{html.escape(str(p.get('description', '')))}</td></tr>"
        for n, p in schema.get("properties", {}).items())
    return f"<table><tr><th>字段</th><th>类型</th><th>必有</th><th>说明</th></tr>{rows}</table>"


@functools.cache
def asyncapi_html() -> str:
    """A readable page of the same document (no scripts, nothing loaded from elsewhere)."""
    doc = asyncapi_document()
    schemas = doc["components"]["schemas"]
    parts = [f"<h1>部门事件目录（{html.escape(doc['info']['title'])}，版本 {html.escape(doc['info']['version'])}）</h1>",
             f"<p>{html.escape(doc['info'].get('description', ''))}</p>",
             ("<p>机器可读文档：<a href=\"asyncapi.json\">asyncapi.json</a>（AsyncAPI 3.0）。部门接入指南见 Ducha 文档"
              "《部门接入指南》。</p>"),
             "<h2>消息信封（每条消息都有）</h2>",
             _fields(schemas["IssueFedBackMessage"]),
             "<h2>事件</h2><ul>"]
    parts += [f"<li><a href=\"#{html.escape(n)}\">{html.escape(n)}</a></li>" for n in doc["channels"]]
    parts.append("</ul>")
    messages = doc["components"]["messages"]
    for name, channel in doc["channels"].items():
        message = messages[next(iter(channel["messages"].values()))["$ref"].rsplit("/", 1)[1]]
        envelope = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
        payload = schemas[envelope["properties"]["payload"]["$ref"].rsplit("/", 1)[1]]
        parts += [f"<h3 id=\"{html.escape(name)}\">{html.escape(message['title'])}</h3>",
                  f"<p>主题 <code>{html.escape(channel['address'])}</code></p>",
                  f"<p>{html.escape(channel.get('description', ''))}</p>", "<h4>payload</h4>", _fields(payload)]
    enums = {k: v for k, v in schemas.items() if "enum" in v}
    parts.append("<h2>枚举值</h2>" + "".join(
        f"<p><code>{html.escape(k)}</code>：{html.escape(' / '.join(map(str, v['enum'])))}</p>" for k, v in enums.items()))
    style = ("body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:980px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;"
             "vertical-align:top;font-size:14px}code{background:#f4f4f4}")
    return (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>部门事件目录 · Ducha</title>"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{style}</style></head>"
            f"<body>{''.join(parts)}</body></html>")

