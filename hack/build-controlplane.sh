#!/usr/bin/env bash
# Build the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, fake-provisioner as one multi-call binary; kwok; kwok's stage config) into a cache
# directory outside the checkout, keyed by versions and by a hash of the build inputs:
#
#   ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/controlplane/<k8s>-<kwok>-<hash>/bin/
#
# If that directory is already complete the script returns at once. The bin dir is printed as
# the last line of stdout; progress goes to stderr. Needs only Go (>= the go line in the go.mod
# files) and the Go module proxy. Cold build: tens of minutes on 2 cores.
#
# The optional add-ons (cert-manager, Strimzi CRDs + stand-in; hack/addons.sh) are built and
# cached too, by hack/build-addons.sh, so that `hack/addons.sh up` never waits for a build. A
# failure there is only a warning: the default cluster does not use them.
#
# Older Kubernetes versions (SMBP_K8S_VERSION=<major.minor>, e.g. 1.31; default: the newest, from
# hack/controlplane): only kube-apiserver, kube-controller-manager and kube-scheduler are built, from
# hack/controlplane-<major.minor>/ (its own go.mod pinning k8s.io/kubernetes at that version, and a
# main.go identical in every such directory). etcd, kubectl, fake-provisioner, kwok and kwok's stages
# are the newest build's (built first if needed), hard-linked into this build's base/ directory:
# etcd 3.6 serves every supported Kubernetes, kwok and kubectl use only stable APIs. Cached as
#
#   <cache root>/controlplane/<k8s>-<kwok>-<hash>/bin/   (the hash covers the newest build's too)
#
# Env: SMBP_CACHE (cache root), SMBP_BUILD_FORCE=1 (rebuild even if cached),
#      SMBP_BUILD_ADDONS=0 (do not build the add-ons), SMBP_K8S_VERSION (see above).
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CP_DIR="$HACK_DIR/controlplane"
KWOK_DIR="$HACK_DIR/kwok"
CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"

log() { echo "build-controlplane: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=hack/go-lib.sh
source "$HACK_DIR/go-lib.sh"
K8S_VERSION="$(modver "$CP_DIR/go.mod" k8s.io/kubernetes)"
[[ -n "$K8S_VERSION" ]] || die "k8s.io/kubernetes not found in $CP_DIR/go.mod"

# version_ldflags <module dir> <k8s version>: stamp the version into component-base and client-go.
# buildDate: the release time of the kubernetes module (reproducible); gitCommit is unknown for
# a module build, so it is an all-zero placeholder.
version_ldflags() {
  local dir="$1" v="$2" major minor date pkg flags="-s -w"
  minor="${v#v}"; minor="${minor#*.}"; minor="${minor%%.*}"
  major="${v#v}"; major="${major%%.*}"
  date="$(cd "$dir" && go list -m -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes 2>/dev/null || true)"
  [[ -n "$date" ]] || date="1970-01-01T00:00:00Z"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
    flags+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  done
  echo "$flags"
}

# prune <k8s version>: keep the cache bounded: only the 3 most recent builds of a version stay.
prune() {
  local old
  ls -1dt "$CACHE_ROOT/controlplane/$1"-v*-*/ 2>/dev/null | tail -n +4 | while read -r old; do
    log "pruning old build ${old%/}"
    rm -rf "${old%/}"
  done
}

# An older version: build its three server components, reuse the rest from the newest build.
WANT="${SMBP_K8S_VERSION:-}"
WANT="${WANT#v}"
WANT="$(echo "$WANT" | cut -d. -f1,2)"
NEWEST="$(echo "${K8S_VERSION#v}" | cut -d. -f1,2)"
if [[ -n "$WANT" && "$WANT" != "$NEWEST" ]]; then
  VER_DIR="$HACK_DIR/controlplane-$WANT"
  if [[ ! -f "$VER_DIR/go.mod" ]]; then
    die "no control plane for Kubernetes $WANT: have $NEWEST (hack/controlplane)$(
      for d in "$HACK_DIR"/controlplane-*/; do d="${d%/}"; printf ', %s' "${d##*/controlplane-}"; done)"
  fi
  for d in "$HACK_DIR"/controlplane-*/; do
    cmp -s "$d/main.go" "$VER_DIR/main.go" || die "$d/main.go differs from $VER_DIR/main.go: keep them identical"
  done
  BASE_BIN="$(SMBP_K8S_VERSION="" SMBP_BUILD_ADDONS=0 SMBP_BUILD_FORCE=0 "$0" | tail -n 1)"
  [[ -x "$BASE_BIN/etcd" && -x "$BASE_BIN/kwok" ]] || die "the newest control plane build gave no binaries in '$BASE_BIN'"
  V_VERSION="$(modver "$VER_DIR/go.mod" k8s.io/kubernetes)"
  [[ -n "$V_VERSION" ]] || die "k8s.io/kubernetes not found in $VER_DIR/go.mod"
  KWOK_VERSION="$(sed -n 's/^kwok=//p' "$BASE_BIN/../versions")"
  BUILD_REV=1
  HASH="$( { echo "rev=$BUILD_REV base=$BASE_BIN"; cat "$VER_DIR/go.mod" "$VER_DIR/go.sum" "$VER_DIR"/*.go; } |
    sha256sum | cut -c1-12)"
  OUT="$CACHE_ROOT/controlplane/${V_VERSION}-${KWOK_VERSION}-${HASH}"
  if [[ "${SMBP_BUILD_FORCE:-0}" != 1 && -f "$OUT/.complete" ]]; then
    echo "$OUT/bin"
    exit 0
  fi
  exec 9>"$CACHE_ROOT/controlplane/.build-$WANT.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if [[ "${SMBP_BUILD_FORCE:-0}" != 1 && -f "$OUT/.complete" ]]; then echo "$OUT/bin"; exit 0; fi
  TMP="$(mktemp -d "$CACHE_ROOT/controlplane/.tmp.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
  mkdir -p "$TMP/bin" "$TMP/base"
  export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler $V_VERSION into $OUT"
  start=$SECONDS
  (cd "$VER_DIR" && go build -trimpath -ldflags "$(version_ldflags "$VER_DIR" "$V_VERSION")" -o "$TMP/bin/controlplane" .) \
    || die "control plane $V_VERSION build failed (if go.sum is incomplete: cd ${VER_DIR#"$HACK_DIR/.."/} && go mod tidy)"
  log "control plane $V_VERSION built in $((SECONDS - start))s"
  for c in kube-apiserver kube-controller-manager kube-scheduler; do ln -sf controlplane "$TMP/bin/$c"; done
  # Hard links (a copy on another file system) keep this build whole if the newest one is pruned.
  for f in controlplane kwok; do
    ln "$(readlink -f "$BASE_BIN/$f")" "$TMP/base/$f" 2>/dev/null || cp "$BASE_BIN/$f" "$TMP/base/$f"
  done
  for c in etcd kubectl fake-provisioner; do ln -sf ../base/controlplane "$TMP/bin/$c"; done
  ln -sf ../base/kwok "$TMP/bin/kwok"
  cp "$BASE_BIN/../kwok-stages.yaml" "$TMP/kwok-stages.yaml"
  "$TMP/bin/kube-apiserver" --version >&2
  printf 'k8s=%s\nkwok=%s\nhash=%s\nbase=%s\nbuilt=%s\n' "$V_VERSION" "$KWOK_VERSION" "$HASH" "$BASE_BIN" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$TMP/versions"
  touch "$TMP/.complete"
  rm -rf "$OUT"
  mv "$TMP" "$OUT"
  trap - EXIT
  prune "$V_VERSION"
  log "done: $OUT/bin"
  echo "$OUT/bin"
  exit 0
fi
KWOK_VERSION="$(modver "$KWOK_DIR/go.mod" sigs.k8s.io/kwok)"
[[ -n "$KWOK_VERSION" ]] || die "sigs.k8s.io/kwok not found in $KWOK_DIR/go.mod"

# Everything that changes the output. (Editing this script's build flags? bump BUILD_REV.)
BUILD_REV=1
INPUTS=(
  "$CP_DIR/go.mod" "$CP_DIR/go.sum" "$CP_DIR"/*.go
  "$KWOK_DIR/go.mod" "$KWOK_DIR/go.sum" "$KWOK_DIR"/stages/*.yaml
)
HASH="$( { echo "rev=$BUILD_REV"; cat "${INPUTS[@]}"; } | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/controlplane/${K8S_VERSION}-${KWOK_VERSION}-${HASH}"
BIN="$OUT/bin"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl fake-provisioner)

build_addons() {
  [[ "${SMBP_BUILD_ADDONS:-1}" != 0 ]] || return 0
  "$HACK_DIR/build-addons.sh" all >/dev/null \
    || log "WARNING: building the add-ons failed (hack/build-addons.sh); the cluster works without them"
}

if [[ "${SMBP_BUILD_FORCE:-0}" != 1 && -f "$OUT/.complete" ]]; then
  build_addons
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || die "Go is not installed (need Go >= $(awk '$1=="go"{print $2}' "$CP_DIR/go.mod"))"
mkdir -p "$CACHE_ROOT/controlplane"

# One build at a time per cache root; a second caller waits and then finds the cache complete.
exec 9>"$CACHE_ROOT/controlplane/.build.lock"
if command -v flock >/dev/null; then
  flock 9
fi
if [[ "${SMBP_BUILD_FORCE:-0}" != 1 && -f "$OUT/.complete" ]]; then
  exec 9>&-
  build_addons
  echo "$BIN"
  exit 0
fi

TMP="$(mktemp -d "$CACHE_ROOT/controlplane/.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin"

# go.mod/go.sum are committed and complete: build read-only so the checkout is never modified.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

LDFLAGS="$(version_ldflags "$CP_DIR" "$K8S_VERSION")"

log "building control plane $K8S_VERSION + kwok $KWOK_VERSION into $OUT (cold builds take tens of minutes)"
start=$SECONDS
(cd "$CP_DIR" && go build -trimpath -ldflags "$LDFLAGS" -o "$TMP/bin/controlplane" .) \
  || die "control plane build failed (if go.sum is incomplete: cd hack/controlplane && go mod tidy)"
log "control plane built in $((SECONDS - start))s"
for c in "${COMPONENTS[@]}"; do ln -sf controlplane "$TMP/bin/$c"; done

start=$SECONDS
(cd "$KWOK_DIR" && go build -trimpath -ldflags "-s -w" -o "$TMP/bin/kwok" "sigs.k8s.io/kwok/cmd/kwok") \
  || die "kwok build failed"
log "kwok built in $((SECONDS - start))s"

# kwok ships no default stages: assemble them from the module's kustomize/stage/ files.
KWOK_SRC="$(mod_dir "$KWOK_DIR" sigs.k8s.io/kwok)"
[[ -d "$KWOK_SRC/kustomize/stage" ]] || die "kwok module source not found at '$KWOK_SRC'"
S="$KWOK_SRC/kustomize/stage"
HEARTBEAT="$S/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
[[ -f "$HEARTBEAT" ]] || HEARTBEAT="$S/node/heartbeat/node-heartbeat.yaml"
# Must stay identical to the selector in hack/kwok/stages/pod-image-pull-failure.yaml.
FAILING_IMAGE_JQ='[(.spec.initContainers // [])[].image, (.spec.containers // [])[].image] | any(contains("fail-") or endswith(":unpullable"))'
grep -qF "$FAILING_IMAGE_JQ" "$KWOK_DIR/stages/pod-image-pull-failure.yaml" \
  || die "FAILING_IMAGE_JQ differs from the selector in hack/kwok/stages/pod-image-pull-failure.yaml"
{
  for f in "$S/node/fast/node-initialize.yaml" "$HEARTBEAT" "$S/pod/fast/pod-ready.yaml" \
           "$S/pod/fast/pod-complete.yaml" "$S/pod/fast/pod-delete.yaml"; do
    [[ -f "$f" ]] || die "missing kwok stage file $f"
    echo "---"
    echo "# from sigs.k8s.io/kwok@$KWOK_VERSION ${f#"$KWOK_SRC/"}"
    if [[ "$f" == */pod-ready.yaml ]]; then
      # Pods with failing images must never be selected by pod-ready.
      awk -v jq="$FAILING_IMAGE_JQ" '
        { print }
        /^    matchExpressions:$/ && !done {
          print "    - key: '\''" jq "'\''"
          print "      operator: '\''NotIn'\''"
          print "      values:"
          print "      - '\''true'\''"
          done = 1
        }
        END { if (!done) exit 3 }' "$f" || die "could not patch $f (layout changed?)"
    else
      cat "$f"
    fi
    echo
  done
  echo "---"
  echo "# from hack/kwok/stages/pod-image-pull-failure.yaml"
  cat "$KWOK_DIR/stages/pod-image-pull-failure.yaml"
} > "$TMP/kwok-stages.yaml"

"$TMP/bin/kube-apiserver" --version >&2
"$TMP/bin/kwok" --version >&2 2>/dev/null || true

printf 'k8s=%s\nkwok=%s\nhash=%s\nbuilt=%s\n' "$K8S_VERSION" "$KWOK_VERSION" "$HASH" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$TMP/versions"
touch "$TMP/.complete"
rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
prune "$K8S_VERSION"
log "done: $BIN"
exec 9>&-
build_addons
echo "$BIN"
