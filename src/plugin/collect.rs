//! Read the cluster into the plugin's reports. Thin: every derivation is in [`super::report`]
//! and [`super::versions`]; every request names the permission it uses, so that a refusal
//! says what is missing. Parts that cannot be read are listed in the report, not fatal.

use std::future::Future;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Client, ResourceExt};

use super::access::{Access, Failure};
use super::report::{self, Inputs, StatusReport};
use super::versions::{self, BigPeerVersion, CrdLine, OperatorLine, VersionsReport};
use crate::api::{
    BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication, GROUP, KINDS,
};
use crate::build::{exposure, labels, pod};

/// Run a request that needs `access`; a failure says what it lacked.
pub async fn read<T>(
    access: Access,
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, Failure> {
    request.await.map_err(|e| Failure::of(&access, &e))
}

/// Like [`read`], but a failure is noted in `unavailable` (as `what: why`) and gives `None`;
/// a kind that is not installed (404 on a list) gives `None` silently.
async fn optional<T>(
    unavailable: &mut Vec<String>,
    what: &str,
    access: Access,
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Option<T> {
    match read(access, request).await {
        Ok(v) => Some(v),
        Err(Failure::NotFound(_)) => None,
        Err(f) => {
            unavailable.push(format!("{what}: {f}"));
            None
        }
    }
}

/// The BigPeer, or why it cannot be read.
pub async fn bigpeer(client: &Client, ns: &str, name: &str) -> Result<BigPeer, String> {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    match read(Access::ns("get", "bigpeers.smbp.io", ns), api.get(name)).await {
        Ok(bp) => Ok(bp),
        Err(Failure::NotFound(_)) => Err(format!(
            "BigPeer {name} not found in namespace {ns} (list them with `kubectl get bigpeers -n {ns}`)"
        )),
        Err(f) => Err(f.to_string()),
    }
}

/// The BigPeer's pods.
pub async fn pods(client: &Client, ns: &str, name: &str) -> Result<Vec<Pod>, Failure> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&labels::pods_selector(name).to_string());
    read(Access::ns("list", "pods", ns), api.list(&lp))
        .await
        .map(|l| l.items)
}

/// The status report of BigPeer `ns/name` at `now`, with the newest `events` Events.
pub async fn status(
    client: &Client,
    ns: &str,
    name: &str,
    now: Timestamp,
    events_limit: usize,
) -> Result<StatusReport, String> {
    let bp = bigpeer(client, ns, name).await?;
    let mut unavailable = vec![];
    let pods = match pods(client, ns, name).await {
        Ok(p) => p,
        Err(f) => {
            unavailable.push(format!("pods: {f}"));
            vec![]
        }
    };

    // Certificates: only tls.crt is parsed, and only dates and subject are kept.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut certificates = vec![];
    let mut wanted: Vec<(String, String)> = pod::key_secrets(&bp)
        .into_iter()
        .map(|(k, s)| (k.dir().to_string(), s))
        .collect();
    if let Some(secret) = exposure::public_tls_secret(&bp) {
        wanted.push(("public-tls".into(), secret));
    }
    for (purpose, secret) in wanted {
        match read(Access::ns("get", "secrets", ns), secrets.get(&secret)).await {
            Ok(s) => {
                let crt = s.data.as_ref().and_then(|d| d.get("tls.crt"));
                certificates.push(report::certificate(
                    &purpose,
                    &secret,
                    crt.map(|b| b.0.as_slice()),
                ));
            }
            Err(Failure::NotFound(_)) => certificates.push(report::CertificateLine {
                purpose,
                secret,
                problem: Some("Secret not found".into()),
                ..Default::default()
            }),
            Err(f) => {
                unavailable.push(format!("certificates: {f}"));
                break;
            }
        }
    }

    let lp = ListParams::default();
    let apps = optional(
        &mut unavailable,
        "apps",
        Access::ns("list", "bigpeerapps.smbp.io", ns),
        Api::<BigPeerApp>::namespaced(client.clone(), ns).list(&lp),
    )
    .await
    .map(|l| l.items)
    .unwrap_or_default();
    let api_keys = optional(
        &mut unavailable,
        "API keys",
        Access::ns("list", "bigpeerapikeys.smbp.io", ns),
        Api::<BigPeerApiKey>::namespaced(client.clone(), ns).list(&lp),
    )
    .await
    .map(|l| l.items)
    .unwrap_or_default();
    let replications = optional(
        &mut unavailable,
        "replications",
        Access::ns("list", "bigpeerreplications.smbp.io", ns),
        Api::<BigPeerReplication>::namespaced(client.clone(), ns).list(&lp),
    )
    .await
    .map(|l| l.items)
    .unwrap_or_default();
    let data_bridges = optional(
        &mut unavailable,
        "data bridges",
        Access::ns("list", "bigpeerdatabridges.smbp.io", ns),
        Api::<BigPeerDataBridge>::namespaced(client.clone(), ns).list(&lp),
    )
    .await
    .map(|l| l.items)
    .unwrap_or_default();
    let events = optional(
        &mut unavailable,
        "events",
        Access::ns("list", "events.events.k8s.io", ns),
        Api::<Event>::namespaced(client.clone(), ns).list(&lp),
    )
    .await
    .map(|l| l.items)
    .unwrap_or_default();
    Ok(report::assemble(Inputs {
        bigpeer: bp,
        pods,
        certificates,
        apps,
        api_keys,
        replications,
        data_bridges,
        events,
        unavailable,
        now: Timestamp::from_second(now.as_second())
            .unwrap_or(now)
            .to_string(),
        event_limit: events_limit,
    }))
}

/// The versions report: client, Kubernetes, operator installs, CRDs and BigPeers, with the
/// skew warnings.
pub async fn versions(client: &Client, ns: &str) -> VersionsReport {
    let mut r = VersionsReport {
        client: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    };
    match client.apiserver_version().await {
        Ok(v) => r.kubernetes = Some(v.git_version),
        Err(e) => r.unavailable.push(format!("Kubernetes version: {e}")),
    }
    let lp = ListParams::default().labels("app.kubernetes.io/name=smbp-operator");
    if let Some(list) = optional(
        &mut r.unavailable,
        "operator Deployments",
        Access::cluster("list", "deployments.apps"),
        Api::<Deployment>::all(client.clone()).list(&lp),
    )
    .await
    {
        for d in list.items {
            let image = d
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone());
            let version = d
                .labels()
                .get("app.kubernetes.io/version")
                .cloned()
                .or_else(|| image.as_deref().and_then(versions::image_version));
            r.operators.push(OperatorLine {
                source: format!(
                    "Deployment {}/{}",
                    d.namespace().unwrap_or_default(),
                    d.name_any()
                ),
                version,
                image,
            });
        }
    }
    let csv = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("operators.coreos.com", "v1alpha1", "ClusterServiceVersion"),
        "clusterserviceversions",
    );
    let csvs: Api<DynamicObject> = Api::all_with(client.clone(), &csv);
    if let Some(list) = optional(
        &mut r.unavailable,
        "ClusterServiceVersions",
        Access::cluster("list", "clusterserviceversions.operators.coreos.com"),
        csvs.list(&ListParams::default()),
    )
    .await
    {
        // OLM copies a CSV into every namespace it serves: keep the one in its own namespace.
        for c in list.items.iter().filter(|c| {
            c.name_any().starts_with("smbp-operator.") && !c.labels().contains_key("olm.copiedFrom")
        }) {
            r.operators.push(OperatorLine {
                source: format!(
                    "ClusterServiceVersion {}/{}",
                    c.namespace().unwrap_or_default(),
                    c.name_any()
                ),
                version: c
                    .data
                    .pointer("/spec/version")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                image: None,
            });
        }
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, plural) in KINDS {
        let name = format!("{plural}.{GROUP}");
        let access = Access::cluster("get", "customresourcedefinitions.apiextensions.k8s.io");
        match read(access, crds.get(&name)).await {
            Ok(crd) => r.crds.push(CrdLine {
                name,
                served: crd
                    .spec
                    .versions
                    .iter()
                    .filter(|v| v.served)
                    .map(|v| v.name.clone())
                    .collect(),
                storage: crd
                    .spec
                    .versions
                    .iter()
                    .find(|v| v.storage)
                    .map(|v| v.name.clone()),
            }),
            Err(Failure::NotFound(_)) => r.unavailable.push(format!("CRD {name} is not installed")),
            Err(f) => {
                r.unavailable.push(format!("CRDs: {f}"));
                break;
            }
        }
    }
    // Every namespace, or the current one when only that may be read.
    let all = read(
        Access::cluster("list", "bigpeers.smbp.io"),
        Api::<BigPeer>::all(client.clone()).list(&ListParams::default()),
    )
    .await;
    let bigpeers = match all {
        Ok(l) => Some(l.items),
        Err(f) if f.is_forbidden() => {
            r.unavailable.push(format!(
                "BigPeers of other namespaces: {f}; showing namespace {ns} only"
            ));
            optional(
                &mut r.unavailable,
                "BigPeers",
                Access::ns("list", "bigpeers.smbp.io", ns),
                Api::<BigPeer>::namespaced(client.clone(), ns).list(&ListParams::default()),
            )
            .await
            .map(|l| l.items)
        }
        Err(Failure::NotFound(_)) => None,
        Err(f) => {
            r.unavailable.push(format!("BigPeers: {f}"));
            None
        }
    };
    for bp in bigpeers.unwrap_or_default() {
        r.bigpeers.push(BigPeerVersion {
            name: format!("{}/{}", bp.namespace().unwrap_or_default(), bp.name_any()),
            desired: bp.spec.version.clone(),
            running: bp.status.as_ref().and_then(|s| s.version.clone()),
        });
    }
    r.warnings = versions::warnings(&r, &versions::supported());
    r
}
