"""The embedded Ray stays locked, with real processes: every listening socket on 127.0.0.1 also when the
caller imported ``ray`` first and starts it through the Python API; token authentication always on (a
client without the token, or with a wrong one, is refused; ``RAY_AUTH_MODE=disabled`` is refused before
anything starts); Ray's notices, the one inviting users to turn authentication off among them, kept out of
a sweep's output unless ``--verbose``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}

# imports ray FIRST (as a notebook user would), then starts the embedded Ray through the optimizer's API,
# runs an actor, reports the GCS address, and waits for a line on stdin before stopping
EMBEDDED = textwrap.dedent("""
    import json, sys
    import ray
    from optimizer.ray_pool import ActorPool, connect, disconnect

    class Echo:
        def pid(self):
            import os
            return os.getpid()

    started = connect(workers=1)
    pool = ActorPool(ray, Echo, (), 1)
    print(json.dumps({"pid": pool.call_all("pid")[0], "gcs": ray.get_runtime_context().gcs_address}), flush=True)
    sys.stdin.readline()
    pool.shutdown()
    disconnect(started)
""")

PROBE = textwrap.dedent("""
    import sys
    from ray._raylet import GcsClient
    try:
        GcsClient(address=sys.argv[1]).internal_kv_get(b"x", namespace=None, timeout=10)
        print("ANSWERED")
    except Exception as exc:
        print("REFUSED", type(exc).__name__, str(exc)[:200])
""")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(extra)
    return env


def listening(root: psutil.Process) -> set[tuple[str, str, int]]:
    found = set()
    for p in [root, *root.children(recursive=True)]:
        try:
            found |= {(p.name(), c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            continue
    return found


def test_embedded_ray_after_import_ray_listens_on_loopback_and_refuses_tokenless_clients(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", EMBEDDED], cwd=ROOT, env=clean_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline() or "{}")
        assert info, proc.stderr.read()
        sockets = listening(psutil.Process(proc.pid))
        assert len(sockets) >= 5, sockets  # GCS, raylet, object manager, agents, the actor's worker ...
        public = {s for s in sockets if s[1] not in LOOPBACK}
        assert not public, f"listening beyond 127.0.0.1: {sorted(public)}"
        assert info["gcs"].startswith("127.0.0.1:")
        home = tmp_path / "home"  # no ~/.ray/auth_token to fall back on
        home.mkdir()
        for env in (clean_env(HOME=str(home), RAY_AUTH_MODE="disabled"),
                    clean_env(HOME=str(home), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="not-the-token")):
            probe = subprocess.run([sys.executable, "-c", PROBE, info["gcs"]], env=env, capture_output=True,
                                   text=True, timeout=60)
            assert probe.stdout.startswith("REFUSED"), probe.stdout + probe.stderr
            assert "AuthenticationError" in probe.stdout and "InvalidAuthToken" in probe.stdout, probe.stdout
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_authentication_disabled_is_refused(tmp_path):
    sweep = ROOT / "scenarios" / "sweeps" / "smoke.yaml"
    proc = subprocess.run([sys.executable, "-m", "optimizer", "sweep", str(sweep), "--out", str(tmp_path / "o"),
                           "--quiet"], cwd=ROOT, env=clean_env(RAY_AUTH_MODE="disabled"), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "RAY_AUTH_MODE=disabled" in proc.stderr and "token authentication only" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_sweep_output_carries_no_ray_notices_unless_verbose(tmp_path):
    sweep = ROOT / "scenarios" / "sweeps" / "smoke.yaml"
    runs = {}
    for label, extra in (("quiet", []), ("verbose", ["--verbose"])):
        runs[label] = subprocess.run([sys.executable, "-m", "optimizer", "sweep", str(sweep), "--out",
                                      str(tmp_path / label), "--workers", "2", "--quiet", *extra], cwd=ROOT,
                                     env=clean_env(), capture_output=True, text=True, timeout=300)
        assert runs[label].returncode == 0, runs[label].stderr
    quiet = runs["quiet"].stdout + runs["quiet"].stderr
    assert "RAY_AUTH_MODE" not in quiet and "Started a local Ray instance" not in quiet, quiet
    assert quiet.strip().startswith("6 scenarios"), quiet
    assert "Started a local Ray instance" in runs["verbose"].stdout + runs["verbose"].stderr
    for run in runs.values():
        assert "RAY_AUTH_MODE=disabled" not in run.stdout + run.stderr
