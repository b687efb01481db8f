#!/usr/bin/env bash
# Start a local multi-node Ray cluster on this machine: a head node plus N worker nodes, each its own
# raylet with its own CPUs, every process on 127.0.0.1, token authentication on.
#
#   cluster/local/start.sh [N]        N worker nodes (default 2)
#   source "${RAY_LOCAL_STATE:-/tmp/optimizer-ray-local}/env.sh"   # what a client needs (token, addresses)
#   cluster/local/stop.sh             stops this cluster's processes only
#
# Uses the `ray` and `python` found on PATH (activate the project's virtualenv first): the head node runs
# job entrypoints such as `optimizer sweep`, so `optimizer` must be on the same PATH.
#
# Settings (environment):
#   RAY_LOCAL_STATE            state folder: token, env.sh, node list, each node's Ray temp dir and logs
#                              [/tmp/optimizer-ray-local]
#   RAY_LOCAL_PORT             GCS port, the address drivers connect to (127.0.0.1:PORT) [6379]
#   RAY_LOCAL_DASHBOARD_PORT   dashboard and Jobs API (http://127.0.0.1:PORT) [8265]
#   RAY_LOCAL_CLIENT_PORT      Ray Client server (ray://127.0.0.1:PORT) [10001]
#   RAY_LOCAL_WORKER_PORTS     first port of the worker-process port ranges; node k uses 100 ports from
#                              RAY_LOCAL_WORKER_PORTS + 100 k [11000]
#   RAY_LOCAL_HEAD_CPUS        CPUs the head offers to tasks and actors [0: solver workers go to workers]
#   RAY_LOCAL_WORKER_CPUS      CPUs per worker node [1]
#   RAY_LOCAL_OBJECT_STORE_MB  object store per node, MB [256]
#   RAY_LOCAL_TOKEN_FILE       auth token file; created (random, mode 600) if missing
#                              [$RAY_LOCAL_STATE/auth_token]
#   RAY_LOCAL_TLS=1            TLS (mutual) on every gRPC channel: a CA and a certificate for 127.0.0.1 are
#                              made with openssl in $RAY_LOCAL_STATE/tls, and env.sh hands them to clients.
#                              Or bring your own: RAY_USE_TLS=1 RAY_TLS_SERVER_CERT RAY_TLS_SERVER_KEY
#                              RAY_TLS_CA_CERT in the environment are used as they are.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workers="${1:-2}"
state="${RAY_LOCAL_STATE:-/tmp/optimizer-ray-local}"
gcs_port="${RAY_LOCAL_PORT:-6379}"
dashboard_port="${RAY_LOCAL_DASHBOARD_PORT:-8265}"
client_port="${RAY_LOCAL_CLIENT_PORT:-10001}"
worker_ports="${RAY_LOCAL_WORKER_PORTS:-11000}"
head_cpus="${RAY_LOCAL_HEAD_CPUS:-0}"
worker_cpus="${RAY_LOCAL_WORKER_CPUS:-1}"
store_mb="${RAY_LOCAL_OBJECT_STORE_MB:-256}"

die() { echo "start.sh: $*" >&2; exit 2; }

[[ "$workers" =~ ^[0-9]+$ ]] || die "usage: start.sh [N]   (N worker nodes, a whole number)"
command -v ray >/dev/null || die "no 'ray' on PATH: activate the project's virtualenv first"
command -v python >/dev/null || die "no 'python' on PATH: activate the project's virtualenv first"
command -v optimizer >/dev/null || echo "start.sh: warning: no 'optimizer' on PATH; jobs running it will fail" >&2
case "${RAY_AUTH_MODE:-token}" in
  token) ;;
  *) die "RAY_AUTH_MODE=${RAY_AUTH_MODE}: this cluster always runs with token authentication (RAY_AUTH_MODE=token)" ;;
esac

mkdir -p "$state"
state="$(cd "$state" && pwd)"
if [[ -s "$state/nodes" ]]; then
  die "a cluster is already recorded in $state (run cluster/local/stop.sh first)"
fi

# Unix socket paths live under each node's temp dir and must stay short (about 107 bytes at most).
(( ${#state} <= 40 )) || die "RAY_LOCAL_STATE path too long for Ray's socket paths (keep it under 40 characters)"

# Ports this cluster listens on must be free on 127.0.0.1.
python - "$gcs_port" "$dashboard_port" "$client_port" <<'EOF' || die "a port is in use; set RAY_LOCAL_PORT / RAY_LOCAL_DASHBOARD_PORT / RAY_LOCAL_CLIENT_PORT"
import socket, sys
for port in sys.argv[1:]:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Ray's servers do: TIME_WAIT is no conflict
        try:
            s.bind(("127.0.0.1", int(port)))
        except OSError:
            print(f"start.sh: port {port} on 127.0.0.1 is in use", file=sys.stderr)
            sys.exit(1)
EOF

# The token: one secret shared by every node and every client of this cluster.
token_file="${RAY_LOCAL_TOKEN_FILE:-$state/auth_token}"
if [[ ! -s "$token_file" ]]; then
  (umask 077 && mkdir -p "$(dirname "$token_file")")
  if [[ -n "${RAY_AUTH_TOKEN:-}" ]]; then
    (umask 077 && printf '%s' "$RAY_AUTH_TOKEN" > "$token_file")
  else
    (umask 077 && python -c 'import secrets; print(secrets.token_hex(32), end="")' > "$token_file")
  fi
fi
chmod 600 "$token_file"
token_file="$(cd "$(dirname "$token_file")" && pwd)/$(basename "$token_file")"

export RAY_AUTH_MODE=token
export RAY_AUTH_TOKEN_PATH="$token_file"
unset RAY_AUTH_TOKEN RAY_ADDRESS RAY_API_SERVER_ADDRESS
export RAY_USAGE_STATS_ENABLED=0

if [[ "${RAY_LOCAL_TLS:-0}" == 1 && "${RAY_USE_TLS:-0}" != 1 ]]; then
  command -v openssl >/dev/null || die "RAY_LOCAL_TLS=1 needs openssl"
  tls="$state/tls"
  if [[ ! -s "$tls/node.crt" ]]; then
    (umask 077 && mkdir -p "$tls")
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=optimizer-ray-local-ca" \
      -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=optimizer-ray-local" \
      -keyout "$tls/node.key" -out "$tls/node.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tls/san.ext"
    openssl x509 -req -in "$tls/node.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
      -days 365 -extfile "$tls/san.ext" -out "$tls/node.crt" 2>/dev/null
    chmod 600 "$tls"/*.key
  fi
  export RAY_USE_TLS=1 RAY_TLS_SERVER_CERT="$tls/node.crt" RAY_TLS_SERVER_KEY="$tls/node.key" \
    RAY_TLS_CA_CERT="$tls/ca.crt"
fi
# Every process of this cluster carries OPTIMIZER_RAY_LOCAL (and OPTIMIZER_RAY_LOCAL_NODE, set per node
# below) in its environment: stop.sh and the tests find the cluster's processes by it.
export OPTIMIZER_RAY_LOCAL="$state"

# If anything below fails, stop what was started.
cleanup_on_error() { echo "start.sh: failed; stopping what was started" >&2; env -u OPTIMIZER_RAY_LOCAL RAY_LOCAL_STATE="$state" "$here/stop.sh" >&2 || true; }
trap cleanup_on_error ERR

store_bytes=$(( store_mb * 1024 * 1024 ))
: > "$state/nodes.tmp"

record() {  # record NAME: find the node's raylet by its temp dir; write "name pgid raylet_pid temp_dir"
  local name="$1" dir="$state/$1" raylet pgid
  raylet="$(pgrep -f -- "raylet/raylet .*--temp_dir=$dir( |\$)" | head -n1 || true)"
  [[ -n "$raylet" ]] || { echo "start.sh: no raylet found for $name" >&2; return 1; }
  pgid="$(ps -o pgid= -p "$raylet" | tr -d ' ')"
  printf '%s %s %s %s\n' "$name" "$pgid" "$raylet" "$dir" >> "$state/nodes.tmp"
}

# Head node. RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps Ray from replacing 127.0.0.1 with the machine's
# outward IP; with a loopback node IP, Ray's gRPC servers (GCS, raylet, workers) listen on 127.0.0.1 only.
# The variable is inherited by the head's processes, so job drivers started there reach the GCS too.
# setsid: each node gets its own session and process group.
echo "start.sh: head node (GCS 127.0.0.1:$gcs_port, dashboard http://127.0.0.1:$dashboard_port)"
OPTIMIZER_RAY_LOCAL_NODE=head RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 setsid ray start --head \
  --node-ip-address=127.0.0.1 --port="$gcs_port" \
  --include-dashboard=true --dashboard-host=127.0.0.1 --dashboard-port="$dashboard_port" \
  --ray-client-server-port="$client_port" \
  --dashboard-agent-listen-port=0 \
  --min-worker-port="$worker_ports" --max-worker-port="$(( worker_ports + 99 ))" \
  --num-cpus="$head_cpus" --object-store-memory="$store_bytes" \
  --temp-dir="$state/head" --disable-usage-stats < /dev/null > "$state/head.log" 2>&1 \
  || { cat "$state/head.log" >&2; false; }
record head

# Worker nodes: each `ray start --address` is its own raylet (own CPUs, own temp dir, own worker ports).
for i in $(seq 1 "$workers"); do
  lo=$(( worker_ports + 100 * i ))
  echo "start.sh: worker node node-$i ($worker_cpus CPU)"
  OPTIMIZER_RAY_LOCAL_NODE="node-$i" setsid python "$here/ray_loopback.py" start \
    --address="127.0.0.1:$gcs_port" --node-ip-address=127.0.0.1 \
    --dashboard-agent-listen-port=0 \
    --min-worker-port="$lo" --max-worker-port="$(( lo + 99 ))" \
    --num-cpus="$worker_cpus" --object-store-memory="$store_bytes" \
    --temp-dir="$state/node-$i" --disable-usage-stats < /dev/null > "$state/node-$i.log" 2>&1 \
    || { cat "$state/node-$i.log" >&2; false; }
  record "node-$i"
done
mv "$state/nodes.tmp" "$state/nodes"
trap - ERR

# What a client of this cluster needs, to be sourced: the token (by path, never copied into the
# environment of other programs' logs), token mode, and the addresses.
cat > "$state/env.sh" <<EOF
# Source this file to use the local Ray cluster started by cluster/local/start.sh.
export RAY_AUTH_MODE=token
export RAY_AUTH_TOKEN_PATH='$token_file'
unset RAY_AUTH_TOKEN
# ray job submit / status / logs / stop talk to the Jobs API here
export RAY_API_SERVER_ADDRESS='http://127.0.0.1:$dashboard_port'
# drivers (optimizer sweep --address, ray status --address) connect to the GCS here
export RAY_LOCAL_ADDRESS='127.0.0.1:$gcs_port'
# cluster/local/stop.sh stops the cluster recorded here
export RAY_LOCAL_STATE='$state'
# keep 127.0.0.1 as given: Ray otherwise replaces it with this machine's outward IP, where the cluster
# does not listen
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
EOF
if [[ "${RAY_USE_TLS:-0}" == 1 ]]; then
  cat >> "$state/env.sh" <<EOF
# TLS on every gRPC channel: clients need the same CA and a certificate it signed
export RAY_USE_TLS=1
export RAY_TLS_SERVER_CERT='$RAY_TLS_SERVER_CERT'
export RAY_TLS_SERVER_KEY='$RAY_TLS_SERVER_KEY'
export RAY_TLS_CA_CERT='$RAY_TLS_CA_CERT'
EOF
fi
chmod 600 "$state/env.sh"

echo "start.sh: $(( workers + 1 )) nodes up; state in $state"
column -t "$state/nodes" 2>/dev/null | sed 's/^/  /' || sed 's/^/  /' "$state/nodes"
cat <<EOF
Next:
  source $state/env.sh
  ray job submit --working-dir . -- optimizer sweep scenarios/sweeps/smoke.yaml --out /tmp/optimizer-results/smoke-job
  optimizer sweep scenarios/sweeps/smoke.yaml --address \$RAY_LOCAL_ADDRESS --out results/smoke-cluster
  cluster/local/stop.sh
EOF
