"""Every YAML file through the one reader: duplicate keys, merge keys and alias bombs refused with exit 2.

The alias bombs are the "billion laughs" shape: nine anchors, each a list of nine aliases of the one before,
so the last stands for 9^9 = 387,420,489 strings in a file of a few hundred bytes. Each is run through the
real command line in a child process, whose peak memory and CPU time (``resource.getrusage`` of its own
children, in a wrapper process so nothing else is counted) and wall time are measured. The bound is on work,
not speed: the reader refuses after composing the few nodes, so the assertions leave wide margins (10 s of
CPU and 400 MB for the whole command, imports included, against the 2 s and 200 MB the refusal must stay
within; the wall time only guards against a hang on a shared machine) and the test prints the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer import InputError, load_scenario
from optimizer.sweep.spec import load_sweep
from optimizer.yamlfile import MAX_BYTES_ENV, MAX_NODES_ENV, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base"

# the anchors a..i, each nine aliases of the one before, as items of a flow sequence
CHAIN = ", ".join(
    ["&a [" + ", ".join(['"lol"'] * 9) + "]"]
    + [f"&{c} [" + ", ".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi")]
)
CHANGE = "{table: lanes, column: tariff_rate}"

SWEEP_BOMBS = {
    "axes": f"axes:\n  t:\n    change: {CHANGE}\n    values: [{CHAIN}]\n",
    "options": f"options:\n  time_limit: [{CHAIN}]\n",
    "cases": f"cases: [{CHAIN}]\n",
    "values": f"cases:\n  - name: c\n    changes:\n      - {{table: lanes, column: tariff_rate, value: [{CHAIN}]}}\n",
    "discrete": (f"samples:\n  count: 2\n  seed: 1\n  parameters:\n    p:\n      distribution: discrete\n"
                 f"      change: {CHANGE}\n      values: [{CHAIN}]\n"),
}

# runs the command line as its own child and reports that child's peak RSS and wall time
MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
proc = subprocess.run([sys.executable, "-m", "optimizer", *sys.argv[1:]], capture_output=True, text=True, timeout=120)
wall = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": proc.returncode, "stderr": proc.stderr, "stdout": proc.stdout, "wall": wall,
                  "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}))
"""


def measured(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def sweep_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bomb.yaml"
    path.write_text(f"name: bomb\nbase: {BASE}\n{body}", encoding="utf-8")
    return path


def assert_refused_in_bounds(run: dict, what: str) -> None:
    print(f"\n{what}: exit {run['code']}, {run['cpu']:.2f} s CPU, {run['wall']:.2f} s wall, "
          f"peak RSS {run['peak_mb']:.0f} MB")
    assert run["code"] == 2, run["stderr"]
    assert "Traceback" not in run["stderr"]
    assert "yaml-limit" in run["stderr"] and MAX_NODES_ENV in run["stderr"] and "100,000" in run["stderr"]
    assert "lol" not in run["stderr"] and len(run["stderr"]) < 2_000  # never the expanded structure
    assert run["cpu"] < 10.0  # the whole command, imports included (about 2 s on an idle machine)
    assert run["wall"] < 60.0  # only a guard against a hang: the machine may be shared
    assert run["peak_mb"] < 400.0  # the whole command, imports included (about 200 MB)


@pytest.mark.parametrize("where", list(SWEEP_BOMBS))
def test_an_alias_bomb_in_a_sweep_file_is_refused_in_bounded_work(tmp_path, where):
    path = sweep_file(tmp_path, SWEEP_BOMBS[where])
    assert_refused_in_bounds(measured("sweep", str(path), "--out", str(tmp_path / "out")), f"sweep {where}")
    assert not (tmp_path / "out").exists()


def test_an_alias_bomb_in_scenario_yaml_is_refused_in_bounded_work(tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(BASE, folder)
    with (folder / "scenario.yaml").open("a", encoding="utf-8") as f:
        f.write(f"notes: [{CHAIN}]\n")
    assert_refused_in_bounds(measured("solve", str(folder), "--out", str(tmp_path / "out")), "scenario.yaml")
    assert not (tmp_path / "out").exists()


def test_a_duplicate_key_in_scenario_yaml_is_refused(tmp_path):
    """On main before the one reader, the second ``discount_rate`` silently won: 0.08 became 0.5."""
    folder = tmp_path / "case"
    shutil.copytree(BASE, folder)
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("discount_rate:"))
    lines.insert(at + 1, "discount_rate: 0.5")
    (folder / "scenario.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "optimizer", "validate", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"scenario.yaml, row {at + 2}: [duplicate-key] duplicate key 'discount_rate' written twice" \
        in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_a_merge_key_is_refused_with_a_message_to_write_the_keys_out(tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(BASE, folder)
    with (folder / "scenario.yaml").open("a", encoding="utf-8") as f:
        f.write("defaults: &d {JPY: 1.0}\nmore:\n  <<: *d\n")
    proc = subprocess.run([sys.executable, "-m", "optimizer", "validate", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    text = " ".join(proc.stderr.split())
    assert "[yaml-merge] merge keys (<<) are not supported: write the keys out" in text
    assert "Traceback" not in proc.stderr


def test_sweep_files_and_scenarios_share_the_reader(tmp_path):
    """In process: a merge key and a nested duplicate key in a sweep file, each with its line."""
    merge = sweep_file(tmp_path, f"axes:\n  t: &t\n    change: {CHANGE}\n    values: [0.1]\n  u:\n    <<: *t\n")
    with pytest.raises(InputError) as info:
        load_sweep(merge)
    assert [(p.row, p.rule) for p in info.value.problems] == [(8, "yaml-merge")]
    twice = sweep_file(tmp_path, f"axes:\n  t:\n    change: {CHANGE}\n    values: [0.1]\n    values: [0.2]\n")
    with pytest.raises(InputError) as info:
        load_sweep(twice)
    assert [(p.row, p.rule) for p in info.value.problems] == [(7, "duplicate-key")]


def test_the_limits_are_raised_and_lowered_by_environment_variables(tmp_path, monkeypatch):
    assert parse_yaml(f"x: [{CHAIN.split(', &c')[0]}]", "f")[1] == []  # 1 + 1 + 9 + 9 x 10 values: fine
    monkeypatch.setenv(MAX_NODES_ENV, "50")
    data, problems = parse_yaml(f"x: [{CHAIN.split(', &c')[0]}]", "f")
    assert data is None and [p.rule for p in problems] == ["yaml-limit"]
    assert "more than 50 values" in problems[0].message
    monkeypatch.delenv(MAX_NODES_ENV)
    monkeypatch.setenv(MAX_BYTES_ENV, "100")
    with pytest.raises(InputError) as info:
        load_scenario(BASE)
    assert [(p.file.endswith("scenario.yaml"), p.rule) for p in info.value.problems] == [(True, "yaml-limit")]
    assert MAX_BYTES_ENV in info.value.problems[0].message


def test_a_recursive_alias_is_refused():
    data, problems = parse_yaml("a: &a [1, *a]\n", "f")
    assert data is None and [(p.row, p.rule) for p in problems] == [(1, "yaml")]
    assert "recursive alias" in problems[0].message


def test_plain_aliases_still_read():
    data, problems = parse_yaml("a: &x [1, 2]\nb: *x\n", "f")
    assert problems == [] and data == {"a": [1, 2], "b": [1, 2]}
    assert os.environ.get(MAX_NODES_ENV) is None
