"""What a scenario is: its name, title, plan, time weight, run and plot, in one record that
benchmarks/scenarios/__init__.py registers once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from benchmarks.core.records import ScenarioName, ScenarioResult

if TYPE_CHECKING:
    from benchmarks.context import Context
    from benchmarks.core.profiles import Profile


def no_plot(sc: ScenarioResult, out: Path) -> list[str]:
    return []


@dataclass(frozen=True)
class Scenario:
    name: ScenarioName
    title: str                                            # the report's section heading
    planned_trials: Callable[["Profile"], int]            # worker trials it will start (the plan line)
    weight: Callable[["Profile"], float]                  # seconds on a 2-core machine (the progress bar's time left)
    run: Callable[["Context"], ScenarioResult]
    plot: Callable[[ScenarioResult, Path], list[str]] = no_plot  # file names of the plots it drew into a folder
