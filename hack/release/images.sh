#!/usr/bin/env bash
# Build the release's OCI images without a container runtime, push them to a loopback registry,
# run the certification container checks on them, and (--twice) prove the build reproducible.
#
#   1. crane and opm from their Go modules (hack/olm/build-tools.sh, cached).
#   2. The operator binary: `cargo auditable build --release --locked` (its dependency list is
#      embedded in the .dep-v0 section for SBOM tools), cargo-auditable installed from crates.io
#      into ${SMBP_CACHE:-~/.cache/smbp-operator}/cargo-tools when missing; or --bin PATH.
#   3. `crane registry serve` on 127.0.0.1:$SMBP_REGISTRY_PORT (default 5001), storage in a
#      temp dir, stopped on exit.
#   4. The base: --base REF (the release workflow: UBI 9 micro by digest; --must-gather-base: UBI 9,
#      which has bash and tar) or, by default, minimal Debian bases made here from Debian packages (like
#      distroless): "static" (libc, libgcc, CA certificates, tzdata) for the operator and the
#      catalog, "shell" (+ bash, tar, rsync) for must-gather.
#   5. The images, each a base plus deterministic layer tarballs (sorted, mtime
#      SOURCE_DATE_EPOCH = the commit's time, owner 0) and the config from our Containerfiles and
#      generated Dockerfiles (labels, user, entrypoint, cmd), pushed by tag v$VERSION:
#        smbp-operator, smbp-operator-must-gather, smbp-operator-bundle (--bundle DIR),
#        smbp-operator-bundle-openshift (--bundle-openshift DIR), smbp-operator-catalog
#        (--catalog DIR, opm at /bin/opm), and stand-ins for the Big Peer images the CSV names
#        (RELATED_IMAGE_*, same repository names and tags: the real ones are the vendor's).
#   6. hack/release/check-image.sh on each image, and a negative test: images that break one check
#      each (no labels, no /licenses, USER root, 41 layers, only `latest`) must fail exactly it.
#   7. --twice: everything again into a fresh registry; the digests must be equal.
#
# Output (--out DIR, default ${SMBP_CACHE}/release/out): images.tsv (name, tag ref, digest ref),
# images-2.tsv (--twice), packages.tsv (Debian packages of the bases, with versions), times.tsv.
#
# Usage: hack/release/images.sh [--base REF] [--must-gather-base REF] [--bin PATH]
#          [--bundle DIR] [--bundle-openshift DIR] [--catalog DIR] [--images LIST] [--out DIR]
#          [--twice] [--no-checks] [--serve]
#   --serve: at the end, keep the registry serving the images until interrupted
#   --keep-bin DIR: copy the operator binary the images hold into DIR
#   --registry HOST:PORT: push to this running registry instead of starting one (not with --twice)
#   --images: comma-separated subset of operator,must-gather,bundle,bundle-openshift,catalog,standins
#   --catalog-repo NAME: the catalog image's repository (default smbp-operator-catalog; the release
#      workflow's OpenShift index: smbp-operator-catalog-openshift)
# Env: SMBP_REGISTRY_PORT (5001), CRANE and OPM (both set: use these binaries), SMBP_CACHE, CARGO_TARGET_DIR, VERSION (Cargo.toml's),
#      RELEASE (1), SOURCE_DATE_EPOCH (the commit's time), SMBP_BASES_DIR (keep the Debian bases made
#      there and reuse them on the next call: local.sh's calls share one run's bases; the --twice
#      builds do not use it, so they prove the bases reproducible too).
set -euo pipefail
umask 022

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=hack/release/lib.sh
source "$HACK_DIR/release/lib.sh"

CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
PORT="${SMBP_REGISTRY_PORT:-5001}"
VERSION="${VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -1)}"
RELEASE="${RELEASE:-1}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct)}"
export SOURCE_DATE_EPOCH
DEB_CACHE="$CACHE_ROOT/release/debs"
ARCH="$(dpkg --print-architecture)"

# Debian packages of the local bases. "static": what the operator links (libc6: libc, libm;
# libgcc-s1: libgcc_s) plus CA certificates, time zones and /etc/os-release. "shell" adds what
# `oc adm must-gather` and /usr/bin/gather need (bash, tar, rsync) and their libraries
# (rsync's init-system-helpers pre-dependency is left out: it only serves rsync's daemon unit).
STATIC_PKGS=(base-files libc6 libgcc-s1 ca-certificates tzdata netbase)
SHELL_PKGS=(bash libtinfo6 tar libacl1 libselinux1 libpcre2-8-0 rsync liblz4-1 libpopt0 libssl3 libxxhash0 libzstd1 zlib1g)

BASE="" MG_BASE="" BIN="" TWICE=0 CHECKS=1 SERVE=0 REGISTRY_HOST="" KEEP_BIN=""
BUNDLE_DIR="$REPO/bundle" BUNDLE_OS_DIR="$REPO/bundle-openshift" CATALOG_DIR="$REPO/catalog"
IMAGES="operator,must-gather,bundle,bundle-openshift,catalog,standins" CATALOG_REPO=smbp-operator-catalog
OUT="$CACHE_ROOT/release/out"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --must-gather-base) MG_BASE="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --bundle) BUNDLE_DIR="$2"; shift 2 ;;
    --bundle-openshift) BUNDLE_OS_DIR="$2"; shift 2 ;;
    --catalog) CATALOG_DIR="$2"; shift 2 ;;
    --catalog-repo) CATALOG_REPO="$2"; shift 2 ;;
    --images) IMAGES="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --twice) TWICE=1; shift ;;
    --no-checks) CHECKS=0; shift ;;
    --serve) SERVE=1; shift ;;
    --registry) REGISTRY_HOST="$2"; shift 2 ;;
    --keep-bin) KEEP_BIN="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ -z "$BASE" || -n "$MG_BASE" ]] || MG_BASE="$BASE"
want() { [[ ",$IMAGES," == *",$1,"* ]]; }

run_begin smbp-release "$OUT"

# ---------------------------------------------------------------------------------------------
step_begin "tools (crane, opm)"
if [[ -n "${CRANE:-}" && -n "${OPM:-}" ]]; then
  rel_log "using CRANE=$CRANE OPM=$OPM from the environment"
else
  TOOLS_BIN="$(OLM_TOOLS="crane opm" "$HACK_DIR/olm/build-tools.sh" | tail -n 1)"
  CRANE="$TOOLS_BIN/crane" OPM="$TOOLS_BIN/opm"
fi
export CRANE
step_end

if [[ -z "$BIN" ]]; then
  release_binary "$WORK/smbp-operator"
  BIN="$WORK/smbp-operator"
fi
objdump -h "$BIN" | grep -q '[[:space:]]\.dep-v0[[:space:]]' ||
  rel_die "$BIN has no .dep-v0 section: build it with cargo auditable"
rel_log "binary $BIN: sha256 $(sha256sum "$BIN" | cut -d' ' -f1), .dep-v0 present"
if [[ -n "$KEEP_BIN" ]]; then mkdir -p "$KEEP_BIN" && cp "$BIN" "$KEEP_BIN/smbp-operator"; fi

# ---------------------------------------------------------------------------------------------
# Layers and images.

# layer_of <name> <src> <dest path in image> [mode]: a layer tarball holding one file or the
# contents of one directory at <dest>; prints the tarball's path. Modes are normalized (0644,
# directories 0755; a file: [mode]) unless [mode] is `keep` (the source's modes, under umask 022).
layer_of() {
  local name="$1" src="$2" dest="$3" mode="${4:-}" root="$WORK/layers/$1"
  rm -rf "$root"; mkdir -p "$root$(dirname "$dest")"
  if [[ -d "$src" ]]; then
    mkdir -p "$root$dest"; cp -r "$src"/. "$root$dest"/
    if [[ "$mode" == keep ]]; then chmod --reference="$src" "$root$dest"
    else find "$root$dest" -type d -exec chmod 0755 {} +; find "$root$dest" -type f -exec chmod 0644 {} +; fi
  else
    cp "$src" "$root$dest"; chmod "${mode:-0644}" "$root$dest"
  fi
  # A layer's parent directories replace the base's: keep /tmp world-writable.
  if [[ -d "$root/tmp" ]]; then chmod 1777 "$root/tmp"; fi
  det_tar "$root" "$WORK/layers/$name.tar"
  echo "$WORK/layers/$name.tar"
}

# config_flags <Dockerfile> <array name>: crane mutate flags for the LABEL, ENV, USER,
# ENTRYPOINT and CMD instructions of the Dockerfile's last stage.
config_flags() {
  local -n flags="$2"
  local kind a b
  while IFS=$'\t' read -r kind a b; do
    case "$kind" in
      LABEL) [[ "$b" != *=* ]] || rel_die "label $a: '=' in a value is not supported by crane's flags"
             flags+=(-l "$a=$b") ;;
      ENV) flags+=(-e "$a=$b") ;;
      USER) flags+=(-u "$a") ;;
      ENTRYPOINT) flags+=("--entrypoint=$(json_list_csv "$a")") ;;
      CMD) flags+=("--cmd=$(json_list_csv "$a")") ;;
    esac
  done < <(dockerfile_meta "$1" "VERSION=$VERSION" "RELEASE=$RELEASE")
}

# crane_q <crane args...>: crane with its progress log kept quiet unless it fails.
crane_q() {
  if ! "$CRANE" "$@" 2> "$WORK/crane.err"; then
    cat "$WORK/crane.err" >&2
    rel_die "crane $1 failed"
  fi
}

# push_image <name> <tag ref> <base ref> <crane mutate flags...>: base + flags, pushed; records
# the image in $IMAGES_TSV.
push_image() {
  local name="$1" ref="$2" base="$3" out
  shift 3
  out="$(crane_q mutate "$base" "$@" -t "$ref")"
  printf '%s\t%s\t%s\n' "$name" "$ref" "$out" >> "$IMAGES_TSV"
  rel_log "$name: $out"
}

# build_all <registry host:port> <images.tsv>: every image, pushed to the registry.
build_all() {
  local reg="$1" f=() src dest
  IMAGES_TSV="$2"
  : > "$IMAGES_TSV"
  local scratch="$reg/smbp-release/scratch:oci"
  push_scratch "$reg" "smbp-release/scratch:oci" "$ARCH"
  local base="$BASE" mg_base="$MG_BASE"

  # (Only the operator, must-gather and catalog images sit on a base; bundles and stand-ins are
  # FROM scratch.)
  if [[ -z "$BASE" ]] && { want operator || want must-gather || want catalog; }; then
    step_begin "Debian bases"
    : > "$OUT/packages.tsv"
    local pkgs_static="$WORK/pkgs-static.tsv" pkgs_shell="$WORK/pkgs-shell.tsv"
    local kept="${SMBP_BASES_DIR:-}" bf
    if [[ -n "$kept" && -s "$kept/pkgs-shell.tsv" ]]; then
      # Made earlier in this pipeline run (same package lists): reused as they were.
      for bf in pkgs-static.tsv pkgs-shell.tsv base-static.tar base-shell.tar; do cp "$kept/$bf" "$WORK/$bf"; done
      rel_log "Debian bases: reusing those made earlier in this run ($kept)"
    else
      : > "$pkgs_static"; : > "$pkgs_shell"
      rm -rf "$WORK/rootfs-static" "$WORK/rootfs-shell"
      debian_rootfs "$WORK/rootfs-static" "$pkgs_static" "${STATIC_PKGS[@]}"
      debian_rootfs "$WORK/rootfs-shell" "$pkgs_shell" "${STATIC_PKGS[@]}" "${SHELL_PKGS[@]}"
      det_tar "$WORK/rootfs-static" "$WORK/base-static.tar"
      det_tar "$WORK/rootfs-shell" "$WORK/base-shell.tar"
      if [[ -n "$kept" ]]; then
        mkdir -p "$kept"
        for bf in pkgs-static.tsv base-static.tar base-shell.tar pkgs-shell.tsv; do cp "$WORK/$bf" "$kept/$bf"; done
      fi
    fi
    { sed 's/^/static\t/' "$pkgs_static"; sed 's/^/shell\t/' "$pkgs_shell"; } > "$OUT/packages.tsv"
    local env=(-e "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
               -e "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt")
    base="$reg/smbp-release/base:debian-static"
    mg_base="$reg/smbp-release/base:debian-shell"
    crane_q mutate "$scratch" --append "$WORK/base-static.tar" --set-platform "linux/$ARCH" "${env[@]}" \
      -t "$base" > /dev/null
    crane_q mutate "$scratch" --append "$WORK/base-shell.tar" --set-platform "linux/$ARCH" "${env[@]}" \
      -t "$mg_base" > /dev/null
    rel_log "Debian bases: $(cut -f1,2 "$pkgs_shell" | tr '\t\n' '= ')"
    step_end
  fi

  step_begin "images"
  local lic bin
  lic="$(layer_of licenses "$REPO/LICENSE" /licenses/LICENSE)"
  bin="$(layer_of binary "$BIN" /usr/local/bin/smbp-operator 0755)"

  if want operator; then
    f=(); config_flags "$REPO/Containerfile" f
    push_image smbp-operator "$reg/smbp-operator:v$VERSION" "$base" --append "$lic" --append "$bin" "${f[@]}"
  fi

  if want must-gather; then
    # /usr/bin/gather, as Containerfile.must-gather writes it.
    # shellcheck disable=SC2016 # expanded when the script runs in the image
    printf '%s\n' '#!/bin/bash' \
      '# must-gather entry point: oc adm must-gather runs this and copies /must-gather back.' \
      'exec /usr/local/bin/smbp-operator gather --dest "${MUST_GATHER_DEST:-/must-gather}" "$@"' \
      > "$WORK/gather"
    local gather
    gather="$(layer_of gather "$WORK/gather" /usr/bin/gather 0755)"
    f=(); config_flags "$REPO/Containerfile.must-gather" f
    push_image smbp-operator-must-gather "$reg/smbp-operator-must-gather:v$VERSION" "$mg_base" \
      --append "$lic" --append "$bin" --append "$gather" "${f[@]}"
  fi

  # Bundles: FROM scratch, the generated Dockerfile's labels, its COPY lines applied to the
  # bundle directory given (their first path component is the committed bundle's dir name).
  local kind dockerfile dir repo n
  for kind in bundle bundle-openshift; do
    want "$kind" || continue
    dockerfile="$REPO/$kind.Dockerfile"
    if [[ "$kind" == bundle ]]; then dir="$BUNDLE_DIR"; else dir="$BUNDLE_OS_DIR"; fi
    repo="smbp-operator-$kind"
    f=(--set-platform "linux/$ARCH"); config_flags "$dockerfile" f
    n=0
    while IFS=$'\t' read -r _ src dest; do
      n=$((n + 1))
      f+=(--append "$(layer_of "$kind-$n" "$dir/${src#*/}" "${dest%/}")")
    done < <(dockerfile_meta "$dockerfile" | grep '^COPY')
    [[ $n -gt 0 ]] || rel_die "$dockerfile has no COPY lines"
    push_image "$repo" "$reg/$repo:v$VERSION" "$scratch" "${f[@]}"
  done

  if want catalog; then
    local opm_layer cfg_layer
    opm_layer="$(layer_of opm "$OPM" /bin/opm 0755)"
    cfg_layer="$(layer_of configs "$CATALOG_DIR" /configs)"
    # The serve cache that catalog.Dockerfile's `opm serve --cache-only` pre-builds. opm's
    # default backend (pogreb) is not reproducible (random hash seed); its JSON backend is, and
    # opm picks it when the cache dir already holds a JSON cache (a `cache` dir and a `digest`
    # file): seed a stale one, opm rebuilds it. `opm serve` accepts it at start (digest check).
    local cache="$WORK/opm-cache" cache_layer
    rm -rf "$cache"; mkdir -p "$cache/cache"; echo stale > "$cache/digest"
    # (Built from the layer's tree: opm's digest covers the files' modes.)
    "$OPM" serve "$WORK/layers/configs/configs" --cache-dir="$cache" --cache-only --pprof-addr=127.0.0.1:0 2>&1 | grep -v pprof >&2
    [[ -f "$cache/cache/packages.json" && "$(cat "$cache/digest")" != stale ]] || rel_die "opm did not build a JSON cache"
    cache_layer="$(layer_of opm-cache "$cache" /tmp/cache keep)"
    f=(); config_flags "$REPO/catalog.Dockerfile" f
    push_image "$CATALOG_REPO" "$reg/$CATALOG_REPO:v$VERSION" "$base" \
      --append "$opm_layer" --append "$cfg_layer" --append "$cache_layer" "${f[@]}"
  fi

  # Stand-ins for the Big Peer images (the vendor's): one small file, same repository and tag.
  if want standins; then
    local img path tag sref
    while read -r img; do
      img="${img%@*}"                      # repo:tag@digest -> repo:tag
      [[ "${img##*/}" == *:* ]] || { rel_log "skipping $img: no tag to stand in for"; continue; }
      path="${img#*/}"; tag="${path##*:}"; path="${path%:*}"
      sref="$reg/$path:$tag"
      printf 'Stand-in for %s (the vendor'"'"'s image), built by hack/release/images.sh for local tests.\n' \
        "$img" > "$WORK/standin.txt"
      push_image "standin/$path" "$sref" "$scratch" --set-platform "linux/$ARCH" \
        --append "$(layer_of "standin" "$WORK/standin.txt" /standin.txt)" \
        -l "org.opencontainers.image.description=stand-in for $img"
    done < <(grep -h -A1 'name: RELATED_IMAGE_' "$BUNDLE_DIR"/manifests/*.clusterserviceversion.yaml |
               sed -n 's/^[[:space:]]*value:[[:space:]]*//p' | grep -v '/smbp-operator' | LC_ALL=C sort -u)
  fi
  step_end
}

# checks <registry host:port>: certification checks on the images, and the negative test.
checks() {
  local reg="$1" name ref dref rc=0
  step_begin "certification container checks"
  while IFS=$'\t' read -r name ref dref; do
    case "$name" in
      smbp-operator|smbp-operator-must-gather) set -- labels,licenses,user,layers,tag ;;
      *) set -- layers,tag ;;  # bundles, catalog, stand-ins: not container-certified
    esac
    echo "--- $name ($dref) [$1]"
    "$HACK_DIR/release/check-image.sh" --checks "$1" "$ref" || rc=1
  done < "$IMAGES_TSV"
  [[ $rc == 0 ]] || rel_die "an image failed a certification check"

  # Negative test: a good probe image, then one bad image per check, each breaking only it.
  local scratch="$reg/smbp-release/scratch:oci" good="$reg/smbp-negative/good:v1" i layers=()
  local lic labels=()
  lic="$(layer_of licenses "$REPO/LICENSE" /licenses/LICENSE)"
  for l in name vendor version release summary description maintainer; do labels+=(-l "$l=probe"); done
  crane_q mutate "$scratch" --append "$lic" "${labels[@]}" -u 65532:65532 -t "$good" > /dev/null
  crane_q mutate "$scratch" --append "$lic" -u 65532:65532 -t "$reg/smbp-negative/labels:v1" > /dev/null
  crane_q mutate "$scratch" --append "$(layer_of other "$REPO/Cargo.toml" /other/file)" "${labels[@]}" \
    -u 65532:65532 -t "$reg/smbp-negative/licenses:v1" > /dev/null
  crane_q mutate "$good" -u root -t "$reg/smbp-negative/user:v1" > /dev/null
  for i in $(seq 1 40); do echo "$i" > "$WORK/layer-$i"; layers+=(--append "$(layer_of "n$i" "$WORK/layer-$i" "/n/$i")"); done
  crane_q mutate "$good" "${layers[@]}" -t "$reg/smbp-negative/layers:v1" > /dev/null
  crane_q mutate "$good" -t "$reg/smbp-negative/tag:latest" > /dev/null
  echo "--- negative test: good probe image must pass"
  "$HACK_DIR/release/check-image.sh" "$good" || rel_die "the good probe image failed a check"
  local check out
  for check in labels licenses user layers tag; do
    ref="$reg/smbp-negative/$check:v1"; [[ $check != tag ]] || ref="$reg/smbp-negative/tag:latest"
    echo "--- negative test: $check must fail on $ref"
    if out="$("$HACK_DIR/release/check-image.sh" "$ref")"; then
      echo "$out"; rel_die "check-image passed an image that breaks '$check'"
    fi
    echo "$out"
    if [[ "$(grep -c '^FAIL' <<< "$out")" != 1 ]] || ! grep -q "^FAIL $check:" <<< "$out"; then
      rel_die "expected exactly '$check' to fail"
    fi
    echo "ok: only '$check' failed"
  done
  step_end
}

# smoke: run the binaries inside the operator, must-gather and catalog images' file systems
# (chroot as uid 65532), which proves the base holds every library and file they need, and that
# the catalog's serve cache is valid. Root only.
smoke() {
  local name ref root
  if [[ $EUID != 0 ]]; then rel_log "smoke: skipped (needs root for chroot)"; return 0; fi
  step_begin "smoke run in the images' file systems"
  while IFS=$'\t' read -r name ref _; do
    [[ "$name" == smbp-operator || "$name" == smbp-operator-must-gather || "$name" == smbp-operator-catalog* ]] || continue
    root="$WORK/smoke/$name"; rm -rf "$root"; mkdir -p "$root"
    "$CRANE" export "$ref" - | tar -xf - -C "$root"
    if [[ "$name" == smbp-operator-catalog* ]]; then
      # As OpenShift runs it: an arbitrary uid in group 0 (opm's cache files are 0640/0750).
      echo "--- $name: the pre-built serve cache matches /configs (opm serve --cache-enforce-integrity), as 65532:0"
      chroot --userspec=65532:0 "$root" /bin/opm serve /configs --cache-dir=/tmp/cache --cache-only \
        --cache-enforce-integrity --pprof-addr=127.0.0.1:0 2>&1 | grep -v pprof
      continue
    fi
    echo "--- $name: smbp-operator --version as 65532:65532"
    chroot --userspec=65532:65532 "$root" /usr/local/bin/smbp-operator --version | head -n 1
    if [[ "$name" == smbp-operator-must-gather ]]; then
      # `oc adm must-gather` copies /must-gather back with rsync when the image has it, else tar.
      echo "--- $name: bash and tar run (and rsync, when the base has it)"
      local out
      # shellcheck disable=SC2016 # expanded in the image
      out="$(chroot --userspec=65532:65532 "$root" /bin/bash -c 'echo "bash $BASH_VERSION"; tar --version')" ||
        rel_die "$name: bash and tar must run in the image"
      if [[ -e "$root/usr/bin/rsync" ]]; then
        out+=$'\n'"$(chroot --userspec=65532:65532 "$root" /usr/bin/rsync --version)" || rel_die "$name: rsync fails"
      fi
      grep -E '^(bash|tar|rsync) ' <<< "$out"
      [[ -x "$root/usr/bin/gather" ]] || rel_die "/usr/bin/gather missing"
    fi
  done < "$IMAGES_TSV"
  rm -rf "$WORK/smoke"
  step_end
}

print_table() { # print_table <images.tsv>
  echo
  printf '%-40s %s\n' IMAGE DIGEST
  while IFS=$'\t' read -r name _ dref; do printf '%-40s %s\n' "$name" "$dref"; done < "$1"
}

if [[ -z "$REGISTRY_HOST" ]]; then
  REGISTRY_HOST="127.0.0.1:$PORT"
  registry_start "$PORT" "$WORK/registry-1"
elif [[ $TWICE == 1 || $SERVE == 1 ]]; then
  rel_die "--registry cannot be combined with --twice or --serve"
fi
build_all "$REGISTRY_HOST" "$OUT/images.tsv"
if [[ $CHECKS == 1 ]]; then checks "$REGISTRY_HOST"; fi
# (On any base: with UBI, this is where a binary needing a newer glibc than the base's fails.)
smoke
print_table "$OUT/images.tsv"

if [[ $TWICE == 1 ]]; then
  rel_log "second build, into a fresh registry"
  registry_stop_all
  rm -rf "$WORK/registry-1" "$WORK/layers"
  registry_start "$PORT" "$WORK/registry-2"
  STEP_TIMES_1="$STEP_TIMES"; STEP_TIMES="$WORK/times-2.tsv"
  build_all "$REGISTRY_HOST" "$OUT/images-2.tsv"
  STEP_TIMES="$STEP_TIMES_1"
  sed 's/^/second build: /' "$WORK/times-2.tsv" >> "$STEP_TIMES"
  echo
  echo "reproducibility (digests of build 1 and build 2):"
  paste "$OUT/images.tsv" "$OUT/images-2.tsv" | while IFS=$'\t' read -r name _ d1 _ _ d2; do
    printf '%-40s %s %s %s\n' "$name" "${d1#*@}" "${d2#*@}" "$([[ "$d1" == "$d2" ]] && echo equal || echo DIFFERENT)"
  done
  if ! diff <(cut -f1,3 "$OUT/images.tsv") <(cut -f1,3 "$OUT/images-2.tsv") > /dev/null; then
    rel_die "the two builds differ"
  fi
  echo "reproducible: all $(wc -l < "$OUT/images.tsv") digests equal"
fi

echo
echo "step times (seconds):"
column -t -s $'\t' "$STEP_TIMES"
echo "output: $OUT (images.tsv, packages.tsv, times.tsv)"
if [[ $SERVE == 1 ]]; then
  rel_log "serving the images on $REGISTRY_HOST until interrupted"
  wait "${REGISTRY_PIDS[@]}"
fi
