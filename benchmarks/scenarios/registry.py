"""The scenarios, each registered once here with its title, plan, weight, run and plot
(benchmarks/scenarios/protocol.py); the runner, the command line and the report read this registry."""
from benchmarks.core.records import ScenarioName
from benchmarks.scenarios import api_calls, load, macro, micro, monitoring, privacy, query, setup, step, storage
from benchmarks.scenarios.protocol import Scenario

SCENARIOS: dict[ScenarioName, Scenario] = {s.name: s for s in (
    setup.SCENARIO, micro.SCENARIO, step.SCENARIO, macro.SCENARIO, api_calls.SCENARIO, storage.SCENARIO,
    query.SCENARIO, load.SCENARIO, monitoring.SCENARIO, privacy.SCENARIO)}
