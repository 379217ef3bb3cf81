//! `smbp-operator`: run the controller, or print the artifacts it generates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kube::runtime::events::{Recorder, Reporter};
use smbp_operator::controller::{Context, integrations::IntegrationCache};
use smbp_operator::controllers;
use smbp_operator::facts;
use smbp_operator::images::RelatedImages;
use smbp_operator::telemetry::metrics::Metrics;
use smbp_operator::telemetry::review::KubeReviewer;
use smbp_operator::telemetry::server::{self, Security};
use smbp_operator::telemetry::tracing_setup::{self, LogFormat};
use smbp_operator::webhook::{self, serve::Certificate};
use smbp_operator::{leader, mgmt, olm};
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
    /// Generate the OLM bundles (community and OpenShift), File-Based Catalog, scorecard and
    /// config/ files.
    BundleGen(BundleArgs),
    /// Print the version.
    Version,
    /// Collect diagnostics (must-gather): every BigPeer and what it owns, pods and logs,
    /// Events, the operator, OLM and add-on objects, with every secret value redacted.
    Gather(smbp_operator::gather::cli::Args),
    /// Print the krew manifest of the kubectl plugin (kubectl-smbp) of a release.
    KrewManifest(KrewArgs),
    /// List every image of a release (operator, must-gather, Big Peer and connector images per
    /// version, bundles, catalog) from its bundle, catalog and image references.
    Images(olm::mirror_cli::ImagesArgs),
    /// Write what a disconnected cluster needs to pull a release from a mirror registry:
    /// ImageDigestMirrorSet, ImageContentSourcePolicy, CatalogSource, kustomize overlay,
    /// Helm values, and the source=mirror mapping for copying.
    MirrorConfig(olm::mirror_cli::MirrorArgs),
}

#[derive(clap::Args)]
struct KrewArgs {
    /// Version of the release (semver; a leading v is accepted).
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    version: String,
    /// URL the archives are downloaded from (the release's download directory).
    #[arg(long)]
    base_url: String,
    /// `sha256sum` output covering kubectl-smbp_v<version>_<os>_<arch>.tar.gz of every platform.
    #[arg(long)]
    checksums: PathBuf,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Namespaces to watch, comma separated; empty watches all namespaces.
    #[arg(long, env = "WATCH_NAMESPACE", default_value = "")]
    watch_namespace: String,
    /// BigPeers reconciled at the same time, at most (per watched namespace); 0: no limit.
    #[arg(long, env = "MAX_CONCURRENT_RECONCILES", default_value_t = 8)]
    max_concurrent_reconciles: u16,
    /// Address of /metrics: host:port, or :port for every interface (8443 by convention
    /// with --metrics-secure).
    #[arg(long, env = "METRICS_BIND_ADDRESS", default_value = "0.0.0.0:8080", value_parser = server::parse_bind_address)]
    metrics_bind_address: SocketAddr,
    /// Address of the /healthz and /readyz probes (always plain HTTP).
    #[arg(long, env = "HEALTH_PROBE_BIND_ADDRESS", default_value = "0.0.0.0:8081", value_parser = server::parse_bind_address)]
    health_probe_bind_address: SocketAddr,
    /// Serve /metrics over HTTPS, only to bearer tokens whose user may get the non-resource
    /// URL /metrics (TokenReview + SubjectAccessReview); plain HTTP when false.
    #[arg(long, env = "METRICS_SECURE", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    metrics_secure: bool,
    /// Directory holding tls.crt and tls.key for --metrics-secure, reloaded when they change;
    /// a self-signed certificate made at start when unset.
    #[arg(long, env = "METRICS_CERT_DIR")]
    metrics_cert_dir: Option<PathBuf>,
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
    /// Address of the BigPeer validating admission webhook (HTTPS): host:port or :port; 0 or
    /// empty turns it off. Every replica serves it (no leader lease needed).
    #[arg(long, env = "WEBHOOK_BIND_ADDRESS", default_value = "0.0.0.0:9443", value_parser = webhook_address)]
    webhook_bind_address: WebhookAddress,
    /// Directory holding the webhook's tls.crt and tls.key (where OLM mounts them), reloaded
    /// when they change; the webhook is served once they exist.
    #[arg(long, env = "WEBHOOK_CERT_DIR", default_value = facts::WEBHOOK_CERT_DIR)]
    webhook_cert_dir: PathBuf,
    /// Local runs (`make run`, end-to-end tests): serve the webhook on 127.0.0.1 with a
    /// certificate made for the run, register a ValidatingWebhookConfiguration pointing at it,
    /// and remove it on exit. Needs permission to manage validatingwebhookconfigurations.
    #[arg(long, env = "WEBHOOK_REGISTER_LOCAL", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    webhook_register_local: bool,
    /// Keep the webhook certificate in this Secret of the operator's namespace (POD_NAMESPACE):
    /// a CA and a serving certificate for the webhook Service, made when absent, renewed
    /// before they expire, served by every replica without a restart (instead of
    /// --webhook-cert-dir). Used by the kustomize install; OLM provides its own.
    #[arg(long, env = "WEBHOOK_CERT_SECRET")]
    webhook_cert_secret: Option<String>,
    /// The Service the API server calls the webhook through (the names of the certificate
    /// kept with --webhook-cert-secret: <service>.<namespace>.svc).
    #[arg(long, env = "WEBHOOK_SERVICE", default_value = facts::WEBHOOK_SERVICE)]
    webhook_service: String,
    /// With --webhook-cert-secret: the ValidatingWebhookConfiguration whose webhook
    /// vbigpeer.smbp.io gets the CA as caBundle (set again when changed or cleared); empty:
    /// leave caBundle alone.
    #[arg(long, env = "WEBHOOK_CONFIGURATION", default_value = "")]
    webhook_configuration: String,
    /// Address of the management API (Ditto's Operator Management API: apps, auth providers
    /// and API keys over HTTPS): host:port or :port; 0 or empty turns it off. Every replica
    /// serves it (no leader lease needed).
    #[arg(long, env = "API_BIND_ADDRESS", default_value = mgmt::DEFAULT_BIND_ADDRESS, value_parser = api_address)]
    api_bind_address: ApiAddress,
    /// Directory holding the management API's tls.crt and tls.key, reloaded when they change;
    /// a self-signed certificate made at start when unset.
    #[arg(long, env = "API_CERT_DIR")]
    api_cert_dir: Option<PathBuf>,
    /// Serve the management API over plain HTTP WITHOUT authentication or authorization:
    /// anyone who reaches the port acts with the operator's permissions. Only for a local
    /// run; a warning is logged at start.
    #[arg(long, env = "API_INSECURE", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    api_insecure: bool,
}

/// `--api-bind-address`: an address, or none (turned off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ApiAddress(Option<SocketAddr>);

fn api_address(s: &str) -> Result<ApiAddress, String> {
    mgmt::parse_bind_address(s).map(ApiAddress)
}

/// `--webhook-bind-address`: an address, or none (turned off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WebhookAddress(Option<SocketAddr>);

fn webhook_address(s: &str) -> Result<WebhookAddress, String> {
    webhook::parse_bind_address(s).map(WebhookAddress)
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
    /// The must-gather image (a digest in a real release).
    #[arg(long, env = "MUST_GATHER_IMAGE")]
    must_gather_image: Option<String>,
    /// Big Peer image override as RELATED_IMAGE_NAME=reference (repeatable).
    #[arg(long = "related-image")]
    related_images: Vec<String>,
    /// Repository root to write into.
    #[arg(long, default_value = ".")]
    output: std::path::PathBuf,
    /// Also record this version under releases/<version>/ (immutable afterwards).
    #[arg(long)]
    release: bool,
    /// Bundle flavour catalog/ lists as this release: community (committed), or openshift
    /// for the index image certification installs from (pass the OpenShift bundle image as
    /// --bundle-image). Both bundle directories are always written.
    #[arg(long, value_enum, default_value = "community")]
    catalog_flavour: olm::flavour::Flavour,
}

fn bundle_gen(a: BundleArgs) -> anyhow::Result<()> {
    use smbp_operator::olm::{generate, release::Release};
    let mut r = Release::with_defaults(&a.version, &a.created_at);
    r.channels = a.channels;
    r.default_channel = a.default_channel;
    r.replaces = a.replaces;
    r.skip_range = a.skip_range;
    r.catalog_flavour = a.catalog_flavour;
    if let Some(i) = a.operator_image {
        r.operator_image = i;
    }
    if let Some(i) = a.bundle_image {
        r.bundle_image = i;
    }
    if let Some(i) = a.must_gather_image {
        r.must_gather_image = i;
    }
    for kv in a.related_images {
        let (k, v) = kv
            .split_once('=')
            .context("--related-image takes NAME=reference")?;
        let hit = r
            .bigpeer_images
            .iter_mut()
            .find(|(c, ver, _)| smbp_operator::images::related_image_var(*c, ver) == k)
            .map(|entry| &mut entry.2)
            .or_else(|| {
                r.mongo_connector_images
                    .iter_mut()
                    .find(|(ver, _)| smbp_operator::images::mongo_connector_var(ver) == k)
                    .map(|entry| &mut entry.1)
            });
        match hit {
            Some(image) => *image = v.to_string(),
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

/// How /metrics is served. The self-signed certificate names the metrics Service in the
/// operator's namespace.
fn endpoints(args: &RunArgs) -> anyhow::Result<server::Config> {
    let cert_dir = args
        .metrics_cert_dir
        .clone()
        .filter(|d| !d.as_os_str().is_empty());
    let security = match (args.metrics_secure, cert_dir) {
        (false, Some(_)) => anyhow::bail!("--metrics-cert-dir needs --metrics-secure=true"),
        (false, None) => Security::Plain,
        (true, cert_dir) => {
            let svc = facts::METRICS_SERVICE;
            let ns = &args.leader_election_namespace;
            Security::Secure {
                cert_dir,
                names: vec![
                    "localhost".into(),
                    format!("{svc}.{ns}.svc"),
                    format!("{svc}.{ns}.svc.cluster.local"),
                ],
            }
        }
    };
    Ok(server::Config {
        health: args.health_probe_bind_address,
        metrics: args.metrics_bind_address,
        security,
    })
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let _guard = tracing_setup::init(args.log_format, args.otlp_endpoint.as_deref())?;
    let endpoints = endpoints(&args)?;
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server")?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    server::start(
        endpoints,
        metrics.clone(),
        ready.clone(),
        Arc::new(KubeReviewer::new(client.clone())),
    )
    .await
    .context("starting the metrics and health endpoints")?;
    client
        .apiserver_version()
        .await
        .context("reaching the API server")?;
    let local = start_webhook(&args, &client, &metrics).await?;
    start_api(&args, &client)
        .await
        .context("starting the management API")?;
    let result = control(args, client.clone(), metrics, ready).await;
    if local {
        match webhook::local::deregister(&client).await {
            Ok(()) => info!(
                name = facts::WEBHOOK_LOCAL_CONFIGURATION,
                "removed the local ValidatingWebhookConfiguration"
            ),
            Err(e) => {
                error!(error = %e, name = facts::WEBHOOK_LOCAL_CONFIGURATION, "could not remove the local ValidatingWebhookConfiguration: delete it by hand, or BigPeer writes are refused")
            }
        }
    }
    result
}

/// Serve the admission webhook (every replica, before and regardless of leadership); with
/// `--webhook-register-local`, on 127.0.0.1 with a certificate made for this run, registered
/// with the API server. Returns whether a local registration is to be removed on exit.
async fn start_webhook(
    args: &RunArgs,
    client: &kube::Client,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<bool> {
    let Some(addr) = args.webhook_bind_address.0 else {
        info!("admission webhook turned off");
        return Ok(false);
    };
    let hook = Arc::new(webhook::Webhook {
        client: client.clone(),
        images: RelatedImages::from_env(),
        integrations: IntegrationCache::default(),
        namespaces: namespaces(&args.watch_namespace),
        metrics: metrics.clone(),
    });
    if let Some(secret) = args.webhook_cert_secret.clone().filter(|s| !s.is_empty())
        && !args.webhook_register_local
    {
        let settings = webhook::keeper::Settings {
            namespace: args.leader_election_namespace.clone(),
            secret,
            service: args.webhook_service.clone(),
            configuration: Some(args.webhook_configuration.clone()).filter(|c| !c.is_empty()),
        };
        let (tx, rx) = tokio::sync::watch::channel(None);
        let what = format!("Secret {}/{}", settings.namespace, settings.secret);
        let source = smbp_operator::telemetry::tls::SharedSource::new(what, rx);
        webhook::serve::start(addr, Certificate::Shared(source), hook)
            .await
            .context("starting the admission webhook")?;
        info!(secret = %settings.secret, namespace = %settings.namespace, names = ?settings.names(), configuration = ?settings.configuration, "keeping the webhook certificate");
        tokio::spawn(webhook::keeper::run(client.clone(), settings, tx));
        return Ok(false);
    }
    if !args.webhook_register_local {
        webhook::serve::start(addr, Certificate::Dir(args.webhook_cert_dir.clone()), hook)
            .await
            .context("starting the admission webhook")?;
        return Ok(false);
    }
    let (key, ca) = webhook::local::certificate().context("making the webhook certificate")?;
    let loopback = SocketAddr::from(([127, 0, 0, 1], addr.port()));
    let bound = webhook::serve::start(loopback, Certificate::Key(key), hook)
        .await
        .context("starting the admission webhook")?;
    let watched: Vec<String> = namespaces(&args.watch_namespace)
        .into_iter()
        .flatten()
        .collect();
    let vwc = webhook::local::configuration(bound.port(), &ca, &watched);
    webhook::local::register(client, &vwc)
        .await
        .context("registering the local ValidatingWebhookConfiguration")?;
    info!(
        name = facts::WEBHOOK_LOCAL_CONFIGURATION,
        url = %format!("https://{bound}{}", facts::WEBHOOK_PATH),
        "registered the local ValidatingWebhookConfiguration"
    );
    Ok(true)
}

/// How the management API is served. The self-signed certificate names the API Service in the
/// operator's namespace.
fn api_security(args: &RunArgs) -> anyhow::Result<mgmt::serve::Security> {
    let cert_dir = args
        .api_cert_dir
        .clone()
        .filter(|d| !d.as_os_str().is_empty());
    Ok(match (args.api_insecure, cert_dir) {
        (true, Some(_)) => anyhow::bail!("--api-cert-dir and --api-insecure exclude each other"),
        (true, None) => mgmt::serve::Security::Insecure,
        (false, cert_dir) => {
            let svc = facts::API_SERVICE;
            let ns = &args.leader_election_namespace;
            mgmt::serve::Security::Secure {
                cert_dir,
                names: vec![
                    "localhost".into(),
                    "127.0.0.1".into(),
                    format!("{svc}.{ns}.svc"),
                    format!("{svc}.{ns}.svc.cluster.local"),
                ],
            }
        }
    })
}

/// Serve the management API (every replica, before and regardless of leadership), reading its
/// own watch caches of apps and keys.
async fn start_api(args: &RunArgs, client: &kube::Client) -> anyhow::Result<()> {
    let Some(addr) = args.api_bind_address.0 else {
        info!("management API turned off");
        return Ok(());
    };
    let security = api_security(args)?;
    let (stores, feeds) = mgmt::store::Stores::watch(client, &namespaces(&args.watch_namespace));
    tokio::spawn(smbp_operator::controller::cache::drive(feeds));
    let reviewer: Option<Arc<dyn smbp_operator::telemetry::access::Reviewer>> = match security {
        mgmt::serve::Security::Insecure => None,
        mgmt::serve::Security::Secure { .. } => Some(Arc::new(KubeReviewer::new(client.clone()))),
    };
    let api = Arc::new(mgmt::handlers::Api::new(client.clone(), stores, reviewer));
    mgmt::serve::start(addr, security, api).await?;
    Ok(())
}

/// Leader election (when on) and the controllers, until shutdown.
async fn control(
    args: RunArgs,
    client: kube::Client,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
) -> anyhow::Result<()> {
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
        controllers::run(
            ctx,
            namespaces(&args.watch_namespace),
            args.max_concurrent_reconciles,
            shutdown,
            ready,
        )
        .await;
    } else {
        metrics.set_leader(true);
        let ctx = context(client, metrics, &identity);
        // Ready once the caches are synced.
        controllers::run(
            ctx,
            namespaces(&args.watch_namespace),
            args.max_concurrent_reconciles,
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
        controller: facts::MANAGER.into(),
        instance: Some(identity.to_string()),
    };
    Arc::new(Context::new(
        client.clone(),
        Recorder::new(client, reporter),
        metrics,
        RelatedImages::from_env(),
    ))
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
                serde_yaml_ng::to_string(&olm::rbac::manager_cluster_role())?,
                serde_yaml_ng::to_string(&olm::rbac::leader_election_role())?
            );
            Ok(())
        }
        Command::BundleGen(args) => bundle_gen(args),
        Command::Version => {
            println!("smbp-operator {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::KrewManifest(a) => {
            use smbp_operator::plugin::krew;
            let sums = std::fs::read_to_string(&a.checksums)
                .with_context(|| format!("reading {}", a.checksums.display()))?;
            let manifest = krew::manifest(&a.version, &a.base_url, &krew::parse_checksums(&sums))
                .map_err(anyhow::Error::msg)?;
            print!("{manifest}");
            Ok(())
        }
        Command::Gather(args) => smbp_operator::gather::cli::run(args).await,
        Command::Images(args) => olm::mirror_cli::images(args),
        Command::MirrorConfig(args) => olm::mirror_cli::mirror_config(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(extra: &[&str]) -> RunArgs {
        let argv = ["smbp-operator", "run"].iter().chain(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Run(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_generated_deployment_args_parse_to_secure_metrics() {
        let args = olm::manager::args();
        let extra: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
        let a = run_args(&extra);
        let cfg = endpoints(&a).unwrap();
        assert_eq!(cfg.metrics, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(cfg.health, "0.0.0.0:8081".parse().unwrap());
        match cfg.security {
            Security::Secure { cert_dir, names } => {
                assert_eq!(cert_dir, None);
                assert!(names.contains(&"localhost".to_string()));
            }
            Security::Plain => panic!("the Deployment must serve secure metrics"),
        }
    }

    #[test]
    fn the_kustomize_deployment_args_keep_the_webhook_certificate() {
        let r = olm::release::Release::with_defaults("1.2.3", "2026-01-01T00:00:00Z");
        let d = olm::manager::deployment(&r, false);
        let args = d.spec.unwrap().template.spec.unwrap().containers[0]
            .args
            .clone()
            .unwrap();
        let extra: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
        let a = run_args(&extra);
        assert_eq!(
            a.webhook_cert_secret.as_deref(),
            Some(facts::WEBHOOK_CERT_SECRET)
        );
        assert_eq!(a.webhook_service, facts::WEBHOOK_SERVICE);
        assert_eq!(a.webhook_configuration, facts::WEBHOOK_CONFIGURATION);
        assert!(!a.webhook_register_local);
    }

    #[test]
    fn the_webhook_flags_keep_their_interface() {
        // Only meaningful when the environment does not set the flags.
        if [
            "WEBHOOK_BIND_ADDRESS",
            "WEBHOOK_CERT_DIR",
            "WEBHOOK_REGISTER_LOCAL",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
        {
            return;
        }
        let a = run_args(&[]);
        assert_eq!(
            a.webhook_bind_address,
            WebhookAddress(Some("0.0.0.0:9443".parse().unwrap()))
        );
        assert_eq!(
            a.webhook_cert_dir,
            PathBuf::from("/tmp/k8s-webhook-server/serving-certs")
        );
        assert!(!a.webhook_register_local);
        assert_eq!(
            run_args(&["--webhook-bind-address=0"]).webhook_bind_address,
            WebhookAddress(None)
        );
        assert_eq!(
            run_args(&["--webhook-bind-address", ""]).webhook_bind_address,
            WebhookAddress(None)
        );
        let local = run_args(&["--webhook-register-local", "--webhook-bind-address=:19443"]);
        assert!(local.webhook_register_local);
        assert_eq!(
            local.webhook_bind_address,
            WebhookAddress(Some("0.0.0.0:19443".parse().unwrap()))
        );
    }

    #[test]
    fn the_api_flags_keep_their_interface() {
        // Only meaningful when the environment does not set the flags.
        if ["API_BIND_ADDRESS", "API_CERT_DIR", "API_INSECURE"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
        {
            return;
        }
        let a = run_args(&[]);
        assert_eq!(
            a.api_bind_address,
            ApiAddress(Some("0.0.0.0:9444".parse().unwrap()))
        );
        match api_security(&a).unwrap() {
            mgmt::serve::Security::Secure { cert_dir, names } => {
                assert_eq!(cert_dir, None, "self-signed by default");
                assert!(names.contains(&"smbp-operator-api.default.svc".to_string()));
            }
            mgmt::serve::Security::Insecure => panic!("secure by default"),
        }
        assert_eq!(
            run_args(&["--api-bind-address=0"]).api_bind_address,
            ApiAddress(None)
        );
        assert_eq!(
            run_args(&["--api-bind-address", ""]).api_bind_address,
            ApiAddress(None)
        );
        assert_eq!(
            run_args(&["--api-bind-address=:19444"]).api_bind_address,
            ApiAddress(Some("0.0.0.0:19444".parse().unwrap()))
        );
        assert_eq!(
            api_security(&run_args(&["--api-insecure"])).unwrap(),
            mgmt::serve::Security::Insecure
        );
        match api_security(&run_args(&["--api-cert-dir=/certs"])).unwrap() {
            mgmt::serve::Security::Secure { cert_dir, .. } => {
                assert_eq!(cert_dir, Some("/certs".into()))
            }
            mgmt::serve::Security::Insecure => panic!("secure expected"),
        }
        assert!(api_security(&run_args(&["--api-insecure", "--api-cert-dir=/certs"])).is_err());
    }

    #[test]
    fn local_runs_default_to_plain_http() {
        // Only meaningful when the environment does not set the flags.
        if std::env::var_os("METRICS_SECURE").is_some()
            || std::env::var_os("METRICS_CERT_DIR").is_some()
        {
            return;
        }
        let cfg = endpoints(&run_args(&[])).unwrap();
        assert_eq!(cfg.security, Security::Plain);
        let bare = run_args(&["--metrics-secure", "--metrics-bind-address=:9443"]);
        assert!(bare.metrics_secure);
        assert_eq!(bare.metrics_bind_address, "0.0.0.0:9443".parse().unwrap());
        let with_dir = run_args(&["--metrics-secure=true", "--metrics-cert-dir=/certs"]);
        match endpoints(&with_dir).unwrap().security {
            Security::Secure { cert_dir, .. } => assert_eq!(cert_dir, Some("/certs".into())),
            Security::Plain => panic!("secure expected"),
        }
        assert!(endpoints(&run_args(&["--metrics-cert-dir=/certs"])).is_err());
    }
}
