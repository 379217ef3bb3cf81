#!/usr/bin/env bash
# Run OLM v0 (its real `olm` and `catalog` operators, built from Go modules by
# hack/olm/build-tools.sh) out of cluster against the test control plane (hack/cluster-up.sh),
# and serve test catalogs of this repository's bundles with the real `opm serve` on loopback:
#
#   hack/olm-up.sh      install OLM's CRDs (github.com/operator-framework/api v0.45.0), create
#                       namespaces olm and operators, the global OperatorGroup in operators,
#                       build the test catalogs, start opm (one per catalog), olm and catalog,
#                       create the CatalogSources olm/smbp-catalog and olm/smbp-catalog-openshift
#                       with spec.address 127.0.0.1:<port>, wait until both are READY
#   hack/olm-down.sh    stop them and delete what olm-up created (CRDs of OLM included)
#
# Each test catalog holds the previous release, rendered from the immutable
# releases/<N-1>/bundle, and a current bundle rendered with `opm render` (manifests inlined as
# olm.bundle.object, so catalog-operator installs them without a bundle-unpack Job or any image),
# plus the olm.package and olm.channel documents of the committed catalog/ (stable, candidate):
#   <state>/olm/catalog            current = bundle/ (community), served as smbp-catalog
#   <state>/olm/catalog-openshift  current = bundle-openshift/ (with the ServiceMonitor and
#                                  PrometheusRule), served as smbp-catalog-openshift
# The bundles keep `image: ""`: OLM installs a bundle's inline objects only when it has no image
# (with one, catalog-operator starts an unpack Job, which on kwok "completes" with nothing).
#
# What is simulated: the operator's Deployment pods are kwok fakes (Ready, never run); the tests
# run the operator binary as a local process with the ServiceAccount OLM created for the CSV.
# Processes run detached with pids/logs in the state dir (pids/olm-*.pid, logs/olm-*.log), so
# hack/cluster-down.sh stops them as well. Idempotent: a running OLM is left alone.
#
# Note: OLM's olm and catalog operators always bind a health/metrics server on *:8080 (not
# configurable in v0.46.0); the second one to start (or both, if 8080 is taken) logs the bind
# error and carries on: nothing here depends on it.
#
# It also builds the previous release's operator binary (step 7) and writes <state>/olm/env
# (read by tests/olm): SMBP_OPERATOR_PREVIOUS_BIN, SMBP_OLM_PREVIOUS_VERSION, ...
#
# Env: SMBP_CLUSTER_DIR, SMBP_CACHE, SMBP_OPM_PORT (default 50151; the community catalog's
#      address; the OpenShift catalog is served on the next port), SMBP_OLM_SKIP_PREVIOUS=1 (do
#      not build the previous release's binary).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

OPM_PORT="${SMBP_OPM_PORT:-50151}"
OPM_OPENSHIFT_PORT=$((OPM_PORT + 1))
OLM_NS=olm
OPERATORS_NS=operators
CATSRC=smbp-catalog
CATSRC_OPENSHIFT=smbp-catalog-openshift
PACKAGE=smbp-operator

log() { echo "olm-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
t0=$SECONDS

k() { kubectl_state "$@"; }
[[ -x "$STATE_DIR/bin/kubectl" && -f "$STATE_DIR/kubeconfig" ]] \
  || die "no cluster at $STATE_DIR: run hack/cluster-up.sh first"
[[ "$(k get --raw /readyz --request-timeout=5s 2>/dev/null)" == ok ]] \
  || die "the cluster at $STATE_DIR is not ready (hack/cluster-up.sh)"

mkdir -p "$STATE_DIR/pids" "$STATE_DIR/logs" "$STATE_DIR/olm"
if command -v flock >/dev/null; then
  exec 8>"$STATE_DIR/pids/olm.lock"
  flock 8
fi

BIN="$(OLM_TOOLS="olm opm" "$HACK_DIR/olm/build-tools.sh" | tail -n 1)"
[[ -x "$BIN/olm" && -x "$BIN/catalog" && -x "$BIN/opm" ]] || die "hack/olm/build-tools.sh gave no olm/catalog/opm in '$BIN'"
CRDS="$BIN/../crds"

pidfile() { echo "$STATE_DIR/pids/olm-$1.pid"; }
running() { local pid; pid="$(cat "$(pidfile "$1")" 2>/dev/null)" || return 1; pid_is_ours "$pid"; }
start_process() { # start_process <name> <binary> args... (env KUBECONFIG is set for all)
  local name="$1" bin="$2" pid; shift 2
  if running "$name"; then log "$name: already running (pid $(cat "$(pidfile "$name")"))"; return 0; fi
  KUBECONFIG="$STATE_DIR/kubeconfig" setsid "$bin" "$@" </dev/null >"$STATE_DIR/logs/olm-$name.log" 2>&1 8>&- &
  pid=$!
  echo "$pid" > "$(pidfile "$name")"
  sleep 0.5
  kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE_DIR/logs/olm-$name.log" >&2; die "$name failed to start"; }
  log "started $name (pid $pid, log $STATE_DIR/logs/olm-$name.log)"
}
wait_until() { # wait_until <seconds> <what> <command...>
  local secs="$1" what="$2" deadline; shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}

# 1. OLM's CRDs (the CSV CRD is ~800 KB: server-side apply).
log "installing OLM CRDs from $CRDS"
crd_files=("$CRDS"/operators.coreos.com_*.yaml)
((${#crd_files[@]} > 1)) || die "no OLM CRDs in $CRDS"
k apply --server-side --force-conflicts "${crd_files[@]/#/-f=}" >/dev/null
for f in "${crd_files[@]}"; do
  n="$(basename "$f" .yaml)"; n="${n#operators.coreos.com_}.operators.coreos.com"
  k wait --for=condition=Established --timeout=60s "crd/$n" >/dev/null
done

# 2. Namespaces and the global OperatorGroup (as OLM's own install manifests create them).
for ns in "$OLM_NS" "$OPERATORS_NS"; do
  k create namespace "$ns" --dry-run=client -o yaml | k apply -f - >/dev/null
done
k apply -f - >/dev/null <<EOF
apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata: {name: global-operators, namespace: $OPERATORS_NS}
EOF
k apply -f - >/dev/null <<EOF
apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata: {name: olm-operators, namespace: $OLM_NS}
spec: {targetNamespaces: [$OLM_NS]}
EOF

# 3. The test catalogs: N-1 from releases/, N from bundle/ or bundle-openshift/, package and
#    channels from catalog/ (both bundles have the same CSV name and version).
prev="$(ls -d "$REPO_ROOT"/releases/*/bundle 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$prev" ]] || die "no releases/<version>/bundle"
PACKAGE_DOCS="$STATE_DIR/olm/package.yaml"
# The olm.package and olm.channel documents of the committed catalog (every doc but olm.bundle).
awk 'function flush() { if (doc != "" && doc !~ /(^|\n)schema: olm\.bundle\n/) printf "---\n%s", doc; doc = "" }
     /^---$/ { flush(); next } { doc = doc $0 "\n" } END { flush() }' \
  <(cat "$REPO_ROOT/catalog/$PACKAGE/catalog.yaml"; echo; echo ---) > "$PACKAGE_DOCS"
grep -q '^schema: olm.channel' "$PACKAGE_DOCS" || die "no olm.channel in catalog/$PACKAGE/catalog.yaml"
render() { # render <bundle dir> <out>
  "$BIN/opm" render "$1" -o yaml > "$2"
  # OLM uses the inline objects only when the bundle has no image (BundlePath ""); with an image
  # catalog-operator would unpack it with a Job (whose kwok pod "completes" with nothing).
  grep -q '^image: ""$' "$2" || die "opm render $1: expected image \"\" (inline bundle)"
  log "catalog: $(sed -n 's/^name: //p' "$2" | head -n 1) from ${1#"$REPO_ROOT"/}"
}
build_catalog() { # build_catalog <catalog dir> <current bundle dir>
  local cat="$1/$PACKAGE"
  rm -rf "$1"; mkdir -p "$cat"
  cp "$PACKAGE_DOCS" "$cat/package.yaml"
  render "$prev" "$cat/previous.yaml"
  render "$2" "$cat/current.yaml"
  "$BIN/opm" validate "$1" || die "opm validate failed on the test catalog $1"
}
build_catalog "$STATE_DIR/olm/catalog" "$REPO_ROOT/bundle"
build_catalog "$STATE_DIR/olm/catalog-openshift" "$REPO_ROOT/bundle-openshift"

# 4. opm serve on loopback, one per catalog (it binds all interfaces; only 127.0.0.1 is used).
serve() { # serve <process name> <catalog dir> <port>
  if running "$1"; then
    # The catalog content may have changed: restart so that it serves what was just rendered.
    stop_pids "$(cat "$(pidfile "$1")")"
  fi
  start_process "$1" "$BIN/opm" serve "$2" -p "$3" --pprof-addr "" -t /dev/null
}
serve opm "$STATE_DIR/olm/catalog" "$OPM_PORT"
serve opm-openshift "$STATE_DIR/olm/catalog-openshift" "$OPM_OPENSHIFT_PORT"
echo "$OPM_PORT" > "$STATE_DIR/olm/opm-port"
for port in "$OPM_PORT" "$OPM_OPENSHIFT_PORT"; do
  wait_until 60 "opm serve on 127.0.0.1:$port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
done

# 5. OLM's operators, out of cluster. (olm takes the kubeconfig from KUBECONFIG; --log_dir only
#    puts the state dir on its command line for pid_is_ours, it has no effect with logtostderr.)
start_process olm "$BIN/olm" --namespace "$OLM_NS" --writeStatusName "" --writePackageServerStatusName "" \
  --log_dir "$STATE_DIR/logs"
start_process catalog "$BIN/catalog" --kubeconfig "$STATE_DIR/kubeconfig" --namespace "$OLM_NS" \
  --writeStatusName "" --configmapServerImage test.invalid/configmap-operator-registry:unused \
  --opmImage test.invalid/opm:unused --util-image test.invalid/olm:unused

# 6. The CatalogSources, talking to opm serve directly (no registry pod).
catalog_source() { # catalog_source <name> <port> <display name>
  k apply -f - >/dev/null <<EOF
apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata: {name: $1, namespace: $OLM_NS}
spec:
  sourceType: grpc
  address: 127.0.0.1:$2
  displayName: $3
  publisher: smbp-operator tests
EOF
}
catalog_source "$CATSRC" "$OPM_PORT" "smbp-operator test catalog"
catalog_source "$CATSRC_OPENSHIFT" "$OPM_OPENSHIFT_PORT" "smbp-operator test catalog (OpenShift bundle)"
for cs in "$CATSRC" "$CATSRC_OPENSHIFT"; do
  wait_until 120 "CatalogSource $OLM_NS/$cs READY" bash -c \
    "[[ \"\$('$STATE_DIR/bin/kubectl' --kubeconfig '$STATE_DIR/kubeconfig' -n $OLM_NS get catalogsource $cs -o jsonpath='{.status.connectionState.lastObservedState}')\" == READY ]]"
done

# 7. The previous release's operator binary (for the upgrade test), built once per version from
#    its release commit (hack/olm/build-previous.sh).
prev_version="$(basename "$(dirname "$prev")")"
PREV_BIN="${SMBP_CACHE:-$HOME/.cache/smbp-operator}/releases/$prev_version/target/debug/smbp-operator"
if [[ "${SMBP_OLM_SKIP_PREVIOUS:-0}" != 1 ]]; then
  PREV_BIN="$("$HACK_DIR/olm/build-previous.sh" | tail -n 1)"
  [[ -x "$PREV_BIN" ]] || die "hack/olm/build-previous.sh gave no binary"
  log "previous release binary: $PREV_BIN ($("$PREV_BIN" --version 2>/dev/null || echo "?"))"
fi

cat > "$STATE_DIR/olm/env" <<EOF
# Written by hack/olm-up.sh
export SMBP_OLM_NAMESPACE=$OLM_NS
export SMBP_OLM_CATALOG_SOURCE=$CATSRC
export SMBP_OLM_OPENSHIFT_CATALOG_SOURCE=$CATSRC_OPENSHIFT
export SMBP_OLM_OPM_PORT=$OPM_PORT
export SMBP_OLM_OPENSHIFT_OPM_PORT=$OPM_OPENSHIFT_PORT
export SMBP_OLM_PREVIOUS_BUNDLE=$prev
export SMBP_OLM_PREVIOUS_VERSION=$prev_version
export SMBP_OPERATOR_PREVIOUS_BIN=$PREV_BIN
EOF
log "OLM ready in $((SECONDS - t0))s: CatalogSources $OLM_NS/$CATSRC -> opm serve 127.0.0.1:$OPM_PORT, $OLM_NS/$CATSRC_OPENSHIFT -> 127.0.0.1:$OPM_OPENSHIFT_PORT ($(basename "$(dirname "$prev")") + $(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1))"
