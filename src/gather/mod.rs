//! must-gather: collect what support needs to diagnose the operator and its BigPeers into a
//! directory (and optionally one `.tar.gz`), without any secret value.
//!
//! Layout (OpenShift's must-gather convention):
//!
//! ```text
//! <dest>/summary.md, summary.json            what is unhealthy, what could not be collected
//! <dest>/discovery/                          server version, API groups and resources
//! <dest>/cluster-scoped-resources/<group>/<resource>/<name>.yaml
//! <dest>/namespaces/<ns>/<group>/<resource>/<name>.yaml   (`core` for the core group)
//! <dest>/namespaces/<ns>/pods/<pod>/<container>/<container>/logs/{current,previous}.log
//! <dest>/metrics/<ns>/<pod>.txt              the operator's /metrics, through the API server
//! ```
//!
//! Every byte written passes through [`redact`]; everything the caller may not read (Secrets,
//! logs, a cluster-wide list) is recorded in the summary's gather-errors and the run goes on.

pub mod cli;
pub mod rbac;
pub mod redact;
pub mod summary;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

pub use summary::{GatherError, Problem, Summary};

use crate::facts;
use crate::thirdparty;

/// Default output directory (what `oc adm must-gather` copies back).
pub const DEFAULT_DEST: &str = "/must-gather";
/// The operator's leader-election Lease (the `run` default).
pub const LEADER_LEASE: &str = "smbp-operator-leader";
/// Most bytes of one container log collected.
const LOG_LIMIT_BYTES: i64 = 20 * 1024 * 1024;

/// What to gather.
#[derive(Clone, Debug, Default)]
pub struct GatherOptions {
    /// Directory to write into (created).
    pub dest: PathBuf,
    /// Namespaces to gather; empty: those holding smbp.io objects and the operator.
    pub namespaces: Vec<String>,
    /// Only logs newer than this.
    pub since: Option<Duration>,
    /// The operator's namespace, when it cannot be found (no cluster-wide read).
    pub operator_namespace: Option<String>,
}

/// Add-on and OLM API groups whose presence is reported.
const ADDON_GROUPS: &[&str] = &[
    thirdparty::STRIMZI_GROUP,
    thirdparty::CERT_MANAGER_GROUP,
    thirdparty::GATEWAY_API_GROUP,
    thirdparty::OPENSHIFT_ROUTE_GROUP,
    thirdparty::PROMETHEUS_OPERATOR_GROUP,
    "operators.coreos.com",
];

/// Namespaced resources collected in every gathered namespace (group, plural); the smbp.io
/// kinds are added from discovery.
const NAMESPACED: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "services"),
    ("", "endpoints"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "persistentvolumeclaims"),
    ("", "events"),
    ("apps", "statefulsets"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("policy", "poddisruptionbudgets"),
    ("networking.k8s.io", "networkpolicies"),
    ("networking.k8s.io", "ingresses"),
    ("coordination.k8s.io", "leases"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("cert-manager.io", "certificates"),
    ("cert-manager.io", "issuers"),
    ("cert-manager.io", "certificaterequests"),
    ("kafka.strimzi.io", "kafkatopics"),
    ("kafka.strimzi.io", "kafkausers"),
    ("gateway.networking.k8s.io", "gateways"),
    ("gateway.networking.k8s.io", "httproutes"),
    ("gateway.networking.k8s.io", "tlsroutes"),
    ("route.openshift.io", "routes"),
    ("monitoring.coreos.com", "servicemonitors"),
    ("monitoring.coreos.com", "podmonitors"),
    ("monitoring.coreos.com", "prometheusrules"),
    ("operators.coreos.com", "clusterserviceversions"),
    ("operators.coreos.com", "subscriptions"),
    ("operators.coreos.com", "installplans"),
    ("operators.coreos.com", "operatorgroups"),
];

/// Namespaced resources collected in all namespaces (few, and often elsewhere: the Kafka a
/// bridge uses, the catalog a Subscription installs from).
const ALL_NAMESPACES: &[(&str, &str)] = &[
    ("kafka.strimzi.io", "kafkas"),
    ("operators.coreos.com", "catalogsources"),
];

/// Cluster-scoped resources collected in full.
const CLUSTER: &[(&str, &str)] = &[
    ("", "nodes"),
    ("cert-manager.io", "clusterissuers"),
    ("gateway.networking.k8s.io", "gatewayclasses"),
    ("storage.k8s.io", "storageclasses"),
];

/// A resource found through discovery.
#[derive(Clone, Debug)]
struct Found {
    ar: ApiResource,
    namespaced: bool,
}

/// The directory files go to; every write is redacted.
struct Out {
    dest: PathBuf,
}

impl Out {
    fn write(&self, rel: &Path, bytes: &str) -> anyhow::Result<()> {
        let path = self.dest.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, redact::text(bytes))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The gather's own JSON (keys are resource names, not data): every string redacted as
    /// text, so that it stays JSON.
    fn json(&self, rel: &Path, v: &Value) -> anyhow::Result<()> {
        let mut v = v.clone();
        redact::strings(&mut v);
        let path = self.dest.join(rel);
        std::fs::write(&path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    fn yaml(&self, rel: &Path, v: &Value) -> anyhow::Result<()> {
        let mut v = v.clone();
        redact::object(&mut v);
        self.write(rel, &serde_yaml_ng::to_string(&v)?)
    }
}

/// A file or directory name from an object name (no path separators).
fn file_name(s: &str) -> String {
    s.replace(['/', '\\'], "_").replace("..", "_")
}

fn group_dir(group: &str) -> &str {
    if group.is_empty() { "core" } else { group }
}

/// Where an object goes.
fn object_path(group: &str, plural: &str, ns: Option<&str>, name: &str) -> PathBuf {
    let base = match ns {
        Some(ns) => PathBuf::from("namespaces").join(file_name(ns)),
        None => PathBuf::from("cluster-scoped-resources"),
    };
    base.join(group_dir(group))
        .join(plural)
        .join(format!("{}.yaml", file_name(name)))
}

/// Where a container's log goes.
fn log_path(ns: &str, pod: &str, container: &str, previous: bool) -> PathBuf {
    let (pod, container) = (file_name(pod), file_name(container));
    PathBuf::from("namespaces")
        .join(file_name(ns))
        .join("pods")
        .join(&pod)
        .join(&container)
        .join(&container)
        .join("logs")
        .join(if previous {
            "previous.log"
        } else {
            "current.log"
        })
}

/// The reason an API call failed, in words a user can act on.
fn why(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let reason = match s.code {
                401 => "unauthorized".to_owned(),
                403 => "forbidden".to_owned(),
                404 => "not found".to_owned(),
                code if s.reason.is_empty() => format!("error {code}"),
                _ => s.reason.to_lowercase(),
            };
            format!("{reason}: {}", s.message)
        }
        other => other.to_string(),
    }
}

fn is_forbidden(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403 || s.code == 401)
}

struct Gatherer {
    client: kube::Client,
    out: Out,
    opts: GatherOptions,
    resources: BTreeMap<(String, String), Found>,
    summary: Summary,
    /// Every object collected: (group, kind, redacted object), for the summary.
    objects: Vec<(String, String, Value)>,
}

impl Gatherer {
    fn error(&mut self, resource: &str, ns: Option<&str>, name: Option<&str>, reason: String) {
        self.summary.errors.push(GatherError {
            resource: resource.to_owned(),
            namespace: ns.map(str::to_owned),
            name: name.map(str::to_owned),
            reason: redact::line(&reason),
        });
    }

    fn write_or_record(&mut self, what: &str, rel: &Path, r: anyhow::Result<()>) {
        if let Err(e) = r {
            self.error(
                what,
                None,
                Some(&rel.display().to_string()),
                format!("{e:#}"),
            );
        }
    }

    fn find(&self, group: &str, plural: &str) -> Option<Found> {
        self.resources
            .get(&(group.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// API discovery: the server version, groups and the resources of every group's preferred
    /// version, written under discovery/ and kept for the rest of the run.
    async fn discover(&mut self) {
        match self.client.apiserver_version().await {
            Ok(v) => {
                self.summary.server_version = Some(v.git_version.clone());
                let r = self
                    .out
                    .yaml(Path::new("discovery/version.yaml"), &json!(v));
                self.write_or_record("discovery", Path::new("version"), r);
            }
            Err(e) => self.error("discovery", None, Some("version"), why(&e)),
        }
        let mut lists: Vec<(String, APIResourceList)> = Vec::new();
        match self.client.list_core_api_resources("v1").await {
            Ok(l) => lists.push((String::new(), l)),
            Err(e) => self.error("discovery", None, Some("v1"), why(&e)),
        }
        match self.client.list_api_groups().await {
            Ok(groups) => {
                let r = self
                    .out
                    .yaml(Path::new("discovery/api-groups.yaml"), &json!(groups));
                self.write_or_record("discovery", Path::new("api-groups"), r);
                for g in &groups.groups {
                    let Some(gv) = g
                        .preferred_version
                        .as_ref()
                        .or_else(|| g.versions.first())
                        .map(|v| v.group_version.clone())
                    else {
                        continue;
                    };
                    match self.client.list_api_group_resources(&gv).await {
                        Ok(l) => lists.push((g.name.clone(), l)),
                        Err(e) => self.error("discovery", None, Some(&gv), why(&e)),
                    }
                }
            }
            Err(e) => self.error("discovery", None, Some("apis"), why(&e)),
        }
        let mut table = Vec::new();
        for (group, list) in &lists {
            let version = list
                .group_version
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
                let ar = ApiResource {
                    group: group.clone(),
                    version: version.clone(),
                    api_version: list.group_version.clone(),
                    kind: r.kind.clone(),
                    plural: r.name.clone(),
                };
                table.push(
                    json!({"groupVersion": list.group_version, "resource": r.name,
                    "kind": r.kind, "namespaced": r.namespaced, "verbs": r.verbs}),
                );
                self.resources.insert(
                    (group.clone(), r.name.clone()),
                    Found {
                        ar,
                        namespaced: r.namespaced,
                    },
                );
            }
        }
        let r = self
            .out
            .yaml(Path::new("discovery/api-resources.yaml"), &json!(table));
        self.write_or_record("discovery", Path::new("api-resources"), r);
        for g in ADDON_GROUPS {
            let present = self.resources.keys().any(|(group, _)| group == g);
            self.summary.addons.insert((*g).to_owned(), present);
        }
    }

    /// Every object of a resource (all namespaces when `ns` is `None` and it is namespaced).
    async fn list(&mut self, f: &Found, ns: Option<&str>) -> Option<Vec<Value>> {
        let api: Api<DynamicObject> = match ns {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &f.ar),
            None => Api::all_with(self.client.clone(), &f.ar),
        };
        let mut items = Vec::new();
        let mut lp = ListParams::default().limit(500);
        loop {
            match api.list(&lp).await {
                Ok(l) => {
                    items.extend(l.items.into_iter().map(|o| {
                        let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                        v["apiVersion"] = json!(f.ar.api_version);
                        v["kind"] = json!(f.ar.kind);
                        v
                    }));
                    match l.metadata.continue_.filter(|c| !c.is_empty()) {
                        Some(c) => lp = lp.continue_token(&c),
                        None => break,
                    }
                }
                Err(e) => {
                    let reason = why(&e);
                    self.error(&f.ar.plural, ns, None, reason);
                    return None;
                }
            }
        }
        Some(items)
    }

    /// Write objects and keep them for the summary.
    fn keep(&mut self, f: &Found, items: Vec<Value>) {
        for mut v in items {
            redact::object(&mut v);
            let ns = v["metadata"]["namespace"].as_str().map(str::to_owned);
            let name = v["metadata"]["name"]
                .as_str()
                .unwrap_or("unnamed")
                .to_owned();
            let rel = object_path(
                &f.ar.group,
                &f.ar.plural,
                ns.as_deref().filter(|_| f.namespaced),
                &name,
            );
            let r = self.out.yaml(&rel, &v);
            self.write_or_record(&f.ar.plural, &rel, r);
            *self
                .summary
                .collected
                .entry(format!("{}/{}", group_dir(&f.ar.group), f.ar.plural))
                .or_default() += 1;
            self.objects
                .push((f.ar.group.clone(), f.ar.kind.clone(), v));
        }
    }

    async fn collect(&mut self, group: &str, plural: &str, ns: Option<&str>) -> Vec<Value> {
        let Some(f) = self.find(group, plural) else {
            return Vec::new();
        };
        let items = self.list(&f, ns).await.unwrap_or_default();
        self.keep(&f, items.clone());
        items
    }

    /// Names of the namespaces objects of a resource are in, across the cluster (with a
    /// field selector when given).
    async fn namespaces_of(
        &mut self,
        group: &str,
        plural: &str,
        fields: Option<&str>,
    ) -> BTreeSet<String> {
        let Some(f) = self.find(group, plural) else {
            return BTreeSet::new();
        };
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &f.ar);
        let mut lp = ListParams::default();
        if let Some(fs) = fields {
            lp = lp.fields(fs);
        }
        match api.list_metadata(&lp).await {
            Ok(l) => l
                .items
                .into_iter()
                .filter_map(|o| o.metadata.namespace)
                .collect(),
            Err(e) => {
                let reason = format!(
                    "{} (cannot find namespaces across the cluster; pass --namespace)",
                    why(&e)
                );
                self.error(plural, None, None, reason);
                BTreeSet::new()
            }
        }
    }

    /// The namespaces to gather and those the operator runs in.
    async fn targets(&mut self) -> (Vec<String>, Vec<String>) {
        let mut operator: BTreeSet<String> = self.opts.operator_namespace.iter().cloned().collect();
        let deployment = format!("metadata.name={}", facts::OPERATOR_DEPLOYMENT);
        operator.extend(
            self.namespaces_of("apps", "deployments", Some(&deployment))
                .await,
        );
        let lease = format!("metadata.name={LEADER_LEASE}");
        operator.extend(
            self.namespaces_of("coordination.k8s.io", "leases", Some(&lease))
                .await,
        );
        if let Some(f) = self.find("operators.coreos.com", "subscriptions") {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &f.ar);
            match api.list(&ListParams::default()).await {
                Ok(l) => operator.extend(
                    l.items
                        .into_iter()
                        .filter(|s| s.data["spec"]["name"] == crate::olm::release::PACKAGE)
                        .filter_map(|s| s.metadata.namespace),
                ),
                Err(e) => self.error("subscriptions", None, None, why(&e)),
            }
        }
        if !self.opts.namespaces.is_empty() {
            let mut ns = self.opts.namespaces.clone();
            ns.sort();
            ns.dedup();
            return (ns, operator.into_iter().collect());
        }
        let mut all = operator.clone();
        let smbp: Vec<String> = self
            .resources
            .keys()
            .filter(|(g, _)| g == crate::api::GROUP)
            .map(|(_, p)| p.clone())
            .collect();
        for plural in smbp {
            all.extend(self.namespaces_of(crate::api::GROUP, &plural, None).await);
        }
        (all.into_iter().collect(), operator.into_iter().collect())
    }

    async fn logs(&mut self, pods: &[Value]) {
        for pod in pods {
            let ns = pod["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let name = pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let api: Api<k8s_openapi::api::core::v1::Pod> =
                Api::namespaced(self.client.clone(), &ns);
            let statuses: Vec<Value> = ["initContainerStatuses", "containerStatuses"]
                .iter()
                .flat_map(|k| pod["status"][k].as_array().cloned().unwrap_or_default())
                .collect();
            let containers: Vec<String> = ["initContainers", "containers"]
                .iter()
                .flat_map(|k| pod["spec"][k].as_array().cloned().unwrap_or_default())
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect();
            for c in containers {
                let restarted = statuses.iter().any(|s| {
                    s["name"] == c.as_str() && s["restartCount"].as_i64().unwrap_or(0) > 0
                });
                for previous in [false, true] {
                    if previous && !restarted {
                        continue;
                    }
                    let lp = LogParams {
                        container: Some(c.clone()),
                        previous,
                        since_seconds: self.opts.since.map(|d| d.as_secs() as i64),
                        limit_bytes: Some(LOG_LIMIT_BYTES),
                        timestamps: true,
                        ..Default::default()
                    };
                    match api.logs(&name, &lp).await {
                        Ok(text) => {
                            let rel = log_path(&ns, &name, &c, previous);
                            let r = self.out.write(&rel, &text);
                            self.write_or_record("logs", &rel, r);
                            *self.summary.collected.entry("logs".into()).or_default() += 1;
                        }
                        Err(e) => {
                            let what = if previous { "logs (previous)" } else { "logs" };
                            let reason = why(&e);
                            self.error(what, Some(&ns), Some(&format!("{name}/{c}")), reason);
                            if is_forbidden(&e) {
                                // No pods/log access: one error per pod is enough.
                                break;
                            }
                        }
                    }
                }
            }
        }
    }

    /// The operator pods' /metrics through the API server's pod proxy.
    async fn metrics(&mut self, operator_ns: &[String], pods: &[Value]) {
        let selector = crate::olm::manager::labels();
        let ours: Vec<(String, String)> = pods
            .iter()
            .filter(|p| {
                let ns = p["metadata"]["namespace"].as_str().unwrap_or_default();
                operator_ns.iter().any(|o| o == ns)
                    && selector
                        .iter()
                        .all(|(k, v)| p["metadata"]["labels"][k] == v.as_str())
            })
            .map(|p| {
                (
                    p["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        if ours.is_empty() {
            self.error(
                "metrics",
                None,
                None,
                "no operator pod found (labels app.kubernetes.io/name=smbp-operator, control-plane=controller-manager)".into(),
            );
        }
        for (ns, pod) in ours {
            let mut reasons = Vec::new();
            for (scheme, port) in [("https:", facts::METRICS_PORT), ("", 8080)] {
                let pods_path = format!("/api/v1/namespaces/{ns}/pods");
                let req = match kube::core::Request::new(pods_path).get_subresource(
                    &format!("proxy{}", facts::METRICS_PATH),
                    &format!("{scheme}{pod}:{port}"),
                ) {
                    Ok(r) => r,
                    Err(e) => {
                        reasons.push(e.to_string());
                        continue;
                    }
                };
                match self.client.request_text(req).await {
                    Ok(text) => {
                        let rel = PathBuf::from("metrics")
                            .join(file_name(&ns))
                            .join(format!("{}.txt", file_name(&pod)));
                        let r = self.out.write(&rel, &text);
                        self.write_or_record("metrics", &rel, r);
                        reasons.clear();
                        break;
                    }
                    Err(e) => reasons.push(format!("{scheme}{port}: {}", why(&e))),
                }
            }
            if !reasons.is_empty() {
                self.error("metrics", Some(&ns), Some(&pod), reasons.join("; "));
            }
        }
    }

    /// The PersistentVolumes gathered claims are bound to.
    async fn volumes(&mut self, claims: &[Value]) {
        let Some(f) = self.find("", "persistentvolumes") else {
            return;
        };
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &f.ar);
        let names: BTreeSet<String> = claims
            .iter()
            .filter_map(|c| c["spec"]["volumeName"].as_str().map(str::to_owned))
            .filter(|n| !n.is_empty())
            .collect();
        let mut found = Vec::new();
        for n in names {
            match api.get(&n).await {
                Ok(o) => {
                    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                    v["apiVersion"] = json!(f.ar.api_version);
                    v["kind"] = json!(f.ar.kind);
                    found.push(v);
                }
                Err(e) => self.error("persistentvolumes", None, Some(&n), why(&e)),
            }
        }
        self.keep(&f, found);
    }

    /// The CRDs of the operator, the add-ons and OLM.
    async fn crds(&mut self) {
        let Some(f) = self.find("apiextensions.k8s.io", "customresourcedefinitions") else {
            return;
        };
        let Some(items) = self.list(&f, None).await else {
            return;
        };
        let wanted: Vec<Value> = items
            .into_iter()
            .filter(|c| {
                let g = c["spec"]["group"].as_str().unwrap_or_default();
                g == crate::api::GROUP || ADDON_GROUPS.contains(&g)
            })
            .collect();
        self.keep(&f, wanted);
    }

    async fn webhooks(&mut self) {
        for plural in [
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
        ] {
            let Some(f) = self.find("admissionregistration.k8s.io", plural) else {
                continue;
            };
            let Some(items) = self.list(&f, None).await else {
                continue;
            };
            let ours = items
                .into_iter()
                .filter(|w| {
                    w["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("smbp")
                        || w.to_string().contains(facts::WEBHOOK_NAME)
                })
                .collect();
            self.keep(&f, ours);
        }
    }

    async fn namespace_objects(&mut self, namespaces: &[String]) {
        let Some(f) = self.find("", "namespaces") else {
            return;
        };
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &f.ar);
        for ns in namespaces {
            match api.get(ns).await {
                Ok(o) => {
                    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                    v["apiVersion"] = json!("v1");
                    v["kind"] = json!("Namespace");
                    let rel = PathBuf::from("namespaces")
                        .join(file_name(ns))
                        .join(format!("{}.yaml", file_name(ns)));
                    let r = self.out.yaml(&rel, &v);
                    self.write_or_record("namespaces", &rel, r);
                }
                Err(e) => self.error("namespaces", None, Some(ns), why(&e)),
            }
        }
    }
}

/// Gather into `opts.dest`: every file is redacted; what could not be read is listed in the
/// summary rather than failing the run. Fails only when the destination cannot be written.
pub async fn gather(client: kube::Client, opts: &GatherOptions) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(&opts.dest)
        .with_context(|| format!("creating {}", opts.dest.display()))?;
    let mut g = Gatherer {
        client,
        out: Out {
            dest: opts.dest.clone(),
        },
        opts: opts.clone(),
        resources: BTreeMap::new(),
        summary: Summary {
            started_at: now(),
            ..Default::default()
        },
        objects: Vec::new(),
    };
    g.discover().await;
    let (namespaces, operator) = g.targets().await;
    g.summary.namespaces = namespaces.clone();
    g.summary.operator_namespaces = operator.clone();
    g.namespace_objects(&namespaces).await;
    let mut namespaced: Vec<(String, String)> = NAMESPACED
        .iter()
        .map(|(g, p)| ((*g).to_owned(), (*p).to_owned()))
        .collect();
    namespaced.extend(
        g.resources
            .iter()
            .filter(|((grp, _), f)| grp == crate::api::GROUP && f.namespaced)
            .map(|(k, _)| k.clone()),
    );
    let mut pods = Vec::new();
    let mut claims = Vec::new();
    for ns in &namespaces {
        for (group, plural) in &namespaced {
            let items = g.collect(group, plural, Some(ns)).await;
            match (group.as_str(), plural.as_str()) {
                ("", "pods") => pods.extend(items),
                ("", "persistentvolumeclaims") => claims.extend(items),
                _ => {}
            }
        }
    }
    for (group, plural) in ALL_NAMESPACES.iter().chain(CLUSTER) {
        g.collect(group, plural, None).await;
    }
    g.volumes(&claims).await;
    g.crds().await;
    g.webhooks().await;
    g.logs(&pods).await;
    g.metrics(&operator, &pods).await;
    g.summary.problems = summary::problems(&g.objects);
    let s = g.summary.clone();
    g.out
        .write(Path::new("summary.md"), &summary::markdown(&s))?;
    g.out
        .json(Path::new("summary.json"), &serde_json::to_value(&s)?)?;
    Ok(s)
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Pack a gathered directory into a `.tar.gz` (its entries under the directory's name). The
/// files are already redacted; nothing is read from the cluster.
pub fn write_archive(dir: &Path, out_path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out_path)
        .with_context(|| format!("creating {}", out_path.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let top = dir
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("must-gather"));
    tar.append_dir_all(&top, dir)
        .with_context(|| format!("archiving {}", dir.display()))?;
    tar.into_inner()?.finish()?;
    Ok(())
}

/// [`gather`] into `opts.dest`, then [`write_archive`] to `archive` (what `kubectl smbp
/// report` produces).
pub async fn report(
    client: kube::Client,
    opts: &GatherOptions,
    archive: &Path,
) -> anyhow::Result<Summary> {
    let s = gather(client, opts).await?;
    write_archive(&opts.dest, archive)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_must_gather_layout() {
        assert_eq!(
            object_path("", "pods", Some("n"), "p"),
            PathBuf::from("namespaces/n/core/pods/p.yaml")
        );
        assert_eq!(
            object_path("smbp.io", "bigpeers", Some("n"), "bp"),
            PathBuf::from("namespaces/n/smbp.io/bigpeers/bp.yaml")
        );
        assert_eq!(
            object_path(
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                None,
                "bigpeers.smbp.io"
            ),
            PathBuf::from(
                "cluster-scoped-resources/apiextensions.k8s.io/customresourcedefinitions/bigpeers.smbp.io.yaml"
            )
        );
        assert_eq!(
            log_path("n", "p", "c", true),
            PathBuf::from("namespaces/n/pods/p/c/c/logs/previous.log")
        );
        assert_eq!(file_name("../x/y"), "__x_y");
    }

    #[test]
    fn every_write_is_redacted() {
        let d = tempfile::tempdir().unwrap();
        let out = Out {
            dest: d.path().to_owned(),
        };
        out.write(
            Path::new("a/log"),
            "GET / Authorization: Bearer Pl4nted\nok\n",
        )
        .unwrap();
        let s = std::fs::read_to_string(d.path().join("a/log")).unwrap();
        assert_eq!(s, "GET / Authorization: REDACTED\nok\n");
        out.yaml(
            Path::new("s.yaml"),
            &json!({"apiVersion": "v1", "kind": "Secret", "data": {"k": "UGw0bnRlZA=="}}),
        )
        .unwrap();
        let s = std::fs::read_to_string(d.path().join("s.yaml")).unwrap();
        assert!(!s.contains("UGw0bnRlZA"), "{s}");
        assert!(s.contains("k: REDACTED"), "{s}");
    }

    #[test]
    fn the_summary_stays_json() {
        let d = tempfile::tempdir().unwrap();
        let out = Out {
            dest: d.path().to_owned(),
        };
        let s = Summary {
            collected: [
                ("core/secrets".to_owned(), 3),
                ("smbp.io/bigpeerapikeys".to_owned(), 2),
                ("rbac.authorization.k8s.io/roles".to_owned(), 1),
            ]
            .into(),
            errors: vec![GatherError {
                resource: "secrets".into(),
                namespace: None,
                name: None,
                reason: "forbidden: token: abc\" password=x".into(),
            }],
            ..Default::default()
        };
        out.json(
            Path::new("summary.json"),
            &serde_json::to_value(&s).unwrap(),
        )
        .unwrap();
        let back: Summary =
            serde_json::from_slice(&std::fs::read(d.path().join("summary.json")).unwrap()).unwrap();
        assert_eq!(back.collected, s.collected);
        assert!(!back.errors[0].reason.contains("abc"));
    }

    #[test]
    fn the_archive_holds_the_directory() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("must-gather");
        std::fs::create_dir_all(src.join("x")).unwrap();
        std::fs::write(src.join("x/f"), "hello").unwrap();
        let a = d.path().join("a.tar.gz");
        write_archive(&src, &a).unwrap();
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(&a).unwrap());
        let names: Vec<String> = tar::Archive::new(gz)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.iter().any(|n| n == "must-gather/x/f"), "{names:?}");
    }
}
