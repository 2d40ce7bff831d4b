from dataclasses import replace

from infra.settings import ENV_FILE, SECRETS, ensure_env, load_settings, login_of


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
    login = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": s.mlflow_admin_password}
    assert NativeStack(s).client_env() == {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5123", "WANDB_MODE": "offline",
                                           "XRAY_STACK_MODE": "native", **login}
    online = compose.client_env(s, {"WANDB_API_KEY": "k"})
    assert online["WANDB_MODE"] == "online" and online["WANDB_BASE_URL"] == "http://127.0.0.1:8123"
    assert online["MLFLOW_TRACKING_PASSWORD"] == s.mlflow_admin_password
    assert compose.client_env(s, {})["WANDB_MODE"] == "offline"
    unlocked = NativeStack(replace(s, mlflow_auth=False)).client_env()
    assert "MLFLOW_TRACKING_USERNAME" not in unlocked and "MLFLOW_TRACKING_PASSWORD" not in unlocked
    path = NativeStack(s).write_client_env()
    assert path.read_text().splitlines()[0] == "MLFLOW_TRACKING_URI=http://127.0.0.1:5123"
    assert f"MLFLOW_TRACKING_PASSWORD={s.mlflow_admin_password}" in path.read_text().splitlines()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_fresh_env_locks_mlflow_with_a_generated_admin_password(tmp_path):
    s = load_settings(env_file=tmp_path / ".env", state_dir=tmp_path / "state")
    assert s.mlflow_auth and s.mlflow_admin_user == "admin"
    assert len(s.mlflow_admin_password) >= 12  # MLflow refuses shorter admin passwords
    assert s.mlflow_admin_password != load_settings(env_file=tmp_path / "b.env").mlflow_admin_password
    (tmp_path / ".env").write_text((tmp_path / ".env").read_text().replace("MLFLOW_AUTH=true", "MLFLOW_AUTH=false"))
    assert not load_settings(env_file=tmp_path / ".env").mlflow_auth  # turned off only on purpose


def test_a_scratch_stack_takes_the_login_its_clients_have():
    assert login_of({"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p" * 12}) == {
        "mlflow_auth": True, "mlflow_admin_user": "u", "mlflow_admin_password": "p" * 12}
    assert login_of({"MLFLOW_TRACKING_USERNAME": "u"}) == {"mlflow_auth": False}


def test_make_ui_names_the_user_and_the_file_never_the_password(tmp_path):
    from infra.cli import login_hint
    s = load_settings(env_file=tmp_path / ".env", state_dir=tmp_path / "state", mlflow_admin_user="alice")
    hint = login_hint(s)
    assert "'alice'" in hint and "MLFLOW_ADMIN_PASSWORD" in hint and str(ENV_FILE) in hint
    assert s.mlflow_admin_password not in hint
    assert "OFF" in login_hint(replace(s, mlflow_auth=False))


def test_the_native_auth_config_holds_no_secret_and_shares_the_compose_settings(tmp_path):
    import configparser
    from infra.native import AUTH_CONFIG, Mlflow
    s = load_settings(env_file=tmp_path / ".env", state_dir=tmp_path / "state")
    mlflow = Mlflow(s)
    mlflow.prepare()
    ours, compose = configparser.ConfigParser(), configparser.ConfigParser()
    ours.read(mlflow.auth_config), compose.read(AUTH_CONFIG)
    assert ours["mlflow"]["database_uri"] == f"sqlite:///{mlflow.data_dir / 'basic_auth.db'}"
    assert {k: v for k, v in ours["mlflow"].items() if k != "database_uri"} == \
        {k: v for k, v in compose["mlflow"].items() if k != "database_uri"}
    assert int(ours["mlflow"]["auth_cache_ttl_seconds"]) > 0  # else every request pays a scrypt check
    assert s.mlflow_admin_password not in mlflow.auth_config.read_text()
    assert mlflow.env["MLFLOW_AUTH_ADMIN_PASSWORD"] == s.mlflow_admin_password  # by environment
    assert "--app-name" in mlflow.command() and not [a for a in mlflow.command() if s.mlflow_admin_password in a]
