#!/usr/bin/env bash
# `make release-local`: the release pipeline end to end on this machine, with no container
# runtime and no internet, on two loopback registries ("public" and "mirror"):
#
#   1. the operator, must-gather and Big Peer stand-in images (hack/release/images.sh) pushed to
#      the public registry, with the certification container checks;
#   2. the bundles regenerated with every image by digest (`bundle-gen --output`), the bundle
#      images built from them, then the catalog regenerated with the bundle images by digest (the
#      previous release's too: its image built from releases/<N-1>/bundle, as it was released)
#      and its image built;
#   3. `smbp-operator images --require-digests` must list exactly the images built;
#   4. SBOMs, signatures and attestations of every image, verified, with the tamper cases
#      (hack/release/attest.sh, a key pair made for the run);
#   5. `smbp-operator mirror-config` for the mirror registry; every image copied there by digest
#      with its signatures and attestation (the cosign v3 referrers tag `sha256-<digest>`);
#      the public registry stopped; then every mirrored image must resolve to the same digest
#      and verify with cosign from the mirror alone;
#   6. the air-gapped install (hack/release/mirror-install.sh): OLM installs from the catalog
#      pulled out of the mirror, the operator out of the mirrored image makes a BigPeer Ready,
#      and every image the install referenced resolves in the mirror and verifies with cosign;
#      it needs the local control plane (make cluster-up; OLM is started if needed);
#   7. reproducibility: all images built again into a fresh registry (images.sh --twice).
#
# Prints each artifact with its digest and each verification's result; output in --out DIR
# (default ${SMBP_CACHE:-~/.cache/smbp-operator}/release/local).
#
# Usage: hack/release/local.sh [--bin PATH] [--out DIR] [--no-twice] [--no-install]
#   --bin: an operator binary built with `cargo auditable` (default: images.sh builds one)
#   --no-install: skip step 6 (no control plane needed)
# Env: SMBP_REGISTRY_PORT (5001, public), SMBP_MIRROR_PORT (5002), SMBP_REPRO_PORT (5003), SMBP_CACHE.
set -euo pipefail
umask 022
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=hack/release/lib.sh
source "$HACK_DIR/release/lib.sh"

CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
PUBLIC_PORT="${SMBP_REGISTRY_PORT:-5001}"
MIRROR_PORT="${SMBP_MIRROR_PORT:-5002}"
REPRO_PORT="${SMBP_REPRO_PORT:-5003}"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -1)"
CREATED_AT="$(sed -n 's/^BUNDLE_CREATED_AT ?= //p' "$REPO/Makefile")"
BIN="" OUT="$CACHE_ROOT/release/local" TWICE=1 INSTALL=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-twice) TWICE=0; shift ;;
    --no-install) INSTALL=0; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smbp-release-local.XXXXXX")"
REGISTRY_PIDS=()
cleanup() { registry_stop_all || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$OUT"; mkdir -p "$OUT"
STEP_TIMES="$OUT/times.tsv"
: > "$STEP_TIMES"
PUBLIC="127.0.0.1:$PUBLIC_PORT" MIRROR="127.0.0.1:$MIRROR_PORT"

step_begin "tools (crane, opm, syft, cosign)"
TOOLS_BIN="$(OLM_TOOLS="crane opm syft cosign" "$HACK_DIR/olm/build-tools.sh" | tail -n 1)"
export CRANE="$TOOLS_BIN/crane" OPM="$TOOLS_BIN/opm" SYFT="$TOOLS_BIN/syft" COSIGN="$TOOLS_BIN/cosign"
step_end

registry_start "$PUBLIC_PORT" "$WORK/public"
PUBLIC_PID="${REGISTRY_PIDS[-1]}"
registry_start "$MIRROR_PORT" "$WORK/mirror"

# digest_of <images.tsv> <name>: the name's reference by digest.
digest_of() { awk -F'\t' -v n="$2" '$1 == n { print $3 }' "$1"; }

# 1. Operator, must-gather and stand-ins. The binary comes back in $OUT/bin for bundle-gen.
args=(--registry "$PUBLIC" --out "$OUT/images-1")
[[ -z "$BIN" ]] || args+=(--bin "$BIN")
"$HACK_DIR/release/images.sh" "${args[@]}" --images operator,must-gather,standins --keep-bin "$OUT/bin"
BIN="$OUT/bin/smbp-operator"
IMAGES1="$OUT/images-1/images.tsv"

# 2. Bundles by digest, their images, then the catalog by digest and its image.
# The previous release's bundle, as released (releases/<N-1>/bundle is immutable): its image is
# built here and the catalog names it by digest, so that a mirror can resolve every bundle.
# (Its CSV names the images published with that release; a mirrored install takes the head.)
prev_dir="$(ls -d "$REPO"/releases/*/bundle | sort -V | tail -n 1)"
PREV_VERSION="$(basename "$(dirname "$prev_dir")")"
VERSION="$PREV_VERSION" "$HACK_DIR/release/images.sh" --registry "$PUBLIC" --out "$OUT/images-0" --bin "$BIN" \
  --no-checks --images bundle --bundle "$prev_dir"
PREV_BUNDLE="$(digest_of "$OUT/images-0/images.tsv" smbp-operator-bundle)"
step_begin "bundles and catalog pinned by digest"
gen=(bundle-gen --version "$VERSION" --created-at "$CREATED_AT" --replaces "smbp-operator.v$PREV_VERSION"
  --operator-image "$(digest_of "$IMAGES1" smbp-operator)"
  --must-gather-image "$(digest_of "$IMAGES1" smbp-operator-must-gather)")
# Each RELATED_IMAGE_* of the committed CSV, pointed at its stand-in (same path and tag).
while read -r var value; do
  dref="$(awk -F'\t' -v t="$PUBLIC/${value#*/}" '$2 == t { print $3 }' "$IMAGES1")"
  [[ -n "$dref" ]] || rel_die "no stand-in was built for $var=$value"
  gen+=(--related-image "$var=$dref")
done < <(grep -h -A1 'name: RELATED_IMAGE_' "$REPO"/bundle/manifests/*.clusterserviceversion.yaml |
  sed -n 's/^[[:space:]]*- name:[[:space:]]*//p; s/^[[:space:]]*value:[[:space:]]*//p' | paste - - | LC_ALL=C sort -u)
mkdir -p "$WORK/gen1" "$WORK/gen2"
for g in gen1 gen2; do
  cp -r "$REPO/releases" "$WORK/$g/"
  sed -i "s|^bundleImage: .*|bundleImage: $PREV_BUNDLE|" "$WORK/$g/releases/$PREV_VERSION/release.yaml"
done
"$BIN" "${gen[@]}" --output "$WORK/gen1" >/dev/null
step_end
"$HACK_DIR/release/images.sh" --registry "$PUBLIC" --out "$OUT/images-2" --bin "$BIN" --no-checks \
  --images bundle,bundle-openshift --bundle "$WORK/gen1/bundle" --bundle-openshift "$WORK/gen1/bundle-openshift"
IMAGES2="$OUT/images-2/images.tsv"
BUNDLE="$(digest_of "$IMAGES2" smbp-operator-bundle)"
"$BIN" "${gen[@]}" --bundle-image "$BUNDLE" --output "$WORK/gen2" >/dev/null
diff -r "$WORK/gen1/bundle" "$WORK/gen2/bundle" >/dev/null ||
  rel_die "the bundle changed when only the catalog's bundle image did"
"$HACK_DIR/release/images.sh" --registry "$PUBLIC" --out "$OUT/images-3" --bin "$BIN" \
  --images catalog --catalog "$WORK/gen2/catalog"
CATALOG="$(digest_of "$OUT/images-3/images.tsv" smbp-operator-catalog)"
if grep -E '^image: ' "$WORK/gen2/catalog/smbp-operator/catalog.yaml" | grep -v '@sha256:'; then
  rel_die "the catalog names a bundle image by tag (above)"
fi
cat "$OUT/images-0/images.tsv" "$IMAGES1" "$IMAGES2" "$OUT/images-3/images.tsv" > "$OUT/built.tsv"
cp -r "$WORK/gen2/bundle" "$WORK/gen2/bundle-openshift" "$WORK/gen2/catalog" "$OUT/"

# 3. The release's image list must be exactly what was built.
step_begin "smbp-operator images --require-digests"
"$BIN" images --bundle "$OUT/bundle" --bundle "$OUT/bundle-openshift" --catalog "$OUT/catalog" \
  --bundle-image "$BUNDLE" \
  --bundle-openshift-image "$(digest_of "$IMAGES2" smbp-operator-bundle-openshift)" \
  --catalog-image "$CATALOG" --require-digests > "$OUT/images.txt"
if ! diff <(cut -f2 "$OUT/images.txt" | sort -u) <(cut -f3 "$OUT/built.tsv" | sort -u); then
  rel_die "smbp-operator images (<) and the images built (>) differ"
fi
echo "images: the release lists exactly the $(wc -l < "$OUT/images.txt") images built, all by digest"
step_end

# 4. SBOMs, signatures, attestations, tamper cases.
step_begin "SBOMs, signatures, attestations (attest.sh)"
mapfile -t refs < <(cut -f2 "$OUT/images.txt")
"$HACK_DIR/release/attest.sh" --out "$OUT/sbom" --public-key-out "$OUT/cosign.pub" \
  --operator "$(digest_of "$IMAGES1" smbp-operator)" "${refs[@]}" | tee "$OUT/attest.txt"
step_end

# 5. The air-gapped mirror.
step_begin "mirror: configuration, copy with signatures, public registry stopped, verify"
"$BIN" mirror-config --mirror "$MIRROR" --images "$OUT/images.txt" --output "$OUT/mirror" \
  --kustomize-base "$WORK/gen2/config/default" >/dev/null
while IFS='=' read -r src dst; do
  "$CRANE" copy "$src" "$dst" 2>/dev/null
  # cosign v3 keeps signatures and attestations as referrers; on a registry without the
  # referrers API they are an index tagged sha256-<digest>.
  sigtag="sha256-${src##*@sha256:}"
  "$CRANE" copy "${src%@*}:$sigtag" "${dst%@*}:$sigtag" 2>/dev/null ||
    rel_die "no signature index $sigtag for $src"
done < "$OUT/mirror/mapping.txt"
kill "$PUBLIC_PID"; wait "$PUBLIC_PID" 2>/dev/null || true
if curl -fsS -o /dev/null "http://$PUBLIC/v2/" 2>/dev/null; then rel_die "the public registry still answers"; fi
echo "mirror: public registry $PUBLIC stopped"
export TUF_ROOT="$WORK/tuf" SIGSTORE_NO_CACHE=true
fails=0
while IFS='=' read -r src dst; do
  got="$("$CRANE" digest "$dst" 2>/dev/null || true)"
  if [[ "$got" != "${src##*@}" ]]; then echo "mirror: FAIL $dst resolves to '${got:-nothing}'"; fails=$((fails + 1)); continue; fi
  for verb in verify verify-attestation; do
    extra=(); [[ $verb == verify ]] || extra=(--type spdxjson)
    if "$COSIGN" "$verb" --key "$OUT/cosign.pub" --insecure-ignore-tlog=true --insecure-ignore-sct=true \
      --allow-insecure-registry --allow-http-registry "${extra[@]}" "$dst" >/dev/null 2>&1; then
      echo "mirror: PASS $verb $dst"
    else
      echo "mirror: FAIL $verb $dst"; fails=$((fails + 1))
    fi
  done
done < "$OUT/mirror/mapping.txt"
((fails == 0)) || rel_die "$fails mirror verification(s) failed"
step_end

# 6. The air-gapped install through OLM, from the mirror alone.
if [[ $INSTALL == 1 ]]; then
  step_begin "mirrored install through OLM (mirror-install.sh)"
  "$HACK_DIR/release/mirror-install.sh" --out "$OUT" --mirror "$MIRROR" | tee "$OUT/mirror-install.txt"
  step_end
fi

# 7. Reproducibility: everything again, twice, into a fresh registry of its own.
if [[ $TWICE == 1 ]]; then
  SMBP_REGISTRY_PORT="$REPRO_PORT" "$HACK_DIR/release/images.sh" --twice --bin "$BIN" --out "$OUT/repro" \
    --bundle "$OUT/bundle" --bundle-openshift "$OUT/bundle-openshift" --catalog "$OUT/catalog"
fi

echo
echo "release-local: artifacts (by digest)"
column -t -s $'\t' "$OUT/images.txt"
echo "SBOMs: $OUT/sbom; public key: $OUT/cosign.pub; mirror settings: $OUT/mirror"
column -t -s $'\t' "$STEP_TIMES"
