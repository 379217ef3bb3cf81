//! Metrics, health endpoints, logs and traces.

pub mod exposition;
pub mod metrics;
pub mod reference;
pub mod server;
pub mod tracing_setup;
