#!/usr/bin/env bash
# Stop the local Ray cluster started by cluster/local/start.sh, and only it.
#
#   cluster/local/stop.sh            every node of the cluster recorded in $RAY_LOCAL_STATE
#   cluster/local/stop.sh node-1     SIGKILL one worker node (raylet, agents, workers): a lost machine
#
# `ray stop` would stop every Ray process of this user on the machine, other clusters and test sessions
# included. This script stops the processes of this cluster only: each node's process group (recorded by
# start.sh in $RAY_LOCAL_STATE/nodes) and every process whose environment carries
# OPTIMIZER_RAY_LOCAL=$RAY_LOCAL_STATE (Ray starts worker processes and job drivers in sessions of their
# own; they inherit the variable). SIGTERM first, SIGKILL after RAY_LOCAL_STOP_GRACE seconds [10].
# The token, env.sh and the nodes' logs stay in $RAY_LOCAL_STATE.
set -euo pipefail
# a shell that is itself part of the cluster (a job, start.sh cleaning up) must not find itself
if [[ -n "${OPTIMIZER_RAY_LOCAL:-}${OPTIMIZER_RAY_LOCAL_NODE:-}" ]]; then
  exec env -u OPTIMIZER_RAY_LOCAL -u OPTIMIZER_RAY_LOCAL_NODE bash "$0" "$@"
fi

state="${RAY_LOCAL_STATE:-/tmp/optimizer-ray-local}"
grace="${RAY_LOCAL_STOP_GRACE:-10}"
only="${1:-}"
[[ -d "$state" ]] || { echo "stop.sh: nothing recorded in $state"; exit 0; }
state="$(cd "$state" && pwd)"

if [[ -n "$only" ]]; then
  [[ "$only" != head ]] || { echo "stop.sh: the head is stopped with the whole cluster (no argument)" >&2; exit 2; }
  awk -v n="$only" '$1 == n {found = 1} END {exit !found}' "$state/nodes" 2>/dev/null \
    || { echo "stop.sh: no node $only in $state/nodes" >&2; exit 2; }
fi

groups() {  # recorded process groups (of one node, or all: worker nodes first, the head last)
  [[ -s "$state/nodes" ]] || return 0
  if [[ -n "$only" ]]; then
    awk -v n="$only" '$1 == n {print $2}' "$state/nodes"
  else
    awk '$1 != "head" {print $2}' "$state/nodes"
    awk '$1 == "head" {print $2}' "$state/nodes"
  fi
}

# Live (not zombie) processes of the cluster (or of node $only), one PID a line.
members() {
  local gs pid pgid stat env
  gs=" $(groups | tr '\n' ' ') "
  ps -eo pid=,pgid=,stat= | while read -r pid pgid stat; do
    [[ "$stat" == Z* || "$pid" == "$$" ]] && continue
    if [[ "$gs" == *" $pgid "* ]]; then echo "$pid"; continue; fi
    env="/proc/$pid/environ"
    grep -qzx -- "OPTIMIZER_RAY_LOCAL=$state" "$env" 2>/dev/null || continue
    if [[ -n "$only" ]] && ! grep -qzx -- "OPTIMIZER_RAY_LOCAL_NODE=$only" "$env" 2>/dev/null; then
      continue
    fi
    echo "$pid"
  done
  return 0
}

signal_all() {
  local sig="$1" g p
  for g in $(groups); do kill "-$sig" -- "-$g" 2>/dev/null || true; done
  for p in $(members); do kill "-$sig" "$p" 2>/dev/null || true; done
}

if [[ -n "$only" ]]; then
  signal_all KILL
  awk -v n="$only" '$1 != n' "$state/nodes" > "$state/nodes.tmp" && mv "$state/nodes.tmp" "$state/nodes"
  echo "stop.sh: killed node $only"
  exit 0
fi

# Like `ray stop`: the raylets first (their workers go with them), then the rest, the GCS last.
wait_gone() {  # wait_gone PID...: until none of them is alive (or the grace period ends)
  local end=$(( SECONDS + grace )) p alive
  while (( SECONDS < end )); do
    alive=""
    for p in "$@"; do [[ -d "/proc/$p" && "$(ps -o stat= -p "$p" 2>/dev/null)" != Z* ]] && alive=1; done
    [[ -z "$alive" ]] && return 0
    sleep 0.3
  done
}
raylets=()
if [[ -s "$state/nodes" ]]; then
  for p in $(awk '{print $3}' "$state/nodes"); do
    grep -q "raylet" "/proc/$p/cmdline" 2>/dev/null && raylets+=("$p")
  done
fi
if (( ${#raylets[@]} )); then
  kill -TERM "${raylets[@]}" 2>/dev/null || true
  wait_gone "${raylets[@]}"
fi
gcs=()
for p in $(members); do
  if grep -q "gcs_server" "/proc/$p/cmdline" 2>/dev/null; then gcs+=("$p"); else kill -TERM "$p" 2>/dev/null || true; fi
done
# shellcheck disable=SC2046
wait_gone $(members | grep -vxF -f <(printf '%s\n' "${gcs[@]}" 0))
if (( ${#gcs[@]} )); then kill -TERM "${gcs[@]}" 2>/dev/null || true; fi
# shellcheck disable=SC2046
wait_gone $(members)
left="$(members)"
if [[ -n "$left" ]]; then
  signal_all KILL
  sleep 1
fi
left="$(members)"
rm -f "$state/nodes" "$state/nodes.tmp"
if [[ -n "$left" ]]; then
  echo "stop.sh: processes still running: $(echo "$left" | tr '\n' ' ')" >&2
  exit 1
fi
echo "stop.sh: stopped the local cluster in $state"
