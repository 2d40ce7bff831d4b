"""`make wandb-setup` against a real local HTTP server that stands in for the W&B server's
/ready and its authenticated GraphQL call only (no wandb/local runs without Docker): the key
goes in on standard input, is checked, and lands in .env and .stack/client.env, mode 600."""
from __future__ import annotations

import base64
import http.server
import json
import os
import stat
import subprocess
import sys
import threading

import pytest
from dotenv import dotenv_values

from infra.settings import ensure_env
from trainer.paths import PROJECT_ROOT

GOOD = "local-" + "c" * 40
BAD = "local-" + "d" * 40


class FakeAuth(http.server.BaseHTTPRequestHandler):
    """/ready answers 200; /graphql answers the viewer for GOOD (basic auth `api:<key>`), 401 otherwise."""
    def do_GET(self):
        self.send_response(200 if self.path == "/ready" else 404)
        self.end_headers()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        auth = self.headers.get("Authorization", "")
        ok = self.path == "/graphql" and "viewer" in body["query"] and \
            auth == "Basic " + base64.b64encode(f"api:{GOOD}".encode()).decode()
        payload = {"data": {"viewer": {"id": "1", "username": "admin", "entity": "admin"}}} if ok else \
            {"errors": [{"message": "user is not logged in"}]}
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeAuth)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_port
    srv.shutdown()


@pytest.fixture
def stack(tmp_path, server):
    """A .env whose WANDB_PORT is the stand-in server's; the compose marker written by `make up`."""
    env_file, state = tmp_path / ".env", tmp_path / "state"
    text = (PROJECT_ROOT / ".env.example").read_text().replace("WANDB_PORT=8080", f"WANDB_PORT={server}")
    env_file.write_text(text)
    ensure_env(env_file)  # its secrets filled, as `make setup` leaves it
    state.mkdir()
    (state / "mode").write_text("compose")
    return env_file, state


def setup(stack, stdin: str):
    env_file, state = stack
    cmd = [sys.executable, "-m", "infra.wandb_setup", "--timeout", "20", "--env-file", str(env_file),
           "--state-dir", str(state)]
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    return cmd, out


def test_the_key_from_stdin_is_checked_and_written_private(stack, server):
    cmd, out = setup(stack, f"{GOOD}\n\n")  # key, then Enter: the licence was pasted in the UI
    assert out.returncode == 0, out.stderr
    assert GOOD not in " ".join(cmd) and GOOD not in out.stdout + out.stderr  # never an argument, never printed
    base = f"http://127.0.0.1:{server}"
    for url in (base, f"{base}/system-admin", f"{base}/authorize", "https://deploy.wandb.ai"):
        assert url in out.stderr  # the steps name this stack's URLs
    env_file, state = stack
    env = dotenv_values(env_file)
    assert env["WANDB_API_KEY"] == GOOD and env["WANDB_LICENSE_IN_UI"] == "true"
    client = dotenv_values(state / "client.env")
    assert client["WANDB_API_KEY"] == GOOD and client["WANDB_MODE"] == "online" and client["WANDB_BASE_URL"] == base
    for path in (env_file, state / "client.env"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "no longer asks for it" in out.stderr


def test_the_licence_pasted_here_goes_to_env(stack):
    _, out = setup(stack, f"{GOOD}\nlicence-text-123\n")
    assert out.returncode == 0, out.stderr
    env = dotenv_values(stack[0])
    assert env["WANDB_LICENSE"] == "licence-text-123" and not env["WANDB_LICENSE_IN_UI"]


def test_a_refused_key_writes_nothing(stack):
    before = stack[0].read_text()
    _, out = setup(stack, f"{BAD}\n\n")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refused this API key (HTTP 401)" in errors[0] and BAD not in out.stderr
    assert stack[0].read_text() == before and not (stack[1] / "client.env").exists()


def test_no_key_on_stdin_is_one_line(stack):
    _, out = setup(stack, "")
    assert out.returncode == 2 and "no API key given on standard input" in out.stderr


def test_a_native_stack_is_told_it_has_no_wandb_server(stack):
    (stack[1] / "mode").write_text("native")
    _, out = setup(stack, f"{GOOD}\n")
    assert out.returncode == 2 and "no W&B server" in out.stderr


def test_the_verb_takes_no_key_argument():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\nwandb-setup:"):].split("\n\n")[0]
    assert "$(PY) -m infra.wandb_setup" in recipe and "KEY" not in recipe
