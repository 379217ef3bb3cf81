//! `smbp-operator gather`: the command line of [`super::gather`] (reusable by a plugin).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use super::{DEFAULT_DEST, GatherOptions};

/// Arguments of `smbp-operator gather`.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Directory to write into (what `oc adm must-gather` copies back).
    #[arg(long, default_value = DEFAULT_DEST)]
    pub dest: PathBuf,
    /// A namespace to gather (repeatable); default: every namespace holding smbp.io objects,
    /// and the operator's.
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// Only logs newer than this, e.g. 1h or 30m (Go notation: hours, minutes, seconds).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<Duration>,
    /// The operator's namespace, when it cannot be found (a user without cluster-wide read).
    #[arg(long)]
    pub operator_namespace: Option<String>,
    /// Also write the gathered directory as this .tar.gz.
    #[arg(long)]
    pub archive: Option<PathBuf>,
    /// Print the ClusterRole a gather needs without Secret or log access, and exit.
    #[arg(long)]
    pub print_rbac: bool,
}

/// Parses `--since` (1h, 30m, 1h30m).
pub fn parse_since(s: &str) -> Result<Duration, String> {
    crate::access::duration::parse(s)
        .ok_or_else(|| format!("{s}: not a duration such as 1h, 30m or 1h30m"))
}

impl Args {
    /// The options of [`super::gather`].
    pub fn options(&self) -> GatherOptions {
        GatherOptions {
            dest: self.dest.clone(),
            namespaces: self.namespaces.clone(),
            since: self.since,
            operator_namespace: self.operator_namespace.clone(),
        }
    }
}

/// Run `gather`: the directory (and archive), and one line per problem and gather-error on
/// stderr. Fails only when the output cannot be written or the API server cannot be reached.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.print_rbac {
        print!(
            "{}",
            serde_yaml_ng::to_string(&super::rbac::reader_cluster_role())?
        );
        return Ok(());
    }
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster credentials)")?;
    let opts = args.options();
    let s = match &args.archive {
        Some(a) => super::report(client, &opts, a).await?,
        None => super::gather(client, &opts).await?,
    };
    eprintln!(
        "gather: wrote {} ({} namespaces, {} problems, {} not collected; see summary.md)",
        opts.dest.display(),
        s.namespaces.len(),
        s.problems.len(),
        s.errors.len()
    );
    if let Some(a) = &args.archive {
        eprintln!("gather: archive {}", a.display());
    }
    Ok(())
}
