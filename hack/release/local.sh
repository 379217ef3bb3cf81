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
#   7. reproducibility: all images built again, twice, into a fresh registry (images.sh --twice),
#      each digest equal to the first build's; with --two-checkouts, the binary is first built
#      again from a copy of the checkout at another path and must be byte-identical;
#   8. the release workflow's mode (--publish, below) on loopback stand-ins for the publishing and
#      the vendor's registries (hack/release/publish-selftest.sh).
#
# Prints each artifact with its digest and each verification's result; output in --out DIR
# (default ${SMBP_CACHE:-~/.cache/smbp-operator}/release/local).
#
# The release workflow (.github/workflows/release.yml) runs this same script with --publish:
# the images are built the same way into the loopback registry, but every reference written into
# the bundles and the catalog names the publishing repository (PREFIX/<image>@sha256:...; an
# image's digest does not depend on its registry); the Big Peer images are the vendor's, pinned
# by the digest their tag has in the vendor's registry (no stand-ins); the previous release's
# bundle is the published one, by digest; after step 3 every image is copied by digest to
# PREFIX/<image>:v<version>, then signed and attested there (step 4, keyless by default).
# Steps 5 and 6 (the mirror, the install from it) are skipped: they need a public registry that
# can be stopped and a control plane; `make release-local` proves them on the same code.
#
# Usage: hack/release/local.sh [--bin PATH] [--out DIR] [--no-twice] [--two-checkouts] [--no-install]
#          [--no-publish-test] [--no-tamper]
#          [--base REF] [--must-gather-base REF] [--publish PREFIX] [--sign key|keyless]
#   --bin: an operator binary built with `cargo auditable` (default: images.sh builds one)
#   --no-install: skip step 6 (no control plane needed)
#   --two-checkouts: step 7 also rebuilds the binary from a second checkout (not with --bin; about
#      as long as the first release build, so not in `make test`; the release workflow uses it)
#   --base, --must-gather-base: the images' bases (images.sh; default: the Debian bases made here)
#   --publish PREFIX: the release workflow's mode, above (e.g. quay.io/smbp; crane must be
#      logged in to it)
#   --sign: attest.sh's mode (default: key, with the tamper cases; with --publish: keyless)
#   --no-tamper: key mode without the tamper cases
#   --vendor-registry HOST: with --publish, resolve the Big Peer images' digests at HOST (same
#      path and tag: a mirror of the vendor's registry) instead of the vendor's registry; the
#      bundles still name the vendor's repositories
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
BIN="" OUT="$CACHE_ROOT/release/local" TWICE=1 TWO_CHECKOUTS=0 INSTALL=1 PREFIX="" SIGN="" BASES=() VENDOR_REGISTRY="" PUBLISH_TEST=1 TAMPER=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-twice) TWICE=0; shift ;;
    --two-checkouts) TWO_CHECKOUTS=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    --no-publish-test) PUBLISH_TEST=0; shift ;;
    --no-tamper) TAMPER=0; shift ;;
    --base|--must-gather-base) BASES+=("$1" "$2"); shift 2 ;;
    --publish) PREFIX="${2%/}"; shift 2 ;;
    --sign) SIGN="$2"; shift 2 ;;
    --vendor-registry) VENDOR_REGISTRY="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

[[ $TWO_CHECKOUTS == 0 || -z "$BIN" ]] || { echo "local.sh: --two-checkouts builds the binary: not with --bin" >&2; exit 2; }
rm -rf "$OUT"
run_begin smbp-release-local "$OUT"
PUBLIC="127.0.0.1:$PUBLIC_PORT" MIRROR="127.0.0.1:$MIRROR_PORT"
# One run makes the Debian bases once (images.sh), except step 7, which makes them twice itself.
export SMBP_BASES_DIR="${SMBP_BASES_DIR:-$WORK/bases}"
PUBLISH=0
if [[ -n "$PREFIX" ]]; then PUBLISH=1 INSTALL=0; else PREFIX="$PUBLIC"; fi
SIGN="${SIGN:-$( ((PUBLISH)) && echo keyless || echo key)}"
# named <ref in the loopback registry>: the reference the release names it by (under PREFIX).
named() { echo "$PREFIX${1#"$PUBLIC"}"; }

step_begin "tools (crane, opm, syft, cosign)"
TOOLS_BIN="$(OLM_TOOLS="crane opm syft cosign" "$HACK_DIR/olm/build-tools.sh" | tail -n 1)"
export CRANE="$TOOLS_BIN/crane" OPM="$TOOLS_BIN/opm" SYFT="$TOOLS_BIN/syft" COSIGN="$TOOLS_BIN/cosign"
step_end

registry_start "$PUBLIC_PORT" "$WORK/public"
PUBLIC_PID="${REGISTRY_PIDS[-1]}"
((PUBLISH)) || registry_start "$MIRROR_PORT" "$WORK/mirror"

# digest_of <images.tsv> <name>: the name's reference by digest.
digest_of() { awk -F'\t' -v n="$2" '$1 == n { print $3 }' "$1"; }

# 1. Operator, must-gather and (not when publishing) stand-ins. The binary comes back in $OUT/bin
# for bundle-gen.
args=(--registry "$PUBLIC" --out "$OUT/images-1" "${BASES[@]}")
[[ -z "$BIN" ]] || args+=(--bin "$BIN")
step1=operator,must-gather,standins; ((PUBLISH == 0)) || step1=operator,must-gather
"$HACK_DIR/release/images.sh" "${args[@]}" --images "$step1" --keep-bin "$OUT/bin"
BIN="$OUT/bin/smbp-operator"
IMAGES1="$OUT/images-1/images.tsv"

# 2. Bundles by digest, their images, then the catalog by digest and its image.
# The previous release's bundle, as released (releases/<N-1>/bundle is immutable): its image is
# built here and the catalog names it by digest, so that a mirror can resolve every bundle.
# (Its CSV names the images published with that release; a mirrored install takes the head.)
prev_dir="$(ls -d "$REPO"/releases/*/bundle | sort -V | tail -n 1)"
PREV_VERSION="$(basename "$(dirname "$prev_dir")")"
: > "$OUT/prev.tsv"
if ((PUBLISH)); then
  # The bundle image published with that release: by the digest its release.yaml records, else
  # by the digest of its tag under PREFIX.
  PREV_BUNDLE="$(sed -n 's/^bundleImage: //p' "$REPO/releases/$PREV_VERSION/release.yaml")"
  if [[ "$PREV_BUNDLE" != *@sha256:* ]]; then
    d="$("$CRANE" digest "$PREFIX/smbp-operator-bundle:v$PREV_VERSION")" ||
      rel_die "the previous release's bundle $PREFIX/smbp-operator-bundle:v$PREV_VERSION is not published"
    PREV_BUNDLE="$PREFIX/smbp-operator-bundle@$d"
  fi
else
  VERSION="$PREV_VERSION" "$HACK_DIR/release/images.sh" --registry "$PUBLIC" --out "$OUT/images-0" --bin "$BIN" \
    --no-checks --images bundle --bundle "$prev_dir"
  cp "$OUT/images-0/images.tsv" "$OUT/prev.tsv"
  PREV_BUNDLE="$(digest_of "$OUT/prev.tsv" smbp-operator-bundle)"
fi
step_begin "bundles and catalog pinned by digest"
gen=(bundle-gen --version "$VERSION" --created-at "$CREATED_AT" --replaces "smbp-operator.v$PREV_VERSION"
  --operator-image "$(named "$(digest_of "$IMAGES1" smbp-operator)")"
  --must-gather-image "$(named "$(digest_of "$IMAGES1" smbp-operator-must-gather)")")
# Each RELATED_IMAGE_* of the committed CSV: locally its stand-in (same path and tag); when
# publishing, the vendor's image by the digest of its tag.
while read -r var value; do
  if ((PUBLISH)); then
    d="$("$CRANE" digest "${VENDOR_REGISTRY:-${value%%/*}}/${value#*/}")" || rel_die "cannot resolve $var=$value"
    dref="${value%:*}@$d"
  else
    dref="$(awk -F'\t' -v t="$PUBLIC/${value#*/}" '$2 == t { print $3 }' "$IMAGES1")"
    [[ -n "$dref" ]] || rel_die "no stand-in was built for $var=$value"
  fi
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
"$BIN" "${gen[@]}" --bundle-image "$(named "$BUNDLE")" --output "$WORK/gen2" >/dev/null
diff -r "$WORK/gen1/bundle" "$WORK/gen2/bundle" >/dev/null ||
  rel_die "the bundle changed when only the catalog's bundle image did"
"$HACK_DIR/release/images.sh" --registry "$PUBLIC" --out "$OUT/images-3" --bin "$BIN" "${BASES[@]}" \
  --images catalog --catalog "$WORK/gen2/catalog"
CATALOG="$(digest_of "$OUT/images-3/images.tsv" smbp-operator-catalog)"
if grep -E '^image: ' "$WORK/gen2/catalog/smbp-operator/catalog.yaml" | grep -v '@sha256:'; then
  rel_die "the catalog names a bundle image by tag (above)"
fi
cat "$IMAGES1" "$IMAGES2" "$OUT/images-3/images.tsv" > "$OUT/built.tsv"
# The OpenShift index: the same catalog listing the OpenShift bundle as this release, which Red
# Hat's preflight installs from (.github/workflows/certification.yml). Not what users install from,
# so not in `smbp-operator images`; signed and attested with the others.
mkdir -p "$WORK/gen3"; cp -r "$WORK/gen1/releases" "$WORK/gen3/"
"$BIN" "${gen[@]}" --bundle-image "$(named "$(digest_of "$IMAGES2" smbp-operator-bundle-openshift)")" \
  --catalog-flavour openshift --output "$WORK/gen3" >/dev/null
"$HACK_DIR/release/images.sh" --registry "$PUBLIC" --out "$OUT/images-4" --bin "$BIN" "${BASES[@]}" \
  --images catalog --catalog "$WORK/gen3/catalog" --catalog-repo smbp-operator-catalog-openshift
cp "$OUT/images-4/images.tsv" "$OUT/extra.tsv"
# (config/ and charts/ too: install.yaml and the Helm chart of the release, the operator by digest.)
cp -r "$WORK/gen2/bundle" "$WORK/gen2/bundle-openshift" "$WORK/gen2/catalog" "$WORK/gen2/config" "$WORK/gen2/charts" "$OUT/"

# 3. The release's image list must be exactly what was built.
step_begin "smbp-operator images --require-digests"
"$BIN" images --bundle "$OUT/bundle" --bundle "$OUT/bundle-openshift" --catalog "$OUT/catalog" \
  --bundle-image "$(named "$BUNDLE")" \
  --bundle-openshift-image "$(named "$(digest_of "$IMAGES2" smbp-operator-bundle-openshift)")" \
  --catalog-image "$(named "$CATALOG")" --require-digests > "$OUT/images.txt"
# Expected: what was built (named as released), the previous release's bundle and, when
# publishing, the vendor's Big Peer images.
{ cut -f3 "$OUT/built.tsv" "$OUT/prev.tsv" | while read -r r; do named "$r"; done
  ((PUBLISH == 0)) || echo "$PREV_BUNDLE"
  ((PUBLISH == 0)) || printf '%s\n' "${gen[@]}" | sed -n 's/^RELATED_IMAGE_[A-Z0-9_]*=//p'
} | sort -u > "$WORK/expected.txt"
if ! diff <(cut -f2 "$OUT/images.txt" | sort -u) "$WORK/expected.txt"; then
  rel_die "smbp-operator images (<) and the images of the release (>) differ"
fi
echo "images: the release lists exactly its $(wc -l < "$OUT/images.txt") images (built here, the previous bundle$( ((PUBLISH)) && echo ", the vendor's")), all by digest"
step_end

# Ours, by digest as the release names them (what is copied, signed and attested).
while IFS=$'\t' read -r _ _ dref; do named "$dref"; done < <(cat "$OUT/built.tsv" "$OUT/prev.tsv" "$OUT/extra.tsv") |
  sort -u > "$OUT/ours.txt"
if ((PUBLISH)); then
  step_begin "publish: copy each image by digest to $PREFIX, tagged v$VERSION"
  while IFS=$'\t' read -r name ref dref; do
    dest="$(named "$ref")"
    "$CRANE" copy "$dref" "$dest" || rel_die "crane copy $dref $dest failed"
    got="$("$CRANE" digest "$dest")"
    [[ "$got" == "${dref##*@}" ]] || rel_die "$dest is $got, not ${dref##*@}"
    echo "publish: $name $dest@$got"
  done < <(cat "$OUT/built.tsv" "$OUT/extra.tsv")
  step_end
fi

# 4. SBOMs, signatures, attestations, tamper cases.
step_begin "SBOMs, signatures, attestations (attest.sh)"
# Locally the stand-ins are ours too (signed here, like the vendor's would be by the vendor).
if ((PUBLISH)); then mapfile -t refs < "$OUT/ours.txt"
else mapfile -t refs < <({ cut -f2 "$OUT/images.txt"; cut -f3 "$OUT/extra.tsv"; } | sort -u); fi
attest=(--out "$OUT/sbom" --sign "$SIGN" --operator "$(named "$(digest_of "$IMAGES1" smbp-operator)")")
[[ "$SIGN" != key ]] || attest+=(--public-key-out "$OUT/cosign.pub")
[[ $TAMPER == 1 ]] || attest+=(--no-tamper)
"$HACK_DIR/release/attest.sh" "${attest[@]}" "${refs[@]}" | tee "$OUT/attest.txt"
step_end

# 5. The air-gapped mirror.
if ((PUBLISH == 0)); then
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
fi

# 6. The air-gapped install through OLM, from the mirror alone.
if [[ $INSTALL == 1 ]]; then
  step_begin "mirrored install through OLM (mirror-install.sh)"
  "$HACK_DIR/release/mirror-install.sh" --out "$OUT" --mirror "$MIRROR" | tee "$OUT/mirror-install.txt"
  step_end
fi

# 7. Reproducibility: everything again, twice, into a fresh registry of its own; each digest
# equal to the first build's (steps 1 and 2), image by image. With --two-checkouts, the binary is
# first built again from a copy of the checkout at another path (the operator crate recompiled;
# its dependencies are the target dir's), so the operator image's digest also proves that the
# checkout's path, and the cache cargo-auditable came from, do not enter the binary. The copy has
# no .git: the commit time (SOURCE_DATE_EPOCH) is this checkout's.
if [[ $TWICE == 1 ]]; then
  images_sh="$HACK_DIR/release/images.sh" bin_args=(--bin "$BIN")
  if [[ $TWO_CHECKOUTS == 1 ]]; then
    step_begin "second checkout ($WORK/checkout-2), operator crate cleaned"
    copy_checkout "$REPO" "$WORK/checkout-2"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
    (cd "$WORK/checkout-2" && cargo clean --release --locked -p smbp-operator)
    [[ ! -e "$CARGO_TARGET_DIR/release/smbp-operator" ]] || rel_die "cargo clean left the operator binary"
    step_end
    images_sh="$WORK/checkout-2/hack/release/images.sh" bin_args=(--keep-bin "$OUT/repro/bin")
  fi
  SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct)}" \
    SMBP_BASES_DIR="" SMBP_REGISTRY_PORT="$REPRO_PORT" "$images_sh" --twice "${bin_args[@]}" --out "$OUT/repro" \
    "${BASES[@]}" --bundle "$OUT/bundle" --bundle-openshift "$OUT/bundle-openshift" --catalog "$OUT/catalog"
  if [[ $TWO_CHECKOUTS == 1 ]]; then
    cmp -s "$BIN" "$OUT/repro/bin/smbp-operator" ||
      rel_die "the binary built in a second checkout differs: $(sha256sum "$OUT/repro/bin/smbp-operator" | cut -d' ' -f1), first $(sha256sum "$BIN" | cut -d' ' -f1)"
    echo "reproducible: smbp-operator binary $(sha256sum "$BIN" | cut -d' ' -f1) (two checkouts: $REPO, $WORK/checkout-2)"
  fi
  step_begin "reproducible: the third build's digests equal the first's"
  n=0
  while IFS=$'\t' read -r name ref dref; do
    first="$(awk -F'\t' -v r="$PUBLIC${ref#"127.0.0.1:$REPRO_PORT"}" '$2 == r { print $3 }' "$OUT/built.tsv")"
    [[ -n "$first" ]] || continue
    [[ "${first##*@}" == "${dref##*@}" ]] || rel_die "$name: ${dref##*@} now, ${first##*@} in the first build"
    echo "reproducible: $name ${dref##*@} (three builds)"
    n=$((n + 1))
  done < "$OUT/repro/images.tsv"
  ((n >= 5)) || rel_die "only $n images were compared with the first build"
  step_end
fi

# 8. The release workflow's mode (--publish), on loopback stand-ins for its registries.
if [[ $PUBLISH_TEST == 1 ]] && ((PUBLISH == 0)); then
  registry_stop_all
  "$HACK_DIR/release/publish-selftest.sh" --bin "$BIN" --out "$OUT/publish-selftest" \
    --expect-operator "$(digest_of "$IMAGES1" smbp-operator | sed 's/.*@//')"
  sed 's/^/publish self-test: /' "$OUT/publish-selftest/publish/times.tsv" "$OUT/publish-selftest/times.tsv" >> "$STEP_TIMES"
fi

echo
echo "release-local: artifacts (by digest)"
column -t -s $'\t' "$OUT/images.txt"
echo "SBOMs: $OUT/sbom$([[ "$SIGN" != key ]] || echo "; public key: $OUT/cosign.pub")$( ((PUBLISH)) || echo "; mirror settings: $OUT/mirror")"
column -t -s $'\t' "$STEP_TIMES"
