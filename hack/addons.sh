#!/usr/bin/env bash
# Optional add-ons on a running test control plane (hack/cluster-up.sh). Without add-ons the
# cluster is vanilla: no cert-manager or Strimzi CRDs. Each add-on can be brought up and torn
# down again on the running cluster:
#
#   hack/addons.sh up <addon>...       install the CRDs, start the process, wait until it is ready
#   hack/addons.sh down <addon>...     stop the process, delete the CRDs (with every object of
#                                      their kinds; waits until gone) and what `up` created
#                                      (namespace cert-manager: deleted in the background)
#   hack/addons.sh status [<addon>...] one line per add-on: "<addon> up|down|partial (...)";
#                                      exit 0 only if all named add-ons are up
#   hack/addons.sh build [<addon>...]  build/cache the binaries and CRDs only (hack/build-addons.sh)
#
# Add-ons ("all" = both):
#   certmanager  cert-manager CRDs (hack/install-crds.sh certmanager) + the real cert-manager
#                controller (hack/certmanager: issuers, clusterissuers, certificates-*,
#                certificaterequests-approver/-issuer-ca/-issuer-selfsigned; SelfSigned and CA
#                issuers only), namespace cert-manager = --cluster-resource-namespace, Secrets owned
#                by their Certificate (--enable-certificate-owner-ref).
#   strimzi      Strimzi's kafka.strimzi.io/v1 CRDs (Kafka, KafkaNodePool, KafkaTopic, KafkaUser;
#                hack/install-crds.sh strimzi) + strimzi-standin (hack/standins), a STAND-IN for
#                Strimzi's operators that makes those resources look reconciled (no Kafka broker).
#
# `up` and `down` are idempotent. Processes run detached with pid files and logs in the state dir
# (pids/addon-<addon>.pid, logs/addon-<addon>.log); hack/cluster-down.sh stops them too.
# Also: SMBP_ADDONS=certmanager,strimzi hack/cluster-up.sh brings them up with the cluster.
#
# Env: SMBP_CLUSTER_DIR, SMBP_CACHE, SMBP_CERTMANAGER_ARGS / SMBP_STRIMZI_STANDIN_ARGS (extra
#      arguments, word-split, e.g. SMBP_CERTMANAGER_ARGS="--metrics-listen-address=127.0.0.1:29402 --v=4").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

ALL_ADDONS=(certmanager strimzi)
CM_NAMESPACE=cert-manager
READY_TIMEOUT=60

log() { echo "addons: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

(($#)) || usage
cmd="$1"; shift
case "$cmd" in up | down | status | build) ;; -h | --help | help) usage ;; *) log "unknown command '$cmd'"; usage ;; esac
addons=()
(($#)) || [[ "$cmd" != up && "$cmd" != down ]] || usage
(($#)) || set -- all
for a in "$@"; do
  case "$a" in
    all) addons+=("${ALL_ADDONS[@]}") ;;
    certmanager | strimzi) addons+=("$a") ;;
    *) log "unknown add-on '$a' (known: ${ALL_ADDONS[*]} all)"; usage ;;
  esac
done

if [[ "$cmd" == build ]]; then
  exec "$HACK_DIR/build-addons.sh" "${addons[@]}"
fi

k() { kubectl_state "$@"; }
[[ -x "$STATE_DIR/bin/kubectl" && -f "$STATE_DIR/kubeconfig" ]] \
  || die "no cluster at $STATE_DIR: run hack/cluster-up.sh first"
[[ "$(k get --raw /readyz --request-timeout=5s 2>/dev/null)" == ok ]] \
  || die "the cluster at $STATE_DIR is not ready (hack/cluster-up.sh)"

# One `up`/`down` at a time per cluster.
if [[ "$cmd" == up || "$cmd" == down ]] && command -v flock >/dev/null; then
  mkdir -p "$STATE_DIR/pids"
  exec 8>"$STATE_DIR/pids/addons.lock"
  flock 8
fi

pidfile() { echo "$STATE_DIR/pids/addon-$1.pid"; }
readyfile() { echo "$STATE_DIR/pids/addon-$1.ready"; }
running() { # running <addon>: its process is alive
  local pid
  pid="$(cat "$(pidfile "$1")" 2>/dev/null)" || return 1
  pid_is_ours "$pid"
}
# crd_names <addon>: the CRDs of the add-on present in the cluster.
crd_names() {
  local re
  case "$1" in
    certmanager) re='\.(acme\.)?cert-manager\.io$' ;;
    strimzi) re='\.kafka\.strimzi\.io$' ;;
  esac
  k get crd -o name | sed 's:^customresourcedefinition.apiextensions.k8s.io/::' | grep -E "$re" || true
}

start_process() { # start_process <addon> <binary> args...
  local addon="$1" bin="$2"; shift 2
  local ready pid deadline
  ready="$(readyfile "$addon")"
  mkdir -p "$STATE_DIR/pids" "$STATE_DIR/logs"
  rm -f "$ready"
  # (8>&-: the process must not inherit, and so hold, the addons lock)
  setsid "$bin" "$@" </dev/null >"$STATE_DIR/logs/addon-$addon.log" 2>&1 8>&- &
  pid=$!
  echo "$pid" > "$(pidfile "$addon")"
  log "started $addon ($(basename "$bin"), pid $pid, log $STATE_DIR/logs/addon-$addon.log)"
  deadline=$((SECONDS + READY_TIMEOUT))
  until [[ -f "$ready" ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$addon exited; last log lines:"
      tail -n 25 "$STATE_DIR/logs/addon-$addon.log" >&2 || true
      die "$addon failed to start"
    fi
    ((SECONDS < deadline)) || die "$addon not ready after ${READY_TIMEOUT}s (see $STATE_DIR/logs/addon-$addon.log)"
    sleep 0.1
  done
}

stop_process() { # stop_process <addon>
  local f pid
  f="$(pidfile "$1")"
  pid="$(cat "$f" 2>/dev/null || true)"
  if pid_is_ours "$pid"; then
    log "stopping $1 (pid $pid)"
    stop_pids "$pid"
  fi
  rm -f "$f" "$(readyfile "$1")"
}

delete_crds() { # delete_crds <addon>: delete its CRDs (the apiserver deletes their objects) and wait
  local crds
  mapfile -t crds < <(crd_names "$1")
  ((${#crds[@]})) || return 0
  k delete crd "${crds[@]}" --wait=false >/dev/null
  k wait --for=delete --timeout=120s "${crds[@]/#/crd/}" >/dev/null 2>&1 \
    || die "CRDs of $1 not deleted after 120s: ${crds[*]} (objects with finalizers left?)"
  log "$1: deleted ${#crds[@]} CRD(s)"
}

wait_namespace_gone() { # wait_namespace_gone <ns>
  if k get namespace "$1" >/dev/null 2>&1; then
    k wait --for=delete --timeout=120s "namespace/$1" >/dev/null 2>&1 || die "namespace $1 not deleted after 120s"
  fi
}

up_certmanager() {
  local dir
  dir="$("$HACK_DIR/build-addons.sh" certmanager | tail -n 1)"
  [[ -x "$dir/bin/cert-manager-controller" ]] || die "build-addons.sh did not produce cert-manager in '$dir'"
  "$HACK_DIR/install-crds.sh" certmanager
  # A namespace still terminating from a previous `down` cannot take the controller's objects.
  if [[ "$(k get namespace "$CM_NAMESPACE" -o jsonpath='{.status.phase}' 2>/dev/null)" == Terminating ]]; then
    wait_namespace_gone "$CM_NAMESPACE"
  fi
  k get namespace "$CM_NAMESPACE" >/dev/null 2>&1 || k create namespace "$CM_NAMESPACE" >/dev/null
  if running certmanager && [[ -f "$(readyfile certmanager)" ]]; then
    log "certmanager: already running (pid $(cat "$(pidfile certmanager)"))"
    return 0
  fi
  stop_process certmanager
  # shellcheck disable=SC2086
  start_process certmanager "$dir/bin/cert-manager-controller" \
    --kubeconfig="$STATE_DIR/kubeconfig" \
    --leader-elect=false \
    --cluster-resource-namespace="$CM_NAMESPACE" \
    --controllers='*' \
    --enable-certificate-owner-ref \
    --ready-file="$(readyfile certmanager)" \
    --v=2 \
    ${SMBP_CERTMANAGER_ARGS:-}
}

down_certmanager() {
  stop_process certmanager
  delete_crds certmanager
  # Not waited for (the namespace controller takes ~5s); `up` waits if it is still terminating.
  k delete namespace "$CM_NAMESPACE" --ignore-not-found --wait=false >/dev/null
}

up_strimzi() {
  local dir
  dir="$("$HACK_DIR/build-addons.sh" strimzi | tail -n 1)"
  [[ -x "$dir/bin/strimzi-standin" ]] || die "build-addons.sh did not produce strimzi-standin in '$dir'"
  "$HACK_DIR/install-crds.sh" strimzi
  if running strimzi && [[ -f "$(readyfile strimzi)" ]]; then
    log "strimzi: already running (pid $(cat "$(pidfile strimzi)"))"
    return 0
  fi
  stop_process strimzi
  # shellcheck disable=SC2086
  start_process strimzi "$dir/bin/strimzi-standin" \
    --kubeconfig="$STATE_DIR/kubeconfig" \
    --ready-file="$(readyfile strimzi)" \
    ${SMBP_STRIMZI_STANDIN_ARGS:-}
}

down_strimzi() {
  stop_process strimzi
  # With the stand-in gone nothing removes its strimzi.io/topic-operator finalizers (as when
  # Strimzi is uninstalled first): drop them, or deleting the CRDs would hang.
  if [[ -n "$(crd_names strimzi | grep -x kafkatopics.kafka.strimzi.io || true)" ]]; then
    local t
    while read -r t; do
      [[ -n "$t" ]] || continue
      k patch -n "${t%%/*}" kafkatopic "${t#*/}" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
    done < <(k get kafkatopics.kafka.strimzi.io -A \
      -o jsonpath='{range .items[?(@.metadata.finalizers)]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}')
  fi
  delete_crds strimzi
}

status_of() { # status_of <addon>: prints a line, returns 0 if up
  local crds proc=stopped
  mapfile -t crds < <(crd_names "$1")
  if running "$1"; then proc="running pid $(cat "$(pidfile "$1")")"; fi
  if ((${#crds[@]})) && [[ "$proc" == running* ]]; then
    echo "$1 up (${#crds[@]} CRDs, $proc)"
    return 0
  elif ((${#crds[@]} == 0)) && [[ "$proc" == stopped ]]; then
    echo "$1 down"
  else
    echo "$1 partial (${#crds[@]} CRDs, process $proc)"
  fi
  return 1
}

rc=0
for addon in "${addons[@]}"; do
  t0=$SECONDS
  case "$cmd" in
    up) "up_$addon"; log "$addon up in $((SECONDS - t0))s" ;;
    down) "down_$addon"; log "$addon down in $((SECONDS - t0))s" ;;
    status) status_of "$addon" || rc=1 ;;
  esac
done
exit "$rc"
