#!/usr/bin/env bash
# Red Hat certification's container checks (preflight `check container`) that do not need a UBI
# base, run on an image in a registry with crane:
#
#   labels    HasRequiredLabel: name, vendor, version, release, summary, description, maintainer
#   licenses  HasLicense: /licenses holds at least one file
#   user      RunAsNonRoot: USER is a numeric uid (optionally :gid) other than 0
#   layers    LayerCountAcceptable: at most 40 layers
#   tag       HasUniqueTag: the image is referenced by a tag that is not `latest`, and the
#             repository lists that tag
#
# Not checked here (they need a UBI/RHEL base and Red Hat's RPM data; the release workflow's
# preflight run covers them): BasedOnUbi, HasModifiedFiles and HasNoProhibitedPackages (RPM
# database), and HasProhibitedContainerName (Red Hat trademark list).
#
# Usage: hack/release/check-image.sh [--checks labels,licenses,user,layers,tag] <registry/repo:tag>
# Prints one "PASS <check>: ..." or "FAIL <check>: ..." line per check; exits 1 when one fails.
# Needs crane in $CRANE (or on PATH), jq, tar.
set -euo pipefail

CHECKS="labels,licenses,user,layers,tag"
if [[ "${1:-}" == --checks ]]; then CHECKS="$2"; shift 2; fi
[[ $# == 1 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
REF="$1"
CRANE="${CRANE:-crane}"

fails=0
pass() { echo "PASS $1: $2"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

config="$("$CRANE" config "$REF")"
manifest="$("$CRANE" manifest "$REF")"

for check in ${CHECKS//,/ }; do
  case "$check" in
    labels)
      missing=()
      for l in name vendor version release summary description maintainer; do
        v="$(jq -r --arg l "$l" '.config.Labels[$l] // ""' <<< "$config")"
        [[ -n "$v" ]] || missing+=("$l")
      done
      if [[ ${#missing[@]} == 0 ]]; then pass labels "all required labels set"
      else fail labels "missing or empty: ${missing[*]}"; fi ;;
    licenses)
      n="$("$CRANE" export "$REF" - | tar -tvf - | awk '$1 !~ /^d/ && $NF ~ /^(\.\/)?licenses\/./' | wc -l)"
      if [[ "$n" -gt 0 ]]; then pass licenses "$n file(s) in /licenses"
      else fail licenses "no file in /licenses"; fi ;;
    user)
      user="$(jq -r '.config.User // ""' <<< "$config")"
      uid="${user%%:*}"
      if [[ "$uid" =~ ^[0-9]+$ && "$uid" != 0 && "$((10#$uid))" != 0 ]]; then pass user "USER $user"
      else fail user "USER '${user}' is not a numeric non-root uid"; fi ;;
    layers)
      n="$(jq '.layers | length' <<< "$manifest")"
      if [[ "$n" -le 40 ]]; then pass layers "$n layers (at most 40)"
      else fail layers "$n layers (more than 40)"; fi ;;
    tag)
      repo="${REF%@*}"; tag=""
      if [[ "${repo##*/}" == *:* ]]; then tag="${repo##*:}"; repo="${repo%:*}"; fi
      if [[ -z "$tag" ]]; then fail tag "referenced without a tag"
      elif [[ "$tag" == latest ]]; then fail tag "tag 'latest' is not a unique tag"
      elif "$CRANE" ls "$repo" | grep -qxF -- "$tag"; then pass tag "unique tag $tag"
      else fail tag "tag $tag not listed in $repo"; fi ;;
    *) echo "unknown check $check" >&2; exit 2 ;;
  esac
done
[[ $fails == 0 ]]
