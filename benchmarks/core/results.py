"""results.json: a schema-versioned suite of scenario results, each a list of
typed `Figure` records (benchmarks/core/records.py). The report reads this file and
nothing else."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from benchmarks.core.quantities import Quantity
from benchmarks.core.stats import Interval
from benchmarks.core.records import Family, Figure, ScenarioName, ScenarioResult
from trainer.errors import UserError
from trainer.files import atomic_write
from trainer.vocab import Style, TrackerName

SCHEMA_VERSION = 3
READABLE = (2, 3)  # version 2 has no samples: its intervals are shown, and compare judges them by margin
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


def schema() -> dict:
    """The JSON schema, its names filled in from the enumerations (one list of each, in the code)."""
    out = json.loads(SCHEMA_FILE.read_text())
    figure = out["$defs"]["figure"]["properties"]
    out["properties"]["scenarios"]["propertyNames"]["enum"] = [str(s) for s in ScenarioName]
    for name, enum in (("scenario", ScenarioName), ("quantity", Quantity), ("tracker", TrackerName), ("style", Style),
                       ("family", Family), ("interval", Interval)):
        figure[name]["enum"] = [str(v) for v in enum]
    return out


def validate(suite: dict, source: str = "results.json") -> None:
    version = suite.get("schema_version") if isinstance(suite, dict) else None
    if version not in READABLE:
        raise UserError(f"{source} has schema_version {version!r}; this version of the report reads "
                        f"schema_version {' or '.join(map(str, READABLE))}. Re-run `python -m benchmarks run` to "
                        "regenerate it.")
    try:
        jsonschema.validate(suite, schema())
    except jsonschema.ValidationError as e:
        where = "/".join(map(str, e.absolute_path)) or "(top level)"
        raise UserError(f"{source} does not match the results schema at {where}: {e.message}") from None


def dump(suite: dict, path: Path) -> Path:
    validate(suite, str(path))
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(suite, indent=1)))


def load(path: Path | str) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        suite = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; run `python -m benchmarks run` first") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None
    validate(suite, str(path))
    return suite


def scenario_results(suite: dict) -> dict[str, ScenarioResult]:
    return {name: ScenarioResult.from_dict(sc) for name, sc in suite["scenarios"].items()}


def all_figures(suite: dict) -> list[Figure]:
    return [f for sc in scenario_results(suite).values() for f in sc.figures]


def as_jsonable(value: Any) -> Any:
    """Round-trip through JSON, as the file will hold it."""
    return json.loads(json.dumps(value))
