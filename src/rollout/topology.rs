//! Staged cluster configuration transitions: a change of partitions or replication factor
//! is published in the configuration, the store pods roll onto it, and only then does the
//! new topology become current. Every stage is recorded in status, so a restarted operator
//! resumes where it stopped.

use crate::api::{Topology, TopologyStatus, TopologyTransition, TransitionPhase};

/// Something worth an Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopologyEvent {
    /// A transition started.
    Started(Topology),
    /// A transition finished.
    Completed(Topology),
}

/// Next topology status. `store_settled` is true when every store pod runs the current
/// configuration and is ready (the rollout is done).
pub fn advance(
    previous: Option<&TopologyStatus>,
    wanted: &Topology,
    store_settled: bool,
    now: &str,
) -> (TopologyStatus, Option<TopologyEvent>) {
    let Some(prev) = previous else {
        // A new cluster starts on the topology it asks for.
        return (
            TopologyStatus {
                current: wanted.clone(),
                transition: None,
            },
            None,
        );
    };
    let start = |target: &Topology| TopologyTransition {
        target: target.clone(),
        phase: TransitionPhase::ConfigPublished,
        started_at: now.to_string(),
    };
    match &prev.transition {
        None if &prev.current == wanted => (prev.clone(), None),
        None => (
            TopologyStatus {
                current: prev.current.clone(),
                transition: Some(start(wanted)),
            },
            Some(TopologyEvent::Started(wanted.clone())),
        ),
        // The spec moved again mid-transition: restart towards the newest target.
        // Moving back to the current topology is a transition too: pods roll back onto it.
        Some(t) if &t.target != wanted => (
            TopologyStatus {
                current: prev.current.clone(),
                transition: Some(start(wanted)),
            },
            Some(TopologyEvent::Started(wanted.clone())),
        ),
        Some(t) => match t.phase {
            TransitionPhase::ConfigPublished => (
                TopologyStatus {
                    current: prev.current.clone(),
                    transition: Some(TopologyTransition {
                        phase: TransitionPhase::RollingPods,
                        ..t.clone()
                    }),
                },
                None,
            ),
            TransitionPhase::RollingPods if store_settled => (
                TopologyStatus {
                    current: t.target.clone(),
                    transition: None,
                },
                Some(TopologyEvent::Completed(t.target.clone())),
            ),
            TransitionPhase::RollingPods => (prev.clone(), None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(p: i32, rf: i32) -> Topology {
        Topology {
            partitions: p,
            replication_factor: rf,
            minimum_replication_factor: 1,
        }
    }

    #[test]
    fn full_transition_walks_every_stage() {
        let (s0, e) = advance(None, &topo(12, 3), true, "t0");
        assert_eq!(s0.current, topo(12, 3));
        assert!(e.is_none());
        let (s1, e) = advance(Some(&s0), &topo(24, 3), true, "t1");
        assert_eq!(
            s1.transition.as_ref().unwrap().phase,
            TransitionPhase::ConfigPublished
        );
        assert_eq!(e, Some(TopologyEvent::Started(topo(24, 3))));
        let (s2, _) = advance(Some(&s1), &topo(24, 3), true, "t2");
        assert_eq!(
            s2.transition.as_ref().unwrap().phase,
            TransitionPhase::RollingPods
        );
        assert_eq!(s2.transition.as_ref().unwrap().started_at, "t1");
        let (s3, e) = advance(Some(&s2), &topo(24, 3), false, "t3");
        assert_eq!(s3, s2, "waits while pods roll");
        assert!(e.is_none());
        let (s4, e) = advance(Some(&s3), &topo(24, 3), true, "t4");
        assert_eq!(
            s4,
            TopologyStatus {
                current: topo(24, 3),
                transition: None
            }
        );
        assert_eq!(e, Some(TopologyEvent::Completed(topo(24, 3))));
    }

    #[test]
    fn retarget_mid_transition_restarts() {
        let s = TopologyStatus {
            current: topo(12, 3),
            transition: Some(TopologyTransition {
                target: topo(24, 3),
                phase: TransitionPhase::RollingPods,
                started_at: "t".into(),
            }),
        };
        let (n, e) = advance(Some(&s), &topo(48, 3), true, "u");
        assert_eq!(n.current, topo(12, 3));
        assert_eq!(n.transition.unwrap().target, topo(48, 3));
        assert!(e.is_some());
    }

    #[test]
    fn steady_state_is_a_fixed_point() {
        let s = TopologyStatus {
            current: topo(12, 3),
            transition: None,
        };
        for settled in [true, false] {
            assert_eq!(
                advance(Some(&s), &topo(12, 3), settled, "x"),
                (s.clone(), None)
            );
        }
    }
}
