"""The seed's job on one GPU, measured once: `python -m benchmarks gpu-check`
(the same as `python -m benchmarks.gpu.check`).

Writes gpu_check.json and gpu_check.md into --out: the device and torch/CUDA
versions; the training step (trainer.model.XrayCNN, trainer.engine.train_step) at
256 px, batch 32, untracked, in fp32 and bf16 with channels_last on and off; the
job's loop as `train` runs it (trainer.engine.train_one_epoch with the project's
DataLoader); the training thread's cost per logged step for each log style of W&B
offline (and MLflow on a local store, where importable); whether
`deterministic: true` gives the same losses twice; GPU utilisation and memory
sampled from NVML. Every figure carries the run's origin (device, run id, date).

Built to run on a bare GPU machine (see docs/gpu/README.md): only torch, torchvision,
numpy, scikit-learn, matplotlib, pillow, pyyaml and tqdm are needed; a tracker's
SDK is imported only when that tracker is measured, and one that cannot be
imported is recorded as not measured, with the reason.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from benchmarks.core.stats import Summary, summarize
from trainer.config import DEFAULT_CONFIG, LOG_STYLES, TrainConfig, load_config
from trainer.paths import PROJECT_ROOT
from trainer.errors import UserError, run_cli
from trainer.vocab import TrackerName

SCHEMA = "gpu-check/1"
RESULT_FILE = "gpu_check.json"
TABLE_FILE = "gpu_check.md"
TRACKERS = tuple(str(t) for t in (TrackerName.WANDB, TrackerName.MLFLOW))  # plain names: they reach the config
SAMPLE_INTERVAL_S = 0.2  # NVML sampling period; a Python thread this sparse does not slow the step


# ---------------------------------------------------------------- records

@dataclass
class Origin:
    """Where and when every figure of one check was measured."""
    device: str
    device_type: str  # "cuda" or "cpu"
    run_id: str
    date_utc: str
    host: str
    git_commit: str | None

    def __str__(self) -> str:
        return f"{self.device}, run {self.run_id} ({self.date_utc})"


@dataclass
class StepFigure:
    """The training step alone on batches already on the device, `steps` timed after `warmup`."""
    precision: str          # "fp32" or "bf16" (autocast on CUDA; the CPU always runs fp32)
    channels_last: bool
    deterministic: bool
    step_ms: Summary
    images_per_s: float     # batch x timed steps / their wall time (device synchronized at both ends)
    peak_memory_mb: float | None
    timer: str


@dataclass
class LoopFigure:
    """The job's loop as `train` runs it: DataLoader with augmentation, no host sync per step."""
    precision: str
    channels_last: bool
    deterministic: bool
    epochs_timed: int
    step_ms: Summary          # between consecutive steps' ends; an epoch's last batch may be partial
    images_per_s: float
    timer: str


@dataclass
class LoggingFigure:
    """One tracker x log style: the training thread's cost per logged step, inside the real loop."""
    tracker: str
    style: str
    status: str             # "measured", "failed" or "not measured"
    reason: str | None = None
    mode: str | None = None
    per_step_us: Summary | None = None      # time inside recorded.log_metrics on the training thread; naive
    # and tuned read the loss there (float), so on a GPU their calls include waiting for the step's kernels
    loop_step_ms: Summary | None = None     # the tracked loop's step (logging included)
    share_of_step_pct: float | None = None  # mean per-step cost / untracked loop step mean
    start_s: float | None = None
    finish_s: float | None = None


@dataclass
class Determinism:
    identical: bool
    steps: int
    max_abs_diff: float
    losses: list[list[float]]
    warnings: list[str]     # ops torch reported as having no deterministic implementation


@dataclass
class MonitorPhase:
    samples: int
    util_pct_mean: float
    util_pct_max: float
    memory_used_mb_max: float


@dataclass
class Monitoring:
    source: str             # "pynvml (nvidia-ml-py)", "nvidia-smi --query-gpu" or "none"
    reason: str | None
    interval_s: float
    phases: dict[str, MonitorPhase] = field(default_factory=dict)


@dataclass
class GpuCheck:
    schema: str
    origin: Origin
    environment: dict[str, object]
    settings: dict[str, object]
    step: list[StepFigure]
    loop: LoopFigure | None
    logging: list[LoggingFigure]
    determinism: Determinism | None
    monitoring: Monitoring
    skipped: list[str]      # phases left out (time budget), with why
    wall_s: float


# ---------------------------------------------------------------- GPU monitor

class GpuMonitor:
    """Samples GPU utilisation and memory on a thread, each sample labelled with the current phase."""

    def __init__(self, device, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.interval_s, self.label = interval_s, "setup"
        self.samples: list[tuple[str, float, float]] = []
        self.source, self.reason, self.read = open_sampler(device)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpu-monitor", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                util, mem = self.read()
            except Exception as e:  # a failing reader stops sampling, not the check
                self.reason = f"sampling stopped: {type(e).__name__}: {e}"
                return
            self.samples.append((self.label, util, mem))

    def __enter__(self) -> "GpuMonitor":
        if self.read is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @contextmanager
    def phase(self, label: str) -> Iterator[None]:
        self.label = label
        try:
            yield
        finally:
            self.label = "between phases"

    def summary(self) -> Monitoring:
        phases: dict[str, MonitorPhase] = {}
        for label in dict.fromkeys(s[0] for s in self.samples):
            util = [s[1] for s in self.samples if s[0] == label]
            mem = [s[2] for s in self.samples if s[0] == label]
            phases[label] = MonitorPhase(len(util), sum(util) / len(util), max(util), max(mem))
        return Monitoring(self.source, self.reason, self.interval_s, phases)


def _nvml_index() -> int:
    """NVML numbers GPUs physically; torch's cuda:0 is the first of CUDA_VISIBLE_DEVICES."""
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip()
    return int(first) if first.isdigit() else 0


def open_sampler(device) -> tuple[str, str | None, Callable[[], tuple[float, float]] | None]:
    """(source, why not / note, reader of (utilisation %, memory used MiB)): pynvml, else nvidia-smi."""
    if device.type != "cuda":
        return "none", "no CUDA device: nothing to sample", None
    index, problems = _nvml_index(), []
    try:
        import pynvml
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)

        def read_nvml() -> tuple[float, float]:
            return (float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                    pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20)
        read_nvml()
        return "pynvml (nvidia-ml-py)", None, read_nvml
    except Exception as e:  # not installed, or NVML refuses: try the command-line tool
        problems.append(f"pynvml: {type(e).__name__}: {e}")
    if shutil.which("nvidia-smi"):
        def read_smi() -> tuple[float, float]:
            util, mem = (float(v) for v in smi_query("utilization.gpu,memory.used").split(","))
            return util, mem
        try:
            read_smi()
            return "nvidia-smi --query-gpu", "; ".join(problems), read_smi
        except (subprocess.SubprocessError, OSError, ValueError, IndexError) as e:
            problems.append(f"nvidia-smi: {type(e).__name__}: {e}")
    else:
        problems.append("nvidia-smi: not on PATH")
    return "none", "; ".join(problems), None


# ---------------------------------------------------------------- environment

def _package(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def describe(device) -> tuple[Origin, dict[str, object]]:
    import torch
    from trainer.provenance import git_commit
    now = datetime.now(timezone.utc)
    env: dict[str, object] = {
        "python": platform.python_version(), "torch": torch.__version__, "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "packages": {p: _package(p) for p in ("torchvision", "numpy", "wandb", "mlflow", "mlflow-skinny",
                                              "nvidia-ml-py")},
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        name = props.name
        env |= {"gpu_count": torch.cuda.device_count(), "capability": f"{props.major}.{props.minor}",
                "multiprocessors": props.multi_processor_count, "gpu_memory_gib": round(props.total_memory / 2**30, 1),
                "driver": driver_version()}
    else:
        name = f"CPU ({env['cpu']}, {os.cpu_count()} cores)"
    run_id = f"gpu-check-{now.strftime('%Y%m%dT%H%M%SZ')}"
    return Origin(name, device.type, run_id, now.isoformat(timespec="seconds"), platform.node(), git_commit()), env


def smi_query(fields: str) -> str:
    """`nvidia-smi --query-gpu=FIELDS` for our GPU: one CSV line, no header, no units; raises where it fails."""
    return subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits",
                           f"--id={_nvml_index()}"], capture_output=True, text=True, timeout=10,
                          check=True).stdout.strip().splitlines()[0]


def driver_version() -> str | None:
    try:
        return smi_query("driver_version")
    except (subprocess.SubprocessError, OSError, IndexError):
        return None


def nvidia_smi_text() -> str:
    """nvidia-smi's own table, as printed, for the record; empty where there is none."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ""
    try:
        return subprocess.run([smi], capture_output=True, text=True, timeout=30).stdout
    except (subprocess.SubprocessError, OSError):
        return ""


# ---------------------------------------------------------------- measurements

def set_determinism(flag: bool) -> None:
    """What `deterministic: true/false` means in trainer.train.seed_everything, set explicitly per phase."""
    import torch
    torch.use_deterministic_algorithms(flag, warn_only=True)
    torch.backends.cudnn.benchmark = not flag


def synchronize(device) -> None:
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(run_one: Callable[[], object], steps: int, warmup: int, device) -> tuple[list[float], float]:
    """Per-step times (ms) of `steps` steps after `warmup` untimed ones, and their wall time (s).
    CUDA: one event pair per step on the GPU's timeline, no host sync between steps;
    CPU: perf_counter around each step (the CPU runs synchronously)."""
    import torch
    for _ in range(warmup):
        run_one()
    synchronize(device)
    t0 = time.perf_counter()
    if device.type == "cuda":
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(steps)]
        for begin, end in events:
            begin.record()
            run_one()
            end.record()
        torch.cuda.synchronize(device)
        return [b.elapsed_time(e) for b, e in events], time.perf_counter() - t0
    ms = []
    for _ in range(steps):
        t = time.perf_counter()
        run_one()
        ms.append((time.perf_counter() - t) * 1000)
    return ms, time.perf_counter() - t0


def fixed_batches(dataset, batch_size: int, device, memory_format, count: int = 4) -> list:
    """`count` augmented batches of real (generated) images, moved to the device once."""
    import torch
    batches = []
    for b in range(count):
        items = [dataset[(b * batch_size + i) % len(dataset)] for i in range(batch_size)]
        x = torch.stack([x for x, _ in items]).to(device, memory_format=memory_format)
        batches.append((x, torch.stack([y for _, y in items]).to(device)))
    return batches


def measure_step(cfg: TrainConfig, data, device, *, bf16: bool, channels_last: bool, deterministic: bool,
                 steps: int, warmup: int) -> StepFigure:
    import torch
    from torch import nn
    from trainer.engine import train_step
    from trainer.train import build_model, build_optimizer
    set_determinism(deterministic)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(device, memory_format=fmt).train()
    optimizer, criterion = build_optimizer(cfg, model), nn.CrossEntropyLoss()
    batches, i = fixed_batches(data.train, cfg.batch_size, device, fmt), 0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def one() -> None:
        nonlocal i
        x, y = batches[i % len(batches)]
        i += 1
        train_step(model, x, y, optimizer, criterion, device, bf16=bf16)

    ms, wall = time_steps(one, steps, warmup, device)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    timer = "CUDA events per step" if device.type == "cuda" else "perf_counter per step"
    precision = "bf16" if bf16 and device.type == "cuda" else "fp32"
    return StepFigure(precision, channels_last, deterministic, summarize(ms), steps * cfg.batch_size / wall, peak, timer)


@dataclass
class LoopRun:
    step_ms: list[float]
    log_us: list[float]
    images: int


class StepMarks:
    """Marks at each step's end: CUDA events on the GPU's timeline (the loop does not wait for the
    device per step, so host clocks would time the launches), perf_counter on the CPU."""

    def __init__(self, device) -> None:
        import torch
        self.cuda = device.type == "cuda"
        self._event = (lambda: torch.cuda.Event(enable_timing=True)) if self.cuda else None
        self.marks: list = []

    def mark(self) -> None:
        if self.cuda:
            event = self._event()
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def intervals_ms(self) -> list[float]:
        """Call after the device has caught up (the epoch's end reads its losses)."""
        pairs = list(zip(self.marks, self.marks[1:]))
        if self.cuda:
            self.marks[-1].synchronize()
            return [a.elapsed_time(b) for a, b in pairs]
        return [(b - a) * 1000 for a, b in pairs]


def run_loop(cfg: TrainConfig, data, device, epochs: int,
             log: Callable[[int, object], None] | None = None, drain: Callable[[], None] | None = None) -> LoopRun:
    """`epochs` epochs of trainer.engine.train_one_epoch as `train` runs it; the first is warm-up.
    `log(step, loss)` is called on every step, as train's on_step does (the loss a device tensor),
    and timed on the training thread; `drain()` after each epoch, as train does before its checkpoint."""
    import torch
    from trainer.engine import train_one_epoch
    from trainer.train import build_model, build_optimizer, make_loader
    set_determinism(cfg.deterministic)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(device, memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg, model)
    loader = make_loader(data.train, cfg, shuffle=True)
    out, step = LoopRun([], [], 0), 0
    for epoch in range(1, epochs + 1):
        timed, marks = epoch > 1, StepMarks(device)

        def on_step(s: int, loss) -> None:
            if log is not None:
                t = time.perf_counter()
                log(s, loss)
                if timed:
                    out.log_us.append((time.perf_counter() - t) * 1e6)
            marks.mark()

        marks.mark()
        step += train_one_epoch(model, loader, optimizer, device, epoch=epoch, first_step=step,
                                on_step=on_step).steps
        if drain is not None:
            drain()
        if timed:
            out.step_ms += marks.intervals_ms()
            out.images += len(data.train)
    return out


def loop_figure(cfg: TrainConfig, device, run: LoopRun, epochs: int) -> LoopFigure:
    timer = ("CUDA events at each step's end (on_step)" if device.type == "cuda"
             else "perf_counter at each step's end (on_step)")
    return LoopFigure("bf16" if device.type == "cuda" else "fp32", True, cfg.deterministic, epochs - 1,
                      summarize(run.step_ms), run.images / (sum(run.step_ms) / 1000), timer)


def measure_logging(tracker_name: str, style: str, cfg: TrainConfig, data, device, epochs: int,
                    untracked: LoopFigure | None) -> LoggingFigure:
    """The loop with this tracker and style behind the recorder `train` uses (Recorded: journal, then SDK;
    Deferred in front of it for `deferred`), one logged step per step."""
    from trainer.train import RunInfo, new_run_dir, versions
    from trainer.trackers import make_tracker
    from trainer.trackers.deferred import recorder
    mode = "offline, client only" if tracker_name == "wandb" else "local file store, client only"
    try:
        tracker = make_tracker(tracker_name, style)
    except ImportError as e:
        return LoggingFigure(tracker_name, style, "not measured", f"{tracker_name} is not importable here: {e}")
    except Exception as e:  # the SDK is there but refuses to start: say why, keep going
        return LoggingFigure(tracker_name, style, "failed", f"{type(e).__name__}: {str(e)[:300]}", mode)
    cfg = cfg.replace(tracker=tracker_name, log_style=style, run_name=f"{tracker_name}-{style}")
    _, run_dir = new_run_dir(cfg, tracker_name)
    info = RunInfo(run_dir, data.fingerprint, data.sizes(), data.layout, versions(), None)
    recorded = recorder(tracker, run_dir, None, style)  # what run_training logs through
    try:
        t0 = time.perf_counter()
        recorded.start(cfg, info)
        start_s = time.perf_counter() - t0
        run = run_loop(cfg, data, device, epochs, log=lambda s, loss: recorded.log_metrics({"train/loss": loss}, s),
                       drain=recorded.drain)
    except Exception as e:  # one tracker failing must not lose the other figures
        recorded.finish("FAILED")
        return LoggingFigure(tracker_name, style, "failed", f"{type(e).__name__}: {str(e)[:300]}", mode)
    t0 = time.perf_counter()
    recorded.finish("FINISHED")
    finish_s = time.perf_counter() - t0
    per_step = summarize(run.log_us)
    share = 100 * per_step.mean / 1000 / untracked.step_ms.mean if untracked else None
    return LoggingFigure(tracker_name, style, "measured", None, mode, per_step, summarize(run.step_ms), share,
                         start_s, finish_s)


def check_determinism(cfg: TrainConfig, data, device, steps: int) -> Determinism:
    """Two runs from scratch with `deterministic: true`, as run_training seeds them: same losses?"""
    import torch
    from trainer.engine import train_one_epoch
    from trainer.train import build_model, build_optimizer, make_loader, seed_everything
    runs: list[list[float]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            seed_everything(cfg.seed, True)
            torch.manual_seed(cfg.seed)
            model = build_model(cfg).to(device, memory_format=torch.channels_last)
            optimizer, loader = build_optimizer(cfg, model), make_loader(data.train, cfg, shuffle=True)
            losses: list[float] = []
            epoch = 0
            while len(losses) < steps:
                epoch += 1
                losses += train_one_epoch(model, loader, optimizer, device, epoch=epoch, first_step=len(losses),
                                          on_step=lambda s, loss: None).losses
            runs.append(losses[:steps])
    notes = sorted({str(w.message).splitlines()[0][:200] for w in caught if "determinis" in str(w.message)})
    diff = max(abs(a - b) for a, b in zip(*runs))
    return Determinism(runs[0] == runs[1], steps, diff, runs, notes)


# ---------------------------------------------------------------- the check

@dataclass
class Plan:
    image_size: int
    batch_size: int
    steps: int
    warmup: int
    loop_epochs: int
    det_steps: int
    trackers: tuple[str, ...]
    styles: tuple[str, ...]
    budget_s: float


def prepare_environment(work: Path) -> None:
    """Trackers stay on this machine: W&B offline, MLflow on a local store, no telemetry."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts, as seed_everything needs
    os.environ.update({"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(work),
                       "MLFLOW_TRACKING_URI": f"file:{work / 'mlruns'}", "MLFLOW_ALLOW_FILE_STORE": "true",
                       "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    for key in ("WANDB_BASE_URL", "WANDB_API_KEY", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(key, None)


def say(message: str) -> None:
    print(f"[gpu-check {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_check(plan: Plan, data_root: Path, device_name: str, work: Path) -> tuple[GpuCheck, str]:
    t_start = time.perf_counter()
    import torch
    from trainer.data import load_data
    from trainer.train import pick_device
    cfg = load_config({"data": str(data_root), "image_size": plan.image_size, "batch_size": plan.batch_size,
                       "device": device_name, "out_dir": str(work / "runs"), "cache_dir": str(work / "cache"),
                       "system_metrics": False}, path=DEFAULT_CONFIG)
    device = pick_device(cfg.device)
    origin, env = describe(device)
    smi = nvidia_smi_text()
    say(f"{origin}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    data = load_data(cfg.data, image_size=cfg.image_size, cache_dir=cfg.cache_dir, seed=cfg.seed,
                     val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, augment=cfg.augment)
    settings = {"image_size": cfg.image_size, "batch_size": cfg.batch_size, "optimizer": cfg.optimizer,
                "lr": cfg.lr, "seed": cfg.seed, "config_deterministic": cfg.deterministic, "data": str(data_root),
                "train_images": len(data.train), "steps": plan.steps, "warmup": plan.warmup,
                "loop_epochs": plan.loop_epochs, "det_steps": plan.det_steps, "budget_s": plan.budget_s,
                "styles": list(plan.styles), "trackers": list(plan.trackers)}
    steps, logging_figs, skipped = [], [], []
    loop = determinism = None

    def within_budget(what: str) -> bool:
        used = time.perf_counter() - t_start
        if used > plan.budget_s:
            skipped.append(f"{what}: time budget of {plan.budget_s:.0f} s spent ({used:.0f} s)")
            say(f"skipped {what} (budget)")
            return False
        return True

    with GpuMonitor(device) as monitor:
        variants = [(bf16, cl, cfg.deterministic) for bf16 in (False, True) for cl in (False, True)]
        variants.append((True, True, not cfg.deterministic))  # the default's price of determinism
        if device.type != "cuda":
            variants = [v for v in variants if not v[0]]  # bf16 is CUDA-only in trainer.engine
        for bf16, cl, det in variants:
            label = f"step {'bf16' if bf16 else 'fp32'} channels_last={'on' if cl else 'off'} deterministic={det}"
            if within_budget(label):
                with monitor.phase(label):
                    steps.append(measure_step(cfg, data, device, bf16=bf16, channels_last=cl, deterministic=det,
                                              steps=plan.steps, warmup=plan.warmup))
                say(f"{label}: p50 {steps[-1].step_ms.p50:.2f} ms, {steps[-1].images_per_s:.0f} images/s")
        if within_budget("loop untracked"):
            with monitor.phase("loop untracked"):
                loop = loop_figure(cfg, device, run_loop(cfg, data, device, plan.loop_epochs), plan.loop_epochs)
            say(f"loop untracked: p50 {loop.step_ms.p50:.2f} ms, {loop.images_per_s:.0f} images/s")
        for tracker in plan.trackers:
            for style in plan.styles:
                if within_budget(f"logging {tracker} {style}"):
                    with monitor.phase(f"logging {tracker} {style}"):
                        fig = measure_logging(tracker, style, cfg, data, device, plan.loop_epochs, loop)
                    logging_figs.append(fig)
                    say(f"logging {tracker} {style}: {fig.status}" + (
                        f", p50 {fig.per_step_us.p50:.1f} µs per logged step" if fig.per_step_us else f" ({fig.reason})"))
        if within_budget("determinism"):
            with monitor.phase("determinism"):
                determinism = check_determinism(cfg, data, device, plan.det_steps)
            say(f"determinism: identical={determinism.identical} over {determinism.steps} steps")
    check = GpuCheck(SCHEMA, origin, env, settings, steps, loop, logging_figs, determinism, monitor.summary(),
                     skipped, time.perf_counter() - t_start)
    return check, smi


# ---------------------------------------------------------------- reading a result back

class GpuStepTime(NamedTuple):
    seconds: float
    origin: str


def load_check(path: Path | str) -> dict:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"GPU check result {path} does not exist; run `python -m benchmarks gpu-check` "
                        f"on a GPU machine (docs/gpu/README.md)") from None
    except json.JSONDecodeError as e:
        raise UserError(f"GPU check result {path} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise UserError(f"{path} is not a GPU check result ({SCHEMA})")
    return doc


def load_gpu_step_time(path: Path | str, figure: str = "loop", allow_cpu: bool = False) -> GpuStepTime:
    """The median step time (s) of a GPU check and where it was measured.
    figure "loop": the job's step as `train` runs it (data loading, augmentation, syncs included);
    "step": the training step alone in the project's setting (bf16, channels_last, deterministic)."""
    doc = load_check(path)
    origin = doc["origin"]
    if origin["device_type"] != "cuda" and not allow_cpu:
        raise UserError(f"{path} was measured on {origin['device']}, not a GPU")
    if figure == "loop":
        chosen = doc.get("loop")
    elif figure == "step":
        project = doc["settings"]["config_deterministic"]
        bf16 = "bf16" if origin["device_type"] == "cuda" else "fp32"
        chosen = next((s for s in doc["step"] if s["precision"] == bf16 and s["channels_last"]
                       and s["deterministic"] == project), None)
    else:
        raise UserError(f"figure={figure!r} is unknown; valid: loop, step")
    if not chosen:
        raise UserError(f"{path} holds no {figure} figure (skipped: {'; '.join(doc.get('skipped') or []) or 'no'})")
    return GpuStepTime(chosen["step_ms"]["p50"] / 1000, f"{origin['device']}, run {origin['run_id']} ({origin['date_utc']})")


# ---------------------------------------------------------------- the table

def render_table(check: dict) -> str:
    """A short Markdown table of one check's figures, headed by its origin."""
    o, env = check["origin"], check["environment"]
    lines = [f"# GPU check: {o['device']}", "",
             f"Run {o['run_id']}, {o['date_utc']}, host {o['host']}; torch {env['torch']}, CUDA {env['torch_cuda']}, "
             f"cuDNN {env['cudnn']}. Batch {check['settings']['batch_size']}, {check['settings']['image_size']} px, "
             f"generated data ({check['settings']['train_images']} training images).", "",
             "| what | precision | channels_last | deterministic | p50 ms | p95 ms | images/s | peak MiB |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for s in check["step"]:
        peak = f"{s['peak_memory_mb']:.0f}" if s["peak_memory_mb"] is not None else "-"
        lines.append(f"| step alone ({s['timer']}) | {s['precision']} | {s['channels_last']} | {s['deterministic']} | "
                     f"{s['step_ms']['p50']:.2f} | {s['step_ms']['p95']:.2f} | {s['images_per_s']:.0f} | {peak} |")
    if check["loop"]:
        lp = check["loop"]
        lines.append(f"| job loop (DataLoader, augmentation) | {lp['precision']} | {lp['channels_last']} | "
                     f"{lp['deterministic']} | {lp['step_ms']['p50']:.2f} | {lp['step_ms']['p95']:.2f} | "
                     f"{lp['images_per_s']:.0f} | - |")
    lines += ["", "| tracker | style | mode | status | per logged step p50 µs | p95 µs | p99 µs | % of step | finish s |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for f in check["logging"]:
        if f["per_step_us"]:
            u = f["per_step_us"]
            share = f"{f['share_of_step_pct']:.2f}" if f["share_of_step_pct"] is not None else "-"
            lines.append(f"| {f['tracker']} | {f['style']} | {f['mode']} | measured (n={u['n']}) | {u['p50']:.1f} | "
                         f"{u['p95']:.1f} | {u['p99']:.1f} | {share} | {f['finish_s']:.2f} |")
        else:
            lines.append(f"| {f['tracker']} | {f['style']} | {f['mode'] or '-'} | {f['status']}: {f['reason']} "
                         f"| - | - | - | - | - |")
    d, m = check["determinism"], check["monitoring"]
    if d:
        lines += ["", f"Determinism (`deterministic: true`, two runs of {d['steps']} steps): "
                      f"{'identical losses' if d['identical'] else 'losses differ, max |diff| %.3g' % d['max_abs_diff']}"
                      + (f"; torch warned: {'; '.join(d['warnings'])}" if d["warnings"] else "") + "."]
    lines += ["", f"GPU utilisation and memory, from {m['source']}" + (f" ({m['reason']})" if m["reason"] else "")
              + f", every {m['interval_s']} s:"]
    for label, p in m["phases"].items():
        lines.append(f"- {label}: utilisation mean {p['util_pct_mean']:.0f}% (max {p['util_pct_max']:.0f}%), "
                     f"memory used up to {p['memory_used_mb_max']:.0f} MiB ({p['samples']} samples)")
    lines += [f"- skipped: {s}" for s in check["skipped"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- command line

def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks gpu-check",
                                description="The seed's job on one GPU: step time, images/s, per-step logging cost, "
                                            "determinism, NVML utilisation; writes gpu_check.json and gpu_check.md.")
    p.add_argument("--data", type=Path, default=None,
                   help="data set folder (default: data/gpu-check, generated there when missing)")
    p.add_argument("--out", type=Path, default=None, help="folder for the results (default: results/gpu-check/<run id>)")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu", "auto"), help="(default: cuda)")
    p.add_argument("--image-size", type=int, default=256, help="(default: 256, the seed's)")
    p.add_argument("--batch-size", type=int, default=32, help="(default: 32, the seed's)")
    p.add_argument("--steps", type=int, default=100, help="timed steps per step variant (default: 100)")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps before them (default: 20)")
    p.add_argument("--loop-epochs", type=int, default=10,
                   help="epochs of the job's loop, untracked and per log style; the first is warm-up (default: 10)")
    p.add_argument("--det-steps", type=int, default=20, help="steps per run of the determinism check (default: 20)")
    p.add_argument("--tracker", action="append", choices=TRACKERS, help="measure only this tracker (repeatable)")
    p.add_argument("--budget-s", type=float, default=240, help="skip phases that would start after this (default: 240)")
    return p


def ensure_data(root: Path | None, image_size: int) -> Path:
    if root is not None:
        return root
    root = PROJECT_ROOT / "data" / "gpu-check"
    if not (root / "train").is_dir():
        from trainer.synthetic import make_dataset
        say(f"generating data in {root}")
        make_dataset(root, per_class=100, size=image_size)
    return root


def cmd_check(args: argparse.Namespace) -> int:
    if args.steps < 1 or args.warmup < 0 or args.loop_epochs < 2 or args.det_steps < 1:
        raise UserError("--steps and --det-steps must be >= 1, --warmup >= 0, --loop-epochs >= 2 (the first is warm-up)")
    plan = Plan(args.image_size, args.batch_size, args.steps, args.warmup, args.loop_epochs, args.det_steps,
                tuple(args.tracker or TRACKERS), LOG_STYLES, args.budget_s)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as work:  # caches and tracker runs: not results
        prepare_environment(Path(work))
        check, smi = run_check(plan, ensure_data(args.data, args.image_size), args.device, Path(work))
    out = args.out or PROJECT_ROOT / "results" / "gpu-check" / check.origin.run_id
    out.mkdir(parents=True, exist_ok=True)
    doc = asdict(check)
    (out / RESULT_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    table = render_table(doc)
    (out / TABLE_FILE).write_text(table)
    if smi:
        (out / "nvidia-smi.txt").write_text(smi)
    print(table)
    print(f"results: {out / RESULT_FILE}\ntable:   {out / TABLE_FILE}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    return run_cli(lambda: cmd_check(args))


if __name__ == "__main__":
    sys.exit(main())
