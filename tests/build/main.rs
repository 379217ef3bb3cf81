//! The pure build layer, from outside the crate: no cluster, only `smbp_operator::build` and
//! the fixtures of `smbp_operator::testing`. `cargo test --test build`.

mod exposure;
mod exposure_examples;
mod netpol_eval;
mod netpol_table;
mod properties;
