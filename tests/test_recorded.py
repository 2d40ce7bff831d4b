"""The delivery rules of `Recorded`, with a tracker that fails on purpose: what it
refuses stays in the journal, a down tracker is not called again until it answers,
and the end of the run sends exactly what it lacks."""
import pytest

from trainer.trackers import NullTracker, RunInfo, journal
from trainer.trackers import recorded as rec


class FlakyTracker(NullTracker):
    """Stores points in memory; refuses every call while `up` is False."""
    name = "flaky"
    stores = True

    def __init__(self):
        self.up, self.calls, self.points, self.status = True, 0, {}, None

    def log_metrics(self, metrics, step):
        self.calls += 1
        if not self.up:
            raise ConnectionError("tracking server down")
        self.points |= {(k, step): v for k, v in metrics.items()}

    def stored_points(self, keys):
        if not self.up:
            raise ConnectionError("tracking server down")
        return set(self.points)

    def reachable(self):
        return self.up

    def finish(self, status="FINISHED"):
        if not self.up:
            raise ConnectionError("tracking server down")
        self.status = status


@pytest.fixture
def flaky(tmp_path, tiny_cfg, monkeypatch):
    monkeypatch.setattr(rec, "PAUSE_S", 0.0)  # the health check alone decides when to try again
    inner = FlakyTracker()
    tracker = rec.Recorded(inner, tmp_path)
    tracker.start(tiny_cfg(), RunInfo.resumed(tmp_path, None))
    return inner, tracker


def test_a_down_tracker_is_not_called_until_it_answers(flaky, capsys):
    inner, tracker = flaky
    tracker.log_metrics({"train/loss": 1.0}, 1)
    inner.up = False
    for step in range(2, 6):
        tracker.log_metrics({"train/loss": float(step)}, step)
    assert inner.calls == 2  # one failed send, then only health checks
    assert capsys.readouterr().err.count("could not deliver") == 1
    inner.up = True
    tracker.log_metrics({"train/loss": 6.0}, 6)
    tracker.finish()
    assert inner.points == {("train/loss", s): float(s) for s in range(1, 7)}  # 2-5 sent at the end, once
    assert inner.status == "FINISHED"


def test_still_down_at_the_end_names_sync_and_keeps_every_value(flaky, tmp_path, capsys):
    inner, tracker = flaky
    inner.up = False
    tracker.log_metrics({"train/loss": 0.5}, 1)
    tracker.finish()
    assert f"python -m trainer sync {tmp_path}" in capsys.readouterr().err
    assert {p.id: p.value for p in journal.points(journal.read(tmp_path))} == {("train/loss", 1): 0.5}
    assert inner.points == {}
