#!/usr/bin/env bash
# Self-test of the OLM validation tooling: writes a small sample bundle + catalog into a temp dir
# (an imaginary "sample-operator", nothing to do with the project's own bundle), checks that
# validate-bundle.sh passes it, then breaks it in several ways and checks that each break is
# caught by the expected tool. Prints "N passed, M failed"; exits 1 on any failure.
#
#   hack/olm/selftest.sh [-v]      (-v: show validate-bundle.sh output of every case)
set -uo pipefail

OLM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERBOSE=0
[[ "${1:-}" == -v ]] && VERBOSE=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Build (or find) the tools once, up front.
OLM_TOOLS="bundle-validate scorecard opm" "$OLM_DIR/build-tools.sh" >/dev/null || { echo "selftest: build failed"; exit 1; }

DIGEST=sha256:0000000000000000000000000000000000000000000000000000000000000001
IMAGE="quay.io/example/sample-operator@$DIGEST"

write_good() { # write_good <dir>: bundle in <dir>/bundle, catalog in <dir>/catalog
  local b="$1/bundle" icon
  mkdir -p "$b/manifests" "$b/metadata" "$b/tests/scorecard" "$1/catalog/sample-operator"
  icon="$(printf '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="3"/></svg>' | base64 -w0)"
  cat > "$b/manifests/example.com_widgets.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer, minimum: 1}
          status:
            type: object
            properties:
              observedGeneration: {type: integer}
EOF
  cat > "$b/manifests/sample-operator.clusterserviceversion.yaml" <<EOF
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: sample-operator.v0.1.0
  annotations:
    alm-examples: '[{"apiVersion":"example.com/v1alpha1","kind":"Widget","metadata":{"name":"example"},"spec":{"replicas":1},"status":{"observedGeneration":0}}]'
    capabilities: Deep Insights
    categories: Database
    containerImage: $IMAGE
    createdAt: "2026-01-01T00:00:00Z"
    repository: https://github.com/example/sample-operator
    support: Example
    description: Runs widgets.
    operatorframework.io/suggested-namespace: sample-operator
    operators.openshift.io/valid-subscription: '[]'
    features.operators.openshift.io/disconnected: "true"
    features.operators.openshift.io/fips-compliant: "false"
    features.operators.openshift.io/proxy-aware: "false"
    features.operators.openshift.io/tls-profiles: "false"
    features.operators.openshift.io/token-auth-aws: "false"
    features.operators.openshift.io/token-auth-azure: "false"
    features.operators.openshift.io/token-auth-gcp: "false"
spec:
  displayName: Sample Operator
  description: |
    A sample operator for the self-test of the OLM validation tooling.
  version: 0.1.0
  minKubeVersion: 1.33.0
  maturity: alpha
  provider: {name: Example}
  maintainers: [{name: Example, email: maintainers@example.com}]
  links: [{name: Source, url: "https://github.com/example/sample-operator"}]
  keywords: [widgets]
  icon:
  - base64data: $icon
    mediatype: image/svg+xml
  installModes:
  - {type: OwnNamespace, supported: true}
  - {type: SingleNamespace, supported: true}
  - {type: MultiNamespace, supported: false}
  - {type: AllNamespaces, supported: true}
  customresourcedefinitions:
    owned:
    - name: widgets.example.com
      version: v1alpha1
      kind: Widget
      displayName: Widget
      description: A Widget deployment.
      resources: [{kind: Deployment, version: v1}]
      specDescriptors:
      - {path: replicas, displayName: Replicas, description: Pods., x-descriptors: ["urn:alm:descriptor:com.tectonic.ui:podCount"]}
      statusDescriptors:
      - {path: observedGeneration, displayName: Observed generation, description: Seen., x-descriptors: ["urn:alm:descriptor:text"]}
  relatedImages:
  - {name: sample-operator, image: "$IMAGE"}
  install:
    strategy: deployment
    spec:
      deployments:
      - name: sample-operator
        spec:
          replicas: 1
          selector: {matchLabels: {app: sample-operator}}
          template:
            metadata: {labels: {app: sample-operator}}
            spec:
              serviceAccountName: sample-operator
              containers:
              - name: manager
                image: "$IMAGE"
                resources: {requests: {cpu: 10m, memory: 64Mi}}
      permissions:
      - serviceAccountName: sample-operator
        rules:
        - {apiGroups: [example.com], resources: [widgets, widgets/status], verbs: [get, list, watch, update, patch]}
EOF
  cat > "$b/metadata/annotations.yaml" <<'EOF'
annotations:
  operators.operatorframework.io.bundle.mediatype.v1: registry+v1
  operators.operatorframework.io.bundle.manifests.v1: manifests/
  operators.operatorframework.io.bundle.metadata.v1: metadata/
  operators.operatorframework.io.bundle.package.v1: sample-operator
  operators.operatorframework.io.bundle.channels.v1: stable
  operators.operatorframework.io.bundle.channel.default.v1: stable
  operators.operatorframework.io.test.mediatype.v1: scorecard+v1
  operators.operatorframework.io.test.config.v1: tests/scorecard/
  com.redhat.openshift.versions: v4.18-v4.21
EOF
  { printf 'apiVersion: scorecard.operatorframework.io/v1alpha3\nkind: Configuration\nmetadata: {name: config}\nstages:\n- parallel: true\n  tests:\n'
    for t in basic-check-spec olm-bundle-validation olm-crds-have-validation olm-crds-have-resources \
             olm-spec-descriptors olm-status-descriptors; do
      printf '  - entrypoint: [scorecard-test, %s]\n    image: quay.io/operator-framework/scorecard-test:v1.42.3\n    labels: {test: %s}\n' "$t" "$t"
    done; } > "$b/tests/scorecard/config.yaml"
  cat > "$1/catalog/sample-operator/index.yaml" <<'EOF'
---
schema: olm.package
name: sample-operator
defaultChannel: stable
---
schema: olm.channel
package: sample-operator
name: stable
entries:
- name: sample-operator.v0.1.0
---
schema: olm.bundle
name: sample-operator.v0.1.0
package: sample-operator
image: quay.io/example/sample-operator-bundle@sha256:0000000000000000000000000000000000000000000000000000000000000002
properties:
- {type: olm.package, value: {packageName: sample-operator, version: 0.1.0}}
- {type: olm.gvk, value: {group: example.com, kind: Widget, version: v1alpha1}}
EOF
}

passed=0 failed=0
# case <name> <want exit> <pattern that the output must contain> <break command...>
case_() {
  local name="$1" want="$2" pattern="$3"; shift 3
  local d="$WORK/$name" out rc
  write_good "$d"
  (cd "$d" && "$@") || { echo "FAIL $name: could not apply the change"; failed=$((failed + 1)); return; }
  out="$("$OLM_DIR/validate-bundle.sh" "$d/bundle" "$d/catalog" 2>&1)"; rc=$?
  [[ $VERBOSE == 1 ]] && printf '%s\n' "$out" | sed "s/^/    [$name] /"
  if [[ $rc == "$want" ]] && grep -qF -- "$pattern" <<< "$out"; then
    echo "PASS $name (exit $rc, found: $pattern)"; passed=$((passed + 1))
  else
    echo "FAIL $name: exit $rc (want $want), pattern '$pattern' $(grep -qF -- "$pattern" <<< "$out" && echo found || echo 'not found')"
    printf '%s\n' "$out" | tail -n 25 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}
CSV=bundle/manifests/sample-operator.clusterserviceversion.yaml

case_ clean 0 "validate-bundle: PASS" true
case_ no-description 1 "[checklist] sample-operator.v0.1.0: Field spec.description: empty" \
  sed -i '/^  description: |$/,+1d' "$CSV"
case_ no-icon 1 "[operatorhubv2] sample-operator.v0.1.0: Value : (sample-operator.v0.1.0) csv.Spec.Icon not specified" \
  sed -i '/^  icon:$/,+2d' "$CSV"
case_ owned-crd-no-description 1 "[good-practices] sample-operator.v0.1.0: Value sample-operator.v0.1.0: owned CRD \"widgets.example.com\" has an empty description" \
  sed -i 's/^      description: A Widget deployment.$/      description: ""/' "$CSV"
case_ no-spec-descriptors 1 "FAIL olm-spec-descriptors" \
  sed -i '/^      specDescriptors:$/,+1d' "$CSV"
case_ tag-not-digest 1 "is not pinned by digest" \
  sed -i "s#$IMAGE#quay.io/example/sample-operator:v0.1.0#g" "$CSV"
case_ broken-catalog 1 "opm validate     FAIL" \
  sed -i 's/^- name: sample-operator.v0.1.0$/- name: sample-operator.v0.2.0/' catalog/sample-operator/index.yaml
case_ big-file 1 "size             FAIL" \
  sh -c 'printf "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  x: \"%s\"\n" "$(head -c 600000 /dev/urandom | base64 -w0)" > bundle/manifests/big.yaml'

echo "selftest: $passed passed, $failed failed"
[[ $failed == 0 ]]
