"""A seeded Monte Carlo sweep file on the base case, shared by the sweep and cluster tests."""

from __future__ import annotations

from pathlib import Path

BASE = Path(__file__).resolve().parents[1] / "scenarios" / "base"


def sample_sweep(tmp_path: Path, count: int, name: str = "mc") -> Path:
    """A seeded Monte Carlo over demand, tariffs, capex and carbon on the base case."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
base: {BASE}
include_base: false
options: {{time_limit: 60, rel_gap: 1.0e-6}}
samples:
  count: {count}
  seed: 7
  method: lhs
  parameters:
    demand: {{distribution: triangular, low: 0.7, mode: 1.0, high: 1.3,
              change: {{table: demand, column: vehicles, op: scale}}}}
    cn_us_tariff: {{distribution: uniform, low: 0.25, high: 1.0,
                    change: {{table: lanes, column: tariff_rate, op: set,
                              where: {{plant.country: CN, assembly.country: US}}}}}}
    capex: {{distribution: uniform, low: 0.6, high: 1.6,
             change: [{{table: plants, column: step_cost_musd, op: scale}},
                      {{table: plants, column: opening_cost_musd, op: scale}}]}}
    carbon: {{distribution: uniform, low: 0, high: 200,
              change: {{table: years, column: carbon_price_usd_per_t, op: set}}}}
""")
    return path
