//! `make bench`: how long the pure build layer takes per BigPeer and how large its output is.
//! Prints numbers; asserts nothing about time.

use std::hint::black_box;
use std::time::Instant;

use smbp_operator::api::BigPeer;
use smbp_operator::build::{BuildInputs, desired};

fn main() {
    let mut bp: BigPeer =
        serde_yaml_ng::from_str(include_str!("../config/samples/smbp_v1alpha1_bigpeer.yaml"))
            .unwrap();
    bp.metadata.uid = Some("bench".into());
    let inputs = BuildInputs::offline(&bp, vec!["events-kafka-bootstrap:9093".into()]);
    let objects = desired(&bp, &inputs);
    let bytes: usize = objects
        .iter()
        .map(|o| serde_json::to_vec(&o.body).unwrap().len())
        .sum();
    for _ in 0..200 {
        black_box(desired(black_box(&bp), &inputs));
    }
    let n = 5_000;
    let start = Instant::now();
    for _ in 0..n {
        black_box(desired(black_box(&bp), &inputs));
    }
    let per = start.elapsed() / n;
    println!(
        "build::desired: {} objects, {bytes} bytes of JSON, {:.1} µs per BigPeer ({n} iterations)",
        objects.len(),
        per.as_secs_f64() * 1e6
    );
}
