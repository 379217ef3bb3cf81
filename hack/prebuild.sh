#!/usr/bin/env bash
# hack/prebuild.sh: build what the later stages of `make test` need, in the background at the
# lowest CPU and I/O priority, while the earlier stages run. The e2e suites mostly wait on the
# control plane and leave a core idle; the builds fill it, so the release pipeline and the smoke
# runs on older Kubernetes find their inputs built (CI's time budget needs it). Each item is the
# same script its stage runs, into the same cache, so a stage that does not wait, or runs alone,
# builds it itself; a failed background build is only reported (the stage's own build then shows
# the error).
#
# Usage:
#   hack/prebuild.sh start --owner PID [ITEM...]  start the builds, in this order (default: all
#                                                  items); they stop when PID (make) exits
#   hack/prebuild.sh wait ITEM...                  return when each item's background build has
#                                                  ended (at once if none is running)
#   hack/prebuild.sh stop                          stop the builds; print what each item took
#   hack/prebuild.sh status                        what each item took, or that it is running
#
# Items, in the order the stages need them:
#   previous-release   the previous release's operator binary (hack/olm/build-previous.sh; OLM e2e)
#   release-tools      crane, syft, cosign (hack/olm/build-tools.sh; release-local; opm is the OLM
#                      tools stage's)
#   release-binary     cargo-auditable and the release build (hack/release/build-binary.sh;
#                      release-local)
#   controlplane-<v>   each older Kubernetes in SMOKE_K8S (hack/build-controlplane.sh;
#                      smoke-versions)
#
# Env: SMBP_PREBUILD_DIR (state and logs; default .cache/prebuild in the checkout), SMOKE_K8S,
#      and whatever the item scripts read (SMBP_CACHE, CARGO_TARGET_DIR, GOCACHE, ...).
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HACK_DIR/.." && pwd)"
DIR="${SMBP_PREBUILD_DIR:-$REPO/.cache/prebuild}"
log() { echo "prebuild: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

all_items() {
  local v
  printf "%s\n" previous-release release-tools release-binary
  for v in ${SMOKE_K8S:-}; do echo "controlplane-$v"; done
}

item_run() { # item_run <item>: the item's build, output to stdout/stderr
  case "$1" in
    previous-release) "$HACK_DIR/olm/build-previous.sh" ;;
    release-tools) OLM_TOOLS="crane syft cosign" "$HACK_DIR/olm/build-tools.sh" ;;
    release-binary) "$HACK_DIR/release/build-binary.sh" ;;
    controlplane-*) SMBP_K8S_VERSION="${1#controlplane-}" SMBP_BUILD_ADDONS=0 "$HACK_DIR/build-controlplane.sh" ;;
    *) die "unknown item '$1' (known: $(all_items | tr '\n' ' '))" ;;
  esac
}

# The chain's pid (also its process group: it runs under setsid), if it is still running.
running() {
  local pid
  pid="$(cat "$DIR/pid" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

status() {
  local item
  for item in $(cat "$DIR/items" 2>/dev/null); do
    if [[ -f "$DIR/$item.done" ]]; then
      log "$item: built in the background in $(cat "$DIR/$item.done")s"
    elif [[ -f "$DIR/$item.failed" ]]; then
      log "$item: FAILED in the background after $(cat "$DIR/$item.failed")s (log: $DIR/$item.log)"
    elif running >/dev/null; then
      log "$item: not built yet"
    else
      log "$item: not built (the background builds stopped before it)"
    fi
  done
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start)
    owner=""
    if [[ "${1:-}" == --owner ]]; then owner="$2"; shift 2; fi
    [[ -n "$owner" ]] || die "start needs --owner PID (the process whose end stops the builds)"
    if pid="$(running)"; then log "already running (pid $pid)"; exit 0; fi
    items=("$@")
    ((${#items[@]})) || mapfile -t items < <(all_items)
    for item in "${items[@]}"; do
      case "$item" in previous-release | release-tools | release-binary | controlplane-*) ;;
        *) die "unknown item '$item'" ;; esac
    done
    mkdir -p "$DIR"
    rm -f "$DIR"/*.done "$DIR"/*.failed "$DIR"/*.log "$DIR/pid"
    printf '%s\n' "${items[@]}" > "$DIR/items"
    setsid nice -n 19 "$0" _chain "$owner" "${items[@]}" < /dev/null > "$DIR/chain.log" 2>&1 &
    for _ in $(seq 50); do [[ -s "$DIR/pid" ]] && break; sleep 0.1; done
    log "building in the background at nice 19 (pid $(cat "$DIR/pid" 2>/dev/null || echo ?); logs in $DIR): ${items[*]}"
    ;;
  _chain)
    owner="$1"
    shift
    echo "$$" > "$DIR/pid"
    # setsid put the chain in a session of its own, and with the kernel's autogroup scheduling
    # (sched_autogroup_enabled=1, the default) each session is a group that gets an equal share of
    # the CPU whatever its processes' nice values: measured, the chain got ~45% of both cores next
    # to make's stages. The group's own nice value puts it behind them.
    echo 19 > "/proc/$$/autogroup" 2>/dev/null || true
    # Idle I/O class too, where the kernel's I/O scheduler honours it.
    ionice -c 3 -p "$$" >/dev/null 2>&1 || true
    # Stop with the owner (make): a failed `make test` leaves nothing building.
    ( while kill -0 "$owner" 2>/dev/null; do sleep 5; done
      log "owner $owner ended: stopping"
      kill -TERM -- "-$$" 2>/dev/null ) &
    watchdog=$!
    for item in "$@"; do
      t0=$SECONDS
      log "== $item"
      if item_run "$item" > "$DIR/$item.log" 2>&1; then
        echo "$((SECONDS - t0))" > "$DIR/$item.done"
        log "== $item: done in $((SECONDS - t0))s"
      else
        echo "$((SECONDS - t0))" > "$DIR/$item.failed"
        log "== $item: FAILED after $((SECONDS - t0))s"
      fi
    done
    kill "$watchdog" 2>/dev/null || true
    rm -f "$DIR/pid"
    ;;
  wait)
    (($#)) || die "wait needs at least one item"
    t0=$SECONDS waited_for=()
    for item in "$@"; do
      grep -qx "$item" "$DIR/items" 2>/dev/null || continue
      [[ ! -f "$DIR/$item.done" ]] || continue
      waited_for+=("$item")
      next=60
      while [[ ! -f "$DIR/$item.done" && ! -f "$DIR/$item.failed" ]] && running >/dev/null; do
        if ((SECONDS - t0 >= next)); then
          log "still waiting for $item after $((SECONDS - t0))s"
          next=$((next + 60))
        fi
        sleep 2
      done
      if [[ -f "$DIR/$item.failed" ]]; then
        log "$item FAILED in the background; its stage builds it again (background log: $DIR/$item.log):"
        tail -n 20 "$DIR/$item.log" >&2 || true
      fi
    done
    waited=$((SECONDS - t0))
    ((${#waited_for[@]})) || exit 0
    log "waited ${waited}s for ${waited_for[*]}"
    if [[ -n "${SMBP_STAGE_LOG:-}" ]]; then
      printf '%s\t%s\t%s\n' "(waiting: ${waited_for[*]})" "$waited" ok >> "$SMBP_STAGE_LOG"
    fi
    ;;
  stop)
    if pid="$(running)"; then
      log "stopping the background builds (pid $pid)"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do running >/dev/null || break; sleep 0.1; done
      rm -f "$DIR/pid"
    fi
    status
    ;;
  status) status ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
