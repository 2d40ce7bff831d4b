"""The facts behind "which tracker, when?", each with where it comes from:

- integration effort: counted from the adapter code with `ast` (code lines, SDK call sites);
- licence: read from the installed package's metadata, with the project's licence URL;
- cost and what a server needs: documented facts with their source URL and the date read;
- team and offline features: what each stack offers here, and the CI test that exercises it;
- the report's feature table, row by row, each of one of three kinds, and saying which: `probe` (run inside
  this benchmark against this stack, with its result), `ci_test` (shown by a named test in CI, not run in this
  benchmark), `documented` (a documented fact, with its source and the date it was read).
"""
from __future__ import annotations

import ast
import json
import os
import time
import tokenize
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from trainer.paths import PROJECT_ROOT

SDKS = ("mlflow", "wandb")
ADAPTERS = {  # tracker -> (file, role): the reader exists because wandb 0.31 ships no offline reader
    "mlflow": [("trainer/trackers/mlflow_tracker.py", "adapter")],
    "wandb": [("trainer/trackers/wandb_tracker.py", "adapter"), ("trainer/trackers/wandb_reader.py", "offline reader")],
}
READ_ON = "2026-11-27"  # when the documented facts below were read


# ---------------------------------------------------------------- integration effort

@dataclass(frozen=True)
class AdapterEffort:
    tracker: str
    path: str              # relative to the project root
    role: str              # adapter | offline reader
    code_lines: int        # lines holding code: no blank, comment-only or docstring lines
    sdk_call_sites: int    # calls into the SDK (module functions, its objects' methods)
    sdk_functions: tuple[str, ...]  # distinct ones, as '<sdk>.<name>'


def _chain(node: ast.AST) -> list[str]:
    """Dotted prefixes of an expression from its root: self.run.log() -> ['self', 'self.run', 'self.run.log', ...()]."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        inner = _chain(node.value)
        return inner + [f"{inner[-1]}.{node.attr}"] if inner else []
    if isinstance(node, ast.Call):
        inner = _chain(node.func)
        return inner + [f"{inner[-1]}()"] if inner else []
    return []


@dataclass(frozen=True)
class _Binding:
    sdk: str
    module: bool  # a module (any attribute path below it is the SDK) or an object the SDK returned


class _SdkNames:
    """Which names hold an SDK module or an object an SDK call returned, per function scope
    (self.* attributes and module imports are shared by the whole file)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.shared: dict[str, _Binding] = {}
        self.local: dict[ast.AST, dict[str, _Binding]] = {}
        self.returns: dict[str, _Binding] = {}  # self.<method> whose return value is an SDK object
        for _ in range(3):  # attributes set in one method are used in others: iterate to a fixed point
            self._bind(tree, self.shared)
            for fn in self.functions():
                local = self.local.setdefault(fn, {})
                self._bind(fn, local, local)
                returned = [self.resolve(n.value, local) for n in ast.walk(fn)
                            if isinstance(n, ast.Return) and n.value is not None]
                if found := next((b for b in returned if b), None):
                    self.returns[f"self.{fn.name}"] = _Binding(found.sdk, module=False)
                    if any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list):
                        self.shared[f"self.{fn.name}"] = _Binding(found.sdk, module=False)  # read, not called

    def functions(self) -> list[ast.FunctionDef]:
        return [n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def _lookup(self, name: str, local: dict[str, _Binding]) -> _Binding | None:
        if name.endswith("()") and name[:-2] in self.returns:
            return self.returns[name[:-2]]
        return local.get(name) or self.shared.get(name)

    def resolve(self, expr: ast.AST, local: dict[str, _Binding]) -> _Binding | None:
        """What an expression holds: an SDK module, an SDK object (the result of an SDK call), or None."""
        chain = _chain(expr)
        for i, prefix in enumerate(chain):
            found = self._lookup(prefix, local)
            if found and (found.module or i == len(chain) - 1 or chain[i + 1].endswith("()")):
                returns_object = found.module is False or any(p.endswith("()") for p in chain[i:])
                return _Binding(found.sdk, module=not returns_object)
        return None

    def sdk_call(self, call: ast.Call, local: dict[str, _Binding]) -> str | None:
        """'<sdk>.<name>' when `call` calls into an SDK: a function under an SDK module, or a method of an SDK
        object (not a method of data read from one, like run.tags.get)."""
        chain = _chain(call.func)
        if not chain:
            return None
        name = chain[-1].rsplit(".", 1)[-1]
        for i, prefix in enumerate(chain):
            found = self._lookup(prefix, local)
            if found and (found.module or i >= len(chain) - 2):
                return f"{found.sdk}.{name}"
        return None

    def _bind(self, scope: ast.AST, into: dict[str, _Binding], local: dict[str, _Binding] | None = None) -> None:
        local = local if local is not None else {}
        body = scope.body if isinstance(scope, ast.Module) else list(ast.walk(scope))
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    root = alias.name.split(".")[0]
                    if root in SDKS:
                        into[alias.asname or root] = _Binding(root, module=True)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SDKS:
                for alias in node.names:  # a function, class or submodule of the SDK
                    into[alias.asname or alias.name] = _Binding(node.module.split(".")[0], module=True)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    pairs = (zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple)
                             and isinstance(node.value, ast.Tuple) else [(target, node.value)])
                    for t, v in pairs:
                        found, names = self.resolve(v, local), _chain(t)
                        if found and names:
                            (self.shared if names[-1].startswith("self.") else into)[names[-1]] = found


def _code_lines(source: str, tree: ast.Module) -> int:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and ast.get_docstring(node, clean=False) is not None:
            docstrings |= set(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}
    lines = set()
    for tok in tokenize.generate_tokens(iter(source.splitlines(keepends=True)).__next__):
        if tok.type not in skip:
            lines |= set(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docstrings)


def count_effort(path: Path, tracker: str, role: str = "adapter", root: Path = PROJECT_ROOT) -> AdapterEffort:
    """Code lines and SDK call sites of one file."""
    source = path.read_text()
    tree = ast.parse(source)
    names = _SdkNames(tree)
    scope_of = {id(n): fn for fn in names.functions() for n in ast.walk(fn)}  # inner functions win
    calls = [found for node in ast.walk(tree) if isinstance(node, ast.Call)
             if (found := names.sdk_call(node, names.local.get(scope_of.get(id(node)), {})))]
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return AdapterEffort(tracker, rel, role, _code_lines(source, tree), len(calls), tuple(sorted(set(calls))))


def integration_effort(root: Path = PROJECT_ROOT) -> list[AdapterEffort]:
    """Every tracker-specific file of the trainer, counted."""
    return [count_effort(root / rel, tracker, role, root) for tracker, files in ADAPTERS.items() for rel, role in files]


# ---------------------------------------------------------------- licence, cost, server needs

@dataclass(frozen=True)
class Fact:
    tracker: str
    topic: str        # licence | cost | server
    statement: str
    source: str       # URL, or the installed package's metadata
    date: str         # when it was read (YYYY-MM-DD)


SPDX = {"Apache Software License": "Apache-2.0", "MIT License": "MIT"}  # classifier name -> SPDX id


def sdk_licence(dist: str) -> str:
    """The licence an installed package declares: its License-Expression, else its licence classifier,
    else the first line of its License field."""
    meta = metadata.metadata(dist)
    classifier = next((c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                       if c.startswith("License ::")), None)
    text = (meta.get("License") or "").strip()
    found = meta.get("License-Expression") or classifier or (text.splitlines()[0] if text else "unknown")
    return SPDX.get(found, found)


WHAT_THE_PACKAGE_HOLDS = {
    "mlflow": "client SDK and the tracking server (`mlflow server`) in one package",
    "wandb": "client SDK only: the W&B server (wandb/local) is a separate image under its own licence terms",
}


def licence_facts() -> list[Fact]:
    """The SDKs' licences as the installed packages declare them (read now, and the licence file the package
    ships), with the projects' licence files."""
    return [Fact(dist, "licence", f"{dist} {metadata.version(dist)} ({WHAT_THE_PACKAGE_HOLDS[dist]}): "
                 f"{sdk_licence(dist)}", f"{url}; installed package metadata{licence_file(dist)}", _today())
            for dist, url in (("mlflow", "https://github.com/mlflow/mlflow/blob/master/LICENSE.txt"),
                              ("wandb", "https://github.com/wandb/wandb/blob/main/LICENSE"))]


def licence_file(dist: str) -> str:
    """', first line of its LICENSE file: ...' from the installed package's own licence file, when it ships one."""
    for f in metadata.distribution(dist).files or []:
        if f.parts[0].endswith(".dist-info") and f.name.upper().startswith("LICENSE"):
            text = Path(f.locate()).read_text(errors="replace").strip()
            return f", first line of its {f.name} file: {text.splitlines()[0]!r}" if text else ""
    return ""


def _today() -> str:
    import datetime
    return datetime.date.today().isoformat()


DOCUMENTED_FACTS = [
    Fact("mlflow", "cost", "MLflow is open source: the tracking server, UI and model registry run on your own "
         "machines at no licence cost; what it costs is the machines (here: PostgreSQL, an S3 store, one "
         "`mlflow server` process)", "https://github.com/mlflow/mlflow/blob/master/LICENSE.txt", READ_ON),
    Fact("wandb", "cost", "The self-hosted W&B server (wandb/local) needs a licence: a free one from the "
         "Deployer (deploy.wandb.ai) for a single machine; production features (external MySQL, cloud storage, "
         "SSO) need a licence from W&B sales", "https://github.com/wandb/local", READ_ON),
    Fact("wandb", "server", "W&B Self-Managed on-premises needs (per W&B) a Kubernetes cluster (strongly "
         "recommended), a MySQL 8 cluster, S3-compatible object storage and a Redis cache; W&B recommends its "
         "managed cloud instead", "https://docs.wandb.ai/self-hosted", READ_ON),
    Fact("wandb", "server", "wandb/local is a Docker image: no W&B server runs without a Docker engine (this "
         "project's native stack logs W&B offline to .wandb files)", "https://github.com/wandb/local", READ_ON),
]


def documented_facts() -> list[Fact]:
    return licence_facts() + DOCUMENTED_FACTS


# ---------------------------------------------------------------- team and offline features

@dataclass(frozen=True)
class Feature:
    tracker: str
    topic: str         # team | offline
    feature: str
    offered: str       # what this project's stack gives (native / compose)
    test: str | None   # the CI test that exercises it (tests/<file>::<name>), or None when none here can


FEATURES = [
    Feature("mlflow", "team", "model registry with a champion alias",
            "registered model xray-cnn, alias `champion` moves only for a better validation macro F1",
            "tests/test_trackers.py::test_champion_alias_moves_only_for_a_better_model"),
    Feature("mlflow", "team", "load a registered model anywhere (models:/xray-cnn@champion)",
            "mlflow.pytorch.load_model over HTTP from the registry",
            "tests/test_trackers.py::test_registered_model_is_champion_and_predicts_like_the_trained_one"),
    Feature("mlflow", "team", "authentication", "`mlflow server --app-name basic-auth` (opt-in): users and "
            "passwords, per-experiment permissions",
            "tests/test_security.py::test_authenticated_mode_refuses_anonymous_requests"),
    Feature("mlflow", "team", "sharing runs", "every run and chart has a URL on the shared server (UI tour)",
            "tests/test_browser.py::test_each_ui_page_shows_its_content_and_is_timed"),
    Feature("mlflow", "team", "many writers at once", "one server, PostgreSQL backend",
            "tests/test_reliability.py::test_eight_concurrent_writers_lose_nothing"),
    Feature("wandb", "team", "model artifact with aliases (latest, best)", "artifact xray-cnn, type model",
            "tests/test_trackers.py::test_wandb_model_artifact_loads_and_predicts_like_the_trained_one"),
    Feature("wandb", "team", "authentication and sharing", "API keys, teams and reports on a W&B server "
            "(compose only: needs Docker and a licence)", None),
    Feature("mlflow", "offline", "a server killed mid-training loses no point",
            "the journal keeps every value; sent when the server is back",
            "tests/test_reliability.py::test_server_killed_mid_training_loses_no_point"),
    Feature("mlflow", "offline", "an outage longer than the retries", "training finishes; `trainer sync` delivers",
            "tests/test_reliability.py::test_outage_past_the_retries_then_sync"),
    Feature("wandb", "offline", "no server at all", "the SDK writes .wandb files; `wandb sync` uploads later",
            "tests/test_reliability.py::test_wandb_offline_crash_keeps_every_point"),
    Feature("wandb", "offline", "server unreachable at start", "training continues offline",
            "tests/test_reliability.py::test_unreachable_wandb_server_does_not_stop_training"),
]


# ---------------------------------------------------------------- the feature table

ROW_KINDS = ("probe", "ci_test", "documented")


@dataclass(frozen=True)
class FeatureRow:
    feature: str
    mlflow: str
    wandb: str
    kind: str                 # one of ROW_KINDS
    source: str               # probe: what it did; ci_test: the test id; documented: URL and date read
    ok: bool | None = None    # probe: did every check pass (None for the other kinds)

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"feature row kind {self.kind!r} is not one of {ROW_KINDS}")

    @property
    def shown_by(self) -> str:
        """The report's 'shown by' cell."""
        if self.kind == "probe":
            return f"probe run in this benchmark: {self.source} ({'passed' if self.ok else 'FAILED'})"
        if self.kind == "ci_test":
            return f"shown by test `{self.source}` in CI, not run in this benchmark"
        return f"documented: {self.source}"

    def to_dict(self) -> dict:
        return asdict(self)


CI_ROWS = [
    FeatureRow("Runs without Docker on one machine", "yes: PostgreSQL + S3 + `mlflow server` as processes",
               "offline files only (the server is the wandb/local image)", "ci_test",
               "tests/test_stack.py::test_stack_lifecycle_keeps_data_and_leaves_nothing_running"),
    FeatureRow("Every logged point read back equal", "yes (MlflowClient)", "yes (.wandb file)", "ci_test",
               "tests/test_trackers.py::test_both_trackers_received_identical_loss_curves"),
    FeatureRow("Model loads back and predicts the same", "models:/xray-cnn@champion", "wandb:<run folder> artifact file",
               "ci_test", "tests/test_trackers.py::test_registered_model_is_champion_and_predicts_like_the_trained_one"),
    FeatureRow("A killed trainer loses no logged point", "journal replayed by `trainer sync`",
               "journal replayed by `trainer sync`", "ci_test", "tests/test_reliability.py"),
]

def _server_cost(tracker: str) -> Fact:
    return next(f for f in DOCUMENTED_FACTS if f.tracker == tracker and f.topic == "cost")


# the self-hosting cost facts above, side by side
DOCUMENTED_ROWS = [
    FeatureRow("Self-hosted server: licence and cost", _server_cost("mlflow").statement,
               _server_cost("wandb").statement, "documented",
               f"{_server_cost('mlflow').source} and {_server_cost('wandb').source} (read {READ_ON})"),
]


# ---------------------------------------------------------------- probes

def _check(fn: Callable[[], tuple]) -> tuple:
    """Run one probe; an exception is a failed probe with its message, not a crashed benchmark."""
    try:
        return fn()
    except Exception as e:  # any SDK or server error is this probe's result
        return (f"failed: {type(e).__name__}: {str(e)[:160]}", False) * 2


def probe_mlflow_alias(client, name: str, run_id: str) -> tuple[str, bool]:
    """Register a version of `name` from a run, set alias `champion`, read it back; the model is removed after."""
    client.create_registered_model(name)
    try:
        # the local registry creates versions READY: no wait (and no "Waiting up to 300 seconds" line in the log)
        version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id,
                                              await_creation_for=0)
        client.set_registered_model_alias(name, "champion", version.version)
        back = client.get_model_version_by_alias(name, "champion")
        ok = back.version == version.version and back.run_id == run_id
        return f"alias `champion` -> version {back.version}, read back", ok
    finally:
        client.delete_registered_model(name)


def probe_mlflow_table(client, run_id: str) -> tuple[str, bool]:
    """log_table a small predictions table, load_table it back, compare cell by cell."""
    import pandas as pd
    table = pd.DataFrame({"file": ["a.png", "b.png", "c.png"], "true": ["Normal", "COVID-19", "Normal"],
                          "p_normal": [0.9, 0.2, 0.6]})
    client.log_table(run_id, table, "tables/predictions.json")
    quiet = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # no bar in the benchmark's log
    try:
        local = client.download_artifacts(run_id, "tables/predictions.json")
    finally:
        if quiet is None:
            del os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"]
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = quiet
    stored = json.loads(Path(local).read_text())
    back = pd.DataFrame(stored["data"], columns=stored["columns"])
    return f"log_table, {len(back)} rows read back from the artifact store", back.equals(table)


def probe_wandb(out_dir: Path, project: str) -> tuple[str, bool, str, bool]:
    """Offline: a wandb.Table and a model artifact with aliases, read back from the run folder."""
    import wandb

    from trainer.trackers.wandb_reader import read_folder
    rows = [["a.png", "Normal", 0.9], ["b.png", "COVID-19", 0.2], ["c.png", "Normal", 0.6]]
    run = wandb.init(project=project, dir=str(out_dir), mode="offline", name="feature-probe",
                     settings=wandb.Settings(x_disable_stats=True, console="off", silent=True))
    run.log({"predictions": wandb.Table(columns=["file", "true", "p_normal"], data=rows)})
    (out_dir / "model.bin").write_bytes(b"probe")
    artifact = wandb.Artifact("probe-model", type="model")
    artifact.add_file(str(out_dir / "model.bin"))
    run.log_artifact(artifact, aliases=["champion"])
    folder = Path(run.dir).parent
    run.finish()
    stored = read_folder(folder)
    deadline = time.monotonic() + 30
    while not any(a["name"] == "probe-model" for a in stored.artifacts) and time.monotonic() < deadline:
        time.sleep(0.2)  # the W&B service may still be writing the file's last block after finish() returns
        stored = read_folder(folder)
    data = json.loads(next((folder / "files" / "media" / "table").glob("predictions*.table.json")).read_text())
    table_ok = data["columns"] == ["file", "true", "p_normal"] and data["data"] == rows
    aliases = sorted({alias for a in stored.artifacts if a["name"] == "probe-model" for alias in a["aliases"]})
    alias_ok = "champion" in aliases
    return (f"wandb.Table logged offline, {len(data['data'])} rows read back from the run folder", table_ok,
            f"artifact aliases {aliases} read back from the .wandb file", alias_ok)


def probe_rows(tracking_uri: str, experiment_id: str, out_dir: Path, prefix: str) -> list[FeatureRow]:
    """Run the probes against the stack: an MLflow run of `experiment_id` holds what they log."""
    from mlflow import MlflowClient
    client = MlflowClient(tracking_uri)
    run_id = client.create_run(experiment_id, run_name="feature-probe").info.run_id
    m_alias, alias_ok = _check(lambda: probe_mlflow_alias(client, f"{prefix}-probe-{int(time.time())}", run_id))[:2]
    m_table, table_ok = _check(lambda: probe_mlflow_table(client, run_id))[:2]
    client.set_terminated(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    w_table, w_table_ok, w_alias, w_alias_ok = _check(lambda: probe_wandb(out_dir, prefix))
    return [
        FeatureRow("Model registry: a version with an alias, read back", m_alias, w_alias, "probe",
                   "register a model version, set alias `champion`, read the alias back (W&B: artifact alias, offline)",
                   alias_ok and w_alias_ok),
        FeatureRow("Tables: log a predictions table and read it back", m_table, w_table, "probe",
                   "log a 3-row table, read it back, compare cell by cell", table_ok and w_table_ok),
        licence_row(),
    ]


def licence_row() -> FeatureRow:
    """The client packages' licences as installed (their package metadata)."""
    m, w = sdk_licence("mlflow"), sdk_licence("wandb")
    return FeatureRow("Client SDK licence", f"mlflow {metadata.version('mlflow')}: {m}",
                      f"wandb {metadata.version('wandb')}: {w}", "probe",
                      "read from the installed packages' metadata", m != "unknown" and w != "unknown")
