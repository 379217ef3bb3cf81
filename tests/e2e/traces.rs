//! Traces leave the operator over OTLP: a gRPC trace receiver on loopback collects what the
//! operator exports while it reconciles a BigPeer. Each reconcile is one trace with a
//! `reconcile` root span and child spans for observing, building, each applied object and
//! writing status; the trace id of a reconcile is in that reconcile's log lines. (The
//! `reconcile` span sits under kube-runtime's `reconciling object` span, the trace's root.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(120);

/// Spans received, with the service name of their resource.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                    AnyValue::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                spans.extend(ss.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            _ => None,
        }
    })
}

fn spans_named(r: &Receiver, name: &str) -> usize {
    r.0.lock()
        .unwrap()
        .iter()
        .filter(|(_, s)| s.name == name)
        .count()
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn reconciles_are_exported_as_traces_with_a_span_per_step() {
    let receiver = Receiver::default();
    let port = free_port();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve(format!("127.0.0.1:{port}").parse().unwrap()),
    );
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-traces").await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let op = Operator::start_with(
        &kubeconfig,
        "traces",
        free_port(),
        false,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    apply_bigpeer(&client, &bigpeer("traced", &ns))
        .await
        .unwrap();
    wait_ready(&client, &ns, "traced", LONG).await;
    let key = format!("{ns}/traced");

    // The batch exporter sends every few seconds: wait for a reconcile that applied objects.
    let (root, children) = wait_for("a reconcile trace with its child spans", LONG, || async {
        let spans = receiver.0.lock().unwrap().clone();
        spans.iter().find_map(|(service, root)| {
            let is_root = root.name == "reconcile"
                && attribute(root, "bigpeer").as_deref() == Some(key.as_str());
            if !is_root || service != "smbp-operator" {
                return None;
            }
            let children: Vec<Span> = spans
                .iter()
                .map(|(_, s)| s)
                .filter(|s| s.trace_id == root.trace_id && s.span_id != root.span_id)
                .cloned()
                .collect();
            children
                .iter()
                .any(|s| s.name == "apply")
                .then(|| (root.clone(), children))
        })
    })
    .await;
    eprintln!("{} spans received", receiver.0.lock().unwrap().len());

    let names: BTreeMap<&str, usize> = children.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.name.as_str()).or_default() += 1;
        m
    });
    for step in [
        "observe",
        "build",
        "apply_and_prune",
        "inventory",
        "apply",
        "write_status",
    ] {
        assert!(names.contains_key(step), "no {step} span in {names:?}");
    }
    // One apply span per applied object, each naming it, under apply_and_prune.
    let parent = children
        .iter()
        .find(|s| s.name == "apply_and_prune")
        .unwrap();
    let applies: Vec<&Span> = children.iter().filter(|s| s.name == "apply").collect();
    assert!(applies.len() >= 10, "{} apply spans", applies.len());
    assert!(applies.iter().all(|s| s.parent_span_id == parent.span_id));
    assert!(
        applies
            .iter()
            .any(|s| attribute(s, "kind").as_deref() == Some("StatefulSet")
                && attribute(s, "name").as_deref() == Some("traced-store"))
    );
    assert_eq!(parent.parent_span_id, root.span_id);
    // The same trace id is in the log lines of that reconcile.
    let trace_id: String = root.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        attribute(&root, "trace_id").as_deref(),
        Some(trace_id.as_str())
    );
    assert!(
        op.logs().contains(&format!("trace_id={trace_id}")),
        "trace id {trace_id} not in the logs"
    );
    assert!(
        spans_named(&receiver, "reconciling object") > 0,
        "kube-runtime's span is exported too"
    );
    drop(op);
    server.abort();
}
