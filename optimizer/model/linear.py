"""Linear sums built in one go: sum_i c_i x_i as one Pyomo ``LinearExpression`` from its list of terms,
the expression Python's ``sum`` of the terms gives, without the operator dispatch Pyomo runs for every
``+`` (the build's hot spot on large models).

A coefficient is a plain number or an expression of (mutable) Params; a plain 0 drops its term, except that
a sum whose every coefficient is a plain 0 keeps one ``0 x`` term (a row over it stays a row). An empty
sum is 0, as ``sum([])``; a sum of one term is that term.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.base.var import VarData
from pyomo.core.expr import LinearExpression, MonomialTermExpression

Linear: TypeAlias = "LinearExpression | MonomialTermExpression | VarData | int"


def _of_args(args: list) -> Linear:
    if not args:
        return 0
    if len(args) == 1:
        return args[0]
    return LinearExpression(args)


def var_sum(variables: Iterable[VarData]) -> Linear:
    """sum_i x_i."""
    return _of_args(list(variables))


def linear_sum(coefs: Iterable[object], variables: Iterable[VarData]) -> Linear:
    """sum_i c_i x_i over the coefficients ``coefs`` and the variables ``variables``, taken in pairs."""
    pairs = list(zip(coefs, variables))
    terms = [(c, x) for c, x in pairs if c.__class__ not in native_numeric_types or c != 0]
    if pairs and not terms:
        # every coefficient a plain 0: keep one 0 x term, as Python's sum of c * x keeps them, so that a row
        # over these variables stays a row (0 <= E, say) instead of collapsing to True or False
        return MonomialTermExpression((0, pairs[0][1]))
    return _of_args(list(map(MonomialTermExpression, terms)))
