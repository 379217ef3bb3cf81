#!/usr/bin/env bash
# hack/smoke-versions.sh <major.minor>...: the smoke subset of the tests on older Kubernetes
# versions (`make smoke-versions`, part of `make test`; the full suites run on the newest).
#
# For each version, one at a time: a cluster of that version (hack/cluster-up.sh with
# SMBP_K8S_VERSION; its control plane is built on first use, see hack/build-controlplane.sh) in
# its own state dir <SMBP_CLUSTER_DIR>-<major.minor>, then
#   - e2e (tests/e2e) filtered to SMOKE_E2E_TESTS: the CRDs' schema and CEL rules against that API
#     server, create, scale, a version rollout, a config change, delete;
#   - the kustomize install (tests/install, all of it);
#   - OLM: hack/olm-up.sh and tests/olm filtered to SMOKE_OLM_TESTS (install from the catalog);
# then the cluster is stopped (also on failure). The default cluster (SMBP_CLUSTER_DIR) is stopped
# first, its state kept (KEEP_STATE=1): the version clusters use the same ports and pod CIDR (any
# SMBP_*_PORT / SMBP_POD_CIDR set applies to them too). `make e2e` etc. start it again.
#
# Env: SMBP_OPERATOR_BIN (the operator binary under test, required), SMBP_CLUSTER_DIR, the
#      SMBP_*_PORT of hack/cluster-lib.sh, SMBP_OPM_PORT, CARGO (default cargo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

# Each name is a substring filter of `cargo test` (see the tests for what each proves).
SMOKE_E2E_TESTS=(
  create_reaches_ready_with_owned_objects_and_events
  invalid_specs_are_rejected_by_the_api_server
  scale_up_and_down_and_refuse_below_replication_factor
  version_change_rolls_one_store_pod_at_a_time
  drift_is_restored
  delete_retains_volumes
  kustomize_install_is_accepted
  every_corpus_case_is_refused_naming_its_field_and_every_example_is_admitted
)
SMOKE_OLM_TESTS=(install_from_catalog)

log() { echo "smoke-versions: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
(($# >= 1)) || die "usage: $0 <major.minor>..."
[[ -x "${SMBP_OPERATOR_BIN:-}" ]] || die "SMBP_OPERATOR_BIN must name the operator binary"
CARGO="${CARGO:-cargo}"
STAGE="$HACK_DIR/stage.sh"
DEFAULT_DIR="$STATE_DIR"

log "stopping the default cluster in $DEFAULT_DIR (same ports; state kept)"
KEEP_STATE=1 "$HACK_DIR/cluster-down.sh" >&2

for v in "$@"; do
  dir="$DEFAULT_DIR-$v"
  export SMBP_CLUSTER_DIR="$dir" SMBP_K8S_VERSION="$v" KUBECONFIG="$dir/kubeconfig"
  trap 'SMBP_CLUSTER_DIR="$dir" "$HACK_DIR/cluster-down.sh" >&2 || true' EXIT
  "$STAGE" "cluster up $v" "$HACK_DIR/cluster-up.sh" >/dev/null
  "$STAGE" "smoke e2e $v" "$CARGO" test --locked --test e2e -- --ignored --test-threads=1 "${SMOKE_E2E_TESTS[@]}"
  "$STAGE" "smoke install $v" "$CARGO" test --locked --test install -- --ignored --test-threads=1
  "$STAGE" "smoke OLM $v" bash -c '"$1/olm-up.sh" && shift && exec "$@"' _ "$HACK_DIR" \
    "$CARGO" test --locked --test olm -- --ignored --test-threads=1 "${SMOKE_OLM_TESTS[@]}"
  "$HACK_DIR/cluster-down.sh" >&2
  trap - EXIT
done
log "passed on Kubernetes $*"
