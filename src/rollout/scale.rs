//! Store scaling. Growing applies at once: new pods start empty and take copies only when a
//! topology that uses them is in force. Shrinking removes one pod at a time, and only when
//!
//! - no topology transition runs or is about to start: a change of replication factor or
//!   partitions completes on the pods that exist, and then the extra pods go. (Removing pods
//!   first could leave fewer pods than the replication factor in force, and waiting for the
//!   spec's replica count before finishing the transition would never end.)
//! - every remaining store pod is ready: removing a pod while another one is down would take
//!   two copies of some partitions away at once.
//! - the previous removal is finished (no pod above the StatefulSet's count is left).

/// What happens to the store's replica count in this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    /// The StatefulSet gets the spec's count (equal, growing, or no StatefulSet yet).
    AsSpecified(i32),
    /// Shrinking: this reconcile removes the highest pod (`from` → `from - 1`).
    RemoveOne {
        /// Replicas now.
        from: i32,
        /// The spec's replicas.
        target: i32,
    },
    /// Shrinking, in order: the step waits for something that finishes by itself.
    Waiting {
        /// Replicas now (kept).
        from: i32,
        /// The spec's replicas.
        target: i32,
        /// What it waits for.
        reason: String,
    },
    /// Shrinking is held back because a store pod is not ready.
    Held {
        /// Replicas now (kept).
        from: i32,
        /// The spec's replicas.
        target: i32,
        /// Which pod, and why it matters.
        reason: String,
    },
}

/// The store facts a scaling decision reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScaleFacts<'a> {
    /// `spec.store.replicas`.
    pub desired: i32,
    /// The StatefulSet's replicas (None before it exists).
    pub current: Option<i32>,
    /// A topology transition runs, or starts in this reconcile.
    pub transition: bool,
    /// A pod above the StatefulSet's count still exists (a removal in progress).
    pub removing: Option<&'a str>,
    /// A pod within the StatefulSet's count that is not ready (or is terminating).
    pub unready: Option<&'a str>,
}

impl Scale {
    /// Replicas to apply to the StatefulSet.
    pub fn replicas(&self) -> i32 {
        match self {
            Scale::AsSpecified(n) => *n,
            Scale::RemoveOne { from, .. } => from - 1,
            Scale::Waiting { from, .. } | Scale::Held { from, .. } => *from,
        }
    }

    /// What a scale-down under way is doing, for status (None when not shrinking).
    pub fn message(&self) -> Option<String> {
        match self {
            Scale::AsSpecified(_) => None,
            Scale::RemoveOne { from, target } => Some(format!(
                "scaling down from {from} to {target}: removing one pod at a time"
            )),
            Scale::Waiting {
                from,
                target,
                reason,
            }
            | Scale::Held {
                from,
                target,
                reason,
            } => Some(format!("scale-down from {from} to {target} {reason}")),
        }
    }

    /// A scale-down that waits or is held back, with its message (tests read this).
    #[cfg(test)]
    pub fn waiting(&self) -> Option<String> {
        match self {
            Scale::Waiting { .. } | Scale::Held { .. } => self.message(),
            _ => None,
        }
    }
}

/// Decide the store's replica count for this reconcile.
pub fn decide(f: ScaleFacts<'_>) -> Scale {
    let Some(from) = f.current.filter(|c| f.desired < *c) else {
        return Scale::AsSpecified(f.desired);
    };
    let target = f.desired;
    if let Some(pod) = f.removing {
        return Scale::Waiting {
            from,
            target,
            reason: format!("proceeds one pod at a time: waiting for {pod} to be removed"),
        };
    }
    if f.transition {
        return Scale::Waiting {
            from,
            target,
            reason: "follows the topology transition, which completes on the current pods first"
                .into(),
        };
    }
    if let Some(pod) = f.unready {
        return Scale::Held {
            from,
            target,
            reason: format!("waits until every store pod is ready ({pod} is not)"),
        };
    }
    Scale::RemoveOne { from, target }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination() {
        let pod = Some("bp-store-1");
        for desired in 1..6 {
            for current in [None, Some(1), Some(2), Some(3), Some(4), Some(5)] {
                for transition in [false, true] {
                    for removing in [None, pod] {
                        for unready in [None, pod] {
                            let f = ScaleFacts {
                                desired,
                                current,
                                transition,
                                removing,
                                unready,
                            };
                            let s = decide(f);
                            let down = current.is_some_and(|c| desired < c);
                            let r = s.replicas();
                            if !down {
                                assert_eq!(s, Scale::AsSpecified(desired));
                                assert!(s.waiting().is_none());
                                continue;
                            }
                            let cur = current.unwrap();
                            assert!(r == cur || r == cur - 1, "one pod at a time: {f:?}");
                            assert!(r >= desired, "never below the spec: {f:?}");
                            let free = !transition && removing.is_none() && unready.is_none();
                            assert_eq!(r == cur - 1, free, "{f:?} -> {s:?}");
                            assert_eq!(s.waiting().is_some(), !free);
                            assert_eq!(
                                matches!(s, Scale::Held { .. }),
                                !transition && removing.is_none() && unready.is_some(),
                                "only unready pods hold a scale-down back: {f:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn messages_say_what_the_scale_down_waits_for() {
        let f = ScaleFacts {
            desired: 1,
            current: Some(3),
            transition: true,
            ..Default::default()
        };
        assert_eq!(
            decide(f).waiting().unwrap(),
            "scale-down from 3 to 1 follows the topology transition, which completes on the current pods first"
        );
        let f = ScaleFacts {
            removing: Some("bp-store-2"),
            ..f
        };
        assert!(decide(f).waiting().unwrap().contains("bp-store-2"));
    }
}
