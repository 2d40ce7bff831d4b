"""Which stack `make up` starts and why (never a silent fallback), and the pre-flight checks
before `docker compose up`: each is a pure function of what docker, the shell and the host
report, so each runs here without a Docker engine."""
from __future__ import annotations

import socket
import subprocess

import pytest

from infra import cli, preflight
from infra.preflight import EngineProbe, Level
from infra.settings import load_settings
from trainer.errors import UserError

GROUP = ("permission denied while trying to connect to the Docker daemon socket at "
         "unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info\": dial unix "
         "/var/run/docker.sock: connect: permission denied")
DAEMON = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"


def never(): raise AssertionError("docker probed although the choice was already made")  # noqa: E704


def test_failing_docker_info_says_why_how_to_fix_and_the_override():
    choice = preflight.choose_mode("auto", {}, None, lambda: EngineProbe(True, False, GROUP))
    assert choice.mode == "native"
    assert "docker.sock: connect: permission denied" in choice.warning
    assert "usermod -aG docker" in choice.warning and "STACK_MODE=compose make up" in choice.warning
    daemon = preflight.choose_mode("auto", {}, None, lambda: EngineProbe(True, False, DAEMON))
    assert "systemctl start docker" in daemon.warning and "Docker Desktop" in daemon.warning


@pytest.mark.parametrize("flag, env, marker, probe, mode, why", [
    ("auto", {}, None, EngineProbe(True, True), "compose", "Docker engine answers"),
    ("auto", {}, None, EngineProbe(False, False), "native", "no `docker` command"),
    ("auto", {"STACK_MODE": "compose"}, None, None, "compose", "STACK_MODE=compose"),
    ("auto", {"STACK_MODE": "Native"}, "native", None, "native", "STACK_MODE=native"),
    ("auto", {}, "compose", None, "compose", ".stack/mode"),
    ("native", {"STACK_MODE": "compose"}, "compose", None, "native", "--mode native"),
])
def test_who_decides(flag, env, marker, probe, mode, why):
    choice = preflight.choose_mode(flag, env, marker, (lambda: probe) if probe else never)
    assert choice.mode == mode and why in choice.why and not choice.warning


def test_an_override_against_the_marker_says_the_other_stack_keeps_running():
    choice = preflight.choose_mode("auto", {"STACK_MODE": "compose"}, "native", never)
    assert choice.mode == "compose" and "`STACK_MODE=native make down` stops it" in choice.warning


def test_a_bad_override_names_the_value():
    with pytest.raises(UserError, match="STACK_MODE='podman'"):
        preflight.choose_mode("auto", {"STACK_MODE": "podman"}, None, never)


def test_probe_reads_the_first_error_line(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "which", lambda name: "/usr/bin/docker")
    failed = subprocess.CompletedProcess([], 1, "", f"\n{DAEMON}\nmore\n")
    assert preflight.probe_engine(lambda *a, **k: failed) == EngineProbe(True, False, DAEMON)
    ok = subprocess.CompletedProcess([], 0, '"28.2.2"', "")
    assert preflight.probe_engine(lambda *a, **k: ok).answers


def test_up_prints_the_choice_and_the_fallback_warning(tmp_path, monkeypatch, capsys):
    """`python -m infra up` with `docker info` failing: the warning, then which stack; the native
    start itself is replaced (tests/test_stack.py runs the real one)."""
    monkeypatch.setattr(cli, "load_settings", lambda: load_settings(env_file=tmp_path / ".env",
                                                                    state_dir=tmp_path / "state"))
    monkeypatch.setattr(preflight, "probe_engine", lambda: EngineProbe(True, False, GROUP))
    monkeypatch.delenv("STACK_MODE", raising=False)
    started = []
    monkeypatch.setitem(cli.COMMANDS, "up", lambda mode, settings: started.append(mode))
    assert cli.main(["up"]) == 0
    err = capsys.readouterr().err
    assert started == ["native"]
    assert err.index("warning: Docker is installed but `docker info` fails") < err.index("stack: native")


def test_status_explains_the_marker(tmp_path):
    assert "`make clean` forgets it" in preflight.marker_note("compose")
    assert "not chosen yet" in preflight.marker_note(None)


def test_a_port_in_use_names_the_port_and_the_env_variable():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {"MLFLOW_PORT": str(port), "POSTGRES_PORT": "0", "S3_PORT": "0", "S3_CONSOLE_PORT": "0",
               "WANDB_PORT": "0"}
        (finding,) = preflight.port_findings(env, running=set(), system="Linux")
        assert finding.level is Level.ERROR
        assert f"port {port} (mlflow, MLFLOW_PORT in .env) is in use" in finding.text and "AirPlay" not in finding.text
        assert preflight.port_findings(env, running={"mlflow"}, system="Linux") == []  # our own server holds it


def test_the_s3_ports_follow_s3_server():
    held = {59000, 59001}
    env = {"S3_SERVER": "seaweedfs"}
    (finding,) = preflight.port_findings(env, set(), "Linux", is_free=lambda port, host: port not in held)
    assert "port 59000 (seaweedfs, S3_PORT in .env)" in finding.text  # the console port is not published
    assert preflight.port_findings(env, {"seaweedfs"}, "Linux", is_free=lambda port, host: port != 59000) == []
    assert len(preflight.port_findings({}, set(), "Linux", is_free=lambda port, host: port not in held)) == 2


def test_port_5000_on_macos_names_airplay():
    (finding,) = preflight.port_findings({}, set(), "Darwin", is_free=lambda port, host: port != 5000)
    assert "MLFLOW_PORT" in finding.text and "AirPlay Receiver" in finding.text


@pytest.mark.parametrize("machine, warned", [("arm64", True), ("aarch64", True), ("x86_64", False)])
def test_arm_hosts_are_told_wandb_runs_emulated(machine, warned):
    found = preflight.arm_findings(machine)
    assert bool(found) == warned
    if warned:
        assert "linux/amd64" in found[0].text and found[0].level is Level.WARNING


def test_shell_variables_that_win_are_named_without_values():
    shell = {"WANDB_API_KEY": "someone-elses-key", "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
             "POSTGRES_PASSWORD": "old", "HOME": "/home/u"}
    dotenv = {"POSTGRES_PASSWORD": "new", "MLFLOW_PORT": "5000"}
    client = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "WANDB_API_KEY": "mine"}
    (finding,) = preflight.shell_findings(shell, dotenv, client)
    assert "POSTGRES_PASSWORD, WANDB_API_KEY" in finding.text and "unset POSTGRES_PASSWORD WANDB_API_KEY" in finding.text
    assert "MLFLOW_TRACKING_URI" not in finding.text  # the same value: no warning
    assert "someone-elses-key" not in finding.text and "old" not in finding.text.replace("older", "")
    assert preflight.shell_findings({"HOME": "/h"}, dotenv, client) == []


def test_errors_stop_before_compose_and_warnings_do_not():
    said = []
    preflight.check([preflight.Finding(Level.WARNING, "w")], said.append)
    with pytest.raises(UserError, match="1 pre-flight check"):
        preflight.check([preflight.Finding(Level.ERROR, "e"), preflight.Finding(Level.WARNING, "w")], said.append)
    assert said == ["pre-flight warning: w", "pre-flight error: e", "pre-flight warning: w"]


def test_docker_desktop_is_told_about_host_networking():
    (finding,) = preflight.desktop_findings('{"OperatingSystem":"Docker Desktop","Runtimes":{}}')
    assert "network_mode: host" in finding.text and "host networking" in finding.text
    assert preflight.desktop_findings('{"OperatingSystem":"Ubuntu 24.04.1 LTS"}') == []
    assert preflight.desktop_findings("") == []
