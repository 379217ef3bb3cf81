//! Server-side apply of the desired objects, and pruning of owned objects no longer desired.
//! One inventory read per kind serves both: it tells what is new and what is left over.
//!
//! Only what differs is written: an object whose desired body is the one last applied and
//! whose `resourceVersion` is still the one that apply returned has not changed since, and is
//! not applied again. Any change to it (someone edits a field the operator owns, or its
//! controller writes its status) moves the `resourceVersion`, and the next reconcile applies
//! it again, restoring drift.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, Selector};
use kube::{Resource, ResourceExt};
use tracing::{Instrument, info_span};

use super::cache::Reader;
use super::error::{Context, Result};
use crate::build::DesiredObject;
use crate::decide::observed::Integrations;
use crate::facts::{MANAGER, OWNED};

/// Outcome of applying.
#[derive(Debug, Default)]
pub struct Applied {
    /// Objects that did not exist before (`Kind/name`).
    pub created: Vec<String>,
    /// Objects deleted because they are no longer desired (`Kind/name`).
    pub pruned: Vec<String>,
    /// Workloads whose controller has not yet observed the applied spec (`Kind/name`):
    /// their status still describes the previous spec.
    pub pending: Vec<String>,
}

/// An owned object found in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    kind: String,
    name: String,
    prunable: bool,
    resource_version: Option<String>,
}

/// What the last apply of one object sent and got back.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    /// Digest of the desired body.
    digest: u64,
    /// The `resourceVersion` the apply returned.
    resource_version: String,
    /// Whether the workload's controller had yet to observe it.
    pending: bool,
}

/// The last apply of every owned object (by owner uid, kind and name), so that unchanged
/// objects are not applied again. Entries of an owner go when it is deleted ([`Self::forget`]).
#[derive(Debug, Default)]
pub struct LastApplied(Mutex<HashMap<(String, String, String), Record>>);

impl LastApplied {
    fn get(&self, key: &(String, String, String)) -> Option<Record> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn set(&self, key: (String, String, String), record: Record) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, record);
    }

    /// Drop what is remembered of the objects of the owner with this uid.
    pub fn forget(&self, owner_uid: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(uid, _, _), _| uid != owner_uid);
    }

    /// How many objects are remembered.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn digest(body: &serde_json::Value) -> u64 {
    let mut h = DefaultHasher::new();
    body.to_string().hash(&mut h);
    h.finish()
}

fn not_yet_observed(obj: &DynamicObject) -> bool {
    let generation = obj.metadata.generation.unwrap_or_default();
    let observed = obj
        .data
        .pointer("/status/observedGeneration")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_default();
    observed < generation
}

/// The owned kinds the cluster serves, and whether the operator may prune them.
fn owned_kinds(integrations: Integrations) -> Vec<(ApiResource, bool)> {
    OWNED
        .iter()
        .filter(|k| k.needs.is_none_or(|i| integrations.has(i)))
        .map(|k| ((k.resource)(), k.prune))
        .collect()
}

/// Objects `owner` owns (matched by the label selector and the owner's uid), metadata only.
async fn inventory<K: Resource>(
    reader: &Reader<'_>,
    owner: &K,
    selector: &Selector,
    integrations: Integrations,
) -> Result<BTreeSet<Found>> {
    let ns = owner.namespace().unwrap_or_default();
    let uid = owner.uid();
    let mut found = BTreeSet::new();
    for (ar, prunable) in owned_kinds(integrations) {
        for meta in reader.owned(&ar, &ns, selector).await? {
            let owned = meta
                .owner_references
                .iter()
                .flatten()
                .any(|o| Some(&o.uid) == uid.as_ref());
            if owned && meta.deletion_timestamp.is_none() {
                found.insert(Found {
                    kind: ar.kind.clone(),
                    name: meta.name.unwrap_or_default(),
                    prunable,
                    resource_version: meta.resource_version,
                });
            }
        }
    }
    Ok(found)
}

/// Apply every desired object that changed since its last apply with one field manager
/// (forcing ownership of our fields), then delete the objects `owner` owns (found by
/// `selector`) that are no longer desired.
pub async fn apply_and_prune<K: Resource>(
    reader: &Reader<'_>,
    last: &LastApplied,
    owner: &K,
    selector: &Selector,
    integrations: Integrations,
    objects: &[DesiredObject],
) -> Result<Applied> {
    let ns = owner.namespace().unwrap_or_default();
    let client = reader.client;
    let existing = inventory(reader, owner, selector, integrations)
        .instrument(info_span!("inventory"))
        .await?;
    let find = |kind: &str, name: &str| existing.iter().find(|f| f.kind == kind && f.name == name);
    let uid = owner.uid().unwrap_or_default();
    let params = PatchParams::apply(MANAGER).force();
    let mut applied = Applied::default();
    for obj in objects {
        let found = find(&obj.resource.kind, &obj.name);
        let key = (uid.clone(), obj.resource.kind.clone(), obj.name.clone());
        let digest = digest(&obj.body);
        let unchanged = last.get(&key).filter(|r| {
            r.digest == digest
                && found.and_then(|f| f.resource_version.as_ref()) == Some(&r.resource_version)
        });
        if let Some(r) = unchanged {
            if r.pending {
                applied.pending.push(obj.key());
            }
            continue;
        }
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &obj.resource);
        let after = api
            .patch(&obj.name, &params, &Patch::Apply(&obj.body))
            .instrument(info_span!("apply", kind = %obj.resource.kind, name = %obj.name))
            .await
            .ctx(|| format!("applying {}", obj.key()))?;
        let pending = matches!(obj.resource.kind.as_str(), "StatefulSet" | "Deployment")
            && not_yet_observed(&after);
        if pending {
            applied.pending.push(obj.key());
        }
        if found.is_none() {
            applied.created.push(obj.key());
        }
        if let Some(resource_version) = after.resource_version() {
            let record = Record {
                digest,
                resource_version,
                pending,
            };
            last.set(key, record);
        }
    }
    let keep: BTreeSet<(&str, &str)> = objects
        .iter()
        .map(|d| (d.resource.kind.as_str(), d.name.as_str()))
        .collect();
    for (ar, _) in owned_kinds(integrations) {
        for f in existing.iter().filter(|f| {
            f.prunable && f.kind == ar.kind && !keep.contains(&(f.kind.as_str(), f.name.as_str()))
        }) {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
            api.delete(&f.name, &DeleteParams::background())
                .instrument(info_span!("prune", kind = %f.kind, name = %f.name))
                .await
                .ctx(|| format!("pruning {}/{}", f.kind, f.name))?;
            applied.pruned.push(format!("{}/{}", f.kind, f.name));
        }
    }
    Ok(applied)
}
