"""The risk measure of the robust plans: expected cost plus a weighted CVaR over the futures."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def risk_value(costs: Sequence[float], weights: Sequence[float], cvar_weight: float = 0.0,
               cvar_alpha: float = 0.95) -> float:
    """R(C) = sum_k w_k C_k + lambda CVaR_alpha(C), CVaR_alpha(C) = min_eta eta + sum_k w_k (C_k - eta)+ / (1 - alpha).

    The minimum over eta is attained at one of the C_k (the alpha-quantile), so it is computed exactly by
    trying each. Any infinite cost (an infeasible plan) makes R infinite."""
    c = np.asarray(costs, dtype=float)
    w = np.asarray(weights, dtype=float) / float(np.sum(weights))
    if not np.isfinite(c).all():
        return math.inf
    expected = float(np.dot(w, c))
    if cvar_weight == 0.0:
        return expected
    cvar = min(eta + float(np.dot(w, np.maximum(c - eta, 0.0))) / (1.0 - cvar_alpha) for eta in c)
    return expected + cvar_weight * cvar
