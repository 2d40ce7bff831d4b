"""The deferred style's queue with in-memory trackers: values are read on the background
thread (never the caller's), a full queue makes the caller wait (counted, nothing dropped),
drain() means journaled and handed over, and a background failure reaches the caller."""
import threading

import pytest
import torch

from trainer.trackers import NullTracker, RunInfo, journal
from trainer.trackers.deferred import Deferred, DeferredLoggingError
from trainer.trackers.recorded import Recorded


class Keeping(NullTracker):
    """Keeps each call's values; blocks while `gate` is closed."""
    name = "keeping"
    stores = True

    def __init__(self):
        self.calls, self.gate, self.threads = [], threading.Event(), set()
        self.gate.set()

    def log_metrics(self, metrics, step):
        self.gate.wait()
        self.threads.add(threading.current_thread().name)
        self.calls.append(("step", step, dict(metrics)))

    def log_epoch(self, metrics, epoch):
        self.calls.append(("epoch", epoch, dict(metrics)))


class Watched(torch.Tensor):
    """A tensor that notes which thread reads its value."""
    readers: list[str] = []

    def __float__(self):
        Watched.readers.append(threading.current_thread().name)
        return super().__float__()


@pytest.fixture
def deferred(tmp_path, tiny_cfg):
    inner = Keeping()
    d = Deferred(Recorded(inner, tmp_path), capacity=2)
    d.start(tiny_cfg(), RunInfo.resumed(tmp_path, None))
    yield inner, d
    inner.gate.set()


def test_values_are_read_on_the_background_thread_and_arrive_in_order(deferred, tmp_path):
    inner, d = deferred
    Watched.readers.clear()
    losses = [torch.tensor(0.5 + s).as_subclass(Watched) for s in range(5)]
    for step, loss in enumerate(losses, start=1):
        d.log_metrics({"train/loss": loss}, step)
    d.log_epoch({"val/loss": 0.25}, 1)
    d.drain()
    assert Watched.readers and set(Watched.readers) == {"deferred-logging"}
    assert inner.calls == [("step", s, {"train/loss": 0.5 + s - 1}) for s in range(1, 6)] + [
        ("epoch", 1, {"val/loss": 0.25})]
    assert {p.id: p.value for p in journal.points(journal.read(tmp_path))} == {
        **{("train/loss", s): 0.5 + s - 1 for s in range(1, 6)}, ("val/loss", 1): 0.25}
    d.finish()
    assert [e for e in journal.read(tmp_path) if e["kind"] == "end"][0]["handoff"]["handed"] == 6


def test_a_full_queue_makes_the_caller_wait_and_drops_nothing(deferred, tmp_path):
    inner, d = deferred
    inner.gate.clear()  # the tracker hangs: the background thread stalls on the first batch
    d.log_metrics({"train/loss": 1.0}, 1)
    d.log_metrics({"train/loss": 2.0}, 2)  # capacity 2: full now
    threading.Timer(0.3, inner.gate.set).start()
    d.log_metrics({"train/loss": 3.0}, 3)  # waits until the tracker answers
    assert d.stats.waits == 1 and d.stats.wait_s > 0.1
    d.finish()
    assert [(s, v["train/loss"]) for _, s, v in inner.calls] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    end = [e for e in journal.read(tmp_path) if e["kind"] == "end"][0]
    assert end["handoff"]["waits"] == 1 and end["handoff"]["capacity"] == 2


def test_drain_returns_once_everything_is_journaled_and_handed_over(deferred, tmp_path):
    inner, d = deferred
    for step in range(1, 4):
        d.log_metrics({"train/loss": float(step)}, step)
    d.drain()
    journaled = [p.index for p in journal.points(journal.read(tmp_path))]
    assert journaled == [1, 2, 3] and [s for _, s, _ in inner.calls] == [1, 2, 3]
    assert d.stats.drains == 1
    d.finish()


def test_a_background_failure_reaches_the_caller(deferred, tmp_path):
    inner, d = deferred
    d.recorded.journal.close()  # the journal cannot be written any more
    d.log_metrics({"train/loss": 1.0}, 1)
    with pytest.raises(DeferredLoggingError, match="deferred logging stopped"):
        d.drain()
    with pytest.raises(DeferredLoggingError):
        d.log_metrics({"train/loss": 2.0}, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the CUDA hand-off (pinned copy + event) needs a GPU")
def test_cuda_values_arrive_without_the_caller_waiting(deferred):
    inner, d = deferred
    losses = [torch.tensor(float(s), device="cuda") * 3 for s in range(1, 50)]
    for step, loss in enumerate(losses, start=1):
        d.log_metrics({"train/loss": loss}, step)
    d.drain()
    assert [v["train/loss"] for _, _, v in inner.calls] == [3.0 * s for s in range(1, 50)]
