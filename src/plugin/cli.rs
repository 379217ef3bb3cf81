//! The commands of `kubectl smbp`. Thin I/O over [`super::collect`] and the pure modules.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use serde_json::{Value, json};

use super::access::Access;
use super::collect::{self, read};
use super::render::{self, Style};
use super::{report, versions};
use crate::api::{BigPeer, Component, PAUSED_ANNOTATION};
use crate::build::{labels, pod};
use crate::rollout::restart;

/// `kubectl smbp`: inspect and operate BigPeers (Self-Managed Big Peer).
#[derive(Parser, Debug)]
#[command(name = "kubectl-smbp", bin_name = "kubectl smbp", version)]
pub struct Cli {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, then "default").
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Cmd,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One screen for people.
    Text,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// A Big Peer component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ComponentArg {
    /// The store (StatefulSet; restarted one pod at a time).
    Store,
    /// The subscription servers.
    Subscription,
    /// The HTTP API servers.
    Api,
}

impl From<ComponentArg> for Component {
    fn from(c: ComponentArg) -> Self {
        match c {
            ComponentArg::Store => Component::Store,
            ComponentArg::Subscription => Component::Subscription,
            ComponentArg::Api => Component::Api,
        }
    }
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// One screen about a BigPeer: conditions, replicas, versions, topology, rollout and
    /// stuck pods with why, exposure, certificates, apps and keys, recent Events.
    Status {
        /// BigPeer name.
        name: String,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "text")]
        output: Output,
        /// Events shown, at most.
        #[arg(long, default_value_t = 20)]
        events: usize,
    },
    /// Pause reconciliation (the smbp.io/paused annotation): the operator changes nothing.
    Pause {
        /// BigPeer name.
        name: String,
    },
    /// Resume reconciliation (remove the smbp.io/paused annotation).
    Resume {
        /// BigPeer name.
        name: String,
    },
    /// Ask the operator for a safe rolling restart (the store one pod at a time, each only
    /// while every other store pod is ready).
    Restart {
        /// BigPeer name.
        name: String,
        /// Restart only this component (default: all).
        #[arg(long, value_enum)]
        component: Option<ComponentArg>,
    },
    /// Logs of the BigPeer's pods, each line prefixed by its pod.
    Logs {
        /// BigPeer name.
        name: String,
        /// Only this component's pods.
        #[arg(long, value_enum)]
        component: Option<ComponentArg>,
        /// The previous container's logs (after a restart).
        #[arg(short = 'p', long)]
        previous: bool,
        /// Follow the logs.
        #[arg(short = 'f', long)]
        follow: bool,
        /// Lines from the end of each pod's log.
        #[arg(long)]
        tail: Option<i64>,
    },
    /// Diagnostics for support as one .tar.gz: the same collection as must-gather
    /// (`smbp-operator gather`), every secret value redacted, with a summary of what is
    /// unhealthy and of what could not be collected.
    Report {
        /// Every namespace holding smbp.io objects, and the operator's (default: only the
        /// selected namespace).
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Only logs newer than this, e.g. 1h or 30m.
        #[arg(long, value_parser = crate::gather::cli::parse_since)]
        since: Option<std::time::Duration>,
        /// The operator's namespace, when it cannot be found (a user without cluster-wide read).
        #[arg(long)]
        operator_namespace: Option<String>,
        /// The archive to write (default: smbp-report-<UTC time>.tar.gz in the current
        /// directory).
        #[arg(short = 'f', long)]
        file: Option<PathBuf>,
    },
    /// Versions of the plugin, Kubernetes, the operator, the CRDs and every BigPeer, with
    /// warnings on skews the operator does not support.
    Versions {
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "text")]
        output: Output,
    },
}

/// A client and the namespace, as kubectl would choose them.
async fn connect(cli: &Cli) -> Result<(Client, String), String> {
    let options = KubeConfigOptions {
        context: cli.context.clone(),
        cluster: None,
        user: None,
    };
    let config = match &cli.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| format!("reading kubeconfig {}: {e}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        None => match Config::from_kubeconfig(&options).await {
            Ok(c) => c,
            Err(e) if cli.context.is_none() => {
                Config::incluster().map_err(|_| format!("no usable kubeconfig: {e}"))?
            }
            Err(e) => return Err(format!("kubeconfig: {e}")),
        },
    };
    let ns = cli
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| format!("client: {e}"))?;
    Ok((client, ns))
}

fn print_doc<T: serde::Serialize>(doc: &T, output: Output) -> Result<(), String> {
    let text = match output {
        Output::Json => serde_json::to_string_pretty(doc).map_err(|e| e.to_string())? + "\n",
        Output::Yaml => serde_yaml_ng::to_string(doc).map_err(|e| e.to_string())?,
        Output::Text => unreachable!("text is rendered by each command"),
    };
    print!("{text}");
    Ok(())
}

/// Merge-patch the BigPeer's annotations.
async fn annotate(client: &Client, ns: &str, name: &str, annotations: Value) -> Result<(), String> {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": annotations}});
    read(
        Access::ns("patch", "bigpeers.smbp.io", ns),
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)),
    )
    .await
    .map(|_| ())
    .map_err(|f| f.to_string())
}

async fn logs(
    client: &Client,
    ns: &str,
    name: &str,
    component: Option<Component>,
    lp: LogParams,
) -> Result<(), String> {
    let mut pods: Vec<Pod> = collect::pods(client, ns, name)
        .await
        .map_err(|f| f.to_string())?;
    if let Some(c) = component {
        pods.retain(|p| p.labels().get(labels::COMPONENT).map(String::as_str) == Some(c.as_str()));
    }
    pods.sort_by_key(ResourceExt::name_any);
    if pods.is_empty() {
        return Err(format!("BigPeer {name} has no pods in namespace {ns}"));
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let access = || Access::ns("get", "pods/log", ns);
    if !lp.follow {
        let mut out = std::io::stdout().lock();
        for p in &pods {
            let pod = p.name_any();
            let text = read(access(), api.logs(&pod, &lp))
                .await
                .map_err(|f| format!("{pod}: {f}"))?;
            for line in text.lines() {
                let _ = writeln!(out, "[{pod}] {line}");
            }
        }
        return Ok(());
    }
    let mut streams = vec![];
    for p in &pods {
        let pod = p.name_any();
        let lines = read(access(), api.log_stream(&pod, &lp))
            .await
            .map_err(|f| format!("{pod}: {f}"))?
            .lines();
        streams.push(lines.map(move |l| (pod.clone(), l)).boxed());
    }
    let mut all = futures::stream::select_all(streams);
    while let Some((pod, line)) = all.next().await {
        match line {
            Ok(l) => println!("[{pod}] {l}"),
            Err(e) => eprintln!("[{pod}] log stream ended: {e}"),
        }
    }
    Ok(())
}

/// `report`: gather into a private directory beside the archive, archive it, remove the
/// directory. A part that could not be collected (permissions) is listed in the archive's
/// summary and counted here; only an unwritable output or an unreachable API server fails.
async fn report_archive(
    client: Client,
    ns: &str,
    all_namespaces: bool,
    since: Option<std::time::Duration>,
    operator_namespace: Option<String>,
    file: Option<PathBuf>,
) -> Result<(), String> {
    let stamp = Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let archive = file.unwrap_or_else(|| PathBuf::from(format!("smbp-report-{stamp}.tar.gz")));
    let dir = std::env::temp_dir().join(format!("smbp-report-{stamp}-{}", std::process::id()));
    let opts = crate::gather::GatherOptions {
        dest: dir.clone(),
        namespaces: if all_namespaces {
            Vec::new()
        } else {
            vec![ns.to_string()]
        },
        since,
        operator_namespace,
    };
    let result = crate::gather::report(client, &opts, &archive).await;
    let _ = std::fs::remove_dir_all(&dir);
    let s = result.map_err(|e| format!("{e:#}"))?;
    println!(
        "Wrote {} ({} namespaces, {} problems, {} parts not collected; see summary.md inside). Secret values, tokens, passwords and credential URLs are redacted.",
        archive.display(),
        s.namespaces.len(),
        s.problems.len(),
        s.errors.len()
    );
    Ok(())
}

/// Run one command.
pub async fn run(cli: Cli) -> Result<(), String> {
    let (client, ns) = connect(&cli).await?;
    match cli.command {
        Cmd::Status {
            name,
            output,
            events,
        } => {
            let r = collect::status(&client, &ns, &name, Timestamp::now(), events).await?;
            match output {
                Output::Text => {
                    let colour = render::use_colour(
                        std::io::stdout().is_terminal(),
                        std::env::var("NO_COLOR").ok().as_deref(),
                    );
                    print!("{}", render::render(&r, Style { colour }));
                    Ok(())
                }
                o => print_doc(&r, o),
            }
        }
        Cmd::Pause { name } => {
            let bp = collect::bigpeer(&client, &ns, &name).await?;
            if report::paused(&bp) {
                println!("BigPeer {ns}/{name} is already paused.");
                return Ok(());
            }
            annotate(&client, &ns, &name, json!({PAUSED_ANNOTATION: "true"})).await?;
            println!(
                "BigPeer {ns}/{name} paused ({PAUSED_ANNOTATION}=\"true\"): the operator changes nothing in it until `kubectl smbp resume {name} -n {ns}`."
            );
            Ok(())
        }
        Cmd::Resume { name } => {
            let bp = collect::bigpeer(&client, &ns, &name).await?;
            if !report::annotations(&bp).contains_key(PAUSED_ANNOTATION) {
                println!("BigPeer {ns}/{name} is not paused.");
                return Ok(());
            }
            annotate(&client, &ns, &name, json!({PAUSED_ANNOTATION: null})).await?;
            println!(
                "BigPeer {ns}/{name} resumed ({PAUSED_ANNOTATION} removed): the operator reconciles it again."
            );
            Ok(())
        }
        Cmd::Restart { name, component } => {
            let bp = collect::bigpeer(&client, &ns, &name).await?;
            let component = component.map(Component::from);
            let now = Timestamp::now();
            let at = Timestamp::from_second(now.as_second()).unwrap_or(now);
            let (key, value) = restart::request(component, at);
            annotate(&client, &ns, &name, json!({ key.clone(): value.clone() })).await?;
            let what = match component {
                Some(c) => format!("the {} pods", c.as_str()),
                None => "every pod".to_string(),
            };
            println!(
                "Restart of {what} of BigPeer {ns}/{name} requested ({key}={value}): the operator rolls them, the store one pod at a time. Follow it with `kubectl smbp status {name} -n {ns}`."
            );
            if report::paused(&bp) {
                println!("Note: the BigPeer is paused; the restart happens once it is resumed.");
            }
            Ok(())
        }
        Cmd::Logs {
            name,
            component,
            previous,
            follow,
            tail,
        } => {
            let lp = LogParams {
                container: Some(pod::CONTAINER.to_string()),
                previous,
                follow,
                tail_lines: tail,
                ..Default::default()
            };
            logs(&client, &ns, &name, component.map(Component::from), lp).await
        }
        Cmd::Report {
            all_namespaces,
            since,
            operator_namespace,
            file,
        } => report_archive(client, &ns, all_namespaces, since, operator_namespace, file).await,
        Cmd::Versions { output } => {
            let r = collect::versions(&client, &ns).await;
            match output {
                Output::Text => {
                    print!("{}", versions::render(&r));
                    Ok(())
                }
                o => print_doc(&r, o),
            }
        }
    }
}

/// The plugin's entry point: run, and print a failure as `error: ...` with exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn kubectl_style_flags_parse_anywhere() {
        let cli = Cli::parse_from([
            "kubectl-smbp",
            "status",
            "alpha",
            "-n",
            "shop",
            "--context",
            "prod",
            "-o",
            "yaml",
        ]);
        assert_eq!(cli.namespace.as_deref(), Some("shop"));
        assert_eq!(cli.context.as_deref(), Some("prod"));
        assert!(matches!(
            cli.command,
            Cmd::Status {
                output: Output::Yaml,
                ..
            }
        ));
        let cli = Cli::parse_from(["kubectl-smbp", "restart", "alpha", "--component", "store"]);
        assert!(matches!(
            cli.command,
            Cmd::Restart {
                component: Some(ComponentArg::Store),
                ..
            }
        ));
    }
}
