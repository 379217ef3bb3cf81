#!/usr/bin/env bash
# hack/stage.sh <name> <command> [args...]: run one stage of `make run` / `make test` and say
# so: a line when it starts, a heartbeat every minute while it runs (a first build of the
# control plane takes tens of minutes, and should visibly be working), and a line with its
# time when it ends. The command's exit code is passed on.
#
# Env: SMBP_STAGE_LOG (append "<name><TAB><seconds><TAB>ok|failed" to this file; hack/test-cold.sh
#      prints them as a table), SMBP_HEARTBEAT (seconds between heartbeats, default 60).
set -uo pipefail
(($# >= 2)) || { echo "usage: $0 <name> <command> [args...]" >&2; exit 2; }
name="$1"
shift
t0="$(date +%s)"
echo "==> [$name] started at $(date -u +%H:%M:%SZ)" >&2
(
  while sleep "${SMBP_HEARTBEAT:-60}"; do
    echo "... [$name] still running after $(($(date +%s) - t0))s" >&2
  done
) &
heartbeat=$!
"$@"
rc=$?
kill "$heartbeat" 2>/dev/null
wait "$heartbeat" 2>/dev/null
secs=$(($(date +%s) - t0))
if ((rc == 0)); then
  echo "<== [$name] done in ${secs}s" >&2
  result=ok
else
  echo "<== [$name] FAILED after ${secs}s (exit $rc)" >&2
  result=failed
fi
if [[ -n "${SMBP_STAGE_LOG:-}" ]]; then
  printf '%s\t%s\t%s\n' "$name" "$secs" "$result" >>"$SMBP_STAGE_LOG"
fi
exit "$rc"
