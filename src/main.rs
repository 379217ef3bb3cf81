//! `smbp-operator`: run the controller, or print the artifacts it generates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kube::runtime::events::{Recorder, Reporter};
use smbp_operator::images::RelatedImages;
use smbp_operator::reconcile::{self, Context, integrations::IntegrationCache};
use smbp_operator::telemetry::metrics::Metrics;
use smbp_operator::telemetry::server::{self, Health};
use smbp_operator::telemetry::tracing_setup::{self, LogFormat};
use smbp_operator::{leader, olm};
use tracing::{error, info};

#[derive(Parser)]
#[command(
    name = "smbp-operator",
    version,
    about = "Kubernetes operator for Self-Managed Big Peer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print every CRD as YAML.
    Crd,
    /// Print the RBAC the operator needs as YAML (ClusterRole and leader-election Role).
    Rbac,
    /// Generate the OLM bundle, File-Based Catalog, scorecard and config/ files.
    BundleGen(BundleArgs),
    /// Print the version.
    Version,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Namespaces to watch, comma separated; empty watches all namespaces.
    #[arg(long, env = "WATCH_NAMESPACE", default_value = "")]
    watch_namespace: String,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8080")]
    metrics_bind_address: SocketAddr,
    /// Take part in leader election; only the Lease holder reconciles.
    #[arg(long, env = "LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "LEADER_ELECTION_LEASE",
        default_value = "smbp-operator-leader"
    )]
    leader_election_lease: String,
    /// Namespace of the Lease; the operator's own (POD_NAMESPACE) by default.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    leader_election_namespace: String,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "json")]
    log_format: LogFormat,
    /// OTLP gRPC endpoint for traces, e.g. http://otel-collector:4317; off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
}

#[derive(clap::Args)]
struct BundleArgs {
    /// Version of this release (semver, no leading v).
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    version: String,
    /// Creation timestamp written to the CSV (RFC 3339); an input so output is reproducible.
    #[arg(long)]
    created_at: String,
    /// Channels of this bundle, comma separated.
    #[arg(long, default_value = "stable,candidate", value_delimiter = ',')]
    channels: Vec<String>,
    /// Default channel of the package.
    #[arg(long, default_value = "stable")]
    default_channel: String,
    /// CSV this release replaces, e.g. smbp-operator.v0.1.0.
    #[arg(long)]
    replaces: Option<String>,
    /// Versions this release can skip from (only together with --replaces).
    #[arg(long, requires = "replaces")]
    skip_range: Option<String>,
    /// Operator image (a digest in a real release).
    #[arg(long)]
    operator_image: Option<String>,
    /// Bundle image the catalog points at (a digest in a real release).
    #[arg(long)]
    bundle_image: Option<String>,
    /// Big Peer image override as RELATED_IMAGE_NAME=reference (repeatable).
    #[arg(long = "related-image")]
    related_images: Vec<String>,
    /// Repository root to write into.
    #[arg(long, default_value = ".")]
    output: std::path::PathBuf,
    /// Also record this version under releases/<version>/ (immutable afterwards).
    #[arg(long)]
    release: bool,
    /// Ship the ServiceMonitor and PrometheusRule in the bundle (only for catalogs whose
    /// clusters serve monitoring.coreos.com/v1: OLM fails the install elsewhere).
    #[arg(long)]
    bundle_monitoring: bool,
}

fn bundle_gen(a: BundleArgs) -> anyhow::Result<()> {
    use smbp_operator::olm::{generate, release::Release};
    let mut r = Release::with_defaults(&a.version, &a.created_at);
    r.channels = a.channels;
    r.default_channel = a.default_channel;
    r.replaces = a.replaces;
    r.skip_range = a.skip_range;
    r.bundle_monitoring = a.bundle_monitoring;
    if let Some(i) = a.operator_image {
        r.operator_image = i;
    }
    if let Some(i) = a.bundle_image {
        r.bundle_image = i;
    }
    for kv in a.related_images {
        let (k, v) = kv
            .split_once('=')
            .context("--related-image takes NAME=reference")?;
        let hit = r
            .bigpeer_images
            .iter_mut()
            .find(|(c, ver, _)| smbp_operator::images::related_image_var(*c, ver) == k);
        match hit {
            Some(entry) => entry.2 = v.to_string(),
            None => anyhow::bail!("{k} is not a related image of this release"),
        }
    }
    let previous = generate::released(&a.output, &r.version)?;
    let mut files = generate::files(&r, &previous);
    if a.release {
        files.extend(generate::release_files(&r));
    }
    let written = generate::write(&a.output, &files)?;
    eprintln!(
        "bundle-gen: {} v{}: wrote {} files ({} earlier releases in the catalog)",
        smbp_operator::olm::release::PACKAGE,
        r.version,
        written.len(),
        previous.len()
    );
    Ok(())
}

fn namespaces(flag: &str) -> Vec<Option<String>> {
    let list: Vec<Option<String>> = flag
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Some(s.to_string()))
        .collect();
    if list.is_empty() { vec![None] } else { list }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let _guard = tracing_setup::init(args.log_format, args.otlp_endpoint.as_deref())?;
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server")?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let health = Health {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    tokio::spawn(async move {
        if let Err(e) = server::serve(args.metrics_bind_address, health).await {
            error!(error = %e, "metrics server failed");
        }
    });
    client
        .apiserver_version()
        .await
        .context("reaching the API server")?;

    let identity = std::env::var("POD_NAME")
        .unwrap_or_else(|_| format!("{}-{}", hostname(), std::process::id()));
    if args.leader_elect {
        let mut leading = leader::elect(
            client.clone(),
            &args.leader_election_namespace,
            &args.leader_election_lease,
            identity.clone(),
        )
        .await?;
        // Standing by is a healthy state: ready regardless of leadership.
        ready.store(true, Ordering::Relaxed);
        info!(
            identity,
            lease = args.leader_election_lease,
            "waiting for leadership"
        );
        tokio::select! {
            r = leading.wait_for(|l| *l) => { r.context("leader election stopped")?; }
            _ = shutdown_signal() => { info!("shut down while standing by"); return Ok(()); }
        }
        metrics.set_leader(true);
        info!(identity, "acquired leadership");
        let lost = async move {
            let _ = leading.wait_for(|l| !*l).await;
        };
        let ctx = context(client, metrics.clone(), &identity);
        let shutdown = async move {
            tokio::select! {
                _ = shutdown_signal() => info!("SIGTERM: finishing reconciles in flight"),
                _ = lost => error!("lost leadership: stopping so that only the new leader writes"),
            }
        };
        // Already ready (standing by); stays ready while the new leader's caches fill.
        reconcile::run(ctx, namespaces(&args.watch_namespace), shutdown, ready).await;
    } else {
        metrics.set_leader(true);
        let ctx = context(client, metrics, &identity);
        // Ready once the caches are synced.
        reconcile::run(
            ctx,
            namespaces(&args.watch_namespace),
            shutdown_signal(),
            ready,
        )
        .await;
    }
    info!("stopped");
    Ok(())
}

fn context(client: kube::Client, metrics: Arc<Metrics>, identity: &str) -> Arc<Context> {
    let reporter = Reporter {
        controller: "smbp-operator".into(),
        instance: Some(identity.to_string()),
    };
    Arc::new(Context {
        recorder: Recorder::new(client.clone(), reporter),
        client,
        metrics,
        images: RelatedImages::from_env(),
        integrations: IntegrationCache::default(),
        failures: Default::default(),
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "smbp-operator".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Crd => {
            print!("{}", olm::crd::yaml());
            Ok(())
        }
        Command::Rbac => {
            print!(
                "---\n{}---\n{}",
                serde_yaml::to_string(&olm::rbac::manager_cluster_role())?,
                serde_yaml::to_string(&olm::rbac::leader_election_role())?
            );
            Ok(())
        }
        Command::BundleGen(args) => bundle_gen(args),
        Command::Version => {
            println!("smbp-operator {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}
