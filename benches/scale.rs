//! `make bench-scale N=100`: the operator at scale on the local control plane (issue #16).
//!
//! Measures, in one run, with N small BigPeers (1 store, 1 subscription, 1 api pod; keys from
//! Secrets, an external Kafka, no add-ons):
//! 1. seconds until all N are Ready with the operator, and with a direct client that
//!    server-side applies the objects the operator would build (`build::desired` with the
//!    inputs the operator's plan gives a new BigPeer) and waits for the workloads; the ratio;
//! 2. API requests per no-op reconcile by verb, from the kube-apiserver's own
//!    `apiserver_request_total`, while every settled BigPeer is reconciled once (triggered by an
//!    annotation change), minus the benchmark's own requests;
//! 3. write requests per minute at rest, operator running minus stopped;
//! 4. the operator's RSS at start, at N, and per BigPeer;
//! 5. no-op reconcile latency p50/p99 (from the operator's `reconciled elapsed_ms` log lines),
//!    one at a time and all N at once;
//! 6. CPU seconds of the kube-apiserver (and etcd, the operator, the machine) while converging.
//!
//! Prints numbers, a table and one machine-readable line (`BENCH_SCALE_RESULT {json}`); asserts
//! nothing about time. Runs against the cluster of KUBECONFIG (admin); SMBP_CLUSTER_DIR locates
//! the control plane's pid files (for CPU) and versions. See docs/contributing/testing.md.

#[path = "../tests/common/mod.rs"]
mod common;
/// The e2e suite's install of the CRDs and the operator's RBAC (its other helpers are unused here).
#[allow(dead_code)]
#[path = "../tests/e2e/harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use smbp_operator::api::{BigPeer, BigPeerStatus, Component};
use smbp_operator::build::{self, names};
use smbp_operator::images::RelatedImages;

/// Label on the benchmark's namespaces, so that a run cleans up what an interrupted one left.
const RUN_LABEL: &str = "bench.smbp.io/scale";
/// The annotation whose change triggers a no-op reconcile.
const POKE: &str = "bench.smbp.io/poke";
/// Field manager of the benchmark's setup writes.
const FM: &str = "smbp-bench";
/// Namespace of the operator's ServiceAccount.
const OPERATOR_NS: &str = "smbp-system";
/// Resources written and read by the fake nodes (kwok's node heartbeats), not by the operator
/// (which runs without leader election here): left out of the request counts.
const BACKGROUND: &[&str] = &["leases", "nodes"];

#[derive(Parser, Debug)]
#[command(about = "Scale benchmark of smbp-operator on the local control plane")]
struct Args {
    /// Number of BigPeers.
    #[arg(long, default_value_t = 100)]
    n: usize,
    /// Length in seconds of each at-rest window (operator running, then stopped). The
    /// operator's periodic resync of a settled BigPeer is every 300 s: a window shorter than
    /// that may see none.
    #[arg(long, default_value_t = 60)]
    rest_window: u64,
    /// Requests in flight when creating BigPeers, applying objects directly and poking.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Seconds without any reconcile after which the operator counts as settled.
    #[arg(long, default_value_t = 5)]
    quiet: u64,
    /// Seconds to wait for all N to be Ready (default 120 + 3 per BigPeer).
    #[arg(long)]
    timeout: Option<u64>,
    /// The operator binary (default: SMBP_OPERATOR_BIN, else this checkout's).
    #[arg(long, env = "SMBP_OPERATOR_BIN")]
    operator_bin: Option<String>,
    /// Where the operator's log and kubeconfig go.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// How many BigPeers the one-at-a-time pass pokes (default: all N); each waits for its
    /// reconcile, debounce included, so at N=1000 a sample saves minutes.
    #[arg(long)]
    sample: Option<usize>,
    /// Skip the direct-client path (measure the operator only).
    #[arg(long)]
    skip_direct: bool,
    /// Leave the operator path's namespace in place at the end.
    #[arg(long)]
    keep: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

// ------------------------------------------------------------------------------------------
// Small helpers: percentiles, /proc, Prometheus text.

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn pcts(mut v: Vec<f64>) -> (f64, f64, usize) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (percentile(&v, 0.5), percentile(&v, 0.99), v.len())
}

fn clk_tck() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the command (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clk_tck())
}

/// A field of /proc/<pid>/status in kB (VmRSS, VmHWM), as MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// (busy, total) jiffies of the whole machine.
fn machine_jiffies() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = cpu.iter().take(8).sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn ncpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Labels of a Prometheus text line `name{a="b",...} value`.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('"') {
            break;
        }
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        val.push(n);
                    }
                }
                '"' => break,
                c => val.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_string(), val);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

/// `apiserver_request_total` summed over codes (and the other labels), by (verb, resource)
/// where resource is `group/resource[/subresource]` (core group: just the resource); requests
/// to non-resource URLs (`/metrics`, `/healthz`, discovery) are under resource "".
type Requests = BTreeMap<(String, String), f64>;

async fn apiserver_requests(client: &Client) -> anyhow::Result<Requests> {
    let req = http::Request::get("/metrics").body(vec![])?;
    let text = client.request_text(req).await.context("GET /metrics")?;
    let mut out = Requests::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let l = parse_labels(labels);
        let value: f64 = value.trim().parse().unwrap_or(0.0);
        let get = |k: &str| l.get(k).cloned().unwrap_or_default();
        let mut resource = get("resource");
        if !resource.is_empty() {
            if !get("group").is_empty() {
                resource = format!("{}/{resource}", get("group"));
            }
            if !get("subresource").is_empty() {
                resource = format!("{resource}/{}", get("subresource"));
            }
        }
        *out.entry((get("verb"), resource)).or_default() += value;
    }
    Ok(out)
}

fn delta(after: &Requests, before: &Requests) -> Requests {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

fn is_background(resource: &str) -> bool {
    resource.is_empty() || resource.split('/').any(|part| BACKGROUND.contains(&part))
}

/// Only the operator-relevant part: no non-resource URLs, no kwok node heartbeats, and minus
/// what the benchmark itself sent.
fn attributable(d: &Requests, own: &Requests) -> Requests {
    d.iter()
        .filter(|((_, r), _)| !is_background(r))
        .map(|(k, v)| (k.clone(), v - own.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

fn is_write(verb: &str) -> bool {
    !matches!(verb, "GET" | "LIST" | "WATCH" | "WATCHLIST" | "")
}

/// Totals by verb (WATCH excluded), plus `writes`.
fn by_verb(d: &Requests) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for ((verb, _), v) in d {
        if verb == "WATCH" || verb == "WATCHLIST" {
            continue;
        }
        *out.entry(verb.clone()).or_default() += v;
        if is_write(verb) {
            *out.entry("writes".into()).or_default() += v;
        }
    }
    out
}

fn writes(d: &Requests) -> f64 {
    d.iter()
        .filter(|((verb, _), _)| is_write(verb))
        .map(|(_, v)| v)
        .sum()
}

// ------------------------------------------------------------------------------------------
// The operator as a process, and its log.

struct OperatorProcess {
    child: Child,
    log: PathBuf,
    health: String,
}

impl OperatorProcess {
    fn start(bin: &str, kubeconfig: &Path, log: PathBuf) -> anyhow::Result<Self> {
        let out = std::fs::File::create(&log)?;
        let health = format!("127.0.0.1:{}", common::free_port());
        let metrics = format!("127.0.0.1:{}", common::free_port());
        let child = Command::new(bin)
            .arg("run")
            .env("KUBECONFIG", kubeconfig)
            .env("METRICS_BIND_ADDRESS", &metrics)
            .env("HEALTH_PROBE_BIND_ADDRESS", &health)
            .env("LOG_FORMAT", "json")
            // The `reconciled elapsed_ms=...` line of every reconcile is at debug.
            .env("RUST_LOG", "info,smbp_operator::bigpeer=debug")
            .env("LEADER_ELECT", "false")
            // The scale benchmark measures the controller; no webhook is registered.
            .env("WEBHOOK_BIND_ADDRESS", "0")
            .env("API_BIND_ADDRESS", "0")
            .env("POD_NAMESPACE", OPERATOR_NS)
            .env("POD_NAME", "smbp-bench")
            .env_remove("WATCH_NAMESPACE")
            .env_remove("METRICS_SECURE")
            .env_remove("METRICS_CERT_DIR")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()
            .with_context(|| format!("starting {bin}"))?;
        Ok(Self { child, log, health })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                bail!("the operator exited ({s}); log: {}", self.log.display());
            }
            let r = common::http_get(&self.health, "/readyz").await;
            if r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.0 200") {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!(
                    "the operator was not ready within {timeout:?}; log: {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM and wait (bounded; SIGKILL after 30 s).
    async fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `reconciled` (or `reconcile failed`) line.
#[derive(Clone, Debug)]
struct Reconcile {
    bigpeer: String,
    elapsed_ms: f64,
    at: Timestamp,
    ok: bool,
}

/// New lines of the operator's JSON log.
struct LogTail {
    file: std::fs::File,
    partial: String,
}

impl LogTail {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut file = std::fs::File::open(path)?;
        file.seek(SeekFrom::End(0))?;
        Ok(Self {
            file,
            partial: String::new(),
        })
    }

    /// Reconciles logged since the last call.
    fn poll(&mut self) -> Vec<Reconcile> {
        let mut buf = String::new();
        let _ = self.file.read_to_string(&mut buf);
        self.partial.push_str(&buf);
        let mut out = vec![];
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            if let Some(r) = parse_reconcile(&line) {
                out.push(r);
            }
        }
        out
    }

    /// Wait until no reconcile was logged for `quiet` (at most `max`); returns what was seen.
    async fn settle(&mut self, quiet: Duration, max: Duration) -> Vec<Reconcile> {
        let start = Instant::now();
        let mut last = Instant::now();
        let mut seen = vec![];
        while last.elapsed() < quiet && start.elapsed() < max {
            let new = self.poll();
            if !new.is_empty() {
                last = Instant::now();
                seen.extend(new);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    }
}

fn parse_reconcile(line: &str) -> Option<Reconcile> {
    if !line.contains("reconcile") {
        return None;
    }
    let v: Value = serde_json::from_str(line).ok()?;
    let msg = v["fields"]["message"].as_str()?;
    let ok = match msg {
        "reconciled" => true,
        "reconcile failed" => false,
        _ => return None,
    };
    let e = &v["fields"]["elapsed_ms"];
    let elapsed_ms = e
        .as_f64()
        .or_else(|| e.as_str().and_then(|s| s.parse().ok()))?;
    let bigpeer = v["spans"]
        .as_array()?
        .iter()
        .find_map(|s| s["bigpeer"].as_str())?
        .to_string();
    let at = v["timestamp"].as_str()?.parse().ok()?;
    Some(Reconcile {
        bigpeer,
        elapsed_ms,
        at,
        ok,
    })
}

// ------------------------------------------------------------------------------------------
// Cluster setup.

async fn ssa<K>(api: &Api<K>, obj: &K) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let mut v = serde_json::to_value(obj)?;
    v.as_object_mut().unwrap().remove("status");
    api.patch(
        &obj.name_any(),
        &PatchParams::apply(FM).force(),
        &Patch::Apply(&v),
    )
    .await
    .with_context(|| format!("applying {}", obj.name_any()))?;
    Ok(())
}

/// Make sure the kwok nodes can hold 3 pods per BigPeer with room to spare: add
/// `kwok-bench-*` nodes (kept for later runs) when they cannot.
async fn ensure_nodes(client: &Client, n: usize) -> anyhow::Result<usize> {
    let nodes: Api<Node> = Api::all(client.clone());
    let lp = ListParams::default().labels("type=kwok");
    let capacity = |list: &[Node]| -> usize {
        list.iter()
            .filter_map(|n| n.status.as_ref()?.allocatable.as_ref()?.get("pods"))
            .filter_map(|q| smbp_operator::bigpeer::volumes::bytes(&q.0))
            .map(|pods| pods as usize)
            .sum()
    };
    let list = nodes.list(&lp).await?.items;
    let need = 3 * n + 3 * n / 10 + 20;
    let have = capacity(&list);
    if have >= need {
        return Ok(list.len());
    }
    let k8s = list
        .first()
        .and_then(|n| n.status.as_ref()?.node_info.as_ref())
        .map(|i| i.kubelet_version.clone())
        .unwrap_or_default();
    let add = (need - have).div_ceil(110);
    eprintln!("bench: adding {add} kwok nodes for {need} pods (capacity {have})");
    let zones = ["zone-a", "zone-b", "zone-c"];
    for i in 0..add {
        let zone = zones[i % 3];
        let name = format!("kwok-bench-{zone}-{}", i / 3 + 1);
        let node: Node = serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "kwok-large",
                    "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "region-1",
                },
            },
            "spec": {},
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
                "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": k8s},
            },
        }))?;
        ssa(&nodes, &node).await?;
    }
    common::wait_for("kwok nodes Ready", Duration::from_secs(120), || async {
        let list = nodes.list(&lp).await.ok()?.items;
        let ready = list
            .iter()
            .filter(|n| {
                n.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        (ready == list.len() && capacity(&list) >= need).then_some(list.len())
    })
    .await;
    Ok(nodes.list(&lp).await?.items.len())
}

/// A restricted namespace with the key and Kafka Secrets, labelled as the benchmark's.
async fn bench_namespace(client: &Client, prefix: &str) -> anyhow::Result<String> {
    let ns = common::bigpeer_namespace(client, prefix).await;
    Api::<Namespace>::all(client.clone())
        .patch(
            &ns,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {RUN_LABEL: "true"}}})),
        )
        .await?;
    Ok(ns)
}

/// Delete namespaces (removing the BigPeers' finalizers first: the operator may be stopped)
/// and wait until they are gone. Returns the seconds it took.
/// Wait until the API server serves at most a few requests (WATCH and the fake nodes' own
/// left out) per 3 s; the seconds waited.
async fn wait_quiet(client: &Client, max: Duration) -> f64 {
    let start = Instant::now();
    let Ok(mut last) = apiserver_requests(client).await else {
        return 0.0;
    };
    while start.elapsed() < max {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let Ok(now) = apiserver_requests(client).await else {
            break;
        };
        let busy: f64 = delta(&now, &last)
            .iter()
            .filter(|((verb, r), _)| !is_background(r) && verb != "WATCH" && verb != "WATCHLIST")
            .map(|(_, v)| v)
            .sum();
        last = now;
        if busy <= 5.0 {
            break;
        }
    }
    start.elapsed().as_secs_f64()
}

async fn delete_namespaces(client: &Client, names: &[String], timeout: Duration) -> f64 {
    let start = Instant::now();
    let nss: Api<Namespace> = Api::all(client.clone());
    for ns in names {
        let bps: Api<BigPeer> = Api::namespaced(client.clone(), ns);
        if let Ok(list) = bps.list(&ListParams::default()).await {
            futures::stream::iter(
                list.items
                    .into_iter()
                    .filter(|b| !b.finalizers().is_empty()),
            )
            .for_each_concurrent(50, |b| {
                let bps = bps.clone();
                async move {
                    let _ = bps
                        .patch(
                            &b.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                        )
                        .await;
                }
            })
            .await;
        }
        let _ = nss.delete(ns, &DeleteParams::background()).await;
    }
    loop {
        let mut left = 0;
        for ns in names {
            if nss.get_opt(ns).await.ok().flatten().is_some() {
                left += 1;
            }
        }
        if left == 0 {
            break;
        }
        if start.elapsed() > timeout {
            eprintln!(
                "bench: {left} namespace(s) still terminating after {timeout:?}; going on (the next \
             measurement shares the API server with their deletion)"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    start.elapsed().as_secs_f64()
}

// ------------------------------------------------------------------------------------------
// The BigPeers.

fn small_bigpeer(name: &str, ns: &str) -> Value {
    let mut body = common::bigpeer(name, ns);
    let spec = &mut body["spec"];
    spec["store"]["replicas"] = json!(1);
    spec["store"]["replicationFactor"] = json!(1);
    spec["store"]["minimumReplicationFactor"] = json!(1);
    spec["subscription"]["replicas"] = json!(1);
    spec["api"]["replicas"] = json!(1);
    body
}

fn bp_name(i: usize) -> String {
    format!("bp-{i:04}")
}

/// Create the N BigPeers as a user would (`kubectl apply --server-side`).
async fn create_bigpeers(
    client: &Client,
    ns: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<BigPeer>> {
    futures::stream::iter(0..n)
        .map(|i| {
            let body = small_bigpeer(&bp_name(i), ns);
            async move { common::apply_bigpeer(client, &body).await }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await
        .context("creating BigPeers")
}

/// Ready at the current generation (as `wait_ready` of the e2e tests).
fn bigpeer_ready(bp: &BigPeer) -> bool {
    let Some(st) = bp.status.as_ref() else {
        return false;
    };
    st.observed_generation == bp.metadata.generation
        && st
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Follow `stream` (watch events mapped to `(key, ready)`) until `done(&state)` reaches n;
/// returns the seconds since `t0`. A watch rather than polling: at N=1000 a LIST every second
/// would be a good part of the API server's work.
async fn wait_ready<S>(
    what: &str,
    n: usize,
    t0: Instant,
    timeout: Duration,
    stream: S,
    done: impl Fn(&BTreeMap<String, bool>) -> usize,
) -> anyhow::Result<f64>
where
    S: futures::Stream<Item = Result<(String, bool), watcher::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut state = BTreeMap::new();
    let mut last_report = Instant::now();
    loop {
        let c = done(&state);
        if c >= n {
            return Ok(t0.elapsed().as_secs_f64());
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "bench: {what}: {c}/{n} after {:.0} s",
                t0.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        if t0.elapsed() > timeout {
            bail!("{what}: only {c}/{n} after {timeout:?}");
        }
        match tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
            Ok(Some(Ok((key, ready)))) => {
                state.insert(key, ready);
            }
            Ok(Some(Err(e))) => eprintln!("bench: {what}: watch error (retrying): {e}"),
            Ok(None) => bail!("{what}: the watch ended"),
            Err(_) => {}
        }
    }
}

fn watch<K>(api: Api<K>) -> impl futures::Stream<Item = Result<K, watcher::Error>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    K::DynamicType: Default,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
}

/// The objects the operator would build for this new BigPeer: its plan's inputs with every
/// Secret in place, the spec's Kafka and no add-on installed.
fn desired_objects(bp: &BigPeer) -> Vec<build::DesiredObject> {
    let mut observed = smbp_operator::testing::observed(true, true);
    observed.kafka_bootstrap = bp
        .spec
        .transaction_log
        .external
        .as_ref()
        .map(|e| e.bootstrap_servers.clone())
        .unwrap_or_default();
    let plan = smbp_operator::decide::plan::decide(
        bp,
        &observed,
        &BigPeerStatus::default(),
        Timestamp::now(),
    );
    let inputs = plan.inputs(&RelatedImages::from_env(), &observed);
    build::desired(bp, &inputs)
}

fn workload_ready(
    desired: Option<i32>,
    ready: Option<i32>,
    updated: Option<i32>,
    fresh: bool,
) -> bool {
    let d = desired.unwrap_or(1);
    fresh && ready.unwrap_or(0) == d && updated.unwrap_or(0) == d
}

/// Watch the StatefulSets and Deployments of a namespace, as (name, ready and up to date).
fn workloads(
    client: &Client,
    ns: &str,
) -> impl futures::Stream<Item = Result<(String, bool), watcher::Error>> {
    let sts = watch(Api::<StatefulSet>::namespaced(client.clone(), ns)).map_ok(|s| {
        let st = s.status.clone().unwrap_or_default();
        let fresh = st.observed_generation == s.metadata.generation;
        let replicas = s.spec.as_ref().and_then(|s| s.replicas);
        let ready = workload_ready(replicas, st.ready_replicas, st.updated_replicas, fresh);
        (s.name_any(), ready)
    });
    let deps = watch(Api::<Deployment>::namespaced(client.clone(), ns)).map_ok(|d| {
        let st = d.status.clone().unwrap_or_default();
        let fresh = st.observed_generation == d.metadata.generation;
        let replicas = d.spec.as_ref().and_then(|s| s.replicas);
        let ready = workload_ready(replicas, st.ready_replicas, st.updated_replicas, fresh);
        (d.name_any(), ready)
    });
    futures::stream::select(sts, deps)
}

/// BigPeers whose store StatefulSet and both Deployments are ready and up to date.
fn direct_done(names: &BTreeSet<String>, state: &BTreeMap<String, bool>) -> usize {
    names
        .iter()
        .filter(|n| {
            Component::ALL
                .iter()
                .all(|c| state.get(&names::component(n, *c)) == Some(&true))
        })
        .count()
}

// ------------------------------------------------------------------------------------------
// Measurements.

#[derive(Clone, Copy, Debug)]
struct Cpu {
    apiserver: Option<f64>,
    etcd: Option<f64>,
    operator: Option<f64>,
    bench: Option<f64>,
    machine: (u64, u64),
}

#[derive(Clone, Copy, Debug, Default)]
struct Pids {
    apiserver: Option<u32>,
    etcd: Option<u32>,
}

fn read_pid(cluster_dir: &Option<PathBuf>, name: &str) -> Option<u32> {
    let p = cluster_dir
        .as_ref()?
        .join("pids")
        .join(format!("{name}.pid"));
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn cpu_now(pids: Pids, operator: Option<u32>) -> Cpu {
    Cpu {
        apiserver: cpu_seconds(pids.apiserver),
        etcd: cpu_seconds(pids.etcd),
        operator: cpu_seconds(operator),
        bench: cpu_seconds(Some(std::process::id())),
        machine: machine_jiffies(),
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
struct CpuDelta {
    apiserver_s: Option<f64>,
    etcd_s: Option<f64>,
    operator_s: Option<f64>,
    /// This benchmark (the direct client on the direct path).
    bench_s: Option<f64>,
    machine_cores: f64,
}

fn cpu_delta(a: Cpu, b: Cpu) -> CpuDelta {
    let d = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
    let busy = b.machine.0.saturating_sub(a.machine.0) as f64;
    let total = b.machine.1.saturating_sub(a.machine.1).max(1) as f64;
    CpuDelta {
        apiserver_s: d(a.apiserver, b.apiserver),
        etcd_s: d(a.etcd, b.etcd),
        operator_s: d(a.operator, b.operator),
        bench_s: d(a.bench, b.bench),
        machine_cores: busy / total * ncpu() as f64,
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
struct Converge {
    seconds: f64,
    cpu: CpuDelta,
    /// Requests while converging by verb and resource (WATCH and background excluded),
    /// the benchmark's own included: on the direct path they are the work itself.
    requests: BTreeMap<String, f64>,
}

/// Requests while converging, keyed `VERB resource`, WATCH and background left out.
fn converge_requests(d: &Requests) -> BTreeMap<String, f64> {
    d.iter()
        .filter(|((verb, r), _)| !is_background(r) && verb != "WATCH" && verb != "WATCHLIST")
        .map(|((verb, r), v)| (format!("{verb} {r}"), *v))
        .collect()
}

/// Direct path: create the BigPeers (for their uids: the objects are owned by them), apply
/// the objects the operator would build, and wait for the workloads.
async fn direct_path(
    client: &Client,
    args: &Args,
    pids: Pids,
    timeout: Duration,
    ns: String,
) -> anyhow::Result<Converge> {
    let names: BTreeSet<String> = (0..args.n).map(bp_name).collect();
    let ready_stream = workloads(client, &ns);
    let before = cpu_now(pids, None);
    let requests_before = apiserver_requests(client).await?;
    let t0 = Instant::now();
    let params = PatchParams::apply(smbp_operator::facts::MANAGER).force();
    futures::stream::iter(0..args.n)
        .map(|i| {
            let body = small_bigpeer(&bp_name(i), &ns);
            let (client, ns, params) = (client.clone(), ns.clone(), params.clone());
            async move {
                let bp = common::apply_bigpeer(&client, &body).await?;
                for obj in desired_objects(&bp) {
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(client.clone(), &ns, &obj.resource);
                    api.patch(&obj.name, &params, &Patch::Apply(&obj.body))
                        .await?;
                }
                Ok::<_, kube::Error>(())
            }
        })
        .buffer_unordered(args.concurrency)
        .try_collect::<Vec<_>>()
        .await
        .context("applying directly")?;
    let seconds = wait_ready(
        "direct: workloads ready",
        args.n,
        t0,
        timeout,
        ready_stream,
        |state| direct_done(&names, state),
    )
    .await?;
    let cpu = cpu_delta(before, cpu_now(pids, None));
    let requests = converge_requests(&delta(&apiserver_requests(client).await?, &requests_before));
    eprintln!("bench: direct path: all ready in {seconds:.1} s; deleting its namespace");
    let took = delete_namespaces(client, &[ns], Duration::from_secs(300 + args.n as u64)).await;
    eprintln!("bench: direct path's namespace deleted in {took:.0} s");
    // The garbage collector goes on after the namespace is gone (it reads and deletes what the
    // namespace held); its requests would count against the operator path.
    let quiet = wait_quiet(client, Duration::from_secs(180)).await;
    eprintln!("bench: control plane quiet after {quiet:.0} more s");
    Ok(Converge {
        seconds,
        cpu,
        requests,
    })
}

#[derive(Clone, Debug, Default, serde::Serialize)]
struct Pass {
    reconciles: usize,
    failed: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// From the first poke to the last reconcile logged.
    all_done_s: f64,
    /// How long sending the pokes took (all at once: the API server's answers to N PATCHes).
    pokes_s: f64,
    /// From the last poke answered to the last reconcile logged (all at once).
    after_pokes_s: f64,
    /// Requests per reconcile by verb (WATCH excluded), benchmark's own subtracted.
    per_reconcile: BTreeMap<String, f64>,
    /// Requests per reconcile by verb and resource.
    per_reconcile_detail: BTreeMap<String, f64>,
}

fn poke_body(k: usize) -> Value {
    json!({"metadata": {"annotations": {POKE: k.to_string()}}})
}

fn summarize_pass(seen: &[Reconcile], first_poke: Timestamp, d: &Requests, own: &Requests) -> Pass {
    let reconciles = seen.len();
    let attributable = attributable(d, own);
    let per = |v: f64| {
        if reconciles == 0 {
            f64::NAN
        } else {
            v / reconciles as f64
        }
    };
    let (p50, p99, _) = pcts(seen.iter().map(|r| r.elapsed_ms).collect());
    let max_ms = seen.iter().map(|r| r.elapsed_ms).fold(0.0, f64::max);
    let last = seen.iter().map(|r| r.at).max().unwrap_or(first_poke);
    Pass {
        reconciles,
        failed: seen.iter().filter(|r| !r.ok).count(),
        p50_ms: p50,
        p99_ms: p99,
        max_ms,
        all_done_s: last.duration_since(first_poke).as_secs_f64(),
        pokes_s: 0.0,
        after_pokes_s: 0.0,
        per_reconcile: by_verb(&attributable)
            .into_iter()
            .map(|(k, v)| (k, per(v)))
            .collect(),
        per_reconcile_detail: attributable
            .iter()
            .filter(|((verb, _), _)| verb != "WATCH")
            .map(|((verb, r), v)| (format!("{verb} {r}"), per(*v)))
            .collect(),
    }
}

/// Poke each BigPeer in turn and wait for its reconcile.
async fn one_at_a_time(
    client: &Client,
    ns: &str,
    n: usize,
    tail: &mut LogTail,
    round: usize,
) -> anyhow::Result<Pass> {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    tail.settle(Duration::from_secs(2), Duration::from_secs(60))
        .await;
    let before = apiserver_requests(client).await?;
    let mut own = Requests::new();
    let mut seen = vec![];
    let first = Timestamp::now();
    for i in 0..n {
        let name = bp_name(i);
        let key = format!("{ns}/{name}");
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(poke_body(round)),
        )
        .await?;
        *own.entry(("PATCH".into(), "smbp.io/bigpeers".into()))
            .or_default() += 1.0;
        let start = Instant::now();
        loop {
            let new = tail.poll();
            let done = new.iter().any(|r| r.bigpeer == key);
            seen.extend(new);
            if done {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!("no reconcile of {key} within 60 s of its poke");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    seen.extend(
        tail.settle(Duration::from_secs(2), Duration::from_secs(60))
            .await,
    );
    let after = apiserver_requests(client).await?;
    Ok(summarize_pass(&seen, first, &delta(&after, &before), &own))
}

/// Poke every BigPeer at once and wait until each has been reconciled.
async fn all_at_once(
    client: &Client,
    ns: &str,
    n: usize,
    concurrency: usize,
    tail: &mut LogTail,
    round: usize,
) -> anyhow::Result<Pass> {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    tail.settle(Duration::from_secs(2), Duration::from_secs(60))
        .await;
    let before = apiserver_requests(client).await?;
    let mut own = Requests::new();
    own.insert(("PATCH".into(), "smbp.io/bigpeers".into()), n as f64);
    let first = Timestamp::now();
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                api.patch(
                    &bp_name(i),
                    &PatchParams::default(),
                    &Patch::Merge(poke_body(round)),
                )
                .await
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let poked = Timestamp::now();
    let mut waiting: BTreeSet<String> = (0..n).map(|i| format!("{ns}/{}", bp_name(i))).collect();
    let mut seen = vec![];
    while !waiting.is_empty() {
        for r in tail.poll() {
            waiting.remove(&r.bigpeer);
            seen.push(r);
        }
        if start.elapsed() > Duration::from_secs(300 + n as u64) {
            bail!("{} BigPeers not reconciled after the pokes", waiting.len());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut pass_seen = seen.clone();
    pass_seen.extend(
        tail.settle(Duration::from_secs(2), Duration::from_secs(60))
            .await,
    );
    let after = apiserver_requests(client).await?;
    let mut pass = summarize_pass(&pass_seen, first, &delta(&after, &before), &own);
    // Latency and completion of the reconciles the pokes caused, not of later ones.
    let (p50, p99, _) = pcts(seen.iter().map(|r| r.elapsed_ms).collect());
    pass.p50_ms = p50;
    pass.p99_ms = p99;
    pass.max_ms = seen.iter().map(|r| r.elapsed_ms).fold(0.0, f64::max);
    let last = seen.iter().map(|r| r.at).max().unwrap_or(first);
    pass.all_done_s = last.duration_since(first).as_secs_f64();
    pass.pokes_s = poked.duration_since(first).as_secs_f64();
    pass.after_pokes_s = last.duration_since(poked).as_secs_f64().max(0.0);
    Ok(pass)
}

#[derive(Clone, Debug, Default, serde::Serialize)]
struct Rest {
    window_s: u64,
    running_writes_per_min: f64,
    stopped_writes_per_min: f64,
    extra_writes_per_min: f64,
    running_reads_per_min: f64,
    stopped_reads_per_min: f64,
    /// Requests in the running window by verb and resource (WATCH and background excluded).
    running_detail: BTreeMap<String, f64>,
    /// The same in the stopped window.
    stopped_detail: BTreeMap<String, f64>,
    /// Every write in each window, the fake nodes' heartbeats included.
    running_writes_raw: f64,
    stopped_writes_raw: f64,
    reconciles_in_running_window: usize,
}

async fn window(client: &Client, secs: u64) -> anyhow::Result<Requests> {
    let before = apiserver_requests(client).await?;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let after = apiserver_requests(client).await?;
    Ok(delta(&after, &before))
}

fn reads(d: &Requests) -> f64 {
    d.iter()
        .filter(|((verb, _), _)| verb == "GET" || verb == "LIST")
        .map(|(_, v)| v)
        .sum()
}

#[derive(Clone, Debug, Default, serde::Serialize)]
struct Memory {
    start_mib: f64,
    at_n_mib: f64,
    per_bigpeer_mib: f64,
    peak_mib: f64,
}

#[derive(Debug, Default, serde::Serialize)]
struct Report {
    n: usize,
    commit: String,
    operator_version: String,
    operator_bin: String,
    operator_build: String,
    kubernetes: String,
    kwok: String,
    cores: usize,
    nodes: usize,
    started_at: String,
    run_seconds: f64,
    operator: Converge,
    direct: Option<Converge>,
    ready_ratio: Option<f64>,
    apiserver_cpu_ratio: Option<f64>,
    memory: Memory,
    one_at_a_time: Pass,
    all_at_once: Pass,
    at_rest: Rest,
}

// ------------------------------------------------------------------------------------------
// Versions.

fn git(args: &[&str]) -> String {
    Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR")])
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn commit() -> String {
    let head = git(&["rev-parse", "--short=12", "HEAD"]);
    let subject = git(&["log", "-1", "--format=%s"]);
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    format!("{head}{} {subject:?}", if dirty { "+dirty" } else { "" })
}

fn kwok_version(cluster_dir: &Option<PathBuf>) -> String {
    cluster_dir
        .as_ref()
        .and_then(|d| std::fs::read_to_string(d.join("bin/../versions")).ok())
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("kwok=").map(String::from))
        })
        .unwrap_or_else(|| "?".into())
}

/// How the operator binary was built, as far as the file tells: the dev profile keeps line
/// tables (`.debug_line`), the release profile strips them.
/// Section names of a 64-bit little-endian ELF file (empty for anything else). The string
/// `.debug_line` alone is no sign: a stripped binary's backtrace code contains it too.
fn elf_sections(b: &[u8]) -> Vec<String> {
    let u16_at = |o: usize| {
        b.get(o..o + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
    };
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes(s.try_into().unwrap()) as usize)
    };
    let u64_at = |o: usize| {
        b.get(o..o + 8)
            .map(|s| u64::from_le_bytes(s.try_into().unwrap()) as usize)
    };
    if !b.starts_with(b"\x7fELF\x02\x01") {
        return vec![];
    }
    let (Some(shoff), Some(size), Some(num), Some(strndx)) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e))
    else {
        return vec![];
    };
    let header = |i: usize| shoff + i * size;
    let Some(strtab) = u64_at(header(strndx) + 0x18) else {
        return vec![];
    };
    (0..num)
        .filter_map(|i| {
            let name = strtab + u32_at(header(i))?;
            let end = b.get(name..)?.iter().position(|c| *c == 0)?;
            Some(String::from_utf8_lossy(&b[name..name + end]).into_owned())
        })
        .collect()
}

fn operator_build(bin: &str) -> String {
    let bytes = std::fs::read(bin).unwrap_or_default();
    let debug_info = elf_sections(&bytes).iter().any(|s| s == ".debug_line");
    let profile = if bytes.is_empty() {
        "unreadable binary"
    } else if debug_info {
        "dev profile (debug info)"
    } else {
        "stripped: release profile"
    };
    let age = std::fs::metadata(bin)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map(|d| format!(", built {} min ago", d.as_secs() / 60))
        .unwrap_or_default();
    format!("{profile}{age}")
}

// ------------------------------------------------------------------------------------------

fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}{unit}"))
}

fn verbs_line(m: &BTreeMap<String, f64>) -> String {
    let order = ["LIST", "GET", "APPLY", "PATCH", "POST", "PUT", "DELETE"];
    let mut parts: Vec<String> = order
        .iter()
        .map(|v| format!("{v} {:.1}", m.get(*v).copied().unwrap_or(0.0)))
        .collect();
    for (k, v) in m {
        if !order.contains(&k.as_str()) && k != "writes" {
            parts.push(format!("{k} {v:.1}"));
        }
    }
    format!(
        "{}; writes {:.1}",
        parts.join(", "),
        m.get("writes").copied().unwrap_or(0.0)
    )
}

fn print_report(r: &Report) {
    let ratio = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}×"));
    let d = r.direct.clone().unwrap_or_default();
    let direct = r.direct.is_some();
    let or_na = |s: String| if direct { s } else { "n/a".into() };
    println!();
    println!(
        "smbp-operator scale benchmark — N={} BigPeers (1 store, 1 subscription, 1 api pod each)",
        r.n
    );
    println!("  checkout {}", r.commit);
    println!(
        "  operator {} ({}: {})",
        r.operator_version, r.operator_build, r.operator_bin
    );
    println!(
        "  kube-apiserver {}, kwok {} ({} fake nodes), {} cores, started {}, run took {:.0} s",
        r.kubernetes, r.kwok, r.nodes, r.cores, r.started_at, r.run_seconds
    );
    println!();
    println!("| | N={} |", r.n);
    println!("|---|---|");
    println!(
        "| all Ready: operator vs direct client applying the same objects | {:.1} s vs {} ({}) |",
        r.operator.seconds,
        or_na(format!("{:.1} s", d.seconds)),
        ratio(r.ready_ratio)
    );
    println!(
        "| kube-apiserver CPU while converging: operator path vs direct path | {} vs {} ({}) |",
        fmt_opt(r.operator.cpu.apiserver_s, " s"),
        or_na(fmt_opt(d.cpu.apiserver_s, " s")),
        ratio(r.apiserver_cpu_ratio)
    );
    println!(
        "| etcd CPU while converging: operator path vs direct path | {} vs {} |",
        fmt_opt(r.operator.cpu.etcd_s, " s"),
        or_na(fmt_opt(d.cpu.etcd_s, " s"))
    );
    println!(
        "| machine CPU while converging: operator path vs direct path | {:.2} vs {} cores |",
        r.operator.cpu.machine_cores,
        or_na(format!("{:.2}", d.cpu.machine_cores))
    );
    println!(
        "| client CPU while converging: operator vs direct client | {} vs {} |",
        fmt_opt(r.operator.cpu.operator_s, " s"),
        or_na(fmt_opt(d.cpu.bench_s, " s"))
    );
    println!(
        "| operator RSS: at start / after converging / per BigPeer (peak) | {:.1} / {:.1} MiB / {:.2} MiB ({:.1} MiB) |",
        r.memory.start_mib, r.memory.at_n_mib, r.memory.per_bigpeer_mib, r.memory.peak_mib
    );
    println!(
        "| API requests per no-op reconcile ({} reconciles) | {} |",
        r.one_at_a_time.reconciles,
        verbs_line(&r.one_at_a_time.per_reconcile)
    );
    println!(
        "| no-op reconcile latency, one at a time (p50 / p99 / max) | {:.0} / {:.0} / {:.0} ms |",
        r.one_at_a_time.p50_ms, r.one_at_a_time.p99_ms, r.one_at_a_time.max_ms
    );
    println!(
        "| no-op reconciles of all BigPeers at once (p50 / p99; all done in; of which sending the pokes, then after the last) | {:.0} / {:.0} ms; {:.2} s ({:.2} s + {:.2} s) |",
        r.all_at_once.p50_ms,
        r.all_at_once.p99_ms,
        r.all_at_once.all_done_s,
        r.all_at_once.pokes_s,
        r.all_at_once.after_pokes_s
    );
    println!(
        "| write requests per minute at rest ({} s windows), operator running minus stopped | {:+.1} ({:.1} − {:.1}) |",
        r.at_rest.window_s,
        r.at_rest.extra_writes_per_min,
        r.at_rest.running_writes_per_min,
        r.at_rest.stopped_writes_per_min
    );
    println!(
        "| read requests (GET, LIST) per minute at rest, operator running minus stopped | {:+.1} ({:.1} − {:.1}) |",
        r.at_rest.running_reads_per_min - r.at_rest.stopped_reads_per_min + 0.0,
        r.at_rest.running_reads_per_min,
        r.at_rest.stopped_reads_per_min
    );
    println!();
    println!(
        "Requests while converging by verb and resource (WATCH excluded): operator path vs direct path"
    );
    let keys: BTreeSet<&String> = r
        .operator
        .requests
        .keys()
        .chain(d.requests.keys())
        .collect();
    for k in keys {
        let get = |m: &BTreeMap<String, f64>| m.get(k).copied().unwrap_or(0.0);
        println!(
            "  {k:<50} {:>7.0} vs {:>7.0}",
            get(&r.operator.requests),
            get(&d.requests)
        );
    }
    println!();
    println!("API requests per no-op reconcile by verb and resource (WATCH excluded):");
    if r.one_at_a_time.per_reconcile_detail.is_empty() {
        println!("  none");
    }
    for (k, v) in &r.one_at_a_time.per_reconcile_detail {
        println!("  {k:<50} {v:.2}");
    }
    for (label, detail) in [
        ("running", &r.at_rest.running_detail),
        ("stopped", &r.at_rest.stopped_detail),
    ] {
        if !detail.is_empty() {
            println!("Requests in the at-rest window with the operator {label} (WATCH excluded):");
            for (k, v) in detail {
                println!("  {k:<50} {v:.0}");
            }
        }
    }
    println!(
        "Request counts leave out non-resource URLs and the fake nodes' {BACKGROUND:?}, and subtract the benchmark's own pokes."
    );
    if r.at_rest.window_s < 300 {
        println!(
            "Note: the at-rest windows ({} s) are shorter than the operator's 300 s resync of a settled BigPeer (REST_WINDOW=300 for the real number).",
            r.at_rest.window_s
        );
    }
    println!();
    println!("BENCH_SCALE_RESULT {}", serde_json::to_string(r).unwrap());
}

async fn run(
    args: &Args,
    client: &Client,
    report: &mut Report,
    cleanup: &mut Vec<String>,
) -> anyhow::Result<()> {
    let run_start = Instant::now();
    let cluster_dir = std::env::var_os("SMBP_CLUSTER_DIR").map(PathBuf::from);
    let pids = Pids {
        apiserver: read_pid(&cluster_dir, "kube-apiserver"),
        etcd: read_pid(&cluster_dir, "etcd"),
    };
    if pids.apiserver.is_none() {
        eprintln!("bench: SMBP_CLUSTER_DIR has no kube-apiserver pid: API server CPU not measured");
    }
    let bin = args
        .operator_bin
        .clone()
        .unwrap_or_else(common::current_bin);
    let work = args.work_dir.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bench-scale-{}", std::process::id()))
    });
    std::fs::create_dir_all(&work)?;
    let timeout = Duration::from_secs(args.timeout.unwrap_or(120 + 3 * args.n as u64));

    report.n = args.n;
    report.commit = commit();
    report.operator_bin = bin.clone();
    report.operator_build = operator_build(&bin);
    report.operator_version = Command::new(&bin)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    report.kubernetes = client.apiserver_version().await?.git_version;
    report.kwok = kwok_version(&cluster_dir);
    report.cores = ncpu();
    report.started_at = Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)?
        .to_string();

    // Leftovers of an interrupted run.
    let stale: Vec<String> = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default().labels(RUN_LABEL))
        .await?
        .items
        .iter()
        .map(|n| n.name_any())
        .collect();
    if !stale.is_empty() {
        eprintln!("bench: removing namespaces of an earlier run: {stale:?}");
        delete_namespaces(client, &stale, Duration::from_secs(300 + args.n as u64)).await;
    }
    // The CRDs and the operator's RBAC exactly as generated, as the e2e suite installs them.
    let kubeconfig = harness::install(client).await;
    report.nodes = ensure_nodes(client, args.n).await?;

    // 1. Direct path first: without an operator there are no finalizers to get in the way of
    // deleting it before the operator path starts.
    if !args.skip_direct {
        eprintln!("bench: direct path: {} BigPeers", args.n);
        let ns = bench_namespace(client, "bench-direct").await?;
        cleanup.push(ns.clone());
        report.direct = Some(direct_path(client, args, pids, timeout, ns).await?);
        cleanup.clear();
    }

    // 2. Operator path.
    let ns = bench_namespace(client, "bench-operator").await?;
    cleanup.push(ns.clone());
    let log = work.join("operator.log");
    eprintln!(
        "bench: operator path: {} BigPeers (operator log: {})",
        args.n,
        log.display()
    );
    let mut op = OperatorProcess::start(&bin, &kubeconfig, log.clone())?;
    op.wait_ready(Duration::from_secs(60)).await?;
    let mut tail = LogTail::open(&log)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    report.memory.start_mib = status_mib(op.pid(), "VmRSS").unwrap_or(f64::NAN);

    let ready_stream = watch(Api::<BigPeer>::namespaced(client.clone(), &ns))
        .map_ok(|b| (b.name_any(), bigpeer_ready(&b)));
    let before = cpu_now(pids, Some(op.pid()));
    let requests_before = apiserver_requests(client).await?;
    let t0 = Instant::now();
    create_bigpeers(client, &ns, args.n, args.concurrency).await?;
    let seconds = wait_ready(
        "operator: BigPeers Ready",
        args.n,
        t0,
        timeout,
        ready_stream,
        |state| state.values().filter(|r| **r).count(),
    )
    .await?;
    let cpu = cpu_delta(before, cpu_now(pids, Some(op.pid())));
    let requests = converge_requests(&delta(&apiserver_requests(client).await?, &requests_before));
    report.operator = Converge {
        seconds,
        cpu,
        requests,
    };
    eprintln!(
        "bench: operator path: all Ready in {seconds:.1} s; waiting for the operator to settle"
    );
    let settle = tail
        .settle(Duration::from_secs(args.quiet), Duration::from_secs(120))
        .await;
    eprintln!("bench: settled ({} more reconciles)", settle.len());
    report.memory.at_n_mib = status_mib(op.pid(), "VmRSS").unwrap_or(f64::NAN);
    report.memory.per_bigpeer_mib =
        (report.memory.at_n_mib - report.memory.start_mib) / args.n as f64;
    if let (Some(d), Some(o)) = (&report.direct, report.operator.cpu.apiserver_s) {
        report.ready_ratio = Some(report.operator.seconds / d.seconds);
        report.apiserver_cpu_ratio = d.cpu.apiserver_s.map(|a| o / a);
    }

    // 3. No-op reconciles.
    eprintln!("bench: no-op reconciles, one at a time");
    let sample = args.sample.unwrap_or(args.n).min(args.n);
    report.one_at_a_time = one_at_a_time(client, &ns, sample, &mut tail, 1).await?;
    eprintln!("bench: no-op reconciles, all at once");
    report.all_at_once = all_at_once(client, &ns, args.n, args.concurrency, &mut tail, 2).await?;
    report.memory.peak_mib = status_mib(op.pid(), "VmHWM").unwrap_or(f64::NAN);

    // 4. At rest: running, then stopped.
    let w = args.rest_window;
    eprintln!("bench: at rest for {w} s with the operator running");
    tail.settle(Duration::from_secs(2), Duration::from_secs(60))
        .await;
    let running = window(client, w).await?;
    let in_window = tail.poll().len();
    op.stop().await;
    eprintln!("bench: at rest for {w} s with the operator stopped");
    let stopped = window(client, w).await?;
    let none = Requests::new();
    let (ra, sa) = (attributable(&running, &none), attributable(&stopped, &none));
    // (+ 0.0 turns a negative zero into zero.)
    let per_min = |v: f64| v * 60.0 / w as f64 + 0.0;
    report.at_rest = Rest {
        window_s: w,
        running_writes_per_min: per_min(writes(&ra)),
        stopped_writes_per_min: per_min(writes(&sa)),
        extra_writes_per_min: per_min(writes(&ra) - writes(&sa)),
        running_reads_per_min: per_min(reads(&ra)),
        stopped_reads_per_min: per_min(reads(&sa)),
        running_detail: ra
            .iter()
            .filter(|((verb, _), _)| verb != "WATCH")
            .map(|((verb, r), v)| (format!("{verb} {r}"), *v))
            .collect(),
        stopped_detail: sa
            .iter()
            .filter(|((verb, _), _)| verb != "WATCH")
            .map(|((verb, r), v)| (format!("{verb} {r}"), *v))
            .collect(),
        running_writes_raw: writes(&running),
        stopped_writes_raw: writes(&stopped),
        reconciles_in_running_window: in_window,
    };
    report.run_seconds = run_start.elapsed().as_secs_f64();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = common::admin().await;
    let mut report = Report::default();
    let mut cleanup = vec![];
    let result = run(&args, &client, &mut report, &mut cleanup).await;
    if !args.keep && !cleanup.is_empty() {
        eprintln!("bench: deleting the benchmark's namespace");
        let took =
            delete_namespaces(&client, &cleanup, Duration::from_secs(300 + args.n as u64)).await;
        eprintln!("bench: deleted in {took:.0} s");
    }
    result?;
    print_report(&report);
    Ok(())
}
