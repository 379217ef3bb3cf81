//! Retry delays after failed reconciles, per object: exponential from 5 seconds up to
//! 5 minutes, with jitter so that objects failing together do not retry together.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// First delay.
pub const MIN: Duration = Duration::from_secs(5);
/// Longest delay.
pub const MAX: Duration = Duration::from_secs(300);

fn schedule(jitter: bool) -> ExponentialBackoff {
    let b = ExponentialBuilder::default()
        .with_min_delay(MIN)
        .with_max_delay(MAX)
        .with_factor(2.0)
        .without_max_times();
    if jitter { b.with_jitter() } else { b }.build()
}

/// Consecutive failures per object (by uid).
#[derive(Default)]
pub struct Backoffs(Mutex<HashMap<String, ExponentialBackoff>>);

impl Backoffs {
    /// The delay before retrying `uid` after one more failure.
    pub fn next(&self, uid: &str) -> Duration {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(uid.to_string())
            .or_insert_with(|| schedule(true))
            .next()
            .unwrap_or(MAX)
            .min(MAX)
    }

    /// `uid` reconciled: its next failure starts again from the first delay.
    pub fn reset(&self, uid: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let delays: Vec<u64> = schedule(false).take(10).map(|d| d.as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]);
    }

    #[test]
    fn jitter_stays_between_the_delay_and_five_minutes_and_a_success_resets() {
        let b = Backoffs::default();
        for _ in 0..3 {
            for base in [5, 10, 20, 40, 80, 160, 300, 300] {
                let d = b.next("uid").as_secs_f64();
                assert!(
                    d >= f64::from(base) && d <= f64::from(base * 2).min(300.0),
                    "{d} for {base}"
                );
            }
            b.reset("uid");
        }
        assert!(
            b.next("other") < Duration::from_secs(10),
            "objects back off independently"
        );
    }
}
