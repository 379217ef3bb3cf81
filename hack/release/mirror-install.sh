#!/usr/bin/env bash
# The air-gapped install of hack/release/local.sh (its step 7): OLM installs the operator from the
# catalog pulled out of the mirror registry, and every image the operator, its CSV and a Big
# Peer's pods reference must resolve in the mirror and verify with cosign. The public registry
# is already stopped when this runs.
#
#   1. The CatalogSource that `smbp-operator mirror-config` wrote names the mirrored catalog image
#      by digest: its /configs are pulled from the mirror (crane export) and served with the real
#      `opm serve` on loopback, as the catalog pod would serve them (kwok runs no registry pod);
#      the CatalogSource talks to it by address.
#   2. OLM would unpack each olm.bundle's image with a Job (which on kwok "completes" with
#      nothing), so that Job is done here: each bundle image, resolved through the mirror set as
#      the cluster's runtime would (mapping.txt, the same map as the ImageDigestMirrorSet), is
#      pulled from the mirror and rendered with `opm render` (its manifests inlined).
#   3. tests/olm `install_from_mirrored_catalog`: a Subscription to that catalog, the CSV
#      Succeeded, then the operator binary taken out of the mirrored operator image runs as the
#      ServiceAccount OLM created, with the Deployment's RELATED_IMAGE_* environment, and makes a
#      BigPeer Ready; the test writes every image reference it saw (Deployment, CSV relatedImages,
#      the operator's pods, the Big Peer's pods).
#   4. Each of those references is resolved through the mirror set: the mirror must give its
#      digest, and `cosign verify` with the run's public key must pass on the mirror.
#
# Usage: hack/release/mirror-install.sh --out DIR --mirror HOST:PORT
#   DIR is local.sh's output (mirror/, images.txt, cosign.pub). Needs the local control plane
#   (hack/cluster-up.sh); starts OLM (hack/olm-up.sh) when it is not running.
# Env: CRANE, OPM, COSIGN (local.sh sets them), SMBP_CLUSTER_DIR, SMBP_OPM_PORT (the mirrored
#      catalog is served on SMBP_OPM_PORT + 2, next to hack/olm-up.sh's two catalogs).
set -euo pipefail
umask 022
RELEASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster-lib.sh
source "$RELEASE_DIR/../cluster-lib.sh"

log() { echo "mirror-install: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
OUT="" MIRROR=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --mirror) MIRROR="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ -n "$OUT" && -n "$MIRROR" ]] || die "--out and --mirror are required"
for t in CRANE OPM COSIGN; do [[ -x "${!t:-}" ]] || die "\$$t is not set to a binary"; done
MAPPING="$OUT/mirror/mapping.txt"
[[ -f "$MAPPING" && -f "$OUT/mirror/catalog-source.yaml" && -f "$OUT/cosign.pub" ]] ||
  die "$OUT has no mirror/mapping.txt, mirror/catalog-source.yaml or cosign.pub: run hack/release/local.sh"
k() { kubectl_state "$@"; }
[[ "$(k get --raw /readyz --request-timeout=5s 2>/dev/null)" == ok ]] ||
  die "no local control plane at $STATE_DIR: run make cluster-up (or hack/cluster-up.sh) first"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smbp-mirror-install.XXXXXX")"
CATSRC=smbp-mirror
OLM_NS=olm
PORT=$(( ${SMBP_OPM_PORT:-50151} + 2 ))
SERVED="$STATE_DIR/olm/catalog-mirror"
PIDFILE="$STATE_DIR/pids/olm-opm-mirror.pid"
cleanup() {
  k -n "$OLM_NS" delete catalogsource "$CATSRC" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  [[ ! -f "$PIDFILE" ]] || stop_pids "$(cat "$PIDFILE")"
  rm -f "$PIDFILE"; rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_mirror <ref by digest>: where the cluster's runtime pulls it from under the mirror set (the
# mirror repository of its source repository, same digest); fails for a repository not mapped.
in_mirror() {
  local ref="$1" repo="${1%@*}" digest="${1##*@}" src dst
  [[ "$ref" == *@sha256:* ]] || return 1
  while IFS='=' read -r src dst; do
    if [[ "${src%@*}" == "$repo" ]]; then echo "${dst%@*}@$digest"; return 0; fi
  done < "$MAPPING"
  return 1
}

# 0. OLM on the local control plane (idempotent; the previous release's binary is not needed).
SMBP_OLM_SKIP_PREVIOUS=1 "$RELEASE_DIR/../olm-up.sh"

# 1. The catalog image the CatalogSource names, pulled from the mirror.
catalog_ref="$(sed -n 's/^[[:space:]]*image:[[:space:]]*//p' "$OUT/mirror/catalog-source.yaml" | tr -d '"' | head -n 1)"
[[ "$catalog_ref" == "$MIRROR/"*@sha256:* ]] || die "the CatalogSource's image '$catalog_ref' is not in $MIRROR by digest"
"$CRANE" export "$catalog_ref" - | tar -x -C "$WORK" configs ||
  die "could not pull /configs out of $catalog_ref"
log "catalog: $catalog_ref pulled from the mirror ($(find "$WORK/configs" -type f | wc -l) files)"

# 2. The bundle unpack: every olm.bundle image through the mirror set, rendered inline.
"$OPM" render "$WORK/configs" -o json | jq -c 'select(.schema != "olm.bundle")' > "$WORK/package.json"
mapfile -t bundles < <("$OPM" render "$WORK/configs" -o json | jq -r 'select(.schema == "olm.bundle") | .image')
((${#bundles[@]} > 0)) || die "the mirrored catalog has no olm.bundle"
rm -rf "$SERVED"; mkdir -p "$SERVED/smbp-operator"
cp "$WORK/package.json" "$SERVED/smbp-operator/package.json"
n=0
for b in "${bundles[@]}"; do
  n=$((n + 1))
  m="$(in_mirror "$b")" || die "bundle image $b: not by digest, or no mirror for its repository in $MAPPING"
  mkdir -p "$WORK/bundle-$n"
  "$CRANE" export "$m" - | tar -x -C "$WORK/bundle-$n" || die "could not pull bundle $m from the mirror"
  "$OPM" render "$WORK/bundle-$n" -o json > "$SERVED/smbp-operator/bundle-$n.json"
  name="$(jq -r 'select(.schema == "olm.bundle") | .name' "$SERVED/smbp-operator/bundle-$n.json")"
  log "bundle: $name unpacked from $m"
done
"$OPM" validate "$SERVED" || die "opm validate failed on the mirrored catalog"

# The catalog, served as its pod would; the CatalogSource by address.
[[ ! -f "$PIDFILE" ]] || stop_pids "$(cat "$PIDFILE")"
mkdir -p "$STATE_DIR/logs"
setsid "$OPM" serve "$SERVED" -p "$PORT" --pprof-addr "" -t /dev/null \
  </dev/null >"$STATE_DIR/logs/olm-opm-mirror.log" 2>&1 &
echo "$!" > "$PIDFILE"
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$STATE_DIR/logs/olm-opm-mirror.log" >&2; die "opm serve exited"; }
  sleep 0.5
done
k apply -f - >/dev/null <<EOF
apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata: {name: $CATSRC, namespace: $OLM_NS}
spec:
  sourceType: grpc
  address: 127.0.0.1:$PORT
  displayName: smbp-operator catalog from the mirror ($catalog_ref)
  publisher: smbp-operator release-local
EOF
for _ in $(seq 1 240); do
  state="$(k -n "$OLM_NS" get catalogsource "$CATSRC" -o jsonpath='{.status.connectionState.lastObservedState}' 2>/dev/null || true)"
  [[ "$state" != READY ]] || break
  sleep 0.5
done
[[ "$state" == READY ]] || die "CatalogSource $OLM_NS/$CATSRC is not READY ($state)"
log "CatalogSource $OLM_NS/$CATSRC READY, serving the mirrored catalog on 127.0.0.1:$PORT"

# 3. The install, by the OLM test, with the operator binary out of the mirrored operator image.
op_ref="$(awk -F'\t' '$1 == "smbp-operator" { print $2 }' "$OUT/images.txt")"
op_mirror="$(in_mirror "$op_ref")" || die "no mirror for the operator image $op_ref"
mkdir -p "$WORK/operator"
"$CRANE" export "$op_mirror" - | tar -x -C "$WORK/operator" usr/local/bin/smbp-operator ||
  die "no /usr/local/bin/smbp-operator in $op_mirror"
SEEN="$OUT/mirror/installed-images.tsv"
rm -f "$SEEN"
log "installing through OLM (cargo test --test olm install_from_mirrored_catalog)"
(cd "$REPO_ROOT" && KUBECONFIG="$STATE_DIR/kubeconfig" SMBP_CLUSTER_DIR="$STATE_DIR" \
  SMBP_OLM_CATALOG_SOURCE="$CATSRC" SMBP_MIRROR_OPERATOR_BIN="$WORK/operator/usr/local/bin/smbp-operator" \
  SMBP_MIRROR_IMAGES_OUT="$SEEN" \
  cargo test --locked --test olm -- --ignored --exact install_from_mirrored_catalog --nocapture) >&2 ||
  die "the install from the mirrored catalog failed (above)"
[[ -s "$SEEN" ]] || die "the test wrote no image list to $SEEN"

# 4. Every reference the install used: in the mirror, same digest, signed by the run's key.
export TUF_ROOT="$WORK/tuf" SIGSTORE_NO_CACHE=true
fails=0 n=0
while IFS=$'\t' read -r where ref; do
  n=$((n + 1))
  if ! m="$(in_mirror "$ref")"; then
    echo "mirrored install: FAIL $where $ref: not by digest or not mirrored"; fails=$((fails + 1)); continue
  fi
  got="$("$CRANE" digest "$m" 2>/dev/null || true)"
  if [[ "$got" != "${ref##*@}" ]]; then
    echo "mirrored install: FAIL $where $m resolves to '${got:-nothing}'"; fails=$((fails + 1)); continue
  fi
  if "$COSIGN" verify --key "$OUT/cosign.pub" --insecure-ignore-tlog=true --insecure-ignore-sct=true \
    --allow-insecure-registry --allow-http-registry "$m" >/dev/null 2>&1; then
    echo "mirrored install: PASS $where $ref -> $m (digest resolves, signature verifies)"
  else
    echo "mirrored install: FAIL $where cosign verify $m"; fails=$((fails + 1))
  fi
done < "$SEEN"
((fails == 0)) || die "$fails of $n image references of the mirrored install failed"
echo "mirrored install: all $n image references of the install resolve in the mirror $MIRROR and verify"
