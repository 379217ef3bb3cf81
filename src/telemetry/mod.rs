//! Metrics, health endpoints, logs and traces.

pub mod access;
pub mod access_cache;
pub mod https;
pub mod metrics;
pub mod review;
pub mod server;
pub mod tls;
pub mod tracing_setup;
