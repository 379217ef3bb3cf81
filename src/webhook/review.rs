//! One admission review, the I/O around [`super::decide`]: build the BigPeer's objects, have
//! the API server validate each with a server-side dry run (in parallel, as the operator's
//! field manager), read the other BigPeers for the rules across them, and answer.

use std::time::Instant;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::{Client, ResourceExt};
use tracing::{debug, warn};

use super::decide::{self, Cause};
use crate::api::{BigPeer, Component};
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
                    .admission("", "error", started.elapsed().as_secs_f64(), &[]);
                return AdmissionResponse::invalid(e.to_string()).into_review();
            }
        };
        let operation = match req.operation {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        };
        let base = AdmissionResponse::from(&req);
        let parse = |o: &Option<DynamicObject>| -> Result<Option<BigPeer>, String> {
            o.as_ref()
                .map(|o| {
                    serde_json::to_value(o)
                        .and_then(serde_json::from_value::<BigPeer>)
                        .map_err(|e| e.to_string())
                })
                .transpose()
        };
        let (new, old) = match (parse(&req.object), parse(&req.old_object)) {
            (Ok(Some(n)), Ok(o)) => (n, o),
            (Ok(None), _) => {
                self.metrics
                    .admission(operation, "allowed", started.elapsed().as_secs_f64(), &[]);
                return base.into_review();
            }
            (Err(e), _) | (_, Err(e)) => {
                self.metrics
                    .admission(operation, "error", started.elapsed().as_secs_f64(), &[]);
                return base
                    .deny(decide::redact(&format!("the BigPeer cannot be read: {e}")))
                    .into_review();
            }
        };
        let causes = self
            .check(new.clone(), req.namespace.as_deref(), old.as_ref())
            .await;
        let name = new.name_any();
        let resp = decide::response(base, &name, &causes);
        let refusals: Vec<&str> = causes.iter().map(|c| c.reason.as_str()).collect();
        let decision = if resp.allowed { "allowed" } else { "refused" };
        let elapsed = started.elapsed();
        self.metrics
            .admission(operation, decision, elapsed.as_secs_f64(), &refusals);
        debug!(
            bigpeer = %format!("{}/{name}", req.namespace.as_deref().unwrap_or_default()),
            operation,
            decision,
            elapsed_ms = elapsed.as_millis(),
            "admission review"
        );
        resp.into_review()
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
