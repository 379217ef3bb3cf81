#!/usr/bin/env bash
# Parse every PromQL expression of the Grafana dashboards (panel targets and `label_values`
# variable queries) and of the ```promql blocks under docs/ with promtool: they become the
# recording rules of a scratch rule file. Grafana variables are replaced by plain values first.
# Which metrics they name is checked by a unit test (tests/assets/main.rs).
# shellcheck disable=SC2016 # `$` in the awk, jq and sed programs below is literal
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || { echo "promtool missing (Debian/Ubuntu package: prometheus)"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One JSON string per expression.
jq -c '(.. | objects | select(has("expr")) | .expr),
       (.templating.list[] | select(.type == "query") | (.query.query? // .query)
        | sub("^label_values\\((?<e>.*),\\s*[A-Za-z_][A-Za-z0-9_]*\\)$"; "\(.e)"))' \
  monitoring/dashboards/*.json >"$tmp/raw"
# One query per line inside ```promql fences.
find docs -name '*.md' -print0 | sort -z |
  xargs -0 awk '/^ *```promql *$/ {on = 1; next} /^ *```/ {on = 0} on && NF' |
  sed -E 's/^ +//' | jq -R -c . >>"$tmp/raw"
sed -E 's/\$__rate_interval/5m/g; s/\$__interval/1m/g; s/\$__range/1h/g; s/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/x/g' \
  "$tmp/raw" >"$tmp/exprs"

{
  echo "groups:"
  echo "  - name: dashboards-and-docs"
  echo "    rules:"
  n=0
  while IFS= read -r expr; do
    n=$((n + 1))
    echo "      - record: expr_$n"
    echo "        expr: $expr"
  done <"$tmp/exprs"
} >"$tmp/rules.yaml"
if ! out=$(promtool check rules "$tmp/rules.yaml" 2>&1); then
  echo "$out"
  cat -n "$tmp/rules.yaml"
  exit 1
fi
echo "check-dashboards: $(wc -l <"$tmp/exprs") PromQL expressions parse"
