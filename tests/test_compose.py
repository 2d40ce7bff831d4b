"""Static checks of the compose stack: no Docker engine runs here."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainer.config import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
SERVERS = ("postgres", "minio", "mlflow", "wandb")
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
    assert s["create-bucket"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert s["create-bucket"]["restart"] == "no"
    assert s["mlflow"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                         "create-bucket": {"condition": "service_completed_successfully"}}
    assert s["trainer"]["depends_on"]["mlflow"] == {"condition": "service_healthy"}


def test_trainer_reserves_a_gpu_and_is_not_started_by_up(spec):
    t = spec["services"]["trainer"]
    device = t["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["capabilities"] == ["gpu"] and device["driver"] == "nvidia"
    assert t["profiles"] == ["trainer"]


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
