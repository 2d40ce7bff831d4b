"""One description of the stack (ports, credentials, bucket) for compose and
native alike: the `.env` file, made from `.env.example` with fresh secrets."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from trainer.paths import PROJECT_ROOT, STATE_DIR
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
ENV_FILE = PROJECT_ROOT / ".env"
SECRETS = ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY", "MLFLOW_ADMIN_PASSWORD", "MLFLOW_SECRET_KEY")


def ensure_env(env_file: Path = ENV_FILE, example: Path = ENV_EXAMPLE) -> list[str]:
    """Create `env_file` from the example, add keys the example gained since, fill empty
    secrets; return the keys changed. Secrets are generated per installation, never printed."""
    example_lines = example.read_text().splitlines()
    lines = env_file.read_text().splitlines() if env_file.exists() else list(example_lines)
    present = {line.partition("=")[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")}
    lines += [line for line in example_lines
              if "=" in line and not line.lstrip().startswith("#") and line.partition("=")[0].strip() not in present]
    changed, out = [], []
    for line in lines:
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and not line.lstrip().startswith("#") and (key not in present or (key in SECRETS and not value.strip())):
            if key in SECRETS and not value.strip():
                value = secrets.token_hex(10) if key == "S3_ACCESS_KEY" else secrets.token_urlsafe(24)
                line = f"{key}={value}"
            changed.append(key)
        out.append(line)
    if changed or not env_file.exists():
        env_file.write_text("\n".join(out) + "\n")
        env_file.chmod(0o600)
    return changed


@dataclass(frozen=True)
class Settings:
    bind_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    postgres_db: str
    s3_port: int
    s3_bucket: str
    s3_access_key: str
    s3_secret_key: str
    mlflow_port: int
    mlflow_workers: int
    mlflow_auth: bool
    mlflow_admin_user: str
    mlflow_admin_password: str
    mlflow_secret_key: str
    wandb_port: int
    state_dir: Path
    public_host: str = "127.0.0.1"  # compose: the address in every URL (STACK_PUBLIC_HOST)

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def postgres_uri(self) -> str:
        return (f"postgresql+psycopg2://{self.postgres_user}:{self.postgres_password}"
                f"@127.0.0.1:{self.postgres_port}/{self.postgres_db}")


def load_settings(env_file: Path = ENV_FILE, state_dir: Path = STATE_DIR, **overrides) -> Settings:
    """Settings from `.env` (created with fresh secrets if missing); keyword overrides win (tests use them)."""
    ensure_env(env_file)
    env = {k: v or "" for k, v in dotenv_values(env_file).items()}
    s = Settings(
        bind_host=env.get("STACK_BIND_HOST", "127.0.0.1"),
        postgres_port=int(env["POSTGRES_PORT"]), postgres_user=env["POSTGRES_USER"],
        postgres_password=env["POSTGRES_PASSWORD"], postgres_db=env["POSTGRES_DB"],
        s3_port=int(env["S3_PORT"]), s3_bucket=env["S3_BUCKET"],
        s3_access_key=env["S3_ACCESS_KEY"], s3_secret_key=env["S3_SECRET_KEY"],
        mlflow_port=int(env["MLFLOW_PORT"]), mlflow_workers=int(env.get("MLFLOW_WORKERS") or 1),
        mlflow_auth=env.get("MLFLOW_AUTH", "true").strip().lower() != "false",  # locked unless turned off
        mlflow_admin_user=env.get("MLFLOW_ADMIN_USER", "admin"),
        mlflow_admin_password=env.get("MLFLOW_ADMIN_PASSWORD", ""),
        mlflow_secret_key=env.get("MLFLOW_SECRET_KEY", ""),
        wandb_port=int(env.get("WANDB_PORT") or 8080), state_dir=Path(state_dir),
        public_host=env.get("STACK_PUBLIC_HOST") or "127.0.0.1",
    )
    return Settings(**{**s.__dict__, **overrides}) if overrides else s


def login_of(env: Mapping[str, str]) -> dict[str, object]:
    """Settings overrides that give a scratch stack the MLflow login these clients already use:
    the SDK reads one MLFLOW_TRACKING_USERNAME/PASSWORD per process, so every server a process
    talks to must accept the same one. Authentication on with that user, off when there is none."""
    user, password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
    if not (user and password):
        return {"mlflow_auth": False}
    return {"mlflow_auth": True, "mlflow_admin_user": user, "mlflow_admin_password": password}


def tracking_env(s: Settings, **extra: str) -> dict[str, str]:
    """What a trainer needs to reach a stack: the MLflow URL (artifacts are proxied), credentials in auth mode."""
    env = {"MLFLOW_TRACKING_URI": s.mlflow_url, **extra}
    if s.mlflow_auth:
        env |= {"MLFLOW_TRACKING_USERNAME": s.mlflow_admin_user, "MLFLOW_TRACKING_PASSWORD": s.mlflow_admin_password}
    return env


def write_client_env(s: Settings, env: dict[str, str]) -> Path:
    """`.stack/client.env`, read by `python -m trainer` and `python -m benchmarks` (mode 600: it may hold a password)."""
    s.state_dir.mkdir(parents=True, exist_ok=True)
    path = s.state_dir / "client.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    path.chmod(0o600)
    return path
