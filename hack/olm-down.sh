#!/usr/bin/env bash
# Stop what hack/olm-up.sh started on the test control plane (both opm serve processes, OLM's
# olm and catalog operators) and delete what it created: the CatalogSource, OLM's objects of every kind, the
# namespaces olm and operators, and OLM's CRDs. CRDs installed through OLM (bigpeers.smbp.io)
# are left alone, as OLM itself leaves them. Idempotent; a stopped cluster is fine
# (hack/cluster-down.sh also stops these processes).
# Env: SMBP_CLUSTER_DIR, KEEP_CRDS=1 (keep OLM's CRDs and objects, only stop the processes).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

log() { echo "olm-down: $*" >&2; }

for p in catalog olm opm opm-openshift; do
  f="$STATE_DIR/pids/olm-$p.pid"
  [[ -f "$f" ]] || continue
  pid="$(cat "$f" 2>/dev/null || true)"
  if pid_is_ours "$pid"; then
    log "stopping $p (pid $pid)"
    stop_pids "$pid"
  fi
  rm -f "$f"
done

k() { kubectl_state "$@"; }
if [[ "${KEEP_CRDS:-0}" == 1 || ! -x "$STATE_DIR/bin/kubectl" ]] \
  || [[ "$(k get --raw /readyz --request-timeout=5s 2>/dev/null)" != ok ]]; then
  log "processes stopped (cluster objects left as they are)"
  exit 0
fi
# With OLM stopped nothing recreates these. Objects of OLM's kinds may carry OLM finalizers
# (Operators, ...): drop them so that the CRDs can go.
mapfile -t crds < <(k get crd -o name | grep '\.operators\.coreos\.com$' || true)
for crd in "${crds[@]}"; do
  kind="${crd#customresourcedefinition.apiextensions.k8s.io/}"
  for o in $(k get "$kind" -A -o jsonpath='{range .items[*]}{.metadata.namespace}{"/"}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
    ns="${o%%/*}"; name="${o#*/}"
    k patch "$kind" "$name" ${ns:+-n "$ns"} --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
  done
done
((${#crds[@]} == 0)) || k delete "${crds[@]}" --wait=true --timeout=60s >/dev/null
k delete namespace olm operators --ignore-not-found --wait=false >/dev/null
rm -rf "$STATE_DIR/olm"
log "OLM stopped; its CRDs, objects and namespaces deleted"
