"""The model's code may get faster, the model may not change: each instance's canonical form (every variable,
row, bound and coefficient and the objective: what the solver sees, see tests/model_canonical.py) equals the
reference written from main at ac606a8, before the build was sped up (issue 14 item 3).

The small instances compare the whole form within a relative 1e-12 and name every difference; the larger ones
compare counts and the sha256 of the sorted form to 9 significant digits. The base case is also built with
mutable Params (a sweep worker's model): the same model, its parameters still mutable Pyomo Params.
"""

from __future__ import annotations

import json

import pyomo.environ as pyo
import pytest

from optimizer.model import build_model

try:  # tests/ on sys.path (pytest's default "prepend" import mode, no tests/__init__.py)
    from model_canonical import DATA, FULL, canonical, differences, instances, reference, summary
except ImportError:  # tests imported as a package
    from tests.model_canonical import DATA, FULL, canonical, differences, instances, reference, summary


@pytest.mark.parametrize("name", FULL)
def test_model_equals_reference(name):
    form = canonical(build_model(instances()[name]()))
    assert differences(reference(name), form) == []


def test_mutable_model_equals_reference():
    m = build_model(instances()["base"](), mutable=True)
    assert differences(reference("base"), canonical(m)) == []
    for group in ("demand", "cell_cost", "freight", "tariff", "opening_cost", "penalty"):
        component = getattr(m.par, group)
        assert isinstance(component, pyo.Param) and component.mutable, group


def test_differences_names_a_changed_coefficient():
    """The comparison can fail: one coefficient off by 1e-9 relative, one row gone."""
    ref = reference("synthetic_5x10x3x5")
    new = json.loads(json.dumps(ref))
    row = sorted(new["rows"])[0]
    var = sorted(new["rows"][row][2])[0]
    new["rows"][row][2][var] *= 1 + 1e-9
    del new["rows"][sorted(new["rows"])[-1]]
    diff = differences(ref, new)
    assert len(diff) == 2 and var in diff[1] and "only in the reference" in diff[0]


@pytest.mark.parametrize("name", ["synthetic_10x20x4x6",
                                  pytest.param("synthetic_20x40x5x12", marks=pytest.mark.slow)])
def test_larger_model_summary_equals_reference(name):
    expected = json.loads((DATA / f"{name}.summary.json").read_text())
    assert summary(canonical(build_model(instances()[name]()))) == expected
