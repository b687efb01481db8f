"""Shared fixtures: one embedded Ray instance per test session (2 CPUs, as on the CI machine)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def ray_session():
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep the test Ray on 127.0.0.1
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def smoke_sweep_dir(ray_session, tmp_path_factory):
    """scenarios/sweeps/smoke.yaml (6 cases) run once on the shared Ray: the results folder."""
    from pathlib import Path

    from optimizer.sweep.runner import run_sweep

    out = tmp_path_factory.mktemp("smoke") / "smoke"
    run = run_sweep(Path(__file__).resolve().parents[1] / "scenarios" / "sweeps" / "smoke.yaml", out, workers=2)
    assert run.solved == 6
    return out


@pytest.fixture(scope="session")
def base_result_dir(tmp_path_factory):
    """The base case solved once and written: the results folder."""
    from pathlib import Path

    import optimizer

    out = tmp_path_factory.mktemp("base") / "base"
    base = Path(__file__).resolve().parents[1] / "scenarios" / "base"
    optimizer.solve(base, optimizer.SolveOptions(rel_gap=1e-4, threads=2)).write(out)
    return out
