//! The BigPeerDataBridge controller: a short pipeline over the shared machinery of
//! [`crate::controller`], the pure [`crate::build::bridge`] and [`crate::decide::bridge`].
//!
//! observe (the app and its BigPeer from the watch caches) → build (Kafka: KafkaTopic and
//! KafkaUser; MongoDB: the connector's ConfigMap, Deployment and NetworkPolicy, all owned by
//! the bridge) → server-side apply ([`crate::controller::apply`], with the bridge as owner:
//! deleting the bridge removes exactly these) → observe what they became (Strimzi's readiness
//! and the Kafka's listeners; the connector's pod and its own progress signal, read from the
//! pod's metrics port) → decide (Ready, Degraded) → tell (Events) → status and metrics.
//!
//! What the Big Peer servers get of a Kafka bridge (`data-bridges.yaml` in `<bp>-access`) is
//! the BigPeer controller's ([`crate::bigpeer::access`]): a bridge change wakes its BigPeer.
//! The connector's health is read only by the leader (controllers run on the leader only),
//! every [`PROBE_EVERY`] at most, or a second after its progress deadline.

mod probe;

use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::Value;
use tracing::{debug, info_span};

use crate::api::conditions::{self, ConditionType};
use crate::api::reason::Reason;
use crate::api::{BigPeer, BigPeerApp, BigPeerDataBridge, KafkaConsumerInfo, MongoConnectorStatus};
use crate::bigpeer::observe::ready_condition;
use crate::build::DesiredObject;
use crate::build::bridge::{self as build, Owner, connection, kafka as kafka_build, mongodb};
use crate::controller::cache::{Changes, Reader, Stores};
use crate::controller::error::{Context as _, Error, Result};
use crate::controller::events::publish;
use crate::controller::{Context, apply, reconcile as around, status as status_writer};
use crate::decide::bridge::mongodb::{self as health, Signal};
use crate::decide::bridge::{self as decide, KafkaObserved, Target, Verdict};
use crate::decide::observed::Integrations;
use crate::telemetry::metrics::DataBridgeState;
use crate::thirdparty;

/// Periodic resync of a settled Kafka bridge (free when nothing changed).
const IDLE: Duration = Duration::from_secs(300);
/// Waiting on something outside the watches (Strimzi's status, an add-on, a Secret).
const WAITING: Duration = Duration::from_secs(15);

/// The bridge controller's context: the shared one, and the operator's namespace (whose pods
/// read the connectors' metrics, so their NetworkPolicies let it in).
pub struct BridgeContext {
    /// The shared context.
    pub ctx: Arc<Context>,
    /// The operator's namespace (`POD_NAMESPACE`), when known.
    pub operator_namespace: Option<String>,
}

/// Reconcile one bridge (entry point for the controller).
pub async fn reconcile(b: Arc<BigPeerDataBridge>, c: Arc<BridgeContext>) -> Result<Action> {
    let span = info_span!(
        "reconcile",
        bigpeerdatabridge = %around::key(b.as_ref()),
        generation = b.metadata.generation.unwrap_or_default(),
        trace_id = tracing::field::Empty,
    );
    around::timed(&c.ctx, b.as_ref(), span, sync(&b, &c)).await
}

/// Retry with backoff (see [`crate::controller::backoff`]) and a `ReconcileFailed` Event.
pub fn error_policy(b: Arc<BigPeerDataBridge>, err: &Error, c: Arc<BridgeContext>) -> Action {
    around::retry(b, err, &c.ctx)
}

/// The bridge's app and BigPeer.
async fn target(
    reader: &Reader<'_>,
    b: &BigPeerDataBridge,
    ns: &str,
) -> Result<(Target, Option<BigPeerApp>, Option<BigPeer>)> {
    let app_name = &b.spec.app_ref.name;
    let Some(app) = reader.app(ns, app_name).await? else {
        return Ok((Target::AppMissing(app_name.clone()), None, None));
    };
    let Some(app_id) = app.spec.app_id.clone() else {
        return Ok((Target::AppIdPending(app_name.clone()), Some(app), None));
    };
    let bp_name = app.spec.big_peer_ref.name.clone();
    let Some(bp) = reader.bigpeer(ns, &bp_name).await? else {
        return Ok((Target::BigPeerMissing(bp_name), Some(app), None));
    };
    Ok((
        Target::Found {
            big_peer: bp_name,
            app_id,
        },
        Some(app),
        Some(bp),
    ))
}

/// What one kind of bridge built and decided.
struct Outcome {
    verdict: Verdict,
    kafka: Option<KafkaConsumerInfo>,
    mongodb: Option<MongoConnectorStatus>,
    last_progress: Option<Timestamp>,
    after: Duration,
}

async fn sync(b: &BigPeerDataBridge, c: &BridgeContext) -> Result<Action> {
    let ctx = &c.ctx;
    let ns = b
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let name = b.name_any();
    if b.metadata.deletion_timestamp.is_some() {
        // Its objects go with it (owner references); nothing to do.
        return Ok(Action::await_change());
    }
    let stores = ctx.caches.serving(&ns);
    let reader = match &stores {
        Some(s) => Reader::cached(&ctx.client, s),
        None => Reader::api(&ctx.client),
    };
    let (target, _, bp) = target(&reader, b, &ns).await?;
    let now = Timestamp::now();
    let outcome = match (&target, bp.as_ref()) {
        (
            Target::Found {
                big_peer, app_id, ..
            },
            Some(bp),
        ) => {
            let owner = Owner {
                bridge: b,
                big_peer,
                app_id,
            };
            let integrations = ctx.integrations.get(&ctx.client).await?;
            if b.spec.kafka.is_some() {
                kafka(ctx, &reader, &owner, bp, integrations).await?
            } else {
                mongo(c, &reader, &owner, bp, integrations.openshift, now).await?
            }
        }
        _ => Outcome {
            verdict: target.waiting().expect("not found"),
            kafka: None,
            mongodb: None,
            last_progress: None,
            after: IDLE,
        },
    };

    let previous = b.status.clone().unwrap_or_default();
    tell(ctx, b, &previous, &outcome.verdict).await;
    let app_id = match &target {
        Target::Found { app_id, .. } => Some(app_id.clone()),
        _ => previous.app_id.clone(),
    };
    let status = decide::status(
        b,
        app_id,
        outcome.kafka,
        outcome.mongodb,
        &outcome.verdict,
        now,
    );
    let api: Api<BigPeerDataBridge> = Api::namespaced(ctx.client.clone(), &ns);
    status_writer::write(&api, b, b.status.as_ref(), &status).await?;
    ctx.metrics.set_data_bridge(
        &ns,
        &name,
        DataBridgeState {
            kind: status.kind.clone().unwrap_or_default(),
            ready: outcome.verdict.ready.status,
            degraded: outcome
                .verdict
                .degraded
                .then(|| outcome.verdict.ready.reason.as_str().to_string()),
            last_progress: outcome.last_progress.map(|t| t.as_second()),
        },
    );
    Ok(Action::requeue(outcome.after))
}

/// Apply the bridge's objects (and prune those of its kinds no longer desired).
async fn apply_all(
    ctx: &Context,
    reader: &Reader<'_>,
    b: &BigPeerDataBridge,
    strimzi: bool,
    desired: &[DesiredObject],
) -> Result<()> {
    // Only the kinds a bridge makes are inventoried: the built-in ones from the caches, the
    // Strimzi ones (a LIST each) only for a Kafka bridge on Strimzi.
    let kinds = Integrations {
        strimzi,
        ..Integrations::default()
    };
    apply::apply_and_prune(
        reader,
        &ctx.last_applied,
        b,
        &build::selector(&b.name_any()),
        kinds,
        desired,
    )
    .await?;
    Ok(())
}

async fn get_dynamic(
    client: &Client,
    ns: &str,
    ar: &kube::core::ApiResource,
    name: &str,
) -> Result<Option<DynamicObject>> {
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, ar)
        .get_opt(name)
        .await
        .ctx(|| format!("reading {} {name}", ar.kind))
}

/// A Kafka bridge: its Strimzi objects (or, with an external Kafka, the check of its Secrets)
/// and the connection details.
async fn kafka(
    ctx: &Context,
    reader: &Reader<'_>,
    owner: &Owner<'_>,
    bp: &BigPeer,
    integrations: Integrations,
) -> Result<Outcome> {
    let b = owner.bridge;
    let ns = owner.namespace();
    let k = b.spec.kafka.clone().unwrap_or_default();
    let mut o = KafkaObserved {
        strimzi: integrations.strimzi,
        ..Default::default()
    };
    let mut desired = vec![];
    let tl = &bp.spec.transaction_log;
    if let (Some(strimzi), true) = (&tl.strimzi, integrations.strimzi) {
        desired.push(kafka_build::kafka_topic(
            owner,
            &k,
            strimzi,
            tl.topic.replicas,
        ));
        desired.push(kafka_build::kafka_user_object(owner, &k, strimzi));
        apply_all(ctx, reader, b, true, &desired).await?;
        let kafka = get_dynamic(
            &ctx.client,
            &ns,
            &thirdparty::kafka(),
            &strimzi.kafka_ref.name,
        )
        .await?;
        o.listeners = kafka.map(|kf| listeners(&kf));
        let topic = get_dynamic(
            &ctx.client,
            &ns,
            &thirdparty::kafka_topic(),
            &build::kafka_topic_object(&owner.name()),
        )
        .await?;
        o.topic = topic.as_ref().and_then(ready_condition);
        let user = get_dynamic(
            &ctx.client,
            &ns,
            &thirdparty::kafka_user(),
            &build::kafka_user(&owner.name()),
        )
        .await?;
        o.user = user.as_ref().and_then(ready_condition);
    } else if tl.external.is_some() {
        let (user, ca) = decide::external_secrets(b, bp);
        for s in [user, ca].into_iter().flatten() {
            if !reader
                .secret_exists(&ns, &s, &format!("Secret {s}"))
                .await?
            {
                o.missing_secrets.push(s);
            }
        }
    }
    let (info, verdict) = decide::kafka(b, bp, &o);
    let after = if verdict.ready.status { IDLE } else { WAITING };
    Ok(Outcome {
        verdict,
        kafka: Some(info),
        mongodb: None,
        last_progress: None,
        after,
    })
}

/// `status.listeners` of a Strimzi Kafka: (name, bootstrapServers).
fn listeners(kafka: &DynamicObject) -> Vec<(String, String)> {
    kafka
        .data
        .pointer("/status/listeners")
        .and_then(Value::as_array)
        .map(|ls| {
            ls.iter()
                .filter_map(|l| {
                    Some((
                        l.get("name")?.as_str()?.to_string(),
                        l.get("bootstrapServers")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A MongoDB bridge: the connector's objects, its pod and its own progress signal.
async fn mongo(
    c: &BridgeContext,
    reader: &Reader<'_>,
    owner: &Owner<'_>,
    bp: &BigPeer,
    openshift: bool,
    now: Timestamp,
) -> Result<Outcome> {
    let ctx = &c.ctx;
    let b = owner.bridge;
    let ns = owner.namespace();
    let m = b
        .spec
        .mongodb
        .clone()
        .ok_or(Error::MissingField("spec.mongodb"))?;
    let r = &m.connection_string_secret_ref;
    // The connection string is read only to find the ports the NetworkPolicy opens; it is
    // never logged, stored or copied (the pod reads it through secretKeyRef).
    let value = reader
        .secret_value(&ctx.secret_data, &ns, &r.name, &r.key)
        .await?;
    let (secret, destinations) = match value.as_deref().map(connection::parse) {
        None => (health::Secret::Missing, None),
        Some(Err(e)) => (health::Secret::Invalid(e), None),
        Some(Ok(d)) => (health::Secret::Ok, Some(d)),
    };
    let rendered = mongodb::render(owner, &m);
    let mut desired = vec![DesiredObject::typed(&mongodb::config_map(owner, &rendered))];
    // Traffic policy before the workload; without a usable connection string, the policy
    // keeps DNS and the Big Peer only.
    desired.push(DesiredObject::typed(&mongodb::network_policy(
        owner,
        bp,
        destinations.as_ref().unwrap_or(&Default::default()),
        c.operator_namespace.as_deref(),
    )));
    desired.push(DesiredObject::typed(&mongodb::deployment(
        owner,
        &m,
        ctx.images.mongo_connector(&bp.spec),
        &rendered,
        openshift,
    )));
    apply_all(ctx, reader, b, false, &desired).await?;

    let pods = reader.connector_pods(&ns, &owner.name()).await?;
    let pod = newest_live(&pods);
    let signal = match pod.and_then(|p| p.status.as_ref()?.pod_ip.clone()) {
        Some(ip) => match probe::metrics(&ip, mongodb::METRICS_PORT, mongodb::METRICS_PATH).await {
            Ok(text) => health::progress(&text).map_or(Signal::Absent, Signal::At),
            Err(why) => Signal::Unreachable(why),
        },
        None => Signal::NotRead,
    };
    let previous = b
        .status
        .as_ref()
        .and_then(|s| s.mongodb.as_ref())
        .and_then(|m| m.last_progress_time.as_ref())
        .map(|t| t.0);
    let observed = health::Observed {
        secret,
        pod: pod.map(pod_state),
        signal,
        previous,
    };
    let h = health::health(&observed, decide::stall_after(b), now);
    debug!(bridge = %owner.name(), signal = ?observed.signal, ready = h.verdict.ready.status, "connector health");
    Ok(Outcome {
        verdict: h.verdict,
        kafka: None,
        mongodb: Some(MongoConnectorStatus {
            deployment: Some(build::connector(&owner.name())),
            last_progress_time: h.last_progress.map(Time),
        }),
        last_progress: h.last_progress,
        after: h.next,
    })
}

/// The newest pod that is not being deleted (a `Recreate` rollout has at most one).
fn newest_live(pods: &[Pod]) -> Option<&Pod> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn pod_state(p: &Pod) -> health::Pod {
    let status = p.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        });
    health::Pod {
        name: p.name_any(),
        ready,
        started: p
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or_else(Timestamp::now, |t| t.0),
        waiting,
    }
}

/// Events: a Warning when Degraded turns True or changes its reason (its reason is the
/// Event's), and `ConnectorRecovered` when a MongoDB bridge is Ready again after it was
/// Degraded.
async fn tell(
    ctx: &Context,
    b: &BigPeerDataBridge,
    previous: &crate::api::BigPeerDataBridgeStatus,
    v: &Verdict,
) {
    let before = conditions::find(&previous.conditions, ConditionType::Degraded);
    let was_degraded = before.is_some_and(|c| c.status == "True");
    if v.degraded {
        let same = before.is_some_and(|c| {
            c.status == "True"
                && c.reason == v.ready.reason.as_str()
                && c.message == v.ready.message
        });
        if !same && v.ready.reason.event().is_some() {
            publish(
                &ctx.recorder,
                b,
                v.ready.reason,
                "Reconcile",
                v.ready.message.clone(),
            )
            .await;
        }
    } else if was_degraded && v.ready.status && b.spec.mongodb.is_some() {
        publish(
            &ctx.recorder,
            b,
            Reason::ConnectorRecovered,
            "Reconcile",
            v.ready.message.clone(),
        )
        .await;
    }
}

/// What wakes the bridge controller.
pub struct Triggers {
    /// Bridges.
    pub bridges: Changes<BigPeerDataBridge>,
    /// Apps: the bridges naming them.
    pub apps: Changes<BigPeerApp>,
    /// BigPeers: the bridges of their apps.
    pub bigpeers: Changes<BigPeer>,
    /// Secrets' metadata: the bridges whose connection string or Kafka credentials they hold.
    pub secrets: Changes<PartialObjectMeta<Secret>>,
    /// Owned Deployments (the connectors').
    pub deployments: Changes<k8s_openapi::api::apps::v1::Deployment>,
    /// Owned ConfigMaps.
    pub config_maps: Changes<PartialObjectMeta<k8s_openapi::api::core::v1::ConfigMap>>,
    /// Owned NetworkPolicies.
    pub network_policies:
        Changes<PartialObjectMeta<k8s_openapi::api::networking::v1::NetworkPolicy>>,
    /// The connectors' pods.
    pub pods: Changes<Pod>,
}

/// Whether bridge `b` reads Secret `name`.
fn names_secret(b: &BigPeerDataBridge, name: &str) -> bool {
    let mongo = b
        .spec
        .mongodb
        .as_ref()
        .is_some_and(|m| m.connection_string_secret_ref.name == name);
    let kafka = b
        .spec
        .kafka
        .as_ref()
        .and_then(|k| k.external.as_ref())
        .is_some_and(|e| {
            e.user_secret_ref.name == name
                || e.cluster_ca_secret_ref
                    .as_ref()
                    .is_some_and(|r| r.name == name)
        });
    mongo || kafka
}

/// Watches of the Strimzi kinds a Kafka bridge depends on, as triggers only (reads are GETs:
/// the kinds may not be installed, and a missing kind must not hold back the caches): the
/// bridges' own KafkaTopics and KafkaUsers (by label), and the Kafkas (their listeners).
fn strimzi_watch(
    client: &Client,
    ns: Option<&str>,
    ar: kube::core::ApiResource,
    labels: Option<&str>,
) -> Changes<DynamicObject> {
    let api: Api<DynamicObject> = match ns {
        Some(n) => Api::namespaced_with(client.clone(), n, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let cfg = match labels {
        Some(l) => watcher::Config::default().labels(l),
        None => watcher::Config::default(),
    };
    Box::pin(
        watcher(api, cfg)
            .default_backoff()
            .touched_objects()
            .filter(|r| futures::future::ready(r.is_ok())),
    )
}

/// The bridge controller of one watched namespace, until `shutdown` resolves.
pub fn controller(
    c: BridgeContext,
    stores: Stores,
    t: Triggers,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send {
    let ns = stores.namespace.clone();
    let client = c.ctx.client.clone();
    let (for_apps, for_bps, for_secrets, for_kafkas) = (
        stores.clone(),
        stores.clone(),
        stores.clone(),
        stores.clone(),
    );
    let refs = |bs: Vec<Arc<BigPeerDataBridge>>| {
        bs.iter()
            .map(|b| ObjectRef::from_obj(b.as_ref()))
            .collect::<Vec<_>>()
    };
    let owned = format!("app.kubernetes.io/name={}", build::APP_NAME);
    let topics = strimzi_watch(
        &client,
        ns.as_deref(),
        thirdparty::kafka_topic(),
        Some(&owned),
    );
    let users = strimzi_watch(
        &client,
        ns.as_deref(),
        thirdparty::kafka_user(),
        Some(&owned),
    );
    let kafkas = strimzi_watch(&client, ns.as_deref(), thirdparty::kafka(), None);
    // The bridge of a KafkaTopic or KafkaUser (its label), the Kafka bridges of a Kafka's
    // namespace.
    let by_label = |o: DynamicObject| {
        let found = o
            .labels()
            .get(build::DATA_BRIDGE_LABEL)
            .cloned()
            .zip(o.namespace());
        futures::stream::iter(
            found.map(|(b, ns)| ObjectRef::<BigPeerDataBridge>::new(&b).within(&ns)),
        )
    };
    let of_kafka = move |k: DynamicObject| {
        let mut bs = for_kafkas.bridges_in(&k.namespace().unwrap_or_default());
        bs.retain(|b| b.spec.kafka.is_some());
        futures::stream::iter(
            bs.iter()
                .map(|b| ObjectRef::from_obj(b.as_ref()))
                .collect::<Vec<_>>(),
        )
    };
    let strimzi = futures::stream::select(
        futures::stream::select(
            topics
                .filter_map(|r| futures::future::ready(r.ok()))
                .flat_map(by_label),
            users
                .filter_map(|r| futures::future::ready(r.ok()))
                .flat_map(by_label),
        ),
        kafkas
            .filter_map(|r| futures::future::ready(r.ok()))
            .flat_map(of_kafka),
    );
    Controller::for_stream(t.bridges, stores.bridges.clone())
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                .debounce(Duration::from_millis(300)),
        )
        .owns_stream(t.deployments)
        .owns_stream(t.config_maps)
        .owns_stream(t.network_policies)
        .watches_stream(t.pods, |p| {
            let b = p.labels().get(crate::build::labels::INSTANCE)?.clone();
            Some(ObjectRef::<BigPeerDataBridge>::new(&b).within(&p.namespace()?))
        })
        .watches_stream(t.apps, move |app| {
            refs(for_apps.bridges_of(&app.namespace().unwrap_or_default(), &app.name_any()))
        })
        .watches_stream(t.bigpeers, move |bp| {
            let ns = bp.namespace().unwrap_or_default();
            let apps = for_bps.apps_of(&ns, &bp.name_any());
            apps.iter()
                .flat_map(|a| for_bps.bridges_of(&ns, &a.name_any()))
                .map(|b| ObjectRef::from_obj(b.as_ref()))
                .collect::<Vec<_>>()
        })
        .watches_stream(t.secrets, move |s| {
            let name = s.name_any();
            let mut bs = for_secrets.bridges_in(&s.namespace().unwrap_or_default());
            bs.retain(|b| names_secret(b, &name));
            bs.iter()
                .map(|b| ObjectRef::from_obj(b.as_ref()))
                .collect::<Vec<_>>()
        })
        .reconcile_on(strimzi)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, Arc::new(c))
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        })
}
