//! `controller::status::write`: no request when the status is unchanged, otherwise one
//! server-side apply of the whole status to the status subresource.

use kube::Api;
use serde_json::json;
use smbp_operator::api::{BigPeer, BigPeerStatus};
use smbp_operator::controller::status::write;

use crate::fixtures::{NS, bigpeer};
use crate::server::{apply, serve};

const STATUS: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeers/prod/status";

fn status(generation: i64) -> BigPeerStatus {
    BigPeerStatus {
        observed_generation: Some(generation),
        version: Some("1.59.0".into()),
        ..BigPeerStatus::default()
    }
}

/// A settled BigPeer costs no write.
#[tokio::test]
async fn unchanged_status_makes_no_request() {
    let mut bp = bigpeer();
    bp.status = Some(status(1));
    let (client, server) = serve(vec![]);
    let api: Api<BigPeer> = Api::namespaced(client.clone(), NS);

    let result = write(&api, &bp, bp.status.as_ref(), &status(1)).await;
    server.done((client, api)).await;

    result.expect("nothing to write");
}

/// A changed status is one apply to `bigpeers/<name>/status`, as the operator's field
/// manager, forcing, carrying the whole status.
#[tokio::test]
async fn changed_status_is_one_apply_to_the_status_subresource() {
    let mut bp = bigpeer();
    bp.status = Some(status(1));
    let new = status(2);
    let mut after = bp.clone();
    after.status = Some(new.clone());
    let (client, server) = serve(vec![
        apply(STATUS)
            .body_eq(json!({
                "apiVersion": "smbp.io/v1alpha1",
                "kind": "BigPeer",
                "status": {"observedGeneration": 2, "version": "1.59.0"},
            }))
            .answer(serde_json::to_value(&after).unwrap()),
    ]);
    let api: Api<BigPeer> = Api::namespaced(client.clone(), NS);

    let result = write(&api, &bp, bp.status.as_ref(), &new).await;
    server.done((client, api)).await;

    result.expect("written");
}

/// A BigPeer without a status yet gets its first one.
#[tokio::test]
async fn first_status_is_written() {
    let bp = bigpeer();
    let mut after = bp.clone();
    after.status = Some(status(1));
    let (client, server) = serve(vec![
        apply(STATUS)
            .body(|b| {
                assert_eq!(b["kind"], "BigPeer");
                assert_eq!(b["status"]["observedGeneration"], 1, "{b}");
            })
            .answer(serde_json::to_value(&after).unwrap()),
    ]);
    let api: Api<BigPeer> = Api::namespaced(client.clone(), NS);

    let result = write(&api, &bp, None, &status(1)).await;
    server.done((client, api)).await;

    result.expect("written");
}
