"""cluster/: a real local multi-node Ray cluster (a head and two worker nodes, each its own raylet) started
and stopped with cluster/local/start.sh and stop.sh, real processes and no mocks.

* every process of the cluster listens on 127.0.0.1 only;
* token authentication: the Jobs API answers 401 without the token (403 with a wrong one), `ray job submit`
  without the token is refused and creates no job, a driver without the token cannot attach;
* `ray job submit --working-dir . -- optimizer sweep ...` runs a sweep on the cluster (the README's command);
* a worker node SIGKILLed mid-sweep (its raylet, agents and solver worker): the sweep, driven from outside
  the cluster with `optimizer sweep --address`, completes on the remaining node with every scenario exactly
  once and the objectives of a local run;
* stop.sh leaves no process of the cluster behind;
* RAY_LOCAL_TLS=1: mutual TLS on every gRPC channel, and a sweep through it;
* the cloud and KubeRay manifests parse (the AWS one against Ray's launcher schema) and keep token
  authentication on and the dashboard private;
* the embedded Ray of `optimizer sweep` listens on 127.0.0.1 only.

One cluster serves the whole module. Its state folder, ports and token are its own, so other Ray instances
on the machine (other test sessions) are neither used nor stopped.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
import yaml
from sample_sweeps import sample_sweep

import optimizer
from optimizer.sweep.runner import solve_in_loop

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "cluster"
START = CLUSTER / "local" / "start.sh"
STOP = CLUSTER / "local" / "stop.sh"
BASE = ROOT / "scenarios" / "base"
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("setsid") is None,
                                 reason="the local cluster scripts need Linux (setsid, /proc)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_range(count: int) -> int:
    """The first port of ``count`` consecutive ports free on 127.0.0.1, below the ephemeral range."""
    rng = random.Random(os.getpid())
    for _ in range(50):
        first = rng.randrange(20000, 32000 - count, 100)
        socks = []
        try:
            for port in range(first, first + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


class Cluster:
    """The running local cluster: where its state is, its addresses, and how to reach it as a client."""

    def __init__(self, state: Path, gcs: int, dashboard: int, client: int, env: dict[str, str]):
        self.state, self.gcs_port, self.dashboard_port, self.client_port = state, gcs, dashboard, client
        self.env = env
        self.nodes: dict[str, dict] = {}
        self.groups: set[int] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def jobs_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def token(self) -> str:
        return (self.state / "auth_token").read_text().strip()

    def read_nodes(self) -> None:
        for line in (self.state / "nodes").read_text().splitlines():
            name, pgid, raylet, temp_dir = line.split()
            self.nodes[name] = {"pgid": int(pgid), "raylet": int(raylet), "temp_dir": temp_dir}
            self.groups.add(int(pgid))

    def client(self, *cmd: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        """Run ``cmd`` as a user of the cluster does: in a shell that sourced the cluster's env.sh."""
        return subprocess.run(["bash", "-c", f'source "{self.state}/env.sh" && exec "$@"', "client", *cmd],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, **kwargs)

    def processes(self, node: str | None = None) -> list[psutil.Process]:
        """Live processes of the cluster (or of one node): in a node's process group, or carrying the
        cluster's marker in their environment (worker processes and job drivers run in sessions of
        their own)."""
        groups = {self.nodes[node]["pgid"]} if node else self.groups
        found = []
        for p in psutil.process_iter(["pid", "status"]):
            try:
                if p.info["status"] == psutil.STATUS_ZOMBIE or p.pid == os.getpid():
                    continue
                if os.getpgid(p.pid) in groups:
                    found.append(p)
                    continue
                env = p.environ()
            except (psutil.Error, ProcessLookupError, OSError):
                continue
            if env.get("OPTIMIZER_RAY_LOCAL") == str(self.state) and (
                    node is None or env.get("OPTIMIZER_RAY_LOCAL_NODE") == node):
                found.append(p)
        return found

    def listening(self) -> set[tuple[str, str, int]]:
        """(process name, address, port) of every listening TCP socket of the cluster's processes."""
        found = set()
        for p in self.processes():
            try:
                for c in p.net_connections(kind="tcp"):
                    if c.status == psutil.CONN_LISTEN:
                        found.add((p.name(), c.laddr.ip, c.laddr.port))
            except psutil.Error:
                continue
        return found


def base_env() -> dict[str, str]:
    """This environment, with the interpreter's bin folder (ray, python, optimizer) first on PATH and no
    Ray address or token of another cluster."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH",
                        "RAY_AUTH_MODE", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "OPTIMIZER_RAY_LOCAL",
                        "OPTIMIZER_RAY_LOCAL_NODE", "RAY_LOCAL_STATE"}}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def start_cluster(workers: int, **settings: str) -> Cluster:
    """cluster/local/start.sh WORKERS in a fresh state folder, on free ports."""
    state = Path(tempfile.mkdtemp(prefix="orl-", dir="/tmp"))  # short: Ray's socket paths live under it
    env = base_env()
    gcs, dashboard, client = free_port(), free_port(), free_port()
    env.update(RAY_LOCAL_STATE=str(state), RAY_LOCAL_PORT=str(gcs), RAY_LOCAL_DASHBOARD_PORT=str(dashboard),
               RAY_LOCAL_CLIENT_PORT=str(client), RAY_LOCAL_WORKER_PORTS=str(free_range(100 * (workers + 1))),
               **settings)
    c = Cluster(state, gcs, dashboard, client, env)
    started = subprocess.run(["bash", str(START), str(workers)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=240)
    if started.returncode != 0:
        stop_cluster(c)
        raise AssertionError(started.stdout + started.stderr)
    c.read_nodes()
    return c


def stop_cluster(c: Cluster) -> None:
    subprocess.run(["bash", str(STOP)], cwd=ROOT, env=c.env, capture_output=True, text=True, timeout=120)
    for p in c.processes():  # a failed stop must not leave this cluster's processes behind
        try:
            p.kill()
        except psutil.Error:
            pass
    shutil.rmtree(c.state, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = start_cluster(2)
    try:
        yield c
    finally:
        stop_cluster(c)


def test_three_nodes_each_its_own_raylet_all_on_loopback(cluster):
    assert sorted(cluster.nodes) == ["head", "node-1", "node-2"]
    raylets = {name: psutil.Process(node["raylet"]) for name, node in cluster.nodes.items()}
    assert all(r.name() == "raylet" for r in raylets.values())
    assert len({r.pid for r in raylets.values()}) == 3
    cpus = {}
    for name, r in raylets.items():
        arg = next(a for a in r.cmdline() if a.startswith("--static_resource_list="))
        fields = arg.split("=", 1)[1].split(",")
        cpus[name] = float(dict(zip(fields[::2], fields[1::2])).get("CPU", 0))
        assert "--node_ip_address=127.0.0.1" in r.cmdline()
    assert cpus == {"head": 0.0, "node-1": 1.0, "node-2": 1.0}
    sockets = cluster.listening()
    ports = {port for _, _, port in sockets}
    assert {cluster.gcs_port, cluster.dashboard_port, cluster.client_port} <= ports
    public = {s for s in sockets if s[1] not in LOOPBACK}
    assert not public, f"listening beyond 127.0.0.1: {sorted(public)}"
    assert (cluster.state / "auth_token").stat().st_mode & 0o077 == 0, "the token file is private"


def http(url: str, token: str | None = None, data: dict | None = None) -> int:
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_jobs_api_and_drivers_need_the_token(cluster, tmp_path):
    jobs = f"{cluster.jobs_url}/api/jobs/"
    assert http(jobs) == 401
    assert http(jobs, token="not-the-token") == 403
    assert http(jobs, token=cluster.token) == 200
    marker = f"unauthorised-{uuid.uuid4().hex}"
    assert http(jobs, data={"entrypoint": f"echo {marker}"}) == 401

    home = tmp_path / "home"  # no ~/.ray/auth_token to fall back on
    home.mkdir()
    no_token = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_LOCAL")}
    no_token.update(HOME=str(home), RAY_API_SERVER_ADDRESS=cluster.jobs_url)
    wrong_token = {**no_token, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "not-the-token"}
    # a driver without the right token cannot attach to the GCS either (started first: it takes a while)
    attach = f"import ray; ray.init(address={cluster.address!r}, log_to_driver=False); print('attached')"
    driver = subprocess.Popen([sys.executable, "-c", attach], env={**wrong_token,
                              "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        # the same driver with the token attaches (so the refusal above is the token's doing)
        with_token = cluster.client(sys.executable, "-c", attach, timeout=120)
        assert with_token.returncode == 0 and "attached" in with_token.stdout, with_token.stderr
        for env, answer in ((no_token, "Authentication required"), (wrong_token, "Authentication failed")):
            refused = subprocess.run(["ray", "job", "submit", "--", "echo", marker], cwd=tmp_path, env=env,
                                     capture_output=True, text=True, timeout=120)
            assert refused.returncode != 0
            assert answer in refused.stdout + refused.stderr
        with urllib.request.urlopen(urllib.request.Request(
                jobs, headers={"Authorization": f"Bearer {cluster.token}"}), timeout=30) as response:
            listed = json.loads(response.read())
        assert not [j for j in listed if marker in (j.get("entrypoint") or "")], "a refused submission ran"
        out, _ = driver.communicate(timeout=180)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode != 0 and "attached" not in out, out


def test_attaching_without_the_token_ends_at_once_with_what_to_do(cluster, tmp_path):
    """No token (or another Ray's token, as ~/.ray/auth_token of an embedded Ray would be): the sweep ends
    within seconds, exit 2, a message pointing to env.sh, no traceback, nothing written."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home))
    for extra in ({}, {"RAY_AUTH_TOKEN": "not-the-token"}):
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "optimizer", "sweep", "scenarios/sweeps/smoke.yaml", "--address",
                               cluster.address, "--out", str(tmp_path / "o"), "--quiet"], cwd=ROOT,
                              env={**env, **extra}, capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - t0
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr and "env.sh" in proc.stderr, proc.stderr
        assert elapsed < 15, f"took {elapsed:.0f} s (Ray alone retries for 20 s and more)"
        assert not (tmp_path / "o").exists()


def test_ray_job_submit_runs_a_sweep(cluster, tmp_path):
    """The README's command, from the repository root: the working directory is uploaded, the job runs
    `optimizer sweep` on the head node, and its driver writes the results to the --out path."""
    out = tmp_path / "smoke"
    job = cluster.client("ray", "job", "submit", "--working-dir", ".", "--", "optimizer", "sweep",
                         "scenarios/sweeps/smoke.yaml", "--out", str(out), "--quiet")
    assert job.returncode == 0, job.stdout + job.stderr
    assert "succeeded" in job.stdout + job.stderr
    summary = optimizer.load_results(out).summary
    assert len(summary) == 6 and summary["case_key"].is_unique
    assert (summary["status"] == "optimal").all()
    local = {r.case_key: r.objective for r in solve_in_loop(ROOT / "scenarios" / "sweeps" / "smoke.yaml",
                                                              rebuild=False)}
    assert set(summary["case_key"]) == set(local)
    for key, objective in zip(summary["case_key"], summary["objective"]):
        assert objective == pytest.approx(local[key], rel=2e-4)  # the smoke sweep's gap is 1e-4


def test_job_driver_sigkilled_and_the_sweep_resubmitted(cluster, tmp_path):
    """Through `ray job submit`, with a plain shared path: the workers write the results there themselves;
    the job's driver is SIGKILLed mid-sweep; a second job resumes; every scenario once, objectives as a
    local run's; `optimizer.load_results` reads the folder."""
    path = sample_sweep(tmp_path, 16)
    reference = {r.case_key: r.objective for r in solve_in_loop(path, rebuild=False)}
    out = tmp_path / "shared" / "mc"
    command = ["optimizer", "sweep", str(path), "--out", str(out), "--batch-size", "1", "--quiet"]
    first = cluster.client("ray", "job", "submit", "--no-wait", "--", *command)
    assert first.returncode == 0, first.stdout + first.stderr
    end = time.monotonic() + 240
    while len(list((out / "_commits").glob("b-*.json"))) < 2:
        assert time.monotonic() < end, "no batch was committed"
        time.sleep(0.2)
    drivers = [p for p in cluster.processes() if "sweep" in " ".join(p.cmdline()) and str(out) in " ".join(
        p.cmdline()) and "optimizer" in " ".join(p.cmdline()) and "ray::" not in p.name()]
    assert drivers, "the job's driver process was not found"
    for p in drivers:
        p.send_signal(signal.SIGKILL)
    psutil.wait_procs(drivers, timeout=15)
    done_at_kill = len(list((out / "_commits").glob("b-*.json")))
    assert 0 < done_at_kill < 16
    second = cluster.client("ray", "job", "submit", "--", *command, timeout=600)
    assert second.returncode == 0 and "succeeded" in second.stdout + second.stderr, second.stdout + second.stderr
    summary = optimizer.load_results(out).summary
    assert summary["case_key"].is_unique and set(summary["case_key"]) == set(reference)
    for key, objective in zip(summary["case_key"], summary["objective"]):
        assert objective == pytest.approx(reference[key], rel=2e-6)


def solver_actors(processes: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for p in processes:
        try:
            if any("SweepWorker" in part for part in p.cmdline()):
                found.append(p)
        except psutil.Error:
            continue
    return found


def test_sweep_survives_losing_a_worker_node(cluster, tmp_path):
    path = sample_sweep(tmp_path, 40)
    reference = {r.case_key: r for r in solve_in_loop(path, rebuild=False)}  # a local run, no Ray
    assert all(r.status == "optimal" for r in reference.values())

    out = tmp_path / "out"
    sweep = subprocess.Popen(
        ["bash", "-c", f'source "{cluster.state}/env.sh" && exec "$@"', "client", "optimizer", "sweep", str(path),
         "--address", cluster.address, "--out", str(out), "--workers", "2", "--batch-size", "1", "--quiet"],
        cwd=ROOT, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 180
        while not list((out / "_commits").glob("b-*.json")):
            assert sweep.poll() is None, f"sweep ended early: {sweep.communicate()}"
            assert time.monotonic() < end, "no partial results appeared"
            time.sleep(0.1)
        doomed = cluster.processes("node-1")
        assert solver_actors(doomed), "no solver worker on node-1 to lose"
        done_at_kill = len(list((out / "_commits").glob("b-*.json")))  # batches of one scenario
        assert 0 < done_at_kill < 40, "the node must be lost in the middle of the sweep"
        # the machine goes away: SIGKILL its raylet and every other process of the node at once
        for p in doomed:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(doomed, timeout=15)
        assert not alive, f"node-1 processes survived SIGKILL: {alive}"
        assert cluster.nodes["node-1"]["raylet"] in {p.pid for p in doomed}
        stdout, stderr = sweep.communicate(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode == 0, stderr
    assert "40 solved" in stdout
    assert not cluster.processes("node-1"), "node-1 is gone"

    summary = optimizer.load_results(out).summary
    assert summary["case_key"].is_unique, "a scenario appears twice"
    assert set(summary["case_key"]) == set(reference)
    assert (summary["status"] == "optimal").all()
    for key, objective in zip(summary["case_key"], summary["objective"]):
        assert objective == pytest.approx(reference[key].objective, rel=2e-6)
    # the long tables hold each scenario once as well
    flows = optimizer.load_results(out).flows
    assert set(flows["scenario_id"]) == set(summary["scenario_id"])


def test_stop_leaves_no_process_behind(cluster):
    assert cluster.processes(), "the cluster should still be running"
    stopped = subprocess.run(["bash", str(STOP)], cwd=ROOT, env=cluster.env, capture_output=True, text=True,
                             timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert cluster.processes() == []
    for port in (cluster.gcs_port, cluster.dashboard_port, cluster.client_port):
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect(("127.0.0.1", port))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="RAY_LOCAL_TLS=1 makes its certificates with openssl")
def test_tls_between_all_processes(tmp_path):
    """RAY_LOCAL_TLS=1: every gRPC channel of the cluster is mutual TLS; a client with env.sh (which hands
    it the CA and a certificate) runs a sweep; the GCS port speaks TLS with a certificate for 127.0.0.1."""
    import ssl

    c = start_cluster(1, RAY_LOCAL_TLS="1")
    try:
        tls = c.state / "tls"
        context = ssl.create_default_context(cafile=str(tls / "ca.crt"))
        context.load_cert_chain(str(tls / "node.crt"), str(tls / "node.key"))
        context.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", c.gcs_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                assert conn.version() in ("TLSv1.2", "TLSv1.3")
        sweep = c.client("optimizer", "sweep", "scenarios/sweeps/smoke.yaml", "--address", c.address, "--out",
                         str(tmp_path / "smoke"), "--quiet")
        assert sweep.returncode == 0, sweep.stderr
        summary = optimizer.load_results(tmp_path / "smoke").summary
        assert len(summary) == 6 and (summary["status"] == "optimal").all()
        assert http(f"{c.jobs_url}/api/jobs/") == 401  # the token is still required
    finally:
        stop_cluster(c)
    assert c.processes() == []


def test_embedded_sweep_listens_on_loopback_only(tmp_path):
    """`optimizer sweep` without --address starts a Ray of its own: nothing of it may listen beyond 127.0.0.1."""
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "sweep", "scenarios/sweeps/smoke.yaml", "--out",
                             str(tmp_path / "out"), "--workers", "2", "--quiet"], cwd=ROOT, env=base_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sockets = set()
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for p in tree:
                try:
                    sockets |= {(p.name(), c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="tcp")
                                if c.status == psutil.CONN_LISTEN}
                except psutil.Error:
                    continue
            time.sleep(0.2)
    finally:
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert sockets, "no listening socket seen"
    public = {s for s in sockets if s[1] not in LOOPBACK}
    assert not public, f"listening beyond 127.0.0.1: {sorted(public)}"


# --- the deployment files -------------------------------------------------------------------------------


def load_all(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def walk_strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk_strings(k)
            yield from walk_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk_strings(v)


def test_deployment_files_parse_and_stay_private():
    files = sorted(CLUSTER.rglob("*.yaml"))
    assert {f.relative_to(CLUSTER).as_posix() for f in files} >= {
        "aws.yaml", "kuberay/raycluster.yaml", "kuberay/rayjob.yaml"}
    for f in files:  # every value (comments aside)
        values = list(walk_strings(load_all(f)))
        assert not [v for v in values if "0.0.0.0" in v], f"{f}: nothing binds to or opens 0.0.0.0"
        assert not [v for v in values if "RAY_AUTH_MODE=disabled" in v or v == "disabled"], f
    for f in [START, STOP, CLUSTER / "kuberay" / "Dockerfile"]:  # every command (comments aside)
        code = "\n".join(line.split(" #")[0] for line in f.read_text().splitlines()
                         if not line.lstrip().startswith("#"))
        assert "0.0.0.0" not in code and "RAY_AUTH_MODE=disabled" not in code, f

    # the cloud launcher file: valid for Ray's own launcher schema, token mode on every node, the dashboard
    # (and Jobs API) on the head's loopback, the project installed on every node, no launcher-made security
    # group (Ray's default one opens SSH to 0.0.0.0/0)
    from ray.autoscaler._private.util import prepare_config, validate_config

    aws = load_all(CLUSTER / "aws.yaml")[0]
    validate_config(prepare_config(aws))
    assert aws["provider"]["type"] == "aws"
    assert aws["head_node_type"] in aws["available_node_types"] and len(aws["available_node_types"]) >= 2
    head_start = " ".join(aws["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start and "RAY_AUTH_MODE=token ray start --head" in head_start
    assert "RAY_AUTH_MODE=token ray start --address" in " ".join(aws["worker_start_ray_commands"])
    assert any("pip install" in c and "~/optimizer" in c for c in aws["setup_commands"])
    assert "~/.ray/auth_token" in aws["file_mounts"]
    for node in aws["available_node_types"].values():
        assert node["node_config"]["SecurityGroupIds"], "a security group of yours, not Ray's default"
    assert aws["provider"].get("use_internal_ips") is True

    (raycluster,) = [d for d in load_all(CLUSTER / "kuberay" / "raycluster.yaml") if d["kind"] == "RayCluster"]
    (rayjob,) = [d for d in load_all(CLUSTER / "kuberay" / "rayjob.yaml") if d["kind"] == "RayJob"]
    for doc in (raycluster, rayjob):
        assert doc["apiVersion"] == "ray.io/v1"
    assert "optimizer sweep scenarios/sweeps/monte_carlo.yaml --out /results/mc" in rayjob["spec"]["entrypoint"]
    claims = [d for d in load_all(CLUSTER / "kuberay" / "rayjob.yaml") if d["kind"] == "PersistentVolumeClaim"]
    head = rayjob["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert {v["persistentVolumeClaim"]["claimName"] for v in head["volumes"]} == {claims[0]["metadata"]["name"]}
    assert any(m["mountPath"] == "/results" for m in head["containers"][0]["volumeMounts"])
    # RayCluster: the token from a Secret, as an environment variable of every Ray container
    spec = raycluster["spec"]
    for group in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        for container in group["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            assert env["RAY_AUTH_MODE"]["value"] == "token"
            assert "secretKeyRef" in env["RAY_AUTH_TOKEN"]["valueFrom"]
    assert spec["headGroupSpec"]["rayStartParams"]["dashboard-host"] == "127.0.0.1"
    assert spec["headGroupSpec"].get("serviceType", "ClusterIP") == "ClusterIP"
    # RayJob: KubeRay puts the Secret's token in every container (and uses it for its own Jobs API calls)
    job_cluster = rayjob["spec"]["rayClusterSpec"]
    assert job_cluster["authOptions"]["mode"] == "token"
    assert job_cluster["headGroupSpec"]["rayStartParams"]["dashboard-host"] == "${POD_IP}"
    assert job_cluster["headGroupSpec"].get("serviceType", "ClusterIP") == "ClusterIP"
