"""The harness's import graph: every module imports, and no two modules of `benchmarks` import each other,
directly or through others (lazy imports inside functions count too: they are the same dependency)."""
import ast
import graphlib
import importlib
from pathlib import Path

import pytest

from trainer.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "benchmarks"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, known: set[str]) -> set[str]:
    """The benchmarks modules a module's import statements name (`from a import b` names a.b when b is one)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out & known


def import_graph() -> dict[str, set[str]]:
    """module -> the benchmarks modules it imports."""
    files = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(f) for f in files}
    graph = {}
    for f in files:
        name = module_name(f)
        graph[name] = {t for t in imported(ast.parse(f.read_text()), known)
                       if t != name and not name.startswith(t + ".")}  # a package's own __init__ is no edge back
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, or [] when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as e:
        return e.args[1]
    return []


def test_no_import_cycle_in_benchmarks():
    assert cycle(import_graph()) == []


def test_the_cycle_check_finds_a_planted_cycle():
    graph = import_graph()
    graph["benchmarks.core.records"].add("benchmarks.reporting.report")  # records -> report -> records
    assert "benchmarks.core.records" in cycle(graph)


def test_core_imports_nothing_above_it():
    up = [(a, b) for a, targets in import_graph().items() for b in targets
          if a.startswith("benchmarks.core") and not b.startswith("benchmarks.core")]
    assert up == []


@pytest.mark.parametrize("name", sorted(module_name(f) for f in PACKAGE.rglob("*.py") if f.name != "__main__.py"))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_every_scenario_name_is_registered_once_with_its_parts():
    from benchmarks.core.records import ScenarioName
    from benchmarks.scenarios.registry import SCENARIOS
    assert list(SCENARIOS) == list(ScenarioName)
    assert all(s.name == name and s.title and callable(s.run) for name, s in SCENARIOS.items())


def _sources():
    return [(f, ast.parse(f.read_text())) for f in sorted(PACKAGE.rglob("*.py")) if f.name != "quantities.py"]


def quantity_literals(tree: ast.AST) -> list[int]:
    """Lines where a figure's quantity is named by a string: `quantity="..."`, `x.quantity == "..."`, or a
    string as Figure's second argument."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "quantity" and isinstance(node.value, ast.Constant):
            out.append(node.value.lineno)
        elif isinstance(node, ast.Compare) and any(isinstance(x, ast.Attribute) and x.attr == "quantity"
                                                   for x in [node.left, *node.comparators]) \
                and any(isinstance(x, ast.Constant) for x in [node.left, *node.comparators]):
            out.append(node.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Figure" \
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            out.append(node.lineno)
    return out


def fstring_keys(tree: ast.AST) -> list[int]:
    """Lines where a figure's identity (subject, scenario, quantity, tracker, style) is built as an f-string."""
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.keyword)
            and node.arg in ("subject", "scenario", "quantity", "tracker", "style", "family")
            and isinstance(node.value, ast.JoinedStr)]


def test_no_quantity_is_named_by_a_string_and_no_figure_key_by_an_f_string():
    found = [(f.name, line) for f, tree in _sources() for line in quantity_literals(tree) + fstring_keys(tree)]
    assert found == []


def test_the_literal_check_finds_a_planted_literal():
    planted = ast.parse('one(figs, quantity="per_step_overhead")\nFigure("macro", "fixed_cost", 1.0, 1)\n'
                        'Figure(NAME, Q.X, 1.0, 1, subject=f"{a}-{b}")\nif f.quantity == "latency": pass\n')
    assert sorted(quantity_literals(planted) + fstring_keys(planted)) == [1, 2, 3, 4]
