"""Ray's own command line (``ray ...``), except that a loopback address stays a loopback address.

Ray rewrites 127.0.0.1, localhost and ::1 in ``--address`` and ``--node-ip-address`` to the machine's
outward IP (``ray._private.services.resolve_ip_for_localhost``). A cluster whose processes listen on
127.0.0.1 only is then unreachable at the rewritten address. For the head node, and for drivers, the
environment variable ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` turns the rewrite off, but ``ray start
--address=...`` refuses to start a worker node with that variable set. ``start.sh`` therefore starts
each worker node through this file:

    python cluster/local/ray_loopback.py start --address=127.0.0.1:6379 --num-cpus=1 ...

Nothing else is changed: the arguments go to Ray's ``ray`` command unchanged.
"""

from __future__ import annotations

import sys

import ray._private.services as services


def _keep(host: str) -> str:
    if not host:
        raise ValueError(f"Malformed host: {host!r}")
    return host


services.resolve_ip_for_localhost = _keep

if __name__ == "__main__":
    from ray.scripts.scripts import main

    sys.argv[0] = "ray"
    sys.exit(main())
