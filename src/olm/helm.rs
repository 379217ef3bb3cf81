//! The Helm chart `charts/smbp-operator`, generated from the same objects as `config/default`
//! (RBAC, the Deployment, the Services, the webhook and the CRDs), with `values.schema.json`
//! generated from [`HelmValues`].
//!
//! The objects are the kustomize install's, serialized to YAML with sentinel strings where a
//! value comes from the chart's values; [`templatize`] then turns each sentinel into its Helm
//! expression. With the default values, `helm template -n smbp-system` renders the same objects
//! as `kubectl kustomize config/default`, except (by design):
//!
//! - the Namespace: Helm installs into `--namespace` (with `--create-namespace`); a chart that
//!   also created it would fail to install there;
//! - the CRDs carry `helm.sh/resource-policy: keep` (`crds.keep`, on by default), so that
//!   `helm uninstall` never deletes the CRDs and with them every BigPeer.
//!
//! The CRDs are templates, not the chart's `crds/` directory: Helm never upgrades `crds/`, and
//! every release of the operator may add fields.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, ResourceRequirements, Toleration,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::file::{File, value};
use super::release::{self, Release};
use super::{contract, crd, kustomize_webhook as webhook, manager, monitoring, rbac};

/// Where the chart lives in the repository.
pub const DIR: &str = "charts/smbp-operator";
/// The annotation that keeps an object on `helm uninstall`.
pub const KEEP_ANNOTATION: &str = "helm.sh/resource-policy";

/// The operator image.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Repository, without tag or digest.
    #[schemars(length(min = 1))]
    pub repository: String,
    /// Tag, used when `digest` is empty.
    pub tag: String,
    /// Digest (`sha256:...`); when set, the image is pulled by digest and `tag` is ignored.
    #[schemars(regex(pattern = r"^(sha256:[a-f0-9]{64})?$"))]
    pub digest: String,
}

/// Leader election.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaderElection {
    /// Take part in leader election (only the Lease holder reconciles). Keep it on with more
    /// than one replica.
    pub enabled: bool,
}

/// The operator's metrics endpoint.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metrics {
    /// The metrics Service `smbp-operator-metrics` (HTTPS, port 8443).
    pub enabled: bool,
}

/// Prometheus Operator objects (need the `monitoring.coreos.com/v1` CRDs).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Monitoring {
    /// The operator's ServiceMonitor.
    pub service_monitor: bool,
    /// The shipped alerting rules as a PrometheusRule.
    pub prometheus_rule: bool,
    /// The Grafana dashboards as ConfigMaps (label `grafana_dashboard: "1"`).
    pub dashboards: bool,
}

/// The CRDs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Crds {
    /// Keep the CRDs on `helm uninstall` (`helm.sh/resource-policy: keep`). Deleting a CRD
    /// deletes every object of its kind, so every BigPeer; turn it off only on purpose.
    pub keep: bool,
}

/// The chart's values (`values.yaml` holds the defaults; `values.schema.json` is generated from
/// this type, and Helm refuses values it does not allow).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmValues {
    /// The operator image.
    pub image: Image,
    /// Images of Big Peer and the MongoDB connector by `RELATED_IMAGE_*` variable (mirror them
    /// for air-gapped clusters; by digest in a release).
    pub related_images: BTreeMap<String, String>,
    /// Namespaces whose BigPeers the operator reconciles; empty: every namespace.
    pub watch_namespaces: Vec<String>,
    /// Leader election.
    pub leader_election: LeaderElection,
    /// Operator replicas (one reconciles; the others serve the webhook and the management API).
    #[schemars(range(min = 1))]
    pub replicas: u32,
    /// The operator container's resources.
    pub resources: ResourceRequirements,
    /// Pull secrets for the operator image.
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// Node selector of the operator pods.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of the operator pods.
    pub tolerations: Vec<Toleration>,
    /// Affinity of the operator pods.
    pub affinity: Affinity,
    /// The metrics endpoint's Service.
    pub metrics: Metrics,
    /// Prometheus Operator objects.
    pub monitoring: Monitoring,
    /// The CRDs.
    pub crds: Crds,
}

/// `repository`, `tag` and `digest` of an image reference.
pub fn split_image(image: &str) -> (String, String, String) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo.into(), String::new(), digest.into());
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (
            image[..slash + i].into(),
            image[slash + i + 1..].into(),
            String::new(),
        ),
        None => (image.into(), "latest".into(), String::new()),
    }
}

impl HelmValues {
    /// The defaults: what `config/default` installs.
    pub fn defaults(r: &Release) -> Self {
        let (repository, tag, digest) = split_image(&r.operator_image);
        let pod = manager::deployment(r, false)
            .spec
            .and_then(|s| s.template.spec)
            .expect("the Deployment has a pod spec");
        Self {
            image: Image {
                repository,
                tag,
                digest,
            },
            related_images: r
                .related_images()
                .into_iter()
                .filter(|(n, _)| n.starts_with("RELATED_IMAGE_"))
                .collect(),
            watch_namespaces: vec![],
            leader_election: LeaderElection { enabled: true },
            replicas: 1,
            resources: pod.containers[0].resources.clone().unwrap_or_default(),
            image_pull_secrets: vec![],
            node_selector: BTreeMap::new(),
            tolerations: vec![],
            affinity: Affinity::default(),
            metrics: Metrics { enabled: true },
            monitoring: Monitoring {
                service_monitor: false,
                prometheus_rule: false,
                dashboards: false,
            },
            crds: Crds { keep: true },
        }
    }
}

/// `values.schema.json`.
pub fn values_schema() -> Value {
    let mut s = serde_json::to_value(schemars::schema_for!(HelmValues)).expect("schema");
    s["title"] = json!("smbp-operator chart values");
    s
}

// Sentinels: strings no generated object holds, replaced by [`templatize`].
const NS: &str = "__SMBP_RELEASE_NAMESPACE__";
const IMAGE: &str = "__SMBP_IMAGE__";
const REPLICAS: &str = "__SMBP_REPLICAS__";
const WATCH: &str = "__SMBP_WATCH_NAMESPACES__";
const LEADER: &str = "__SMBP_LEADER_ELECT__";
const RESOURCES: &str = "__SMBP_RESOURCES__";
const KEEP: &str = "__SMBP_CRD_KEEP__";
const RELATED: &str = "__SMBP_RELATED_IMAGE__";
/// Optional pod-spec fields: sentinel, and the value they come from.
const OPTIONAL: &[(&str, &str, &str)] = &[
    (
        "nodeSelector",
        "__SMBP_NODE_SELECTOR__",
        ".Values.nodeSelector",
    ),
    ("tolerations", "__SMBP_TOLERATIONS__", ".Values.tolerations"),
    ("affinity", "__SMBP_AFFINITY__", ".Values.affinity"),
    (
        "imagePullSecrets",
        "__SMBP_IMAGE_PULL_SECRETS__",
        ".Values.imagePullSecrets",
    ),
];

/// Escapes Go template delimiters in generated text (alert annotations and dashboards hold
/// `{{ $labels.x }}`), so that Helm renders them as they are.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{{") {
            out.push_str(r#"{{ "{{" }}"#);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            out.push_str(r#"{{ "}}" }}"#);
            rest = r;
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Turns the sentinels of an object's YAML into Helm expressions.
pub fn templatize(yaml: &str) -> String {
    let mut out = vec![];
    for line in escape(yaml).lines() {
        let n = indent_of(line);
        let pad = " ".repeat(n);
        let t = line.trim_start();
        if t == format!("- {LEADER}") {
            out.push("{{- if not .Values.leaderElection.enabled }}".to_string());
            out.push(format!("{pad}- --leader-elect=false"));
            out.push("{{- end }}".to_string());
        } else if t == format!("resources: {RESOURCES}") {
            out.push(format!("{pad}resources:"));
            out.push(format!(
                "{{{{- toYaml .Values.resources | nindent {} }}}}",
                n + 2
            ));
        } else if t == format!("annotations: {KEEP}") {
            out.push("{{- if .Values.crds.keep }}".to_string());
            out.push(format!("{pad}annotations:"));
            out.push(format!("{pad}  {KEEP_ANNOTATION}: keep"));
            out.push("{{- end }}".to_string());
        } else if let Some((key, _, from)) =
            OPTIONAL.iter().find(|(k, s, _)| t == format!("{k}: {s}"))
        {
            out.push(format!("{{{{- with {from} }}}}"));
            out.push(format!("{pad}{key}:"));
            out.push(format!("{{{{- toYaml . | nindent {} }}}}", n + 2));
            out.push("{{- end }}".to_string());
        } else {
            out.push(line.to_string());
        }
    }
    let mut s = out.join("\n") + "\n";
    s = s.replace(NS, "{{ .Release.Namespace }}");
    s = s.replace(
        IMAGE,
        "{{ if .Values.image.digest }}{{ .Values.image.repository }}@{{ .Values.image.digest }}\
         {{ else }}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{ end }}",
    );
    s = s.replace(REPLICAS, "{{ .Values.replicas }}");
    s = s.replace(WATCH, r#"{{ join "," .Values.watchNamespaces | quote }}"#);
    // RELATED_IMAGE_<name> values: `__SMBP_RELATED_IMAGE__<name>` up to the end of the scalar.
    while let Some(i) = s.find(RELATED) {
        let rest = &s[i + RELATED.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = rest[..end].to_string();
        s = format!(
            "{}{{{{ index .Values.relatedImages \"{name}\" | quote }}}}{}",
            &s[..i],
            &rest[end..]
        );
    }
    s
}

fn with_namespace(mut v: Value) -> Value {
    v["metadata"]["namespace"] = json!(NS);
    v
}

fn typed(v: Value, api_version: &str, kind: &str) -> Value {
    let mut v = v;
    v["apiVersion"] = json!(api_version);
    v["kind"] = json!(kind);
    v
}

fn binding(kind: &str, name: &str, namespaced: bool) -> Value {
    let b = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": format!("{kind}Binding"),
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": crate::facts::OPERATOR_SERVICE_ACCOUNT, "namespace": NS}],
    });
    if namespaced { with_namespace(b) } else { b }
}

fn subjects_in_release_namespace(mut v: Value) -> Value {
    for s in v["subjects"].as_array_mut().into_iter().flatten() {
        s["namespace"] = json!(NS);
    }
    v
}

/// The operator Deployment with the value sentinels in place.
fn deployment(r: &Release) -> Value {
    sentinels(typed(
        value(&manager::deployment(r, false)),
        "apps/v1",
        "Deployment",
    ))
}

/// A Deployment with the value sentinels in place of what the values set.
fn sentinels(d: Value) -> Value {
    let mut d = with_namespace(d);
    d["spec"]["replicas"] = json!(REPLICAS);
    let pod = &mut d["spec"]["template"]["spec"];
    for (key, sentinel, _) in OPTIONAL {
        assert!(pod.get(*key).is_none(), "{key} is set by the chart only");
        pod[*key] = json!(sentinel);
    }
    let c = &mut pod["containers"][0];
    c["image"] = json!(IMAGE);
    c["resources"] = json!(RESOURCES);
    c["args"].as_array_mut().expect("args").push(json!(LEADER));
    for e in c["env"].as_array_mut().expect("env") {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        if name == "WATCH_NAMESPACE" {
            *e = json!({"name": name, "value": WATCH});
        } else if name.starts_with("RELATED_IMAGE_") {
            e["value"] = json!(format!("{RELATED}{name}"));
        }
    }
    d
}

fn y(v: &Value) -> String {
    serde_yaml_ng::to_string(v).expect("manifests serialize")
}

fn wrap(condition: &str, body: String) -> String {
    format!("{{{{- if {condition} }}}}\n{body}{{{{- end }}}}\n")
}

/// The chart's templates: file name under `templates/` and content.
fn templates(r: &Release) -> Vec<(String, String)> {
    let header = "# Generated by `smbp-operator bundle-gen`; do not edit.\n";
    let t = |v: &Value| templatize(&y(v));
    let mut out = vec![];
    for c in crd::crds() {
        let mut v = value(&c);
        assert!(v["metadata"].get("annotations").is_none());
        v["metadata"]["annotations"] = json!(KEEP);
        out.push((format!("crds/{}", crd::file_name(&c)), t(&v)));
    }
    let cluster_role = typed(
        value(&rbac::manager_cluster_role()),
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
    );
    let cr_name = cluster_role["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let le_role = with_namespace(typed(
        value(&rbac::leader_election_role()),
        "rbac.authorization.k8s.io/v1",
        "Role",
    ));
    let le_name = le_role["metadata"]["name"].as_str().unwrap().to_string();
    let sa = with_namespace(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": crate::facts::OPERATOR_SERVICE_ACCOUNT}}));
    let mut vwc = value(&webhook::configuration());
    for w in vwc["webhooks"].as_array_mut().into_iter().flatten() {
        w["clientConfig"]["service"]["namespace"] = json!(NS);
    }
    let rbac_docs = [
        t(&sa),
        t(&cluster_role),
        t(&binding("ClusterRole", &cr_name, false)),
        t(&le_role),
        t(&binding("Role", &le_name, true)),
        t(&value(&rbac::metrics_reader_cluster_role())),
        rbac::user_cluster_roles()
            .iter()
            .map(|c| t(&value(c)))
            .collect::<Vec<_>>()
            .join("---\n"),
        t(&with_namespace(value(&webhook::certificate_role()))),
        t(&with_namespace(subjects_in_release_namespace(value(
            &webhook::certificate_role_binding(),
        )))),
        t(&value(&webhook::configuration_role())),
        t(&subjects_in_release_namespace(value(
            &webhook::configuration_role_binding(),
        ))),
    ];
    out.push(("rbac.yaml".into(), rbac_docs.join("---\n")));
    out.push(("deployment.yaml".into(), t(&deployment(r))));
    out.push((
        "webhook.yaml".into(),
        [t(&with_namespace(value(&webhook::service()))), t(&vwc)].join("---\n"),
    ));
    out.push((
        "api-service.yaml".into(),
        t(&with_namespace(value(&manager::api_service()))),
    ));
    out.push((
        "metrics-service.yaml".into(),
        wrap(
            ".Values.metrics.enabled",
            t(&with_namespace(value(&manager::metrics_service()))),
        ),
    ));
    out.push((
        "servicemonitor.yaml".into(),
        wrap(
            ".Values.monitoring.serviceMonitor",
            t(&with_namespace(monitoring::service_monitor())),
        ),
    ));
    out.push((
        "prometheusrule.yaml".into(),
        wrap(
            ".Values.monitoring.prometheusRule",
            t(&with_namespace(monitoring::prometheus_rule())),
        ),
    ));
    out.push((
        "dashboards.yaml".into(),
        wrap(
            ".Values.monitoring.dashboards",
            monitoring::DASHBOARDS
                .iter()
                .map(|d| t(&with_namespace(monitoring::dashboard_config_map(d))))
                .collect::<Vec<_>>()
                .join("---\n"),
        ),
    ));
    out.into_iter()
        .map(|(p, c)| (p, format!("{header}{c}")))
        .collect()
}

/// The chart's files under `dir`: Chart.yaml, values and their schema, `templates`.
fn chart(
    dir: &str,
    version: &str,
    values: &HelmValues,
    templates: Vec<(String, String)>,
) -> Vec<File> {
    let chart = json!({
        "apiVersion": "v2",
        "name": release::PACKAGE,
        "description": "Kubernetes operator for Ditto's Self-Managed Big Peer",
        "type": "application",
        "version": version,
        "appVersion": version,
        "kubeVersion": contract::helm_kube_version(),
        "home": "https://github.com/smbp-io/smbp-operator",
        "sources": ["https://github.com/smbp-io/smbp-operator"],
        "keywords": ["ditto", "big peer", "operator"],
    });
    let mut out = vec![
        (format!("{dir}/Chart.yaml"), y(&chart)),
        (
            format!("{dir}/values.yaml"),
            format!(
                "# Generated by `smbp-operator bundle-gen`; do not edit. The schema of every value is\n\
                 # values.schema.json; docs/user/install.md explains them.\n{}",
                serde_yaml_ng::to_string(values).expect("values serialize")
            ),
        ),
        (
            format!("{dir}/values.schema.json"),
            serde_json::to_string_pretty(&values_schema()).expect("schema serializes") + "\n",
        ),
        (
            format!("{dir}/.helmignore"),
            "# Generated by `smbp-operator bundle-gen`; do not edit.\n*.orig\n*~\n".into(),
        ),
        (
            format!("{dir}/templates/NOTES.txt"),
            "smbp-operator {{ .Chart.AppVersion }} is installed in {{ .Release.Namespace }}.\n\
             The CRDs are {{ if .Values.crds.keep }}kept{{ else }}DELETED, with every BigPeer,{{ end }} on helm uninstall.\n"
                .into(),
        ),
    ];
    out.extend(
        templates
            .into_iter()
            .map(|(p, c)| (format!("{dir}/templates/{p}"), c)),
    );
    out
}

/// Every file of the chart.
pub fn files(r: &Release) -> Vec<File> {
    chart(DIR, &r.version, &HelmValues::defaults(r), templates(r))
}

/// Kinds a bundle may hold besides the CSV and CRDs that live in a namespace.
const NAMESPACED: &[&str] = &[
    "Service",
    "ConfigMap",
    "Secret",
    "Role",
    "RoleBinding",
    "ServiceMonitor",
    "PrometheusRule",
    "PodMonitor",
];

/// The chart of a release published before the chart existed, made from its registry+v1 bundle
/// directory (`releases/<version>/bundle`): the CSV's Deployment, its `permissions` as a
/// ClusterRole (as `config/default` grants them: every namespace) and `clusterPermissions` as
/// another, the CRDs (kept) and the bundle's other objects. It is what the upgrade test installs
/// first, to upgrade to the current chart. A CSV with `webhookdefinitions` is refused: OLM
/// makes a webhook's Service and certificate, which a chart of a bundle would not have.
pub fn chart_from_bundle(bundle: &std::path::Path, dir: &str) -> anyhow::Result<Vec<File>> {
    use anyhow::{Context as _, bail};
    let manifests = bundle.join("manifests");
    let mut objects = vec![];
    let mut paths: Vec<_> = std::fs::read_dir(&manifests)
        .with_context(|| format!("reading {}", manifests.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    for p in paths {
        let v: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&p)?)
            .with_context(|| format!("parsing {}", p.display()))?;
        objects.push(v);
    }
    let csv = objects
        .iter()
        .find(|o| o["kind"] == "ClusterServiceVersion")
        .context("no CSV in the bundle")?
        .clone();
    if csv["spec"].get("webhookdefinitions").is_some() {
        bail!(
            "the bundle's CSV has webhookdefinitions, which a chart made from a bundle cannot serve"
        );
    }
    let version = csv["spec"]["version"]
        .as_str()
        .context("CSV version")?
        .to_string();
    let strategy = &csv["spec"]["install"]["spec"];
    let dep = &strategy["deployments"][0];
    let sa = strategy["permissions"][0]["serviceAccountName"]
        .as_str()
        .unwrap_or(crate::facts::OPERATOR_SERVICE_ACCOUNT)
        .to_string();
    let container = &dep["spec"]["template"]["spec"]["containers"][0];
    let (repository, tag, digest) = split_image(container["image"].as_str().unwrap_or_default());
    let values = HelmValues {
        image: Image {
            repository,
            tag,
            digest,
        },
        related_images: container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let n = e["name"].as_str()?;
                n.starts_with("RELATED_IMAGE_").then(|| {
                    (
                        n.to_string(),
                        e["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
            })
            .collect(),
        resources: serde_json::from_value(container["resources"].clone()).unwrap_or_default(),
        ..HelmValues::defaults(&Release::with_defaults(&version, ""))
    };
    let t = |v: &Value| templatize(&y(v));
    let mut templates = vec![];
    let mut rbac_docs = vec![t(&with_namespace(
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}}),
    ))];
    for (key, name) in [
        ("permissions", format!("{}-manager", release::PACKAGE)),
        (
            "clusterPermissions",
            format!("{}-cluster", release::PACKAGE),
        ),
    ] {
        let Some(rules) = strategy[key][0].get("rules") else {
            continue;
        };
        rbac_docs.push(t(&json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules,
        })));
        rbac_docs.push(t(&binding("ClusterRole", &name, false)));
    }
    templates.push(("rbac.yaml".to_string(), rbac_docs.join("---\n")));
    let deployment = sentinels(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": dep["name"], "labels": dep["label"]},
        "spec": dep["spec"],
    }));
    templates.push(("deployment.yaml".into(), t(&deployment)));
    for o in objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        let name = o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let file = format!("{}-{name}.yaml", kind.to_lowercase());
        match kind.as_str() {
            "ClusterServiceVersion" => {}
            "CustomResourceDefinition" => {
                let mut c = o.clone();
                c["metadata"]["annotations"] = json!(KEEP);
                templates.push((format!("crds/{name}.yaml"), t(&c)));
            }
            k if NAMESPACED.contains(&k) => templates.push((file, t(&with_namespace(o)))),
            _ => templates.push((file, t(&o))),
        }
    }
    Ok(chart(dir, &version, &values, templates))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release::with_defaults("0.2.0", "2026-11-23T00:00:00Z")
    }

    #[test]
    fn images_split_into_repository_tag_and_digest() {
        assert_eq!(
            split_image("quay.io/smbp/smbp-operator:v0.2.0"),
            (
                "quay.io/smbp/smbp-operator".into(),
                "v0.2.0".into(),
                String::new()
            )
        );
        assert_eq!(
            split_image("localhost:5000/op@sha256:ab"),
            (
                "localhost:5000/op".into(),
                String::new(),
                "sha256:ab".into()
            )
        );
        assert_eq!(
            split_image("localhost:5000/op"),
            ("localhost:5000/op".into(), "latest".into(), String::new())
        );
    }

    #[test]
    fn escaping_keeps_go_template_text_literal() {
        assert_eq!(
            escape("a {{ $labels.x }} b"),
            r#"a {{ "{{" }} $labels.x {{ "}}" }} b"#
        );
        assert_eq!(escape("}}{{"), r#"{{ "}}" }}{{ "{{" }}"#);
        assert_eq!(escape("{ } plain"), "{ } plain");
    }

    #[test]
    fn every_sentinel_becomes_an_expression() {
        for f in files(&release()) {
            assert!(!f.1.contains("__SMBP_"), "{}: a sentinel is left", f.0);
        }
        let all = files(&release());
        let dep = &all
            .iter()
            .find(|(p, _)| p.ends_with("templates/deployment.yaml"))
            .unwrap()
            .1;
        for expr in [
            ".Values.replicas",
            ".Values.image.digest",
            ".Values.resources",
            ".Values.nodeSelector",
            ".Values.tolerations",
            ".Values.affinity",
            ".Values.imagePullSecrets",
            ".Values.watchNamespaces",
            ".Values.leaderElection.enabled",
            ".Values.relatedImages",
            ".Release.Namespace",
        ] {
            assert!(dep.contains(expr), "{expr} missing:\n{dep}");
        }
    }

    #[test]
    fn the_default_values_are_what_config_default_installs_and_match_the_schema_shape() {
        let v = HelmValues::defaults(&release());
        assert_eq!(v.image.tag, "v0.2.0");
        assert!(v.watch_namespaces.is_empty());
        assert!(v.crds.keep);
        assert!(v.metrics.enabled);
        assert!(!v.monitoring.service_monitor);
        // Every RELATED_IMAGE_ of the Deployment has a value.
        let mut names: Vec<String> = release()
            .related_images()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("RELATED_IMAGE_"))
            .collect();
        names.sort();
        assert_eq!(v.related_images.keys().cloned().collect::<Vec<_>>(), names);
        let schema = values_schema();
        assert_eq!(schema["additionalProperties"], json!(false));
        let props = schema["properties"].as_object().unwrap();
        let json_values = serde_json::to_value(&v).unwrap();
        let keys: Vec<&String> = json_values.as_object().unwrap().keys().collect();
        assert_eq!(props.keys().collect::<Vec<_>>(), keys);
    }

    #[test]
    fn the_previous_release_has_a_chart_made_from_its_bundle() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = chart_from_bundle(&root.join("releases/0.1.0/bundle"), "prev").unwrap();
        let get = |p: &str| &files.iter().find(|(q, _)| q == p).unwrap().1;
        assert!(get("prev/Chart.yaml").contains("version: 0.1.0"));
        assert!(get("prev/values.yaml").contains("tag: v0.1.0"));
        let dep = get("prev/templates/deployment.yaml");
        assert!(dep.contains(".Values.watchNamespaces"), "{dep}");
        assert!(!dep.contains("olm.targetNamespaces"), "{dep}");
        assert!(
            files
                .iter()
                .any(|(p, c)| p.starts_with("prev/templates/crds/")
                    && c.contains("helm.sh/resource-policy: keep"))
        );
        assert!(get("prev/templates/rbac.yaml").contains("kind: ClusterRoleBinding"));
        for (p, c) in &files {
            assert!(!c.contains("__SMBP_"), "{p}");
        }
        // The current bundle has a webhook: refused.
        let err = chart_from_bundle(&root.join("bundle"), "x").unwrap_err();
        assert!(err.to_string().contains("webhookdefinitions"), "{err}");
    }

    #[test]
    fn crds_are_kept_by_default_and_the_namespace_is_not_in_the_chart() {
        let all = files(&release());
        let crds: Vec<_> = all
            .iter()
            .filter(|(p, _)| p.contains("/templates/crds/"))
            .collect();
        assert_eq!(crds.len(), crd::crds().len());
        for (_, c) in crds {
            assert!(c.contains("{{- if .Values.crds.keep }}"));
            assert!(c.contains("helm.sh/resource-policy: keep"));
        }
        assert!(!all.iter().any(|(_, c)| c.contains("kind: Namespace\n")));
    }
}
