//! Server-side apply of the desired objects, and pruning of owned objects no longer desired.
//! One inventory read per kind serves both: it tells what is new and what is left over.
//!
//! Only what differs is written. An object whose desired body is the one last applied is not
//! applied again when, since that apply, either nothing changed (its `resourceVersion` is the
//! one the apply returned) or only its status did: its `metadata.generation`, which moves
//! with every change to its spec, is the one the apply returned, and it still carries the
//! labels and annotations the operator sets. Any other change (someone edits a field the
//! operator owns) arrives as a watch event, and the reconcile it wakes applies the object
//! again, restoring drift. A workload's controller writing its status, as pods come and go,
//! costs no apply.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
use crate::facts::{MANAGER, OWNED, OwnedKind};

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
    generation: Option<i64>,
    /// `status.observedGeneration` of a workload, when known.
    observed_generation: Option<i64>,
    labels: BTreeMap<String, String>,
    /// Empty when read from a metadata-only cache, which keeps no annotations.
    annotations: BTreeMap<String, String>,
}

/// What the last apply of one object sent and got back.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    /// Digest of the desired body.
    digest: u64,
    /// The `resourceVersion` the apply returned.
    resource_version: String,
    /// The `metadata.generation` the apply returned, for kinds that keep one.
    generation: Option<i64>,
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

/// Whether `found`, last applied as `r` with the same desired `body`, needs no apply; if so,
/// whether its controller has yet to observe the applied spec.
fn unchanged(r: &Record, found: &Found, body: &serde_json::Value) -> Option<bool> {
    if found.resource_version.as_ref() == Some(&r.resource_version) {
        return Some(r.pending);
    }
    // Something changed since. Only the status, if the spec did not (the generation) and the
    // labels and annotations the operator sets are in place.
    let generation = r.generation?;
    if found.generation != Some(generation) || !carries(body, "labels", &found.labels) {
        return None;
    }
    if !carries(body, "annotations", &found.annotations) {
        return None;
    }
    match (r.pending, found.observed_generation) {
        (_, Some(observed)) => Some(observed < generation),
        (false, None) => Some(false),
        // Whether the controller caught up is unknown without the status: apply again,
        // the response tells.
        (true, None) => None,
    }
}

/// Whether every entry of the desired body's `metadata.<field>` map is in `actual`.
fn carries(body: &serde_json::Value, field: &str, actual: &BTreeMap<String, String>) -> bool {
    body.pointer(&format!("/metadata/{field}"))
        .and_then(serde_json::Value::as_object)
        .is_none_or(|m| {
            m.iter().all(|(k, v)| {
                v.as_str()
                    .is_some_and(|v| actual.get(k).is_some_and(|a| a == v))
            })
        })
}

/// The owned kinds of `kinds` the cluster serves, and whether the operator may prune them.
fn owned_kinds(kinds: &[OwnedKind], integrations: Integrations) -> Vec<(ApiResource, bool)> {
    kinds
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
    kinds: &[OwnedKind],
) -> Result<BTreeSet<Found>> {
    let ns = owner.namespace().unwrap_or_default();
    let uid = owner.uid();
    let mut found = BTreeSet::new();
    for (ar, prunable) in owned_kinds(kinds, integrations) {
        for o in reader.owned(&ar, &ns, selector).await? {
            let meta = o.meta;
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
                    generation: meta.generation,
                    observed_generation: o.observed_generation,
                    labels: meta.labels.unwrap_or_default(),
                    annotations: meta.annotations.unwrap_or_default(),
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
    apply_and_prune_kinds(reader, last, owner, selector, integrations, OWNED, objects).await
}

/// [`apply_and_prune`] over the owned kinds `kinds` only: an owner that makes a few kinds
/// (a replication: Services, ConfigMaps, NetworkPolicies, routes) lists only those.
pub async fn apply_and_prune_kinds<K: Resource>(
    reader: &Reader<'_>,
    last: &LastApplied,
    owner: &K,
    selector: &Selector,
    integrations: Integrations,
    kinds: &[OwnedKind],
    objects: &[DesiredObject],
) -> Result<Applied> {
    let ns = owner.namespace().unwrap_or_default();
    let client = reader.client;
    let existing = inventory(reader, owner, selector, integrations, kinds)
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
        if let Some(pending) = last
            .get(&key)
            .filter(|r| r.digest == digest)
            .and_then(|r| found.and_then(|f| unchanged(&r, f, &obj.body)))
        {
            if pending {
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
                generation: after.metadata.generation,
                pending,
            };
            last.set(key, record);
        }
    }
    let keep: BTreeSet<(&str, &str)> = objects
        .iter()
        .map(|d| (d.resource.kind.as_str(), d.name.as_str()))
        .collect();
    for (ar, _) in owned_kinds(kinds, integrations) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(pending: bool) -> Record {
        Record {
            digest: 1,
            resource_version: "10".into(),
            generation: Some(2),
            pending,
        }
    }

    fn found(rv: &str, generation: i64, observed: Option<i64>) -> Found {
        Found {
            kind: "StatefulSet".into(),
            name: "a".into(),
            prunable: true,
            resource_version: Some(rv.into()),
            generation: Some(generation),
            observed_generation: observed,
            labels: [("app".to_string(), "x".to_string())].into(),
            annotations: BTreeMap::new(),
        }
    }

    fn body() -> serde_json::Value {
        json!({"metadata": {"labels": {"app": "x"}}})
    }

    #[test]
    fn nothing_changed_keeps_what_the_apply_said() {
        assert_eq!(
            unchanged(&record(true), &found("10", 2, None), &body()),
            Some(true)
        );
        assert_eq!(
            unchanged(&record(false), &found("10", 2, None), &body()),
            Some(false)
        );
    }

    #[test]
    fn a_status_change_needs_no_apply() {
        assert_eq!(
            unchanged(&record(false), &found("11", 2, None), &body()),
            Some(false)
        );
        // The controller caught up with the applied spec, or has not yet.
        assert_eq!(
            unchanged(&record(true), &found("11", 2, Some(2)), &body()),
            Some(false)
        );
        assert_eq!(
            unchanged(&record(true), &found("11", 2, Some(1)), &body()),
            Some(true)
        );
        // Without the status, whether it caught up is unknown: apply again.
        assert_eq!(
            unchanged(&record(true), &found("11", 2, None), &body()),
            None
        );
    }

    #[test]
    fn a_spec_or_metadata_change_is_applied_again() {
        assert_eq!(
            unchanged(&record(false), &found("11", 3, None), &body()),
            None
        );
        let mut f = found("11", 2, None);
        f.labels.clear();
        assert_eq!(unchanged(&record(false), &f, &body()), None);
        let annotated = json!({"metadata": {"annotations": {"a": "b"}}});
        assert_eq!(
            unchanged(&record(false), &found("11", 2, None), &annotated),
            None
        );
        // A kind without a generation: only an unchanged resourceVersion skips the apply.
        let mut r = record(false);
        r.generation = None;
        assert_eq!(unchanged(&r, &found("11", 2, None), &body()), None);
    }
}
