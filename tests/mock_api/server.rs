//! A mock Kubernetes API server. The [`Client`] it hands out talks to a `tower_test` mock
//! service; a scenario, a list of [`Exchange`]s, answers the requests the code under test
//! should make, in order. Each request is checked (method, path, query, the `Accept` and
//! `Content-Type` headers, and the body) before it is answered; a request that differs, one
//! that never comes, or one more than the scenario expects, fails the test.
//!
//! ```ignore
//! let (client, server) = serve(vec![get(path).answer(obj)]);
//! let result = code_under_test(&client).await;
//! server.done(client).await; // check the scenario first: its failure explains the result's
//! assert!(result.is_ok());
//! ```

use std::fmt;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tower_test::mock::{self, Handle, SendResponse};

/// How long to wait for the next request before deciding it will never come.
const PATIENCE: Duration = Duration::from_secs(5);

/// What kube's metadata-only reads ask for (`get_metadata`, `list_metadata`).
const METADATA_ONLY: &str = "as=PartialObjectMetadata";

type Check = Box<dyn FnOnce(&Value) + Send>;

/// One request the code under test should make, and the answer it gets.
pub struct Exchange {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    metadata_only: bool,
    content_type: Option<&'static str>,
    checks: Vec<Check>,
    answer: Answer,
}

enum Answer {
    /// A scenario step written without an answer.
    Missing,
    /// An HTTP response with a JSON body.
    Json(StatusCode, Value),
    /// An HTTP response with a plain-text body (a proxy's error page, say).
    Text(StatusCode, String),
    /// The request body back (what the API server returns for a create or an apply).
    Echo,
    /// No HTTP response at all: the connection failed.
    Unreachable,
}

fn exchange(method: Method, path: &str) -> Exchange {
    Exchange {
        method,
        path: path.into(),
        query: vec![],
        metadata_only: false,
        content_type: None,
        checks: vec![],
        answer: Answer::Missing,
    }
}

/// A GET of a whole object or list.
pub fn get(path: &str) -> Exchange {
    exchange(Method::GET, path)
}

/// A GET of metadata only (kube's `get_metadata` and `list_metadata`): the request's `Accept`
/// header must ask for `PartialObjectMetadata`, so the object's data is never sent.
pub fn get_metadata(path: &str) -> Exchange {
    Exchange {
        metadata_only: true,
        ..get(path)
    }
}

/// A POST (a create).
pub fn post(path: &str) -> Exchange {
    exchange(Method::POST, path)
}

/// A DELETE.
pub fn delete(path: &str) -> Exchange {
    exchange(Method::DELETE, path)
}

/// A JSON patch (RFC 6902).
pub fn json_patch(path: &str) -> Exchange {
    exchange(Method::PATCH, path).content_type("application/json-patch+json")
}

/// A server-side apply by the operator: a PATCH of type `apply-patch+yaml` with the field
/// manager `smbp-operator`, forcing ownership of its fields.
pub fn apply(path: &str) -> Exchange {
    exchange(Method::PATCH, path)
        .query(&[("fieldManager", "smbp-operator"), ("force", "true")])
        .content_type("application/apply-patch+yaml")
}

/// A JSON merge patch (RFC 7386).
pub fn merge_patch(path: &str) -> Exchange {
    exchange(Method::PATCH, path).content_type("application/merge-patch+json")
}

impl Exchange {
    /// The query parameters the request must carry, exactly (in any order). Without this, the
    /// request must carry none.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }

    fn content_type(mut self, ct: &'static str) -> Self {
        self.content_type = Some(ct);
        self
    }

    /// Check the JSON body of the request (`Value::Null` when it has none).
    pub fn body(mut self, check: impl FnOnce(&Value) + Send + 'static) -> Self {
        self.checks.push(Box::new(check));
        self
    }

    /// The body must equal `expected`.
    pub fn body_eq(self, expected: Value) -> Self {
        self.body(move |b| assert_eq!(b, &expected, "request body"))
    }

    /// Answer 200 with this object.
    pub fn answer(mut self, obj: Value) -> Self {
        self.answer = Answer::Json(StatusCode::OK, obj);
        self
    }

    /// Answer with a status code and a body that is not JSON, as a proxy in front of the API
    /// server might.
    pub fn answer_raw(mut self, code: u16, text: &str) -> Self {
        self.answer = Answer::Text(
            StatusCode::from_u16(code).expect("an HTTP status"),
            text.into(),
        );
        self
    }

    /// Answer with the request's own body, as the API server does for a create or an apply.
    pub fn echo(mut self) -> Self {
        self.answer = Answer::Echo;
        self
    }

    /// Answer with a failure `Status` (what the API server sends with a 4xx or 5xx).
    pub fn fail(mut self, code: u16, reason: &str, message: &str) -> Self {
        let status = json!({
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        });
        self.answer = Answer::Json(StatusCode::from_u16(code).expect("an HTTP status"), status);
        self
    }

    /// Answer 404 NotFound.
    pub fn not_found(self) -> Self {
        let message = format!("{} not found", self.path);
        self.fail(404, "NotFound", &message)
    }

    /// Answer a DELETE as the API server does when it accepts one.
    pub fn deleted(self) -> Self {
        self.answer(json!({
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Success",
        }))
    }

    /// Send no answer: the connection fails as if the API server could not be reached.
    pub fn unreachable(mut self) -> Self {
        self.answer = Answer::Unreachable;
        self
    }

    /// Check `request` against this step (`step` of `total`, for messages), then answer it.
    async fn serve(
        self,
        request: Request<Body>,
        send: SendResponse<Response<Body>>,
        step: usize,
        total: usize,
    ) {
        let at = format!("step {step}/{total} (expected {self})");
        let (parts, body) = request.into_parts();
        assert_eq!(parts.method, self.method, "{at}: method of {}", parts.uri);
        assert_eq!(parts.uri.path(), self.path, "{at}: path");
        let mut query: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let mut expected_query = self.query.clone();
        query.sort();
        expected_query.sort();
        assert_eq!(query, expected_query, "{at}: query of {}", parts.uri);
        let accept = header_of(&parts, header::ACCEPT);
        assert_eq!(
            accept.contains(METADATA_ONLY),
            self.metadata_only,
            "{at}: Accept header {accept:?} (metadata only: {})",
            self.metadata_only
        );
        if let Some(ct) = self.content_type {
            assert_eq!(
                header_of(&parts, header::CONTENT_TYPE),
                ct,
                "{at}: Content-Type"
            );
        }
        let bytes = body.collect_bytes().await.expect("a readable request body");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{at}: body is not JSON: {e}"))
        };
        for check in self.checks {
            check(&body);
        }
        match self.answer {
            Answer::Missing => panic!("{at}: the scenario gives this step no answer"),
            Answer::Json(code, v) => send.send_response(
                Response::builder()
                    .status(code)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(serde_json::to_vec(&v).expect("JSON")))
                    .expect("a response"),
            ),
            Answer::Text(code, text) => send.send_response(
                Response::builder()
                    .status(code)
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(Body::from(text.into_bytes()))
                    .expect("a response"),
            ),
            Answer::Echo => send.send_response(Response::new(Body::from(bytes.to_vec()))),
            Answer::Unreachable => send.send_error("connection refused (mock API server)"),
        }
    }
}

fn header_of(parts: &http::request::Parts, name: header::HeaderName) -> String {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        if self.metadata_only {
            write!(f, " (metadata only)")?;
        }
        Ok(())
    }
}

/// The scenario, running: see [`serve`].
pub struct Server(JoinHandle<()>);

/// A client whose requests `scenario` answers, in order.
pub fn serve(scenario: Vec<Exchange>) -> (Client, Server) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(run(handle, scenario));
    (Client::new(service, "default"), Server(task))
}

async fn run(mut handle: Handle<Request<Body>, Response<Body>>, scenario: Vec<Exchange>) {
    let total = scenario.len();
    for (i, expected) in scenario.into_iter().enumerate() {
        let step = i + 1;
        match timeout(PATIENCE, handle.next_request()).await {
            Ok(Some((request, send))) => expected.serve(request, send, step, total).await,
            Ok(None) => panic!(
                "step {step}/{total}: expected {expected}, but the code under test made no more requests"
            ),
            Err(_) => {
                panic!("step {step}/{total}: no request for {PATIENCE:?}; expected {expected}")
            }
        }
    }
    match timeout(PATIENCE, handle.next_request()).await {
        Ok(None) => {}
        Ok(Some((request, _))) => panic!(
            "unexpected request after the scenario's {total} steps: {} {}",
            request.method(),
            request.uri()
        ),
        Err(_) => panic!(
            "a Client is still alive after the scenario: give Server::done every holder of it"
        ),
    }
}

impl Server {
    /// Drop `client` (or whatever holds the clients: a context, a recorder), then wait for
    /// the scenario to end: every step asked for, and nothing more. Its failure is this
    /// test's failure.
    pub async fn done<T>(self, client: T) {
        drop(client);
        if let Err(e) = self.0.await {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("mock API server: {e}"),
            }
        }
    }
}
