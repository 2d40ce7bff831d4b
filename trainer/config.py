"""The single source of training settings.

`config/train.yaml` holds the defaults, command-line flags override them, and
`asdict(cfg)` is the only thing sent to trackers and written into checkpoints.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from trainer.errors import UserError
from trainer.paths import PROJECT_ROOT
from trainer.vocab import Style, TrackerName

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "train.yaml"

OPTIMIZERS = ("adam", "adamw", "sgd")
TRACKERS = tuple(TrackerName)
LOG_STYLES = tuple(Style)
DEVICES = ("auto", "cpu", "cuda")
SCHEDULERS = ("none", "cosine", "step", "plateau")
MIN_IMAGE_SIZE = 18  # conv3x3 (valid) then four 2x2 poolings need >= 1 px left


@dataclass(frozen=True)
class TrainConfig:
    data: str | None
    image_size: int
    batch_size: int
    epochs: int
    optimizer: str
    lr: float
    weight_decay: float
    momentum: float
    scheduler: str
    lr_step_size: int
    lr_gamma: float
    lr_patience: int
    lr_min: float
    dropout: tuple[float, float, float, float]
    augment: bool
    early_stopping: int
    seed: int
    deterministic: bool
    device: str
    val_fraction: float
    test_fraction: float
    tracker: str
    log_style: str
    log_every: int
    experiment: str
    run_name: str | None
    register_model: bool
    log_artifacts: bool
    system_metrics: bool
    wandb_watch: int
    out_dir: str
    cache_dir: str

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def _validate(c: TrainConfig) -> None:
    for f in dataclasses.fields(c):  # inf or nan passes every range check below, and then diverges
        value = getattr(c, f.name)
        numbers = value if isinstance(value, tuple) else (value,)
        _check(all(math.isfinite(v) for v in numbers if isinstance(v, float)),
               f"{f.name}={value} must be a finite number")
    _check(c.image_size >= MIN_IMAGE_SIZE,
           f"image_size={c.image_size} is too small: the network's conv and four 2x2 "
           f"poolings need at least {MIN_IMAGE_SIZE} px")
    _check(c.batch_size >= 1, f"batch_size={c.batch_size} must be at least 1")
    _check(c.epochs >= 1, f"epochs={c.epochs} must be at least 1")
    _check(c.optimizer in OPTIMIZERS, f"optimizer={c.optimizer!r} is unknown; valid: {', '.join(OPTIMIZERS)}")
    _check(c.lr > 0, f"lr={c.lr} must be positive")
    _check(c.weight_decay >= 0, f"weight_decay={c.weight_decay} must be >= 0")
    _check(0 <= c.momentum < 1, f"momentum={c.momentum} must be in [0, 1)")
    _validate_scheduler(c)
    _check(len(c.dropout) == 4 and all(0 <= p < 1 for p in c.dropout),
           f"dropout={list(c.dropout)} must be four rates in [0, 1)")
    _check(c.early_stopping >= 0, f"early_stopping={c.early_stopping} must be >= 0 (0 = off)")
    _check(c.device in DEVICES, f"device={c.device!r} is unknown; valid: {', '.join(DEVICES)}")
    _check(0 < c.val_fraction < 1, f"val_fraction={c.val_fraction} must be in (0, 1)")
    _check(0 < c.test_fraction < 1 and c.val_fraction + c.test_fraction < 1,
           f"test_fraction={c.test_fraction} must be in (0, 1) and leave room for training")
    _check(c.tracker in TRACKERS, f"tracker={c.tracker!r} is unknown; valid: {', '.join(TRACKERS)}")
    _check(c.log_style in LOG_STYLES, f"log_style={c.log_style!r} is unknown; valid: {', '.join(LOG_STYLES)}")
    _check(c.log_every >= 1, f"log_every={c.log_every} must be at least 1")
    _check(c.wandb_watch >= 0, f"wandb_watch={c.wandb_watch} must be >= 0 (0 = off)")


def _validate_scheduler(c: TrainConfig) -> None:
    _check(c.scheduler in SCHEDULERS, f"scheduler={c.scheduler!r} is unknown; valid: {', '.join(SCHEDULERS)}")
    _check(c.lr_step_size >= 1, f"lr_step_size={c.lr_step_size} must be at least 1")
    _check(0 < c.lr_gamma < 1, f"lr_gamma={c.lr_gamma} must be in (0, 1)")
    _check(c.lr_patience >= 0, f"lr_patience={c.lr_patience} must be >= 0")
    _check(0 <= c.lr_min < c.lr, f"lr_min={c.lr_min} must be in [0, lr={c.lr})")


def field_kind(hint: Any) -> str:
    """'tuple', 'bool', 'float', 'int' or 'str': what a TrainConfig type hint asks for (YAML and flags alike)."""
    text = str(hint)
    if text.startswith("tuple"):
        return "tuple"
    return next((kind for kind in ("bool", "float", "int") if kind in text), "str")


def _coerce(name: str, value: Any, hint: Any, source: str) -> Any:
    """Type-check one value from YAML or a flag; ints are accepted as floats."""
    if value is None:
        if "None" in str(hint):
            return None
        raise UserError(f"{source}: {name} must not be empty")
    text, kind = str(hint), field_kind(hint)
    if kind == "tuple":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise UserError(f"{source}: {name}={value!r} must be a list of numbers")
        return tuple(float(v) for v in value)
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise UserError(f"{source}: {name}={value!r} has the wrong type (expected {text.replace(' | None', '')})")
    return value


def load_config(overrides: dict[str, Any] | None = None, path: Path | str | None = DEFAULT_CONFIG) -> TrainConfig:
    """Defaults from `path` (YAML), then `overrides` (flags); a None override means "not given"."""
    values: dict[str, Any] = {}
    source = "overrides"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise UserError(f"config file {path} does not exist") from None
        except yaml.YAMLError as e:
            raise UserError(f"config file {path} is not valid YAML: {e}") from None
        if not isinstance(values, dict):
            raise UserError(f"config file {path} must be a mapping of setting: value")
    hints = get_type_hints(TrainConfig)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise UserError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(hints)}")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None or k not in values})
    if path is None:  # a config saved by an older run: settings added since take today's defaults
        values = {**_defaults(hints), **values}
    missing = sorted(set(hints) - set(values))
    if missing:
        raise UserError(f"{source}: missing key(s) {', '.join(missing)}")
    typed = {k: _coerce(k, values[k], hints[k], source) for k in hints}
    return TrainConfig(**typed)


def _defaults(hints: dict[str, Any]) -> dict[str, Any]:
    try:
        defaults = yaml.safe_load(DEFAULT_CONFIG.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return {k: v for k, v in defaults.items() if k in hints} if isinstance(defaults, dict) else {}
