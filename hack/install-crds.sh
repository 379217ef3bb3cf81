#!/usr/bin/env bash
# Install third-party CRDs into the test cluster (hack/cluster-up.sh):
#
#   hack/install-crds.sh <kind>...    kinds: certmanager prometheus gatewayapi openshift all
#
# The YAML is not vendored: it comes from the Go modules pinned in hack/crds/go.mod, fetched
# with `go mod download` through the Go module proxy, and copied into
#   ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/crds/<hash of hack/crds/go.mod+go.sum>/<kind>/
# then applied server-side (some CRDs are too large for client-side apply) and waited for.
#   certmanager  github.com/cert-manager/cert-manager  deploy/crds/
#   prometheus   github.com/prometheus-operator/prometheus-operator  example/prometheus-operator-crd/
#   gatewayapi   sigs.k8s.io/gateway-api  config/crd/standard/
#   openshift    github.com/openshift/api  route/v1 and security/v1 zz_generated.crd-manifests/
# Env: SMBP_KUBECONFIG (default: the cluster's admin kubeconfig), SMBP_CLUSTER_DIR, SMBP_CACHE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

CRD_MOD_DIR="$HACK_DIR/crds"
CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
KUBECONFIG_FILE="${SMBP_KUBECONFIG:-$STATE_DIR/kubeconfig}"
ALL_KINDS=(certmanager prometheus gatewayapi openshift)

log() { echo "install-crds: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { echo "usage: $0 <kind>... (kinds: ${ALL_KINDS[*]} all)" >&2; exit 2; }

(($#)) || usage
kinds=()
for a in "$@"; do
  case "$a" in
    all) kinds+=("${ALL_KINDS[@]}") ;;
    certmanager | prometheus | gatewayapi | openshift) kinds+=("$a") ;;
    -h | --help) usage ;;
    *) log "unknown kind '$a'"; usage ;;
  esac
done

# module_and_globs <kind>: the Go module, then the CRD file globs inside it.
module_and_globs() {
  case "$1" in
    certmanager) echo "github.com/cert-manager/cert-manager deploy/crds/*.yaml" ;;
    prometheus) echo "github.com/prometheus-operator/prometheus-operator example/prometheus-operator-crd/*.yaml" ;;
    gatewayapi) echo "sigs.k8s.io/gateway-api config/crd/standard/*.yaml" ;;
    openshift) echo "github.com/openshift/api route/v1/zz_generated.crd-manifests/*.yaml security/v1/zz_generated.crd-manifests/*.yaml" ;;
  esac
}

HASH="$(cat "$CRD_MOD_DIR/go.mod" "$CRD_MOD_DIR/go.sum" | sha256sum | cut -c1-12)"
CRD_CACHE="$CACHE_ROOT/crds/$HASH"

fetch() { # fetch <kind>: fill $CRD_CACHE/<kind>/ from the module cache (downloading if needed)
  local kind="$1" mod globs dir tmp g f n=0
  [[ -f "$CRD_CACHE/$kind/.complete" ]] && return 0
  command -v go >/dev/null || die "Go is required to fetch the CRD modules"
  read -r mod globs <<<"$(module_and_globs "$kind")"
  dir="$(cd "$CRD_MOD_DIR" && GOFLAGS=-mod=readonly GOWORK=off go mod download -json "$mod" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || die "could not download $mod (see: cd hack/crds && go mod download -json $mod)"
  mkdir -p "$CRD_CACHE"
  tmp="$(mktemp -d "$CRD_CACHE/.tmp.XXXXXX")"
  for g in $globs; do
    for f in "$dir"/$g; do
      [[ -f "$f" ]] || continue
      cp "$f" "$tmp/"
      n=$((n + 1))
    done
  done
  ((n)) || { rm -rf "$tmp"; die "no CRD files found in $dir for $kind ($globs)"; }
  chmod -R u+w "$tmp"
  touch "$tmp/.complete"
  rm -rf "${CRD_CACHE:?}/$kind"
  mv "$tmp" "$CRD_CACHE/$kind"
  log "cached $n file(s) for $kind from $(basename "$dir")"
}

for kind in "${kinds[@]}"; do fetch "$kind"; done

[[ -f "$KUBECONFIG_FILE" ]] || die "no kubeconfig at $KUBECONFIG_FILE: run hack/cluster-up.sh first"
KUBECTL="$STATE_DIR/bin/kubectl"
[[ -x "$KUBECTL" ]] || KUBECTL="$(command -v kubectl)" || die "kubectl not found (run hack/cluster-up.sh)"
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

for kind in "${kinds[@]}"; do
  mapfile -t applied < <(kc apply --server-side --force-conflicts --field-manager=smbp-install-crds \
    -f "$CRD_CACHE/$kind" -o name)
  crds=()
  for o in "${applied[@]}"; do
    [[ "$o" == customresourcedefinition.apiextensions.k8s.io/* ]] && crds+=("$o")
  done
  if ((${#crds[@]})); then
    kc wait --for=condition=Established --timeout=60s "${crds[@]}" >/dev/null
  fi
  log "$kind: ${#applied[@]} object(s) applied, ${#crds[@]} CRD(s) established"
done
