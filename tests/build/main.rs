//! The pure build layer, from outside the crate: no cluster, only `smbp_operator::build` and
//! the fixtures of `smbp_operator::testing`. `cargo test --test build`.

#[path = "../corpus/cases.rs"]
mod corpus;
#[path = "corpus.rs"]
mod corpus_format;
mod exposure;
mod exposure_examples;
#[path = "../common/generators.rs"]
mod generators;
mod netpol_eval;
mod netpol_table;
mod properties;
