"""``optimizer.solve`` keeps the built model out of the garbage collector's scans while it solves
(``gc.freeze`` after the build, ``gc.unfreeze`` at the end): nothing stays frozen afterwards, even when the
solve raises, and the model is freed by the next collection once the result is all that is kept."""

from __future__ import annotations

import gc

import pytest

import optimizer
from optimizer import api
from optimizer.model.context import SourcingModel


def live_models() -> int:
    """How many built models the process still holds, after a full collection."""
    gc.collect()
    return sum(isinstance(o, SourcingModel) for o in gc.get_objects())


def test_nothing_stays_frozen_and_the_model_is_freed():
    before = live_models()
    result = optimizer.solve(optimizer.DEFAULT_SCENARIO)
    assert result.status.value == "optimal"
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    assert live_models() == before


def test_a_solve_that_raises_unfreezes(monkeypatch):
    def broken(*_args, **_kwargs):
        assert gc.get_freeze_count() > 0  # the model is frozen while it is solved
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(api, "solve_direct", broken)
    with pytest.raises(RuntimeError, match="solver exploded"):
        optimizer.solve(optimizer.DEFAULT_SCENARIO)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
