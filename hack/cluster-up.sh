#!/usr/bin/env bash
# Start a real Kubernetes control plane for tests on 127.0.0.1, without containers:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (fake nodes and pods)
# and fake-provisioner (hostPath PVs for StorageClass "standard"), one process each.
#
# State (certs, kubeconfigs, etcd data, logs, pids) lives in
#   ${SMBP_CLUSTER_DIR:-<repo>/.cache/cluster}
# Idempotent: if the cluster is already up and healthy it only prints how to use it.
# Stop it with hack/cluster-down.sh.
#
# Optional add-ons (none by default: the cluster has no cert-manager or Strimzi CRDs):
#   SMBP_ADDONS=certmanager,strimzi  also runs `hack/addons.sh up <those>` (see hack/addons.sh;
#   add-ons can also be brought up and down later on the running cluster).
#
# Kubernetes version: SMBP_K8S_VERSION=<major.minor> (e.g. 1.31, 1.34; default the newest; `make
# cluster-up K8S=1.31`); older versions are built by hack/build-controlplane.sh from
# hack/controlplane-<major.minor>/. A cluster already running another version is not replaced: stop
# it first (hack/cluster-down.sh) or give the new one its own SMBP_CLUSTER_DIR.
#
# Env: SMBP_CLUSTER_DIR, SMBP_CACHE (binary cache root), SMBP_NODES (default 6, 2 per zone),
#      ports SMBP_ETCD_PORT (23791) SMBP_ETCD_PEER_PORT (23801) SMBP_APISERVER_PORT (26443)
#      SMBP_KCM_PORT (26257) SMBP_SCHEDULER_PORT (26259) SMBP_KWOK_PORT (26080),
#      SMBP_POD_CIDR (10.244.0.0/16: kwok's pod IPs; give a side cluster its own range so that pod IPs
#      put on lo by a test, e.g. tests/install, cannot collide with another cluster's).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

NODES="${SMBP_NODES:-6}"
ZONES=(zone-a zone-b zone-c)
REGION="region-1"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1" # first IP of SERVICE_CIDR: the "kubernetes" Service
POD_CIDR="${SMBP_POD_CIDR:-10.244.0.0/16}"

log() { echo "cluster-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
t0=$SECONDS

usage() {
  cat <<EOF
Cluster is up (Kubernetes $(sed -n 's/^k8s=//p' "$STATE_DIR/bin/../versions" 2>/dev/null), kwok fake nodes).
  API server:  https://127.0.0.1:$APISERVER_PORT
  kubeconfig:  $STATE_DIR/kubeconfig   (admin, system:masters)
  logs, pids:  $STATE_DIR/logs/  $STATE_DIR/pids/
Use it:
  export KUBECONFIG=$STATE_DIR/kubeconfig
  # or, also putting kubectl on PATH:
  source $STATE_DIR/env
  kubectl get nodes
Add-ons:  hack/addons.sh up|down|status certmanager strimzi
Stop it:  hack/cluster-down.sh   (KEEP_STATE=1 keeps $STATE_DIR)
EOF
}

healthy() {
  [[ -f "$STATE_DIR/kubeconfig" && -x "$STATE_DIR/bin/kubectl" ]] || return 1
  local c pid
  for c in "${CLUSTER_COMPONENTS[@]}"; do
    pid="$(cat "$STATE_DIR/pids/$c.pid" 2>/dev/null)" || return 1
    pid_is_ours "$pid" || return 1
  done
  [[ "$(kubectl_state get --raw /readyz --request-timeout=5s 2>/dev/null)" == ok ]]
}

start_addons() {
  local addons="${SMBP_ADDONS:-}"
  addons="${addons//,/ }"
  [[ -n "${addons// /}" ]] || return 0
  # shellcheck disable=SC2086
  "$HACK_DIR/addons.sh" up $addons
}

if healthy; then
  if [[ "$(running_k8s_minor)" != "$(wanted_k8s_minor)" ]]; then
    die "the cluster in $STATE_DIR runs Kubernetes $(running_k8s_minor), not $(wanted_k8s_minor): stop it first (hack/cluster-down.sh) or use another SMBP_CLUSTER_DIR"
  fi
  log "already running and healthy"
  start_addons
  usage
  exit 0
fi

if [[ -d "$STATE_DIR/pids" ]] || [[ -n "$(our_pids)" ]]; then
  log "found a stale or partial cluster in $STATE_DIR: tearing it down first"
  "$HACK_DIR/cluster-down.sh" >&2
fi

command -v openssl >/dev/null || die "openssl is required (Debian: apt-get install openssl)"

# Ports must be free.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KWOK_PORT"; do
  if port_in_use "$p"; then
    die "port 127.0.0.1:$p is already in use (override with SMBP_*_PORT, see the header of $0)"
  fi
done

BIN="$("$HACK_DIR/build-controlplane.sh" | tail -n 1)"
[[ -x "$BIN/kube-apiserver" ]] || die "build-controlplane.sh did not produce binaries in '$BIN'"
STAGES="$BIN/../kwok-stages.yaml"
K8S_VERSION="$(sed -n 's/^k8s=//p' "$BIN/../versions")"

mkdir -p "$STATE_DIR"/{pki,pids,logs,etcd,volumes}
chmod 700 "$STATE_DIR/pki"
ln -sfn "$BIN" "$STATE_DIR/bin"

# On failure, stop whatever was started but keep the state (logs) for debugging.
on_exit() {
  local rc=$?
  ((rc != 0)) || return 0
  log "FAILED (exit $rc); stopping what was started, state kept in $STATE_DIR (logs in $STATE_DIR/logs)"
  KEEP_STATE=1 "$HACK_DIR/cluster-down.sh" >&2 || true
  exit "$rc"
}
trap on_exit EXIT

# ---------------------------------------------------------------------------------------------
# PKI (openssl only). Everything is regenerated on each fresh start.
PKI="$STATE_DIR/pki"
gen_ca() { # gen_ca <name> <CN>
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}
gen_cert() { # gen_cert <name> <ca> <subject> <extendedKeyUsage> [subjectAltName]
  local name="$1" ca="$2" subj="$3" eku="$4" san="${5:-}"
  openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
    -subj "$subj" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -z "$san" ]] || echo "subjectAltName=$san"
  } > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
log "generating certificates"
gen_ca ca "smbp-test-ca"
gen_ca front-proxy-ca "smbp-test-front-proxy-ca"
gen_cert apiserver ca "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
gen_cert admin ca "/O=system:masters/CN=kubernetes-admin" clientAuth
gen_cert kube-controller-manager ca "/O=system:masters/CN=system:kube-controller-manager" clientAuth
gen_cert kube-scheduler ca "/CN=system:kube-scheduler" clientAuth
gen_cert kwok ca "/O=system:masters/CN=kwok-controller" clientAuth
gen_cert fake-provisioner ca "/O=system:masters/CN=fake-provisioner" clientAuth
gen_cert front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
chmod 600 "$PKI"/*.key

b64() { base64 -w0 < "$1"; }
write_kubeconfig() { # write_kubeconfig <file> <cert name> <user>
  local umask_old; umask_old="$(umask)"; umask 077
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: smbp-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $3
  user:
    client-certificate-data: $(b64 "$PKI/$2.crt")
    client-key-data: $(b64 "$PKI/$2.key")
contexts:
- name: smbp-test
  context:
    cluster: smbp-test
    user: $3
current-context: smbp-test
EOF
  umask "$umask_old"
}
write_kubeconfig "$STATE_DIR/kubeconfig" admin kubernetes-admin
# For the controller-manager's and scheduler's /healthz (self-signed serving certs): admin client
# cert, server verification off, server given per call.
write_kubeconfig "$STATE_DIR/healthz.kubeconfig" admin kubernetes-admin
sed -i 's/^    certificate-authority-data: .*/    insecure-skip-tls-verify: true/' "$STATE_DIR/healthz.kubeconfig"
for c in kube-controller-manager kube-scheduler kwok fake-provisioner; do
  write_kubeconfig "$STATE_DIR/$c.kubeconfig" "$c" "$c"
done

cat > "$STATE_DIR/env" <<EOF
# source this file: kubectl & co. on PATH, KUBECONFIG pointing at the test cluster
export SMBP_CLUSTER_DIR="$STATE_DIR"
export KUBECONFIG="$STATE_DIR/kubeconfig"
export PATH="$BIN:\$PATH"
EOF

# ---------------------------------------------------------------------------------------------
# Processes. Each runs detached (own session), with its pid and log in the state dir.
start() { # start <name> <binary> args...
  local name="$1" bin="$2"; shift 2
  setsid "$bin" "$@" </dev/null >"$STATE_DIR/logs/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" > "$STATE_DIR/pids/$name.pid"
  log "started $name (pid $pid)"
}
alive() { # alive <name>: fail with the log tail if the process died
  local pid; pid="$(cat "$STATE_DIR/pids/$1.pid")"
  if ! kill -0 "$pid" 2>/dev/null; then
    log "$1 exited; last log lines ($STATE_DIR/logs/$1.log):"
    tail -n 25 "$STATE_DIR/logs/$1.log" >&2 || true
    return 1
  fi
}
wait_for() { # wait_for <what> <timeout s> <component to watch> <command...>
  local what="$1" timeout="$2" comp="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    alive "$comp" || die "$comp died while waiting for $what"
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what (see $STATE_DIR/logs/$comp.log)"
    sleep 0.2
  done
}

start etcd "$BIN/etcd" \
  --name=smbp-test \
  --data-dir="$STATE_DIR/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="smbp-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state=new \
  --unsafe-no-fsync \
  --log-level=warn
http_get() { # http_get <http://host:port/path>: plain-HTTP GET on loopback without needing curl
  local hostport="${1#http://}"; hostport="${hostport%%/*}"
  local path="/${1#http://*/}"
  (
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
    timeout 5 cat <&3
  ) 2>/dev/null
}
etcd_healthy() { [[ "$(http_get "http://127.0.0.1:$ETCD_PORT/health")" == *'"health":"true"'* ]]; }
wait_for "etcd health" 60 etcd etcd_healthy

# --enable-aggregator-routing: the API server calls a Service-backed webhook (OLM's, kustomize's) at
# one of the Service's endpoints instead of its ClusterIP, which nothing routes here (no kube-proxy).
# A packaging test puts the operator pod's (kwok) IP on lo and serves the webhook there from a local
# process, so the API server's own Service resolution, TLS name and caBundle checks are exercised.
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$APISERVER_PORT" \
  --cert-dir="$STATE_DIR/pki" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --authorization-mode=Node,RBAC \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --endpoint-reconciler-type=none \
  --enable-aggregator-routing=true \
  --allow-privileged=false \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --profiling=false \
  --v=1
apiserver_ready() { [[ "$(kubectl_state get --raw /readyz --request-timeout=3s)" == ok ]]; }
wait_for "kube-apiserver /readyz" 120 kube-apiserver apiserver_ready

KCM_CONTROLLERS="*,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller,-node-ipam-controller"
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$STATE_DIR/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE_DIR/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE_DIR/kube-controller-manager.kubeconfig" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --cert-dir="$STATE_DIR/pki/kube-controller-manager" \
  --service-account-private-key-file="$PKI/sa.key" \
  --root-ca-file="$PKI/ca.crt" \
  --use-service-account-credentials=false \
  --cluster-signing-cert-file="$PKI/ca.crt" \
  --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --controllers="$KCM_CONTROLLERS" \
  --profiling=false \
  --v=1

start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$STATE_DIR/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE_DIR/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE_DIR/kube-scheduler.kubeconfig" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHEDULER_PORT" \
  --cert-dir="$STATE_DIR/pki/kube-scheduler" \
  --profiling=false \
  --v=1

start kwok "$BIN/kwok" \
  --kubeconfig="$STATE_DIR/kwok.kubeconfig" \
  --config="$STAGES" \
  --manage-all-nodes=false \
  --manage-nodes-with-label-selector=type=kwok \
  --server-address="127.0.0.1:$KWOK_PORT" \
  --cidr="$POD_CIDR" \
  --node-lease-duration-seconds=40

start fake-provisioner "$BIN/fake-provisioner" \
  --kubeconfig="$STATE_DIR/fake-provisioner.kubeconfig" \
  --provisioner=smbp.io/fake \
  --volume-dir="$STATE_DIR/volumes"

# ---------------------------------------------------------------------------------------------
# Cluster objects: StorageClass "standard" and the fake nodes.
log "creating StorageClass standard and $NODES kwok nodes"
nodes_yaml() {
  local i zone name
  for ((i = 0; i < NODES; i++)); do
    zone="${ZONES[$((i % ${#ZONES[@]}))]}"
    name="kwok-${zone}-$((i / ${#ZONES[@]} + 1))"
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node.kubernetes.io/instance-type: kwok-large
    topology.kubernetes.io/zone: $zone
    topology.kubernetes.io/region: $REGION
spec: {}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: $K8S_VERSION
EOF
  done
}
apply_objects() {
  {
    cat <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: smbp.io/fake
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
EOF
    nodes_yaml
  } | kubectl_state apply -f - >/dev/null
}
wait_for "StorageClass and nodes to be created" 60 kube-apiserver apply_objects

nodes_ready() {
  local n
  n="$(kubectl_state get nodes -l type=kwok \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')"
  ((n >= NODES))
}
wait_for "$NODES kwok nodes to become Ready" 120 kwok nodes_ready
healthz() { # healthz <port>
  [[ "$("$BIN/kubectl" --kubeconfig "$STATE_DIR/healthz.kubeconfig" --server "https://127.0.0.1:$1" \
    get --raw /healthz --request-timeout=3s)" == ok ]]
}
wait_for "kube-controller-manager /healthz" 60 kube-controller-manager healthz "$KCM_PORT"
wait_for "kube-scheduler /healthz" 60 kube-scheduler healthz "$SCHEDULER_PORT"
default_sa() { kubectl_state -n default get serviceaccount default; }
wait_for "the default ServiceAccount (controller-manager up)" 120 kube-controller-manager default_sa
for c in "${CLUSTER_COMPONENTS[@]}"; do alive "$c" || die "$c is not running"; done

log "cluster ready in $((SECONDS - t0))s"
start_addons
trap - EXIT
usage
