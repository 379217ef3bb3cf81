//! One admission review, the I/O around [`super::decide`] and [`super::apps`]. A BigPeer: build
//! its objects, have the API server validate each with a server-side dry run (in parallel, as
//! the operator's field manager), read the other BigPeers for the rules across them, and answer.
//! A BigPeerApp: read its BigPeer (a warning when missing) and, when it sets an app ID, the apps
//! of its namespace. A BigPeerApiKey: check its expiry against the clock and read its app (a
//! warning when missing). Each review makes at most two reads for an app or a key, in parallel;
//! an update that leaves the spec as it was makes none. A BigPeerReplication or
//! BigPeerDataBridge: its app and the app's BigPeer (warnings when missing; a bridge's
//! `kafka.external` checked against the BigPeer's transaction log), the Secrets and ConfigMaps
//! it names (warnings), with the decisions of [`super::links`]. All four share one preamble
//! ([`begin`]).

use std::time::Instant;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::{Client, ResourceExt};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::apps;
use super::decide::{self, Cause};
use super::links::{self, Found};
use crate::api::{
    BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication, Component,
};
use crate::build::{self, DesiredObject, names};
use crate::controller::integrations::IntegrationCache;
use crate::facts::MANAGER;
use crate::images::RelatedImages;
use crate::telemetry::metrics::Metrics;

/// Uid given to a BigPeer that has none yet, so that owner references can be built.
const PLACEHOLDER_UID: &str = "00000000-0000-0000-0000-000000000000";

/// What the webhook needs: a client (the operator's identity), images, add-on discovery, the
/// namespaces it serves and the metrics.
pub struct Webhook {
    /// The operator's client.
    pub client: Client,
    /// Image overrides, as the reconcile uses them.
    pub images: RelatedImages,
    /// Add-on discovery (cached like the controller's).
    pub integrations: IntegrationCache,
    /// Namespaces whose BigPeers count for the rules across BigPeers (`None`: all).
    pub namespaces: Vec<Option<String>>,
    /// Metrics.
    pub metrics: std::sync::Arc<Metrics>,
}

impl Webhook {
    /// Answer one AdmissionReview (the body the API server posts).
    pub async fn review(
        &self,
        body: AdmissionReview<DynamicObject>,
    ) -> AdmissionReview<DynamicObject> {
        let started = Instant::now();
        let req: AdmissionRequest<DynamicObject> = match body.try_into() {
            Ok(r) => r,
            Err(e) => {
                self.metrics
                    .admission("", "", "error", started.elapsed().as_secs_f64(), &[]);
                return AdmissionResponse::invalid(e.to_string()).into_review();
            }
        };
        let kind = req.kind.kind.clone();
        let operation = match req.operation {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        };
        let base = AdmissionResponse::from(&req);
        let verdict = match kind.as_str() {
            "BigPeerApp" => self.app(&req).await,
            "BigPeerApiKey" => self.api_key(&req).await,
            "BigPeerReplication" => self.replication(&req).await,
            "BigPeerDataBridge" => self.data_bridge(&req).await,
            _ => self.bigpeer(&req).await,
        };
        let verdict = match verdict {
            Ok(Some(v)) => v,
            Ok(None) => {
                self.metrics.admission(
                    &kind,
                    operation,
                    "allowed",
                    started.elapsed().as_secs_f64(),
                    &[],
                );
                return base.into_review();
            }
            Err(e) => {
                self.metrics.admission(
                    &kind,
                    operation,
                    "error",
                    started.elapsed().as_secs_f64(),
                    &[],
                );
                return base
                    .deny(decide::redact(&format!("the {kind} cannot be read: {e}")))
                    .into_review();
            }
        };
        let Verdict {
            name,
            causes,
            warnings,
        } = verdict;
        let mut resp = decide::response(base, &kind, &name, &causes);
        if !warnings.is_empty() {
            resp.warnings = Some(warnings);
        }
        let refusals: Vec<&str> = causes.iter().map(|c| c.reason.as_str()).collect();
        let decision = if resp.allowed { "allowed" } else { "refused" };
        let elapsed = started.elapsed();
        self.metrics
            .admission(&kind, operation, decision, elapsed.as_secs_f64(), &refusals);
        debug!(
            kind,
            object = %format!("{}/{name}", req.namespace.as_deref().unwrap_or_default()),
            operation,
            decision,
            warnings = resp.warnings.as_ref().map_or(0, Vec::len),
            elapsed_ms = elapsed.as_millis(),
            "admission review"
        );
        resp.into_review()
    }

    /// A BigPeer's review: [`Webhook::check`].
    async fn bigpeer(
        &self,
        req: &AdmissionRequest<DynamicObject>,
    ) -> Result<Option<Verdict>, String> {
        let (Some(new), old) = (
            parse::<BigPeer>(&req.object)?,
            parse::<BigPeer>(&req.old_object)?,
        ) else {
            return Ok(None);
        };
        let name = new.name_any();
        let causes = self
            .check(new, req.namespace.as_deref(), old.as_ref())
            .await;
        Ok(Some(Verdict {
            name,
            causes,
            warnings: vec![],
        }))
    }

    /// A BigPeerApp's review: its app ID unique among the apps of its BigPeer (when it sets
    /// one), and a warning when it is created for a BigPeer that does not exist.
    async fn app(&self, req: &AdmissionRequest<DynamicObject>) -> Result<Option<Verdict>, String> {
        let Under {
            new,
            old,
            ns,
            mut verdict,
        } = match begin::<BigPeerApp>(req)? {
            Ok(u) => u,
            Err(done) => return Ok(done),
        };
        let read_bigpeer = async {
            if old.is_some() {
                return None;
            }
            self.exists::<BigPeer>(&ns, &new.spec.big_peer_ref.name)
                .await
        };
        let read_apps = async {
            if !apps::needs_other_apps(&new, old.as_ref()) {
                return vec![];
            }
            match Api::<BigPeerApp>::namespaced(self.client.clone(), &ns)
                .list(&ListParams::default())
                .await
            {
                Ok(l) => l.items,
                Err(e) => {
                    warn!(error = %e, namespace = %ns, "admission: listing BigPeerApps; app ID uniqueness not checked");
                    vec![]
                }
            }
        };
        let (bigpeer, others) = futures::join!(read_bigpeer, read_apps);
        verdict
            .causes
            .extend(apps::app_id_in_use(&new, old.as_ref(), &others));
        if bigpeer == Some(false) {
            verdict.warnings.push(apps::missing_big_peer(&new));
        }
        Ok(Some(verdict))
    }

    /// A BigPeerApiKey's review: its expiry in the future when created or changed, and a
    /// warning when it is created for an app that does not exist.
    async fn api_key(
        &self,
        req: &AdmissionRequest<DynamicObject>,
    ) -> Result<Option<Verdict>, String> {
        let Under {
            new,
            old,
            ns,
            mut verdict,
        } = match begin::<BigPeerApiKey>(req)? {
            Ok(u) => u,
            Err(done) => return Ok(done),
        };
        verdict.causes.extend(apps::expires_at_passed(
            &new,
            old.as_ref(),
            Timestamp::now(),
        ));
        if old.is_none()
            && self.exists::<BigPeerApp>(&ns, &new.spec.app_ref.name).await == Some(false)
        {
            verdict.warnings.push(apps::missing_app(&new));
        }
        Ok(Some(verdict))
    }

    /// A BigPeerReplication's review: never its own endpoint in `connections` (refused);
    /// warnings for a missing app or BigPeer (created only) and trusted CA sources.
    async fn replication(
        &self,
        req: &AdmissionRequest<DynamicObject>,
    ) -> Result<Option<Verdict>, String> {
        let Under {
            new,
            old,
            ns,
            mut verdict,
        } = match begin::<BigPeerReplication>(req)? {
            Ok(u) => u,
            Err(done) => return Ok(done),
        };
        verdict
            .causes
            .extend(links::connects_to_itself(&new, old.as_ref()));
        let read_links = async {
            if old.is_some() {
                return (vec![], None);
            }
            self.app_and_big_peer("replication", &ns, &new.spec.app_ref.name)
                .await
        };
        let read_cas = async {
            if old
                .as_ref()
                .is_some_and(|o| o.spec.trusted_cas == new.spec.trusted_cas)
            {
                return vec![];
            }
            let reads = new.spec.trusted_cas.iter().map(|ca| async {
                match (&ca.secret_ref, &ca.config_map_ref) {
                    (Some(s), _) => self.found::<Secret>(&ns, &s.name, &s.key).await,
                    (None, Some(c)) => self.found::<ConfigMap>(&ns, &c.name, &c.key).await,
                    (None, None) => None,
                }
            });
            join_all(reads).await
        };
        let ((warnings, _), found) = futures::join!(read_links, read_cas);
        verdict.warnings.extend(warnings);
        verdict
            .warnings
            .extend(links::trusted_ca_warnings(&new, old.as_ref(), &found));
        Ok(Some(verdict))
    }

    /// A BigPeerDataBridge's review: `kafka.external` as its BigPeer's transaction log needs
    /// (refused, when the BigPeer exists); warnings for a missing app or BigPeer (created
    /// only) and MongoDB connection Secret.
    async fn data_bridge(
        &self,
        req: &AdmissionRequest<DynamicObject>,
    ) -> Result<Option<Verdict>, String> {
        let Under {
            new,
            old,
            ns,
            mut verdict,
        } = match begin::<BigPeerDataBridge>(req)? {
            Ok(u) => u,
            Err(done) => return Ok(done),
        };
        let kafka_changed =
            new.spec.kafka.is_some() && old.as_ref().is_none_or(|o| o.spec.kafka != new.spec.kafka);
        let read_links = async {
            if old.is_some() && !kafka_changed {
                return (vec![], None);
            }
            self.app_and_big_peer("data bridge", &ns, &new.spec.app_ref.name)
                .await
        };
        let read_secret = async {
            let r = &new.spec.mongodb.as_ref()?.connection_string_secret_ref;
            self.found::<Secret>(&ns, &r.name, &r.key).await
        };
        let ((warnings, big_peer), found) = futures::join!(read_links, read_secret);
        if old.is_none() {
            verdict.warnings.extend(warnings);
        }
        match &big_peer {
            Some(Ok(bp)) => verdict
                .causes
                .extend(links::kafka_external(&new, old.as_ref(), bp)),
            Some(Err(name)) if kafka_changed => verdict
                .warnings
                .extend(links::kafka_external_unchecked(&new, name)),
            _ => {}
        }
        verdict
            .warnings
            .extend(links::connection_secret_warning(&new, old.as_ref(), found));
        Ok(Some(verdict))
    }

    /// The app `app` of `ns` and its BigPeer: the warnings for what is missing, and the
    /// BigPeer (`Ok`), or the name of a BigPeer that does not exist (`Err`); `None` when the
    /// app is missing or either cannot be read (then nothing more is said).
    async fn app_and_big_peer(
        &self,
        kind: &str,
        ns: &str,
        app: &str,
    ) -> (Vec<String>, Option<Result<BigPeer, String>>) {
        let found = match Api::<BigPeerApp>::namespaced(self.client.clone(), ns)
            .get_opt(app)
            .await
        {
            Ok(Some(a)) => a,
            Ok(None) => return (vec![links::missing_app(kind, app, ns)], None),
            Err(e) => {
                warn!(error = %e, namespace = ns, app, "admission: reading the app referred to; not checked");
                return (vec![], None);
            }
        };
        let bp = &found.spec.big_peer_ref.name;
        match Api::<BigPeer>::namespaced(self.client.clone(), ns)
            .get_opt(bp)
            .await
        {
            Ok(Some(b)) => (vec![], Some(Ok(b))),
            Ok(None) => (
                vec![links::missing_big_peer(kind, app, bp, ns)],
                Some(Err(bp.clone())),
            ),
            Err(e) => {
                warn!(error = %e, namespace = ns, big_peer = %bp, "admission: reading the BigPeer referred to; not checked");
                (vec![], None)
            }
        }
    }

    /// What is found of key `key` of the Secret or ConfigMap `ns/name`; `None` when it cannot
    /// be read (nothing is said then). Values are never kept or logged.
    async fn found<K>(&self, ns: &str, name: &str, key: &str) -> Option<Found>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Keys,
    {
        match Api::<K>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
        {
            Ok(o) => Some(Found::of(o.as_ref().map(Keys::keys), key)),
            Err(e) => {
                warn!(error = %e, kind = %K::kind(&()), namespace = ns, name, "admission: reading the object referred to; no warning given");
                None
            }
        }
    }

    /// Whether `ns/name` exists; `None` when it cannot be read (then nothing is said).
    async fn exists<K>(&self, ns: &str, name: &str) -> Option<bool>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        match Api::<K>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
        {
            Ok(o) => Some(o.is_some()),
            Err(e) => {
                warn!(error = %e, kind = %K::kind(&()), namespace = ns, name, "admission: reading the object referred to; no warning given");
                None
            }
        }
    }

    /// Everything wrong with `bp` (empty: admit it). An update that leaves the spec as it was
    /// (finalizers, labels, annotations, deletion) is never refused, so that a BigPeer stored
    /// before the webhook existed can still be paused, labelled and deleted.
    pub async fn check(
        &self,
        mut bp: BigPeer,
        namespace: Option<&str>,
        old: Option<&BigPeer>,
    ) -> Vec<Cause> {
        if let Some(old) = old
            && (old.spec == bp.spec || bp.metadata.deletion_timestamp.is_some())
        {
            return vec![];
        }
        if bp.metadata.namespace.is_none() {
            bp.metadata.namespace = namespace.map(str::to_string);
        }
        let Some(ns) = bp.namespace() else {
            return vec![];
        };
        if bp.metadata.uid.is_none() {
            bp.metadata.uid = Some(PLACEHOLDER_UID.into());
        }
        let mut causes = vec![];
        let others = self.bigpeers().await;
        causes.extend(decide::hostname_in_use(&bp, &others));
        causes.extend(decide::topic_in_use(&bp, &others));
        causes.extend(self.dry_run(&bp, &ns).await);
        causes
    }

    /// The objects `bp` builds (as a reconcile would), each validated by the API server.
    pub async fn dry_run(&self, bp: &BigPeer, ns: &str) -> Vec<Cause> {
        let objects = self.objects(bp, ns).await;
        let checks = objects.iter().map(|o| self.dry_run_one(bp, ns, o));
        join_all(checks).await.into_iter().flatten().collect()
    }

    /// What the reconcile would build for `bp` now.
    pub async fn objects(&self, bp: &BigPeer, ns: &str) -> Vec<DesiredObject> {
        let integrations = match self.integrations.get(&self.client).await {
            Ok(i) => i,
            Err(e) => {
                warn!(error = %e, "admission: add-on discovery failed; checking core kinds only");
                Default::default()
            }
        };
        let sts_name = names::component(&bp.name_any(), Component::Store);
        let statefulset = Api::<StatefulSet>::namespaced(self.client.clone(), ns)
            .get_opt(&sts_name)
            .await
            .unwrap_or_else(|e| {
                debug!(error = %e, "admission: reading the store StatefulSet");
                None
            });
        let inputs = decide::inputs(
            bp,
            &self.images,
            integrations,
            statefulset,
            Timestamp::now(),
        );
        build::desired(bp, &inputs)
    }

    async fn dry_run_one(&self, bp: &BigPeer, ns: &str, obj: &DesiredObject) -> Vec<Cause> {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &obj.resource);
        let params = PatchParams::apply(MANAGER).force().dry_run();
        match api
            .patch(&obj.name, &params, &Patch::Apply(&obj.body))
            .await
        {
            Ok(_) => vec![],
            // Refused as invalid (422), or a value that does not even decode (400, or 500
            // "unable to convert" for a quantity such as `abc`).
            Err(kube::Error::Api(s)) if decide::is_refusal(&s) => decide::refused(bp, obj, &s),
            // The kind is not installed (or the namespace is going away): nothing to check.
            Err(kube::Error::Api(s)) if s.code == 404 => vec![],
            Err(e) => {
                // Not the spec's fault (permission, an overloaded API server): never a refusal.
                warn!(object = %obj.key(), error = %e, "admission: dry run failed; not checked");
                vec![]
            }
        }
    }

    /// The BigPeers of the namespaces served; none when they cannot be read.
    async fn bigpeers(&self) -> Vec<BigPeer> {
        let mut out = vec![];
        for ns in &self.namespaces {
            let api: Api<BigPeer> = match ns {
                Some(ns) => Api::namespaced(self.client.clone(), ns),
                None => Api::all(self.client.clone()),
            };
            match api.list(&ListParams::default()).await {
                Ok(list) => out.extend(list.items),
                Err(e) => {
                    warn!(error = %e, "admission: listing BigPeers; rules across BigPeers not checked")
                }
            }
        }
        out
    }
}

/// The keys of a Secret or ConfigMap (never their values).
trait Keys {
    fn keys(&self) -> Vec<&String>;
}

impl Keys for Secret {
    fn keys(&self) -> Vec<&String> {
        let data = self.data.iter().flat_map(|d| d.keys());
        data.chain(self.string_data.iter().flat_map(|d| d.keys()))
            .collect()
    }
}

impl Keys for ConfigMap {
    fn keys(&self) -> Vec<&String> {
        let data = self.data.iter().flat_map(|d| d.keys());
        data.chain(self.binary_data.iter().flat_map(|d| d.keys()))
            .collect()
    }
}

/// A kind of app-level object the webhook reviews: its spec, which an update must change to
/// be checked.
trait Reviewed:
    DeserializeOwned + kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
{
    type Spec: PartialEq;
    fn spec_of(&self) -> &Self::Spec;
}

macro_rules! reviewed {
    ($($kind:ty => $spec:ty),* $(,)?) => {$(
        impl Reviewed for $kind {
            type Spec = $spec;
            fn spec_of(&self) -> &$spec {
                &self.spec
            }
        }
    )*};
}

reviewed! {
    BigPeerApp => crate::api::BigPeerAppSpec,
    BigPeerApiKey => crate::api::BigPeerApiKeySpec,
    BigPeerReplication => crate::api::BigPeerReplicationSpec,
    BigPeerDataBridge => crate::api::BigPeerDataBridgeSpec,
}

/// An object under review: the new object (its namespace filled in from the request), the
/// old one on an update, its namespace, and the verdict so far.
struct Under<K> {
    new: K,
    old: Option<K>,
    ns: String,
    verdict: Verdict,
}

/// The preamble every review of an app, key, replication or data bridge shares: the objects
/// parsed; `Err(answer)` when there is nothing to check (no object: admitted; an update that
/// leaves the spec as it was, or of an object being deleted, or one without a namespace:
/// admitted unchecked).
fn begin<K: Reviewed>(
    req: &AdmissionRequest<DynamicObject>,
) -> Result<Result<Under<K>, Option<Verdict>>, String> {
    let (Some(mut new), old) = (parse::<K>(&req.object)?, parse::<K>(&req.old_object)?) else {
        return Ok(Err(None));
    };
    let verdict = Verdict::new(new.name_any());
    if unchanged(old.as_ref().map(K::spec_of), new.spec_of(), new.meta()) {
        return Ok(Err(Some(verdict)));
    }
    if new.meta().namespace.is_none() {
        new.meta_mut().namespace = req.namespace.clone();
    }
    let Some(ns) = new.namespace() else {
        return Ok(Err(Some(verdict)));
    };
    Ok(Ok(Under {
        new,
        old,
        ns,
        verdict,
    }))
}

/// What a review found: the object's name, its refusals and its warnings.
struct Verdict {
    name: String,
    causes: Vec<Cause>,
    warnings: Vec<String>,
}

impl Verdict {
    fn new(name: String) -> Self {
        Verdict {
            name,
            causes: vec![],
            warnings: vec![],
        }
    }
}

/// The object of a review as `K`; `None` when there is none.
fn parse<K: DeserializeOwned>(o: &Option<DynamicObject>) -> Result<Option<K>, String> {
    o.as_ref()
        .map(|o| {
            serde_json::to_value(o)
                .and_then(serde_json::from_value::<K>)
                .map_err(|e| e.to_string())
        })
        .transpose()
}

/// An update that leaves the spec as it was, or of an object being deleted: admitted unchecked,
/// so that labels, annotations and finalizers can always be written.
fn unchanged<S: PartialEq>(
    old: Option<&S>,
    new: &S,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> bool {
    old.is_some_and(|o| o == new || meta.deletion_timestamp.is_some())
}
