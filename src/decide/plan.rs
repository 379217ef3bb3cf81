//! Decide: from what was observed, what this reconcile will do. Pure; no client.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::observed::{Observed, template_size};
use crate::api::{BigPeer, BigPeerStatus, Component, TopologyStatus};
use crate::build::{BuildInputs, labels};
use crate::images::RelatedImages;
use crate::rollout::plan::{StoreFacts, plan};
use crate::rollout::pods::{self, PodView};
use crate::rollout::scale::Scale;
use crate::rollout::store::StoreStep;
use crate::rollout::topology::TopologyEvent;

/// StatefulSet label with a pod's revision.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// The decisions of one reconcile.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Replicas of the store StatefulSet as it is (None before it exists).
    pub sts_replicas: Option<i32>,
    /// Next store rollout step (None when there is no StatefulSet yet).
    pub store_step: Option<StoreStep>,
    /// Volume size of the existing StatefulSet's claim template.
    pub store_volume_template: Option<String>,
    /// The store's scaling decision and so the replicas to apply (the spec's, unless a
    /// scale-down goes step by step, in order).
    pub store_scale: Scale,
    /// Pods stuck past the deadline: (pod, reason).
    pub stuck: Vec<(String, String)>,
    /// Topology in force and any transition.
    pub topology: TopologyStatus,
    /// A transition started or completed in this reconcile.
    pub topology_event: Option<TopologyEvent>,
    /// Workloads may be created (or already exist).
    pub workloads: bool,
}

fn component_of(pod: &Pod) -> Option<&str> {
    pod.labels().get(labels::COMPONENT).map(String::as_str)
}

/// Decide the rollout step, scaling, topology stage and whether workloads may exist.
pub fn decide(bp: &BigPeer, observed: &Observed, previous: &BigPeerStatus, now: Timestamp) -> Plan {
    let deadline = i64::from(bp.spec.rollout.progress_deadline_seconds);
    let sts = observed.statefulset.as_ref();
    let update_revision = sts
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.update_revision.clone());
    let views: Vec<(&str, PodView)> = observed
        .pods
        .iter()
        .map(|p| {
            (
                component_of(p).unwrap_or_default(),
                pods::view(p, REVISION_LABEL, update_revision.as_deref(), now, deadline),
            )
        })
        .collect();
    let store_views: Vec<PodView> = views
        .iter()
        .filter(|(c, _)| *c == Component::Store.as_str())
        .map(|(_, v)| v.clone())
        .collect();
    let stuck = views
        .iter()
        .filter_map(|(_, v)| v.stuck.clone().map(|r| (v.name.clone(), r)))
        .collect();
    let sts_replicas = sts.and_then(|s| s.spec.as_ref()).and_then(|s| s.replicas);
    let sts_caught_up = sts.is_some_and(|s| {
        let observed = s.status.as_ref().and_then(|st| st.observed_generation);
        observed >= s.metadata.generation
    });
    let store = plan(&StoreFacts {
        spec_replicas: bp.spec.store.replicas,
        wanted: &bp.spec.topology(),
        sts_replicas,
        sts_caught_up,
        pods: &store_views,
        previous: previous.topology.as_ref(),
        now: &now.to_string(),
    });
    Plan {
        sts_replicas,
        store_volume_template: sts.and_then(template_size),
        store_step: store.step,
        store_scale: store.scale,
        stuck,
        workloads: sts.is_some() || (observed.keys.ready && observed.transaction_log.ready),
        topology: store.topology,
        topology_event: store.event,
    }
}

impl Plan {
    /// What the builders need from this plan and the observations.
    pub fn inputs(&self, images: &RelatedImages, observed: &Observed) -> BuildInputs {
        let i = observed.integrations;
        BuildInputs {
            images: images.clone(),
            openshift: i.openshift,
            kafka_bootstrap: observed.kafka_bootstrap.clone(),
            store_replicas: self.store_scale.replicas(),
            store_volume_template: self.store_volume_template.clone(),
            topology: Some(self.topology.clone()),
            workloads: self.workloads,
            cert_manager: i.cert_manager,
            strimzi: i.strimzi,
            gateway_api: i.gateway_api,
            openshift_route: i.openshift_route,
            prometheus_operator: i.prometheus_operator,
        }
    }

    /// This reconcile takes a store pod away: it replaces one, or removes the highest.
    pub fn removes_a_pod(&self) -> bool {
        matches!(self.store_step, Some(StoreStep::Replace(_)))
            || matches!(self.store_scale, Scale::RemoveOne { .. })
    }

    /// After applying: a workload whose controller has not yet observed the applied spec
    /// still reports the previous one, so wait for it rather than act on stale state.
    pub fn wait_for(&mut self, pending: &[String]) {
        if !pending.is_empty() && self.sts_replicas.is_some() {
            self.store_step = Some(StoreStep::Wait(format!(
                "waiting for {} to take up the new spec",
                pending.join(", ")
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::observed;

    #[test]
    fn a_new_bigpeer_waits_for_keys_and_transaction_log() {
        let bp = crate::testing::sample();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        for (keys, log) in [(false, false), (true, false), (false, true)] {
            let plan = decide(&bp, &observed(keys, log), &BigPeerStatus::default(), now);
            assert!(!plan.workloads);
            assert_eq!(plan.store_step, None, "no StatefulSet, no rollout step");
        }
        let plan = decide(&bp, &observed(true, true), &BigPeerStatus::default(), now);
        assert!(plan.workloads);
        assert_eq!(plan.store_scale.replicas(), bp.spec.store.replicas);
        let inputs = plan.inputs(&RelatedImages::default(), &observed(true, true));
        assert_eq!(inputs.kafka_bootstrap, vec!["kafka:9093"]);
        assert!(inputs.workloads);
    }

    #[test]
    fn pending_workloads_turn_the_step_into_a_wait() {
        let bp = crate::testing::sample();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut plan = decide(&bp, &observed(true, true), &BigPeerStatus::default(), now);
        plan.wait_for(&["StatefulSet/prod-store".into()]);
        assert_eq!(
            plan.store_step, None,
            "nothing to wait on before the StatefulSet exists"
        );
        plan.sts_replicas = Some(3);
        plan.store_step = Some(StoreStep::Replace("prod-store-2".into()));
        plan.wait_for(&[]);
        assert_eq!(
            plan.store_step,
            Some(StoreStep::Replace("prod-store-2".into()))
        );
        plan.wait_for(&["StatefulSet/prod-store".into()]);
        assert!(
            matches!(plan.store_step, Some(StoreStep::Wait(ref m)) if m.contains("prod-store"))
        );
    }

    #[test]
    fn only_replacing_or_removing_a_store_pod_takes_one_away() {
        let bp = crate::testing::sample();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut plan = decide(&bp, &observed(true, true), &BigPeerStatus::default(), now);
        assert!(!plan.removes_a_pod(), "a new BigPeer removes nothing");
        plan.store_step = Some(StoreStep::Wait("a pod starts".into()));
        assert!(!plan.removes_a_pod());
        plan.store_step = Some(StoreStep::Replace("prod-store-2".into()));
        assert!(plan.removes_a_pod());
        plan.store_step = Some(StoreStep::Done);
        plan.store_scale = Scale::RemoveOne { from: 3, target: 1 };
        assert!(plan.removes_a_pod());
    }
}
