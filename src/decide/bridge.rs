//! Data bridges: what a bridge's `Ready` and `Degraded` say and what its status holds, from
//! what the controller observed. Pure.
//!
//! - The bridge reaches its BigPeer through its app: a missing app or BigPeer, or an app
//!   without its ID yet, is `Ready=False` without `Degraded` (GitOps applies in any order).
//! - Kafka: the connection details from the Kafka's `status.listeners` (the operator never
//!   edits the Kafka) and Strimzi's readiness of the topic and the user; with an external
//!   Kafka, the Secrets `kafka.external` names must exist.
//! - MongoDB: Ready only when the connector's pod is Ready *and* its own progress signal is
//!   newer than `stallAfter` ([`mongodb`]).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{self, ConditionType, DesiredCondition};
use crate::api::reason::Reason;
use crate::api::{
    BigPeer, BigPeerDataBridge, BigPeerDataBridgeStatus, KafkaConsumerInfo, MongoConnectorStatus,
};
use crate::build::bridge::{self as names};

/// How long the connector may go without progress when `stallAfter` cannot be read (the
/// CRD's rule makes that impossible).
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(300);
/// How often the operator reads a connector's progress signal.
pub const PROBE_EVERY: Duration = Duration::from_secs(30);

/// `stallAfter` of a MongoDB bridge.
pub fn stall_after(b: &BigPeerDataBridge) -> Duration {
    b.spec
        .mongodb
        .as_ref()
        .and_then(|m| crate::access::duration::parse(&m.stall_after))
        .unwrap_or(DEFAULT_STALL_AFTER)
}

/// The result of one part of the decision: `Ready`, and `Degraded` when it needs a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Ready or not, with the reason and message.
    pub ready: DesiredCondition,
    /// Whether `Degraded` is True (with the same reason and message).
    pub degraded: bool,
}

impl Verdict {
    fn ready(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            ready: DesiredCondition::new(ConditionType::Ready, true, reason, message),
            degraded: false,
        }
    }
    fn waiting(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            ready: DesiredCondition::new(ConditionType::Ready, false, reason, message),
            degraded: false,
        }
    }
    fn degraded(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            ready: DesiredCondition::new(ConditionType::Ready, false, reason, message),
            degraded: true,
        }
    }

    /// Both conditions.
    pub fn conditions(&self) -> Vec<DesiredCondition> {
        let degraded = if self.degraded {
            DesiredCondition::new(
                ConditionType::Degraded,
                true,
                self.ready.reason,
                self.ready.message.clone(),
            )
        } else {
            DesiredCondition::new(
                ConditionType::Degraded,
                false,
                Reason::AsExpected,
                "nothing needs attention",
            )
        };
        vec![self.ready.clone(), degraded]
    }
}

/// What the bridge's app and BigPeer are, as far as the bridge is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The app does not exist.
    AppMissing(String),
    /// The app has no app ID yet.
    AppIdPending(String),
    /// The app's BigPeer does not exist.
    BigPeerMissing(String),
    /// Both exist: the BigPeer's name and the app ID.
    Found {
        /// The BigPeer.
        big_peer: String,
        /// The app ID.
        app_id: String,
    },
}

impl Target {
    /// Why the bridge waits, if it does.
    pub fn waiting(&self) -> Option<Verdict> {
        match self {
            Target::AppMissing(app) => Some(Verdict::waiting(
                Reason::AppNotFound,
                format!("BigPeerApp {app} does not exist in this namespace"),
            )),
            Target::AppIdPending(app) => Some(Verdict::waiting(
                Reason::AppNotReady,
                format!("BigPeerApp {app} has no app ID yet"),
            )),
            Target::BigPeerMissing(bp) => Some(Verdict::waiting(
                Reason::BigPeerNotFound,
                format!("BigPeer {bp} (of the app) does not exist in this namespace"),
            )),
            Target::Found { .. } => None,
        }
    }
}

/// Strimzi's view of a KafkaTopic or KafkaUser: `None` while it has not reported.
pub type StrimziReadiness = Option<(bool, String)>;

/// What the controller observed for a Kafka bridge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KafkaObserved {
    /// Strimzi's API is served.
    pub strimzi: bool,
    /// The Kafka's `status.listeners` as (name, bootstrapServers); `None` when the Kafka does
    /// not exist.
    pub listeners: Option<Vec<(String, String)>>,
    /// The KafkaTopic.
    pub topic: StrimziReadiness,
    /// The KafkaUser.
    pub user: StrimziReadiness,
    /// Secrets named by `kafka.external` that do not exist.
    pub missing_secrets: Vec<String>,
}

/// The listener consumers use: `consumers.listener`, else the transaction log's.
pub fn consumer_listener(b: &BigPeerDataBridge, bp: &BigPeer) -> Option<String> {
    let k = b.spec.kafka.as_ref()?;
    k.consumers.listener.clone().or_else(|| {
        bp.spec
            .transaction_log
            .strimzi
            .as_ref()
            .map(|s| s.listener.clone())
    })
}

/// The Secrets an external Kafka bridge's consumers mount: the user's, and the cluster CA
/// (`kafka.external.clusterCaSecretRef`, else the transaction log's CA).
pub fn external_secrets(b: &BigPeerDataBridge, bp: &BigPeer) -> (Option<String>, Option<String>) {
    let Some(ext) = b.spec.kafka.as_ref().and_then(|k| k.external.as_ref()) else {
        return (None, None);
    };
    let ca = ext
        .cluster_ca_secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .or_else(|| {
            bp.spec
                .transaction_log
                .external
                .as_ref()
                .and_then(|e| e.tls.as_ref())
                .map(|t| t.ca_secret_ref.name.clone())
        });
    (Some(ext.user_secret_ref.name.clone()), ca)
}

/// A Kafka bridge's consumer information and verdict.
pub fn kafka(
    b: &BigPeerDataBridge,
    bp: &BigPeer,
    o: &KafkaObserved,
) -> (KafkaConsumerInfo, Verdict) {
    let ns = b.metadata.namespace.clone().unwrap_or_default();
    let name = b.metadata.name.clone().unwrap_or_default();
    let bp_name = bp.metadata.name.clone().unwrap_or_default();
    let k = b.spec.kafka.clone().unwrap_or_default();
    let tl = &bp.spec.transaction_log;
    let own_topic = names::topic(&bp_name, &ns, &name);
    if tl.strimzi.is_none() && tl.external.is_some() {
        let Some(ext) = &k.external else {
            let info = KafkaConsumerInfo {
                topic: own_topic.clone(),
                consumer_group_prefix: own_topic,
                ..Default::default()
            };
            return (
                info,
                Verdict::degraded(
                    Reason::ExternalTopicRequired,
                    format!(
                        "BigPeer {bp_name} uses an external Kafka: create the topic and the consumer's credentials there and set kafka.external (topic, userSecretRef)"
                    ),
                ),
            );
        };
        let (user, ca) = external_secrets(b, bp);
        let info = KafkaConsumerInfo {
            topic: ext.topic.clone(),
            consumer_group_prefix: ext.topic.clone(),
            bootstrap_servers: tl.external.as_ref().map(|e| e.bootstrap_servers.join(",")),
            cluster_ca_secret_name: ca,
            user_secret_name: user,
        };
        if !o.missing_secrets.is_empty() {
            return (
                info,
                Verdict::degraded(
                    Reason::KafkaSecretNotFound,
                    format!(
                        "Secrets not found in namespace {ns}: {}",
                        o.missing_secrets.join(", ")
                    ),
                ),
            );
        }
        let v = Verdict::ready(
            Reason::Streaming,
            format!("consumers read topic {} on the external Kafka", ext.topic),
        );
        return (info, v);
    }
    let mut info = KafkaConsumerInfo {
        topic: own_topic.clone(),
        consumer_group_prefix: own_topic.clone(),
        ..Default::default()
    };
    let Some(strimzi) = &tl.strimzi else {
        return (
            info,
            Verdict::degraded(
                Reason::NoTransactionLog,
                format!(
                    "BigPeer {bp_name} sets neither transactionLog.strimzi nor transactionLog.external"
                ),
            ),
        );
    };
    let kafka = &strimzi.kafka_ref.name;
    info.cluster_ca_secret_name = Some(names::cluster_ca_secret(kafka));
    info.user_secret_name = Some(names::kafka_user(&name));
    if !o.strimzi {
        return (
            info,
            Verdict::degraded(
                Reason::StrimziNotInstalled,
                "the BigPeer's transaction log is on Strimzi (kafka.strimzi.io/v1), which this cluster does not serve",
            ),
        );
    }
    let Some(listeners) = &o.listeners else {
        return (
            info,
            Verdict::degraded(
                Reason::KafkaNotFound,
                format!("Kafka {kafka} not found in namespace {ns}"),
            ),
        );
    };
    let listener = consumer_listener(b, bp).unwrap_or_default();
    match listeners.iter().find(|(n, _)| *n == listener) {
        Some((_, bootstrap)) if !bootstrap.is_empty() => {
            info.bootstrap_servers = Some(bootstrap.clone());
        }
        _ => {
            let known: Vec<&str> = listeners.iter().map(|(n, _)| n.as_str()).collect();
            let add = if k.consumers.outside_cluster {
                format!(
                    "add to Kafka {kafka}'s spec.kafka.listeners an external listener {{name: {listener}, port: 9094, type: loadbalancer (or nodeport, route, ingress), tls: true, authentication: {{type: tls}}}}"
                )
            } else {
                format!(
                    "add a listener named {listener} with TLS client authentication to Kafka {kafka}'s spec.kafka.listeners, or name an existing one in kafka.consumers.listener"
                )
            };
            return (
                info,
                Verdict::degraded(
                    Reason::ConsumerListenerNotFound,
                    format!(
                        "Kafka {kafka} reports no listener named {listener} (it has: {}): {add}; the operator never edits the Kafka",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ),
            );
        }
    }
    for (what, obj, r) in [
        ("KafkaTopic", names::kafka_topic_object(&name), &o.topic),
        ("KafkaUser", names::kafka_user(&name), &o.user),
    ] {
        match r {
            None => {
                return (
                    info,
                    Verdict::waiting(
                        Reason::KafkaResourcePending,
                        format!("waiting for Strimzi to reconcile {what} {obj}"),
                    ),
                );
            }
            Some((false, m)) => {
                return (
                    info,
                    Verdict::degraded(
                        Reason::KafkaResourceNotReady,
                        format!("{what} {obj} is not ready: {m}"),
                    ),
                );
            }
            Some((true, _)) => {}
        }
    }
    let v = Verdict::ready(
        Reason::Streaming,
        format!(
            "consumers read topic {own_topic} from {} with the Secrets {} and {}, in consumer groups starting with {own_topic}",
            info.bootstrap_servers.clone().unwrap_or_default(),
            info.cluster_ca_secret_name.clone().unwrap_or_default(),
            info.user_secret_name.clone().unwrap_or_default(),
        ),
    );
    (info, v)
}

pub mod mongodb {
    //! The MongoDB connector's health, which cannot lie: Ready only while the pod is Ready
    //! *and* the connector's own progress signal (a timestamp it advances with every change
    //! stream event or heartbeat) is newer than `stallAfter`.

    use super::*;

    /// Whether the connection string can be used.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Secret {
        /// The Secret or its key does not exist.
        Missing,
        /// It is not a MongoDB connection string.
        Invalid(crate::build::bridge::connection::Invalid),
        /// Usable.
        Ok,
    }

    /// The connector's pod, as the operator sees it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Pod {
        /// The pod's name.
        pub name: String,
        /// Its Ready condition is True.
        pub ready: bool,
        /// When it started (created).
        pub started: Timestamp,
        /// Why its container waits (`ImagePullBackOff`, `CrashLoopBackOff`), if it does.
        pub waiting: Option<String>,
    }

    /// What reading the progress signal gave.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Signal {
        /// Not read (no pod, or no pod IP).
        NotRead,
        /// The metrics could not be read: why.
        Unreachable(String),
        /// Read, without the progress gauge.
        Absent,
        /// The progress gauge (the oldest series).
        At(Timestamp),
    }

    /// What the controller observed of a connector.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Observed {
        /// The connection string.
        pub secret: Secret,
        /// The connector's pod.
        pub pod: Option<Pod>,
        /// The progress signal.
        pub signal: Signal,
        /// `status.mongodb.lastProgressTime` as read.
        pub previous: Option<Timestamp>,
    }

    /// The verdict, the last progress to report, and when to look again.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Health {
        /// Ready and Degraded.
        pub verdict: Verdict,
        /// `status.mongodb.lastProgressTime`.
        pub last_progress: Option<Timestamp>,
        /// When to read the signal again: [`PROBE_EVERY`], or sooner when the progress
        /// deadline comes first (a second after it).
        pub next: Duration,
    }

    fn ago(now: Timestamp, t: Timestamp) -> String {
        let secs = now.as_second().saturating_sub(t.as_second()).max(0);
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        match (h, m) {
            (0, 0) => format!("{s}s"),
            (0, _) => format!("{m}m{s}s"),
            _ => format!("{h}h{m}m"),
        }
    }

    fn secs(d: Duration) -> i64 {
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
    }

    /// Decide at `now` with `stall` (`stallAfter`).
    pub fn health(o: &Observed, stall: Duration, now: Timestamp) -> Health {
        let last_progress = match (&o.signal, o.previous) {
            (Signal::At(t), Some(p)) => Some((*t).max(p)),
            (Signal::At(t), None) => Some(*t),
            (_, p) => p,
        };
        let stall_s = secs(stall);
        // The time progress is measured from: the signal, else the pod's start.
        let since = match (&o.signal, &o.pod) {
            (Signal::At(t), _) => Some((*t).min(now)),
            (_, Some(p)) => Some(p.started),
            _ => None,
        };
        let next = since
            .map(|s| {
                s.as_second()
                    .saturating_add(stall_s)
                    .saturating_sub(now.as_second())
                    + 1
            })
            .filter(|d| *d > 0)
            .map_or(PROBE_EVERY, |d| {
                PROBE_EVERY.min(Duration::from_secs(u64::try_from(d).unwrap_or(u64::MAX)))
            });
        let stall_text = humantime(stall);
        let verdict = match o.secret {
            Secret::Missing => Verdict::degraded(
                Reason::ConnectionSecretNotFound,
                "the Secret (or key) named in mongodb.connectionStringSecretRef does not exist: the connector cannot start",
            ),
            Secret::Invalid(e) => Verdict::degraded(
                Reason::ConnectionStringInvalid,
                format!(
                    "the connection string in the Secret cannot be used: {}",
                    e.explain()
                ),
            ),
            Secret::Ok => match &o.pod {
                None => Verdict::waiting(
                    Reason::ConnectorNotReady,
                    "the connector's pod does not exist yet",
                ),
                Some(p) if !p.ready => {
                    let why = p
                        .waiting
                        .as_ref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default();
                    let age = now.as_second().saturating_sub(p.started.as_second());
                    let msg = format!(
                        "the connector's pod {} is not ready{why}, started {} ago",
                        p.name,
                        ago(now, p.started)
                    );
                    if age > stall_s {
                        Verdict::degraded(
                            Reason::ConnectorNotReady,
                            format!("{msg}: check its events and logs"),
                        )
                    } else {
                        Verdict::waiting(Reason::ConnectorNotReady, msg)
                    }
                }
                Some(p) => match &o.signal {
                    Signal::NotRead => Verdict::degraded(
                        Reason::ConnectorUnreachable,
                        format!(
                            "the connector's pod {} has no IP address to read its progress signal from",
                            p.name
                        ),
                    ),
                    Signal::Unreachable(why) => Verdict::degraded(
                        Reason::ConnectorUnreachable,
                        format!(
                            "cannot read the connector's progress signal from pod {}: {why}; check that it serves its metrics port and that NetworkPolicies let the operator reach it",
                            p.name
                        ),
                    ),
                    Signal::Absent => {
                        let age = now.as_second().saturating_sub(p.started.as_second());
                        let msg = format!(
                            "the connector has reported no progress ({}) since its pod {} started {} ago",
                            crate::build::bridge::mongodb::PROGRESS_METRIC,
                            p.name,
                            ago(now, p.started)
                        );
                        if age > stall_s {
                            Verdict::degraded(
                                Reason::ConnectorStalled,
                                format!(
                                    "{msg} (stallAfter {stall_text}): check its logs and its connections to MongoDB and the Big Peer"
                                ),
                            )
                        } else {
                            Verdict::waiting(Reason::ConnectorNotReady, msg)
                        }
                    }
                    Signal::At(t) => {
                        let age = now.as_second().saturating_sub(t.as_second());
                        if age > stall_s {
                            Verdict::degraded(
                                Reason::ConnectorStalled,
                                format!(
                                    "no progress since {t} ({} ago, stallAfter {stall_text}) although pod {} is ready: check the connector's logs, MongoDB (change streams need a replica set), the network path to it, and the Big Peer's api pods",
                                    ago(now, *t),
                                    p.name
                                ),
                            )
                        } else {
                            Verdict::ready(
                                Reason::Syncing,
                                format!(
                                    "the connector is ready and made progress {} ago",
                                    ago(now, *t)
                                ),
                            )
                        }
                    }
                },
            },
        };
        Health {
            verdict,
            last_progress,
            next,
        }
    }

    /// The progress signal in a Prometheus text exposition: the oldest sample of
    /// [`PROGRESS_METRIC`](crate::build::bridge::mongodb::PROGRESS_METRIC) (Unix seconds),
    /// `None` when there is none.
    pub fn progress(text: &str) -> Option<Timestamp> {
        let name = crate::build::bridge::mongodb::PROGRESS_METRIC;
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let rest = l.strip_prefix(name)?;
                let rest = match rest.chars().next()? {
                    '{' => &rest[rest.find('}')? + 1..],
                    ' ' | '\t' => rest,
                    _ => return None,
                };
                let v: f64 = rest.split_whitespace().next()?.parse().ok()?;
                v.is_finite().then_some(v)
            })
            .min_by(f64::total_cmp)
            .and_then(|v| {
                #[allow(clippy::cast_possible_truncation)]
                let secs = v.floor() as i64;
                Timestamp::from_second(secs).ok()
            })
    }

    /// `stallAfter` as written back: `5m`, `30s`, `1h0m30s`.
    pub fn humantime(d: Duration) -> String {
        let s = d.as_secs();
        match (s / 3600, s % 3600 / 60, s % 60) {
            (0, 0, s) => format!("{s}s"),
            (0, m, 0) => format!("{m}m"),
            (0, m, s) => format!("{m}m{s}s"),
            (h, m, s) => format!("{h}h{m}m{s}s"),
        }
    }
}

/// The status of a bridge at `now`: its kind, app ID, what consumers need (Kafka) or the
/// connector's progress (MongoDB), and the two conditions (`lastTransitionTime` moves only
/// when a status flips).
pub fn status(
    b: &BigPeerDataBridge,
    app_id: Option<String>,
    kafka: Option<KafkaConsumerInfo>,
    mongodb: Option<MongoConnectorStatus>,
    verdict: &Verdict,
    now: Timestamp,
) -> BigPeerDataBridgeStatus {
    let previous = b.status.clone().unwrap_or_default();
    let generation = b.metadata.generation.unwrap_or_default();
    BigPeerDataBridgeStatus {
        observed_generation: Some(generation),
        kind: Some(
            if b.spec.kafka.is_some() {
                "Kafka"
            } else {
                "MongoDB"
            }
            .into(),
        ),
        app_id,
        kafka,
        mongodb,
        conditions: conditions::merge(
            &previous.conditions,
            &verdict.conditions(),
            generation,
            &Time(now),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::mongodb::{Health, Observed, Pod, Secret, Signal, health};
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn pod(ready: bool, started: i64) -> Option<Pod> {
        Some(Pod {
            name: "sync-mongodb-connector-abc".into(),
            ready,
            started: t(started),
            waiting: None,
        })
    }

    fn obs(pod: Option<Pod>, signal: Signal) -> Observed {
        Observed {
            secret: Secret::Ok,
            pod,
            signal,
            previous: None,
        }
    }

    const STALL: Duration = Duration::from_secs(30);

    #[test]
    fn ready_only_with_a_ready_pod_and_a_fresh_signal() {
        let h = health(&obs(pod(true, 0), Signal::At(t(100))), STALL, t(110));
        assert!(h.verdict.ready.status);
        assert_eq!(h.verdict.ready.reason, Reason::Syncing);
        assert_eq!(h.last_progress, Some(t(100)));
        // Deadline at 130: look again at 131 at the latest.
        assert_eq!(h.next, Duration::from_secs(21));
        // Stale signal: stalled, even though the pod is ready.
        let s = health(&obs(pod(true, 0), Signal::At(t(100))), STALL, t(131));
        assert!(!s.verdict.ready.status && s.verdict.degraded);
        assert_eq!(s.verdict.ready.reason, Reason::ConnectorStalled);
        assert!(
            s.verdict.ready.message.contains("1970-01-01T00:01:40Z"),
            "{}",
            s.verdict.ready.message
        );
        assert!(s.verdict.ready.message.contains("31s ago"));
        assert_eq!(s.next, PROBE_EVERY);
        // A fresh signal but an unready pod.
        let n = health(&obs(pod(false, 100), Signal::At(t(100))), STALL, t(110));
        assert_eq!(n.verdict.ready.reason, Reason::ConnectorNotReady);
        assert!(!n.verdict.degraded);
        let n = health(&obs(pod(false, 0), Signal::At(t(100))), STALL, t(110));
        assert!(n.verdict.degraded, "unready for longer than stallAfter");
    }

    #[test]
    fn secrets_and_reachability_come_first() {
        let mut o = obs(pod(true, 0), Signal::At(t(100)));
        o.secret = Secret::Missing;
        let h = health(&o, STALL, t(100));
        assert_eq!(h.verdict.ready.reason, Reason::ConnectionSecretNotFound);
        assert!(h.verdict.degraded);
        o.secret = Secret::Invalid(crate::build::bridge::connection::Invalid::Scheme);
        assert_eq!(
            health(&o, STALL, t(100)).verdict.ready.reason,
            Reason::ConnectionStringInvalid
        );
        let u = health(
            &obs(
                pod(true, 0),
                Signal::Unreachable("connection refused".into()),
            ),
            STALL,
            t(10),
        );
        assert_eq!(u.verdict.ready.reason, Reason::ConnectorUnreachable);
        assert!(u.verdict.ready.message.contains("connection refused"));
        let none = health(&obs(None, Signal::NotRead), STALL, t(10));
        assert_eq!(none.verdict.ready.reason, Reason::ConnectorNotReady);
        assert!(!none.verdict.degraded);
        // No gauge yet: starting, until stallAfter after the pod started.
        let a = health(&obs(pod(true, 0), Signal::Absent), STALL, t(10));
        assert_eq!(a.verdict.ready.reason, Reason::ConnectorNotReady);
        assert!(!a.verdict.degraded);
        let a = health(&obs(pod(true, 0), Signal::Absent), STALL, t(31));
        assert_eq!(a.verdict.ready.reason, Reason::ConnectorStalled);
    }

    #[test]
    fn the_last_progress_never_goes_back_and_survives_an_unreadable_signal() {
        let mut o = obs(pod(true, 0), Signal::Unreachable("timeout".into()));
        o.previous = Some(t(50));
        assert_eq!(health(&o, STALL, t(60)).last_progress, Some(t(50)));
        o.signal = Signal::At(t(40));
        assert_eq!(health(&o, STALL, t(60)).last_progress, Some(t(50)));
    }

    #[test]
    fn the_oldest_progress_series_counts() {
        use super::mongodb::progress;
        let text = "# HELP mongodb_connector_last_progress_timestamp_seconds x\n# TYPE mongodb_connector_last_progress_timestamp_seconds gauge\nmongodb_connector_last_progress_timestamp_seconds{stream=\"orders\"} 1.7802720005e+09\nmongodb_connector_last_progress_timestamp_seconds{stream=\"tasks\"} 1780271990\nmongodb_connector_last_progress_timestamp_seconds_other 5\nother_metric 1\n";
        assert_eq!(progress(text), Some(t(1_780_271_990)));
        assert_eq!(
            progress("mongodb_connector_last_progress_timestamp_seconds 12.9\n"),
            Some(t(12))
        );
        assert_eq!(progress("other 1\n"), None);
        assert_eq!(
            progress("mongodb_connector_last_progress_timestamp_seconds NaN\n"),
            None
        );
        assert_eq!(progress(""), None);
    }

    #[test]
    fn kafka_waits_reports_and_never_edits_the_kafka() {
        let b = crate::build::bridge::tests::bridge(crate::build::bridge::tests::KAFKA);
        let mut bp = crate::testing::sample();
        bp.metadata.namespace = Some("shop".into());
        let ok = KafkaObserved {
            strimzi: true,
            listeners: Some(vec![(
                "tls".into(),
                "events-kafka-bootstrap.shop.svc:9093".into(),
            )]),
            topic: Some((true, String::new())),
            user: Some((true, String::new())),
            missing_secrets: vec![],
        };
        let (info, v) = kafka(&b, &bp, &ok);
        assert!(v.ready.status, "{v:?}");
        assert_eq!(v.ready.reason, Reason::Streaming);
        assert_eq!(info.topic, "prod-shop-cdc-orders");
        assert_eq!(info.consumer_group_prefix, "prod-shop-cdc-orders");
        assert_eq!(
            info.bootstrap_servers.as_deref(),
            Some("events-kafka-bootstrap.shop.svc:9093")
        );
        assert_eq!(
            info.cluster_ca_secret_name.as_deref(),
            Some("events-cluster-ca-cert")
        );
        assert_eq!(info.user_secret_name.as_deref(), Some("orders-consumer"));
        // Outside the cluster, on a listener the Kafka does not have.
        let mut outside = b.clone();
        let k = outside.spec.kafka.as_mut().unwrap();
        k.consumers.outside_cluster = true;
        k.consumers.listener = Some("external".into());
        let (info, v) = kafka(&outside, &bp, &ok);
        assert_eq!(v.ready.reason, Reason::ConsumerListenerNotFound);
        assert!(v.degraded);
        assert!(
            v.ready.message.contains("name: external") && v.ready.message.contains("it has: tls"),
            "{}",
            v.ready.message
        );
        assert!(info.bootstrap_servers.is_none());
        let mut with = ok.clone();
        with.listeners
            .as_mut()
            .unwrap()
            .push(("external".into(), "1.2.3.4:9094".into()));
        assert_eq!(
            kafka(&outside, &bp, &with).0.bootstrap_servers.as_deref(),
            Some("1.2.3.4:9094")
        );
        // Strimzi has not reported yet, or refuses.
        let mut pending = ok.clone();
        pending.user = None;
        let (_, v) = kafka(&b, &bp, &pending);
        assert_eq!(
            (v.ready.reason, v.degraded),
            (Reason::KafkaResourcePending, false)
        );
        pending.user = Some((false, "bad ACL".into()));
        let (_, v) = kafka(&b, &bp, &pending);
        assert_eq!(
            (v.ready.reason, v.degraded),
            (Reason::KafkaResourceNotReady, true)
        );
        let mut no_kafka = ok.clone();
        no_kafka.listeners = None;
        assert_eq!(
            kafka(&b, &bp, &no_kafka).1.ready.reason,
            Reason::KafkaNotFound
        );
        let mut no_strimzi = ok;
        no_strimzi.strimzi = false;
        assert_eq!(
            kafka(&b, &bp, &no_strimzi).1.ready.reason,
            Reason::StrimziNotInstalled
        );
    }

    #[test]
    fn an_external_kafka_needs_the_bridges_topic_and_secrets() {
        let b = crate::build::bridge::tests::bridge(crate::build::bridge::tests::KAFKA);
        let mut bp = crate::testing::sample();
        bp.spec.transaction_log.strimzi = None;
        bp.spec.transaction_log.external = Some(
            serde_json::from_value(serde_json::json!({
                "bootstrapServers": ["kafka-0.example.com:9093", "kafka-1.example.com:9093"],
                "tls": {"caSecretRef": {"name": "kafka-ca", "key": "ca.crt"}},
            }))
            .unwrap(),
        );
        let (_, v) = kafka(&b, &bp, &KafkaObserved::default());
        assert_eq!(
            (v.ready.reason, v.degraded),
            (Reason::ExternalTopicRequired, true)
        );
        let mut ext = b.clone();
        ext.spec.kafka.as_mut().unwrap().external = Some(
            serde_json::from_value(serde_json::json!({
                "topic": "orders-cdc", "userSecretRef": {"name": "orders-consumer"},
            }))
            .unwrap(),
        );
        let (info, v) = kafka(&ext, &bp, &KafkaObserved::default());
        assert!(v.ready.status);
        assert_eq!(info.topic, "orders-cdc");
        assert_eq!(
            info.bootstrap_servers.as_deref(),
            Some("kafka-0.example.com:9093,kafka-1.example.com:9093")
        );
        assert_eq!(info.cluster_ca_secret_name.as_deref(), Some("kafka-ca"));
        assert_eq!(info.user_secret_name.as_deref(), Some("orders-consumer"));
        let missing = KafkaObserved {
            missing_secrets: vec!["orders-consumer".into()],
            ..Default::default()
        };
        let (_, v) = kafka(&ext, &bp, &missing);
        assert_eq!(
            (v.ready.reason, v.degraded),
            (Reason::KafkaSecretNotFound, true)
        );
        assert!(v.ready.message.contains("orders-consumer"));
    }

    #[test]
    fn a_signal_from_the_future_is_progress_now() {
        let h = health(&obs(pod(true, 0), Signal::At(t(500))), STALL, t(100));
        assert!(h.verdict.ready.status);
        assert!(h.next <= PROBE_EVERY);
    }

    /// One step of a run: the clock moves on, and the connector's heartbeat moves with it
    /// (alive) or not (stalled).
    #[derive(Clone, Debug)]
    struct Step {
        advance: u64,
        beats: bool,
        pod_ready: bool,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            (1u64..120, any::<bool>(), prop::bool::weighted(0.85)).prop_map(
                |(advance, beats, pod_ready)| Step {
                    advance,
                    beats,
                    pod_ready,
                },
            ),
            1..40,
        )
    }

    proptest! {
        /// Over any run of clock and heartbeat steps, whatever `stallAfter`: Ready exactly when
        /// the pod is Ready and the heartbeat is at most stallAfter old; ConnectorStalled
        /// exactly when the pod is Ready and the heartbeat is older; never Ready and Degraded
        /// at once; the next look is never later than a second after the deadline, nor later
        /// than PROBE_EVERY; lastProgressTime only moves forward, to the heartbeat.
        #[test]
        fn health_follows_the_heartbeat(run in steps(), stall_s in 30u64..600, start in 0i64..1_000_000) {
            let stall = Duration::from_secs(stall_s);
            let mut now = start;
            let mut beat = start;
            let mut previous = None;
            for s in run {
                now += i64::try_from(s.advance).unwrap();
                if s.beats { beat = now; }
                let o = Observed {
                    secret: Secret::Ok,
                    pod: Some(Pod { name: "p".into(), ready: s.pod_ready, started: t(start), waiting: None }),
                    signal: Signal::At(t(beat)),
                    previous,
                };
                let Health { verdict, last_progress, next } = health(&o, stall, t(now));
                let fresh = now - beat <= i64::try_from(stall_s).unwrap();
                prop_assert_eq!(verdict.ready.status, s.pod_ready && fresh);
                prop_assert!(!(verdict.ready.status && verdict.degraded));
                prop_assert_eq!(verdict.ready.reason == Reason::ConnectorStalled, s.pod_ready && !fresh);
                if verdict.ready.reason == Reason::ConnectorStalled { prop_assert!(verdict.degraded); }
                prop_assert!(next <= PROBE_EVERY && next >= Duration::from_secs(1));
                if fresh {
                    let deadline = beat + i64::try_from(stall_s).unwrap();
                    prop_assert!(now + i64::try_from(next.as_secs()).unwrap() <= deadline + 1);
                }
                prop_assert_eq!(last_progress, Some(t(beat)));
                prop_assert!(previous.is_none_or(|p| last_progress.unwrap() >= p));
                previous = last_progress;
            }
        }

        /// Stalled is detected on the first look after the deadline, when looks happen when
        /// `next` says, and recovery on the first look after a new heartbeat.
        #[test]
        fn a_stall_is_seen_within_a_second_of_its_deadline(stall_s in 30u64..600, beat in 0i64..1000, recover_after in 1i64..2000) {
            let stall = Duration::from_secs(stall_s);
            let stall_i = i64::try_from(stall_s).unwrap();
            let mut now = beat;
            let o = |now: i64, b: i64| health(&obs(pod(true, 0), Signal::At(t(b))), stall, t(now));
            loop {
                let h = o(now, beat);
                if !h.verdict.ready.status {
                    prop_assert_eq!(h.verdict.ready.reason, Reason::ConnectorStalled);
                    prop_assert!(now > beat + stall_i && now <= beat + stall_i + 1);
                    break;
                }
                now += i64::try_from(h.next.as_secs()).unwrap();
            }
            let later = now + recover_after;
            let h = o(later, later);
            prop_assert!(h.verdict.ready.status && !h.verdict.degraded);
        }
    }
}
