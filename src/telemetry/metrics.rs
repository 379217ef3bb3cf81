//! Operator metrics (prometheus-client). `encode` writes OpenMetrics text, the only format
//! that carries the reconcile-duration exemplars.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::SystemTime;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry, Unit};

use crate::api::conditions::ConditionType;
pub use crate::facts::Integration;

/// Prefix of every metric name.
pub const PREFIX: &str = "smbp_operator";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabel {
    condition: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BigPeerLabels {
    namespace: String,
    bigpeer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BigPeerConditionLabels {
    namespace: String,
    bigpeer: String,
    condition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiKeyLabels {
    namespace: String,
    app: String,
    api_key: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DataBridgeLabels {
    namespace: String,
    data_bridge: String,
    bridge_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DataBridgeReasonLabels {
    namespace: String,
    data_bridge: String,
    bridge_type: String,
    degraded_reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabels {
    namespace: String,
    data_bridge: String,
}

/// What one data bridge contributes to the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataBridgeState {
    /// `Kafka` or `MongoDB`.
    pub kind: String,
    /// Its Ready condition is True.
    pub ready: bool,
    /// The reason of its Degraded condition when True.
    pub degraded: Option<String>,
    /// A MongoDB connector's last progress, as a Unix time, as the operator saw it.
    pub last_progress: Option<i64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntegrationLabel {
    integration: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AdmissionLabels {
    kind: String,
    operation: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabel {
    refusal: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicationConditionLabels {
    namespace: String,
    replication: String,
    bigpeer: String,
    condition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicationConnectionLabels {
    namespace: String,
    replication: String,
    bigpeer: String,
    state: String,
}

/// What one replication contributes to the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationState {
    /// Its BigPeer (empty while unknown).
    pub bigpeer: String,
    /// (condition type, status) pairs, status being "True", "False" or "Unknown".
    pub conditions: Vec<(String, String)>,
    /// How many connections are in each state (`Ready`, `NotReady`, ...).
    pub connections: BTreeMap<String, i64>,
}

/// The series written for one replication, to remove them when it changes or goes.
#[derive(Clone, Debug, Default)]
struct ReplicationSeries {
    conditions: Vec<ReplicationConditionLabels>,
    connections: Vec<ReplicationConnectionLabels>,
}

/// Exemplar labels of a reconcile-duration observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceLabel {
    trace_id: String,
}

/// A trace id usable as an exemplar: W3C trace ids are hex and never all zeros. OpenMetrics
/// caps an exemplar's labels at 128 characters, which 64 hex digits keep well clear of.
fn valid_trace_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && id.bytes().any(|b| b != b'0')
}

/// What one BigPeer contributes to the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BigPeerState {
    /// (condition type, status) pairs, status being "True", "False" or "Unknown".
    pub conditions: Vec<(String, String)>,
    /// Paused by annotation.
    pub paused: bool,
    /// Pods are being moved to a new revision or topology.
    pub rollout_in_progress: bool,
    /// Pods unready past `spec.rollout.progressDeadlineSeconds`.
    pub stuck_pods: u32,
}

/// Per-BigPeer states and the aggregate series last written, under one lock so that
/// concurrent reconciles never leave the gauges inconsistent.
#[derive(Default)]
struct Books {
    states: HashMap<(String, String), BigPeerState>,
    aggregate: Vec<ConditionLabel>,
}

/// All operator metrics.
pub struct Metrics {
    registry: Registry,
    families: Vec<String>,
    reconciles: Family<ResultLabel, Counter>,
    duration: HistogramWithExemplars<TraceLabel>,
    errors: Family<ReasonLabel, Counter>,
    by_condition: Family<ConditionLabel, Gauge>,
    paused: Gauge,
    leader: Gauge,
    condition: Family<BigPeerConditionLabels, Gauge>,
    rollout: Family<BigPeerLabels, Gauge>,
    stuck: Family<BigPeerLabels, Gauge>,
    integrations: Family<IntegrationLabel, Gauge>,
    webhook_requests: Family<AdmissionLabels, Counter>,
    webhook_refusals: Family<RefusalLabel, Counter>,
    webhook_duration: Family<KindLabel, Histogram, fn() -> Histogram>,
    api_key_expiry: Family<ApiKeyLabels, Gauge>,
    replication_condition: Family<ReplicationConditionLabels, Gauge>,
    replication_connections: Family<ReplicationConnectionLabels, Gauge>,
    /// The series of every replication, by (namespace, name).
    replications: Mutex<HashMap<(String, String), ReplicationSeries>>,
    books: Mutex<Books>,
    /// The labels of every API key series, by (namespace, key).
    api_keys: Mutex<HashMap<(String, String), ApiKeyLabels>>,
    data_bridge_ready: Family<DataBridgeLabels, Gauge>,
    data_bridge_degraded: Family<DataBridgeReasonLabels, Gauge>,
    connector_progress: Family<ConnectorLabels, Gauge>,
    /// What every data bridge last wrote, by (namespace, bridge).
    data_bridges: Mutex<HashMap<(String, String), DataBridgeState>>,
}

/// Registers metrics under the prefix and remembers their family names.
struct Registrar {
    registry: Registry,
    names: Vec<String>,
}

impl Registrar {
    fn add(&mut self, name: &str, help: &str, unit: Option<Unit>, metric: impl Metric) {
        let suffix = unit.as_ref().map(|u| format!("_{}", u.as_str()));
        self.names
            .push(format!("{PREFIX}_{name}{}", suffix.unwrap_or_default()));
        match unit {
            Some(u) => self.registry.register_with_unit(name, help, u, metric),
            None => self.registry.register(name, help, metric),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registrar {
            registry: Registry::with_prefix(PREFIX),
            names: vec![],
        };
        let reconciles = Family::<ResultLabel, Counter>::default();
        let duration = HistogramWithExemplars::new(exponential_buckets(0.01, 2.0, 12));
        let errors = Family::<ReasonLabel, Counter>::default();
        let by_condition = Family::<ConditionLabel, Gauge>::default();
        let paused = Gauge::default();
        let leader = Gauge::default();
        let condition = Family::<BigPeerConditionLabels, Gauge>::default();
        let rollout = Family::<BigPeerLabels, Gauge>::default();
        let stuck = Family::<BigPeerLabels, Gauge>::default();
        let integrations = Family::<IntegrationLabel, Gauge>::default();
        let webhook_requests = Family::<AdmissionLabels, Counter>::default();
        let webhook_refusals = Family::<RefusalLabel, Counter>::default();
        let webhook_duration: Family<KindLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.005, 2.0, 12)));
        let api_key_expiry = Family::<ApiKeyLabels, Gauge>::default();
        let replication_condition = Family::<ReplicationConditionLabels, Gauge>::default();
        let replication_connections = Family::<ReplicationConnectionLabels, Gauge>::default();
        r.add(
            "reconciles",
            "Reconciles by result (success, error)",
            None,
            reconciles.clone(),
        );
        r.add(
            "reconcile_duration",
            "Duration of reconciles; exemplars carry the reconcile's trace_id",
            Some(Unit::Seconds),
            duration.clone(),
        );
        r.add(
            "reconcile_errors",
            "Failed reconciles by reason",
            None,
            errors.clone(),
        );
        r.add(
            "bigpeers",
            "Managed BigPeers by condition type and status",
            None,
            by_condition.clone(),
        );
        r.add(
            "bigpeers_paused",
            "BigPeers with reconciliation paused",
            None,
            paused.clone(),
        );
        r.add(
            "leader",
            "1 when this process holds the leader Lease",
            None,
            leader.clone(),
        );
        r.add(
            "bigpeer_condition",
            "1 when the BigPeer's condition is True, 0 when False or Unknown",
            None,
            condition.clone(),
        );
        r.add(
            "bigpeer_rollout_in_progress",
            "1 while the BigPeer's pods are being moved to a new revision or topology",
            None,
            rollout.clone(),
        );
        r.add(
            "bigpeer_stuck_pods",
            "Pods of the BigPeer unready past spec.rollout.progressDeadlineSeconds",
            None,
            stuck.clone(),
        );
        r.add(
            "integration_available",
            "1 when the cluster serves the optional add-on's API",
            None,
            integrations.clone(),
        );
        r.add(
            "webhook_requests",
            "Admission reviews by kind (BigPeer, BigPeerApp, BigPeerApiKey), operation (CREATE, UPDATE) and decision (allowed, refused, error)",
            None,
            webhook_requests.clone(),
        );
        r.add(
            "webhook_refusals",
            "Refusals by the admission webhook, one per refused field, by refusal reason",
            None,
            webhook_refusals.clone(),
        );
        r.add(
            "webhook_duration",
            "Duration of admission reviews by kind, a BigPeer's dry runs included",
            Some(Unit::Seconds),
            webhook_duration.clone(),
        );
        r.add(
            "api_key_expiry_timestamp",
            "When the BigPeerApiKey stops working (spec.expiresAt), as a Unix time",
            Some(Unit::Seconds),
            api_key_expiry.clone(),
        );
        let data_bridge_ready = Family::<DataBridgeLabels, Gauge>::default();
        let data_bridge_degraded = Family::<DataBridgeReasonLabels, Gauge>::default();
        let connector_progress = Family::<ConnectorLabels, Gauge>::default();
        r.add(
            "data_bridge_ready",
            "1 when the BigPeerDataBridge is Ready (Kafka: topic and user ready; MongoDB: connector ready and making progress), 0 otherwise",
            None,
            data_bridge_ready.clone(),
        );
        r.add(
            "data_bridge_degraded",
            "1 while the BigPeerDataBridge is Degraded, with the reason (such as ConnectorStalled); no series otherwise",
            None,
            data_bridge_degraded.clone(),
        );
        r.add(
            "mongo_connector_last_progress_timestamp",
            "The MongoDB connector's last progress (its own heartbeat), as a Unix time, as the operator last read it",
            Some(Unit::Seconds),
            connector_progress.clone(),
        );
        r.add(
            "replication_condition",
            "1 when the BigPeerReplication's condition (Ready, Degraded) is True, 0 when False or Unknown",
            None,
            replication_condition.clone(),
        );
        r.add(
            "replication_connections",
            "Connections of the BigPeerReplication by state (Ready, NotReady, NotFound, External, Unknown)",
            None,
            replication_connections.clone(),
        );
        r.add(
            "build",
            "Version of the running operator",
            None,
            Info::new(VersionLabel {
                version: env!("CARGO_PKG_VERSION").into(),
            }),
        );
        Self {
            registry: r.registry,
            families: r.names,
            reconciles,
            duration,
            errors,
            by_condition,
            paused,
            leader,
            condition,
            rollout,
            stuck,
            integrations,
            webhook_requests,
            webhook_refusals,
            webhook_duration,
            api_key_expiry,
            replication_condition,
            replication_connections,
            replications: Mutex::new(HashMap::new()),
            books: Mutex::new(Books::default()),
            api_keys: Mutex::new(HashMap::new()),
            data_bridge_ready,
            data_bridge_degraded,
            connector_progress,
            data_bridges: Mutex::new(HashMap::new()),
        }
    }
}

impl Metrics {
    /// Count a reconcile; `trace_id` (hex) becomes the duration observation's exemplar.
    pub fn reconciled(&self, seconds: f64, error_reason: Option<&str>, trace_id: Option<&str>) {
        let exemplar = trace_id.filter(|t| valid_trace_id(t)).map(|t| TraceLabel {
            trace_id: t.to_string(),
        });
        let at = exemplar.as_ref().map(|_| SystemTime::now());
        self.duration.observe(seconds, exemplar, at);
        let result = if error_reason.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciles
            .get_or_create(&ResultLabel {
                result: result.into(),
            })
            .inc();
        if let Some(r) = error_reason {
            self.errors
                .get_or_create(&ReasonLabel { reason: r.into() })
                .inc();
        }
    }

    /// Record a BigPeer's state, replacing what was recorded before.
    pub fn set_bigpeer(&self, namespace: &str, name: &str, state: BigPeerState) {
        let mut books = self.books.lock().expect("metrics lock");
        let key = (namespace.to_string(), name.to_string());
        let labels = BigPeerLabels {
            namespace: namespace.into(),
            bigpeer: name.into(),
        };
        let condition_labels = |c: &str| BigPeerConditionLabels {
            namespace: namespace.into(),
            bigpeer: name.into(),
            condition: c.into(),
        };
        if let Some(old) = books.states.get(&key) {
            for (c, _) in &old.conditions {
                if !state.conditions.iter().any(|(n, _)| n == c) {
                    self.condition.remove(&condition_labels(c));
                }
            }
        }
        for (c, status) in &state.conditions {
            self.condition
                .get_or_create(&condition_labels(c))
                .set(i64::from(status == "True"));
        }
        self.rollout
            .get_or_create(&labels)
            .set(i64::from(state.rollout_in_progress));
        self.stuck
            .get_or_create(&labels)
            .set(i64::from(state.stuck_pods));
        books.states.insert(key, state);
        self.write_aggregates(&mut books);
    }

    /// Remove every series of a deleted BigPeer.
    pub fn forget_bigpeer(&self, namespace: &str, name: &str) {
        let mut books = self.books.lock().expect("metrics lock");
        let Some(old) = books
            .states
            .remove(&(namespace.to_string(), name.to_string()))
        else {
            return;
        };
        for (c, _) in &old.conditions {
            self.condition.remove(&BigPeerConditionLabels {
                namespace: namespace.into(),
                bigpeer: name.into(),
                condition: c.clone(),
            });
        }
        let labels = BigPeerLabels {
            namespace: namespace.into(),
            bigpeer: name.into(),
        };
        self.rollout.remove(&labels);
        self.stuck.remove(&labels);
        self.write_aggregates(&mut books);
    }

    /// Recompute the counts over all BigPeers; series whose count dropped to zero go away
    /// (as before) and the others are overwritten in place, so a scrape never sees a gap.
    fn write_aggregates(&self, books: &mut Books) {
        let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut paused = 0;
        for s in books.states.values() {
            paused += i64::from(s.paused);
            for (c, st) in &s.conditions {
                *counts.entry((c.clone(), st.clone())).or_default() += 1;
            }
        }
        let now: Vec<ConditionLabel> = counts
            .keys()
            .map(|(c, s)| ConditionLabel {
                condition: c.clone(),
                status: s.clone(),
            })
            .collect();
        for old in books.aggregate.drain(..) {
            if !now.contains(&old) {
                self.by_condition.remove(&old);
            }
        }
        for (label, n) in now.iter().zip(counts.values()) {
            self.by_condition.get_or_create(label).set(*n);
        }
        books.aggregate = now;
        self.paused.set(paused);
    }

    /// Availability of optional add-ons, as last discovered.
    pub fn set_integrations(&self, found: impl IntoIterator<Item = (Integration, bool)>) {
        for (i, available) in found {
            self.integrations
                .get_or_create(&IntegrationLabel {
                    integration: i.as_str().into(),
                })
                .set(i64::from(available));
        }
    }

    /// An admission review of an object of `kind`: its operation, its decision (`allowed`,
    /// `refused`, `error`), how long it took and the reason of each refused field.
    pub fn admission(
        &self,
        kind: &str,
        operation: &str,
        decision: &str,
        seconds: f64,
        refusals: &[&str],
    ) {
        self.webhook_requests
            .get_or_create(&AdmissionLabels {
                kind: kind.into(),
                operation: operation.into(),
                decision: decision.into(),
            })
            .inc();
        self.webhook_duration
            .get_or_create(&KindLabel { kind: kind.into() })
            .observe(seconds);
        for r in refusals {
            self.webhook_refusals
                .get_or_create(&RefusalLabel {
                    refusal: (*r).into(),
                })
                .inc();
        }
    }

    /// Record when an API key expires (a key's app may change: its old series goes).
    pub fn set_api_key_expiry(&self, namespace: &str, app: &str, key: &str, unix_seconds: i64) {
        let mut keys = self.api_keys.lock().expect("metrics lock");
        let labels = ApiKeyLabels {
            namespace: namespace.into(),
            app: app.into(),
            api_key: key.into(),
        };
        if let Some(old) = keys.insert((namespace.into(), key.into()), labels.clone())
            && old != labels
        {
            self.api_key_expiry.remove(&old);
        }
        self.api_key_expiry.get_or_create(&labels).set(unix_seconds);
    }

    /// Keep the series of the API keys `live` (namespace, name) only: deleted keys' go.
    pub fn retain_api_keys(&self, live: &std::collections::HashSet<(String, String)>) {
        let mut keys = self.api_keys.lock().expect("metrics lock");
        keys.retain(|id, labels| {
            let keep = live.contains(id);
            if !keep {
                self.api_key_expiry.remove(labels);
            }
            keep
        });
    }

    /// Record a replication's conditions and connection states (its previous series go).
    pub fn set_replication(&self, namespace: &str, name: &str, state: ReplicationState) {
        let mut all = self.replications.lock().expect("metrics lock");
        let series = ReplicationSeries {
            conditions: state
                .conditions
                .iter()
                .map(|(c, _)| ReplicationConditionLabels {
                    namespace: namespace.into(),
                    replication: name.into(),
                    bigpeer: state.bigpeer.clone(),
                    condition: c.clone(),
                })
                .collect(),
            connections: state
                .connections
                .keys()
                .map(|s| ReplicationConnectionLabels {
                    namespace: namespace.into(),
                    replication: name.into(),
                    bigpeer: state.bigpeer.clone(),
                    state: s.clone(),
                })
                .collect(),
        };
        if let Some(old) = all.insert((namespace.into(), name.into()), series.clone()) {
            for l in old
                .conditions
                .iter()
                .filter(|l| !series.conditions.contains(l))
            {
                self.replication_condition.remove(l);
            }
            for l in old
                .connections
                .iter()
                .filter(|l| !series.connections.contains(l))
            {
                self.replication_connections.remove(l);
            }
        }
        for (labels, (_, status)) in series.conditions.iter().zip(&state.conditions) {
            self.replication_condition
                .get_or_create(labels)
                .set(i64::from(status == "True"));
        }
        for (labels, count) in series.connections.iter().zip(state.connections.values()) {
            self.replication_connections
                .get_or_create(labels)
                .set(*count);
        }
    }

    /// Keep the series of the replications `live` (namespace, name) only.
    pub fn retain_replications(&self, live: &std::collections::HashSet<(String, String)>) {
        let mut all = self.replications.lock().expect("metrics lock");
        all.retain(|id, series| {
            let keep = live.contains(id);
            if !keep {
                for l in &series.conditions {
                    self.replication_condition.remove(l);
                }
                for l in &series.connections {
                    self.replication_connections.remove(l);
                }
            }
            keep
        });
    }

    /// Record a data bridge's state, replacing its previous series.
    pub fn set_data_bridge(&self, namespace: &str, name: &str, state: DataBridgeState) {
        let mut books = self.data_bridges.lock().expect("metrics lock");
        let key = (namespace.to_string(), name.to_string());
        if let Some(old) = books.remove(&key) {
            self.remove_data_bridge(namespace, name, &old);
        }
        let labels = DataBridgeLabels {
            namespace: namespace.into(),
            data_bridge: name.into(),
            bridge_type: state.kind.clone(),
        };
        self.data_bridge_ready
            .get_or_create(&labels)
            .set(i64::from(state.ready));
        if let Some(reason) = &state.degraded {
            self.data_bridge_degraded
                .get_or_create(&DataBridgeReasonLabels {
                    namespace: namespace.into(),
                    data_bridge: name.into(),
                    bridge_type: state.kind.clone(),
                    degraded_reason: reason.clone(),
                })
                .set(1);
        }
        if let Some(t) = state.last_progress {
            self.connector_progress
                .get_or_create(&ConnectorLabels {
                    namespace: namespace.into(),
                    data_bridge: name.into(),
                })
                .set(t);
        }
        books.insert(key, state);
    }

    fn remove_data_bridge(&self, namespace: &str, name: &str, old: &DataBridgeState) {
        self.data_bridge_ready.remove(&DataBridgeLabels {
            namespace: namespace.into(),
            data_bridge: name.into(),
            bridge_type: old.kind.clone(),
        });
        if let Some(reason) = &old.degraded {
            self.data_bridge_degraded.remove(&DataBridgeReasonLabels {
                namespace: namespace.into(),
                data_bridge: name.into(),
                bridge_type: old.kind.clone(),
                degraded_reason: reason.clone(),
            });
        }
        if old.last_progress.is_some() {
            self.connector_progress.remove(&ConnectorLabels {
                namespace: namespace.into(),
                data_bridge: name.into(),
            });
        }
    }

    /// Drop the series of the data bridges not in `live` (namespace, name): deleted ones.
    pub fn retain_data_bridges(&self, live: &std::collections::HashSet<(String, String)>) {
        let mut books = self.data_bridges.lock().expect("metrics lock");
        let gone: Vec<_> = books
            .keys()
            .filter(|k| !live.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(old) = books.remove(&key) {
                self.remove_data_bridge(&key.0, &key.1, &old);
            }
        }
    }

    /// Leadership changed.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// OpenMetrics text exposition (`application/openmetrics-text; version=1.0.0`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding metrics to a string");
        out
    }

    /// Names of the registered families, in registration order.
    pub fn family_names(&self) -> &[String] {
        &self.families
    }

    /// A registry with at least one series in every family, so that names, types and label
    /// names can be read off its encoding (metrics reference, dashboard and rule checks).
    pub fn example() -> Self {
        let m = Self::default();
        m.reconciled(0.25, None, Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        m.reconciled(1.5, Some("Conflict"), None);
        m.set_leader(true);
        m.admission("BigPeer", "CREATE", "refused", 0.08, &["ObjectRefused"]);
        m.set_integrations(Integration::ALL.map(|i| (i, i != Integration::OpenShift)));
        m.set_api_key_expiry("bigpeer", "fleet", "fleet-backend", 1_798_761_600);
        m.set_replication(
            "bigpeer",
            "fleet-eu",
            ReplicationState {
                bigpeer: "prod".into(),
                conditions: vec![
                    ("Ready".into(), "True".into()),
                    ("Degraded".into(), "False".into()),
                ],
                connections: BTreeMap::from([("Ready".into(), 1)]),
            },
        );
        m.set_data_bridge(
            "bigpeer",
            "orders-sync",
            DataBridgeState {
                kind: "MongoDB".into(),
                ready: false,
                degraded: Some("ConnectorStalled".into()),
                last_progress: Some(1_780_272_000),
            },
        );
        m.set_bigpeer(
            "bigpeer",
            "prod",
            BigPeerState {
                conditions: ConditionType::ALL
                    .iter()
                    .map(|t| {
                        let on = matches!(t, ConditionType::Progressing | ConditionType::Degraded);
                        (
                            t.as_str().to_string(),
                            if on { "True" } else { "False" }.into(),
                        )
                    })
                    .collect(),
                paused: false,
                rollout_in_progress: true,
                stuck_pods: 1,
            },
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::exposition::{self, Family as Fam};

    fn parse(m: &Metrics) -> Vec<Fam> {
        exposition::parse(&m.encode()).expect("the registry encodes valid OpenMetrics")
    }

    /// Value of the one sample with exactly these labels, if any.
    fn value(fams: &[Fam], sample: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<f64> = fams
            .iter()
            .flat_map(|f| &f.samples)
            .filter(|s| {
                s.name == sample
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|s| s.value)
            .collect();
        assert!(found.len() <= 1, "{sample} {labels:?} twice");
        found.first().copied()
    }

    fn state(conditions: &[(&str, &str)], paused: bool, rollout: bool, stuck: u32) -> BigPeerState {
        BigPeerState {
            conditions: conditions
                .iter()
                .map(|(c, s)| (c.to_string(), s.to_string()))
                .collect(),
            paused,
            rollout_in_progress: rollout,
            stuck_pods: stuck,
        }
    }

    #[test]
    fn exposes_counts_and_states() {
        let m = Metrics::default();
        m.reconciled(0.2, None, None);
        m.reconciled(0.1, Some("Forbidden"), None);
        m.set_bigpeer("ns", "a", state(&[("Ready", "True")], true, false, 0));
        m.set_bigpeer("ns", "b", state(&[("Ready", "False")], false, false, 0));
        let f = parse(&m);
        let total = "smbp_operator_reconciles_total";
        assert_eq!(value(&f, total, &[("result", "success")]), Some(1.0));
        assert_eq!(value(&f, total, &[("result", "error")]), Some(1.0));
        assert_eq!(
            value(
                &f,
                "smbp_operator_reconcile_errors_total",
                &[("reason", "Forbidden")]
            ),
            Some(1.0)
        );
        let agg = "smbp_operator_bigpeers";
        assert_eq!(
            value(&f, agg, &[("condition", "Ready"), ("status", "True")]),
            Some(1.0)
        );
        assert_eq!(
            value(&f, agg, &[("condition", "Ready"), ("status", "False")]),
            Some(1.0)
        );
        assert_eq!(value(&f, "smbp_operator_bigpeers_paused", &[]), Some(1.0));
        assert_eq!(
            value(&f, "smbp_operator_reconcile_duration_seconds_count", &[]),
            Some(2.0)
        );
        assert_eq!(
            value(&f, "smbp_operator_reconcile_duration_seconds_sum", &[])
                .map(|v| (v * 10.0).round()),
            Some(3.0)
        );
        m.forget_bigpeer("ns", "a");
        let f = parse(&m);
        assert_eq!(value(&f, "smbp_operator_bigpeers_paused", &[]), Some(0.0));
        assert_eq!(
            value(&f, agg, &[("condition", "Ready"), ("status", "True")]),
            None
        );
        assert_eq!(
            value(&f, agg, &[("condition", "Ready"), ("status", "False")]),
            Some(1.0)
        );
    }

    #[test]
    fn per_bigpeer_series_follow_the_latest_state() {
        let m = Metrics::default();
        let cond = "smbp_operator_bigpeer_condition";
        let ready = [
            ("namespace", "ns"),
            ("bigpeer", "a"),
            ("condition", "Ready"),
        ];
        let degraded = [
            ("namespace", "ns"),
            ("bigpeer", "a"),
            ("condition", "Degraded"),
        ];
        let who = [("namespace", "ns"), ("bigpeer", "a")];
        m.set_bigpeer(
            "ns",
            "a",
            state(&[("Ready", "False"), ("Degraded", "True")], false, true, 2),
        );
        let f = parse(&m);
        assert_eq!(value(&f, cond, &ready), Some(0.0));
        assert_eq!(value(&f, cond, &degraded), Some(1.0));
        assert_eq!(
            value(&f, "smbp_operator_bigpeer_rollout_in_progress", &who),
            Some(1.0)
        );
        assert_eq!(
            value(&f, "smbp_operator_bigpeer_stuck_pods", &who),
            Some(2.0)
        );

        // Unknown counts as not True; a condition that disappears loses its series.
        m.set_bigpeer("ns", "a", state(&[("Ready", "Unknown")], false, false, 0));
        let f = parse(&m);
        assert_eq!(value(&f, cond, &ready), Some(0.0));
        assert_eq!(value(&f, cond, &degraded), None);
        assert_eq!(
            value(&f, "smbp_operator_bigpeer_rollout_in_progress", &who),
            Some(0.0)
        );
        assert_eq!(
            value(&f, "smbp_operator_bigpeer_stuck_pods", &who),
            Some(0.0)
        );

        m.set_bigpeer("ns", "a", state(&[("Ready", "True")], false, false, 0));
        assert_eq!(value(&parse(&m), cond, &ready), Some(1.0));
    }

    #[test]
    fn forgetting_a_bigpeer_removes_only_its_series() {
        let m = Metrics::default();
        m.set_bigpeer("ns", "a", state(&[("Ready", "True")], false, true, 1));
        m.set_bigpeer("other", "a", state(&[("Ready", "True")], false, false, 0));
        m.forget_bigpeer("ns", "a");
        m.forget_bigpeer("ns", "never-seen");
        let f = parse(&m);
        let mentions = |bp_ns: &str| {
            f.iter()
                .flat_map(|f| &f.samples)
                .any(|s| s.labels.iter().any(|(k, v)| k == "namespace" && v == bp_ns))
        };
        assert!(!mentions("ns"), "{}", m.encode());
        assert!(mentions("other"));
        assert_eq!(
            value(
                &f,
                "smbp_operator_bigpeers",
                &[("condition", "Ready"), ("status", "True")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn integrations_build_info_and_leader() {
        let m = Metrics::default();
        m.set_integrations([
            (Integration::Strimzi, true),
            (Integration::GatewayApi, false),
        ]);
        m.set_integrations([(Integration::Strimzi, false)]);
        m.set_leader(true);
        let f = parse(&m);
        let avail = "smbp_operator_integration_available";
        assert_eq!(value(&f, avail, &[("integration", "strimzi")]), Some(0.0));
        assert_eq!(
            value(&f, avail, &[("integration", "gateway-api")]),
            Some(0.0)
        );
        assert_eq!(value(&f, avail, &[("integration", "cert-manager")]), None);
        assert_eq!(
            value(
                &f,
                "smbp_operator_build_info",
                &[("version", env!("CARGO_PKG_VERSION"))]
            ),
            Some(1.0)
        );
        assert_eq!(value(&f, "smbp_operator_leader", &[]), Some(1.0));
    }

    #[test]
    fn data_bridge_series_follow_their_state_and_deletion() {
        let m = Metrics::default();
        let st = |ready, degraded: Option<&str>| DataBridgeState {
            kind: "MongoDB".into(),
            ready,
            degraded: degraded.map(str::to_string),
            last_progress: Some(100),
        };
        m.set_data_bridge("ns", "b", st(false, Some("ConnectorStalled")));
        let text = m.encode();
        assert!(text.contains(r#"smbp_operator_data_bridge_degraded{namespace="ns",data_bridge="b",bridge_type="MongoDB",degraded_reason="ConnectorStalled"} 1"#), "{text}");
        assert!(text.contains(r#"smbp_operator_mongo_connector_last_progress_timestamp_seconds{namespace="ns",data_bridge="b"} 100"#), "{text}");
        m.set_data_bridge("ns", "b", st(true, None));
        let text = m.encode();
        assert!(
            !text.contains("degraded_reason=\"ConnectorStalled\""),
            "{text}"
        );
        assert!(text.contains(r#"smbp_operator_data_bridge_ready{namespace="ns",data_bridge="b",bridge_type="MongoDB"} 1"#), "{text}");
        m.retain_data_bridges(&Default::default());
        assert!(!m.encode().contains("data_bridge=\"b\""));
    }

    #[test]
    fn api_key_expiry_follows_keys_and_their_deletion() {
        let m = Metrics::default();
        let name = "smbp_operator_api_key_expiry_timestamp_seconds";
        m.set_api_key_expiry("ns", "app", "k", 100);
        m.set_api_key_expiry("ns", "app", "k", 200);
        m.set_api_key_expiry("ns", "app", "gone", 50);
        let f = parse(&m);
        let k = [("namespace", "ns"), ("app", "app"), ("api_key", "k")];
        assert_eq!(value(&f, name, &k), Some(200.0));
        // Another app (recreated under the same key name): one series.
        m.set_api_key_expiry("ns", "other", "k", 300);
        let live: std::collections::HashSet<_> = [("ns".to_string(), "k".to_string())].into();
        m.retain_api_keys(&live);
        let f = parse(&m);
        assert_eq!(value(&f, name, &k), None);
        let moved = [("namespace", "ns"), ("app", "other"), ("api_key", "k")];
        assert_eq!(value(&f, name, &moved), Some(300.0));
        let gone = [("namespace", "ns"), ("app", "app"), ("api_key", "gone")];
        assert_eq!(value(&f, name, &gone), None);
    }

    #[test]
    fn replication_series_follow_the_latest_state_and_their_deletion() {
        let m = Metrics::default();
        let state = |bp: &str, degraded: &str, conns: &[(&str, i64)]| ReplicationState {
            bigpeer: bp.into(),
            conditions: vec![
                ("Ready".into(), "True".into()),
                ("Degraded".into(), degraded.into()),
            ],
            connections: conns.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        };
        let cond = "smbp_operator_replication_condition";
        let conns = "smbp_operator_replication_connections";
        m.set_replication(
            "ns",
            "r",
            state("prod", "True", &[("Ready", 1), ("NotFound", 2)]),
        );
        let f = parse(&m);
        let deg = [
            ("namespace", "ns"),
            ("replication", "r"),
            ("bigpeer", "prod"),
            ("condition", "Degraded"),
        ];
        assert_eq!(value(&f, cond, &deg), Some(1.0));
        let nf = [
            ("namespace", "ns"),
            ("replication", "r"),
            ("bigpeer", "prod"),
            ("state", "NotFound"),
        ];
        assert_eq!(value(&f, conns, &nf), Some(2.0));
        m.set_replication("ns", "r", state("prod", "False", &[("Ready", 3)]));
        let f = parse(&m);
        assert_eq!(value(&f, cond, &deg), Some(0.0));
        assert_eq!(value(&f, conns, &nf), None, "a state no longer seen goes");
        m.set_replication("ns", "other", state("prod", "False", &[]));
        m.retain_replications(&[("ns".to_string(), "other".to_string())].into());
        let f = parse(&m);
        assert_eq!(value(&f, cond, &deg), None);
        let other = [
            ("namespace", "ns"),
            ("replication", "other"),
            ("bigpeer", "prod"),
            ("condition", "Degraded"),
        ];
        assert_eq!(value(&f, cond, &other), Some(0.0));
    }

    #[test]
    fn exemplars_carry_valid_trace_ids_only() {
        let m = Metrics::default();
        m.reconciled(0.03, None, Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        m.reconciled(0.3, None, Some("00000000000000000000000000000000"));
        m.reconciled(3.0, None, Some("not hex\"} 1"));
        m.reconciled(30.0, None, None);
        let f = parse(&m);
        let exemplars: Vec<&str> = f
            .iter()
            .flat_map(|f| &f.samples)
            .filter_map(|s| s.exemplar.as_deref())
            .collect();
        assert_eq!(exemplars.len(), 1, "{}", m.encode());
        assert!(exemplars[0].starts_with(r#"{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.03 "#));
        let bucket = m
            .encode()
            .lines()
            .find(|l| l.contains("# {trace_id="))
            .unwrap()
            .to_string();
        assert!(
            bucket.starts_with(r#"smbp_operator_reconcile_duration_seconds_bucket{le="0.04"} 1"#),
            "{bucket}"
        );
    }

    #[test]
    fn example_fills_every_family() {
        let example = parse(&Metrics::example());
        assert_eq!(
            Metrics::default().family_names(),
            example.iter().map(|f| f.name.clone()).collect::<Vec<_>>()
        );
        for f in &example {
            assert!(
                !f.samples.is_empty(),
                "{} has no sample in Metrics::example",
                f.name
            );
            assert!(f.name.starts_with("smbp_operator_"), "{}", f.name);
        }
    }
}
