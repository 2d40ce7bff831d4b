"""deploy/k8s, checked offline (no cluster here): both overlays render with the
kustomize inside kubectl, every object validates against the Kubernetes schemas,
and the rules the stack keeps everywhere hold in the manifests too."""
from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from trainer.paths import PROJECT_ROOT

K8S = PROJECT_ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.34.0"  # the version the manifests are validated against (README)
OVERLAYS = ("laptop", "cluster")
SERVERS = ("Deployment", "StatefulSet")
KUBECTL = Path(sys.executable).parent / "kubectl"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY|TOKEN")


def pod_specs(objects: list[dict]):
    for obj in objects:
        spec = obj.get("spec", {})
        if "template" in spec:
            yield obj, spec["template"]["spec"]


def containers(objects: list[dict]):
    for obj, pod in pod_specs(objects):
        for c in pod.get("initContainers", []) + pod["containers"]:
            yield obj, c


def secret_env(container: dict) -> set[str]:
    """Variables holding a secret: read from a secret key named like one, or built from one."""
    held = {e["name"] for e in container.get("env", [])
            if SECRET_NAME.search(e.get("valueFrom", {}).get("secretKeyRef", {}).get("key", ""))}
    for e in container.get("env", []):  # $(VAR) references are resolved in order
        if any(f"$({name})" in e.get("value", "") for name in held):
            held.add(e["name"])
    return held


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """The committed example with every empty (secret) value filled at random."""
    env = {}
    for line in (K8S / "base" / "stack.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value or f"{key.lower()}-{secrets.token_hex(8)}"
    return env


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request, tmp_path_factory, stack_env) -> tuple[str, list[dict]]:
    """`kubectl kustomize` of one overlay, from a copy of deploy/k8s with its .env written."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root, ignore=shutil.ignore_patterns(".env"))
    (root / "base" / ".env").write_text("".join(f"{k}={v}\n" for k, v in stack_env.items()))
    out = subprocess.run([KUBECTL, "kustomize", root / "overlays" / request.param],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return request.param, [o for o in yaml.safe_load_all(out.stdout) if o]


def by_kind(objects: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_every_object_validates_against_the_kubernetes_schemas(rendered):
    _, objects = rendered
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Secret", "ConfigMap", "Service", "StatefulSet", "Deployment", "Job",
            "PersistentVolumeClaim"} <= kinds
    for obj in objects:  # strict: an unknown or misplaced field fails too
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_misplaced_field_fails_validation(rendered):
    """The validation above can fail: the same Deployment with a typo does."""
    _, objects = rendered
    broken = json.loads(json.dumps(by_kind(objects, "Deployment", "mlflow")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/health"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_container_has_requests_and_limits(rendered):
    _, objects = rendered
    for obj, c in containers(objects):
        for side in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c.get("resources", {}).get(side, {})), \
                f"{obj['kind']}/{obj['metadata']['name']}: {c['name']} lacks {side}"


def test_every_server_has_readiness_and_liveness_probes(rendered):
    _, objects = rendered
    servers = [(o, c) for o, c in containers(objects) if o["kind"] in SERVERS]
    assert {o["metadata"]["name"] for o, _ in servers} == {"postgres", "minio", "mlflow"}
    for obj, c in servers:
        assert "readinessProbe" in c and "livenessProbe" in c, obj["metadata"]["name"]
    mlflow = by_kind(objects, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    assert mlflow["readinessProbe"]["httpGet"]["path"] == mlflow["livenessProbe"]["httpGet"]["path"] == "/health"


def test_images_are_pinned_to_exact_tags(rendered):
    _, objects = rendered
    for obj, c in containers(objects):
        repo, _, tag = c["image"].rpartition(":")
        assert repo and "/" not in tag and re.search(r"\d", tag) and tag != "latest", c["image"]


def test_images_match_the_compose_file(rendered):
    """Same server versions on Kubernetes as in docker-compose.yml (matched by image name)."""
    _, objects = rendered
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    tags = {img.rpartition(":")[0].rsplit("/", 1)[-1]: img.rpartition(":")[2]
            for img in (s.get("image") for s in compose.values()) if img}
    used = {c["image"] for _, c in containers(objects)}
    for image in used:
        name, tag = image.rpartition(":")[0].rsplit("/", 1)[-1], image.rpartition(":")[2]
        assert name in tags, f"{image} is not in docker-compose.yml"
        assert tags[name] == tag, f"{image}: compose uses tag {tags[name]}"


def test_no_secret_value_outside_the_secret(rendered, stack_env):
    _, objects = rendered
    secret_values = [v for k, v in stack_env.items() if SECRET_NAME.search(k)]
    assert len(secret_values) >= 5
    secret = next(o for o in objects if o["kind"] == "Secret")
    stored = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert stored == stack_env  # the generator read the file the test wrote
    text = yaml.safe_dump_all([o for o in objects if o["kind"] != "Secret"])
    for value in secret_values:
        assert value not in text


def test_no_secret_reaches_a_command_line(rendered):
    """Secrets reach containers by environment; no command, argument or exec probe expands one."""
    _, objects = rendered
    for obj, c in containers(objects):
        held = secret_env(c)
        argv = c.get("command", []) + c.get("args", [])
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            argv += c.get(probe, {}).get("exec", {}).get("command", [])
        for name in held:
            pattern = re.compile(rf"\$\({name}\)|\${name}\b|\$\{{{name}\}}")
            assert not any(pattern.search(a) for a in argv), f"{obj['metadata']['name']}/{c['name']} puts {name} in argv"
        for e in c.get("env", []):
            assert not (SECRET_NAME.search(e["name"]) and "value" in e and "$(" not in e["value"]), \
                f"{c['name']}: {e['name']} is written into the manifest"
    mlflow = by_kind(objects, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    assert "MLFLOW_BACKEND_STORE_URI" in secret_env(mlflow)  # the URI with the password is env-only


def compose_trainer_command() -> list[str]:
    """The compose trainer's entrypoint + command, from the compose file or its Dockerfile."""
    service = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]["trainer"]
    dockerfile = PROJECT_ROOT / service["build"].get("context", ".") / service["build"]["dockerfile"]
    instructions = {m[0]: json.loads(m[1]) for m in re.findall(r"^(ENTRYPOINT|CMD)\s+(\[.*\])\s*$",
                                                                dockerfile.read_text(), re.M)}
    as_list = lambda v: v.split() if isinstance(v, str) else list(v)  # noqa: E731
    entrypoint = as_list(service.get("entrypoint", instructions.get("ENTRYPOINT", [])))
    command = as_list(service.get("command", instructions.get("CMD", [])))
    return entrypoint + command


def test_trainer_job_runs_the_compose_trainer_command(rendered):
    overlay, objects = rendered
    job = by_kind(objects, "Job", "trainer")
    c = job["spec"]["template"]["spec"]["containers"][0]
    expected = compose_trainer_command()
    assert expected[:4] == ["python", "-m", "trainer", "train"]
    assert c["command"] + c["args"] == expected


def test_trainer_is_an_indexed_job_and_the_cluster_one_gets_gpus(rendered):
    overlay, objects = rendered
    job = by_kind(objects, "Job", "trainer")["spec"]
    assert job["completionMode"] == "Indexed" and job["parallelism"] == job["completions"]
    resources = job["template"]["spec"]["containers"][0]["resources"]
    if overlay == "cluster":
        assert job["completions"] > 1
        assert resources["limits"]["nvidia.com/gpu"] == 1
        assert job["template"]["spec"]["nodeSelector"]
        assert by_kind(objects, "Deployment", "mlflow")["spec"]["replicas"] > 1
    else:
        assert job["completions"] == 1 and "nvidia.com/gpu" not in resources["limits"]
        assert by_kind(objects, "Deployment", "mlflow")["spec"]["replicas"] == 1


def test_load_job_runs_the_capacity_module(rendered):
    import importlib.util
    _, objects = rendered
    c = by_kind(objects, "Job", "load-benchmark")["spec"]["template"]["spec"]["containers"][0]
    assert c["command"][:2] == ["python", "-m"]
    assert importlib.util.find_spec(c["command"][2]) is not None, c["command"][2]


def test_wandb_is_referenced_not_rewritten():
    """W&B's own operator deploys its server; we ship only the custom resource's values."""
    cr = yaml.safe_load((K8S / "wandb-server" / "weightsandbiases.example.yaml").read_text())
    assert cr["apiVersion"] == "apps.wandb.com/v1" and cr["kind"] == "WeightsAndBiases"
    values = cr["spec"]["values"]["global"]
    assert {"host", "license", "mysql", "bucket"} <= set(values)
    assert all(v == "CHANGE_ME" for k, v in values["bucket"].items() if k.endswith("Key"))
