//! The store's rollout: one pod at a time, unready pods first, never while any pod is
//! unready, highest ordinal first, and a stop (not a loop) on a stuck pod.

use super::pods::PodView;

/// What to do next with the store pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreStep {
    /// Every pod is on the current revision and ready.
    Done,
    /// Wait for pods to settle; the reason says on what.
    Wait(String),
    /// Delete this pod so that the StatefulSet recreates it on the current revision.
    Replace(String),
    /// A pod on the current revision is stuck: stop and report.
    Blocked {
        /// The stuck pod.
        pod: String,
        /// Why it is stuck.
        reason: String,
    },
}

/// Decide the next step. `desired` is the StatefulSet's replica count.
pub fn next_step(pods: &[PodView], desired: usize) -> StoreStep {
    if let Some(p) = pods.iter().find(|p| p.terminating) {
        return StoreStep::Wait(format!("pod {} is terminating", p.name));
    }
    // A pod already on the new revision that is stuck means the new revision does not
    // work here: touching more pods would only take more of the store down.
    if let Some(p) = pods
        .iter()
        .filter(|p| p.updated)
        .find(|p| p.stuck.is_some())
    {
        return StoreStep::Blocked {
            pod: p.name.clone(),
            reason: p.stuck.clone().unwrap_or_default(),
        };
    }
    // Outdated pods that are down anyway are replaced first: it costs no availability.
    if let Some(p) = highest(pods.iter().filter(|p| !p.updated && !p.ready)) {
        return StoreStep::Replace(p.name.clone());
    }
    if let Some(p) = pods.iter().find(|p| !p.ready) {
        return StoreStep::Wait(format!("pod {} is not ready", p.name));
    }
    if pods.len() < desired {
        return StoreStep::Wait(format!("{} of {desired} pods exist", pods.len()));
    }
    match highest(pods.iter().filter(|p| !p.updated)) {
        Some(p) => StoreStep::Replace(p.name.clone()),
        None => StoreStep::Done,
    }
}

fn highest<'a>(pods: impl Iterator<Item = &'a PodView>) -> Option<&'a PodView> {
    pods.max_by(|a, b| a.ordinal.cmp(&b.ordinal).then_with(|| a.name.cmp(&b.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(i: u32, updated: bool, ready: bool, terminating: bool, stuck: bool) -> PodView {
        PodView {
            name: format!("bp-store-{i}"),
            ordinal: Some(i),
            updated,
            ready,
            terminating,
            stuck: (stuck && !ready).then(|| "CrashLoopBackOff".to_string()),
        }
    }

    /// Every combination of (updated, ready, terminating, stuck) for 3 pods: 16^3 cases.
    fn all_states(n: u32) -> Vec<Vec<PodView>> {
        let mut out = vec![vec![]];
        for i in 0..n {
            let mut next = vec![];
            for prefix in &out {
                for bits in 0..16u8 {
                    let mut v = prefix.clone();
                    v.push(pod(
                        i,
                        bits & 1 != 0,
                        bits & 2 != 0,
                        bits & 4 != 0,
                        bits & 8 != 0,
                    ));
                    next.push(v);
                }
            }
            out = next;
        }
        out
    }

    #[test]
    fn exhaustive_safety_over_three_pods() {
        for pods in all_states(3) {
            let step = next_step(&pods, 3);
            let unready = pods.iter().filter(|p| !p.ready || p.terminating).count();
            match &step {
                StoreStep::Replace(name) => {
                    let p = pods.iter().find(|p| &p.name == name).unwrap();
                    assert!(!p.updated, "never replaces an updated pod: {pods:?}");
                    assert!(
                        !pods.iter().any(|p| p.terminating),
                        "never replaces while one terminates: {pods:?}"
                    );
                    if p.ready {
                        // Taking a ready pod down is allowed only when every pod is ready.
                        assert_eq!(
                            unready, 0,
                            "took a ready pod down while another was unready: {pods:?}"
                        );
                        let top = pods
                            .iter()
                            .filter(|q| !q.updated)
                            .map(|q| q.ordinal)
                            .max()
                            .unwrap();
                        assert_eq!(p.ordinal, top, "highest ordinal first: {pods:?}");
                    } else {
                        // Unready pods go first, so at most one extra pod is down at a time.
                        assert!(!pods.iter().any(|q| q.updated && q.stuck.is_some()));
                    }
                }
                StoreStep::Done => {
                    assert!(
                        pods.iter().all(|p| p.updated && p.ready && !p.terminating),
                        "done too early: {pods:?}"
                    );
                }
                StoreStep::Blocked { pod, .. } => {
                    let p = pods.iter().find(|p| &p.name == pod).unwrap();
                    assert!(p.updated && p.stuck.is_some());
                }
                StoreStep::Wait(_) => {
                    assert!(
                        !pods.iter().all(|p| p.updated && p.ready && !p.terminating),
                        "waits forever when done: {pods:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn order_of_a_clean_rollout_is_highest_first() {
        let mut pods: Vec<PodView> = (0..3).map(|i| pod(i, false, true, false, false)).collect();
        let mut order = vec![];
        while let StoreStep::Replace(name) = next_step(&pods, 3) {
            order.push(name.clone());
            let p = pods.iter_mut().find(|p| p.name == name).unwrap();
            p.updated = true;
        }
        assert_eq!(order, ["bp-store-2", "bp-store-1", "bp-store-0"]);
        assert_eq!(next_step(&pods, 3), StoreStep::Done);
    }

    #[test]
    fn unready_outdated_pod_goes_first() {
        let pods = vec![
            pod(0, false, false, false, false),
            pod(1, false, true, false, false),
            pod(2, false, true, false, false),
        ];
        assert_eq!(next_step(&pods, 3), StoreStep::Replace("bp-store-0".into()));
    }

    #[test]
    fn stuck_new_pod_blocks() {
        let pods = vec![
            pod(0, false, true, false, false),
            pod(1, false, true, false, false),
            pod(2, true, false, false, true),
        ];
        assert_eq!(
            next_step(&pods, 3),
            StoreStep::Blocked {
                pod: "bp-store-2".into(),
                reason: "CrashLoopBackOff".into()
            }
        );
    }

    #[test]
    fn missing_pods_wait() {
        let pods = vec![pod(0, true, true, false, false)];
        assert!(matches!(next_step(&pods, 3), StoreStep::Wait(_)));
        assert_eq!(next_step(&pods, 1), StoreStep::Done);
    }
}
