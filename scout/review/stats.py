"""Pure statistics for review decisions: precision intervals and sample-based area estimates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion (95 % by default); None without trials.

    Better than the normal (Wald) interval for few plots or proportions near 0 or 1.
    """
    if trials <= 0:
        return None
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Stratum:
    """Plots of one stratum: areas (m²) of all flagged plots, and of the reviewed ones with their outcome."""

    name: str
    all_areas: Sequence[float]
    reviewed_areas: Sequence[float]
    reviewed_real: Sequence[bool]  # confirmed or eradicated


@dataclass(frozen=True)
class AreaEstimate:
    """Estimated total real (confirmed + eradicated) area of all flagged plots, m²."""

    total_m2: float | None
    ci95_m2: tuple[float, float] | None
    standard_error_m2: float | None
    reason: str  # why an estimate or interval is missing; "" when both are there


def ratio_estimate(strata: Sequence[Stratum], observed_real_m2: float) -> AreaEstimate:
    """Separate ratio estimator of the real area, summed over strata.

    Assumes that in each stratum the reviewed plots are a simple random sample without
    replacement of its N flagged plots.  In a stratum of total flagged area X with n
    reviewed plots of areas x_i, real area y_i (x_i when confirmed or eradicated, else 0):
    R = Σy / Σx, Ŷ = R·X, Var(Ŷ) = N²(1 − n/N)/n · Σ(y_i − R·x_i)²/(n − 1).
    The 95 % interval uses Student's t with n − H degrees of freedom, clipped to
    [observed real area, total flagged area]: what was seen is real, nothing lies outside
    the flagged plots.
    """
    total, variance, n_all, flagged, reason = 0.0, 0.0, 0, 0.0, ""
    for s in strata:
        big_n, n = len(s.all_areas), len(s.reviewed_areas)
        x_total = float(np.sum(s.all_areas))
        flagged += x_total
        if big_n == 0:
            continue
        if n == 0:
            return AreaEstimate(None, None, None, f"stratum {s.name!r} has {big_n} flagged plot(s) and none reviewed")
        x = np.asarray(s.reviewed_areas, float)
        y = np.where(np.asarray(s.reviewed_real, bool), x, 0.0)
        ratio = y.sum() / x.sum() if x.sum() > 0 else 0.0
        total += ratio * x_total
        n_all += n
        if n == big_n:
            continue  # a census: no sampling error
        if n < 2:
            reason = f"stratum {s.name!r} has only 1 reviewed plot of {big_n}; an interval needs 2"
            continue
        residual = y - ratio * x
        variance += big_n**2 * (1 - n / big_n) / n * float(residual @ residual) / (n - 1)
    if reason:
        return AreaEstimate(total, None, None, reason)
    se = math.sqrt(variance)
    df = max(n_all - len([s for s in strata if len(s.all_areas)]), 1)
    from scipy import stats  # 0.5 s to import: only when an estimate is asked for

    half = float(stats.t.ppf(0.975, df)) * se
    lo = min(max(total - half, observed_real_m2), flagged)
    hi = max(min(total + half, flagged), lo)
    return AreaEstimate(total, (lo, hi), se, "")
