#!/usr/bin/env bash
# Build the OLM packaging tools into a cache directory outside the checkout:
#
#   bundle-validate   operator-framework/api validators (./bundle-validate)
#   opm               operator-registry's opm (validate, render, serve)
#   scorecard-test    operator-sdk scorecard's static tests, run on a directory (./scorecard)
#   olm, catalog      OLM v0 operators, for the end-to-end install test (./olm)
#   actionlint        GitHub workflow linter (./actionlint)
#   helm              Helm, for the chart tests (./helm)
#
# Release tools, built only when asked for by name (not in the default set, so CI's tools stage
# does not grow), e.g. OLM_TOOLS="crane syft cosign" (the release scripts do):
#
#   crane             go-containerregistry's crane: registry, image builds, copies (./crane) ~2 min
#   syft              SPDX SBOMs of OCI images (./syft)                  cold build ~9 min *
#   cosign            signatures and attestations (./cosign)             cold build ~12 min *
#
# * wall time on the 2-core machine at nice 19 while it ran a full test build (load ~10): CPU time
#   syft 4.5 min, cosign 5.5 min, so roughly 3 and 4 min on an idle 2-core machine, plus ~2 min each
#   of module downloads from an empty module cache. The Go build cache was warm for other tools.
#
# Each tool is its own Go module under hack/olm/<tool>/ (their dependency versions conflict) and
# is cached on its own, keyed by its version and a hash of its module files:
#
#   ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/olm-tools/<tool>/<version>-<hash>/bin/
#
# and all of them are linked into one bin dir, which is printed as the last line of stdout
# (progress goes to stderr):
#
#   ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/olm-tools/all/<hash>/bin/
#
# Next to that bin dir: crds/ (OLM's CRDs, operators.coreos.com_*.yaml, from the
# github.com/operator-framework/api module that OLM was built with) and a `versions` file.
# When every build is cached the script returns at once. Needs only Go and the Go module proxy.
# Cold build on 2 cores: ~10 minutes (OLM and opm are most of it).
#
# Env: SMBP_CACHE (cache root), SMBP_BUILD_FORCE=1 (rebuild even if cached),
#      OLM_TOOLS="opm bundle-validate" (build only these; default all).
set -euo pipefail

OLM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
TOOLS_ROOT="$CACHE_ROOT/olm-tools"
FORCE="${SMBP_BUILD_FORCE:-0}"

log() { echo "olm/build-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Bump when this script's build flags change (the hashes below cover the module files only).
BUILD_REV=2

# Tools that run for seconds on small inputs (the validators, scorecard, actionlint, helm, crane,
# syft, cosign) are compiled without optimizations or inlining: a cold build takes about 30% less
# CPU (bundle-validate 75 s instead of 105 s on 2 cores), which CI's time budget needs, and
# nothing they do here is CPU-bound (hashes and signatures use the standard library's assembly).
# opm keeps the compiler's optimizations (it ships in the catalog image), and so do OLM's
# operators (they run through the whole OLM suite).
NOOPT=(-gcflags "all=-N -l")

# shellcheck source=hack/go-lib.sh
source "$OLM_DIR/../go-lib.sh"

# tool -> <module dir>|<versioned module>|<binaries>
declare -A SPEC=(
  [bundle-validate]="bundle-validate|github.com/operator-framework/api|bundle-validate"
  [opm]="opm|github.com/operator-framework/operator-registry|opm"
  [scorecard]="scorecard|github.com/operator-framework/operator-sdk|scorecard-test"
  [olm]="olm|github.com/operator-framework/operator-lifecycle-manager|olm catalog"
  [actionlint]="actionlint|github.com/rhysd/actionlint|actionlint"
  [helm]="helm|helm.sh/helm/v4|helm"
  [crane]="crane|github.com/google/go-containerregistry|crane"
  [syft]="syft|github.com/anchore/syft|syft"
  [cosign]="cosign|github.com/sigstore/cosign/v3|cosign"
)
ALL_TOOLS=(bundle-validate opm scorecard olm actionlint helm)
# Built only on demand (OLM_TOOLS names them), so the default build and its CI stage do not grow.
RELEASE_TOOLS=(crane syft cosign)
read -r -a TOOLS <<< "${OLM_TOOLS:-${ALL_TOOLS[*]}}"

# Build read-only against the committed go.mod/go.sum: the checkout is never modified.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

tool_hash() { # tool_hash <tool>: hash of everything that changes the tool's output
  local dir="$OLM_DIR/${SPEC[$1]%%|*}"
  { echo "rev=$BUILD_REV tool=$1"
    find "$dir" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | LC_ALL=C sort -z \
      | while IFS= read -r -d '' f; do echo "== ${f#"$OLM_DIR"/}"; cat "$f"; done
  } | sha256sum | cut -c1-12
}

tool_out() { # tool_out <tool>: the cache dir of the tool's current inputs
  local modfile_dir rest mod ver
  modfile_dir="${SPEC[$1]%%|*}"; rest="${SPEC[$1]#*|}"; mod="${rest%%|*}"
  ver="$(modver "$OLM_DIR/$modfile_dir/go.mod" "$mod")"
  [[ -n "$ver" ]] || die "$mod not found in $OLM_DIR/$modfile_dir/go.mod"
  echo "$TOOLS_ROOT/$1/$ver-$(tool_hash "$1")"
}

tool_complete() { # tool_complete <tool> <out>
  local b
  [[ -f "$2/.complete" ]] || return 1
  for b in ${SPEC[$1]##*|}; do [[ -x "$2/bin/$b" ]] || return 1; done
}

# The commit a module version was tagged at, when the proxy said so (for version stamps).
origin_hash() { # origin_hash <module> <version>
  local info
  info="$(go env GOMODCACHE)/cache/download/$(echo "$1" | sed 's/[A-Z]/!\L&/g')/@v/$2.info"
  [[ -f "$info" ]] && sed -n 's/.*"Hash": *"\([0-9a-f]*\)".*/\1/p' "$info" | head -1
  return 0
}

build_tool() { # build_tool <tool> <out>
  local tool="$1" out="$2" dir rest mod ver tmp start commit date ld
  dir="$OLM_DIR/${SPEC[$tool]%%|*}"; rest="${SPEC[$tool]#*|}"; mod="${rest%%|*}"
  ver="$(modver "$dir/go.mod" "$mod")"
  mkdir -p "$TOOLS_ROOT/$tool"
  tmp="$(mktemp -d "$TOOLS_ROOT/$tool/.tmp.XXXXXX")"; chmod 755 "$tmp"
  TMP_DIRS+=("$tmp")
  mkdir -p "$tmp/bin"
  start=$SECONDS
  log "building $tool ($mod@$ver) into $out"
  cd "$dir"
  commit="$(origin_hash "$mod" "$ver")"
  date="$(go list -m -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$mod" 2>/dev/null || true)"
  case "$tool" in
    bundle-validate)
      go build -trimpath "${NOOPT[@]}" -ldflags "-s -w" -o "$tmp/bin/bundle-validate" . ;;
    opm)
      # sqlite (mattn/go-sqlite3) still links in, as a no-cgo stub: only the deprecated sqlite
      # index commands need it; validate/render/serve of file-based catalogs do not.
      ld="-s -w -X $mod/cmd/opm/version.opmVersion=$ver -X $mod/cmd/opm/version.gitCommit=${commit:-unknown}"
      ld+=" -X $mod/cmd/opm/version.buildDate=${date:-unknown}"
      go build -trimpath -tags containers_image_openpgp -ldflags "$ld" -o "$tmp/bin/opm" "$mod/cmd/opm" ;;
    olm)
      ld="-s -w -X $mod/pkg/version.OLMVersion=$ver -X $mod/pkg/version.GitCommit=${commit:-unknown}"
      go build -trimpath -tags json1 -ldflags "$ld" -o "$tmp/bin/" "$mod/cmd/olm" "$mod/cmd/catalog"
      # OLM's CRDs, from the operator-framework/api version in OLM's build list.
      local api_dir
      api_dir="$(mod_dir . github.com/operator-framework/api)"
      [[ -d "$api_dir/crds" ]] || die "OLM CRDs not found at $api_dir/crds"
      mkdir -p "$tmp/crds"
      cp "$api_dir"/crds/operators.coreos.com_*.yaml "$tmp/crds/"
      chmod -R u+w "$tmp/crds"
      echo "github.com/operator-framework/api@$(go list -m -f '{{.Version}}' github.com/operator-framework/api)" \
        > "$tmp/crds/SOURCE" ;;
    scorecard)
      # operator-sdk's scorecard-test main reads the fixed path /bundle, and its test functions
      # are in internal packages, so a main of our own must live inside the operator-sdk module.
      # Copy the module (~9 MB) out of the read-only module cache into the build dir, add
      # _sdk_main/main.go to it as the package images/scorecard-local, and build that through a
      # replace directive in a temporary copy of our go.mod/go.sum (so our go.sum still pins
      # every dependency). The copy is deleted afterwards; nothing lands in the checkout.
      local sdk_dir
      sdk_dir="$(mod_dir . "$mod")"
      [[ -n "$sdk_dir" && -d "$sdk_dir/internal/scorecard/tests" ]] || die "operator-sdk source not found ('$sdk_dir')"
      cp -r "$sdk_dir" "$tmp/sdk"
      chmod -R u+w "$tmp/sdk"
      mkdir -p "$tmp/sdk/images/scorecard-local"
      cp "$dir/_sdk_main/main.go" "$tmp/sdk/images/scorecard-local/main.go"
      { cat "$dir/go.mod"; echo; echo "replace $mod => $tmp/sdk"; } > "$tmp/go.mod"
      cp "$dir/go.sum" "$tmp/go.sum"
      go build -modfile="$tmp/go.mod" -trimpath "${NOOPT[@]}" -ldflags "-s -w" -o "$tmp/bin/scorecard-test" \
        "$mod/images/scorecard-local"
      rm -rf "$tmp/sdk" "$tmp/go.mod" "$tmp/go.sum" ;;
    actionlint)
      go build -trimpath "${NOOPT[@]}" -ldflags "-s -w" -o "$tmp/bin/actionlint" "$mod/cmd/actionlint" ;;
    helm)
      ld="-s -w -X $mod/internal/version.version=$ver -X $mod/internal/version.gitCommit=${commit:-unknown}"
      go build -trimpath "${NOOPT[@]}" -ldflags "$ld" -o "$tmp/bin/helm" "$mod/cmd/helm" ;;
    crane)
      go build -trimpath "${NOOPT[@]}" -ldflags "-s -w -X $mod/cmd/crane/cmd.Version=$ver" -o "$tmp/bin/crane" "$mod/cmd/crane" ;;
    syft)
      # syft's version command and its SBOMs' creator field ("Tool: syft-<version>").
      ld="-s -w -X main.version=${ver#v} -X main.gitCommit=${commit:-unknown} -X main.buildDate=${date:-unknown}"
      go build -trimpath "${NOOPT[@]}" -ldflags "$ld" -o "$tmp/bin/syft" "$mod/cmd/syft" ;;
    cosign)
      ld="-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$ver"
      ld+=" -X sigs.k8s.io/release-utils/version.gitCommit=${commit:-unknown}"
      ld+=" -X sigs.k8s.io/release-utils/version.buildDate=${date:-unknown}"
      go build -trimpath "${NOOPT[@]}" -ldflags "$ld" -o "$tmp/bin/cosign" "$mod/cmd/cosign" ;;
    *) die "unknown tool $tool" ;;
  esac
  cd "$OLM_DIR"
  printf '%s=%s\nhash=%s\nbuilt=%s\nseconds=%s\n' "$mod" "$ver" "${out##*-}" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((SECONDS - start))" > "$tmp/versions"
  touch "$tmp/.complete"
  rm -rf "$out"
  mv "$tmp" "$out"
  log "$tool built in $((SECONDS - start))s"
  # Keep the cache bounded: the 3 most recent builds of each tool stay.
  ls -1dt "$TOOLS_ROOT/$tool"/v*-*/ 2>/dev/null | tail -n +4 | while read -r old; do
    log "pruning old build ${old%/}"
    rm -rf "${old%/}"
  done
}

declare -A OUT
for t in "${TOOLS[@]}"; do
  [[ -n "${SPEC[$t]:-}" ]] || die "unknown tool '$t' (known: ${ALL_TOOLS[*]} ${RELEASE_TOOLS[*]})"
  OUT[$t]="$(tool_out "$t")"
done
ALL_HASH="$(for t in "${TOOLS[@]}"; do echo "$t ${OUT[$t]}"; done | sha256sum | cut -c1-12)"
ALL="$TOOLS_ROOT/all/$ALL_HASH"

all_complete() {
  local t
  [[ -f "$ALL/.complete" ]] || return 1
  for t in "${TOOLS[@]}"; do tool_complete "$t" "${OUT[$t]}" || return 1; done
}

if [[ "$FORCE" != 1 ]] && all_complete; then
  echo "$ALL/bin"
  exit 0
fi

command -v go >/dev/null || die "Go is not installed (need Go >= 1.26.3)"
mkdir -p "$TOOLS_ROOT"
TMP_DIRS=()
trap 'rm -rf "${TMP_DIRS[@]}"' EXIT

# One build of a tool at a time; a second caller waits for that tool only, then finds it
# complete. (A lock over all tools made `make test`'s OLM tools stage wait ~8 minutes for the
# release tools building in the background.)
for t in "${TOOLS[@]}"; do
  if [[ "$FORCE" == 1 ]] || ! tool_complete "$t" "${OUT[$t]}"; then
    mkdir -p "$TOOLS_ROOT/$t"
    exec 9>"$TOOLS_ROOT/$t/.build.lock"
    if command -v flock >/dev/null; then flock 9; fi
    if [[ "$FORCE" == 1 ]] || ! tool_complete "$t" "${OUT[$t]}"; then
      build_tool "$t" "${OUT[$t]}"
    fi
    exec 9>&-
  fi
done

tmp="$(mktemp -d "$TOOLS_ROOT/.all.XXXXXX")"; chmod 755 "$tmp"
TMP_DIRS+=("$tmp")
mkdir -p "$tmp/bin"
for t in "${TOOLS[@]}"; do
  for b in ${SPEC[$t]##*|}; do ln -s "${OUT[$t]}/bin/$b" "$tmp/bin/$b"; done
  head -1 "${OUT[$t]}/versions" >> "$tmp/versions"
  if [[ -d "${OUT[$t]}/crds" ]]; then ln -s "${OUT[$t]}/crds" "$tmp/crds"; fi
done
touch "$tmp/.complete"
mkdir -p "$TOOLS_ROOT/all"
rm -rf "$ALL"
mv "$tmp" "$ALL"
ls -1dt "$TOOLS_ROOT/all"/*/ 2>/dev/null | tail -n +6 | while read -r old; do rm -rf "${old%/}"; done
log "done: $ALL/bin"
echo "$ALL/bin"
