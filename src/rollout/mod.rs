//! Pure decisions for stateful operations: pod health, the store's pod-by-pod rollout,
//! held-back scale-downs and staged topology transitions. Tested exhaustively.

pub mod plan;
pub mod pods;
pub mod restart;
pub mod scale;
pub mod store;
pub mod topology;

#[cfg(test)]
mod simulation;
