#!/usr/bin/env bash
# The release workflow's mode of hack/release/local.sh (--publish), run here against loopback
# registries standing in for the publishing registry (quay.io/smbp) and the vendor's (quay.io/ditto),
# so that what .github/workflows/release.yml runs is tested on this machine too. Only the base
# (UBI, which cannot be pulled here), keyless signing and the real registries are left to the
# workflow.
#
#   1. the "vendor" registry gets a stand-in for each Big Peer image the committed CSV names
#      (same path and tag); the "publishing" registry gets the previous release's bundle image,
#      tagged v<N-1> (what that release published);
#   2. `local.sh --publish 127.0.0.1:<publish port> --vendor-registry 127.0.0.1:<vendor port>
#      --sign key --no-tamper --no-twice`: the images are built in a loopback registry of their own, the
#      bundles and catalogs name the publishing registry by digest, every image is copied there
#      by digest and tagged v<version>, then signed, attested and verified there;
#   3. checks: every image of the release resolves by tag and by digest in the publishing
#      registry; nothing the bundles, catalogs or image list name points at the build's own
#      registry; the Big Peer images are named by their vendor repository with the digest of the
#      vendor's tag; the operator image's digest equals --expect-operator's (the build of
#      `make release-local`: same binary and base, so the same image whatever the registry).
#
# Usage: hack/release/publish-selftest.sh --bin PATH --out DIR [--expect-operator DIGEST]
# Env: SMBP_REGISTRY_PORT (the build's own registry, 5001), SMBP_MIRROR_PORT (publishing, 5002),
#      SMBP_REPRO_PORT (vendor, 5003): local.sh's ports, all free again when its step 8 runs this.
set -euo pipefail
umask 022
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=hack/release/lib.sh
source "$HACK_DIR/release/lib.sh"

BIN="" OUT="" EXPECT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --expect-operator) EXPECT="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ -n "$BIN" && -n "$OUT" ]] || rel_die "--bin and --out are required"
[[ -n "${CRANE:-}" && -n "${OPM:-}" ]] ||
  { TOOLS_BIN="$(OLM_TOOLS="crane opm" "$HACK_DIR/olm/build-tools.sh" | tail -n 1)"; CRANE="$TOOLS_BIN/crane" OPM="$TOOLS_BIN/opm"; }
export CRANE OPM
BUILD="127.0.0.1:${SMBP_REGISTRY_PORT:-5001}"
PUBLISH="127.0.0.1:${SMBP_MIRROR_PORT:-5002}"
VENDOR="127.0.0.1:${SMBP_REPRO_PORT:-5003}"

rm -rf "$OUT"
run_begin smbp-publish-selftest "$OUT"

step_begin "the vendor's images and the previous release, as published"
registry_start "${PUBLISH##*:}" "$WORK/publish"
registry_start "${VENDOR##*:}" "$WORK/vendor"
"$HACK_DIR/release/images.sh" --registry "$VENDOR" --bin "$BIN" --no-checks --images standins \
  --out "$OUT/vendor" 2>"$WORK/vendor.log" >/dev/null || { cat "$WORK/vendor.log" >&2; rel_die "vendor stand-ins"; }
prev_dir="$(find "$REPO/releases" -mindepth 2 -maxdepth 2 -name bundle -type d | sort -V | tail -n 1)"
prev="$(basename "$(dirname "$prev_dir")")"
VERSION="$prev" "$HACK_DIR/release/images.sh" --registry "$PUBLISH" --bin "$BIN" --no-checks --images bundle \
  --bundle "$prev_dir" --out "$OUT/prev" 2>"$WORK/prev.log" >/dev/null || { cat "$WORK/prev.log" >&2; rel_die "previous bundle"; }
step_end

# (The tamper cases ran on the same attest.sh in release-local's step 4.)
"$HACK_DIR/release/local.sh" --publish "$PUBLISH" --vendor-registry "$VENDOR" --sign key --no-tamper --no-twice \
  --bin "$BIN" --out "$OUT/publish"

step_begin "checks of what was published"
fails=0
check() { if "$@"; then echo "publish: PASS $WHAT"; else echo "publish: FAIL $WHAT"; fails=$((fails + 1)); fi; }
while IFS=$'\t' read -r name ref dref; do
  tagged="$PUBLISH${ref#"$BUILD"}" digest="${dref##*@}"
  WHAT="$name $tagged resolves to $digest"
  check test "$("$CRANE" digest "$tagged" 2>/dev/null)" == "$digest"
done < <(cat "$OUT/publish/built.tsv" "$OUT/publish/extra.tsv")
WHAT="nothing names the build's registry $BUILD (bundles, catalogs, image list)"
check test -z "$(grep -rl "$BUILD" "$OUT/publish/bundle" "$OUT/publish/bundle-openshift" "$OUT/publish/catalog" "$OUT/publish/images.txt")"
while IFS=$'\t' read -r name ref _; do
  value="${name#standin/}"; tag="${ref##*:}"
  digest="$("$CRANE" digest "$ref")"
  WHAT="$name is named quay.io/$value@$digest (the vendor's repository, its tag's digest)"
  check grep -qxF "quay.io/$value@$digest" <(cut -f2 "$OUT/publish/images.txt")
  WHAT="the CSV's RELATED_IMAGE for $value:$tag is pinned"
  check grep -qF "value: quay.io/$value@$digest" "$OUT/publish/bundle/manifests/smbp-operator.clusterserviceversion.yaml"
done < "$OUT/vendor/images.tsv"
if [[ -n "$EXPECT" ]]; then
  got="$(awk -F'\t' '$1 == "smbp-operator" { print $3 }' "$OUT/publish/built.tsv")"
  WHAT="the published operator image is the one release-local built ($EXPECT)"
  check test "${got##*@}" == "$EXPECT"
fi
((fails == 0)) || rel_die "$fails publish check(s) failed"
step_end
