//! Metrics, health endpoints, logs and traces.

pub mod access;
pub mod access_cache;
pub mod exposition;
pub mod metrics;
pub mod reference;
pub mod review;
pub mod server;
#[cfg(test)]
pub mod test_clients;
pub mod tls;
pub mod tracing_setup;
