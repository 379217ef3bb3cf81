#!/usr/bin/env bash
# Run operator-sdk scorecard's six static tests on a bundle directory, without a cluster or
# containers:
#
#   hack/olm/scorecard.sh <bundle dir> [--strict] [-v] [-o json] [TEST...]
#
# Tests (default: all six): basic-check-spec, olm-bundle-validation, olm-crds-have-validation,
# olm-crds-have-resources, olm-spec-descriptors, olm-status-descriptors. A seventh check,
# "config", fails when <bundle>/tests/scorecard/config.yaml does not list every test that is run
# (entrypoint [scorecard-test, <test>]), so `operator-sdk scorecard` on a cluster runs the same set.
#
# Prints PASS/FAIL per test with its errors and suggestions; exits 1 on any failure, 2 on usage
# errors. Suggestions do not fail a test unless --strict (or SCORECARD_STRICT=1) is given.
#
# How: the upstream scorecard-test image binary reads the bundle from the fixed path /bundle
# (a constant in operator-sdk's internal/scorecard). Rather than creating /bundle on the host
# (root, global state, racy between runs) or bind-mounting it in a private mount namespace
# (root/CAP_SYS_ADMIN only), build-tools.sh builds a small entry point of ours
# (scorecard/_sdk_main/main.go) inside a temporary copy of the operator-sdk module; it calls
# the same upstream test functions with --bundle DIR. No root needed, safe to run in parallel.
set -euo pipefail

OLM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 && -d "$1" ]] || { echo "usage: $0 <bundle dir> [--strict] [-v] [-o json] [TEST...]" >&2; exit 2; }
BUNDLE="$1"; shift
BIN="$(OLM_TOOLS=scorecard "$OLM_DIR/build-tools.sh" | tail -n 1)"
ARGS=()
if [[ "${SCORECARD_STRICT:-0}" == 1 ]]; then ARGS+=(--strict); fi
exec "$BIN/scorecard-test" --bundle "$BUNDLE" "${ARGS[@]}" "$@"
