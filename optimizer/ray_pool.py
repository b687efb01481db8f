"""Ray in one place: attaching to a cluster or starting an embedded one (and stopping it), and the pool of
long-lived actors that the sweep, the regret cross-evaluation and the Benders subproblems run on.

Ray is imported here only (and only when called), so a single solve never starts it.

Security, however Ray is reached:

* an embedded Ray (no address, or an address on this machine's loopback) keeps every listening socket on
  127.0.0.1, also when the caller imported ``ray`` before (Ray otherwise swaps loopback for the machine's
  outward IP and its gRPC servers listen on every interface);
* token authentication is always on: ``RAY_AUTH_MODE`` set to anything but ``token`` is refused, and an
  unset one is set to ``token`` (so Ray's notice inviting users to switch authentication off never shows);
* attaching without a usable token ends at once with a message that says where the token comes from,
  instead of Ray's 20 s of retries and a traceback.

The pool (:class:`ActorPool`) runs a lazily pulled stream of work items on N actors, at most one item in
flight per actor: results come back in completion order, a dead actor is replaced and its item handed back
to the owner (who decides to retry or to record a failure), an actor silent past an item's deadline is
killed the same way.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
AUTH_MODE_ENV = "RAY_AUTH_MODE"
START_TIMEOUT = 60.0  # seconds a (replacement) actor may take to start before its slot is given up
ATTACH_TIMEOUT = 8.0  # seconds to wait for a cluster's GCS to answer an authenticated call
ENV_SH_HINT = ("source the env.sh of the cluster (cluster/local/start.sh writes it to "
               "${RAY_LOCAL_STATE:-/tmp/optimizer-ray-local}/env.sh) or set RAY_AUTH_TOKEN_PATH to the cluster's "
               "token file")


class ClusterError(Exception):
    """Ray cannot be used as asked (authentication switched off, no token, cluster unreachable). The CLI
    prints the message and exits with 2."""


def _is_loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def _require_token_auth() -> None:
    mode = os.environ.get(AUTH_MODE_ENV)
    if mode is not None and mode.strip().lower() != "token":
        raise ClusterError(f"{AUTH_MODE_ENV}={mode} in the environment: the optimizer runs Ray with token "
                           f"authentication only (unset {AUTH_MODE_ENV} or set it to 'token')")
    os.environ[AUTH_MODE_ENV] = "token"


def import_ray(address: str | None = None):
    """Import Ray with the settings above: token authentication, and for an embedded Ray (or a cluster on
    this machine's loopback) every socket on 127.0.0.1, whether or not ``ray`` was imported before."""
    _require_token_auth()
    target = address or os.environ.get("RAY_ADDRESS")
    local = not target or _is_loopback(target)
    already = "ray" in sys.modules
    if local:
        os.environ[LOOPBACK_ENV] = "0"  # read at import, and inherited by Ray's own processes
    import ray

    if local:
        import ray._private.ray_constants as constants

        constants.ENABLE_RAY_CLUSTER = False  # what the variable would have set, had Ray been imported later
    if already:  # Ray caches its config (the auth mode among it) at import: read the environment again
        from ray._raylet import Config  # type: ignore[attr-defined]

        Config.initialize("")
    return ray


def _token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path:
        return Path(path).expanduser().is_file()
    return (Path.home() / ".ray" / "auth_token").is_file()


def _check_attach(ray, address: str) -> None:
    """Fail fast when the cluster at ``address`` refuses this client: one authenticated call to its GCS
    with a short timeout, instead of Ray's retries."""
    if address.startswith("ray://") or address == "auto":
        return  # the Ray Client and auto-discovery do their own handshakes
    if not _token_available():
        raise ClusterError(f"no Ray auth token for the cluster at {address}: {ENV_SH_HINT}")
    from ray._raylet import GcsClient  # type: ignore[attr-defined]

    try:
        client = GcsClient(address=address)
        client.internal_kv_get(b"__optimizer_probe__", namespace=None, timeout=ATTACH_TIMEOUT)
    except Exception as exc:  # Ray raises its own gRPC wrappers: classify by message
        text = str(exc)
        if "UNAUTHENTICATED" in text or "nauthenticated" in text or "token" in text.lower():
            raise ClusterError(f"the Ray cluster at {address} refused this client's token: {ENV_SH_HINT}") from None
        raise ClusterError(f"cannot reach a Ray cluster at {address} ({text.strip().splitlines()[-1][:200]}): "
                           "is it running? check --address / RAY_ADDRESS") from None


def connect(address: str | None = None, workers: int | None = None, *, verbose: bool = False) -> bool:
    """Attach to the cluster at ``address`` (or ``RAY_ADDRESS``), or start an embedded Ray with one CPU per
    worker; nothing when Ray is already up in this process. True when this call started or attached (the
    caller then calls :func:`disconnect`). Ray's own log lines reach the terminal only when ``verbose``."""
    ray = import_ray(address)
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    quiet = {"log_to_driver": verbose, "logging_level": logging.INFO if verbose else logging.ERROR}
    if address:
        _check_attach(ray, address)
        try:
            ray.init(address=address, **quiet)
        except Exception as exc:
            raise ClusterError(f"cannot attach to the Ray cluster at {address}: "
                               f"{str(exc).strip().splitlines()[-1][:300]}") from None
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, _node_ip_address="127.0.0.1",
                 **quiet)
    return True


def disconnect(started: bool) -> None:
    if started:
        import ray

        ray.shutdown()


@contextmanager
def ray_session(address: str | None = None, workers: int | None = None, *, verbose: bool = False):
    """``with ray_session(...) as ray``: Ray connected for the block, stopped after it if started here."""
    started = connect(address, workers, verbose=verbose)
    try:
        yield sys.modules["ray"]
    finally:
        disconnect(started)


def cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


@dataclass
class _Slot:
    actor: Any = None
    ready_ref: Any = None
    since: float = 0.0


@dataclass
class PoolStats:
    restarts: int = 0
    actors: int = 0
    extra: dict = field(default_factory=dict)


def owning(actor_cls: type) -> type:
    """``actor_cls`` whose instances own their constructor's arguments: a private copy of each, made in the
    actor's process before the class sees them. Ray hands numpy arrays (and the pandas tables built on them)
    over zero-copy from the object store, where they belong to the process that put them there: when that
    driver is killed, its objects are freed and their memory reused (by the next job's own objects), while
    an actor of the killed job may still be solving with them. A plain pickle round trip (no out-of-band
    buffers) copies every array."""

    class Owning(actor_cls):
        def __init__(self, *args: Any) -> None:
            super().__init__(*pickle.loads(pickle.dumps(args)))

    Owning.__name__, Owning.__qualname__ = actor_cls.__name__, actor_cls.__qualname__  # Ray's process titles
    Owning.__module__, Owning.__doc__ = actor_cls.__module__, actor_cls.__doc__
    return Owning


class ActorPool:
    """``size`` actors of ``actor_cls`` (constructed with ``args``, one CPU each, never restarted by Ray:
    the pool replaces them), or one actor per entry of ``per_actor`` (a list of argument tuples: actors that
    each hold their own share, as Benders' do). The class must have a ``pid()`` method (its answer marks the
    actor ready). Each actor works on its own copy of its arguments (:func:`owning`)."""

    def __init__(self, ray, actor_cls: type, args: tuple = (), size: int = 1, *,
                 per_actor: list[tuple] | None = None, runtime_env: dict | None = None):
        self.ray = ray
        options: dict = {"num_cpus": 1, "max_restarts": 0, "max_task_retries": 0}
        if runtime_env:
            options["runtime_env"] = runtime_env
        self.cls = ray.remote(**options)(owning(actor_cls))
        self.args = per_actor if per_actor is not None else [args] * max(1, size)
        self.slots = [_Slot() for _ in self.args]
        self.stats = PoolStats(actors=len(self.slots))
        for i in range(len(self.slots)):
            self._start(i)

    def _start(self, i: int) -> None:
        actor = self.cls.remote(*self.args[i])
        self.slots[i] = _Slot(actor, actor.pid.remote(), time.monotonic())

    def actors(self) -> list:
        return [s.actor for s in self.slots if s.actor is not None]

    def run(
        self,
        work: Iterator[Any],
        method: str,
        on_result: Callable[[Any, Any], None],
        on_lost: Callable[[Any, str, bool], Iterable[Any]],
        *,
        deadline: Callable[[Any], float | None] = lambda item: None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        """Run every item of ``work`` (pulled only when an actor is free) as ``actor.<method>(item)``.
        ``on_result(item, value)`` gets each answer; ``on_lost(item, reason)`` is told of an item whose actor
        died or stalled past ``deadline(item)`` seconds (``died`` True), or whose method raised (False: the
        actor stays), and returns the items to run again."""
        ray = self.ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        idle: deque[int] = deque()
        starting = {s.ready_ref: i for i, s in enumerate(self.slots) if s.ready_ref is not None}
        inflight: dict = {}  # ref -> (slot, item, submitted)
        retry: deque = deque()
        exhausted = False

        def lose(i: int, item: Any, reason: str) -> None:
            retry.extend(on_lost(item, reason, True))
            self.stats.restarts += 1
            self._start(i)
            starting[self.slots[i].ready_ref] = i

        while True:
            while idle and (retry or not exhausted):
                if retry:
                    item = retry.popleft()
                else:
                    item = next(work, None)
                    if item is None:
                        exhausted = True
                        break
                i = idle.popleft()
                inflight[getattr(self.slots[i].actor, method).remote(item)] = (i, item, time.monotonic())
            if on_tick:
                on_tick()
            if not inflight and not retry and exhausted:
                break
            if not inflight and not starting and not idle:
                raise ClusterError("no Ray worker could be started: are there CPUs left in the cluster?")
            ready, _ = ray.wait(list(inflight) + list(starting), num_returns=1, timeout=0.5)
            for ref in ready:
                if ref in starting:
                    i = starting.pop(ref)
                    try:
                        ray.get(ref)
                        self.slots[i].ready_ref = None
                        idle.append(i)
                    except RayActorError:  # died while starting (its node went away): try again
                        self.stats.restarts += 1
                        self._start(i)
                        starting[self.slots[i].ready_ref] = i
                    continue
                i, item, _ = inflight.pop(ref)
                try:
                    value = ray.get(ref)
                except RayActorError:
                    lose(i, item, "worker died")
                    continue
                except RayTaskError as exc:  # an exception escaped the actor's method: the actor stays
                    retry.extend(on_lost(item, str(exc).strip().splitlines()[-1][:300], False))
                    idle.append(i)
                    continue
                idle.append(i)
                on_result(item, value)
            now = time.monotonic()
            for ref, (i, item, submitted) in list(inflight.items()):
                limit = deadline(item)
                if limit is not None and now - submitted > limit:
                    ray.kill(self.slots[i].actor, no_restart=True)
                    try:
                        ray.get(ref, timeout=5)
                    except (RayActorError, GetTimeoutError, RayTaskError):
                        pass
                    del inflight[ref]
                    lose(i, item, f"worker stalled past {limit:.0f} s and was stopped")
            for ref, i in list(starting.items()):
                # a replacement that cannot be placed (the cluster lost its CPUs) is given up while the
                # others carry on: the run goes on with fewer actors
                if now - self.slots[i].since > START_TIMEOUT and (idle or inflight or len(starting) > 1):
                    del starting[ref]
                    ray.kill(self.slots[i].actor, no_restart=True)
                    self.slots[i] = _Slot()

    def call_all(self, method: str, *args: Any) -> list:
        """``actor.<method>(*args)`` on every actor at once, answers in actor order (Benders' rounds)."""
        return self.ray.get([getattr(a, method).remote(*args) for a in self.actors()])

    def gather(self, method: str, timeout: float = 10.0) -> list:
        """Answers of ``actor.<method>()`` from the actors that still answer (stats at the end of a run)."""
        answers = []
        for actor in self.actors():
            try:
                answers.append(self.ray.get(getattr(actor, method).remote(), timeout=timeout))
            except Exception:  # a dead or stalled actor has nothing to say
                pass
        return answers

    def shutdown(self) -> None:
        for actor in self.actors():
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                pass
        self.slots = []
