#!/usr/bin/env bash
# `make run`: the operator on the local control plane with a sample BigPeer.
# Installs the CRD, creates a restricted namespace with the Secrets the sample needs, starts
# the operator in the foreground (Ctrl-C stops it) and prints the BigPeer's status.
set -euo pipefail
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
state="${SMBP_CLUSTER_DIR:-$repo/.cache/cluster}"
source "$state/env"
ns=bigpeer-demo
bin="${SMBP_OPERATOR_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/smbp-operator}"

"$bin" crd | kubectl apply --server-side --force-conflicts -f - >/dev/null
# A local webhook left behind by a run that was killed points at no one and would refuse every
# BigPeer write (failurePolicy Fail): this run registers its own.
kubectl delete validatingwebhookconfiguration smbp-operator-local --ignore-not-found >/dev/null
kubectl wait --for=condition=Established crd/bigpeers.smbp.io --timeout=30s >/dev/null
kubectl get ns "$ns" >/dev/null 2>&1 || kubectl create ns "$ns"
kubectl label ns "$ns" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
for k in ca in-band jwt; do
  kubectl -n "$ns" get secret "demo-$k" >/dev/null 2>&1 || kubectl -n "$ns" create secret generic "demo-$k" \
    --from-literal=tls.crt=demo --from-literal=tls.key=demo --from-literal=ca.crt=demo >/dev/null
done
kubectl -n "$ns" get secret kafka-creds >/dev/null 2>&1 || kubectl -n "$ns" create secret generic kafka-creds \
  --from-literal=username=demo --from-literal=password=demo >/dev/null
kubectl apply --server-side -f - <<YAML
apiVersion: smbp.io/v1alpha1
kind: BigPeer
metadata: {name: demo, namespace: $ns}
spec:
  version: "1.59.0"
  store: {replicas: 3, replicationFactor: 2, minimumReplicationFactor: 1, storage: {size: 1Gi}}
  subscription: {replicas: 2}
  api: {replicas: 1}
  transactionLog:
    external:
      bootstrapServers: ["kafka.example:9092"]
      sasl: {secretRef: {name: kafka-creds}}
  auth:
    keys: {secrets: {ca: {name: demo-ca}, inBand: {name: demo-in-band}, jwt: {name: demo-jwt}}}
YAML

# A ServiceAccount allowed to use the management API on the demo namespace (what a team's Role
# would grant: apps, keys, and reading Secrets for anonymous providers' shared tokens); its token
# is printed below and kept in $state/api-token.
kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: api-demo, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bigpeer-apps, namespace: $ns}
rules:
- apiGroups: [smbp.io]
  resources: [bigpeerapps, bigpeerapikeys]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api-demo, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: bigpeer-apps}
subjects: [{kind: ServiceAccount, name: api-demo, namespace: $ns}]
YAML
kubectl -n "$ns" create token api-demo --duration=24h >"$state/api-token"

# Plain HTTP metrics for a local run (the Deployments serve them over HTTPS with --metrics-secure).
# SMBP_RUN_METRICS_ADDRESS / SMBP_RUN_HEALTH_ADDRESS move them when 8080/8081 are taken.
# The admission webhook is served on 127.0.0.1 with a certificate made for the run and registered
# as the ValidatingWebhookConfiguration smbp-operator-local, removed when the operator stops
# (SMBP_RUN_WEBHOOK_PORT moves it when 9443 is taken). The management API is served over HTTPS
# with a self-signed certificate and bearer-token authentication, as installed operators serve it
# (SMBP_RUN_API_PORT moves it when 9444 is taken).
metrics_addr="${SMBP_RUN_METRICS_ADDRESS:-127.0.0.1:8080}"
health_addr="${SMBP_RUN_HEALTH_ADDRESS:-127.0.0.1:8081}"
webhook_addr="127.0.0.1:${SMBP_RUN_WEBHOOK_PORT:-9443}"
api_addr="127.0.0.1:${SMBP_RUN_API_PORT:-9444}"
LOG_FORMAT=text LEADER_ELECT=false METRICS_SECURE=false METRICS_BIND_ADDRESS="$metrics_addr" \
  HEALTH_PROBE_BIND_ADDRESS="$health_addr" WEBHOOK_BIND_ADDRESS="$webhook_addr" WEBHOOK_REGISTER_LOCAL=true \
  API_BIND_ADDRESS="$api_addr" "$bin" run &
op=$!
trap 'kill $op 2>/dev/null; wait $op 2>/dev/null' EXIT INT TERM
kubectl -n "$ns" wait bigpeer/demo --for=condition=Ready --timeout=180s
kubectl -n "$ns" get bigpeer,statefulset,deployment,pods,pvc
cat <<MSG

The operator runs against the local control plane (metrics: http://$metrics_addr/metrics,
probes: http://$health_addr/healthz and /readyz, admission webhook: https://$webhook_addr).

Management API: https://$api_addr/namespace/$ns/bigPeer/demo/app (self-signed certificate: -k),
as ServiceAccount $ns/api-demo (valid 24 h), whose token is in $state/api-token:
  TOKEN=$(cat "$state/api-token")
  curl -sk -H "Authorization: Bearer \$TOKEN" https://$api_addr/namespace/$ns/bigPeer/demo/app \\
    -d '{"name": "my-app"}'
  curl -sk -H "Authorization: Bearer \$TOKEN" https://$api_addr/namespace/$ns/bigPeer/demo/app/my-app/apiKey \\
    -d '{"name": "my-key", "expiresAt": "2100-01-01T00:00:00Z", "permissions": {"read": {"everything": true}, "write": {"everything": true}}}'
(docs/user/management-api.md). Its OpenAPI document: https://$api_addr/openapi.json

Try:  source $state/env && kubectl -n $ns edit bigpeer demo
Ctrl-C stops the operator; 'make cluster-down' stops the control plane.
MSG
wait $op
