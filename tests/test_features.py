"""Feature rows: each says whether it is a probe run in the benchmark (with its result),
a CI test, or a documented fact with its source; the probes really read back what they logged."""
import pytest

from benchmarks.reporting.decision import CI_ROWS, DOCUMENTED_ROWS as DOCUMENTED, FeatureRow, _check, probe_rows


def test_every_row_says_its_kind_and_a_probe_its_result():
    assert {r.kind for r in CI_ROWS} == {"ci_test"} and {r.kind for r in DOCUMENTED} == {"documented"}
    assert all("not run in this benchmark" in r.shown_by for r in CI_ROWS)
    assert all("read 20" in r.source and r.source.startswith("https://") for r in DOCUMENTED)
    assert FeatureRow("x", "a", "b", "probe", "did y", ok=False).shown_by.endswith("(FAILED)")
    with pytest.raises(ValueError, match="not one of"):
        FeatureRow("x", "a", "b", "opinion", "me")


def test_a_probe_that_raises_is_a_failed_probe_not_a_crash():
    def broken():
        raise ConnectionError("server gone")
    text, ok = _check(broken)[:2]
    assert ok is False and text == "failed: ConnectionError: server gone"


@pytest.mark.integration
def test_probes_read_back_what_they_logged(mlflow_env, tmp_path, monkeypatch):
    from mlflow import MlflowClient
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    uri = mlflow_env.settings.mlflow_url
    client = MlflowClient(uri)
    exp = client.create_experiment("bench-features-test")
    rows = probe_rows(uri, exp, tmp_path / "probe", "bench-features-test")
    assert [r.kind for r in rows] == ["probe"] * 3
    assert all(r.ok for r in rows), [(r.feature, r.mlflow, r.wandb) for r in rows]
    assert "champion" in rows[0].mlflow and "champion" in rows[0].wandb
    assert "3 rows" in rows[1].mlflow and "3 rows" in rows[1].wandb
    assert not client.search_registered_models("name LIKE 'bench-features-test%'")  # the probe cleans up
