//! `controller::error`: what the API server answers becomes the category a user reads first
//! (the prefix of the `ReconcileFailed` Event and the errors metric's `reason` label).

use kube::Api;
use smbp_operator::api::reason::Reason;
use smbp_operator::api::{BigPeer, BigPeerStatus};
use smbp_operator::controller::error::Error;
use smbp_operator::controller::status::write;

use crate::fixtures::{NS, bigpeer};
use crate::server::{Exchange, apply, serve};

/// How the API server answers the request.
type Answer = fn(Exchange) -> Exchange;

/// Write a new status, the API server answering as `answer` says; the error.
async fn failed_write(answer: Answer) -> Error {
    let bp = bigpeer();
    let path = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeers/prod/status";
    let (client, server) = serve(vec![answer(apply(path))]);
    let api: Api<BigPeer> = Api::namespaced(client.clone(), NS);
    let result = write(&api, &bp, None, &BigPeerStatus::default()).await;
    server.done((client, api)).await;
    result.expect_err("the API server refused")
}

#[tokio::test]
async fn api_answers_map_to_their_categories() {
    let cases: [(Answer, Reason); 6] = [
        (|e| e.unreachable(), Reason::ApiUnreachable),
        (
            |e| e.fail(500, "InternalError", "etcd timed out"),
            Reason::ApiError,
        ),
        (
            |e| e.fail(404, "NotFound", "bigpeers \"prod\" not found"),
            Reason::ApiError,
        ),
        (
            |e| e.fail(409, "Conflict", "conflict with \"kubectl\""),
            Reason::Conflict,
        ),
        (
            |e| e.fail(422, "Invalid", "status.version: Invalid value"),
            Reason::Invalid,
        ),
        (
            |e| e.fail(403, "Forbidden", "cannot patch bigpeers/status"),
            Reason::Forbidden,
        ),
    ];
    for (answer, reason) in cases {
        let err = failed_write(answer).await;
        assert_eq!(err.reason(), reason, "{err}");
        let message = err.to_string();
        assert!(message.starts_with("writing status: "), "{message}");
    }
}

/// An answer that is not a JSON `Status` (a proxy's HTML page, say) still keeps its code.
#[tokio::test]
async fn a_non_status_answer_keeps_its_http_code() {
    let err = failed_write(|e| e.answer_raw(503, "<html>upstream unavailable</html>")).await;
    assert_eq!(err.reason(), Reason::ApiError, "{err}");
    let err = failed_write(|e| e.answer_raw(403, "forbidden by proxy")).await;
    assert_eq!(err.reason(), Reason::Forbidden, "{err}");
}
