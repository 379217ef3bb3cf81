//! Metrics, health endpoints, logs and traces.

pub mod metrics;
pub mod server;
pub mod tracing_setup;
