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
