#!/usr/bin/env bash
# Smoke-test a running test control plane (hack/cluster-up.sh):
#  - a Deployment (3 replicas) and a StatefulSet with a volumeClaimTemplate become Ready/Bound in a
#    namespace enforcing the "restricted" Pod Security Standard (with compliant pods);
#  - the Deployment's pods spread over the three zones;
#  - a pod with a "fail-" image stays unready with an image-pull error;
#  - a PVC expansion is reflected on the PV and the PVC;
#  - deleting the namespace deletes everything (pods, PVCs, the provisioned PVs).
# Prints "N passed, N failed" at the end; exits non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

NS="${SMBP_SELFTEST_NS:-smbp-selftest}"
passed=0 failed=0
log() { echo "selftest: $*" >&2; }
ok() { passed=$((passed + 1)); log "PASS $*"; }
ko() { failed=$((failed + 1)); log "FAIL $*"; }
k() { kubectl_state "$@"; }
# check <description> <timeout s> <command...>: poll until the command succeeds.
check() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout)) t=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then ko "$what (timed out after ${timeout}s)"; return 0; fi
    sleep 0.5
  done
  ok "$what ($((SECONDS - t))s)"
}

[[ "$(k get --raw /readyz 2>/dev/null)" == ok ]] || { log "cluster is not up: run hack/cluster-up.sh"; exit 1; }

k delete namespace "$NS" --ignore-not-found --wait=true >/dev/null
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
EOF
check "default ServiceAccount exists in $NS" 60 k -n "$NS" get serviceaccount default

# A non-compliant pod must be rejected by PodSecurity.
if k -n "$NS" run psa-probe --image=registry.example/app:1 --restart=Never >/dev/null 2>&1; then
  ko "PodSecurity restricted rejects a non-compliant pod"
else
  ok "PodSecurity restricted rejects a non-compliant pod"
fi

pod_template() { # pod_template <indent> <image>
  sed "s/^/$1/" <<EOF
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  seccompProfile: {type: RuntimeDefault}
containers:
- name: app
  image: $2
  resources:
    requests: {cpu: 100m, memory: 128Mi}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}
EOF
}

k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: web}}
$(pod_template "      " registry.example/web:1.0)
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
$(pod_template "      " registry.example/db:1.0)
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
$(pod_template "  " registry.example/fail-image:1.0)
EOF

deploy_ready() { [[ "$(k -n "$NS" get deploy web -o jsonpath='{.status.readyReplicas}')" == 3 ]]; }
sts_ready() { [[ "$(k -n "$NS" get sts db -o jsonpath='{.status.readyReplicas}')" == 3 ]]; }
pvcs_bound() {
  local phases; phases="$(k -n "$NS" get pvc -l app=db -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}')"
  [[ "$(grep -c '^Bound$' <<<"$phases")" == 3 ]]
}
check "Deployment web has 3 ready replicas" 90 deploy_ready
check "StatefulSet db PVCs are Bound (3)" 90 pvcs_bound
check "StatefulSet db has 3 ready replicas" 120 sts_ready

zones="$(k -n "$NS" get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' \
  | xargs -r -I{} "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" get node {} \
      -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/zone}{"\n"}' | sort -u | tr '\n' ' ')"
if [[ "$zones" == "zone-a zone-b zone-c " ]]; then ok "web pods spread over 3 zones ($zones)"; else ko "web pods spread over 3 zones (got: $zones)"; fi

pv="$(k -n "$NS" get pvc data-db-0 -o jsonpath='{.spec.volumeName}')"
pv_ok() {
  [[ "$(k get pv "$pv" -o jsonpath='{.spec.storageClassName}/{.spec.persistentVolumeReclaimPolicy}/{.spec.capacity.storage}/{.spec.claimRef.name}/{.spec.hostPath.path}')" == standard/Delete/1Gi/data-db-0/"$STATE_DIR"/volumes/* ]]
}
check "PV $pv: class standard, Delete, 1Gi, claimRef data-db-0, hostPath in state dir" 5 pv_ok

broken_pulling() {
  [[ "$(k -n "$NS" get pod broken -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')" =~ ^(ErrImagePull|ImagePullBackOff)$ ]]
}
check "pod with a fail- image reports ErrImagePull/ImagePullBackOff" 60 broken_pulling
sleep 5
status="$(k -n "$NS" get pod broken -o jsonpath='{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}/{.status.containerStatuses[0].state.waiting.reason}')"
if [[ "$status" == Pending/False/ImagePullBackOff ]]; then ok "pod with a fail- image stays unready ($status)"; else ko "pod with a fail- image stays unready (got $status)"; fi

k -n "$NS" patch pvc data-db-0 --type=merge -p '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}' >/dev/null
expanded() {
  [[ "$(k get pv "$pv" -o jsonpath='{.spec.capacity.storage}')" == 2Gi &&
     "$(k -n "$NS" get pvc data-db-0 -o jsonpath='{.status.capacity.storage}')" == 2Gi ]]
}
check "PVC data-db-0 expanded to 2Gi (PV and PVC status)" 30 expanded

# Rolling update of the Deployment completes.
k -n "$NS" set image deploy/web app=registry.example/web:1.1 >/dev/null
rolled() {
  [[ "$(k -n "$NS" get deploy web -o jsonpath='{.status.updatedReplicas}/{.status.readyReplicas}/{.status.replicas}')" == 3/3/3 ]]
}
check "Deployment rolling update to web:1.1 completes" 90 rolled

mapfile -t pvs < <(k get pv -o jsonpath='{range .items[?(@.spec.claimRef.namespace=="'"$NS"'")]}{.metadata.name}{"\n"}{end}')
k delete namespace "$NS" --wait=false >/dev/null
ns_gone() { ! k get namespace "$NS" >/dev/null 2>&1; }
check "namespace $NS (pods, PVCs) deleted" 120 ns_gone
pvs_gone() {
  local p
  for p in "${pvs[@]}"; do if k get pv "$p" >/dev/null 2>&1; then return 1; fi; done
}
check "released PVs deleted (${#pvs[@]})" 60 pvs_gone
vols_gone() { [[ -z "$(ls -A "$STATE_DIR/volumes" 2>/dev/null)" ]]; }
check "hostPath volume directories removed" 10 vols_gone

echo "$passed passed, $failed failed"
((failed == 0))
