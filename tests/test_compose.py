"""Static checks of the compose stack: no Docker engine runs here."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainer.paths import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
SERVERS = ("postgres", "minio", "seaweedfs", "mlflow", "wandb")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(COMPOSE.read_text())


def test_validates_against_the_compose_spec_schema():
    out = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("dockerfile", sorted((PROJECT_ROOT / "services").glob("*/Dockerfile")))
def test_dockerfiles_pass_hadolint(dockerfile):
    out = subprocess.run([BIN / "hadolint", dockerfile], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_server_has_a_healthcheck(spec):
    for name in SERVERS:
        assert spec["services"][name]["healthcheck"]["test"], name


def test_dependencies_wait_for_health_and_bucket(spec):
    s = spec["services"]
    # whichever S3 server's profile runs: the other is skipped (required: false)
    assert s["create-bucket"]["depends_on"] == {name: {"condition": "service_healthy", "required": False}
                                                for name in ("minio", "seaweedfs")}
    assert s["create-bucket"]["restart"] == "no"
    assert s["mlflow"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                         "create-bucket": {"condition": "service_completed_successfully"}}
    assert s["trainer"]["depends_on"]["mlflow"] == {"condition": "service_healthy"}


def test_gpu_reservation_is_in_its_own_profile_and_up_starts_no_trainer(spec):
    """Hosts without the NVIDIA runtime still start the stack: only `trainer-gpu` reserves a GPU."""
    cpu, gpu = spec["services"]["trainer"], spec["services"]["trainer-gpu"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["capabilities"] == ["gpu"] and device["driver"] == "nvidia"
    assert "deploy" not in cpu
    assert cpu["profiles"] == ["trainer"] and gpu["profiles"] == ["gpu"]
    assert {k: v for k, v in gpu.items() if k not in ("deploy", "profiles")} == \
        {k: v for k, v in cpu.items() if k != "profiles"}  # one container, two devices


def test_trainer_uses_the_hosts_urls_its_uid_and_the_make_data_folder(spec):
    t = spec["services"]["trainer"]
    assert t["network_mode"] == "host"
    env = t["environment"]
    assert env["MLFLOW_TRACKING_URI"] == "http://${STACK_PUBLIC_HOST:-127.0.0.1}:${MLFLOW_PORT:-5000}"
    assert env["WANDB_BASE_URL"] == "http://${STACK_PUBLIC_HOST:-127.0.0.1}:${WANDB_PORT:-8080}"
    assert spec["services"]["wandb"]["environment"]["HOST"] == env["WANDB_BASE_URL"]  # signed upload URLs
    assert env["WANDB_API_KEY"] == "${WANDB_API_KEY:-}"
    assert t["user"] == "${TRAINER_UID:-1000}:${TRAINER_GID:-1000}"
    assert "${DATA_DIR:-./data/synthetic}:/data:ro" in t["volumes"]
    make_data = re.search(r"make-data --out (\S+)", (PROJECT_ROOT / "Makefile").read_text()).group(1)
    assert re.search(r"^DATA_DIR=\./" + re.escape(make_data) + "$", (PROJECT_ROOT / ".env.example").read_text(), re.M)


def test_trainer_image_pins_the_hosts_torch_and_installs_dependencies_before_code():
    """Dependencies come from pyproject.toml alone, in a layer before any COPY of code: a code edit
    rebuilds only the layers after it. torch/torchvision are the host's pins, never a second pin."""
    dockerfile = (PROJECT_ROOT / "services/trainer/Dockerfile").read_text()
    steps = [line.split()[0] + " " + " ".join(line.split()[1:3]) for line in dockerfile.splitlines()
             if re.match(r"^(COPY|RUN) ", line)]
    deps = next(i for i, step in enumerate(steps) if step.startswith("RUN python -c"))
    code = [i for i, step in enumerate(steps) if re.match(r"COPY (trainer|infra|benchmarks|config) ", step)]
    assert steps[:deps] == ["COPY pyproject.toml README.md"] and code and min(code) > deps, steps
    assert "-r /tmp/requirements.txt" in dockerfile and re.search(r"pip install --no-cache-dir --no-deps -e \.", dockerfile)
    assert "torch==" not in re.sub(r"#.*", "", dockerfile)  # no second, different pin
    pins = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert '"torch==2.14.1"' in pins and '"torchvision==0.29.1"' in pins


def test_a_code_edit_would_fail_the_layer_order_check():
    """The check above can fail: the old order (code copied, then everything installed) is caught."""
    old = ["COPY pyproject.toml README.md", "COPY trainer trainer", "RUN pip install"]
    assert not any(step.startswith("RUN python -c") for step in old)


def test_cpu_only_torch_is_a_build_argument(spec):
    dockerfile = (PROJECT_ROOT / "services/trainer/Dockerfile").read_text()
    assert "ARG TORCH_VARIANT=cuda" in dockerfile and "download.pytorch.org/whl/cpu" in dockerfile
    assert spec["services"]["trainer"]["build"]["args"] == {"TORCH_VARIANT": "${TORCH_VARIANT:-cuda}"}


def test_gpu_through_cdi_has_its_own_service(spec):
    cdi = spec["services"]["trainer-gpu-cdi"]
    (device,) = cdi["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "cdi" and device["device_ids"] == ["nvidia.com/gpu=all"]
    assert cdi["profiles"] == ["gpu-cdi"] and cdi["image"] == spec["services"]["trainer"]["image"]


def test_wandb_runs_as_amd64_and_may_start_slowly(spec):
    wandb = spec["services"]["wandb"]
    assert wandb["platform"] == "linux/amd64"  # the only platform wandb/local is published for
    assert wandb["healthcheck"]["start_period"] == "600s"


def test_each_s3_server_is_a_profile_that_mlflow_and_the_bucket_job_follow(spec):
    s = spec["services"]
    assert s["minio"]["profiles"] == ["minio"] and s["seaweedfs"]["profiles"] == ["seaweedfs"]
    assert s["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://${S3_SERVER:-minio}:9000"
    assert s["create-bucket"]["environment"]["MC_HOST_local"].endswith("@${S3_SERVER:-minio}:9000")
    assert "-s3.port=9000" in s["seaweedfs"]["command"]
    assert s["minio"]["ports"][0] == s["seaweedfs"]["ports"][0]  # one S3_PORT for the host's clients
    assert re.search(r"^S3_SERVER=minio$", (PROJECT_ROOT / ".env.example").read_text(), re.M)


def test_readiness_checks(spec):
    s = spec["services"]
    assert "pg_isready -h 127.0.0.1" in s["postgres"]["healthcheck"]["test"][1]
    assert s["wandb"]["healthcheck"]["test"][-1] == "http://localhost:8080/ready"


def test_mlflow_allows_the_public_host_header(spec):
    allowed = spec["services"]["mlflow"]["environment"]["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert "${STACK_PUBLIC_HOST:-127.0.0.1}:${MLFLOW_PORT:-5000}" in allowed and "mlflow:5000" in allowed


def test_ports_bind_to_loopback_by_default(spec):
    for name, service in spec["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("${STACK_BIND_HOST:-127.0.0.1}:"), f"{name}: {port}"


def test_no_literal_secret_and_required_ones_fail_loudly(spec):
    secretish = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|ROOT_USER|LICENSE|API_KEY")
    for name, service in spec["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if secretish.search(key):
                assert re.fullmatch(r"\$\{\w+(:[?-][^}]*)?\}", str(value)), f"{name}.{key} is not taken from .env"
    text = COMPOSE.read_text()
    for secret in ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} should be required with ${{VAR:?message}}"


def test_every_variable_used_is_documented_in_env_example():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    documented = set(re.findall(r"^(\w+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M))
    assert used - documented == set()


def test_env_example_commits_no_secret_values():
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        key, _, value = line.partition("=")
        if any(w in key for w in ("PASSWORD", "SECRET", "ACCESS_KEY", "LICENSE", "API_KEY")):
            assert value == "", f"{key} has a value in .env.example"


SECRET_VARS = ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY", "MLFLOW_ADMIN_PASSWORD", "MLFLOW_SECRET_KEY",
               "WANDB_API_KEY", "WANDB_LICENSE", "MLFLOW_BACKEND_STORE_URI", "MC_HOST_", "MINIO_ROOT_PASSWORD",
               "AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_PASSWORD")


def test_no_secret_in_any_command_line(spec):
    """Arguments are visible to every process (ps, /proc): secrets go by environment only."""
    for name, service in spec["services"].items():
        for field in ("command", "entrypoint"):
            text = str(service.get(field) or "")
            assert not [v for v in SECRET_VARS if v in text], f"{name}.{field}: {text}"
        text = str((service.get("healthcheck") or {}).get("test") or "")
        assert not [v for v in SECRET_VARS if v in text], f"{name}.healthcheck: {text}"
    entrypoint = (PROJECT_ROOT / "services/mlflow/entrypoint.sh").read_text()
    exec_line = entrypoint[entrypoint.index("exec mlflow server"):]
    assert not [v for v in (*SECRET_VARS, "POSTGRES_USER", "postgresql") if v in exec_line], exec_line


def test_secret_checks_catch_a_secret_in_a_command(spec):
    """The check above can fail: the old mc command line (keys as arguments) is caught."""
    old = "mc alias set local http://minio:9000 \"$${S3_ACCESS_KEY}\" \"$${S3_SECRET_KEY}\""
    assert [v for v in SECRET_VARS if v in old] == ["S3_ACCESS_KEY", "S3_SECRET_KEY"]


def test_bucket_job_takes_its_keys_from_mc_host():
    spec = yaml.safe_load(COMPOSE.read_text())
    job = spec["services"]["create-bucket"]
    assert job["environment"]["MC_HOST_local"].startswith("http://${S3_ACCESS_KEY:?")
    assert job["command"][:2] == ["mb", "--ignore-existing"] and "entrypoint" not in job
