//! `kubectl smbp`: the kubectl plugin support engineers and cluster users run against a
//! BigPeer (the `kubectl-smbp` binary, `src/bin/kubectl-smbp.rs`).
//!
//! Pure parts: the typed [`report::StatusReport`] and what it derives from API objects
//! ([`report`]), its text rendering ([`render`]), version skew ([`versions`]), the missing
//! permission of a refused request ([`access`]) and the krew manifest ([`krew`]). I/O parts,
//! thin: reading the cluster into a report ([`collect`]) and the commands ([`cli`]).

pub mod access;
pub mod cli;
pub mod collect;
pub mod krew;
pub mod render;
pub mod report;
pub mod versions;
