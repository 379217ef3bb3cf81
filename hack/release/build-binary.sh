#!/usr/bin/env bash
# hack/release/build-binary.sh: the operator's release binary, built as hack/release/images.sh
# builds it (release_binary in lib.sh: `cargo auditable build --release --locked`, paths remapped),
# into the target dir, without making any image. `make test` runs it early, in the background
# (hack/prebuild.sh), so that `make release-local` finds the binary built. Prints its path.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=hack/release/lib.sh
source "$HACK_DIR/release/lib.sh"
CACHE_ROOT="${SMBP_CACHE:-$HOME/.cache/smbp-operator}"
release_binary
echo "${CARGO_TARGET_DIR:-$REPO/target}/release/smbp-operator"
