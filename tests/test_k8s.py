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
            "PersistentVolumeClaim", "NetworkPolicy"} <= kinds
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


def trainer_container(objects: list[dict]) -> dict:
    return by_kind(objects, "Job", "trainer")["spec"]["template"]["spec"]["containers"][0]


def test_trainer_job_runs_the_compose_trainer_command(rendered):
    """A first pod runs exactly the compose trainer's command (the shell wrapper's "$@" are its args)."""
    _, objects = rendered
    c = trainer_container(objects)
    expected = compose_trainer_command()
    assert expected[:4] == ["python", "-m", "trainer", "train"]
    assert c["command"][:2] == ["sh", "-c"] and 'exec python -m trainer "$@"' in c["command"][2]
    assert expected[:3] + c["args"] == expected


def run_wrapper(c: dict, results: Path, tmp_path: Path) -> str:
    """The trainer container's shell wrapper under a real sh, with `python` replaced by `echo`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").write_text('#!/bin/sh\necho "$@"\n')
    (bin_dir / "python").chmod(0o755)
    script = c["command"][2].replace("/app/results", str(results))
    out = subprocess.run(["sh", "-c", script, c["command"][3], *c["args"]], capture_output=True, text=True,
                         env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_retried_trainer_resumes_its_index_folder(rendered, tmp_path):
    """The output folder is keyed by the completion index (the same for every retry), and a pod that
    finds an unfinished run's last.pt there resumes it; a finished one (metrics.json) is not resumed."""
    _, objects = rendered
    c = trainer_container(objects)
    (results,) = [m for m in c["volumeMounts"] if m["name"] == "results"]
    assert results["subPathExpr"] == "trainer-$(JOB_INDEX)"
    index = next(e for e in c["env"] if e["name"] == "JOB_INDEX")
    assert index["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    folder = tmp_path / "results"
    assert run_wrapper(c, folder, tmp_path) == "-m trainer train --data /data --tracker both"  # first pod
    run = folder / "runs" / "20261128-mlflow"
    run.mkdir(parents=True)
    (run / "last.pt").write_bytes(b"")
    assert run_wrapper(c, folder, tmp_path) == f"-m trainer train --resume {run}"  # a retry
    (run / "metrics.json").write_text("{}")
    assert run_wrapper(c, folder, tmp_path) == "-m trainer train --data /data --tracker both"


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
    """W&B's own operator deploys its server; we ship only the custom resource's values: Redis
    included, every secret by reference, and a host a browser can reach (not a Service name)."""
    cr = yaml.safe_load((K8S / "wandb-server" / "weightsandbiases.example.yaml").read_text())
    assert cr["apiVersion"] == "apps.wandb.com/v1" and cr["kind"] == "WeightsAndBiases"
    values = cr["spec"]["values"]
    g = values["global"]
    assert {"host", "licenseSecret", "mysql", "bucket", "redis"} <= set(g) and values["redis"]["install"] is True
    assert g["licenseSecret"]["name"] == g["mysql"]["passwordSecret"]["name"] == g["bucket"]["secret"]["secretName"]
    assert "license" not in g and "password" not in g["mysql"]
    assert not {"accessKey", "secretKey"} & set(g["bucket"])
    assert ".svc" not in g["host"]  # an in-cluster name no browser resolves


WORKLOADS = ("Deployment", "StatefulSet", "Job")


def test_every_pod_meets_the_restricted_pod_security_profile(rendered):
    _, objects = rendered
    pods = list(pod_specs(objects))
    assert {o["kind"] for o, _ in pods} == set(WORKLOADS)
    for obj, pod in pods:
        sc = pod["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["seccompProfile"] == {"type": "RuntimeDefault"}, obj["metadata"]["name"]
    for obj, c in containers(objects):
        sc = c.get("securityContext", {})
        assert sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities") == {"drop": ["ALL"]}, \
            f"{obj['metadata']['name']}/{c['name']}"


def test_ingress_is_denied_unless_a_network_policy_allows_it(rendered):
    _, objects = rendered
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    postgres = policies["postgres-from-mlflow"]["ingress"][0]["from"]
    assert postgres == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mlflow"}}}]
    selected = {p["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") for p in policies.values()}
    labels = {o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] for o, _ in pod_specs(objects)}
    assert {"postgres", "minio", "mlflow"} <= selected <= labels | {None}  # every policy selects real pods


def test_jobs_wait_for_mlflow_and_the_data(rendered):
    """Jobs start at apply time: each that talks to MLflow waits for its /health first; trainers also
    for the data set's marker, which the data-loader Job's pod is there to receive (load-data.sh)."""
    _, objects = rendered
    for name in ("trainer", "load-benchmark"):
        (init,) = by_kind(objects, "Job", name)["spec"]["template"]["spec"]["initContainers"]
        assert init["command"] == ["python", "-m", "infra.k8s_wait"]
        assert init["args"][:2] == ["--url", "http://mlflow:5000/health"]
    trainer_init = by_kind(objects, "Job", "trainer")["spec"]["template"]["spec"]["initContainers"][0]
    assert trainer_init["args"][2:] == ["--file", "/data/.loaded"]
    loader = by_kind(objects, "Job", "data-loader")["spec"]["template"]["spec"]
    assert loader["containers"][0]["args"][:2] == ["--file", "/data/.loaded"]
    assert loader["volumes"][0]["persistentVolumeClaim"]["claimName"] == "xray-data"
    assert "readOnly" not in loader["containers"][0]["volumeMounts"][0]  # it writes the data set
    script = (K8S / "load-data.sh").read_text()
    assert "kubectl -n \"$ns\" cp" in script and "touch /data/.loaded" in script


def test_k8s_wait_waits_for_a_real_server_and_a_file(tmp_path):
    import http.server
    import threading
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    marker = tmp_path / ".loaded"
    marker.write_text("")
    try:
        out = subprocess.run([sys.executable, "-m", "infra.k8s_wait", "--url", f"http://127.0.0.1:{server.server_port}/",
                              "--file", str(marker), "--timeout", "20"], capture_output=True, text=True, timeout=60,
                             cwd=PROJECT_ROOT)
    finally:
        server.shutdown()
    assert out.returncode == 0 and out.stderr.strip().endswith("ready"), out.stderr
    missing = subprocess.run([sys.executable, "-m", "infra.k8s_wait", "--file", str(tmp_path / "none"), "--timeout", "1"],
                             capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert missing.returncode == 2 and "was not healthy after 1 s" in missing.stderr


def test_mlflow_allows_localhost_on_any_port(rendered):
    """`kubectl port-forward svc/mlflow 5001:5000` sends Host: localhost:5001."""
    _, objects = rendered
    args = by_kind(objects, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]["args"]
    allowed = args[args.index("--allowed-hosts") + 1].split(",")
    assert {"localhost:*", "127.0.0.1:*", "mlflow:5000"} <= set(allowed)


def render(root: Path, overlay: str, env: dict[str, str]) -> list[dict]:
    (root / "base" / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    out = subprocess.run([KUBECTL, "kustomize", root / "overlays" / overlay], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [o for o in yaml.safe_load_all(out.stdout) if o]


def test_a_second_apply_after_a_changed_secret_leaves_the_jobs_unchanged(tmp_path, stack_env):
    """A Job's pod template is immutable: a changed setting must not rename what the Jobs refer to."""
    root = tmp_path / "k8s"
    shutil.copytree(K8S, root, ignore=shutil.ignore_patterns(".env"))
    first = render(root, "laptop", stack_env)
    second = render(root, "laptop", {**stack_env, "POSTGRES_PASSWORD": "changed-" + secrets.token_hex(8)})
    jobs = lambda objs: [o for o in objs if o["kind"] == "Job"]  # noqa: E731
    assert jobs(first) == jobs(second) and len(jobs(first)) == 4
    assert {o["metadata"]["name"] for o in first if o["kind"] in ("Secret", "ConfigMap")} == {"stack-secrets", "stack-config"}
    assert by_kind(first, "Secret", "stack-secrets") != by_kind(second, "Secret", "stack-secrets")


def test_the_cluster_overlay_pulls_the_built_images_from_a_registry(rendered):
    overlay, objects = rendered
    images = {c["image"] for _, c in containers(objects)}
    built = {i for i in images if "xray-trackbench/" in i}
    assert {i.rsplit("/", 1)[-1].split(":")[0] for i in built} == {"mlflow", "trainer", "minio"}
    if overlay == "cluster":
        assert all(i.startswith("registry.example.com/xray-trackbench/") for i in built)
    else:
        assert all(i.startswith("xray-trackbench/") for i in built)


def test_k8s_images_builds_and_loads_every_image_the_manifests_use(rendered):
    from infra import k8s_images
    _, objects = rendered
    used = {c["image"].split("/", 1)[-1] if c["image"].startswith("registry.") else c["image"]
            for _, c in containers(objects) if "xray-trackbench/" in c["image"]}
    kind = k8s_images.plan("auto", None, "kind-lab")
    assert {cmd[3] for cmd in kind if cmd[:2] == ["docker", "build"]} == used
    assert {cmd[3] for cmd in kind if cmd[:3] == ["kind", "load", "docker-image"]} == used
    assert all(cmd[-2:] == ["--name", "lab"] for cmd in kind if cmd[0] == "kind")
    mini = k8s_images.plan("auto", None, "minikube")
    assert sum(cmd[:3] == ["minikube", "image", "load"] for cmd in mini) == len(used)
    pushed = k8s_images.plan("auto", "registry.example.com", None)
    assert {cmd[2] for cmd in pushed if cmd[:2] == ["docker", "push"]} == {f"registry.example.com/{i}" for i in used}
    with pytest.raises(k8s_images.UserError, match="neither kind"):
        k8s_images.plan("auto", None, "prod-eks")
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^k8s-images: .*\n\t\$\(PY\) -m infra\.k8s_images$", makefile, re.M)
