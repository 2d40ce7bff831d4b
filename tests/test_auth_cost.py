"""The micro scenario's login arm against real servers: the session's locked server and a
scratch server without login on the same database and bucket."""
import uuid

import pytest
import requests

from benchmarks.scenarios import auth_cost
from benchmarks.scenarios.auth_cost import Arm, arms_for, figures, measure, read_back, scratch_server, start_run


def test_the_stack_with_a_login_is_the_login_arm_and_without_one_the_scratch_server_is(native_stack):
    s = native_stack.settings
    login, none = arms_for("http://stack", ("u", "p"), "http://scratch", s)
    assert (login.url, login.login, none.url, none.login) == ("http://stack", ("u", "p"), "http://scratch", None)
    login, none = arms_for("http://stack", None, "http://scratch", s)
    assert (login.url, none.url, none.login) == ("http://scratch", "http://stack", None)
    assert login.login == (s.mlflow_admin_user, s.mlflow_admin_password)


def test_figures_pair_the_rounds():
    figs = figures({"login": [0.0031, 0.0032, 0.0030], "no login": [0.0030, 0.0030, 0.0029]}, 5, "native")
    cost = figs[0]
    assert (cost.quantity, cost.unit, cost.n) == ("auth_cost", "µs/request", 3)
    assert cost.value == pytest.approx(((0.0001 + 0.0002 + 0.0001) / 3) * 1e6)
    assert cost.low < cost.value < cost.high
    assert {f.subject for f in figs[1:]} == {"login", "no login"}


@pytest.mark.integration
def test_both_arms_log_to_the_same_run_and_every_value_is_read_back(native_stack, tmp_path):
    s = native_stack.settings
    stack_login = (s.mlflow_admin_user, s.mlflow_admin_password)
    with scratch_server(s, tmp_path / "scratch", auth=False) as scratch_url:
        assert requests.get(f"{scratch_url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10).ok
        arms = arms_for(s.mlflow_url, stack_login, scratch_url, s)
        run_id = start_run(arms[0], f"auth-cost-{uuid.uuid4().hex[:8]}")
        samples, sent = measure(arms, run_id, per_block=2, rounds=3)
        assert sent == 2 * 2 * (3 + 1)  # two arms, a warm-up block each, then the rounds
        assert {k: len(v) for k, v in samples.items()} == {"login": 3, "no login": 3}
        assert read_back(arms[0], run_id) == list(range(sent))
        with pytest.raises(auth_cost.AuthCostError, match="HTTP 401"):  # the login arm needs its login
            measure((Arm("login", s.mlflow_url, None), arms[1]), run_id, per_block=1, rounds=1)
