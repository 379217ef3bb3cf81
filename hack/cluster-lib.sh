# shellcheck shell=bash disable=SC2034 # the variables are read by the scripts that source this file
# Shared settings for hack/cluster-up.sh, cluster-down.sh, cluster-selftest.sh and install-crds.sh.
# Sourced, not executed.

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(git -C "$HACK_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$HACK_DIR/.." && pwd))"
STATE_DIR="${SMBP_CLUSTER_DIR:-$REPO_ROOT/.cache/cluster}"

# Loopback ports (override through the environment).
ETCD_PORT="${SMBP_ETCD_PORT:-23791}"
ETCD_PEER_PORT="${SMBP_ETCD_PEER_PORT:-23801}"
APISERVER_PORT="${SMBP_APISERVER_PORT:-26443}"
KCM_PORT="${SMBP_KCM_PORT:-26257}"
SCHEDULER_PORT="${SMBP_SCHEDULER_PORT:-26259}"
KWOK_PORT="${SMBP_KWOK_PORT:-26080}"

# The Kubernetes version to run, as <major>.<minor>: SMBP_K8S_VERSION (e.g. 1.31; hack/controlplane-1.31
# must exist), else the newest (hack/controlplane). See hack/build-controlplane.sh.
wanted_k8s_minor() {
  local v="${SMBP_K8S_VERSION:-}"
  [[ -n "$v" ]] || v="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$HACK_DIR/controlplane/go.mod")"
  v="${v#v}"
  echo "$v" | cut -d. -f1,2
}
# running_k8s_minor: the <major>.<minor> of the control plane build the state dir runs (empty if none).
running_k8s_minor() {
  local v
  v="$(sed -n 's/^k8s=v//p' "$STATE_DIR/bin/../versions" 2>/dev/null)" || true
  echo "$v" | cut -d. -f1,2
}

# Start order; cluster-down stops in reverse.
CLUSTER_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok fake-provisioner)
# Optional add-on processes (hack/addons.sh; pid files pids/<name>.pid); cluster-down stops them first.
ADDON_PROCESSES=(addon-certmanager addon-strimzi)

# pid_is_ours <pid>: the process exists and was started by us for this state dir
# (its command line mentions the state dir, and it runs one of the cached binaries: the control
# plane, kwok, or an add-on from hack/build-addons.sh).
pid_is_ours() {
  local pid="$1" cmdline exe
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmdline="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$STATE_DIR"* ]] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  # (" (deleted)" is appended when the cached binary was replaced since the process started)
  exe="${exe% (deleted)}"
  case "$exe" in
    */controlplane | */kwok | */cert-manager-controller | */strimzi-standin | */olm | */catalog | */opm) return 0 ;;
  esac
  return 1
}

# our_pids: every live process started for this state dir, whether or not a pid file remains.
our_pids() {
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    if pid_is_ours "$pid"; then echo "$pid"; fi
  done
}

# stop_pids <pid>...: SIGTERM those that are ours, wait up to 10s, then SIGKILL whatever is left.
stop_pids() {
  local pid pids=() deadline
  for pid in "$@"; do
    if pid_is_ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  ((${#pids[@]})) || return 0
  deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    local left=()
    for pid in "${pids[@]}"; do
      if pid_is_ours "$pid"; then left+=("$pid"); fi
    done
    ((${#left[@]})) || return 0
    pids=("${left[@]}")
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if pid_is_ours "$pid"; then
      echo "pid $pid did not stop after SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

kubectl_state() { "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" "$@"; }
