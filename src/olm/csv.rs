//! The ClusterServiceVersion. Every claim in it (install modes, capability level, the
//! OpenShift feature annotations) is true of the code; the tests below pin the claims.

use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::WebhookClientConfig;
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::{Value, json};

use crate::facts::{OPERATOR_DEPLOYMENT, WEBHOOK_PATH, WEBHOOK_PORT};
use crate::webhook;

use super::flavour::Flavour;
use super::manager;
use super::rbac;
use super::release::{self, Release};

/// Capability level the operator reaches. The operator-framework treats the levels as sets of
/// features that may be independent of each other; this one is Deep Insights: operator and
/// Big Peer metrics (per-BigPeer ServiceMonitor/PodMonitor), shipped alerts with runbooks,
/// Grafana dashboards, an Event catalogue and traces, on top of Seamless Upgrades (operator
/// upgrades never restart Big Peer pods). Full Lifecycle's backup and restore is not built.
pub const CAPABILITY: &str = "Deep Insights";

const DESCRIPTION: &str = r#"Self-Managed Big Peer is the server side of Ditto's peer-to-peer sync: a partitioned,
replicated document store, subscription servers that small peers sync with over WebSocket, HTTP
API servers, and a Kafka transaction log.

smbp-operator deploys and keeps a Big Peer cluster matching one `BigPeer` resource, and makes it
usable with `BigPeerApp` and `BigPeerApiKey` resources:

* **Store** as a StatefulSet with one volume per pod, rolled one pod at a time (unready pods
  first, never while another pod is unready); a stuck pod stops the rollout and is reported.
* **Subscription and API servers** as Deployments, with PodDisruptionBudgets and zone spreading.
* **Transaction log** on a Strimzi-managed Kafka (KafkaTopic plus a KafkaUser allowed only that
  topic) or on any external Kafka (TLS, SASL/SCRAM or mTLS).
* **Keys** issued by cert-manager or taken from existing Secrets.
* **NetworkPolicies** per component, on by default: each accepts and sends only the traffic
  Big Peer needs, narrowed further by the sources and destinations you name.
* Staged **topology transitions** when partitions or the replication factor change, recorded
  in status and resumed after restarts.
* **Exposure** on one host name through a LoadBalancer or NodePort Service, an Ingress (TLS
  from a Secret or cert-manager), a Gateway API HTTPRoute or OpenShift Routes; switching modes
  removes the old objects, and status lists the client URLs.
* **Observability**: Prometheus metrics over HTTPS with TokenReview/SubjectAccessReview, a
  ServiceMonitor or PodMonitor per BigPeer, alerting rules with runbooks, Grafana dashboards,
  a catalogue of Events, and OpenTelemetry traces with trace ids in logs and exemplars.
* **Apps and API keys**: a `BigPeerApp` is an app of a Big Peer, with its app ID (generated
  when left out) and its identity providers (a token webhook, or anonymous with a shared token
  from a Secret). A `BigPeerApiKey` lets a server-side client call an app's HTTP API: the
  operator generates the key with a secure random generator into a Secret owned by the key,
  for applications to mount, gives the Big Peer servers only a salted hash of it, and can
  rotate it on a schedule with a grace period; it stops working at its expiry.
* **Management API**: Ditto's Operator Management API for apps, auth providers and API keys,
  served over HTTPS by the operator (Service `smbp-operator-api`, port 9444) and authorized by
  Kubernetes RBAC on the kinds (TokenReview and SubjectAccessReview for every call).
* **Apply-time validation**: CEL rules in the CRDs, and a validating admission webhook served
  by the operator that has the API server dry-run every object a BigPeer would make, naming
  the BigPeer field at fault, and refuses an app ID another app of the BigPeer holds and a key
  expiring in the past. OLM makes and rotates its certificate and limits it to the
  OperatorGroup's namespaces.
* `Ready`/`Degraded` and per-part conditions, a pause annotation, and volume retention on
  delete.

Pods run under the restricted Pod Security Standard and OpenShift's restricted-v2 SCC.
Operator upgrades never restart Big Peer pods.

### Before you start
Install cert-manager if Big Peer keys (or the public certificate) should be issued by it, and
Strimzi if the transaction log should run on a Strimzi-managed Kafka. The Gateway API, OpenShift
Routes and the Prometheus Operator are used when the spec asks for them. None is needed otherwise.
"#;

fn icon() -> Value {
    let svg = include_str!("assets/icon.svg");
    json!([{"base64data": base64::engine::general_purpose::STANDARD.encode(svg), "mediatype": "image/svg+xml"}])
}

fn descriptor(path: &str, name: &str, description: &str, x: &[&str]) -> Value {
    json!({"path": path, "displayName": name, "description": description, "x-descriptors": x})
}

const TEXT: &str = "urn:alm:descriptor:com.tectonic.ui:text";
const NUMBER: &str = "urn:alm:descriptor:com.tectonic.ui:number";
const PODS: &str = "urn:alm:descriptor:com.tectonic.ui:podCount";
const FIELD_GROUP: &str = "urn:alm:descriptor:com.tectonic.ui:fieldGroup:";
const ADVANCED: &str = "urn:alm:descriptor:com.tectonic.ui:advanced";

fn spec_descriptors() -> Vec<Value> {
    let store = &format!("{FIELD_GROUP}store");
    vec![
        descriptor(
            "version",
            "Big Peer version",
            "Big Peer release to run; changing it rolls the pods one at a time.",
            &[TEXT],
        ),
        descriptor(
            "image",
            "Images",
            "Registry mirror, per-component image overrides, pull policy and pull secrets.",
            &[ADVANCED],
        ),
        descriptor(
            "image.pullPolicy",
            "Image pull policy",
            "Image pull policy of every Big Peer container.",
            &[
                "urn:alm:descriptor:com.tectonic.ui:imagePullPolicy",
                ADVANCED,
            ],
        ),
        descriptor(
            "store",
            "Store",
            "The partitioned, replicated document store.",
            &[store],
        ),
        descriptor(
            "store.replicas",
            "Store replicas",
            "Number of store pods; never fewer than the replication factor.",
            &[PODS, store],
        ),
        descriptor(
            "store.partitions",
            "Partitions",
            "Number of data partitions.",
            &[NUMBER, store],
        ),
        descriptor(
            "store.replicationFactor",
            "Replication factor",
            "Copies kept of every partition.",
            &[NUMBER, store],
        ),
        descriptor(
            "store.minimumReplicationFactor",
            "Minimum replication factor",
            "Copies that must acknowledge a write.",
            &[NUMBER, store],
        ),
        descriptor(
            "store.storage.size",
            "Volume size",
            "Size of each store volume; it may grow, never shrink.",
            &[TEXT, store],
        ),
        descriptor(
            "store.storage.storageClassName",
            "Storage class",
            "Storage class of the store volumes; immutable.",
            &["urn:alm:descriptor:io.kubernetes:StorageClass", store],
        ),
        descriptor(
            "store.pod.resources",
            "Store resources",
            "CPU and memory of each store pod.",
            &[
                "urn:alm:descriptor:com.tectonic.ui:resourceRequirements",
                store,
            ],
        ),
        descriptor(
            "subscription",
            "Subscription servers",
            "Servers small peers sync with.",
            &[&format!("{FIELD_GROUP}subscription")],
        ),
        descriptor(
            "subscription.replicas",
            "Subscription replicas",
            "Number of subscription pods.",
            &[PODS],
        ),
        descriptor(
            "api",
            "API servers",
            "HTTP API servers.",
            &[&format!("{FIELD_GROUP}api")],
        ),
        descriptor(
            "api.replicas",
            "API replicas",
            "Number of API pods.",
            &[PODS],
        ),
        descriptor(
            "transactionLog",
            "Transaction log",
            "Kafka topic of this Big Peer: on Strimzi or an external Kafka.",
            &[&format!("{FIELD_GROUP}transactionLog")],
        ),
        descriptor(
            "transactionLog.strimzi.kafkaRef.name",
            "Strimzi Kafka",
            "Name of the Strimzi Kafka in this namespace.",
            &[TEXT],
        ),
        descriptor(
            "transactionLog.external.bootstrapServers",
            "Bootstrap servers",
            "host:port of the external Kafka brokers.",
            &[TEXT],
        ),
        descriptor(
            "auth",
            "Authentication",
            "Keys and identity providers.",
            &[&format!("{FIELD_GROUP}auth")],
        ),
        descriptor(
            "auth.keys.certManager.issuerRef.name",
            "cert-manager issuer",
            "Issuer or ClusterIssuer that signs the Big Peer CA.",
            &[TEXT],
        ),
        descriptor(
            "auth.keys.secrets.ca.name",
            "CA Secret",
            "TLS Secret of the Big Peer CA.",
            &[SECRET],
        ),
        descriptor(
            "auth.providers.tokenWebhook.url",
            "Token webhook",
            "HTTPS URL that validates small peers' tokens.",
            &[TEXT],
        ),
        descriptor(
            "rollout",
            "Rollout",
            "How changes are rolled out.",
            &[ADVANCED],
        ),
        descriptor(
            "rollout.progressDeadlineSeconds",
            "Progress deadline",
            "Seconds a pod may stay unready before the rollout stops.",
            &[NUMBER, ADVANCED],
        ),
    ]
}

fn status_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "conditions",
            "Conditions",
            "Ready, Progressing, Degraded and one condition per part.",
            &[CONDITIONS],
        ),
        descriptor(
            "observedGeneration",
            "Observed generation",
            "Generation of the spec the status describes.",
            &[TEXT],
        ),
        descriptor(
            "version",
            "Running version",
            "Big Peer version every pod runs.",
            &[TEXT],
        ),
        descriptor("store", "Store", "Store replicas.", &[TEXT]),
        descriptor(
            "store.summary",
            "Store pods",
            "Ready and desired store pods.",
            &[TEXT],
        ),
        descriptor(
            "subscription",
            "Subscription",
            "Subscription replicas.",
            &[TEXT],
        ),
        descriptor(
            "subscription.summary",
            "Subscription pods",
            "Ready and desired subscription pods.",
            &[TEXT],
        ),
        descriptor("api", "API", "API replicas.", &[TEXT]),
        descriptor(
            "api.summary",
            "API pods",
            "Ready and desired API pods.",
            &[TEXT],
        ),
        descriptor(
            "topology",
            "Topology",
            "Store topology in force and any transition in progress.",
            &[TEXT],
        ),
    ]
}

const CONDITIONS: &str = "urn:alm:descriptor:io.kubernetes.conditions";
const SECRET: &str = "urn:alm:descriptor:io.kubernetes:Secret";
const LINK: &str = "urn:alm:descriptor:org.w3:link";
/// A field naming a BigPeer of the namespace: the console offers the BigPeers to choose from.
const BIGPEER_REF: &str = "urn:alm:descriptor:io.kubernetes:smbp.io:v1alpha1:BigPeer";
/// A field naming a BigPeerApp of the namespace.
const APP_REF: &str = "urn:alm:descriptor:io.kubernetes:smbp.io:v1alpha1:BigPeerApp";
const BOOLEAN: &str = "urn:alm:descriptor:com.tectonic.ui:booleanSwitch";
const CONFIG_MAP: &str = "urn:alm:descriptor:io.kubernetes:ConfigMap";
const RESOURCES: &str = "urn:alm:descriptor:com.tectonic.ui:resourceRequirements";

/// The spec descriptors of a permission (an anonymous provider's or a key's) under `at`.
fn permission_descriptors(at: &str, group: &str) -> Vec<Value> {
    vec![
        descriptor(
            &format!("{at}.read.everything"),
            "Read everything",
            "Every document of every collection may be read.",
            &[BOOLEAN, group],
        ),
        descriptor(
            &format!("{at}.write.everything"),
            "Write everything",
            "Every document of every collection may be written.",
            &[BOOLEAN, group],
        ),
        descriptor(
            &format!("{at}.remoteQuery"),
            "Remote queries",
            "Remote queries are allowed (needs Read everything).",
            &[BOOLEAN, group],
        ),
        descriptor(
            &format!("{at}.qlVersion"),
            "Query language",
            "Language of the queries by collection: 0 the legacy query builder, 1 DQL.",
            &[NUMBER, group],
        ),
    ]
}

fn app_spec_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "bigPeerRef",
            "BigPeer",
            "The BigPeer, in this namespace, that serves the app; cannot change.",
            &[&format!("{FIELD_GROUP}bigPeerRef")],
        ),
        descriptor(
            "bigPeerRef.name",
            "BigPeer",
            "Name of the BigPeer that serves the app; cannot change.",
            &[BIGPEER_REF],
        ),
        descriptor(
            "appId",
            "App ID",
            "UUID small peers use, unique per BigPeer; left empty, the operator generates one. Cannot change once set.",
            &[TEXT, ADVANCED],
        ),
        descriptor(
            "authProviders",
            "Identity providers",
            "By name: a token webhook (HTTPS URL), or anonymous with a permission, a session length and a shared token from a Secret.",
            &[ADVANCED],
        ),
    ]
}

fn app_status_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "conditions",
            "Conditions",
            "Ready, and why not.",
            &[CONDITIONS],
        ),
        descriptor("appId", "App ID", "The app ID small peers use.", &[TEXT]),
        descriptor(
            "endpoints.sync",
            "Sync URL",
            "WebSocket URL small peers sync with.",
            &[LINK],
        ),
        descriptor(
            "endpoints.http",
            "HTTP API URL",
            "Base URL of the app's HTTP API, called with an API key.",
            &[LINK],
        ),
        descriptor(
            "observedGeneration",
            "Observed generation",
            "Generation of the spec the status describes.",
            &[TEXT],
        ),
    ]
}

fn key_spec_descriptors() -> Vec<Value> {
    let permissions = &format!("{FIELD_GROUP}permissions");
    let rotation = &format!("{FIELD_GROUP}rotation");
    let mut d = vec![
        descriptor(
            "appRef",
            "App",
            "The BigPeerApp, in this namespace, the key gives access to; cannot change.",
            &[&format!("{FIELD_GROUP}appRef")],
        ),
        descriptor(
            "appRef.name",
            "App",
            "Name of the BigPeerApp the key gives access to; cannot change.",
            &[APP_REF],
        ),
        descriptor(
            "expiresAt",
            "Expires at",
            "When the key stops working (RFC 3339, such as 2027-06-30T00:00:00Z); in the future when set.",
            &[TEXT],
        ),
        descriptor(
            "description",
            "Description",
            "What the key is for.",
            &[TEXT],
        ),
        descriptor(
            "permissions",
            "Permissions",
            "What the key may read and write: everything, or queries by collection.",
            &[permissions],
        ),
        descriptor(
            "rotation",
            "Rotation",
            "Rotate the key on a schedule, keeping the previous key valid for a grace period.",
            &[rotation, ADVANCED],
        ),
        descriptor(
            "rotation.every",
            "Rotate every",
            "How often a new key replaces the current one, such as 720h; at least 1h.",
            &[TEXT, rotation, ADVANCED],
        ),
        descriptor(
            "rotation.gracePeriod",
            "Grace period",
            "How long the previous key keeps working after a rotation, such as 24h; shorter than Rotate every.",
            &[TEXT, rotation, ADVANCED],
        ),
    ];
    d.extend(permission_descriptors("permissions", permissions));
    d
}

fn replication_spec_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "appRef",
            "App",
            "The BigPeerApp, in this namespace, whose data is replicated; cannot change.",
            &[&format!("{FIELD_GROUP}appRef")],
        ),
        descriptor(
            "appRef.name",
            "App",
            "Name of the BigPeerApp whose data is replicated; cannot change.",
            &[APP_REF],
        ),
        descriptor(
            "connections",
            "Connections",
            "Replication endpoints (host:port) of the other Big Peers this side connects to; empty to only accept.",
            &[TEXT],
        ),
        descriptor(
            "queriesByCollection",
            "Subscriptions",
            "Per collection, the DQL queries whose documents flow in from the other Big Peers; empty for nothing.",
            &[TEXT],
        ),
        descriptor(
            "acceptFrom",
            "Accept from",
            "Namespaces or CIDR blocks allowed to connect when NetworkPolicies are on.",
            &[ADVANCED],
        ),
        descriptor(
            "trustedCas",
            "Trusted CAs",
            "Secrets or ConfigMaps with the other Big Peers' CA certificates.",
            &[ADVANCED],
        ),
        descriptor(
            "expose",
            "Exposure",
            "How the endpoint is reached from outside the cluster; follows the BigPeer's exposure when left out.",
            &[ADVANCED],
        ),
        descriptor(
            "expose.loadBalancer.loadBalancerClass",
            "Load balancer class",
            "The load balancer implementation; the cluster's default when left out.",
            &[TEXT, ADVANCED],
        ),
        descriptor(
            "expose.nodePort.nodePort",
            "Node port",
            "The node port of the endpoint; chosen by Kubernetes when left out.",
            &[NUMBER, ADVANCED],
        ),
        descriptor(
            "expose.gatewayAPI.hostname",
            "TLSRoute host name",
            "The host name peers connect to through your Gateway's TLS passthrough listener.",
            &[TEXT, ADVANCED],
        ),
        descriptor(
            "expose.route.hostname",
            "Route host name",
            "The host name of the OpenShift passthrough Route; the router's when left out.",
            &[TEXT, ADVANCED],
        ),
    ]
}

fn replication_status_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "conditions",
            "Conditions",
            "Ready and Degraded, and why.",
            &[CONDITIONS],
        ),
        descriptor(
            "endpoint.inCluster",
            "Endpoint",
            "host:port the other Big Peers connect to inside the cluster.",
            &[TEXT],
        ),
        descriptor(
            "endpoint.external",
            "External endpoint",
            "host:port the other Big Peers connect to from outside the cluster.",
            &[TEXT],
        ),
        descriptor(
            "caConfigMapName",
            "CA ConfigMap",
            "The ConfigMap (key ca.crt) with this BigPeer's CA certificate, for the other side's trustedCas.",
            &[CONFIG_MAP],
        ),
        descriptor(
            "caFingerprint",
            "CA fingerprint",
            "sha256: and the SHA-256 of this side's CA certificate, to compare with what the other side trusts.",
            &[TEXT],
        ),
        descriptor(
            "appId",
            "App ID",
            "The app ID replicated; the other side's app must have it too.",
            &[TEXT],
        ),
        descriptor(
            "connections",
            "Connections",
            "Each connection's state as far as the operator can see: Ready, NotReady, NotFound, External or Unknown.",
            &[TEXT],
        ),
        descriptor(
            "observedGeneration",
            "Observed generation",
            "Generation of the spec the status describes.",
            &[TEXT],
        ),
    ]
}

fn bridge_spec_descriptors() -> Vec<Value> {
    let kafka = &format!("{FIELD_GROUP}kafka");
    let mongodb = &format!("{FIELD_GROUP}mongodb");
    vec![
        descriptor(
            "appRef",
            "App",
            "The BigPeerApp, in this namespace, whose changes are streamed; cannot change.",
            &[&format!("{FIELD_GROUP}appRef")],
        ),
        descriptor(
            "appRef.name",
            "App",
            "Name of the BigPeerApp whose changes are streamed; cannot change.",
            &[APP_REF],
        ),
        descriptor("displayName", "Display name", "A name for people.", &[TEXT]),
        descriptor(
            "description",
            "Description",
            "What the bridge is for.",
            &[TEXT],
        ),
        descriptor(
            "kafka",
            "Kafka",
            "Change data capture to a Kafka topic: sources, stream type, partitions, consumers.",
            &[kafka],
        ),
        descriptor(
            "kafka.source",
            "Sources",
            "Collections and DQL queries whose changes are streamed; every change when empty.",
            &[kafka],
        ),
        descriptor(
            "kafka.streamType",
            "Stream type",
            "untyped (documents as JSON), typed (with CRDT types) or heartbeat (heartbeats only).",
            &[
                kafka,
                "urn:alm:descriptor:com.tectonic.ui:select:untyped",
                "urn:alm:descriptor:com.tectonic.ui:select:typed",
                "urn:alm:descriptor:com.tectonic.ui:select:heartbeat",
            ],
        ),
        descriptor(
            "kafka.topicPartitions",
            "Topic partitions",
            "Partitions of the topic, 1 to 1000 (12 when left out); may grow, never shrink.",
            &[kafka, NUMBER],
        ),
        descriptor(
            "kafka.consumers.outsideCluster",
            "Consumers outside the cluster",
            "Report the address of the Kafka's external listener; the operator never adds one.",
            &[kafka, BOOLEAN],
        ),
        descriptor(
            "kafka.consumers.listener",
            "Consumer listener",
            "The Strimzi listener consumers connect to (required with consumers outside the cluster).",
            &[kafka, TEXT],
        ),
        descriptor(
            "kafka.extraAcls",
            "Extra ACLs",
            "More Strimzi ACL rules for the consumer's KafkaUser.",
            &[kafka, ADVANCED],
        ),
        descriptor(
            "kafka.external.topic",
            "External topic",
            "With an external transaction-log Kafka: the topic you created for the bridge.",
            &[kafka, TEXT, ADVANCED],
        ),
        descriptor(
            "kafka.external.userSecretRef.name",
            "External consumer Secret",
            "With an external Kafka: the Secret with the consumer's credentials.",
            &[kafka, SECRET, ADVANCED],
        ),
        descriptor(
            "kafka.external.clusterCaSecretRef.name",
            "External cluster CA Secret",
            "With an external Kafka: the Secret with the brokers' CA (ca.crt).",
            &[kafka, SECRET, ADVANCED],
        ),
        descriptor(
            "mongodb",
            "MongoDB",
            "A connector keeping collections of a MongoDB database in sync with the app.",
            &[mongodb],
        ),
        descriptor(
            "mongodb.connectionStringSecretRef.name",
            "Connection string Secret",
            "The Secret holding the MongoDB connection string; never copied or logged.",
            &[mongodb, SECRET],
        ),
        descriptor(
            "mongodb.connectionStringSecretRef.key",
            "Connection string key",
            "The Secret's key holding the connection string (connectionString when left out).",
            &[mongodb, TEXT],
        ),
        descriptor(
            "mongodb.database",
            "Database",
            "The MongoDB database to sync with.",
            &[mongodb, TEXT],
        ),
        descriptor(
            "mongodb.collections",
            "Collections",
            "Per collection: the ID fields, initial sync, mode (native or ejson), settable counters, DQL strict mode.",
            &[mongodb, ADVANCED],
        ),
        descriptor(
            "mongodb.stallAfter",
            "Stall after",
            "How long the connector may go without progress before the bridge is Degraded (5m when left out).",
            &[mongodb, TEXT],
        ),
        descriptor(
            "mongodb.resources",
            "Resources",
            "CPU and memory of the connector.",
            &[mongodb, RESOURCES],
        ),
    ]
}

fn bridge_status_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "conditions",
            "Conditions",
            "Ready and Degraded, with actionable reasons.",
            &[CONDITIONS],
        ),
        descriptor(
            "kafka.topic",
            "Topic",
            "The Kafka topic consumers read.",
            &[TEXT],
        ),
        descriptor(
            "kafka.bootstrapServers",
            "Bootstrap servers",
            "Where Kafka consumers connect.",
            &[TEXT],
        ),
        descriptor(
            "kafka.userSecretName",
            "Consumer certificate",
            "The Secret with the consumer's client certificate.",
            &[SECRET],
        ),
        descriptor(
            "kafka.clusterCaSecretName",
            "Cluster CA",
            "The Secret with the CA that signs the brokers' certificates.",
            &[SECRET],
        ),
        descriptor(
            "kafka.consumerGroupPrefix",
            "Consumer group prefix",
            "Consumer group IDs must start with it.",
            &[TEXT],
        ),
        descriptor("kind", "Kind", "Kafka or MongoDB.", &[TEXT]),
        descriptor(
            "appId",
            "App ID",
            "The app ID whose changes are streamed.",
            &[TEXT],
        ),
        descriptor(
            "mongodb.deployment",
            "Connector",
            "The MongoDB connector's Deployment.",
            &["urn:alm:descriptor:io.kubernetes:Deployment"],
        ),
        descriptor(
            "mongodb.lastProgressTime",
            "Last progress",
            "When the connector last reported progress (its heartbeat).",
            &[TEXT],
        ),
        descriptor(
            "observedGeneration",
            "Observed generation",
            "Generation of the spec the status describes.",
            &[TEXT],
        ),
    ]
}

fn key_status_descriptors() -> Vec<Value> {
    vec![
        descriptor(
            "conditions",
            "Conditions",
            "Ready and Expired, and why.",
            &[CONDITIONS],
        ),
        descriptor(
            "secretName",
            "Key Secret",
            "The Secret holding the key under apiKey; mount it to use the key.",
            &[SECRET],
        ),
        descriptor(
            "expiresAt",
            "Expires at",
            "When the key stops working.",
            &[TEXT],
        ),
        descriptor(
            "lastRotationTime",
            "Last rotation",
            "When the current key was made.",
            &[TEXT],
        ),
        descriptor(
            "fingerprint",
            "Fingerprint",
            "sha256: and the first 16 hex digits of the key's SHA-256; never the key.",
            &[TEXT],
        ),
        descriptor(
            "previous.fingerprint",
            "Previous key",
            "Fingerprint of the previous key, while it still works after a rotation.",
            &[TEXT],
        ),
        descriptor(
            "previous.validUntil",
            "Previous key valid until",
            "When the previous key stops working.",
            &[TEXT],
        ),
        descriptor(
            "observedGeneration",
            "Observed generation",
            "Generation of the spec the status describes.",
            &[TEXT],
        ),
    ]
}

/// The kinds the CSV owns, with what the console shows of them.
fn owned() -> Value {
    json!([{
        "name": "bigpeers.smbp.io",
        "version": "v1alpha1",
        "kind": "BigPeer",
        "displayName": "Big Peer",
        "description": "A Self-Managed Big Peer cluster: store, subscription and API servers with their transaction log and keys.",
        "resources": owned_resources(),
        "specDescriptors": spec_descriptors(),
        "statusDescriptors": status_descriptors(),
    }, {
        "name": "bigpeerapps.smbp.io",
        "version": "v1alpha1",
        "kind": "BigPeerApp",
        "displayName": "Big Peer App",
        "description": "An app served by a BigPeer: its app ID and the identity providers its small peers log in with.",
        // The Secrets of the shared tokens the management API stores for an app are owned by
        // it. (Its keys are not: deleting an app with kubectl leaves them.)
        "resources": [{"kind": "Secret", "name": "", "version": "v1"}],
        "specDescriptors": app_spec_descriptors(),
        "statusDescriptors": app_status_descriptors(),
    }, {
        "name": "bigpeerapikeys.smbp.io",
        "version": "v1alpha1",
        "kind": "BigPeerApiKey",
        "displayName": "Big Peer API Key",
        "description": "An API key of a BigPeerApp, generated by the operator into a Secret owned by the key, rotated on a schedule if asked.",
        "resources": [{"kind": "Secret", "name": "", "version": "v1"}],
        "specDescriptors": key_spec_descriptors(),
        "statusDescriptors": key_status_descriptors(),
    }, {
        "name": "bigpeerreplications.smbp.io",
        "version": "v1alpha1",
        "kind": "BigPeerReplication",
        "displayName": "Big Peer Replication",
        "description": "Replication of one BigPeerApp's data between this BigPeer and other Big Peers, with its endpoint, trusted CAs and NetworkPolicy.",
        "resources": [
            {"kind": "Service", "name": "", "version": "v1"},
            {"kind": "ConfigMap", "name": "", "version": "v1"},
            {"kind": "NetworkPolicy", "name": "", "version": "v1"},
        ],
        "specDescriptors": replication_spec_descriptors(),
        "statusDescriptors": replication_status_descriptors(),
    }, {
        "name": "bigpeerdatabridges.smbp.io",
        "version": "v1alpha1",
        "kind": "BigPeerDataBridge",
        "displayName": "Big Peer Data Bridge",
        "description": "A stream of one BigPeerApp's changes: to a Kafka topic (change data capture) or into MongoDB through a connector the operator runs.",
        "resources": [
            {"kind": "KafkaTopic", "name": "", "version": "v1"},
            {"kind": "KafkaUser", "name": "", "version": "v1"},
            {"kind": "Deployment", "name": "", "version": "v1"},
            {"kind": "NetworkPolicy", "name": "", "version": "v1"},
        ],
        "specDescriptors": bridge_spec_descriptors(),
        "statusDescriptors": bridge_status_descriptors(),
    }])
}

/// Everything the operator creates for a BigPeer, for the console's resource view.
fn owned_resources() -> Value {
    json!([
        {"kind": "StatefulSet", "version": "v1", "name": ""},
        {"kind": "Deployment", "version": "v1", "name": ""},
        {"kind": "Service", "version": "v1", "name": ""},
        {"kind": "ConfigMap", "version": "v1", "name": ""},
        {"kind": "PodDisruptionBudget", "version": "v1", "name": ""},
        {"kind": "NetworkPolicy", "version": "v1", "name": ""},
        {"kind": "ServiceAccount", "version": "v1", "name": ""},
        {"kind": "Pod", "version": "v1", "name": ""},
        {"kind": "PersistentVolumeClaim", "version": "v1", "name": ""},
        // `<bp>-access`: the apps and key hashes the servers read.
        {"kind": "Secret", "version": "v1", "name": ""},
    ])
}

/// Port of the Service OLM puts in front of the webhook (`containerPort` in the CSV's terms);
/// OLM's Service forwards it to the operator's container port [`WEBHOOK_PORT`].
pub use crate::facts::WEBHOOK_SERVICE_PORT;

/// The CSV's `webhookdefinitions`: the validating webhook of BigPeers, BigPeerApps and
/// BigPeerApiKeys, the same one a local run
/// registers ([`webhook::local::webhook`]: name, rules, failure policy, side effects, timeout,
/// match policy, review versions), served by the operator's Deployment. OLM makes the
/// Service `<deployment>-service` (port [`WEBHOOK_SERVICE_PORT`] to the container's
/// [`WEBHOOK_PORT`]), a serving certificate it mounts at [`WEBHOOK_CERT_DIR`] (the operator's
/// default `--webhook-cert-dir`) and rotates, and the ValidatingWebhookConfiguration with the
/// CA as `caBundle`. OLM sets the `namespaceSelector` itself from the OperatorGroup (its
/// target namespaces, or every namespace in AllNamespaces mode), so the local run's
/// selector is not carried over.
///
/// [`WEBHOOK_CERT_DIR`]: crate::facts::WEBHOOK_CERT_DIR
pub fn webhook_definitions() -> Value {
    let w = webhook::local::webhook(WebhookClientConfig::default(), &[]);
    json!([{
        "generateName": w.name,
        "type": "ValidatingAdmissionWebhook",
        "deploymentName": OPERATOR_DEPLOYMENT,
        "containerPort": WEBHOOK_SERVICE_PORT,
        "targetPort": WEBHOOK_PORT,
        "webhookPath": WEBHOOK_PATH,
        "rules": w.rules,
        "failurePolicy": w.failure_policy,
        "matchPolicy": w.match_policy,
        "sideEffects": w.side_effects,
        "timeoutSeconds": w.timeout_seconds,
        "admissionReviewVersions": w.admission_review_versions,
    }])
}

fn permissions(rules: Vec<PolicyRule>) -> Value {
    json!([{"serviceAccountName": crate::facts::OPERATOR_SERVICE_ACCOUNT, "rules": rules}])
}

/// The CSV of a release's bundle in one flavour. `examples` are the `alm-examples`, one per
/// owned kind.
pub fn csv(r: &Release, flavour: Flavour, examples: &[Value]) -> Value {
    let mut rules = rbac::namespaced_rules();
    rules.extend(rbac::leader_election_rules());
    let mut spec = json!({
        "displayName": "Self-Managed Big Peer",
        "description": DESCRIPTION,
        "icon": icon(),
        "keywords": ["ditto", "big peer", "sync", "crdt", "database", "edge", "offline-first", "api key"],
        "maintainers": [{"name": "smbp-operator maintainers", "email": "smbp-operator@smbp.io"}],
        "provider": {"name": "smbp-operator project", "url": "https://github.com/smbp-io/smbp-operator"},
        "links": [
            {"name": "Source", "url": "https://github.com/smbp-io/smbp-operator"},
            {"name": "Documentation", "url": "https://github.com/smbp-io/smbp-operator#readme"},
            {"name": "Ditto Big Peer", "url": "https://docs.ditto.live"},
        ],
        "maturity": "alpha",
        "minKubeVersion": super::contract::min_kube_version(),
        "version": r.version,
        "installModes": [
            {"type": "OwnNamespace", "supported": true},
            {"type": "SingleNamespace", "supported": true},
            {"type": "MultiNamespace", "supported": true},
            {"type": "AllNamespaces", "supported": true},
        ],
        "install": {
            "strategy": "deployment",
            "spec": {
                "deployments": [{"name": crate::facts::OPERATOR_DEPLOYMENT, "label": manager::labels(), "spec": manager::deployment(r, true).spec}],
                "permissions": permissions(rules),
                "clusterPermissions": permissions(rbac::cluster_rules()),
            }
        },
        "webhookdefinitions": webhook_definitions(),
        "customresourcedefinitions": {"owned": owned()},
        "relatedImages": r.related_images().into_iter().map(|(name, image)| json!({"name": name.to_lowercase().replace('_', "-"), "image": image})).collect::<Vec<_>>(),
    });
    if let Some(rep) = &r.replaces {
        spec["replaces"] = json!(rep);
    }
    let mut annotations = json!({
        "alm-examples": serde_json::to_string_pretty(examples).expect("examples serialize"),
        "capabilities": CAPABILITY,
        "categories": "Database,Streaming & Messaging",
        "containerImage": r.operator_image,
        "createdAt": r.created_at,
        "description": "Deploys and operates Self-Managed Big Peer, the server side of Ditto sync.",
        "repository": "https://github.com/smbp-io/smbp-operator",
        "support": "smbp-operator project",
        "operatorframework.io/suggested-namespace": release::SUGGESTED_NAMESPACE,
        "operators.openshift.io/valid-subscription": "[\"Ditto Big Peer subscription\"]",
        "operators.operatorframework.io/builder": "smbp-operator-bundle-gen",
        // `oc adm must-gather` with no --image runs this image (docs/user/must-gather.md).
        "operators.openshift.io/must-gather-image": r.must_gather_image,
        // Every image is in relatedImages and reaches the operator as RELATED_IMAGE_* variables.
        "features.operators.openshift.io/disconnected": "true",
        // rustls with ring is not a FIPS-validated module.
        "features.operators.openshift.io/fips-compliant": "false",
        // The operator does not pass cluster proxy settings on to Big Peer pods.
        "features.operators.openshift.io/proxy-aware": "false",
        // The operator does not read the cluster's TLS security profile.
        "features.operators.openshift.io/tls-profiles": "false",
        // No cloud token authentication is used.
        "features.operators.openshift.io/token-auth-aws": "false",
        "features.operators.openshift.io/token-auth-azure": "false",
        "features.operators.openshift.io/token-auth-gcp": "false",
        "features.operators.openshift.io/cnf": "false",
        "features.operators.openshift.io/cni": "false",
        "features.operators.openshift.io/csi": "false",
    });
    if let Some(skip) = &r.skip_range {
        annotations["olm.skipRange"] = json!(skip);
    }
    for (k, v) in flavour.csv_annotations() {
        annotations[k] = json!(v);
    }
    json!({
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": r.csv_name(),
            "namespace": "placeholder",
            "annotations": annotations,
            // The architectures the release pipeline (hack/release) builds the images for:
            // OperatorHub filters on these, so a platform is listed only once its images exist.
            "labels": {
                "operatorframework.io/arch.amd64": "supported",
                "operatorframework.io/os.linux": "supported",
            },
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release::with_defaults("1.2.3", "2026-01-01T00:00:00Z")
    }

    #[test]
    fn every_related_image_reaches_the_deployment() {
        let r = release();
        let csv = csv(&r, Flavour::Community, &[]);
        let env = &csv["spec"]["install"]["spec"]["deployments"][0]["spec"]["template"]["spec"]["containers"]
            [0]["env"];
        for (name, image) in r
            .related_images()
            .into_iter()
            .filter(|(n, _)| n.starts_with("RELATED_IMAGE_"))
        {
            assert!(
                env.as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"] == name && e["value"] == image),
                "{name}"
            );
        }
        let related = csv["spec"]["relatedImages"].as_array().unwrap();
        assert_eq!(related.len(), r.related_images().len());
    }

    #[test]
    fn the_must_gather_image_is_annotated_and_related() {
        let r = release();
        for flavour in [Flavour::Community, Flavour::OpenShift] {
            let csv = csv(&r, flavour, &[]);
            assert_eq!(
                csv["metadata"]["annotations"]["operators.openshift.io/must-gather-image"],
                r.must_gather_image.as_str()
            );
            assert!(
                csv["spec"]["relatedImages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["name"] == release::MUST_GATHER
                        && i["image"] == r.must_gather_image.as_str())
            );
        }
    }

    #[test]
    fn watch_namespace_comes_from_olm_target_namespaces() {
        let csv = csv(&release(), Flavour::Community, &[]);
        let env = csv["spec"]["install"]["spec"]["deployments"][0]["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap().clone();
        let wn = env.iter().find(|e| e["name"] == "WATCH_NAMESPACE").unwrap();
        assert_eq!(
            wn["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.annotations['olm.targetNamespaces']"
        );
    }

    #[test]
    fn review_rules_are_cluster_permissions_of_the_operator() {
        let csv = csv(&release(), Flavour::Community, &[]);
        let install = &csv["spec"]["install"]["spec"];
        let cluster = install["clusterPermissions"].as_array().unwrap();
        assert_eq!(cluster.len(), 1);
        assert_eq!(
            cluster[0]["serviceAccountName"],
            crate::facts::OPERATOR_SERVICE_ACCOUNT
        );
        assert_eq!(cluster[0]["rules"], json!(rbac::cluster_rules()));
        let namespaced = install["permissions"][0]["rules"].to_string();
        assert!(
            !namespaced.contains("tokenreviews") && !namespaced.contains("subjectaccessreviews")
        );
    }

    /// Deep Insights is claimed only with what it rests on: alert rules with a runbook each,
    /// dashboards, and per-BigPeer monitors in the API.
    #[test]
    fn deep_insights_rests_on_alerts_dashboards_and_monitors() {
        assert_eq!(CAPABILITY, "Deep Insights");
        let rules = include_str!("../../monitoring/rules/smbp-operator.rules.yaml");
        let alerts: Vec<&str> = rules
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- alert: "))
            .collect();
        assert!(alerts.len() >= 6, "{alerts:?}");
        for a in &alerts {
            assert!(
                std::path::Path::new(&format!(
                    "{}/docs/runbooks/{a}.md",
                    env!("CARGO_MANIFEST_DIR")
                ))
                .exists(),
                "no runbook for {a}"
            );
        }
        assert!(
            include_str!("../../monitoring/dashboards/bigpeer-overview.json")
                .contains("\"panels\"")
        );
        assert!(
            include_str!("../../monitoring/dashboards/smbp-operator.json").contains("\"panels\"")
        );
        let mut bp = crate::testing::sample();
        bp.spec.monitoring.enabled = true;
        assert!(crate::build::monitoring::monitor(&bp, true).is_some());
    }

    #[test]
    fn openshift_feature_annotations_are_all_present() {
        let csv = csv(&release(), Flavour::Community, &[]);
        for f in [
            "disconnected",
            "fips-compliant",
            "proxy-aware",
            "tls-profiles",
            "token-auth-aws",
            "token-auth-azure",
            "token-auth-gcp",
        ] {
            let v = &csv["metadata"]["annotations"][format!("features.operators.openshift.io/{f}")];
            assert!(v == "true" || v == "false", "{f}");
        }
    }

    #[test]
    fn flavours_differ_only_in_the_cluster_monitoring_annotation() {
        let r = release();
        let mut community = csv(&r, Flavour::Community, &[json!({"kind": "BigPeer"})]);
        let openshift = csv(&r, Flavour::OpenShift, &[json!({"kind": "BigPeer"})]);
        assert_eq!(
            openshift["metadata"]["annotations"]["operatorframework.io/cluster-monitoring"],
            "true"
        );
        assert!(
            community["metadata"]["annotations"]
                .get("operatorframework.io/cluster-monitoring")
                .is_none()
        );
        community["metadata"]["annotations"]["operatorframework.io/cluster-monitoring"] =
            json!("true");
        assert_eq!(community, openshift, "same name, version, install and CRDs");
    }

    /// The CSV's webhook is the local run's webhook (same source), served by the CSV's
    /// Deployment on the container port it declares, at the path the operator serves.
    #[test]
    fn the_webhook_definition_is_the_local_webhook_served_by_the_deployment() {
        for flavour in [Flavour::Community, Flavour::OpenShift] {
            let csv = csv(&release(), flavour, &[]);
            let defs = csv["spec"]["webhookdefinitions"].as_array().unwrap();
            assert_eq!(defs.len(), 1, "{flavour:?}");
            let d = &defs[0];
            let local =
                serde_json::to_value(webhook::local::webhook(WebhookClientConfig::default(), &[]))
                    .unwrap();
            for k in [
                "rules",
                "failurePolicy",
                "matchPolicy",
                "sideEffects",
                "timeoutSeconds",
                "admissionReviewVersions",
            ] {
                assert_eq!(d[k], local[k], "{k}");
            }
            assert_eq!(d["generateName"], crate::facts::WEBHOOK_NAME);
            assert_eq!(d["type"], "ValidatingAdmissionWebhook");
            assert_eq!(d["failurePolicy"], "Fail");
            assert_eq!(d["sideEffects"], "None");
            assert_eq!(d["webhookPath"], WEBHOOK_PATH);
            assert_eq!(d["containerPort"], WEBHOOK_SERVICE_PORT);
            // OLM scopes namespaces from the OperatorGroup; a selector here would be ignored.
            assert!(d.get("namespaceSelector").is_none() && d.get("objectSelector").is_none());
            // Only writes of our kinds, never OLM's own group or webhook configurations (OLM
            // fails a CSV whose webhook rules include those).
            let rules = d["rules"].as_array().unwrap();
            assert_eq!(rules.len(), 1);
            assert_eq!(rules[0]["apiGroups"], json!(["smbp.io"]));
            assert_eq!(
                rules[0]["resources"],
                json!(crate::api::KINDS.map(|(_, p)| p))
            );
            assert_eq!(rules[0]["operations"], json!(["CREATE", "UPDATE"]));

            let deployments = csv["spec"]["install"]["spec"]["deployments"]
                .as_array()
                .unwrap();
            let dep = deployments
                .iter()
                .find(|x| x["name"] == d["deploymentName"])
                .expect("the webhook's deploymentName is a Deployment of the CSV");
            let ports = &dep["spec"]["template"]["spec"]["containers"][0]["ports"];
            assert!(
                ports
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["containerPort"] == d["targetPort"] && p["name"] == "webhook"),
                "targetPort {} is the container's webhook port: {ports}",
                d["targetPort"]
            );
            assert_eq!(d["targetPort"], WEBHOOK_PORT);
            // OLM mounts the certificate where the operator reads it by default, so the
            // Deployment passes no --webhook-cert-dir and mounts nothing of its own there.
            let pod = dep["spec"]["template"]["spec"].to_string();
            assert!(!pod.contains("webhook-cert-dir") && !pod.contains("serving-certs"));
        }
    }

    /// Every owned kind has exactly one example (the samples, without a namespace) that its
    /// CRD's rules accept; the console finds a descriptor for every top-level field of it
    /// (scorecard's olm-spec-descriptors); every descriptor's path is a field of the CRD's
    /// schema, with `urn:alm:descriptor:` x-descriptors.
    #[test]
    fn owned_kinds_have_one_example_and_descriptors_of_real_fields() {
        let csv = csv(
            &release(),
            Flavour::Community,
            &super::super::bundle::examples(),
        );
        let examples: Vec<Value> = serde_json::from_str(
            csv["metadata"]["annotations"]["alm-examples"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let crds = crate::olm::crd::crds();
        let owned = csv["spec"]["customresourcedefinitions"]["owned"]
            .as_array()
            .unwrap();
        assert_eq!(owned.len(), crds.len());
        assert_eq!(examples.len(), owned.len());
        for o in owned {
            let kind = o["kind"].as_str().unwrap();
            let of_kind: Vec<&Value> = examples.iter().filter(|e| e["kind"] == kind).collect();
            assert_eq!(of_kind.len(), 1, "one example of {kind}");
            let ex = of_kind[0];
            assert_eq!(ex["apiVersion"], "smbp.io/v1alpha1");
            assert!(ex["metadata"].get("namespace").is_none(), "{kind}");
            let specs = o["specDescriptors"].as_array().unwrap();
            for key in ex["spec"].as_object().unwrap().keys() {
                assert!(
                    specs.iter().any(|d| d["path"] == key.as_str()),
                    "{kind}: spec.{key} of the example has no spec descriptor"
                );
            }
            let crd = crds.iter().find(|c| c.spec.names.kind == kind).unwrap();
            assert_eq!(o["name"], json!(crd.metadata.name));
            assert_eq!(o["version"], json!(crd.spec.versions[0].name));
            assert!(!o["resources"].as_array().unwrap().is_empty(), "{kind}");
            let schema = serde_json::to_value(
                crd.spec.versions[0]
                    .schema
                    .as_ref()
                    .unwrap()
                    .open_api_v3_schema
                    .as_ref()
                    .unwrap(),
            )
            .unwrap();
            for (part, list) in [("spec", "specDescriptors"), ("status", "statusDescriptors")] {
                let descriptors = o[list].as_array().unwrap();
                assert!(!descriptors.is_empty(), "{kind}: {list}");
                for d in descriptors {
                    let path = d["path"].as_str().unwrap();
                    let mut node = &schema["properties"][part];
                    for p in path.split('.') {
                        node = &node["properties"][p];
                    }
                    assert!(node.is_object(), "{kind}: {part}.{path} is not in the CRD");
                    let xs = d["x-descriptors"].as_array().unwrap();
                    assert!(
                        !xs.is_empty()
                            && xs
                                .iter()
                                .all(|x| x.as_str().unwrap().starts_with("urn:alm:descriptor:")),
                        "{kind}: {path}: {xs:?}"
                    );
                    assert!(!d["displayName"].as_str().unwrap().is_empty());
                    assert!(!d["description"].as_str().unwrap().is_empty());
                }
            }
        }
        // The key's example can be created as it is for a long time: its expiry must be in
        // the future.
        let key = examples
            .iter()
            .find(|e| e["kind"] == "BigPeerApiKey")
            .unwrap();
        let at: k8s_openapi::jiff::Timestamp =
            key["spec"]["expiresAt"].as_str().unwrap().parse().unwrap();
        assert!(at.as_second() >= 4_000_000_000, "{at} is far in the future");
        // References let the console offer the objects of the namespace to choose from.
        let app = &owned[1]["specDescriptors"];
        assert!(app.to_string().contains(BIGPEER_REF));
        assert!(owned[2]["specDescriptors"].to_string().contains(APP_REF));
        assert!(owned[2]["statusDescriptors"].to_string().contains(SECRET));
    }

    #[test]
    fn skip_range_only_with_replaces_is_the_callers_rule() {
        let mut r = release();
        r.replaces = Some("smbp-operator.v1.2.2".into());
        r.skip_range = Some(">=1.0.0 <1.2.3".into());
        let c = csv(&r, Flavour::Community, &[]);
        assert_eq!(c["spec"]["replaces"], "smbp-operator.v1.2.2");
        assert_eq!(
            c["metadata"]["annotations"]["olm.skipRange"],
            ">=1.0.0 <1.2.3"
        );
    }
}
