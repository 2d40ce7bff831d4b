"""The compose-only code paths that need no Docker engine: the client env and its API key,
what `up` prints, the checks before `up`, and the `docker compose run` commands built."""
from __future__ import annotations

import os
import stat

import pytest

from infra import cli, compose
from infra.settings import load_settings, write_client_env
from trainer.errors import UserError

KEY = "local-" + "ab" * 20


@pytest.fixture
def settings(tmp_path):
    return load_settings(env_file=tmp_path / ".env", state_dir=tmp_path / "state", mlflow_port=5123, wandb_port=8123)


def test_client_env_carries_the_api_key_in_a_private_file(settings):
    env = compose.client_env(settings, {"WANDB_API_KEY": KEY})
    assert env["WANDB_API_KEY"] == KEY and env["WANDB_MODE"] == "online"
    assert env["WANDB_BASE_URL"] == "http://127.0.0.1:8123" and env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5123"
    path = write_client_env(settings, env)
    assert f"WANDB_API_KEY={KEY}" in path.read_text().splitlines()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    offline = compose.client_env(settings, {"WANDB_API_KEY": ""})
    assert offline["WANDB_MODE"] == "offline" and "WANDB_API_KEY" not in offline


def test_client_env_uses_the_public_host(settings):
    s = settings.__class__(**{**settings.__dict__, "bind_host": "0.0.0.0", "public_host": "gpu-box.lan"})
    env = compose.client_env(s, {})
    assert env["MLFLOW_TRACKING_URI"] == "http://gpu-box.lan:5123" and env["WANDB_BASE_URL"] == "http://gpu-box.lan:8123"


def test_compose_up_writes_the_key_never_prints_it_and_says_what_is_missing(tmp_path, settings, monkeypatch, capsys):
    """`python -m infra up` in compose mode, with the docker calls replaced (no engine runs here;
    tests/test_compose_smoke.py runs the real thing where one does)."""
    env_file = tmp_path / ".env"
    env_file.write_text(env_file.read_text() + f"WANDB_API_KEY={KEY}\n")
    monkeypatch.setattr(cli, "ENV_FILE", env_file)
    monkeypatch.setattr(compose, "up", lambda s: None)
    monkeypatch.setattr(cli.compose_probe, "poll_ps", lambda: [])
    monkeypatch.setattr(cli.preflight, "engine_info", lambda: "{}")
    monkeypatch.setattr(cli.preflight, "compose_findings", lambda env, client, running, info: [])
    no_gpu = compose.trainer_service("{}")
    monkeypatch.setattr(compose, "trainer_service", lambda: no_gpu)
    cli.cmd_up("compose", settings)
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    client = settings.state_dir / "client.env"
    assert f"WANDB_API_KEY={KEY}" in client.read_text() and stat.S_IMODE(client.stat().st_mode) == 0o600
    assert "still missing: WANDB_LICENSE is empty" in out.err and "make wandb-setup" in out.err
    assert "W&B server query latency" in out.err  # which figures the benchmark will lack
    assert "trainer container on the CPU" in out.err


def test_the_trainer_cli_picks_the_key_up_from_client_env(settings, monkeypatch):
    """`python -m trainer` loads .stack/client.env: the key written by `up` reaches the W&B SDK."""
    from trainer.trackers import location
    path = write_client_env(settings, compose.client_env(settings, {"WANDB_API_KEY": KEY}))
    for k in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL", "MLFLOW_TRACKING_URI", "XRAY_STACK_MODE"):
        monkeypatch.setenv(k, "")  # recorded, so what apply_stack_env adds is undone after the test
        monkeypatch.delenv(k)      # (it writes os.environ itself; a leak sent later tests' W&B online)
    monkeypatch.setattr(location, "CLIENT_ENV", path)
    location.apply_stack_env()
    assert os.environ["WANDB_API_KEY"] == KEY and location.wandb_mode() == "online"


def test_missing_licence_and_key_each_say_what_to_do():
    notes = compose.missing_for_wandb({})
    assert any("WANDB_LICENSE is empty" in n and "make wandb-setup" in n for n in notes)
    assert any("WANDB_API_KEY is empty" in n and "make wandb-setup" in n for n in notes)
    assert "leaves out" in notes[-1] and all(f in notes[-1] for f in compose.WANDB_FIGURES)
    assert compose.missing_for_wandb({"WANDB_LICENSE": "l", "WANDB_API_KEY": "k"}) == []


def test_a_licence_pasted_in_the_ui_leaves_no_warning():
    """`make wandb-setup` writes WANDB_LICENSE_IN_UI=true when the licence went into the UI."""
    assert compose.missing_for_wandb({"WANDB_LICENSE_IN_UI": "true", "WANDB_API_KEY": "k"}) == []
    assert compose.missing_for_wandb({"WANDB_LICENSE_IN_UI": "false", "WANDB_API_KEY": "k"})


@pytest.mark.parametrize("bind, public, bad", [
    ("127.0.0.1", "127.0.0.1", None),
    ("0.0.0.0", "127.0.0.1", None),
    ("0.0.0.0", "gpu-box.lan", None),
    ("192.168.1.5", "192.168.1.5", None),
    ("192.168.1.5", "gpu-box.lan", None),
    ("127.0.0.1", "192.168.1.5", "binds to 127.0.0.1 only"),
    ("192.168.1.5", "127.0.0.1", "publishes no port on 127.0.0.1"),
    ("192.168.1.5", "10.0.0.2", "is not STACK_BIND_HOST"),
])
def test_bind_and_public_host_must_agree(bind, public, bad):
    problem = compose.host_problem(bind, public)
    assert (problem is None) if bad is None else (bad in problem and ".env" in problem or "STACK_BIND_HOST" in problem)


def test_up_refuses_hosts_that_cannot_work(settings):
    s = settings.__class__(**{**settings.__dict__, "bind_host": "192.168.1.5"})
    with pytest.raises(UserError, match="STACK_PUBLIC_HOST=192.168.1.5"):
        compose.up(s)


def test_up_builds_waits_and_makes_the_results_folder(settings, monkeypatch, tmp_path):
    """The docker call itself is recorded, not run: no engine here."""
    calls = []
    monkeypatch.setattr(compose, "compose", lambda *args, **kw: calls.append(args))
    monkeypatch.setattr(compose, "RESULTS", tmp_path / "results")
    compose.up(settings)
    assert calls == [("up", "-d", "--wait", "--build")] and (tmp_path / "results").is_dir()


RUNC = '"Runtimes":{"io.containerd.runc.v2":{"path":"runc"},"runc":{"path":"runc"}}'


@pytest.mark.parametrize("info, service", [
    ('{"Runtimes":{"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}}', "trainer-gpu"),
    ('{' + RUNC + ',"DiscoveredDevices":[{"Source":"cdi","ID":"nvidia.com/gpu=all"},'
     '{"Source":"cdi","ID":"nvidia.com/gpu=0"}]}', "trainer-gpu-cdi"),
    ('{' + RUNC + ',"DiscoveredDevices":[{"Source":"cdi","ID":"vendor.com/fpga=0"}]}', "trainer"),
    ('{' + RUNC + '}', "trainer"),
    ("", "trainer"),
    ("not json", "trainer"),
])
def test_gpu_service_from_the_nvidia_runtime_or_cdi(info, service):
    picked = compose.trainer_service(info)
    assert picked.name == service
    assert ("CPU" in picked.why) == (service == "trainer")
    assert picked.torch_variant == ("cpu" if service == "trainer" else "cuda")
    assert compose.PROFILES[service] in ("trainer", "gpu", "gpu-cdi")


def test_the_trainer_image_is_built_with_cpu_torch_where_no_gpu_is_reachable():
    cpu, gpu = compose.TrainerService("trainer", ""), compose.TrainerService("trainer-gpu-cdi", "")
    assert compose.build_trainer_args(cpu) == ("--profile", "trainer", "build", "--build-arg", "TORCH_VARIANT=cpu",
                                               "trainer")
    assert "TORCH_VARIANT=cuda" in compose.build_trainer_args(gpu)


def test_run_command_names_the_profile_and_passes_no_secret():
    cmd = compose.run_in_trainer(compose.TrainerService("trainer-gpu", ""), ["train", "--data", "/data"],
                                 {"WANDB_MODE": "offline"})
    assert cmd[:2] == ["docker", "compose"] and str(compose.COMPOSE_FILE) in cmd
    i = cmd.index("run")
    assert cmd[i - 2:i] == ["--profile", "gpu"]
    assert cmd[i:] == ["run", "--rm", "-T", "-e", "WANDB_MODE=offline", "trainer-gpu", "train", "--data", "/data"]


def test_host_paths_map_into_the_container(tmp_path):
    run_dir = compose.RESULTS / "bench-1" / "first-run"
    assert compose.in_container(run_dir) == "/app/results/bench-1/first-run"
    data = tmp_path / "data"
    assert compose.in_container(data / "train", data_dir=data) == "/data/train"
    with pytest.raises(UserError, match="cannot see it"):
        compose.in_container(tmp_path / "elsewhere")


def test_compose_env_passes_the_invoking_uid(monkeypatch):
    monkeypatch.delenv("TRAINER_UID", raising=False)
    assert compose.compose_env()["TRAINER_UID"] == str(os.getuid())


def test_every_compose_command_starts_the_s3_server_of_env(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("S3_SERVER=seaweedfs\n")
    assert compose.s3_profile(env) == "seaweedfs"
    monkeypatch.setattr(compose, "ENV_FILE", env)
    cmd = compose.compose_cmd("up", "-d")
    assert cmd[cmd.index("--profile") + 1] == "seaweedfs" and cmd[-2:] == ["up", "-d"]
    env.write_text("S3_SERVER=\n")
    assert compose.s3_profile(env) == "minio"  # the default
    env.write_text("S3_SERVER=ceph\n")
    with pytest.raises(UserError, match="S3_SERVER='ceph'"):
        compose.s3_profile(env)
