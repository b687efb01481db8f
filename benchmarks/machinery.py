"""Which Ray machinery carries a sweep's batches (``python -m benchmarks.machinery``): the driver's own CPU per
batch handed out, for (a) the project's actor pool (:class:`optimizer.ray_pool.ActorPool`: one batch in
flight per actor, ``ray.wait`` on the answers) and (b) Ray Data (``map_batches`` with an actor pool of the
same size, the driver running Ray Data's streaming executor).

The work itself is left out on purpose (each batch sleeps 5 ms in its actor and answers with a small
acknowledgement, as a sweep batch does): what is measured is what the single driver spends per batch.
Each variant runs in its own process at two lengths; CPU per batch = difference of the process CPU clocks /
difference of the batch counts (start-up excluded).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd

POOL = textwrap.dedent("""
    import json, resource, sys, time
    from optimizer.ray_pool import ActorPool, connect, disconnect
    import ray

    class Sleeper:
        def pid(self):
            return 0
        def run_batch(self, batch):
            time.sleep(0.005)
            return {"start": batch[0], "stop": batch[1], "counts": {"optimal": batch[1] - batch[0]}}

    n = int(sys.argv[1])
    started = connect(workers=2)
    pool = ActorPool(ray, Sleeper, (), 2)
    acks = []
    pool.run(iter([(i, i + 1) for i in range(n)]), "run_batch", lambda b, a: acks.append(a), lambda *a: [])
    assert len(acks) == n
    pool.shutdown()
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu_s": use.ru_utime + use.ru_stime}))
    disconnect(started)
""")

DATA = textwrap.dedent("""
    import json, resource, sys, time
    from optimizer.ray_pool import connect, disconnect
    import ray

    class Sleeper:
        def __call__(self, batch):
            time.sleep(0.005)
            return {"start": batch["id"][:1], "stop": batch["id"][-1:] + 1, "n": [len(batch["id"])]}

    n = int(sys.argv[1])
    # one CPU more than the pool's: Ray Data's read tasks need a CPU of their own, and with both CPUs held
    # by the two map actors the read never runs and the dataset waits for ever (what the first version did)
    started = connect(workers=3)
    import ray.data
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    # one block per sweep batch (a range of cases), handed whole to an actor: what a per-block write would need
    ds = ray.data.range(n, override_num_blocks=n).map_batches(
        Sleeper, batch_size=None, compute=ray.data.ActorPoolStrategy(size=2))
    acks = sum(int(r["n"]) for r in ds.iter_rows())
    assert acks == n, acks
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu_s": use.ru_utime + use.ru_stime}))
    disconnect(started)
""")


def cpu(code: str, n: int) -> float:
    proc = subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])["cpu_s"]


def main(lengths: tuple[int, int] = (100, 500)) -> None:
    a, b = lengths
    rows = []
    for name, code in (("actor pool (optimizer.ray_pool)", POOL), ("Ray Data map_batches, actor pool", DATA)):
        short, long = cpu(code, a), cpu(code, b)
        rows.append({"machinery": name, "batches": f"{a}/{b}", "driver_cpu_s": f"{short:.2f}/{long:.2f}",
                     "driver_ms_per_batch": 1000 * (long - short) / (b - a)})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main(tuple(int(x) for x in sys.argv[1].split(",")) if len(sys.argv) > 1 else (100, 500))  # type: ignore[arg-type]
