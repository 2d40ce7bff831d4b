"""`python -m benchmarks compare A B`: do two benchmark runs agree?

The rule, in order:

1. Exit 2, with one line, when the runs differ in mode (stack, W&B mode, CPU/GPU), profile or data set:
   such runs measure different things, and matching their figures would compare nothing.
2. Exit 1 when a headline figure (a summary row of the report, `benchmarks.reporting.headline`) is in
   one run only: a scenario that failed in one run does not agree with one that measured.
3. Exit 1 when a count the same job must repeat exactly differs, in any figure (points lost, values
   logged, requests to hosts outside the stack: quantities whose check is `equal`).
4. Exit 1 when a headline figure with samples in both runs differs after Holm's correction across all
   tested headline figures (Welch's t on the two runs' samples for a mean, Mann-Whitney U for a
   median) AND by more than its quantity's
   practical margin (`benchmarks.core.quantities`). Within-run intervals leave out run-to-run variation,
   so a significant difference alone is not a disagreement; the margin says what a user calls the same.
5. Exit 1 when a headline figure without samples (one value per run) differs by more than its margin.

Figures whose quantity is `show` are listed side by side and never decide."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from benchmarks.core.quantities import Check
from benchmarks.core.records import Figure, FigureKey
from benchmarks.core.stats import ALPHA, Interval, holm
from benchmarks.reporting.headline import headline_figures
from trainer.errors import UserError

Key = tuple[FigureKey, int]  # the figure's key, and which of the figures alike in every field (their order in the file)


@dataclass(frozen=True)
class Row:
    """One figure of the two runs and the verdict on it."""
    label: str
    a: Figure | None
    b: Figure | None
    check: Check             # how it was judged (`test` falls back to `margin` without samples in both runs)
    p: float | None = None   # the two runs' samples tested against each other (Welch's t, or Mann-Whitney U)
    p_holm: float | None = None
    differs: bool = False
    why: str = ""


def configuration(suite: dict) -> dict[str, str]:
    """What two runs must share to be compared."""
    env, prof = suite["environment"], suite["profile"]
    modes = sorted({f.get("mode", "") for sc in suite["scenarios"].values() for f in sc["figures"]} - {""})
    return {"stack": env["stack_mode"], "W&B mode": env["wandb_mode"], "device": "GPU" if env.get("gpu") else "CPU",
            "profile": prof["name"], "data set": str(prof.get("data")), "figure modes": "; ".join(modes)}


def check_comparable(a: dict, b: dict, name_a: str, name_b: str) -> None:
    ca, cb = configuration(a), configuration(b)
    differ = [k for k in ca if ca[k] != cb[k]]
    if differ:
        k = differ[0]
        raise UserError(f"{name_a} and {name_b} differ in {k} ({ca[k]!r} vs {cb[k]!r}): compare runs of one "
                        "configuration")


def keyed(figures: Iterable[Figure]) -> dict[Key, Figure]:
    seen: Counter = Counter()
    out = {}
    for f in figures:
        seen[f.key] += 1
        out[(f.key, seen[f.key])] = f
    return out


def label(f: Figure) -> str:
    return f.label or f.key.describe()


def _judge_one(fa: Figure, fb: Figure) -> Row:
    q = fa.quantity
    if q.check == Check.SHOW:
        return Row(label(fa), fa, fb, Check.SHOW, why=q.margin.why)
    if q.check == Check.EQUAL:
        same = fa.value == fb.value
        return Row(label(fa), fa, fb, Check.EQUAL, differs=not same, why="" if same else "a count that must be equal")
    if q.check == Check.TEST and fa.testable and fb.testable:
        return Row(label(fa), fa, fb, Check.TEST, p=fa.p_against(fb))
    within = fa.value is not None and fb.value is not None and q.margin.allows(fa.value, fb.value)
    return Row(label(fa), fa, fb, Check.MARGIN, differs=not within, why="" if within else "beyond the margin")


def judge(first: Iterable[Figure], second: Iterable[Figure], required: bool) -> list[Row]:
    """Rows for every figure of either run. `required`: a figure in one run only is a disagreement."""
    a, b = keyed(first), keyed(second)
    rows = []
    for k in [*a, *(k for k in b if k not in a)]:
        if k not in a or k not in b:
            f = a.get(k) or b[k]
            rows.append(Row(label(f), a.get(k), b.get(k), f.quantity.check, differs=required,
                            why=f"only in {'A' if k in a else 'B'}"))
        else:
            rows.append(_judge_one(a[k], b[k]))
    tested = [i for i, r in enumerate(rows) if r.p is not None]
    for i, p_holm in zip(tested, holm([rows[i].p for i in tested])):
        r = rows[i]
        beyond = not r.a.quantity.margin.allows(r.a.value, r.b.value)
        differs = p_holm < ALPHA and beyond
        why = ("significant and beyond the margin" if differs else
               "significant, within the margin" if p_holm < ALPHA else "")
        rows[i] = Row(r.label, r.a, r.b, r.check, r.p, p_holm, differs, why)
    return rows


def split(figures: list[Figure]) -> tuple[list[Figure], list[Figure]]:
    """(headline figures, the others), each in the run's order."""
    head = headline_figures(figures)
    chosen = {id(f) for f in head}
    return head, [f for f in figures if id(f) not in chosen]


@dataclass(frozen=True)
class Comparison:
    headline: list[Row]
    others: list[Row]

    @property
    def disagreements(self) -> list[Row]:
        """Headline rows that differ, and any count that must be equal and is not."""
        return [r for r in self.headline if r.differs] + [r for r in self.others
                                                          if r.differs and r.check == Check.EQUAL]


def compare_suites(a: dict, b: dict, a_figures: list[Figure], b_figures: list[Figure]) -> Comparison:
    check_comparable(a, b, a["run_id"], b["run_id"])
    (head_a, rest_a), (head_b, rest_b) = split(a_figures), split(b_figures)
    # a figure headline in one run only (its row chose another) is still judged as a headline figure
    head_keys = set(keyed(head_a)) | set(keyed(head_b))
    all_a, all_b = keyed(a_figures), keyed(b_figures)
    head = judge([all_a[k] for k in all_a if k in head_keys], [all_b[k] for k in all_b if k in head_keys], True)
    others = judge([all_a[k] for k in all_a if k not in head_keys], [all_b[k] for k in all_b if k not in head_keys],
                   False)
    return Comparison(head, others)


def _value(f: Figure | None) -> str:
    if f is None:
        return "missing"
    text = "n/a" if f.value is None else f"{f.value:.4g}"
    if f.low is not None and f.high is not None:
        text += f" [{f.low:.4g}, {f.high:.4g}]"
    return f"{text} {f.unit}".strip()


def _how(r: Row) -> str:
    if r.check == Check.TEST:
        test = "Mann-Whitney" if r.a.interval == Interval.MEDIAN else "Welch"
        return f"{test} p {r.p:.3g}, Holm {r.p_holm:.3g}" if r.p_holm is not None else test
    q = (r.a or r.b).quantity
    if r.check == Check.MARGIN:
        m = q.margin
        parts = [f"{m.relative:.0%}" if m.relative else "", f"{m.absolute:g} {q.unit}" if m.absolute else ""]
        return "margin " + " or ".join(p for p in parts if p)
    return str(r.check)


def table(rows: list[Row], name_a: str, name_b: str, title: str) -> str:
    lines = [f"## {title}", "", f"| figure | A: {name_a} | B: {name_b} | judged by | |", "|---|---|---|---|---|"]
    for r in rows:
        verdict = f"**differs** ({r.why})" if r.differs else ("agrees" + (f" ({r.why})" if r.why else "")
                                                             if r.check != Check.SHOW else "shown")
        lines.append(f"| {r.label} | {_value(r.a)} | {_value(r.b)} | {_how(r)} | {verdict} |")
    differ = sum(r.differs for r in rows)
    lines += ["", f"{len(rows)} figure(s), {differ} differ."]
    return "\n".join(lines)
