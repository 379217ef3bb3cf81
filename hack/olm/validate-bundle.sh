#!/usr/bin/env bash
# Validate an OLM bundle directory and, if given, a file-based catalog, offline:
#
#   hack/olm/validate-bundle.sh <bundle dir> [<catalog dir>]
#
#   1. bundle-validate   operator-framework/api validators: csv, crd, bundle, operatorhubv2,
#                        capabilities, categories, alpha-deprecated-apis, good-practices, plus the
#                        project's checklist, with k8s-version=$BUNDLE_K8S_VERSION (default 1.34)
#                        and, if $BUNDLE_DOCKERFILE is set, dockerfile=<it> (FROM scratch, LABELs
#                        mirror annotations.yaml). Any error OR warning fails.
#   2. scorecard         the six static scorecard tests (hack/olm/scorecard.sh); suggestions only
#                        fail with SCORECARD_STRICT=1.
#   3. opm validate      <catalog dir> (only when one is given)
#   4. opm render        <bundle dir> (renders the plain directory, as the e2e catalog does)
#   5. size              tar+gzip of the bundle dir < 1 MiB, and no file > 768 KiB.
#
# Every step runs even when an earlier one fails; a summary follows; exit 1 on any failure.
# Tools come from hack/olm/build-tools.sh (built on first use, instant afterwards).
set -uo pipefail

OLM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 || $# -gt 2 || ! -d "$1" || ( $# -eq 2 && ! -d "${2:-}" ) ]]; then
  echo "usage: $0 <bundle dir> [<catalog dir>]   (env: BUNDLE_K8S_VERSION=1.34, BUNDLE_DOCKERFILE=, SCORECARD_STRICT=0)" >&2
  exit 2
fi
BUNDLE="$1"
CATALOG="${2:-}"
K8S="${BUNDLE_K8S_VERSION:-1.34}"
OPTIONAL="k8s-version=$K8S"
# Development bundles reference images by tag (nothing is built here); releases pin digests.
if [[ "${BUNDLE_REQUIRE_DIGESTS:-true}" == false ]]; then OPTIONAL+=",require-digests=false"; fi
if [[ -n "${BUNDLE_DOCKERFILE:-}" ]]; then
  [[ -f "$BUNDLE_DOCKERFILE" ]] || { echo "validate-bundle: BUNDLE_DOCKERFILE=$BUNDLE_DOCKERFILE is not a file" >&2; exit 2; }
  OPTIONAL+=",dockerfile=$BUNDLE_DOCKERFILE"
fi
MAX_TGZ=$((1024 * 1024))
MAX_FILE=$((768 * 1024))

BIN="$(OLM_TOOLS="bundle-validate scorecard opm" "$OLM_DIR/build-tools.sh" | tail -n 1)" \
  || { echo "validate-bundle: building the tools failed" >&2; exit 1; }
[[ -x "$BIN/opm" ]] || { echo "validate-bundle: no tools in '$BIN'" >&2; exit 1; }

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
declare -a NAMES=() RESULTS=()
failed=0
record() { # record <step> <rc> <detail>
  local verdict=PASS
  if [[ "$2" != 0 ]]; then verdict=FAIL; failed=1; fi
  NAMES+=("$1"); RESULTS+=("$verdict  $3")
}
section() { printf '\n==== %s\n' "$*"; }

section "bundle-validate --optional-values $OPTIONAL $BUNDLE"
"$BIN/bundle-validate" --optional-values "$OPTIONAL" "$BUNDLE" | tee "$OUT/bv.txt"
rc=${PIPESTATUS[0]}
record bundle-validate "$rc" "$(grep '^bundle-validate: ' "$OUT/bv.txt" | sed -E 's/^bundle-validate: (PASS|FAIL): //' || echo "did not run (exit $rc)")"

section "scorecard $BUNDLE"
scorecard_args=()
if [[ "${SCORECARD_STRICT:-0}" == 1 ]]; then scorecard_args+=(--strict); fi
"$BIN/scorecard-test" --bundle "$BUNDLE" "${scorecard_args[@]}" | tee "$OUT/sc.txt"
rc=${PIPESTATUS[0]}
record scorecard "$rc" "$(grep '^scorecard: ' "$OUT/sc.txt" | sed -E 's/^scorecard: (PASS|FAIL): //' || echo "did not run (exit $rc)")"

if [[ -n "$CATALOG" ]]; then
  section "opm validate $CATALOG"
  "$BIN/opm" validate "$CATALOG" 2>&1 | tee "$OUT/opm-validate.txt"
  rc=${PIPESTATUS[0]}
  record "opm validate" "$rc" "$( [[ $rc == 0 ]] && echo "catalog is valid" || echo "$(grep -c . "$OUT/opm-validate.txt") line(s) of errors")"
fi

section "opm render $BUNDLE"
"$BIN/opm" render "$BUNDLE" > "$OUT/render.json" 2> "$OUT/render.err"
rc=$?
if [[ $rc == 0 ]]; then
  record "opm render" 0 "$(grep -c '"schema": "olm.bundle"' "$OUT/render.json") olm.bundle, $(wc -c < "$OUT/render.json") bytes of FBC"
else
  cat "$OUT/render.err"
  record "opm render" "$rc" "$(tail -n 1 "$OUT/render.err")"
fi

section "size $BUNDLE"
tgz=$(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$BUNDLE" -cf - . | gzip -9n | wc -c)
read -r big_size big_file < <(find "$BUNDLE" -type f -printf '%s %P\n' | sort -n | tail -n 1)
echo "bundle tar.gz: $tgz bytes (limit < $MAX_TGZ); largest file: ${big_file:-none} ${big_size:-0} bytes (limit <= $MAX_FILE)"
find "$BUNDLE" -type f -printf '%10s  %P\n' | sort -rn | head -n 5
rc=0
if (( tgz >= MAX_TGZ )); then echo "FAIL: bundle tar.gz is $tgz bytes, must be < $MAX_TGZ"; rc=1; fi
if (( ${big_size:-0} > MAX_FILE )); then echo "FAIL: $big_file is $big_size bytes, must be <= $MAX_FILE"; rc=1; fi
record size "$rc" "tar.gz $((tgz / 1024)) KiB of 1024; largest file ${big_file:-none} $(( ${big_size:-0} / 1024 )) KiB of 768"

section "summary"
if [[ -s "$OUT/bv.txt" ]]; then
  sed -n '/^VALIDATOR/,/^bundle-validate: /p' "$OUT/bv.txt" | sed '$d'
  echo
fi
for i in "${!NAMES[@]}"; do
  printf '%-16s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}"
done
if [[ $failed == 0 ]]; then
  echo "validate-bundle: PASS ($BUNDLE)"
else
  echo "validate-bundle: FAIL ($BUNDLE)"
fi
exit "$failed"
