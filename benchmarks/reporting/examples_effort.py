"""Learning curve and API simplicity, counted from the smallest complete example of each tracker
(examples/<tracker>_minimal.py: parameters, a metric per step, an image, the model, a metric read back).

- code lines: no blank, comment-only or docstring lines;
- SDK functions: the distinct SDK functions and methods the example calls;
- concepts: the distinct SDK things a newcomer has to know: SDK modules imported, SDK classes
  constructed, and SDK objects the example holds in a name (a run, a client's answer, an artifact).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from benchmarks.reporting.decision import SDKS, _SdkNames, count_effort
from trainer.paths import PROJECT_ROOT

EXAMPLES = {"mlflow": "examples/mlflow_minimal.py", "wandb": "examples/wandb_minimal.py"}
TEST = "tests/test_examples.py"  # runs both against the real stack (W&B offline)


@dataclass(frozen=True)
class ExampleEffort:
    tracker: str
    path: str
    code_lines: int
    sdk_call_sites: int
    sdk_functions: tuple[str, ...]
    concepts: tuple[str, ...]


def _concepts(tree: ast.Module) -> tuple[str, ...]:
    names = _SdkNames(tree)
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names if alias.name.split(".")[0] in SDKS}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module and node.module.split(".")[0] in SDKS}
    classes = {f"{b.sdk}.{node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id}"
               for node in ast.walk(tree) if isinstance(node, ast.Call)
               if (b := names.resolve(node.func, names.shared)) and b.module
               and (node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", ""))[:1].isupper()}
    objects = {f"object `{name}`" for name, b in names.shared.items() if not b.module}
    return tuple(sorted(modules)) + tuple(sorted(classes)) + tuple(sorted(objects))


def example_effort(tracker: str, root: Path = PROJECT_ROOT) -> ExampleEffort:
    path = root / EXAMPLES[tracker]
    counted = count_effort(path, tracker, "example", root)
    return ExampleEffort(tracker, counted.path, counted.code_lines, counted.sdk_call_sites, counted.sdk_functions,
                         _concepts(ast.parse(path.read_text())))


def examples_effort(root: Path = PROJECT_ROOT) -> list[ExampleEffort]:
    return [example_effort(t, root) for t in EXAMPLES]
