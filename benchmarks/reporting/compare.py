"""`python -m benchmarks compare A B`: do two benchmark runs agree?

Every figure with an interval of both results folders side by side, the
difference B - A with its interval, and a flag where that interval excludes 0
after a Holm correction. Two families, each corrected on its own: the headline
figures (the report's summary rows, `benchmarks.reporting.headline`), which decide the
verdict and the exit code, and every other figure with an interval, listed for
the reader. Each run's standard error comes from its own interval: half its
width over the t quantile at the figure's n; the difference's degrees of
freedom by Welch-Satterthwaite. A run's interval holds the variation within
that run only (rounds on one machine state), not between runs, so the long
detail family may flag a figure more often than alpha says."""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from scipy import stats as sps

from benchmarks.reporting.headline import headline_figures
from benchmarks.core.records import Figure, FigureKey
from benchmarks.core.stats import holm

ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    """One headline figure of one run: what it is (key), its value and interval."""
    key: tuple[FigureKey, int]     # the figure's key, and which of the figures alike in every field
    label: str
    value: float
    low: float
    high: float
    n: int
    unit: str
    confidence: float = 0.95

    @property
    def se(self) -> float:
        """Standard error implied by the interval (asymmetric intervals: their mean half-width)."""
        half = (self.high - self.low) / 2
        return half / sps.t.ppf(0.5 + self.confidence / 2, max(self.n - 1, 1))


@dataclass(frozen=True)
class Row:
    label: str
    unit: str
    a: Estimate
    b: Estimate
    diff: float          # b - a
    low: float           # interval of the difference at the Holm-adjusted level
    high: float
    level: float         # that interval's confidence
    p: float             # unadjusted two-sided p of "no difference"
    p_holm: float

    @property
    def flagged(self) -> bool:
        return self.p_holm < ALPHA


def figure_label(f: Figure) -> str:
    return f.label or f.key.describe()


def estimate(f: Figure) -> Estimate:
    """A figure with an interval as one run's estimate."""
    return Estimate((f.key, 1), figure_label(f), float(f.value), float(f.low), float(f.high), f.n, f.unit)


def split(figures: list[Figure]) -> tuple[list[Figure], list[Figure]]:
    """(headline figures, the others), each in the run's order."""
    head = headline_figures(figures)
    chosen = {id(f) for f in head}
    return head, [f for f in figures if id(f) not in chosen]


def interval_estimates(figures: Iterable[Figure]) -> list[Estimate]:
    """The figures that carry an interval (the ones a rerun can disagree with).
    Figures alike in every field are told apart by their order in the file, which a rerun keeps."""
    out, seen = [], Counter()
    for f in figures:
        if f.value is not None and f.low is not None and f.high is not None:
            e = estimate(f)
            seen[e.key] += 1
            out.append(dataclasses.replace(e, key=(f.key, seen[e.key])))
    return out


def difference(a: Estimate, b: Estimate) -> tuple[float, float, float]:
    """b - a, its standard error, Welch-Satterthwaite degrees of freedom."""
    va, vb = a.se ** 2, b.se ** 2
    se = (va + vb) ** 0.5
    dfa, dfb = max(a.n - 1, 1), max(b.n - 1, 1)
    df = (va + vb) ** 2 / (va ** 2 / dfa + vb ** 2 / dfb) if va + vb > 0 else float(dfa + dfb)
    return b.value - a.value, se, df


def compare(first: Iterable[Estimate], second: Iterable[Estimate]) -> tuple[list[Row], list[str]]:
    """Rows for the figures both runs have, and the labels found in only one of them."""
    a, b = {e.key: e for e in first}, {e.key: e for e in second}
    common = [k for k in a if k in b]
    only = [f"{a[k].label} (only in A)" for k in a if k not in b] + [f"{b[k].label} (only in B)" for k in b if k not in a]
    parts = [difference(a[k], b[k]) for k in common]
    # no uncertainty on either side (se 0): equal values agree, any difference differs
    pvalues = [float(2 * sps.t.sf(abs(d) / se, df)) if se > 0 else float(d == 0) for d, se, df in parts]
    adjusted = holm(pvalues)
    m = len(common)
    ranks = {i: r for r, i in enumerate(sorted(range(m), key=lambda i: pvalues[i]))}
    rows = []
    for i, k in enumerate(common):
        d, se, df = parts[i]
        level = 1 - ALPHA / (m - ranks[i])  # Holm's level for this figure's rank
        half = sps.t.ppf(0.5 + level / 2, df) * se
        rows.append(Row(a[k].label, a[k].unit, a[k], b[k], d, d - half, d + half, level, pvalues[i], adjusted[i]))
    return rows, only


def table(rows: list[Row], only: list[str], name_a: str, name_b: str, title: str = "") -> str:
    """A markdown table of the comparison, flagged rows marked."""
    lines = [f"## {title}", ""] if title else []
    lines += [f"| figure | A: {name_a} | B: {name_b} | B - A [interval] | Holm p | |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.label} | {_est(r.a)} | {_est(r.b)} | {r.diff:+.3g} [{r.low:+.3g}, {r.high:+.3g}] "
                     f"({r.level:.1%}) | {r.p_holm:.3g} | {'**differs**' if r.flagged else 'agrees'} |")
    flagged = sum(r.flagged for r in rows)
    lines += ["", f"{len(rows)} figure(s) compared, {flagged} differ (Holm-corrected, alpha {ALPHA})."]
    lines += [f"- not compared: {o}" for o in only]
    return "\n".join(lines)


def side_by_side(first: list[Figure], second: list[Figure], name_a: str, name_b: str, title: str) -> str:
    """Figures without an interval (counts, percentiles of one sample): shown next to each other, not tested."""
    a = {f.key: f for f in first if f.low is None or f.high is None}
    b = {f.key: f for f in second if f.low is None or f.high is None}
    lines = [f"## {title}", "", f"| figure | A: {name_a} | B: {name_b} | B / A |", "|---|---|---|---|"]
    for key in (k for k in a if k in b):
        fa, fb = a[key], b[key]
        ratio = f"{fb.value / fa.value:.3g}" if fa.value else "n/a"
        lines.append(f"| {figure_label(fa)} | {fa.value:.3g} {fa.unit} | {fb.value:.3g} {fb.unit} | {ratio} |")
    return "\n".join(lines)


def _est(e: Estimate) -> str:
    return f"{e.value:.3g} [{e.low:.3g}, {e.high:.3g}] {e.unit}".rstrip()
