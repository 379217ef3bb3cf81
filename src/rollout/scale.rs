//! Store scale-down is held back while the store is not healthy or its topology is moving:
//! removing a pod then could drop partitions below their replication factor.

/// Replicas to apply to the store StatefulSet, and why a scale-down is held back.
pub fn store_replicas(
    desired: i32,
    current: Option<i32>,
    all_ready: bool,
    transition: bool,
) -> (i32, Option<String>) {
    match current {
        Some(cur) if desired < cur && transition => (
            cur,
            Some(format!(
                "scale-down from {cur} to {desired} waits for the topology transition to finish"
            )),
        ),
        Some(cur) if desired < cur && !all_ready => (
            cur,
            Some(format!(
                "scale-down from {cur} to {desired} waits until every store pod is ready"
            )),
        ),
        _ => (desired, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination() {
        for desired in 1..5 {
            for current in [None, Some(1), Some(2), Some(3), Some(4)] {
                for ready in [false, true] {
                    for transition in [false, true] {
                        let (r, blocked) = store_replicas(desired, current, ready, transition);
                        let down = current.is_some_and(|c| desired < c);
                        if down && (!ready || transition) {
                            assert_eq!(Some(r), current);
                            assert!(blocked.is_some());
                        } else {
                            assert_eq!(r, desired);
                            assert!(blocked.is_none());
                        }
                    }
                }
            }
        }
    }
}
