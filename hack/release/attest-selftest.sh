#!/usr/bin/env bash
# Self-test of hack/release/attest.sh on a throwaway image in a loopback registry: no container
# runtime, no internet.
#
# Usage:
#   hack/release/attest-selftest.sh BIN DEB...
#
#   BIN   the operator binary built with `cargo auditable build --release --locked --bin smbp-operator`
#   DEB   Debian packages (.deb) for the base layer, e.g. from `apt-get download libgcc-s1 tzdata`
#
# Starts `crane registry serve` on 127.0.0.1:${ATTEST_PORT:-5201}, pushes an image of two layers
# (the packages' files with a distroless-style /var/lib/dpkg/status.d/<package> control file each,
# then /smbp-operator) and a second image (the base layer only, standing in for another release
# image), then runs attest.sh on both with --operator and the tamper cases. Stops the registry.
# Env: CRANE (default: crane from hack/olm/build-tools.sh), SYFT, COSIGN, ATTEST_OUT, ATTEST_PORT.
# To show that nothing but loopback is used, run it (as root) in a network namespace of its own:
#   unshare -n bash -c 'ip link set lo up && hack/release/attest-selftest.sh BIN DEB...'
# (the tools must be built first: they come from the Go module proxy).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
(($# >= 2)) || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
BIN="$1"; shift
PORT="${ATTEST_PORT:-5201}"
REG="127.0.0.1:$PORT"
if [[ -z "${CRANE:-}" ]]; then CRANE="$(OLM_TOOLS=crane "$ROOT/hack/olm/build-tools.sh")/crane"; fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/attest-selftest.XXXXXX")"
REG_PID=""
cleanup() { if [[ -n "$REG_PID" ]]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi; rm -rf "$TMP"; }
trap cleanup EXIT

"$CRANE" registry serve --address "$REG" >"$TMP/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 50); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "http://$REG/v2/" >/dev/null || { cat "$TMP/registry.log" >&2; exit 1; }

# Layers with fixed owners and times, so the digests depend on the contents only.
tarball() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .; }
mkdir -p "$TMP/base/var/lib/dpkg/status.d" "$TMP/app"
for deb in "$@"; do
  pkg="$(dpkg-deb -f "$deb" Package)"
  dpkg-deb -x "$deb" "$TMP/base"
  dpkg-deb -f "$deb" > "$TMP/base/var/lib/dpkg/status.d/$pkg"
done
install -m 0755 "$BIN" "$TMP/app/smbp-operator"
tarball "$TMP/base" "$TMP/base.tar"
tarball "$TMP/app" "$TMP/app.tar"

"$CRANE" append -f "$TMP/base.tar" -t "$REG/selftest/base:v1" >/dev/null 2>"$TMP/crane.log"
"$CRANE" append -b "$REG/selftest/base:v1" -f "$TMP/app.tar" -t "$REG/selftest/smbp-operator:v1" >/dev/null 2>>"$TMP/crane.log"
op="$REG/selftest/smbp-operator@$("$CRANE" digest "$REG/selftest/smbp-operator:v1")"
base="$REG/selftest/base@$("$CRANE" digest "$REG/selftest/base:v1")"
echo "attest-selftest: $op" >&2
echo "attest-selftest: $base" >&2

"$ROOT/hack/release/attest.sh" --out "${ATTEST_OUT:-$TMP/out}" --operator "$op" "$op" "$base"
