"""The breach-cost estimate: a Monte Carlo simulation over cited, editable figures.

`data/breach_cost.yaml` holds the model, the default figures and their
sources; the practice's own figures (Risk, Breach cost) replace defaults; the
number of records held comes from the vault's evidence unless the practice
set it. The simulation draws each uncertain figure from a triangular
distribution with a fixed seed, so the same figures always give the same
report.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from statistics import fmean, quantiles
from typing import Any

from carewall.core.errors import NotFoundError, ValidationError
from carewall.risk.catalogue import read_data
from carewall.risk.errors import ContentError
from carewall.risk.rules import lookup

SHARE_KEYS = frozenset({"share_exposed", "penalty_probability"})
# Larger than any figure a small practice has (a trillion records, dollars or days),
# and small enough that the simulation's products stay finite.
MAX_FIGURE = 1e12
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CostSource:
    """A publication a figure comes from."""

    id: str
    title: str
    url: str
    year: int | None


@dataclass(frozen=True)
class Figure:
    """One input of the model: low, most likely and high, and where it comes from."""

    key: str
    label: str
    unit: str
    help: str
    low: float
    mode: float
    high: float
    source: str
    also: str = ""
    verify: bool = False
    from_evidence: str = ""
    origin: str = "default"  # default | practice | evidence
    note: str = ""


@dataclass(frozen=True)
class Benchmark:
    """A published average, shown for context."""

    label: str
    amount: float
    year: int
    source: str


@dataclass(frozen=True)
class PenaltyTier:
    """A HIPAA civil money penalty tier as adjusted for inflation."""

    tier: int
    culpability: str
    per_violation_min: float
    per_violation_max: float
    annual_cap: float


@dataclass(frozen=True)
class CostModel:
    """The model's defaults, sources and context figures."""

    runs: int
    seed: int
    currency: str
    sources: Mapping[str, CostSource]
    benchmarks: tuple[Benchmark, ...]
    tiers: tuple[PenaltyTier, ...]
    tiers_year: int
    figures: tuple[Figure, ...]

    def figure(self, key: str) -> Figure:
        """A default figure by key."""
        for figure in self.figures:
            if figure.key == key:
                return figure
        raise NotFoundError(f"There is no breach-cost figure {key!r}.")


@dataclass(frozen=True)
class CostEstimate:
    """What the simulation found: percentiles, mean and a histogram of the totals."""

    p10: float
    p50: float
    p90: float
    mean: float
    runs: int
    histogram: tuple[tuple[float, int], ...]  # (bin start, count)
    components: Mapping[str, float]  # mean of each part
    figures: tuple[Figure, ...]


@cache
def cost_model() -> CostModel:
    """Load `breach_cost.yaml` once."""
    raw = read_data("breach_cost.yaml")
    sources = {
        key: CostSource(key, str(s["title"]), str(s.get("url") or ""), s.get("year"))
        for key, s in raw["sources"].items()
    }
    figures = tuple(_figure(f) for f in raw["parameters"])
    for figure in figures:
        check_range(figure.key, figure.low, figure.mode, figure.high)
        if figure.source not in sources or (figure.also and figure.also not in sources):
            raise ContentError(f"Breach-cost figure {figure.key} cites an unknown source.")
    tiers_raw = raw["hipaa_penalty_tiers"]
    return CostModel(
        runs=int(raw["runs"]),
        seed=int(raw["seed"]),
        currency=str(raw["currency"]),
        sources=sources,
        benchmarks=tuple(
            Benchmark(str(b["label"]), float(b["amount"]), int(b["year"]), str(b["source"]))
            for b in raw["benchmarks"]
        ),
        tiers=tuple(
            PenaltyTier(
                int(t["tier"]),
                str(t["culpability"]),
                float(t["per_violation_min"]),
                float(t["per_violation_max"]),
                float(t["annual_cap"]),
            )
            for t in tiers_raw["tiers"]
        ),
        tiers_year=int(tiers_raw["adjustment_year"]),
        figures=figures,
    )


def _figure(raw: Mapping[str, Any]) -> Figure:
    return Figure(
        key=str(raw["key"]),
        label=str(raw["label"]),
        unit=str(raw["unit"]),
        help=str(raw.get("help", "")),
        low=float(raw["low"]),
        mode=float(raw["mode"]),
        high=float(raw["high"]),
        source=str(raw["source"]),
        also=str(raw.get("also", "")),
        verify=bool(raw.get("verify", False)),
        from_evidence=str(raw.get("from_evidence", "")),
    )


def check_range(key: str, low: float, mode: float, high: float) -> None:
    """Finite and below `MAX_FIGURE`, low <= most likely <= high, nothing negative,
    shares at most 1. (Infinity or NaN made every estimate NaN, and the page a 500.)"""
    if not all(math.isfinite(v) for v in (low, mode, high)):
        raise ValidationError(f"{key}: figures must be ordinary numbers.")
    if max(low, mode, high) > MAX_FIGURE:
        raise ValidationError(f"{key}: figures are at most {MAX_FIGURE:,.0f}.")
    if min(low, mode, high) < 0:
        raise ValidationError(f"{key}: figures cannot be negative.")
    if not low <= mode <= high:
        raise ValidationError(f"{key}: low must not exceed most likely, nor most likely high.")
    if key in SHARE_KEYS and high > 1:
        raise ValidationError(f"{key}: a share is between 0 and 1.")


def _usable(key: str, low: float, mode: float, high: float) -> bool:
    """Whether stored figures pass today's checks; ones that do not (saved before the
    checks, or edited in the database) are set aside for the default, never a 500."""
    try:
        check_range(key, low, mode, high)
    except ValidationError:
        log.warning("risk: the stored figure %s is out of range; using the default", key)
        return False
    return True


def effective_figures(
    practice: Mapping[str, tuple[float, float, float, str]],
    evidence: Mapping[str, Mapping[str, Any]],
) -> tuple[Figure, ...]:
    """The defaults, replaced by evidence (records held) and then by the practice's own figures."""
    figures: list[Figure] = []
    for figure in cost_model().figures:
        current = figure
        if figure.from_evidence:
            section, _, path = figure.from_evidence.partition(".")
            measured = lookup(evidence.get(section) or {}, path)
            if isinstance(measured, int | float) and 0 < measured <= MAX_FIGURE:
                value = float(measured)
                current = replace(current, low=value, mode=value, high=value, origin="evidence")
        if figure.key in practice and _usable(figure.key, *practice[figure.key][:3]):
            low, mode, high, note = practice[figure.key]
            current = replace(current, low=low, mode=mode, high=high, origin="practice", note=note)
        figures.append(current)
    return tuple(figures)


def simulate(
    figures: tuple[Figure, ...], runs: int | None = None, seed: int | None = None
) -> CostEstimate:
    """Draw `runs` breaches and summarise the total cost of one."""
    model = cost_model()
    runs = runs or model.runs
    rng = random.Random(model.seed if seed is None else seed)  # noqa: S311 - a simulation, not a secret
    by_key = {f.key: f for f in figures}

    def draw(key: str) -> float:
        f = by_key[key]
        return f.mode if f.low == f.high else rng.triangular(f.low, f.high, f.mode)

    totals: list[float] = []
    parts = {"records": 0.0, "response": 0.0, "disruption": 0.0, "penalty": 0.0}
    for _ in range(runs):
        records = draw("records_held") * draw("share_exposed") * draw("cost_per_record")
        response = draw("incident_response")
        disruption = draw("downtime_days") * draw("revenue_per_day")
        penalty = draw("penalty_amount") if rng.random() < draw("penalty_probability") else 0.0
        parts["records"] += records
        parts["response"] += response
        parts["disruption"] += disruption
        parts["penalty"] += penalty
        totals.append(records + response + disruption + penalty)
    cuts = quantiles(totals, n=10, method="inclusive")
    return CostEstimate(
        p10=cuts[0],
        p50=cuts[4],
        p90=cuts[8],
        mean=fmean(totals),
        runs=runs,
        histogram=_histogram(totals, cuts[8] * 1.5),
        components={k: v / runs for k, v in parts.items()},
        figures=figures,
    )


def _histogram(
    totals: list[float], ceiling: float, bins: int = 20
) -> tuple[tuple[float, int], ...]:
    """Counts per equal-width bin up to `ceiling`; the last bin holds everything above."""
    width = max(ceiling / bins, 1.0)
    counts = [0] * bins
    for total in totals:
        counts[min(int(total // width), bins - 1)] += 1
    return tuple((i * width, c) for i, c in enumerate(counts))
