#!/usr/bin/env bash
# Smoke-test the add-ons on a running test control plane (hack/addons.sh up ...):
#
#   hack/addons-selftest.sh [certmanager] [strimzi]     (default: both)
#
# certmanager: a SelfSigned ClusterIssuer issues a CA Certificate (isCA), a CA Issuer backed by
#   its Secret issues a leaf Certificate with dnsNames; both Ready=True, Secrets hold tls.crt,
#   tls.key and ca.crt, the leaf verifies against the CA and carries the dnsNames, and the Secret
#   is owned by its Certificate (deleted with it).
# strimzi: a Kafka gets Ready, status.listeners and <kafka>-cluster-ca-cert; a KafkaTopic gets
#   Ready, topicName and the topic-operator finalizer (removed on delete); a SCRAM KafkaUser gets
#   Ready, username, secret, and a Secret with password + sasl.jaas.config, labelled and owned
#   like Strimzi's; a KafkaTopic for a missing Kafka is left alone; deleting the namespace of a
#   Kafka with finalized KafkaTopics completes.
# Uses namespaces smbp-addons-selftest-*, deleted at the end. Prints "N passed, N failed".
# `cond && ok .. || ko ..` is intended: ok never fails.
# shellcheck disable=SC2015
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

passed=0 failed=0
log() { echo "addons-selftest: $*" >&2; }
ok() { passed=$((passed + 1)); log "PASS $*"; }
ko() { failed=$((failed + 1)); log "FAIL $*"; }
k() { kubectl_state "$@"; }
check() { # check <description> <timeout s> <command...>: poll until the command succeeds
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout)) t=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then ko "$what (timed out after ${timeout}s)"; return 0; fi
    sleep 0.2
  done
  ok "$what ($((SECONDS - t))s)"
}
jp() { k "$@" 2>/dev/null; } # jp <kubectl get ... -o jsonpath=...>
secret_key() { k -n "$1" get secret "$2" -o jsonpath="{.data.${3//./\\.}}" | base64 -d; }
TMPD="$(mktemp -d)"
trap 'rm -rf "$TMPD"' EXIT

[[ "$(k get --raw /readyz 2>/dev/null)" == ok ]] || { log "cluster is not up: run hack/cluster-up.sh"; exit 1; }
(($#)) || set -- certmanager strimzi

test_certmanager() {
  local ns=smbp-addons-selftest-cm
  "$HACK_DIR/addons.sh" status certmanager >/dev/null || { ko "certmanager add-on is up (hack/addons.sh up certmanager)"; return 0; }
  k delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
  k create namespace "$ns" >/dev/null
  k apply -f - >/dev/null <<EOF
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: smbp-selftest-selfsigned}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: selftest-ca, namespace: $ns}
spec:
  isCA: true
  commonName: smbp-selftest-ca
  secretName: selftest-ca
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: smbp-selftest-selfsigned}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selftest-ca, namespace: $ns}
spec: {ca: {secretName: selftest-ca}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: selftest-leaf, namespace: $ns}
spec:
  secretName: selftest-leaf
  dnsNames: [leaf.$ns.svc, leaf.$ns.svc.cluster.local]
  issuerRef: {group: cert-manager.io, kind: Issuer, name: selftest-ca}
EOF
  ready() { [[ "$(jp -n "$ns" get "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
  check "ClusterIssuer selfsigned Ready" 30 ready clusterissuer smbp-selftest-selfsigned
  check "CA Certificate Ready" 60 ready certificate selftest-ca
  check "CA Issuer Ready" 60 ready issuer selftest-ca
  check "leaf Certificate Ready" 60 ready certificate selftest-leaf
  local s key
  for s in selftest-ca selftest-leaf; do
    for key in tls.crt tls.key ca.crt; do
      if [[ -n "$(secret_key "$ns" "$s" "$key" 2>/dev/null)" ]]; then ok "Secret $s has $key"; else ko "Secret $s has $key"; fi
    done
  done
  secret_key "$ns" selftest-ca tls.crt > "$TMPD/ca.crt" 2>/dev/null || true
  secret_key "$ns" selftest-leaf tls.crt > "$TMPD/leaf.crt" 2>/dev/null || true
  secret_key "$ns" selftest-leaf ca.crt > "$TMPD/leaf-ca.crt" 2>/dev/null || true
  if openssl x509 -in "$TMPD/ca.crt" -noout -ext basicConstraints 2>/dev/null | grep -q 'CA:TRUE'; then
    ok "CA certificate has CA:TRUE"; else ko "CA certificate has CA:TRUE"; fi
  if openssl verify -CAfile "$TMPD/ca.crt" "$TMPD/leaf.crt" >/dev/null 2>&1 && cmp -s "$TMPD/ca.crt" "$TMPD/leaf-ca.crt"; then
    ok "leaf verifies against the CA, ca.crt is the CA"; else ko "leaf verifies against the CA, ca.crt is the CA"; fi
  if openssl x509 -in "$TMPD/leaf.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:leaf.$ns.svc.cluster.local"; then
    ok "leaf carries the dnsNames"; else ko "leaf carries the dnsNames"; fi
  if [[ "$(jp -n "$ns" get secret selftest-leaf -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" == Certificate/selftest-leaf ]]; then
    ok "leaf Secret owned by its Certificate"; else ko "leaf Secret owned by its Certificate"; fi
  k -n "$ns" delete certificate selftest-leaf --wait=true >/dev/null
  # (up to ~30s more right after `addons.sh up`: the garbage collector rediscovers resources every 30s)
  check "leaf Secret garbage-collected with its Certificate" 90 bash -c "! $(printf '%q ' "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig") -n $ns get secret selftest-leaf"
  k delete clusterissuer smbp-selftest-selfsigned --ignore-not-found >/dev/null
  k delete namespace "$ns" --wait=false >/dev/null
}

test_strimzi() {
  local ns=smbp-addons-selftest-kafka
  "$HACK_DIR/addons.sh" status strimzi >/dev/null || { ko "strimzi add-on is up (hack/addons.sh up strimzi)"; return 0; }
  k delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
  k create namespace "$ns" >/dev/null
  k apply -f - >/dev/null <<EOF
apiVersion: kafka.strimzi.io/v1
kind: KafkaNodePool
metadata: {name: dual, namespace: $ns, labels: {strimzi.io/cluster: kafka}}
spec:
  replicas: 3
  roles: [controller, broker]
  storage: {type: persistent-claim, size: 1Gi}
---
apiVersion: kafka.strimzi.io/v1
kind: Kafka
metadata: {name: kafka, namespace: $ns}
spec:
  kafka:
    listeners:
    - {name: tls, port: 9093, type: internal, tls: true, authentication: {type: scram-sha-512}}
  entityOperator: {topicOperator: {}, userOperator: {}}
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: events, namespace: $ns, labels: {strimzi.io/cluster: kafka}}
spec: {topicName: Events_v1, partitions: 3, replicas: 2}
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: leftover, namespace: $ns, labels: {strimzi.io/cluster: kafka}}
spec: {partitions: 1, replicas: 1}
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: orphan, namespace: $ns, labels: {strimzi.io/cluster: no-such-kafka}}
spec: {partitions: 1, replicas: 1}
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: app, namespace: $ns, labels: {strimzi.io/cluster: kafka}}
spec:
  authentication: {type: scram-sha-512}
  authorization:
    type: simple
    acls:
    - resource: {type: topic, name: Events_v1, patternType: literal}
      operations: [Read, Write, Describe]
EOF
  ready() { [[ "$(jp -n "$ns" get "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
  check "Kafka Ready" 30 ready kafka kafka
  check "KafkaTopic Ready" 30 ready kafkatopic events
  check "KafkaUser Ready" 30 ready kafkauser app
  local v
  v="$(jp -n "$ns" get kafka kafka -o jsonpath='{.status.listeners[?(@.name=="tls")].bootstrapServers}')"
  [[ "$v" == "kafka-kafka-bootstrap.$ns.svc:9093" ]] && ok "Kafka tls listener bootstrapServers ($v)" || ko "Kafka tls listener bootstrapServers ('$v')"
  v="$(jp -n "$ns" get kafka kafka -o jsonpath='{.status.listeners[?(@.name=="tls")].certificates[0]}')"
  [[ "$v" == "-----BEGIN CERTIFICATE-----"* && "$v" == "$(secret_key "$ns" kafka-cluster-ca-cert ca.crt)" ]] \
    && ok "listener certificate = ca.crt of kafka-cluster-ca-cert" || ko "listener certificate = ca.crt of kafka-cluster-ca-cert"
  [[ "$(jp -n "$ns" get kafka kafka -o jsonpath='{.status.observedGeneration}')" == 1 ]] && ok "Kafka observedGeneration" || ko "Kafka observedGeneration"
  [[ "$(jp -n "$ns" get kafkatopic events -o jsonpath='{.status.topicName}')" == Events_v1 ]] && ok "KafkaTopic status.topicName" || ko "KafkaTopic status.topicName"
  [[ "$(jp -n "$ns" get kafkatopic events -o jsonpath='{.metadata.finalizers}')" == *strimzi.io/topic-operator* ]] \
    && ok "KafkaTopic has the topic-operator finalizer" || ko "KafkaTopic has the topic-operator finalizer"
  [[ "$(jp -n "$ns" get kafkauser app -o jsonpath='{.status.username}/{.status.secret}')" == app/app ]] \
    && ok "KafkaUser status.username/secret" || ko "KafkaUser status.username/secret"
  local pw jaas
  pw="$(secret_key "$ns" app password 2>/dev/null || true)"
  jaas="$(secret_key "$ns" app sasl.jaas.config 2>/dev/null || true)"
  [[ ${#pw} -ge 12 && "$jaas" == "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"app\" password=\"$pw\";" ]] \
    && ok "user Secret password + sasl.jaas.config" || ko "user Secret password + sasl.jaas.config ('$jaas')"
  [[ "$(jp -n "$ns" get secret app -o jsonpath='{.metadata.labels.strimzi\.io/kind}/{.metadata.labels.strimzi\.io/cluster}/{.metadata.ownerReferences[0].kind}')" == KafkaUser/kafka/KafkaUser ]] \
    && ok "user Secret labels and owner" || ko "user Secret labels and owner"
  sleep 1
  [[ -z "$(jp -n "$ns" get kafkatopic orphan -o jsonpath='{.status}{.metadata.finalizers}')" ]] \
    && ok "KafkaTopic of a missing Kafka left alone" || ko "KafkaTopic of a missing Kafka left alone"
  k -n "$ns" patch kafkatopic events --type=merge -p '{"spec":{"partitions":6}}' >/dev/null
  check "KafkaTopic observedGeneration follows spec changes" 30 \
    bash -c "[[ \$($(printf '%q ' "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig") -n $ns get kafkatopic events -o jsonpath='{.status.observedGeneration}') == 2 ]]"
  if timeout 30 "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" -n "$ns" delete kafkatopic events --wait=true >/dev/null 2>&1; then
    ok "KafkaTopic deletion completes (finalizer removed)"; else ko "KafkaTopic deletion completes (finalizer removed)"; fi
  k -n "$ns" delete kafkauser app --wait=true >/dev/null
  check "user Secret garbage-collected with its KafkaUser" 90 bash -c "! $(printf '%q ' "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig") -n $ns get secret app"
  check "KafkaTopic leftover Ready" 30 ready kafkatopic leftover
  # Namespace deletion removes the Kafka and its topics at once: must not hang on the finalizer.
  k delete namespace "$ns" --wait=false >/dev/null
  check "namespace with a Kafka and a finalized KafkaTopic deletes" 90 \
    bash -c "! $(printf '%q ' "$STATE_DIR/bin/kubectl" --kubeconfig "$STATE_DIR/kubeconfig") get namespace $ns"
}

for a in "$@"; do
  case "$a" in
    certmanager) test_certmanager ;;
    strimzi) test_strimzi ;;
    *) log "unknown add-on '$a'"; exit 2 ;;
  esac
done
echo "$passed passed, $failed failed"
((failed == 0))
