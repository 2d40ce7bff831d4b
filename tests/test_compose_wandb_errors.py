"""W&B online in compose mode: a missing API key, a server that refuses the key, and a
server that cannot be reached each give one clear line (the real wandb SDK; a closed port;
a 20-line HTTP server that answers 401 like a W&B server given a wrong key)."""
from __future__ import annotations

import http.server
import subprocess
import sys
import threading

import pytest

from infra.process import free_port
from trainer.errors import UserError
from trainer.trackers import RunInfo
from trainer.trackers.wandb_tracker import WandbTracker

WRONG_KEY = "local-" + "0" * 40


class Refusing(http.server.BaseHTTPRequestHandler):
    """What wandb/local answers to a key it does not know: 401 with a GraphQL error."""
    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errors":[{"message":"user is not logged in"}]}')

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def online(monkeypatch, tmp_path):
    """WANDB_MODE=online against `url`, with no key unless given; no ~/.netrc of the user's.
    wandb.setup() reads the environment once per process: torn down so each test's URL is used."""
    import wandb
    wandb.teardown()
    def set_env(url: str, key: str | None):
        monkeypatch.setenv("WANDB_MODE", "online")
        monkeypatch.setenv("WANDB_BASE_URL", url)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
        monkeypatch.delenv("WANDB_API_KEY", raising=False)
        if key:
            monkeypatch.setenv("WANDB_API_KEY", key)
    yield set_env
    wandb.teardown()


def start(tiny_cfg, tmp_path) -> WandbTracker:
    tracker = WandbTracker()
    info = RunInfo(run_dir=tmp_path / "run", split_sizes={"train": 1}, data_fingerprint="f", layout="kaggle",
                   versions={}, git_commit=None)
    info.run_dir.mkdir()
    tracker.start(tiny_cfg(tracker="wandb"), info)
    return tracker


def test_missing_key_is_one_user_error_naming_the_fix(online, refusing_server, tiny_cfg, tmp_path):
    online(refusing_server, key=None)
    with pytest.raises(UserError) as e:
        start(tiny_cfg, tmp_path)
    assert "No API key configured" in str(e.value) and "WANDB_API_KEY=" in str(e.value)
    assert "make up" in str(e.value) and "\n" not in str(e.value)


def test_refused_key_is_one_user_error(online, refusing_server, tiny_cfg, tmp_path):
    online(refusing_server, key=WRONG_KEY)
    with pytest.raises(UserError) as e:
        start(tiny_cfg, tmp_path)
    assert f"the W&B server at {refusing_server} refused the run (user is not logged in)" in str(e.value)
    assert "WANDB_API_KEY=" in str(e.value)


def test_unreachable_server_is_one_warning_and_the_run_goes_offline(online, tiny_cfg, tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    online(url, key=WRONG_KEY)
    tracker = start(tiny_cfg, tmp_path)
    try:
        assert tracker.run.settings.mode == "offline"
    finally:
        tracker.finish()
    err = capsys.readouterr().err
    assert f"the W&B server is not reachable at {url} (ConnectionError)" in err and "wandb sync" in err


def test_cli_without_key_says_what_to_do_and_trains_nothing(tmp_path, synthetic_data, image_cache):
    """`python -m trainer train --tracker wandb` as a user runs it: one line, exit 2, no traceback."""
    import os
    env = {**os.environ, "WANDB_MODE": "online", "WANDB_BASE_URL": f"http://127.0.0.1:{free_port()}",
           "HOME": str(tmp_path / "home"), "WANDB_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("WANDB_API_KEY", None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env["WANDB_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        out = subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(synthetic_data),
                              "--tracker", "wandb", "--epochs", "1", "--image-size", "32",
                              "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(image_cache)],
                             capture_output=True, text=True, env=env, timeout=300)
    finally:
        server.shutdown()
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "No API key configured" in errors[0] and "WANDB_API_KEY=" in errors[0]
    assert not list((tmp_path / "runs").rglob("best.pt"))
