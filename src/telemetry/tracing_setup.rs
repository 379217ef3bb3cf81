//! Logging (JSON or text) and optional OTLP trace export.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// Keeps the trace pipeline alive; flushes spans on drop.
pub struct TracingGuard(Option<SdkTracerProvider>);

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = p.shutdown();
        }
    }
}

/// The tracer provider: spans always get trace ids (so logs and exemplars carry them); they
/// are exported only when an OTLP endpoint is configured.
fn provider(otlp_endpoint: Option<&str>) -> anyhow::Result<SdkTracerProvider> {
    let builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name("smbp-operator")
            .build(),
    );
    Ok(match otlp_endpoint {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            builder.with_batch_exporter(exporter).build()
        }
        None => builder.build(),
    })
}

/// Log lines as JSON or text; JSON lines carry the fields of every enclosing span, so each
/// line of a reconcile shows its BigPeer and trace id.
fn fmt_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
    }
}

/// Install the global subscriber. `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> anyhow::Result<TracingGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,kube_lease_manager=warn"));
    let provider = provider(otlp_endpoint)?;
    let tracer = provider.tracer("smbp-operator");
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer(format, std::io::stdout))
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()?;
    Ok(TracingGuard(Some(provider)))
}

/// Trace id of a span (32 hex digits), when tracing is set up.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let ctx = span.context();
    let sc = ctx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing::info_span;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A reconcile span gets a trace id; child spans share it; every JSON log line inside
    /// (child spans included) carries it.
    #[test]
    fn trace_id_reaches_every_log_line_of_the_reconcile() {
        let out = Captured::default();
        let writer = out.clone();
        let provider = provider(None).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(fmt_layer(LogFormat::Json, move || writer.clone()))
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let (outer, inner) = tracing::subscriber::with_default(subscriber, || {
            let span = info_span!(
                "reconcile",
                bigpeer = "ns/bp",
                trace_id = tracing::field::Empty
            );
            let id = trace_id(&span).expect("a trace id");
            span.record("trace_id", tracing::field::display(&id));
            let _g = span.enter();
            tracing::info!("outer line");
            let child = info_span!("apply", kind = "Service");
            let inner = trace_id(&child).unwrap();
            child.in_scope(|| tracing::info!("inner line"));
            (id, inner)
        });
        assert_eq!(outer.len(), 32);
        assert_eq!(outer, inner, "child spans belong to the same trace");
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for l in lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["spans"][0]["trace_id"], outer.as_str(), "{l}");
        }
    }
}
