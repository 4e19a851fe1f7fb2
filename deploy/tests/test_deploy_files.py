"""The deployment files: docker-compose.yml against the Compose Specification's JSON schema and the
invariants of the production shape; the NATS config (nats-server itself checks it); the image and
the Kubernetes manifests.

compose-spec.json is vendored from the compose-spec/compose-spec repository, schema/compose-spec.json
at commit 00655e2222608fa6eaecdf12ac5195889ca2244a (see deploy/README.md, "Tests").
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ducha.kernel.natsserver import nats_server_binary, server_version

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "rectification", "verification", "notify", "audit")
NATS_NODES = ("n1", "n2", "n3")
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((DEPLOY / "tests" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_compose_file(compose: dict[str, Any]) -> None:
    schema = json.loads((DEPLOY / "tests" / "compose-spec.json").read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["intake"]["depends_on"]["n1"]["condition"] = "when_it_feels_like_it"
    broken["services"]["intake"]["helthcheck"] = {}
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) >= 2


def test_three_jetstream_nodes_from_deploy_nats(compose: dict[str, Any]) -> None:
    services = compose["services"]
    nodes = [name for name, svc in services.items() if "nats" in svc.get("image", "")]
    assert sorted(nodes) == list(NATS_NODES)
    for name in NATS_NODES:
        svc = services[name]
        tag = svc["image"].split(":")[-1]
        if tag[0].isdigit():  # the default tag; an override via NATS_IMAGE is the operator's call
            assert tuple(int(x) for x in tag.split("-")[0].split(".")[:2]) >= (2, 12), tag
        assert svc["command"][-1] == "/etc/nats/nats-server.conf"
        assert "./deploy/nats:/etc/nats:ro" in svc["volumes"]
        assert any(v.endswith(":/data") for v in svc["volumes"]), "a persistent volume per node"
        env = svc["environment"]
        assert env["NATS_SERVER_NAME"] == name
        assert env["NATS_STORE_DIR"].startswith("/data")
        for other in NATS_NODES:
            assert f"nats-route://{other}:6222" in env["NATS_ROUTES"]


def test_every_container_has_a_healthcheck(compose: dict[str, Any]) -> None:
    missing = [name for name, svc in compose["services"].items() if not svc.get("healthcheck", {}).get("test")]
    assert not missing


def test_services_share_one_image_and_run_twice(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {services[s]["image"] for s in SERVICES}
    assert len(images) == 1
    for name in SERVICES:
        svc = services[name]
        assert svc["command"] == ["python", "-m", "ducha.kernel.serve", name, "--host", "0.0.0.0", "--port", "8080"]
        assert svc["build"]["dockerfile"] == "Dockerfile"
        assert int(svc["deploy"]["replicas"]) >= 2
        assert "/health" in " ".join(svc["healthcheck"]["test"])
        env = svc["environment"]
        urls = env["DUCHA_NATS_URL"].split(",")
        assert [re.sub(r"//[^@]*@", "//", u) for u in urls] == [f"nats://{n}:4222" for n in NATS_NODES]
        assert env["DUCHA_DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["DUCHA_DATABASE_URL"]
        assert env["DUCHA_STREAM_REPLICAS"] == "3"
        assert env["DUCHA_JWT_PUBLIC_KEY_FILE"] == "/run/secrets/jwt_public_key"
        assert "jwt_public_key" in svc["secrets"] and "jwt_public_key" in compose["secrets"]
        deps = svc["depends_on"]
        assert {d: deps[d]["condition"] for d in deps} == {
            **{n: "service_healthy" for n in NATS_NODES}, "postgres": "service_healthy"
        }
    assert services["postgres"]["image"].startswith("postgres:15")
    notify = services["notify"]["environment"]
    assert notify["DUCHA_PRODUCTION"] == "true"
    assert notify["DUCHA_NOTIFY_WEBHOOK_KEY"].startswith("${DUCHA_NOTIFY_WEBHOOK_KEY:?")


def test_web_entry_routes_every_service(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    assert "./deploy/web/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in gateway["volumes"]
    assert set(gateway["depends_on"]) == {*SERVICES, "web"}
    assert [n for n, s in compose["services"].items() if s.get("ports")] == ["gateway"], "one published port"
    conf = (DEPLOY / "web" / "nginx.conf").read_text()
    for name in SERVICES:
        assert re.search(rf"location /{name}/\s+{{[^}}]*proxy_pass http://{name}/;", conf), name
        assert re.search(rf"upstream {name}\s+{{ server {name}:8080", conf), name
    assert "location / { proxy_pass http://web; }" in conf  # the workbench


def test_workbench_runs_from_the_same_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = services["web"]
    assert web["image"] == services["intake"]["image"]
    assert web["command"][3] == "web" and int(web["deploy"]["replicas"]) >= 2
    env = web["environment"]
    assert {env[f"DUCHA_{s.upper()}_URL"] for s in SERVICES} == {f"http://{s}:8080" for s in SERVICES}
    assert env["DUCHA_WEB_ISSUER_KEY_FILE"] == "/run/secrets/jwt_private_key"
    assert env["DUCHA_NATS_URL"] == services["intake"]["environment"]["DUCHA_NATS_URL"]


def _secret_values(node: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _secret_values(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _secret_values(value, f"{path}[{i}]")
    elif isinstance(node, str):
        found.append((path, node))
    return found


def test_no_credentials_are_committed(compose: dict[str, Any]) -> None:
    for path, value in _secret_values(compose):
        if SECRET_WORDS.search(path.rsplit(".", 1)[-1]) and "environment" in path:
            assert value.startswith(("${", "/run/secrets/")), (path, value)
        for userinfo in re.findall(r"://([^/@\s]+)@", value):  # user:password@host in URLs
            assert ":" not in userinfo or "${" in userinfo.split(":", 1)[1], (path, value)
        assert "BEGIN" not in value and "PRIVATE KEY" not in value, path
    example = (ROOT / ".env.example").read_text()
    for line in example.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            if SECRET_WORDS.search(key) and not key.endswith("_PATH"):
                assert value == "", f".env.example must leave {key} empty"
    ignored = (ROOT / ".dockerignore").read_text()
    assert ignored.splitlines()[1] == "**", ".dockerignore starts from nothing (no .env in the image)"


def test_nats_config_is_the_production_shape_and_valid(tmp_path: Path) -> None:
    conf = (DEPLOY / "nats" / "nats-server.conf").read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", conf, re.MULTILINE)
    assert re.search(r"^\s*store_dir:", conf, re.MULTILINE)
    assert re.search(r"^cluster\s*{", conf, re.MULTILINE) and "routes: $NATS_ROUTES" in conf
    assert "include ./auth.conf" in conf
    auth = (DEPLOY / "nats" / "auth.conf").read_text()
    assert "password: $DUCHA_NATS_PASSWORD" in auth
    binary = nats_server_binary()
    assert server_version(binary) >= (2, 12, 0)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = {k: str(v) for k, v in compose["services"]["n1"]["environment"].items()}
    env.update(DUCHA_NATS_PASSWORD="not-a-real-password", NATS_STORE_DIR=str(tmp_path))
    # nats-server checks the file with the environment compose gives node n1 ...
    ok = subprocess.run([binary, "-c", str(DEPLOY / "nats" / "nats-server.conf"), "-t"], check=False,
                        env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    # ... and refuses it when a setting (here the password) is missing
    env.pop("DUCHA_NATS_PASSWORD")
    bad = subprocess.run([binary, "-c", str(DEPLOY / "nats" / "nats-server.conf"), "-t"], check=False,
                         env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "DUCHA_NATS_PASSWORD" in bad.stderr + bad.stdout


def test_dockerfile_one_small_non_root_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert re.search(r"pip install \.", text), "installs the project from pyproject.toml"
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), "runs as a non-root user"
    assert re.search(r"^HEALTHCHECK .*", text, re.MULTILINE) and "/health" in text
    assert 'CMD ["python", "-m", "ducha.kernel.serve"' in text


def _k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for name in ("ducha.yaml", "postgres-cluster.yaml"):
        docs += [d for d in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if d]
    return docs


def test_kubernetes_services_two_replicas_probes_and_secrets() -> None:
    docs = _k8s_docs()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert services == set(SERVICES)
    for name, dep in deployments.items():
        assert dep["spec"]["replicas"] >= 2
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["command"][:4] == ["python", "-m", "ducha.kernel.serve", name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        env = {e["name"]: e for e in container["env"]}
        assert env["DUCHA_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "ducha-pg-app"
        assert env["DUCHA_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "ducha-nats"
        assert env["DUCHA_NATS_URL"]["value"].count("nats://") == 3
        assert container["envFrom"][0]["configMapRef"]["name"] == "ducha-config"
    notify = {e["name"]: e for e in deployments["notify"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert notify["DUCHA_NOTIFY_WEBHOOK_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "ducha-notify"
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert config["data"]["DUCHA_STREAM_REPLICAS"] == "3"
    assert not any(d["kind"] == "Secret" for d in docs), "secrets are created outside git"
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == set(SERVICES)


def test_kubernetes_postgres_and_nats_use_their_operators() -> None:
    docs = _k8s_docs()
    cluster = next(d for d in docs if d["kind"] == "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] >= 3 and "postgresql:15" in cluster["spec"]["imageName"]
    assert cluster["metadata"]["name"] + "-app" == "ducha-pg-app"
    assert any(d["kind"] == "ScheduledBackup" for d in docs)
    values = yaml.safe_load((DEPLOY / "k8s" / "nats-values.yaml").read_text())
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    js = values["config"]["jetstream"]
    assert js["enabled"] and js["fileStore"]["enabled"] and js["merge"]["sync_interval"] == "always"


def test_operations_endpoints_are_not_published() -> None:
    conf = (DEPLOY / "web" / "nginx.conf").read_text()
    blocked = re.search(r"location ~ (\S+) \{ return 404; \}", conf)
    assert blocked is not None
    for path in ("/metrics", "/docs", "/openapi.json", "/intake/metrics", "/notify/openapi.json", "/verification/docs",
                 "/rectification/redoc"):
        assert re.search(blocked.group(1), path), path
    assert not re.search(blocked.group(1), "/intake/v1/problems")
    ingress = next(d for d in _k8s_docs() if d["kind"] == "Ingress")
    paths = [p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    for name in SERVICES:
        for op in ("metrics", "docs", "openapi.json", "redoc/x"):
            assert not any(re.fullmatch(p, f"/{name}/{op}") for p in paths), (name, op)
        routed = [re.fullmatch(p, f"/{name}/v1/problems") for p in paths]
        assert any(m is not None and m.group(2) == "v1/problems" for m in routed), name
    config = next(d for d in _k8s_docs() if d["kind"] == "ConfigMap")
    assert config["data"]["DUCHA_PRODUCTION"] == "true"
