#!/usr/bin/env bash
# SBOMs, signatures and attestations of OCI images, each verified, with tamper cases that must fail.
#
# Usage:
#   hack/release/attest.sh [options] IMAGE@sha256:DIGEST...
#
#   --out DIR           where the SBOMs go (default: target/attest); one <repo-basename>.spdx.json
#                       per image (the repository's last path element; with two images of one
#                       repository, <repo-basename>-<12 hex digits of the digest>.spdx.json)
#   --operator REF      this image holds the operator binary (built with `cargo auditable`): its
#                       SBOM must list the Rust crates of Cargo.lock with their versions (checked
#                       for `kube`) and the base's OS packages; prints the crate counts
#   --no-os-packages    the operator image has no OS packages (a static binary on scratch)
#   --sign MODE         key (default): a key pair made for this run, no transparency log, then
#                       the tamper cases; keyless: Sigstore's public good instance (Fulcio, Rekor)
#                       with the ambient OIDC token (GitHub Actions); none: SBOMs only
#   --identity ID       keyless: the certificate identity to verify (default, in GitHub Actions:
#                       $GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF, i.e. this release workflow at its tag)
#   --no-tamper         key mode: skip the tamper cases
#   --public-key-out F  key mode: keep the run's public key in F (to verify copies, e.g. in a mirror)
#
# Per image: `syft` writes an SPDX 2.3 JSON SBOM from the registry (no daemon); `pyspdxtools -i`
# (PyPI spdx-tools, in a venv under the cache, installed when missing) validates it; cosign signs
# the image by digest, attaches the SBOM as an attestation (`--type spdxjson`), and verifies both.
# One line per check: `attest: PASS|FAIL <what>`. Exit 1 when any check fails.
#
# Key mode (loopback registries, no internet): COSIGN_PASSWORD is random, the keys live in a temp
# dir and are deleted at exit; nothing is uploaded to Rekor and nothing is fetched from Fulcio, Rekor
# or TUF (--tlog-upload=false --use-signing-config=false; TUF_ROOT points into the temp dir, which
# stays empty). Verification skips the transparency log (--insecure-ignore-tlog). Tamper cases, each
# must FAIL verification (the script checks that it does):
#   - verify with another key pair;
#   - the image with one byte changed (one byte of its first layer's gzip header, so the files are
#     the same but the bytes and so the digest differ), pushed next to it: verify it by digest; copy
#     the original's signature to it (the cosign signature tag / the referrer re-pointed at it) and
#     verify; move the original's tag to it and verify by tag;
#   - verify the attestation with another predicate type (cyclonedx).
# The tamper cases write to the registry over its HTTP API, so they need a plain-HTTP (loopback)
# registry; they leave the original image, its signature and attestation untouched.
#
# Tools: $SYFT, $COSIGN, $CRANE when set, else `syft`/`cosign` from hack/olm/build-tools.sh
# (OLM_TOOLS="syft cosign", cached under ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/olm-tools).
# Registries on 127.0.0.1, localhost or [::1] are reached over plain HTTP.
#
# Env: SMBP_CACHE (cache root), SPDX_TOOLS_VERSION (default 0.8.5), CARGO (default cargo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
SPDX_TOOLS_VERSION="${SPDX_TOOLS_VERSION:-0.8.5}"
CARGO="${CARGO:-cargo}"
export PYTHONDONTWRITEBYTECODE=1  # tamper.py leaves no __pycache__ in the checkout

log() { echo "attest: $*" >&2; }
die() { log "ERROR: $*"; exit 2; }

OUT="$ROOT/target/attest" OPERATOR="" OS_PACKAGES=1 MODE=key IDENTITY="" TAMPER=1 PUB_OUT=""
IMAGES=()
while (($#)); do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --public-key-out) PUB_OUT="$2"; shift 2 ;;
    --operator) OPERATOR="$2"; shift 2 ;;
    --no-os-packages) OS_PACKAGES=0; shift ;;
    --sign) MODE="$2"; shift 2 ;;
    --identity) IDENTITY="$2"; shift 2 ;;
    --no-tamper) TAMPER=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) IMAGES+=("$1"); shift ;;
  esac
done
((${#IMAGES[@]})) || die "no image given (see --help)"
case "$MODE" in key|keyless|none) ;; *) die "--sign must be key, keyless or none" ;; esac
for ref in "${IMAGES[@]}"; do
  [[ "$ref" =~ ^[^@]+/[^@]+@sha256:[0-9a-f]{64}$ ]] || die "not an image by digest: $ref"
done
if [[ -n "$OPERATOR" ]]; then
  [[ " ${IMAGES[*]} " == *" $OPERATOR "* ]] || die "--operator $OPERATOR is not among the images"
fi
if [[ "$MODE" == keyless && -z "$IDENTITY" ]]; then
  [[ -n "${GITHUB_WORKFLOW_REF:-}" ]] || die "keyless: give --identity (or run in GitHub Actions)"
  IDENTITY="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_WORKFLOW_REF"
fi
ISSUER=https://token.actions.githubusercontent.com

# --- tools ---------------------------------------------------------------------------------------
if [[ -z "${SYFT:-}" || ( "$MODE" != none && -z "${COSIGN:-}" ) ]]; then
  TOOLS_BIN="$(OLM_TOOLS="syft cosign" "$ROOT/hack/olm/build-tools.sh")"
  SYFT="${SYFT:-$TOOLS_BIN/syft}" COSIGN="${COSIGN:-$TOOLS_BIN/cosign}"
fi
COSIGN="${COSIGN:-cosign}"

# spdx-tools in a venv of its own, keyed by version; installed only when missing.
VENV="$CACHE_ROOT/spdx-tools/$SPDX_TOOLS_VERSION"
mkdir -p "${VENV%/*}"
exec 8>"${VENV%/*}/.lock"
if command -v flock >/dev/null; then flock 8; fi
if [[ ! -f "$VENV/.complete" ]]; then
  log "installing spdx-tools $SPDX_TOOLS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "spdx-tools==$SPDX_TOOLS_VERSION" >&2
  touch "$VENV/.complete"
fi
exec 8>&-
PY="$VENV/bin/python"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/attest.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

FAILED=0
pass() { echo "attest: PASS $*"; }
fail() { echo "attest: FAIL $*"; FAILED=1; }
# check <what> <command...>: PASS when the command succeeds (its output goes to $TMP/last.log).
check() {
  local what="$1"; shift
  if "$@" >"$TMP/last.log" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/    /' "$TMP/last.log" | tail -n 20; fi
}
# refuse <what> <command...>: PASS when the command FAILS (a tamper case).
refuse() {
  local what="$1"; shift
  if "$@" >"$TMP/last.log" 2>&1; then
    fail "$what: verification succeeded but must fail"; sed 's/^/    /' "$TMP/last.log" | tail -n 20
  else
    pass "$what: rejected ($(grep -E '^Error: ' "$TMP/last.log" | tail -n 1 | cut -c8-200))"
  fi
}

host_of() { echo "${1%%/*}"; }
is_loopback() { [[ "$(host_of "$1")" =~ ^(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?$ ]]; }
repo_of() { local r="${1%@*}"; echo "${r#*/}"; }
digest_of() { echo "${1#*@}"; }
# Two images of one repository (a catalog's bundles of two releases) get their digest's first 12
# hex digits in the name.
declare -A REPO_COUNT=()
for ref in "${IMAGES[@]}"; do r="$(repo_of "$ref")"; REPO_COUNT[$r]=$(( ${REPO_COUNT[$r]:-0} + 1 )); done
sbom_of() {
  local r d; r="$(repo_of "$1")"; d="$(digest_of "$1")"
  if (( ${REPO_COUNT[$r]:-1} > 1 )); then echo "$OUT/${r##*/}-${d:7:12}.spdx.json"; else echo "$OUT/${r##*/}.spdx.json"; fi
}

# --- SBOMs ---------------------------------------------------------------------------------------
declare -A SEEN=()
for ref in "${IMAGES[@]}"; do
  sbom="$(sbom_of "$ref")"
  [[ -z "${SEEN[$sbom]:-}" ]] || die "two images would write $sbom"
  SEEN[$sbom]=1
  syft_env=(SYFT_CHECK_FOR_APP_UPDATE=false SYFT_CACHE_DIR="$TMP/syft-cache")
  if is_loopback "$ref"; then syft_env+=(SYFT_REGISTRY_INSECURE_USE_HTTP=true); fi
  start=$SECONDS
  if env "${syft_env[@]}" "$SYFT" scan -q "registry:$ref" -o "spdx-json=$sbom" 2>"$TMP/syft.log"; then
    pass "sbom $ref -> $sbom ($(jq '.packages | length' "$sbom") packages, $((SECONDS - start))s)"
  else
    fail "sbom $ref"; sed 's/^/    /' "$TMP/syft.log" | tail -n 20; continue
  fi
  check "spdx-validate $(basename "$sbom") (spdx-tools $SPDX_TOOLS_VERSION)" "$VENV/bin/pyspdxtools" -i "$sbom"
done

# --- the operator's SBOM: Rust crates and OS packages -------------------------------------------
if [[ -n "$OPERATOR" && -f "$(sbom_of "$OPERATOR")" ]]; then
  sbom="$(sbom_of "$OPERATOR")"
  kube="$(awk '/^\[\[package\]\]/{n=""} /^name = /{n=$3} /^version = / && n=="\"kube\"" {gsub(/"/,"",$3); print $3; exit}' "$ROOT/Cargo.lock")"
  [[ -n "$kube" ]] || die "kube not found in Cargo.lock"
  jq -r '.packages[] | (.externalRefs // [])[] | select(.referenceType=="purl") | .referenceLocator' "$sbom" \
    | sort -u > "$TMP/purls"
  { grep '^pkg:cargo/' "$TMP/purls" || true; } | sed 's|^pkg:cargo/||; s|[?#].*||' | sort -u > "$TMP/sbom-crates"
  # OS packages, by the package database syft read them from (their purls need /etc/os-release).
  jq -r '.packages[] | select((.sourceInfo // "") | test("(DPKG|RPM|APK) DB")) | .name + "@" + (.versionInfo // "")' \
    "$sbom" | sort -u > "$TMP/os-pkgs"
  os_pkgs="$(wc -l < "$TMP/os-pkgs")"
  if grep -qx "kube@$kube" "$TMP/sbom-crates"; then
    pass "operator sbom lists kube $kube (the version in Cargo.lock)"
  else
    fail "operator sbom lacks kube $kube (is the binary built with cargo auditable?)"
  fi
  if ((OS_PACKAGES)); then
    if ((os_pkgs > 0)); then
      pass "operator sbom lists $os_pkgs OS packages ($(head -n 6 "$TMP/os-pkgs" | paste -sd' ')...)"
      if ! grep -qE '^pkg:(deb|rpm|apk)/' "$TMP/purls"; then
        log "warning: the OS packages have no purl (no /etc/os-release in the image?): scanners may skip them"
      fi
    else
      fail "operator sbom lists no OS packages (deb/rpm/apk) of the base"
    fi
  fi
  # Cargo.lock, four ways: every package (all platforms, dev- and build-dependencies too); the
  # operator's graph on this platform with build-dependencies, its normal graph, and that without
  # proc-macros (what is linked into the binary).
  lock_all="$(grep -c '^\[\[package\]\]' "$ROOT/Cargo.lock")"
  host="$(rustc -vV | sed -n 's/^host: //p')"
  tree() { # offline first (no network here); a fresh CI runner may need to fetch the crates' metadata
    local args=(tree --locked -p smbp-operator --target "$host" --prefix none -e "$1" --format '{p}')
    (cd "$ROOT" && { "$CARGO" "${args[@]}" --offline 2>/dev/null || "$CARGO" "${args[@]}" 2>/dev/null; }) \
      | sed 's/ (\*)$//; s/ (proc-macro)$//; s/ (.*)$//; s/ v/@/' | sort -u; }
  tree normal,build > "$TMP/lock-build" || true
  tree normal > "$TMP/lock-normal" || true
  tree normal,no-proc-macro > "$TMP/lock-linked" || true
  n_sbom="$(wc -l < "$TMP/sbom-crates")" n_build="$(wc -l < "$TMP/lock-build")"
  n_normal="$(wc -l < "$TMP/lock-normal")" n_linked="$(wc -l < "$TMP/lock-linked")"
  missing="$(comm -13 "$TMP/sbom-crates" "$TMP/lock-linked" | paste -sd' ')"
  extra="$(comm -23 "$TMP/sbom-crates" "$TMP/lock-linked")"
  n_extra="$(grep -c . <<< "$extra" || true)"
  echo "attest: rust crates in the operator's sbom: $n_sbom (pkg:cargo, the operator itself included)"
  echo "attest:   Cargo.lock: $lock_all packages (every platform, dev- and build-dependencies); the operator's"
  echo "attest:   graph on $host (cargo tree): $n_build with build-dependencies, $n_normal normal,"
  echo "attest:   $n_linked normal without proc-macros (the crates linked into the binary)"
  echo "attest:   in the sbom, not linked: $n_extra ($(paste -sd' ' <<< "$extra"))"
  echo "attest:   (cargo auditable embeds the dependency graph from cargo metadata, each crate marked runtime"
  echo "attest:   or build; syft lists the runtime ones. Build-dependencies and most proc-macros are marked"
  echo "attest:   build; some proc-macros (and syn, quote) come out as runtime, and cargo metadata's"
  echo "attest:   feature unification adds a few optional crates that cargo tree does not link: the extras)"
  if ((n_linked > 0 && n_sbom > 0)) && [[ -z "$missing" ]]; then
    pass "operator sbom lists all $n_linked linked crates at their Cargo.lock versions"
  else
    fail "operator sbom misses linked crates: ${missing:-(cargo tree gave nothing)}"
  fi
fi

[[ "$MODE" != none ]] || { ((FAILED == 0)) || exit 1; exit 0; }

# --- signatures and attestations -----------------------------------------------------------------
# cosign talks to the registries only: no Rekor, Fulcio or TUF in key mode. Its caches go to $TMP.
export TUF_ROOT="$TMP/tuf" SIGSTORE_NO_CACHE=true
reg_flags() { if is_loopback "$1"; then echo "--allow-insecure-registry --allow-http-registry"; fi; }

if [[ "$MODE" == key ]]; then
  COSIGN_PASSWORD="$(head -c 32 /dev/urandom | base64)"
  export COSIGN_PASSWORD
  (cd "$TMP" && mkdir keys other && cd keys && "$COSIGN" generate-key-pair >/dev/null 2>&1 \
    && cd ../other && "$COSIGN" generate-key-pair >/dev/null 2>&1) || die "cosign generate-key-pair failed"
  KEY="$TMP/keys/cosign.key" PUB="$TMP/keys/cosign.pub" OTHER_PUB="$TMP/other/cosign.pub"
  if [[ -n "$PUB_OUT" ]]; then cp "$PUB" "$PUB_OUT"; fi
  sign_flags=(--key "$KEY" --tlog-upload=false --use-signing-config=false --yes)
  verify_flags=(--key "$PUB" --insecure-ignore-tlog=true --insecure-ignore-sct=true)
else
  sign_flags=(--yes)
  verify_flags=(--certificate-identity "$IDENTITY" --certificate-oidc-issuer "$ISSUER")
fi

for ref in "${IMAGES[@]}"; do
  # shellcheck disable=SC2046 # word splitting of the registry flags is intended
  check "sign $ref" "$COSIGN" sign "${sign_flags[@]}" $(reg_flags "$ref") "$ref"
  # shellcheck disable=SC2046
  check "attest spdxjson $ref" "$COSIGN" attest "${sign_flags[@]}" $(reg_flags "$ref") --type spdxjson \
    --predicate "$(sbom_of "$ref")" "$ref"
done
for ref in "${IMAGES[@]}"; do
  # shellcheck disable=SC2046
  check "verify $ref" "$COSIGN" verify "${verify_flags[@]}" $(reg_flags "$ref") "$ref"
  # shellcheck disable=SC2046
  check "verify-attestation spdxjson $ref" "$COSIGN" verify-attestation "${verify_flags[@]}" \
    $(reg_flags "$ref") --type spdxjson "$ref"
done

# --- tamper cases (key mode) ---------------------------------------------------------------------
if [[ "$MODE" == key && "$TAMPER" == 1 ]]; then
  ref="${OPERATOR:-${IMAGES[0]}}"
  is_loopback "$ref" || die "the tamper cases need a loopback (plain HTTP) registry: $ref"
  # shellcheck disable=SC2207
  rf=($(reg_flags "$ref"))
  refuse "verify with another key: $ref" "$COSIGN" verify --key "$OTHER_PUB" --insecure-ignore-tlog=true \
    "${rf[@]}" "$ref"
  refuse "verify-attestation with another key: $ref" "$COSIGN" verify-attestation --key "$OTHER_PUB" \
    --insecure-ignore-tlog=true "${rf[@]}" --type spdxjson "$ref"
  refuse "verify-attestation as cyclonedx (wrong predicate type): $ref" "$COSIGN" verify-attestation \
    "${verify_flags[@]}" "${rf[@]}" --type cyclonedx "$ref"

  # The image with one byte changed, over the registry's HTTP API.
  api="http://$(host_of "$ref")/v2/$(repo_of "$ref")"
  tampered="$("$PY" "$ROOT/hack/release/tamper.py" one-byte "$api" "$(digest_of "$ref")")" \
    || die "could not push the tampered image"
  tref="${ref%@*}@$tampered"
  echo "attest: tampered image (one byte of its first layer changed): $tref"
  refuse "verify the one-byte-changed image by digest: $tref" "$COSIGN" verify "${verify_flags[@]}" \
    "${rf[@]}" "$tref"
  "$PY" "$ROOT/hack/release/tamper.py" copy-signatures "$api" "$(digest_of "$ref")" "$tampered" \
    || die "could not copy the signatures to the tampered image"
  refuse "verify the one-byte-changed image with the original's signature copied to it: $tref" \
    "$COSIGN" verify "${verify_flags[@]}" "${rf[@]}" "$tref"
  refuse "verify-attestation of the one-byte-changed image with the original's attestation copied to it" \
    "$COSIGN" verify-attestation "${verify_flags[@]}" "${rf[@]}" --type spdxjson "$tref"
  "$PY" "$ROOT/hack/release/tamper.py" tag "$api" "$tampered" attest-tampered
  refuse "verify by a tag moved to the one-byte-changed image: ${ref%@*}:attest-tampered" \
    "$COSIGN" verify "${verify_flags[@]}" "${rf[@]}" "${ref%@*}:attest-tampered"
  # The original still verifies after all that.
  check "verify $ref (still, after the tamper cases)" "$COSIGN" verify "${verify_flags[@]}" "${rf[@]}" "$ref"
fi

if [[ "$MODE" == key ]]; then
  # cosign creates TUF_ROOT/<mirror host> as soon as it asks a TUF repository for Sigstore's root.
  if [[ -z "$(ls -A "$TUF_ROOT" 2>/dev/null)" ]]; then
    pass "cosign asked no TUF repository (TUF_ROOT stayed empty); no Rekor upload, no Fulcio (key pair)"
  else
    fail "cosign tried to reach a TUF repository: $(ls -A "$TUF_ROOT" | paste -sd' ')"
  fi
fi

if ((FAILED)); then log "FAILED"; exit 1; fi
log "all checks passed"
