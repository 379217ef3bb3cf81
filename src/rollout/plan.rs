//! The store's decisions of one reconcile, taken together because they depend on each other:
//! the rollout step, the replica count and the topology stage.
//!
//! Order of operations, whatever combination of `replicas`, `replicationFactor`,
//! `minimumReplicationFactor` and `partitions` changes at once:
//! 1. growing happens first: new pods join at once;
//! 2. a topology transition rolls the pods that exist (after growing, before shrinking) and
//!    completes when every one of them runs the target and is ready;
//! 3. shrinking comes last, one pod at a time, each only while every other pod is ready.
//!
//! So the replication factor in force never exceeds the pods that hold data, at most one
//! store pod is ever down because of the operator, and no step waits on another one that is
//! waiting on it. `simulation` (tests) checks this for every pair of topologies.

use super::pods::PodView;
use super::scale::{self, Scale, ScaleFacts};
use super::store::{StoreStep, next_step};
use super::topology::{TopologyEvent, advance};
use crate::api::{Topology, TopologyStatus};

/// What the store decisions read.
#[derive(Clone, Copy, Debug)]
pub struct StoreFacts<'a> {
    /// `spec.store.replicas`.
    pub spec_replicas: i32,
    /// The spec's topology.
    pub wanted: &'a Topology,
    /// The StatefulSet's replicas (None before it exists).
    pub sts_replicas: Option<i32>,
    /// The StatefulSet controller has observed the StatefulSet's latest spec (otherwise its
    /// update revision, and so which pods are up to date, is not known yet).
    pub sts_caught_up: bool,
    /// The store pods.
    pub pods: &'a [PodView],
    /// The topology recorded in status by the previous reconcile.
    pub previous: Option<&'a TopologyStatus>,
    /// The time, for a transition's start.
    pub now: &'a str,
}

/// The store decisions of one reconcile.
#[derive(Clone, Debug, PartialEq)]
pub struct StorePlan {
    /// Next rollout step (None before the StatefulSet exists).
    pub step: Option<StoreStep>,
    /// The replica count to apply, and any scale-down that waits.
    pub scale: Scale,
    /// Topology in force and any transition.
    pub topology: TopologyStatus,
    /// A transition started or completed in this reconcile.
    pub event: Option<TopologyEvent>,
}

/// A transition runs, or the spec asks for one.
fn moving(status: Option<&TopologyStatus>, wanted: &Topology) -> bool {
    status.is_some_and(|t| t.transition.is_some() || &t.current != wanted)
}

/// Decide the store's rollout step, replica count and topology stage.
pub fn plan(f: &StoreFacts<'_>) -> StorePlan {
    let count = f.sts_replicas.unwrap_or(0);
    let within = |p: &&PodView| p.ordinal.is_none_or(|o| i64::from(o) < i64::from(count));
    let removing = f.pods.iter().find(|p| !within(p)).map(|p| p.name.as_str());
    let unready = f
        .pods
        .iter()
        .filter(within)
        .find(|p| !p.ready || p.terminating)
        .map(|p| p.name.as_str());
    let step = f.sts_replicas.map(|r| {
        if !f.sts_caught_up {
            StoreStep::Wait("the StatefulSet controller has not observed the latest spec".into())
        } else if let Some(pod) = removing {
            StoreStep::Wait(format!("pod {pod} is being removed"))
        } else {
            next_step(f.pods, usize::try_from(r).unwrap_or(0))
        }
    });
    let facts = |transition| ScaleFacts {
        desired: f.spec_replicas,
        current: f.sts_replicas,
        transition,
        removing,
        unready,
    };
    // A transition is settled when every pod of the count it runs on is up to date and
    // ready. While it runs that count is kept (a scale-down waits), or grown to the spec's.
    let during = scale::decide(facts(moving(f.previous, f.wanted)));
    let settled = step == Some(StoreStep::Done) && f.sts_replicas == Some(during.replicas());
    let (topology, event) = advance(f.previous, f.wanted, settled, f.now);
    // A scale-down step changes the StatefulSet, which leaves it pending after the apply, and
    // `Plan::wait_for` then turns any Replace into a wait: one disruption at a time.
    let scale = scale::decide(facts(topology.transition.is_some()));
    StorePlan {
        step,
        scale,
        topology,
        event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TopologyTransition;

    fn topo(rf: i32) -> Topology {
        Topology {
            partitions: 16,
            replication_factor: rf,
            minimum_replication_factor: 1,
        }
    }

    fn pods(n: u32, updated: bool) -> Vec<PodView> {
        (0..n)
            .map(|i| PodView {
                name: format!("bp-store-{i}"),
                ordinal: Some(i),
                updated,
                ready: true,
                terminating: false,
                stuck: None,
            })
            .collect()
    }

    fn rolling(current: i32, target: i32) -> TopologyStatus {
        TopologyStatus {
            current: topo(current),
            transition: Some(TopologyTransition {
                target: topo(target),
                phase: crate::api::TransitionPhase::RollingPods,
                started_at: "t".into(),
            }),
        }
    }

    /// The deadlock: 3 pods, replication factor 2 -> 1 pod, replication factor 1.
    /// The transition completes on the 3 pods, then the scale-down starts.
    #[test]
    fn a_transition_completes_on_the_current_pods_before_the_scale_down() {
        let status = rolling(2, 1);
        let wanted = topo(1);
        let all = pods(3, true);
        let f = StoreFacts {
            spec_replicas: 1,
            wanted: &wanted,
            sts_replicas: Some(3),
            sts_caught_up: true,
            pods: &all,
            previous: Some(&status),
            now: "t",
        };
        let p = plan(&f);
        assert_eq!(p.topology.current, topo(1), "the transition completes");
        assert!(p.topology.transition.is_none());
        assert_eq!(p.scale, Scale::RemoveOne { from: 3, target: 1 });
        assert_eq!(p.scale.replicas(), 2, "one pod at a time");

        // While pods still roll, the scale-down waits for the transition.
        let mut mixed = pods(3, true);
        mixed[0].updated = false;
        let p = plan(&StoreFacts { pods: &mixed, ..f });
        assert!(p.topology.transition.is_some());
        assert!(matches!(p.scale, Scale::Waiting { .. }));
        assert_eq!(p.scale.replicas(), 3);
        assert_eq!(p.step, Some(StoreStep::Replace("bp-store-0".into())));
    }

    #[test]
    fn a_statefulset_not_yet_observed_settles_nothing() {
        let status = rolling(1, 2);
        let wanted = topo(2);
        let all = pods(3, true);
        let p = plan(&StoreFacts {
            spec_replicas: 3,
            wanted: &wanted,
            sts_replicas: Some(3),
            sts_caught_up: false,
            pods: &all,
            previous: Some(&status),
            now: "t",
        });
        assert!(matches!(p.step, Some(StoreStep::Wait(_))));
        assert_eq!(
            p.topology, status,
            "the transition waits for the controller"
        );
    }

    #[test]
    fn a_pod_being_removed_is_waited_for() {
        let wanted = topo(1);
        let status = TopologyStatus {
            current: wanted.clone(),
            transition: None,
        };
        let mut all = pods(3, true);
        all[2].terminating = true;
        let p = plan(&StoreFacts {
            spec_replicas: 1,
            wanted: &wanted,
            sts_replicas: Some(2),
            sts_caught_up: true,
            pods: &all,
            previous: Some(&status),
            now: "t",
        });
        assert_eq!(
            p.step,
            Some(StoreStep::Wait("pod bp-store-2 is being removed".into()))
        );
        assert!(p.scale.waiting().unwrap().contains("bp-store-2"));
        assert_eq!(p.scale.replicas(), 2);
    }
}
