#!/usr/bin/env bash
# hack/olm/build-previous.sh: the previous release's operator binary, for the OLM upgrade test,
# built once per version from its release commit (the commit that added
# releases/<version>/release.yaml): `git archive` of that commit into the cache, then
# `cargo build --locked` there with its own target dir. Read-only for the checkout. Prints the
# binary's path as the last line of stdout. hack/olm-up.sh runs it; `make test` runs it early, in
# the background (hack/prebuild.sh). Needs the full history (not a shallow clone).
#
#   ${SMBP_CACHE:-$HOME/.cache/smbp-operator}/releases/<version>/target/debug/smbp-operator
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { echo "olm/build-previous: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

prev="$(ls -d "$REPO_ROOT"/releases/*/bundle 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$prev" ]] || die "no releases/<version>/bundle"
prev_version="$(basename "$(dirname "$prev")")"
PREV_DIR="${SMBP_CACHE:-$HOME/.cache/smbp-operator}/releases/$prev_version"
PREV_BIN="$PREV_DIR/target/debug/smbp-operator"
commit="$(git -C "$REPO_ROOT" log --diff-filter=A --format=%H -- "releases/$prev_version/release.yaml" | tail -n 1)"
[[ -n "$commit" ]] || die "no commit adds releases/$prev_version/release.yaml (a shallow clone? fetch the full history)"
mkdir -p "$PREV_DIR"
# One build at a time (make test starts it in the background; olm-up.sh may ask meanwhile).
exec 9>"$PREV_DIR/.build.lock"
if command -v flock >/dev/null; then flock 9; fi
if [[ "$(cat "$PREV_DIR/commit" 2>/dev/null)" != "$commit" || ! -x "$PREV_BIN" ]]; then
  log "building smbp-operator $prev_version from ${commit:0:12} in $PREV_DIR (once per version)"
  start=$SECONDS
  rm -rf "$PREV_DIR/src" "$PREV_DIR/commit"; mkdir -p "$PREV_DIR/src"
  git -C "$REPO_ROOT" archive "$commit" | tar -x -C "$PREV_DIR/src"
  (cd "$PREV_DIR/src" && CARGO_TARGET_DIR="$PREV_DIR/target" cargo build --locked --bin smbp-operator) \
    > "$PREV_DIR/build.log" 2>&1 || { tail -n 30 "$PREV_DIR/build.log" >&2; die "building $prev_version failed"; }
  echo "$commit" > "$PREV_DIR/commit"
  log "built in $((SECONDS - start))s"
fi
echo "$PREV_BIN"
