#!/usr/bin/env bash
# Stop the test control plane started by hack/cluster-up.sh and remove its state directory
# (${SMBP_CLUSTER_DIR:-<repo>/.cache/cluster}) unless KEEP_STATE=1. Idempotent.
#
# Only processes started for this state dir are touched: those in its pid files (add-ons from
# hack/addons.sh first, then the control plane), plus any leftover whose command line names the
# state dir and whose executable is a cached controlplane, kwok or add-on binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

log() { echo "cluster-down: $*" >&2; }

stopped=0
# Add-ons, then the control plane in reverse start order: clients first, etcd last.
order=("${ADDON_PROCESSES[@]}")
for ((i = ${#CLUSTER_COMPONENTS[@]} - 1; i >= 0; i--)); do order+=("${CLUSTER_COMPONENTS[$i]}"); done
for c in "${order[@]}"; do
  f="$STATE_DIR/pids/$c.pid"
  [[ -f "$f" ]] || continue
  pid="$(cat "$f" 2>/dev/null || true)"
  if pid_is_ours "$pid"; then
    log "stopping $c (pid $pid)"
    stop_pids "$pid"
    stopped=$((stopped + 1))
  fi
  rm -f "$f" "$STATE_DIR/pids/$c.ready"
done

# Anything left over (a pid file lost, a crashed cluster-up, ...).
mapfile -t leftovers < <(our_pids)
if ((${#leftovers[@]})); then
  log "stopping leftover processes: ${leftovers[*]}"
  stop_pids "${leftovers[@]}"
  sleep 0.2
fi
mapfile -t leftovers < <(our_pids)
if ((${#leftovers[@]})); then
  log "ERROR: processes still running: ${leftovers[*]}"
  exit 1
fi

if [[ "${KEEP_STATE:-0}" == 1 ]]; then
  log "stopped $stopped component(s); state kept in $STATE_DIR"
elif [[ -d "$STATE_DIR" ]]; then
  rm -rf "$STATE_DIR"
  log "stopped $stopped component(s); removed $STATE_DIR"
else
  log "nothing to do (no state at $STATE_DIR)"
fi
