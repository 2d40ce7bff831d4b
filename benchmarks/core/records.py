"""The benchmark's typed records.

A worker process receives one `TrialSpec` (as JSON on its command line) and
prints one `TrialResult`; scenarios turn results into `Figure`s, and plots and
the report select figures by their fields, never by parsing names.
"""
from __future__ import annotations

import dataclasses
import json
import math
from enum import StrEnum
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterable

from benchmarks.core.quantities import Quantity
from benchmarks.core.stats import ALPHA, Estimate, Interval, interval, two_run_p
from trainer.vocab import Style, TrackerName



class Family(StrEnum):
    """How much an arm logs."""
    METRICS = "metrics"   # metrics only (no files, no model)
    FULL = "full"         # the same files, table, images, plots and model for both trackers

PHASES = ("start", "loop", "report", "finish")


class ScenarioName(StrEnum):
    """Every scenario's name; benchmarks/scenarios registers each once with its title, plan, run and plot."""
    SETUP = "setup"
    MICRO = "micro"
    STEP = "step"
    MACRO = "macro"
    API_CALLS = "api_calls"
    STORAGE = "storage"
    QUERY = "query"
    LOAD = "load"
    MONITORING = "monitoring"
    PRIVACY = "privacy"


@dataclass(frozen=True)
class Mode:
    """The configuration a figure was measured in."""
    stack: str = "native"    # native | compose
    wandb: str = "offline"   # offline | online
    device: str = "cpu"      # cpu | gpu

    def label(self, tracker: str | None = None) -> str:
        """'native stack, CPU' for MLflow; W&B figures say when no server was involved."""
        device = self.device.upper()
        if tracker == "wandb":
            where = "offline, client only" if self.wandb == "offline" else f"{self.stack} W&B server"
            return f"W&B {where}, {device}"
        return f"{self.stack} stack, {device}"


@dataclass(frozen=True)
class Arm:
    """One way of running the training job: which tracker, how it logs, how much it logs."""
    tracker: TrackerName = TrackerName.NONE
    style: Style = Style.TUNED      # ignored for `none`
    family: Family = Family.METRICS
    system_metrics: bool = False
    epochs_factor: int = 1          # 4: the longer job that checks the per-step model

    def __post_init__(self) -> None:
        object.__setattr__(self, "tracker", TrackerName(self.tracker))
        object.__setattr__(self, "style", Style(self.style))
        object.__setattr__(self, "family", Family(self.family))
        assert self.tracker in TrackerName.single(), self

    @property
    def name(self) -> str:
        base = str(TrackerName.NONE) if self.tracker == TrackerName.NONE else f"{self.tracker}-{self.style}"
        if self.family != Family.METRICS:
            base += f"-{self.family}"
        if self.system_metrics:
            base += "+sysmetrics"
        if self.epochs_factor != 1:
            base += f"-x{self.epochs_factor}"
        return base

    def baseline(self) -> "Arm":
        """The arm this one is paired with: `none` for the same job length; the metrics-only
        arm for a system-metrics arm (on vs off)."""
        if self.system_metrics:
            return dataclasses.replace(self, system_metrics=False)
        return Arm(epochs_factor=self.epochs_factor)


# ---------------------------------------------------------------- what a worker is asked

@dataclass(frozen=True)
class TrialSpec:
    """Base of every task's spec; `task` names the worker function."""
    task: ClassVar[str] = ""
    cold_process: ClassVar[bool] = False  # True: a new interpreter (what it measures includes the imports)

    def to_json(self) -> str:
        return json.dumps({"task": self.task, "spec": asdict(self)})


@dataclass(frozen=True)
class TrainSpec(TrialSpec):
    task: ClassVar[str] = "train"
    arm: Arm
    data: str
    image_size: int
    epochs: int
    batch_size: int
    out_dir: str
    experiment: str
    run_name: str
    cache_dir: str
    count_calls: bool = False
    http_log: str | None = None     # with count_calls: where the probe writes each HTTP attempt


@dataclass(frozen=True)
class StepProbeSpec(TrialSpec):
    """Untracked optimizer steps at a given image size: the step time a projection needs."""
    task: ClassVar[str] = "step_probe"
    data: str
    image_size: int
    batch_size: int
    steps: int
    warmup: int
    cache_dir: str


@dataclass(frozen=True)
class MicroSpec(TrialSpec):
    task: ClassVar[str] = "micro"
    tracker: str
    style: str
    calls: int          # measured logging calls (one per training step)
    warmup: int         # calls made first and discarded
    values: int         # values per call (per step)
    experiment: str
    out_dir: str
    pause_s: float = 0.001  # between calls: a stand-in for the step's compute (torch releases the GIL)


@dataclass(frozen=True)
class FirstRunSpec(TrialSpec):
    task: ClassVar[str] = "first_run"
    cold_process: ClassVar[bool] = True
    tracker: str
    experiment: str
    out_dir: str


@dataclass(frozen=True)
class MonitorSpec(TrialSpec):
    """Real-time monitoring: values logged on a tick, polled through the tracker's read API."""
    task: ClassVar[str] = "monitor"
    tracker: str
    style: str
    values: int
    interval_s: float       # between log calls (a training step)
    poll_s: float           # between reads
    deadline_s: float       # after the last call, how long to wait for the rest
    experiment: str
    out_dir: str


@dataclass(frozen=True)
class PrivacySpec(TrialSpec):
    """One small tracked run with the SDK's default settings or the project's hardened ones;
    every HTTP attempt is recorded by host."""
    task: ClassVar[str] = "privacy"
    cold_process: ClassVar[bool] = True   # a fresh interpreter: the SDK's import-time threads count too
    tracker: str
    hardened: bool
    experiment: str
    out_dir: str
    http_log: str


@dataclass(frozen=True)
class StepBlocksSpec(TrialSpec):
    """Per-step logging cost inside one process: paired blocks of `block_steps` training steps with and
    without logging, through one tracker and style, or through a planted calibration cost."""
    task: ClassVar[str] = "step_blocks"
    tracker: str                    # mlflow | wandb | calibration
    style: str                      # a log style; for calibration the planted logger's name
    image_size: int
    batch_size: int
    block_steps: int
    pairs: int                      # measured pairs
    warmup_pairs: int               # run first, not kept
    seed: int
    data: str
    cache_dir: str
    experiment: str
    out_dir: str
    rewarm_steps: int = 0           # untimed steps after every block's drain (benchmarks.scenarios.step_blocks)
    torch_threads: int = 1          # one: a contended core's thread barrier would swamp the effect


SPECS: dict[str, type[TrialSpec]] = {c.task: c for c in (TrainSpec, StepProbeSpec, MicroSpec, FirstRunSpec,
                                                         MonitorSpec, PrivacySpec, StepBlocksSpec)}


def spec_from_json(text: str) -> TrialSpec:
    raw = json.loads(text)
    cls = SPECS[raw["task"]]
    values = dict(raw["spec"])
    if "arm" in values:
        values["arm"] = Arm(**values["arm"])
    return cls(**values)


# ---------------------------------------------------------------- what a worker answers

@dataclass
class TrainResult:
    """One training trial, timed by phase inside the worker (imports done before the clock)."""
    phases: dict[str, float]        # seconds per PHASES entry
    steps: int                      # optimizer steps in the loop
    epochs: int
    values_logged: int              # every metric value handed to the tracker
    failed_deliveries: int          # sends that raised (a trial with any is not a sample)
    test_accuracy: float
    images_per_s: float
    train_images: int
    run_dir: str
    run_id: str | None = None
    calls: dict[str, Any] = field(default_factory=dict)   # probes' counts when count_calls

    @property
    def job_s(self) -> float:
        return sum(self.phases.values())


@dataclass
class StepProbeResult:
    step_s: list[float]             # measured steps, warm-up excluded


@dataclass
class MicroResult:
    caller_s: list[float]           # each measured call's time on the caller's thread
    end_to_end_s: float             # every call (warm-up too) plus drain, flush and close; pauses excluded
    values_per_call: int
    warmup: int
    logged: int = 0                 # values handed over (warm-up included) ...
    read_back_equal: int = 0        # ... and read back from the tracker, once, with the same value


@dataclass
class FirstRunResult:
    import_s: float
    init_s: float
    first_metric_s: float
    finish_s: float

    @property
    def total_s(self) -> float:
        return self.import_s + self.init_s + self.first_metric_s + self.finish_s


@dataclass
class MonitorResult:
    latency_s: list[float]          # per value read back: first seen - log call
    logged: int
    missing: int                    # not readable before the deadline


@dataclass
class PrivacyResult:
    hosts: dict[str, int]           # host:port -> HTTP attempts
    settings: dict[str, str]        # the telemetry switches set for this run (empty: the SDK's defaults)


@dataclass
class StepBlocksResult:
    """Seconds per measured pair of blocks (see benchmarks.scenarios.step_blocks.BlockSamples)."""
    block_steps: int
    plain_s: list[float]
    logged_s: list[float]
    plain_drain_s: list[float]
    logged_drain_s: list[float]
    logged_first: list[bool]
    values_logged: int              # values handed to the logger, warm-up pairs included
    failed_deliveries: int          # sends that raised (a trial with any is not a sample)
    one_core: bool                  # the process ran pinned to one CPU


RESULTS: dict[str, type] = {"train": TrainResult, "step_probe": StepProbeResult, "micro": MicroResult,
                            "first_run": FirstRunResult, "monitor": MonitorResult, "privacy": PrivacyResult,
                            "step_blocks": StepBlocksResult}


def result_to_json(result) -> str:
    return json.dumps(asdict(result))


def result_from_json(task: str, text: str):
    return RESULTS[task](**json.loads(text))


# ---------------------------------------------------------------- what the report reads

def versus(a: Style, b: Style) -> str:
    """The subject of a difference between two styles: 'tuned-naive' is tuned minus naive."""
    return f"{a}-{b}"


@dataclass(frozen=True)
class FigureKey:
    """What identifies a figure within a run, and across two runs of one configuration (`compare` matches on it;
    the mode is the run's, compared once for the whole run)."""
    scenario: ScenarioName
    quantity: Quantity
    tracker: str | None = None
    style: str | None = None
    family: str | None = None
    system_metrics: bool | None = None
    subject: str | None = None
    scale: float | None = None

    def describe(self) -> str:
        return " ".join(str(x) for x in (self.scenario, self.quantity, self.tracker, self.style, self.family,
                                         "system metrics" if self.system_metrics else None, self.subject,
                                         None if self.scale is None else f"{self.scale:g}") if x)


KEY_FIELDS = tuple(f.name for f in dataclasses.fields(FigureKey))


@dataclass(frozen=True)
class Figure:
    """One measured number with everything needed to select, label and judge it."""
    scenario: ScenarioName
    quantity: Quantity              # what was measured; its unit, label, direction and compare margin
    value: float | None
    n: int                          # samples behind the value (rounds, calls, runs)
    tracker: str | None = None
    style: str | None = None
    family: str | None = None
    system_metrics: bool | None = None  # the tracker's CPU/GPU/memory sampling on (an arm of its own)
    subject: str | None = None      # a phase, a service, an operation, an arm name
    scale: float | None = None      # a run count, a writer count, a job length
    low: float | None = None        # interval, same unit as value
    high: float | None = None
    p: float | None = None          # p-value (Holm-adjusted where a family of tests was made)
    label: str = ""                 # how the report names it
    mode: str = ""                  # Mode.label(): native/compose, W&B offline/online, CPU/GPU
    indicative: bool = False        # too few samples to be more than a hint
    detail: dict[str, Any] = field(default_factory=dict)
    samples: list[float] | None = None  # the values behind value/low/high: per round, per repeat, or per call
    #                                     (down-sampled, with the exact percentiles in detail)
    interval: Interval | None = None    # how low/high come from the samples (None: no interval)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scenario", ScenarioName(self.scenario))
        object.__setattr__(self, "quantity", Quantity(self.quantity))
        if self.interval is not None:
            object.__setattr__(self, "interval", Interval(self.interval))

    @classmethod
    def estimated(cls, scenario: ScenarioName, quantity: Quantity, est: Estimate, **fields: Any) -> "Figure":
        """A figure whose value and interval are `est`, with the samples they come from."""
        bounded = est.n > 1 and not (math.isnan(est.low) or math.isnan(est.high))
        return cls(scenario, quantity, est.value, est.n, low=est.low if bounded else None,
                   high=est.high if bounded else None, p=est.p, samples=list(est.samples), interval=est.method,
                   indicative=est.n < 10, **fields)

    @property
    def testable(self) -> bool:
        """Two runs' samples of this figure can be tested against each other."""
        return bool(self.interval and self.interval.from_samples and self.samples and len(self.samples) > 1)

    def p_against(self, other: "Figure") -> float:
        """Two-sided p that `other` (the same figure of another run) measured the same thing."""
        return two_run_p(self.interval, self.samples, other.samples)

    def recomputed(self) -> Estimate:
        """Value and interval from the stored samples alone (what `compare` and a reader can check)."""
        return interval(self.interval, self.samples)

    @property
    def unit(self) -> str:
        return self.quantity.unit

    @property
    def key(self) -> FigureKey:
        return FigureKey(**{k: getattr(self, k) for k in KEY_FIELDS})

    @property
    def significant(self) -> bool | None:
        return None if self.p is None else self.p < ALPHA

    def to_dict(self) -> dict[str, Any]:
        optional_empty = {"detail": {}, "label": "", "mode": ""}
        out = {k: v for k, v in asdict(self).items() if v is not None and optional_empty.get(k, None) != v}
        return out | {"unit": self.unit}  # for a reader of the file; the quantity decides it

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Figure":
        return cls(**{k: v for k, v in d.items() if k != "unit"})


def select(figures: Iterable[Figure], **fields: Any) -> list[Figure]:
    """Figures whose fields equal every given value (None matches a missing field)."""
    return [f for f in figures if all(getattr(f, k) == v for k, v in fields.items())]


def one(figures: Iterable[Figure], **fields: Any) -> Figure | None:
    """The single figure with these fields, or None when there is none."""
    found = select(figures, **fields)
    if len(found) > 1:
        raise ValueError(f"{len(found)} figures match {fields}")
    return found[0] if found else None


@dataclass
class ScenarioResult:
    """A scenario's figures, what it could not measure and why, notes, and raw data for plots."""
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_measured: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    failed_trials: list[str] = field(default_factory=list)
    status: str = ""
    error: str | None = None

    def __post_init__(self) -> None:
        if not self.status:
            self.status = ("measured" if not self.not_measured else
                           "partial" if self.figures else "not_measured")

    def to_dict(self) -> dict[str, Any]:
        out = {"status": self.status, "figures": [f.to_dict() for f in self.figures],
               "not_measured": self.not_measured, "notes": self.notes, "data": self.data,
               "failed_trials": self.failed_trials}
        return out | ({"error": self.error} if self.error else {})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScenarioResult":
        return cls(figures=[Figure.from_dict(f) for f in d["figures"]], notes=d["notes"],
                   not_measured=d["not_measured"], data=d["data"], failed_trials=d.get("failed_trials", []),
                   status=d["status"], error=d.get("error"))

    @classmethod
    def failed(cls, error: str) -> "ScenarioResult":
        return cls(status="failed", error=error)
