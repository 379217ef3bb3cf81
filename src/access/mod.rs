//! Apps and API keys as the Big Peer servers see them: key material (generation, salted hash,
//! fingerprint) and the durations of key rotation. Pure: no client, no clock.

pub mod duration;
pub mod key;
