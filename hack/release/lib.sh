# shellcheck shell=bash
# Helpers for building OCI images without a container runtime (sourced by hack/release/images.sh
# and hack/release/check-image.sh, not executed): a loopback registry, deterministic layer tarballs, a
# minimal Debian base root filesystem, and reading LABEL/USER/ENTRYPOINT/CMD/COPY from our
# Containerfiles and generated Dockerfiles so that they stay the one source of those values.
#
# Needs: crane (hack/olm/build-tools.sh, OLM_TOOLS=crane) in $CRANE, GNU tar, dpkg-deb,
# apt-get (for the Debian base only), python3 (Dockerfile parsing).

rel_log() { echo "release: $*" >&2; }
rel_die() { rel_log "ERROR: $*"; exit 1; }

# Time each step: `step_begin NAME`, ..., `step_end`; step_end appends "NAME<TAB>seconds" to
# $STEP_TIMES (a file) and logs it.
step_begin() { STEP_NAME="$1"; STEP_START=$SECONDS; rel_log "== $1"; }
step_end() {
  local s=$((SECONDS - STEP_START))
  rel_log "== $STEP_NAME: ${s}s"
  if [[ -n "${STEP_TIMES:-}" ]]; then printf '%s\t%s\n' "$STEP_NAME" "$s" >> "$STEP_TIMES"; fi
}

# run_begin <name> <out dir>: a script's run: a work dir in $WORK (removed on exit, with every
# registry the run started), <out dir> made, and step times in <out dir>/times.tsv ($STEP_TIMES).
run_begin() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  REGISTRY_PIDS=()
  trap 'registry_stop_all || true; rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$2"
  STEP_TIMES="$2/times.tsv"
  : > "$STEP_TIMES"
}

# copy_checkout <repo> <dest>: the files a build of <repo> reads, copied to <dest> (another path):
# git's tracked and untracked-but-not-ignored files as they are in the work tree (so uncommitted
# changes too), or, outside git, everything but target/. Files get the copy's time (tar -m), so
# that cargo sees the copy's sources as changed.
copy_checkout() {
  local src="$1" dest="$2"
  mkdir -p "$dest"
  if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' f; do [[ ! -e "$src/$f" ]] || printf '%s\0' "$f"; done |
      tar -C "$src" --null -T - -cf - | tar -C "$dest" -xmf -
  else
    tar -C "$src" --exclude=./target -cf - . | tar -C "$dest" -xmf -
  fi
}

# ---------------------------------------------------------------------------------------------
# Loopback registry: `crane registry serve`, blobs and manifests on disk under <dir>.

# registry_start <port> <dir>: start a registry on 127.0.0.1:<port>; its pid is appended to
# REGISTRY_PIDS (the caller's trap stops them with registry_stop_all).
registry_start() {
  local port="$1" dir="$2" i
  mkdir -p "$dir/data"
  if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    rel_die "port $port is already in use (set SMBP_REGISTRY_PORT / SMBP_MIRROR_PORT)"
  fi
  "$CRANE" registry serve --address "127.0.0.1:$port" --disk "$dir/data" > "$dir/registry.log" 2>&1 &
  REGISTRY_PIDS+=("$!")
  for i in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
      rel_log "registry on 127.0.0.1:$port (pid $!, storage $dir/data)"
      return 0
    fi
    kill -0 "$!" 2>/dev/null || { cat "$dir/registry.log" >&2; rel_die "registry on port $port exited"; }
    sleep 0.1
    [[ $i -lt 100 ]] || rel_die "registry on port $port did not answer"
  done
}

registry_stop_all() {
  local p
  for p in "${REGISTRY_PIDS[@]}"; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  REGISTRY_PIDS=()
  return 0
}

# push_scratch <registry host:port> <repo:tag> <arch>: push an empty OCI image (no layers, the
# `FROM scratch` base) with the registry API (crane cannot make an image without a layer).
push_scratch() {
  local reg="$1" repo="${2%:*}" tag="${2##*:}" arch="$3" cfg digest size loc manifest
  cfg="{\"architecture\":\"$arch\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
  digest="sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)"
  size="$(printf '%s' "$cfg" | wc -c)"
  loc="$(curl -fsS -X POST -D - -o /dev/null "http://$reg/v2/$repo/blobs/uploads/" |
    sed -n 's/^[Ll]ocation: *\(.*\)\r$/\1/p')"
  [[ -n "$loc" ]] || rel_die "registry $reg did not start a blob upload"
  [[ "$loc" == http* ]] || loc="http://$reg$loc"
  if [[ "$loc" == *\?* ]]; then loc+="&digest=$digest"; else loc+="?digest=$digest"; fi
  printf '%s' "$cfg" | curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @- "$loc" -o /dev/null
  manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$digest\",\"size\":$size},\"layers\":[]}"
  printf '%s' "$manifest" | curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @- "http://$reg/v2/$repo/manifests/$tag" -o /dev/null
}

# ---------------------------------------------------------------------------------------------
# Deterministic layers.

# det_tar <dir> <out.tar>: an uncompressed layer tarball of <dir>'s contents, byte-identical for
# identical trees: entries sorted by name, every mtime SOURCE_DATE_EPOCH, owner and group 0,
# PAX headers without atime/ctime. (crane gzips it, deterministically, when it appends it.)
det_tar() {
  local dir="$1" out="$2"
  [[ -n "${SOURCE_DATE_EPOCH:-}" ]] || rel_die "SOURCE_DATE_EPOCH is not set"
  (cd "$dir" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z |
    tar --null --no-recursion -T - --sort=name --format=posix \
      --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
      --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner -cf "$out")
}

# ---------------------------------------------------------------------------------------------
# A minimal Debian base, like distroless: packages from Debian's apt, extracted (no maintainer
# scripts run), with /var/lib/dpkg/status.d/<pkg> so that SBOM tools find them.

# deb_fetch <pkg>: the path of the candidate version's .deb in $DEB_CACHE, downloaded with
# `apt-get download` when missing. Prints "<path>".
# (Versions from deb_versions when it ran for the package.)
declare -gA DEB_VER=()
deb_fetch() {
  local pkg="$1" ver="${DEB_VER[$1]:-}" file tmp
  [[ -n "$ver" ]] || ver="$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -1)"
  [[ -n "$ver" ]] || rel_die "no candidate version of Debian package $pkg (run apt-get update)"
  file="$DEB_CACHE/${pkg}_${ver//:/%3a}_$(dpkg --print-architecture).deb"
  if [[ ! -s "$file" ]]; then
    [[ -f "$DEB_CACHE/${pkg}_${ver//:/%3a}_all.deb" ]] && { echo "$DEB_CACHE/${pkg}_${ver//:/%3a}_all.deb"; return; }
    mkdir -p "$DEB_CACHE"
    tmp="$(mktemp -d "$DEB_CACHE/.dl.XXXXXX")"
    (cd "$tmp" && apt-get download -q "$pkg=$ver" >&2) || { rm -rf "$tmp"; rel_die "apt-get download $pkg=$ver failed"; }
    local got
    got="$(find "$tmp" -name '*.deb' | head -1)"
    [[ -n "$got" ]] || { rm -rf "$tmp"; rel_die "apt-get download $pkg=$ver produced no .deb"; }
    file="$DEB_CACHE/$(basename "$got")"
    mv "$got" "$file"
    rm -rf "$tmp"
  fi
  echo "$file"
}

# debian_rootfs <dir> <packages.tsv> <pkg>...: extract the packages into <dir> and write the
# files a container base needs. Appends "pkg<TAB>version<TAB>arch<TAB>sha256" to <packages.tsv>.
# deb_versions <pkg>...: the candidate version of each package into DEB_VER, with one apt-cache
# call (each call parses every package list: seconds on a loaded machine). A fresh machine may come
# without package lists: as root, they are fetched once.
deb_versions() {
  local pkg ver
  if [[ -z "$(apt-cache show --no-all-versions "$1" 2>/dev/null)" && $EUID == 0 ]]; then
    rel_log "no package list holds $1: apt-get update"
    apt-get update -qq >&2 || rel_die "apt-get update failed"
  fi
  while IFS=$'\t' read -r pkg ver; do
    [[ -n "${DEB_VER[$pkg]:-}" ]] || DEB_VER[$pkg]="$ver"
  done < <(apt-cache show --no-all-versions "$@" 2>/dev/null |
    awk '/^Package: /{p=$2} /^Version: /{print p "\t" $2}')
}

debian_rootfs() {
  local root="$1" tsv="$2" pkg deb ctl
  shift 2
  deb_versions "$@"
  mkdir -p "$root/var/lib/dpkg/status.d"
  ctl="$(mktemp -d)"
  for pkg in "$@"; do
    deb="$(deb_fetch "$pkg")"
    dpkg-deb -x "$deb" "$root"
    # The package's control fields, as distroless writes them (syft's dpkg cataloger reads them).
    dpkg-deb -f "$deb" > "$root/var/lib/dpkg/status.d/$pkg"
    rm -rf "${ctl:?}"/*
    dpkg-deb -e "$deb" "$ctl"
    if [[ -f "$ctl/md5sums" ]]; then cp "$ctl/md5sums" "$root/var/lib/dpkg/status.d/$pkg.md5sums"; fi
    printf '%s\t%s\t%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)" \
      "$(sha256sum "$deb" | cut -d' ' -f1)" >> "$tsv"
  done
  rm -rf "$ctl"
  chmod 0644 "$root"/var/lib/dpkg/status.d/*
  # Documentation is not needed at run time; the copyright files stay (licenses of the packages).
  rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" "$root/usr/share/locale"
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  # CA bundle, as update-ca-certificates would make it (it is a maintainer script; none run here),
  # in a fixed order.
  if [[ -d "$root/usr/share/ca-certificates" ]]; then
    mkdir -p "$root/etc/ssl/certs"
    find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z |
      while IFS= read -r -d '' f; do cat "$f"; [[ -z "$(tail -c1 "$f")" ]] || echo; done \
      > "$root/etc/ssl/certs/ca-certificates.crt"
    chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"
  fi
  mkdir -p "$root/etc" "$root/tmp" "$root/home/nonroot" "$root/root"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > "$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' > "$root/etc/group"
  chmod 0644 "$root/etc/passwd" "$root/etc/group"
  # Every shared library an ELF file in the root needs must be in the root.
  rootfs_check_libs "$root"
}

# rootfs_check_libs <dir>: fail when an ELF file needs a library (DT_NEEDED) that no file in the
# root provides.
rootfs_check_libs() {
  local root="$1" f lib missing=0
  local -A have=()
  while IFS= read -r -d '' f; do have[${f##*/}]=1; done < <(find "$root" \( -type f -o -type l \) -name '*.so*' -print0)
  while IFS= read -r -d '' f; do
    head -c4 "$f" 2>/dev/null | grep -q 'ELF' || continue
    while read -r lib; do
      [[ -n "$lib" && -z "${have[$lib]:-}" ]] || continue
      rel_log "rootfs: ${f#"$root"} needs $lib, which no package provides"; missing=1
    done < <(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
  done < <(find "$root" -type f -perm -u+x -print0)
  [[ $missing == 0 ]] || rel_die "the Debian base misses libraries (add their packages)"
}

# ---------------------------------------------------------------------------------------------
# Dockerfile instructions: LABEL, USER, ENTRYPOINT, CMD, ENV and COPY/ADD, with ARG defaults and
# the given KEY=VALUE overrides substituted. One instruction a line, fields separated by tabs:
#   LABEL <key> <value> | USER <user> | ENTRYPOINT <json> | CMD <json> | ENV <key> <value> |
#   COPY <src> <dest>
# Only the last stage counts (FROM starts over). No eval of the file's text.
dockerfile_meta() {
  python3 - "$@" <<'PY'
import json, re, shlex, sys
path, overrides = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
text = re.sub(r"\\\n", " ", open(path).read())
args, out = {}, []
def subst(s):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), s)
for line in text.splitlines():
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    word, _, rest = line.partition(" ")
    word, rest = word.upper(), rest.strip()
    if word == "ARG":
        k, _, v = rest.partition("=")
        args[k] = overrides.get(k, v)
    elif word == "FROM":
        out = []
    elif word in ("LABEL", "ENV"):
        for tok in shlex.split(subst(rest)):
            k, _, v = tok.partition("=")
            out.append((word, k, v))
    elif word == "USER":
        out.append((word, subst(rest)))
    elif word in ("ENTRYPOINT", "CMD"):
        out.append((word, json.dumps(json.loads(rest)) if rest.startswith("[") else json.dumps(["/bin/sh", "-c", rest])))
    elif word in ("COPY", "ADD"):
        toks = [t for t in shlex.split(subst(rest)) if not t.startswith("--")]
        for src in toks[:-1]:
            out.append(("COPY", src, toks[-1]))
for rec in out:
    print("\t".join(rec))
PY
}

# json_list_csv <json list>: the list as crane's comma-separated flag value (fails on a comma
# inside an element, which crane's flag parsing would split).
json_list_csv() {
  python3 -c 'import json,sys
l=json.loads(sys.argv[1])
assert all("," not in e for e in l), "comma in %r" % l
print(",".join(l))' "$1"
}

# The version of cargo-auditable the release binary is built with (crates.io, installed into the
# cache on first use).
AUDITABLE_VERSION=0.7.7

# release_binary [<copy to>]: the operator's release binary, `cargo auditable build --release
# --locked` (its dependency list embedded in the .dep-v0 section for SBOM tools), with the flags
# that make it the same whatever the checkout, cargo home, target dir or cache it is built from.
# The target dir may be shared with other builds: <copy to> gets a copy of the binary at once.
# hack/release/build-binary.sh runs it alone (make test builds it early, in the background).
release_binary() {
  local out="${1:-}" fixed TARGET_DIR AUDITABLE_ROOT remap
  step_begin "cargo-auditable $AUDITABLE_VERSION"
  AUDITABLE_ROOT="$CACHE_ROOT/cargo-tools/cargo-auditable-$AUDITABLE_VERSION"
  if [[ ! -x "$AUDITABLE_ROOT/bin/cargo-auditable" ]]; then
    cargo install --locked --root "$AUDITABLE_ROOT" "cargo-auditable@$AUDITABLE_VERSION" ||
      rel_die "cargo install cargo-auditable@$AUDITABLE_VERSION failed (see above)"
  fi
  step_end
  step_begin "release binary (cargo auditable build --release --locked)"
  TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
  # Paths embedded in the binary (dependencies' panic locations, build scripts' OUT_DIR) are
  # remapped to fixed names, so that the binary is the same whatever the cargo home or target dir.
  # The checkout's path needs none: cargo gives rustc the operator's sources by paths relative to
  # it (local.sh step 7 proves the binary the same from another checkout); a flag naming it would
  # also make cargo rebuild every dependency in that second checkout.
  remap=(--remap-path-prefix="${CARGO_HOME:-$HOME/.cargo}=/cargo"
    --remap-path-prefix="$TARGET_DIR=/target")
  # cargo-auditable makes itself cargo's RUSTC_WORKSPACE_WRAPPER, and cargo hashes that path into the
  # operator crate's metadata (so into its symbols and code): run it from one fixed path, whatever the
  # cache it was installed in (a copy: the path of a symlink's target would count).
  fixed="/tmp/smbp-cargo-auditable-$AUDITABLE_VERSION/bin"
  if ! cmp -s "$AUDITABLE_ROOT/bin/cargo-auditable" "$fixed/cargo-auditable"; then
    mkdir -p "$fixed"
    cp "$AUDITABLE_ROOT/bin/cargo-auditable" "$fixed/.cargo-auditable.$$"
    mv -f "$fixed/.cargo-auditable.$$" "$fixed/cargo-auditable"
  fi
  # The build scripts that use the cc crate (ring, psm) rerun when SOURCE_DATE_EPOCH changes, and
  # everything above them is rebuilt: images.sh sets it (the commit's time, for the images), so the
  # build runs without it, whoever calls it: one caller finds the other's build fresh (make test
  # builds it first in the background), and a new commit does not rebuild every dependency. It
  # does not enter the binary (the same sha256 built with it and without).
  (cd "$REPO" && PATH="$fixed:$PATH" RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }${remap[*]}" \
    env -u SOURCE_DATE_EPOCH cargo auditable build --release --locked --bin smbp-operator)
  # The target dir may be shared with other builds: copy the binary out at once.
  [[ -z "$out" ]] || cp "$TARGET_DIR/release/smbp-operator" "$out"
  step_end
}
