from infra.settings import SECRETS, ensure_env, load_settings


def test_env_is_made_with_fresh_secrets_once(tmp_path):
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    assert sorted(ensure_env(a)) == sorted(SECRETS)
    ensure_env(b)
    sa, sb = load_settings(env_file=a), load_settings(env_file=b)
    assert len(sa.postgres_password) >= 20 and sa.postgres_password != sb.postgres_password
    assert sa.s3_secret_key != sb.s3_secret_key
    assert ensure_env(a) == [] and load_settings(env_file=a) == sa  # a second setup keeps them
    assert oct(a.stat().st_mode & 0o777) == "0o600"


def test_keys_new_in_the_example_are_added_and_user_values_kept(tmp_path):
    env, example = tmp_path / ".env", tmp_path / ".env.example"
    example.write_text("MLFLOW_PORT=5000\nPOSTGRES_PASSWORD=\n")
    ensure_env(env, example)
    env.write_text(env.read_text().replace("MLFLOW_PORT=5000", "MLFLOW_PORT=5111"))
    example.write_text(example.read_text() + "# new\nS3_BUCKET=b\n")
    assert ensure_env(env, example) == ["S3_BUCKET"]
    text = env.read_text()
    assert "MLFLOW_PORT=5111" in text and "S3_BUCKET=b" in text


def test_client_env_of_each_mode(tmp_path):
    from infra import compose
    from infra.native import NativeStack
    s = load_settings(env_file=tmp_path / ".env", state_dir=tmp_path / "state", mlflow_port=5123, wandb_port=8123)
    assert NativeStack(s).client_env() == {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5123", "WANDB_MODE": "offline",
                                           "XRAY_STACK_MODE": "native"}
    online = compose.client_env(s, {"WANDB_API_KEY": "k"})
    assert online["WANDB_MODE"] == "online" and online["WANDB_BASE_URL"] == "http://127.0.0.1:8123"
    assert compose.client_env(s, {})["WANDB_MODE"] == "offline"
    authed = NativeStack(s.__class__(**{**s.__dict__, "mlflow_auth": True})).client_env()
    assert authed["MLFLOW_TRACKING_PASSWORD"] == s.mlflow_admin_password
    path = NativeStack(s).write_client_env()
    assert path.read_text().splitlines()[0] == "MLFLOW_TRACKING_URI=http://127.0.0.1:5123"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
