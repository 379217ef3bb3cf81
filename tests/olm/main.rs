//! OLM end-to-end tests: the operator installed and upgraded by OLM v0 itself (its real `olm` and
//! `catalog` operators, out of cluster) from a catalog served by the real `opm serve`, on the local
//! control plane. Simulated: the CSV Deployment's pods (kwok), and the operator, which runs as a
//! local process authenticated as the ServiceAccount OLM created, so only the RBAC OLM created
//! from the CSV applies. Run with `make olm-e2e` (hack/olm-up.sh first).
//!
//! Two catalogs are served (hack/olm-up.sh): the community bundle (bundle/), installed on a
//! plain plane without the Prometheus Operator's CRDs, and the OpenShift bundle
//! (bundle-openshift/, with the operator's ServiceMonitor and PrometheusRule), installed on a
//! plane with OpenShift's and the Prometheus Operator's CRDs.
//!
//! Every test installs into fresh namespaces and removes its Subscription, CSV and OperatorGroup
//! at the end: OLM refuses two OperatorGroups whose target namespaces intersect providing the
//! same API, and an AllNamespaces group intersects with every other.

#[path = "../common/mod.rs"]
mod common;
mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::*;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::{Client, ResourceExt};
use serde_json::json;
use smbp_operator::api::BigPeer;
use smbp_operator::facts::WEBHOOK_NAME;
use smbp_operator::olm::monitoring::{PROMETHEUS_RULE, SERVICE_MONITOR};
use smbp_operator::thirdparty::{self, PROMETHEUS_OPERATOR_GROUP};

const CURRENT: &str = concat!("smbp-operator.v", env!("CARGO_PKG_VERSION"));
const CRD: &str = "bigpeers.smbp.io";
const OLM_TIMEOUT: Duration = Duration::from_secs(180);
const READY: Duration = Duration::from_secs(120);

fn previous_csv() -> String {
    format!("smbp-operator.v{}", olm_env("SMBP_OLM_PREVIOUS_VERSION"))
}

/// Print a line of the report (visible with --nocapture; also kept in the log dir).
fn report(line: &str) {
    println!("[olm-e2e] {line}");
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs_dir().join("report.txt"))
        .unwrap();
    let _ = writeln!(f, "{line}");
}

async fn operator_group(client: &Client, ns: &str, targets: Option<&[String]>) {
    let spec = match targets {
        Some(t) => json!({"targetNamespaces": t}),
        None => json!({}),
    };
    operator_groups(client, ns)
        .create(
            &PostParams::default(),
            &dynamic(json!({
                "apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
                "metadata": {"name": "smbp", "namespace": ns}, "spec": spec,
            })),
        )
        .await
        .expect("OperatorGroup");
}

/// Subscribe to `stable` in the community catalog, or with `openshift` the OpenShift one.
async fn subscribe(
    client: &Client,
    ns: &str,
    manual: bool,
    starting_csv: Option<&str>,
    openshift: bool,
) {
    let (source, source_ns) = catalog_source(openshift);
    let mut spec = json!({
        "channel": "stable", "name": PACKAGE, "source": source, "sourceNamespace": source_ns,
        "installPlanApproval": if manual { "Manual" } else { "Automatic" },
    });
    if let Some(s) = starting_csv {
        spec["startingCSV"] = json!(s);
    }
    subscriptions(client, ns)
        .create(
            &PostParams::default(),
            &dynamic(json!({
                "apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
                "metadata": {"name": PACKAGE, "namespace": ns}, "spec": spec,
            })),
        )
        .await
        .expect("Subscription");
}

/// The InstallPlan that installs `csv`; records its phases until it has one of `until`.
async fn wait_install_plan(
    client: &Client,
    ns: &str,
    csv: &str,
    until: &[&str],
) -> (String, Vec<String>) {
    let api = install_plans(client, ns);
    let phases: std::cell::RefCell<Vec<String>> = Default::default();
    let what = format!("InstallPlan for {csv} in {ns} reaching {until:?}");
    let name = wait_for(&what, OLM_TIMEOUT, || async {
        let ips = api.list(&ListParams::default()).await.ok()?;
        let ip = ips.items.into_iter().find(|ip| {
            ip.data["spec"]["clusterServiceVersionNames"]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n == csv))
        })?;
        let phase = ip.data["status"]["phase"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let mut p = phases.borrow_mut();
        if p.last() != Some(&phase) {
            p.push(phase.clone());
        }
        until.contains(&phase.as_str()).then(|| ip.name_any())
    })
    .await;
    let phases = phases.into_inner();
    (name, phases)
}

async fn approve(client: &Client, ns: &str, ip: &str) {
    install_plans(client, ns)
        .patch(
            ip,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"approved": true}})),
        )
        .await
        .expect("approve InstallPlan");
}

/// Wait for the CSV to be Succeeded; returns OLM's phase history (status.conditions).
async fn wait_csv_succeeded(client: &Client, ns: &str, csv: &str) -> String {
    let api = csvs(client, ns);
    let what = format!("CSV {ns}/{csv} Succeeded");
    let o = wait_for(&what, OLM_TIMEOUT, || async {
        let o = api.get(csv).await.ok()?;
        (o.data["status"]["phase"] == "Succeeded").then_some(o)
    })
    .await;
    csv_history(&o)
}

fn csv_history(o: &DynamicObject) -> String {
    o.data["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}/{}",
                        c["phase"].as_str().unwrap_or(""),
                        c["reason"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(" -> ")
        })
        .unwrap_or_default()
}

async fn crd_established(client: &Client) -> CustomResourceDefinition {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    wait_for("CRD bigpeers.smbp.io established", READY, || async {
        let c = crds.get(CRD).await.ok()?;
        c.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
            .then_some(c)
    })
    .await
}

/// The CSV's Deployment available (its kwok pod Ready); returns OLM's WATCH_NAMESPACE for it
/// (the pod template's olm.targetNamespaces annotation, which the CSV maps to WATCH_NAMESPACE).
async fn deployment_available(client: &Client, ns: &str, csv: &str) -> String {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d = wait_for(
        &format!("Deployment {ns}/{DEPLOYMENT} of {csv} available"),
        READY,
        || async {
            let d = api.get(DEPLOYMENT).await.ok()?;
            let owned = d.labels().get("olm.owner").is_some_and(|o| o == csv);
            let s = d.status.as_ref()?;
            let available = s.available_replicas.unwrap_or(0) >= 1
                && s.updated_replicas == s.replicas
                && s.observed_generation == d.metadata.generation;
            (owned && available).then_some(d)
        },
    )
    .await;
    let tmpl = d.spec.unwrap().template;
    let anns = tmpl
        .metadata
        .and_then(|m| m.annotations)
        .unwrap_or_default();
    let env = tmpl.spec.unwrap().containers[0]
        .env
        .clone()
        .unwrap_or_default();
    assert!(
        env.iter().any(|e| e.name == "WATCH_NAMESPACE"),
        "the CSV's Deployment has WATCH_NAMESPACE"
    );
    anns.get("olm.targetNamespaces")
        .cloned()
        .unwrap_or_default()
}

/// The RBAC OLM created for the CSV: Roles (per namespace) and ClusterRoles labelled olm.owner.
async fn rbac_summary(client: &Client, csv: &str) -> String {
    let sel = ListParams::default().labels(&format!("olm.owner={csv}"));
    let roles: Api<Role> = Api::all(client.clone());
    let mut per_ns: BTreeMap<String, usize> = BTreeMap::new();
    for r in roles.list(&sel).await.unwrap().items {
        *per_ns.entry(r.namespace().unwrap_or_default()).or_default() += 1;
    }
    let crs: Api<ClusterRole> = Api::all(client.clone());
    let n_cr = crs.list(&sel).await.unwrap().items.len();
    format!("Roles per namespace {per_ns:?}, ClusterRoles {n_cr}")
}

/// Whether the API server serves an API group.
async fn served(client: &Client, group: &str) -> bool {
    client
        .list_api_groups()
        .await
        .unwrap()
        .groups
        .iter()
        .any(|g| g.name == group)
}

/// The plane the community bundle is tested on: neither OpenShift's nor the Prometheus
/// Operator's APIs (CRDs an earlier test left behind are removed first).
async fn vanilla_plane(client: &Client) {
    remove_crds(client, PROMETHEUS_OPERATOR_GROUP).await;
    // Discovery drops a group shortly after its last CRD is gone.
    wait_for(
        &format!("plane flavour: {PROMETHEUS_OPERATOR_GROUP} not served"),
        READY,
        || async { (!served(client, PROMETHEUS_OPERATOR_GROUP).await).then_some(()) },
    )
    .await;
    assert!(
        !openshift_api(client).await,
        "plane flavour: no OpenShift API"
    );
}

/// Kinds of the objects an InstallPlan created (its steps), sorted and deduplicated.
async fn install_plan_kinds(client: &Client, ns: &str, ip: &str) -> Vec<String> {
    let o = install_plans(client, ns).get(ip).await.unwrap();
    let mut kinds: Vec<String> = o.data["status"]["plan"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| s["resource"]["kind"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn prometheus_rule() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        PROMETHEUS_OPERATOR_GROUP,
        "v1",
        "PrometheusRule",
    ))
}

/// The bundle's ServiceMonitor and PrometheusRule in `ns`: (kind, API, name).
fn monitoring_objects(
    client: &Client,
    ns: &str,
) -> [(&'static str, Api<DynamicObject>, &'static str); 2] {
    [
        (
            "ServiceMonitor",
            Api::namespaced_with(client.clone(), ns, &thirdparty::service_monitor()),
            SERVICE_MONITOR,
        ),
        (
            "PrometheusRule",
            Api::namespaced_with(client.clone(), ns, &prometheus_rule()),
            PROMETHEUS_RULE,
        ),
    ]
}

/// The ServiceMonitor and PrometheusRule of the OpenShift bundle exist in `ns`, created by
/// OLM for `csv`: owned by the CSV (so garbage-collected with it) and labelled olm.managed.
async fn assert_monitoring_installed(client: &Client, ns: &str, csv: &str) -> String {
    let mut seen = vec![];
    for (kind, api, name) in monitoring_objects(client, ns) {
        let o = wait_for(&format!("{kind} {ns}/{name} of {csv}"), READY, || async {
            let o = api.get_opt(name).await.ok()??;
            o.owner_references()
                .iter()
                .any(|r| r.kind == "ClusterServiceVersion" && r.name == csv)
                .then_some(o)
        })
        .await;
        let owner = o
            .owner_references()
            .iter()
            .find(|r| r.kind == "ClusterServiceVersion")
            .unwrap()
            .clone();
        assert_eq!(owner.api_version, "operators.coreos.com/v1alpha1");
        let csv_uid = csvs(client, ns).get(csv).await.unwrap().uid();
        assert_eq!(
            Some(owner.uid.clone()),
            csv_uid,
            "{kind} owned by the live CSV"
        );
        assert_eq!(
            o.labels().get("olm.managed").map(String::as_str),
            Some("true"),
            "{kind} labelled by OLM"
        );
        seen.push(format!("{kind}/{name}"));
    }
    format!("{} owned by {csv}", seen.join(" + "))
}

/// After the CSV is deleted, its ServiceMonitor and PrometheusRule go (garbage collector).
async fn assert_monitoring_removed(client: &Client, ns: &str) {
    for (kind, api, name) in monitoring_objects(client, ns) {
        wait_for(
            &format!("{kind} {ns}/{name} removed with its CSV"),
            OLM_TIMEOUT,
            || async { api.get_opt(name).await.ok()?.is_none().then_some(()) },
        )
        .await;
    }
}

/// OperatorGroup + Subscription (Automatic) → InstallPlan Complete → CSV Succeeded, CRD
/// established, Deployment available, SA and RBAC created; the monitoring objects exactly when
/// installing the OpenShift bundle. Returns the WATCH_NAMESPACE OLM set.
async fn install(
    client: &Client,
    ns: &str,
    targets: Option<&[String]>,
    label: &str,
    openshift: bool,
) -> String {
    let t0 = Instant::now();
    operator_group(client, ns, targets).await;
    subscribe(client, ns, false, None, openshift).await;
    let (ip, ip_phases) = wait_install_plan(client, ns, CURRENT, &["Complete", "Failed"]).await;
    let history = wait_csv_succeeded(client, ns, CURRENT).await;
    assert!(
        ip_phases.last().is_some_and(|p| p == "Complete"),
        "InstallPlan {ip}: {ip_phases:?}"
    );
    let kinds = install_plan_kinds(client, ns, &ip).await;
    let has_monitoring = ["ServiceMonitor", "PrometheusRule"].map(|k| kinds.iter().any(|x| x == k));
    let monitoring = if openshift {
        assert_eq!(has_monitoring, [true, true], "OpenShift bundle: {kinds:?}");
        assert_monitoring_installed(client, ns, CURRENT).await
    } else {
        assert_eq!(
            has_monitoring,
            [false, false],
            "community bundle: {kinds:?}"
        );
        assert!(
            !served(client, PROMETHEUS_OPERATOR_GROUP).await,
            "the community bundle installed without {PROMETHEUS_OPERATOR_GROUP}"
        );
        format!("no {PROMETHEUS_OPERATOR_GROUP} API on the plane")
    };
    crd_established(client).await;
    let watch = deployment_available(client, ns, CURRENT).await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    assert!(
        sas.get_opt(SA).await.unwrap().is_some(),
        "OLM created ServiceAccount {SA}"
    );
    let rbac = rbac_summary(client, CURRENT).await;
    assert!(
        rbac != "Roles per namespace {}, ClusterRoles 0",
        "OLM created RBAC from the CSV's permissions: {rbac}"
    );
    report(&format!(
        "{label}: {CURRENT} installed in {:.1}s; InstallPlan {ip} phases {ip_phases:?}, steps {kinds:?}; \
         CSV {history}; olm.targetNamespaces={watch:?}; {rbac}; {monitoring}",
        t0.elapsed().as_secs_f64()
    ));
    watch
}

/// Delete the Subscription and the CSV (what a user does to uninstall), wait until OLM removed
/// the Deployment.
async fn uninstall(client: &Client, ns: &str, csv: &str) {
    let _ = subscriptions(client, ns)
        .delete(PACKAGE, &DeleteParams::default())
        .await;
    let _ = csvs(client, ns).delete(csv, &DeleteParams::default()).await;
    let deps: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let c = csvs(client, ns);
    wait_for(
        &format!("{csv} and its Deployment gone from {ns}"),
        READY,
        || async {
            (c.get_opt(csv).await.ok()?.is_none() && deps.get_opt(DEPLOYMENT).await.ok()?.is_none())
                .then_some(())
        },
    )
    .await;
}

/// Tear down an install completely: uninstall, delete the OperatorGroup, and wait until OLM has
/// no CSV of the package anywhere (copied CSVs of AllNamespaces groups included).
async fn teardown(client: &Client, ns: &str, csv: &str, namespaces: &[String]) {
    uninstall(client, ns, csv).await;
    let _ = operator_groups(client, ns)
        .delete("smbp", &DeleteParams::default())
        .await;
    wait_no_package_csvs(client, "no CSV of the package left (copied CSVs included)").await;
    delete_namespaces(client, namespaces).await;
}

/// Wait until no CSV of the package (copied ones included) is left in any namespace.
async fn wait_no_package_csvs(client: &Client, what: &str) {
    let all = olm_api(client, None, "v1alpha1", "ClusterServiceVersion");
    wait_for(what, READY, || async {
        let l = all.list(&ListParams::default()).await.ok()?;
        (!l.items
            .iter()
            .any(|c| c.name_any().starts_with("smbp-operator.v")))
        .then_some(())
    })
    .await;
}

/// Remove what an earlier, failed test left: every Subscription of the package, its CSV and the
/// test's OperatorGroup (an AllNamespaces group left behind would clash with every later install).
async fn cleanup_leftovers(client: &Client) {
    let subs = olm_api(client, None, "v1alpha1", "Subscription");
    let mut namespaces: Vec<String> = vec![];
    for s in subs.list(&ListParams::default()).await.unwrap().items {
        if s.data["spec"]["name"] == PACKAGE {
            let ns = s.namespace().unwrap();
            let _ = subscriptions(client, &ns)
                .delete(&s.name_any(), &DeleteParams::default())
                .await;
            namespaces.push(ns);
        }
    }
    let all = olm_api(client, None, "v1alpha1", "ClusterServiceVersion");
    for c in all.list(&ListParams::default()).await.unwrap().items {
        let copied = c.labels().get("olm.copiedFrom").is_some();
        if c.name_any().starts_with("smbp-operator.v") && !copied {
            let ns = c.namespace().unwrap();
            let _ = csvs(client, &ns)
                .delete(&c.name_any(), &DeleteParams::default())
                .await;
            namespaces.push(ns);
        }
    }
    for ns in &namespaces {
        let _ = operator_groups(client, ns)
            .delete("smbp", &DeleteParams::default())
            .await;
    }
    wait_no_package_csvs(client, "leftover CSVs of the package gone").await;
    if !namespaces.is_empty() {
        namespaces.sort();
        namespaces.dedup();
        report(&format!(
            "cleaned up leftovers of an earlier run in {namespaces:?}"
        ));
        delete_namespaces(client, &namespaces).await;
    }
}

/// Pod UIDs of a namespace, by name.
async fn pod_uids(client: &Client, ns: &str) -> BTreeMap<String, String> {
    Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| (p.name_any(), p.uid().unwrap()))
        .collect()
}

/// The workloads' generations and StatefulSet revisions: what an operator-caused rollout changes.
async fn workload_state(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for s in Api::<StatefulSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        let st = s.status.clone().unwrap_or_default();
        m.insert(
            format!("sts/{}", s.name_any()),
            format!(
                "gen={:?} updateRevision={:?} currentRevision={:?}",
                s.metadata.generation, st.update_revision, st.current_revision
            ),
        );
    }
    for d in Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        let hash = d
            .spec
            .as_ref()
            .map(|s| serde_json::to_string(&s.template).unwrap())
            .unwrap_or_default();
        m.insert(
            format!("deploy/{}", d.name_any()),
            format!(
                "gen={:?} template-len={}",
                d.metadata.generation,
                hash.len()
            ),
        );
    }
    m
}

/// The store StatefulSet's pod securityContext (runAsUser, fsGroup).
async fn store_ids(client: &Client, ns: &str, bp: &str) -> (Option<i64>, Option<i64>) {
    let sts = Api::<StatefulSet>::namespaced(client.clone(), ns)
        .get(&format!("{bp}-store"))
        .await
        .expect("store StatefulSet");
    let sc = sts
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .security_context
        .unwrap_or_default();
    (sc.run_as_user, sc.fs_group)
}

async fn openshift_api(client: &Client) -> bool {
    client
        .list_api_groups()
        .await
        .unwrap()
        .groups
        .iter()
        .any(|g| g.name == "security.openshift.io")
}

/// Assert the store's pod identity fits the plane: fixed ids on vanilla Kubernetes, none on
/// OpenShift (restricted-v2 assigns them).
async fn assert_store_ids(client: &Client, ns: &str, bp: &str, openshift: bool) {
    let (uid, fs) = store_ids(client, ns, bp).await;
    if openshift {
        assert_eq!(
            (uid, fs),
            (None, None),
            "on OpenShift the operator sets no runAsUser/fsGroup"
        );
    } else {
        assert!(
            uid.is_some() && fs.is_some(),
            "on vanilla Kubernetes the store has fixed ids: {uid:?} {fs:?}"
        );
    }
}

/// Run `bin` as the ServiceAccount OLM created in `ns` (so with the CSV's RBAC only), create
/// a BigPeer in a fresh namespace and wait until it is Ready with the platform's pod identity.
#[allow(clippy::too_many_arguments)]
async fn operate_bigpeer(
    client: &Client,
    bin: &str,
    ns: &str,
    csv: &str,
    watch: &str,
    tag: &str,
    name: &str,
    openshift: bool,
) -> (Served, String, BigPeer) {
    let kc = sa_kubeconfig(client, ns, &format!("{tag}-sa")).await;
    let mut op = Served::start(client, bin, &kc, tag, ns, csv, watch).await;
    let bp_ns = bigpeer_namespace(client, "olm-bp").await;
    apply_bigpeer(client, &bigpeer(name, &bp_ns))
        .await
        .expect("apply BigPeer");
    let bp = wait_ready(client, &bp_ns, name, READY).await;
    assert!(op.alive(), "operator {tag} running: {}", op.logs());
    assert_store_ids(client, &bp_ns, name, openshift).await;
    (op, bp_ns, bp)
}

/// With the operator of the CSV `ns/csv` running (and serving OLM's webhook), a user creates a
/// BigPeerApp of the BigPeer `bp_ns/bp` and a BigPeerApiKey of it: the CRDs OLM installed are
/// served, the webhook admits both without a warning (what they name exists), and a bad one
/// is refused, by the webhook (a key expiring in the past) and by the CRD's rules (an app ID
/// that is not a UUID). Under the RBAC OLM made from the CSV, the operator generates the app's
/// ID into its spec and the key into the key's Secret, whose key has the fingerprint in the
/// key's status. A BigPeerReplication and a BigPeerDataBridge of the app are admitted too (their
/// CRDs served after an install and after the upgrade from the previous release), and a
/// replication connecting to its own endpoint is refused by the webhook. Deletes them all.
async fn apps_and_keys(client: &Client, label: &str, ns: &str, bp: &str, csv: &str) -> String {
    let t = Instant::now();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in [
        "bigpeerapps.smbp.io",
        "bigpeerapikeys.smbp.io",
        "bigpeerreplications.smbp.io",
        "bigpeerdatabridges.smbp.io",
    ] {
        wait_for(&format!("CRD {name} established"), READY, || async {
            crds.get(name)
                .await
                .ok()?
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await;
    }
    let app = bigpeer_app("olm-app", ns, bp);
    let (_, w) = apply_object(client, &app)
        .await
        .unwrap_or_else(|e| panic!("{label}: the BigPeerApp is refused: {e}"));
    assert!(
        w.is_empty(),
        "{label}: warnings for the app of an existing BigPeer: {w:?}"
    );
    let key = bigpeer_api_key("olm-key", ns, "olm-app");
    let (_, w) = apply_object(client, &key)
        .await
        .unwrap_or_else(|e| panic!("{label}: the BigPeerApiKey is refused: {e}"));
    assert!(
        w.is_empty(),
        "{label}: warnings for the key of an existing app: {w:?}"
    );

    let replication = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
        "metadata": {"name": "olm-repl", "namespace": ns},
        "spec": {"appRef": {"name": "olm-app"}, "queriesByCollection": {"cars": ["true"]}}});
    let (_, w) = apply_object(client, &replication)
        .await
        .unwrap_or_else(|e| panic!("{label}: the BigPeerReplication is refused: {e}"));
    assert!(w.is_empty(), "{label}: warnings for the replication: {w:?}");
    // The harness's BigPeer has an external transaction log: the bridge names its topic.
    let bridge = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": "olm-cdc", "namespace": ns},
        "spec": {"appRef": {"name": "olm-app"}, "kafka": {"external": {
            "topic": "olm-cdc", "userSecretRef": {"name": "olm-cdc-consumer"}}}}});
    let (_, w) = apply_object(client, &bridge)
        .await
        .unwrap_or_else(|e| panic!("{label}: the BigPeerDataBridge is refused: {e}"));
    assert!(w.is_empty(), "{label}: warnings for the data bridge: {w:?}");
    let mut own = replication.clone();
    own["metadata"]["name"] = json!("olm-self");
    own["spec"]["connections"] = json!([format!("olm-self-replication.{ns}.svc:4040")]);
    match apply_object(client, &own).await {
        Err(kube::Error::Api(s))
            if s.message.contains("admission webhook")
                && s.message.contains("spec.connections[0]") => {}
        other => panic!(
            "{label}: a replication connecting to itself is refused by {WEBHOOK_NAME}: {other:?}"
        ),
    }

    let mut past = bigpeer_api_key("olm-key-past", ns, "olm-app");
    past["spec"]["expiresAt"] = json!("2020-01-01T00:00:00Z");
    let by_webhook = format!("admission webhook \"{WEBHOOK_NAME}\" denied the request");
    match apply_object(client, &past).await {
        Err(kube::Error::Api(s))
            if s.message.contains(&by_webhook) && s.message.contains("spec.expiresAt") => {}
        other => {
            panic!("{label}: a key expiring in the past is refused by {WEBHOOK_NAME}: {other:?}")
        }
    }
    let mut bad_id = bigpeer_app("olm-app-bad", ns, bp);
    bad_id["spec"]["appId"] = json!("not-a-uuid");
    match apply_object(client, &bad_id).await {
        Err(kube::Error::Api(s)) if s.message.contains("spec.appId") => {}
        other => panic!("{label}: an app ID that is not a UUID is refused: {other:?}"),
    }

    let apps = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::erase::<smbp_operator::api::BigPeerApp>(&()),
    );
    let app_id = wait_for(
        &format!("{label}: the app ID the operator generates into the app's spec"),
        READY,
        || async {
            let a = apps.get("olm-app").await.ok()?;
            a.data["spec"]["appId"].as_str().map(str::to_string)
        },
    )
    .await;
    assert!(
        smbp_operator::access::key::is_app_id(&app_id),
        "{label}: {app_id} is a UUID"
    );
    let keys = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::erase::<smbp_operator::api::BigPeerApiKey>(&()),
    );
    let (secret_name, fingerprint) = wait_for(
        &format!("{label}: the key's Secret named in its status"),
        READY,
        || async {
            let k = keys.get("olm-key").await.ok()?;
            let st = &k.data["status"];
            Some((
                st["secretName"].as_str()?.to_string(),
                st["fingerprint"].as_str()?.to_string(),
            ))
        },
    )
    .await;
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get(&secret_name)
        .await
        .unwrap_or_else(|e| panic!("{label}: the key's Secret {secret_name}: {e}"));
    let plain = secret
        .data
        .as_ref()
        .and_then(|d| d.get("apiKey"))
        .map(|b| String::from_utf8(b.0.clone()).unwrap())
        .unwrap_or_else(|| panic!("{label}: apiKey in {secret_name}"));
    assert!(
        plain.starts_with(smbp_operator::access::key::PREFIX),
        "{label}: a key"
    );
    assert_eq!(
        smbp_operator::access::key::fingerprint(&plain),
        fingerprint,
        "{label}: the status' fingerprint is the Secret's key's"
    );
    for (kind, name) in [
        ("BigPeerReplication", "olm-repl"),
        ("BigPeerDataBridge", "olm-cdc"),
        ("BigPeerApiKey", "olm-key"),
        ("BigPeerApp", "olm-app"),
    ] {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("smbp.io", "v1alpha1", kind));
        let _ = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar)
            .delete(name, &DeleteParams::default())
            .await;
    }
    format!(
        "{label}: BigPeerApp, BigPeerApiKey, BigPeerReplication and BigPeerDataBridge admitted by {WEBHOOK_NAME} under {csv} (a replication connecting to itself refused), a key expiring in the past and an app ID that is not a UUID refused; app ID {app_id} generated, the key in its Secret {secret_name}, in {:.1}s",
        t.elapsed().as_secs_f64()
    )
}

/// Names of the objects an Api lists.
async fn names_in<K>(api: &Api<K>) -> Vec<String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| o.name_any())
        .collect()
}

async fn install_flow(client: &Client, label: &str, openshift: bool) {
    cleanup_leftovers(client).await;
    if !openshift {
        vanilla_plane(client).await;
    }
    assert_eq!(openshift_api(client).await, openshift, "plane flavour");
    let ns = plain_namespace(client, "olm-install").await;
    let watch = install(client, &ns, None, label, openshift).await;
    assert_eq!(watch, "", "AllNamespaces: OLM sets WATCH_NAMESPACE to all");
    // The real operator with the identity and RBAC OLM created.
    let t = Instant::now();
    let (mut op, bp_ns, _) = operate_bigpeer(
        client,
        &current_bin(),
        &ns,
        CURRENT,
        &watch,
        &format!("{label}-operator"),
        "inst",
        openshift,
    )
    .await;
    report(&format!(
        "{label}: BigPeer Ready under the OLM-created RBAC in {:.1}s",
        t.elapsed().as_secs_f64()
    ));
    report(&apps_and_keys(client, label, &bp_ns, "inst", CURRENT).await);
    let _ = Api::<BigPeer>::namespaced(client.clone(), &bp_ns)
        .delete("inst", &DeleteParams::default())
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    op.kill();
    if openshift {
        let t = Instant::now();
        uninstall(client, &ns, CURRENT).await;
        assert_monitoring_removed(client, &ns).await;
        report(&format!(
            "{label}: ServiceMonitor and PrometheusRule removed with the CSV in {:.1}s",
            t.elapsed().as_secs_f64()
        ));
    }
    teardown(client, &ns, CURRENT, &[ns.clone(), bp_ns]).await;
}

async fn upgrade_flow(client: &Client, label: &str, openshift: bool) {
    cleanup_leftovers(client).await;
    if !openshift {
        vanilla_plane(client).await;
    }
    assert_eq!(openshift_api(client).await, openshift, "plane flavour");
    let prev = previous_csv();
    let t0 = Instant::now();
    let ns = plain_namespace(client, "olm-upgrade").await;
    operator_group(client, &ns, None).await;
    subscribe(client, &ns, true, Some(&prev), openshift).await;
    let (ip1, ip1_before) = wait_install_plan(client, &ns, &prev, &["RequiresApproval"]).await;
    approve(client, &ns, &ip1).await;
    let (_, ip1_after) = wait_install_plan(client, &ns, &prev, &["Complete", "Failed"]).await;
    let h1 = wait_csv_succeeded(client, &ns, &prev).await;
    crd_established(client).await;
    let watch = deployment_available(client, &ns, &prev).await;
    let rbac1 = rbac_summary(client, &prev).await;
    report(&format!(
        "{label}: {prev} installed (manual approval) in {:.1}s; InstallPlan {ip1} phases {ip1_before:?}+{ip1_after:?}; CSV {h1}; {rbac1}",
        t0.elapsed().as_secs_f64()
    ));

    // The previous release's operator, as the ServiceAccount with the previous CSV's RBAC.
    let (mut old, bp_ns, bp) = operate_bigpeer(
        client,
        &previous_bin(),
        &ns,
        &prev,
        &watch,
        &format!("{label}-operator-prev"),
        "upg",
        openshift,
    )
    .await;
    let pods_before = pod_uids(client, &bp_ns).await;
    let work_before = workload_state(client, &bp_ns).await;
    assert!(!pods_before.is_empty());
    old.kill();

    // The upgrade: OLM offers the current CSV (replaces the previous one) for approval.
    let t1 = Instant::now();
    let (ip2, ip2_before) = wait_install_plan(client, &ns, CURRENT, &["RequiresApproval"]).await;
    approve(client, &ns, &ip2).await;
    let (_, ip2_after) = wait_install_plan(client, &ns, CURRENT, &["Complete", "Failed"]).await;
    let h2 = wait_csv_succeeded(client, &ns, CURRENT).await;
    let c = csvs(client, &ns).get(CURRENT).await.unwrap();
    assert_eq!(
        c.data["spec"]["replaces"],
        json!(prev),
        "{CURRENT} replaces {prev}"
    );
    let api = csvs(client, &ns);
    wait_for(
        &format!("{prev} gone after the upgrade"),
        OLM_TIMEOUT,
        || async { api.get_opt(&prev).await.ok()?.is_none().then_some(()) },
    )
    .await;
    let crd = crd_established(client).await;
    let watch2 = deployment_available(client, &ns, CURRENT).await;
    assert_eq!(watch, watch2);
    let rbac2 = rbac_summary(client, CURRENT).await;
    // The previous release shipped no monitoring objects; the OpenShift bundle adds them.
    let monitoring = if openshift {
        assert_monitoring_installed(client, &ns, CURRENT).await
    } else {
        let kinds = install_plan_kinds(client, &ns, &ip2).await;
        assert!(
            !kinds
                .iter()
                .any(|k| k == "ServiceMonitor" || k == "PrometheusRule"),
            "community bundle: {kinds:?}"
        );
        "no monitoring objects".into()
    };
    report(&format!(
        "{label}: upgrade {prev} -> {CURRENT} in {:.1}s; InstallPlan {ip2} phases {ip2_before:?}+{ip2_after:?}; CSV {h2}; \
         CRD storedVersions {:?}; {rbac2}; {monitoring}",
        t1.elapsed().as_secs_f64(),
        crd.status.and_then(|s| s.stored_versions)
    ));

    // The new operator with a fresh token: the RBAC OLM created for the new CSV.
    let kc = sa_kubeconfig(client, &ns, &format!("{label}-sa-current")).await;
    let mut new = Served::start(
        client,
        &current_bin(),
        &kc,
        &format!("{label}-operator-current"),
        &ns,
        CURRENT,
        &watch2,
    )
    .await;
    // Let it reconcile the existing BigPeer (it records its generation in status again), then
    // look for anything the operator upgrade rolled.
    let bps: Api<BigPeer> = Api::namespaced(client.clone(), &bp_ns);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(new.alive(), "operator running: {}", new.logs());
    let bp_now = wait_ready(client, &bp_ns, "upg", READY).await;
    assert_eq!(bp_now.metadata.generation, bp.metadata.generation);
    // 0.2.0 adds one volume to the subscription and api pods: the apps' and API keys' Secret
    // (`<bp>-access`, updated in place from then on). Those stateless Deployments roll once to
    // take it; no store pod is ever replaced by an operator upgrade.
    let store = |m: BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.into_iter()
            .filter(|(k, _)| k.contains("-store-") || k.starts_with("sts/"))
            .collect()
    };
    assert_eq!(
        store(pod_uids(client, &bp_ns).await),
        store(pods_before.clone()),
        "no store pod replaced by the operator upgrade"
    );
    assert_eq!(
        store(workload_state(client, &bp_ns).await),
        store(work_before),
        "no store rollout caused by the operator upgrade"
    );
    for d in Api::<Deployment>::namespaced(client.clone(), &bp_ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        let spec = d.spec.and_then(|s| s.template.spec).unwrap_or_default();
        assert!(
            spec.volumes.iter().flatten().any(|v| v
                .secret
                .as_ref()
                .and_then(|s| s.secret_name.as_deref())
                == Some("upg-access")),
            "{} mounts upg-access after the upgrade",
            d.metadata.name.unwrap_or_default()
        );
    }

    // And it keeps reconciling: a change to the BigPeer is rolled out.
    let mut body = bigpeer("upg", &bp_ns);
    body["spec"]["subscription"]["replicas"] = json!(3);
    apply_bigpeer(client, &body).await.expect("apply BigPeer");
    wait_ready(client, &bp_ns, "upg", READY).await;
    let deps: Api<Deployment> = Api::namespaced(client.clone(), &bp_ns);
    wait_for("subscription Deployment scaled to 3", READY, || async {
        let l = deps.list(&ListParams::default()).await.ok()?;
        l.items
            .iter()
            .any(|d| {
                d.name_any().ends_with("subscription")
                    && d.spec.as_ref().and_then(|s| s.replicas) == Some(3)
            })
            .then_some(())
    })
    .await;
    report(&format!(
        "{label}: after the upgrade, {} store pods untouched, BigPeer change reconciled by {CURRENT}",
        store(pods_before).len()
    ));
    // The kinds the upgrade brought (0.1.0 had none) are served and admitted.
    report(&apps_and_keys(client, label, &bp_ns, "upg", CURRENT).await);
    let _ = bps.delete("upg", &DeleteParams::default()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    new.kill();
    teardown(client, &ns, CURRENT, &[ns.clone(), bp_ns]).await;
}

#[tokio::test]
#[ignore = "needs OLM on the local control plane: run make olm-e2e"]
async fn install_from_catalog() {
    install_flow(&admin().await, "vanilla/install", false).await;
}

#[tokio::test]
#[ignore = "needs OLM on the local control plane: run make olm-e2e"]
async fn upgrade_from_previous_release() {
    upgrade_flow(&admin().await, "vanilla/upgrade", false).await;
}

#[tokio::test]
#[ignore = "needs OLM on the local control plane: run make olm-e2e"]
async fn install_modes() {
    let client = admin().await;
    cleanup_leftovers(&client).await;
    vanilla_plane(&client).await;
    for mode in [
        "OwnNamespace",
        "SingleNamespace",
        "MultiNamespace",
        "AllNamespaces",
    ] {
        let ns = plain_namespace(&client, "olm-mode").await;
        let a = bigpeer_namespace(&client, "olm-ta").await;
        let b = bigpeer_namespace(&client, "olm-tb").await;
        let other = bigpeer_namespace(&client, "olm-other").await;
        // Own: the install namespace doubles as the BigPeer namespace; give it the Secrets.
        let (targets, reconciled, untouched): (Option<Vec<String>>, Vec<String>, Vec<String>) =
            match mode {
                "OwnNamespace" => (
                    Some(vec![a.clone()]),
                    vec![a.clone()],
                    vec![b.clone(), other.clone()],
                ),
                "SingleNamespace" => (
                    Some(vec![a.clone()]),
                    vec![a.clone()],
                    vec![b.clone(), other.clone()],
                ),
                "MultiNamespace" => (
                    Some(vec![a.clone(), b.clone()]),
                    vec![a.clone(), b.clone()],
                    vec![other.clone()],
                ),
                _ => (None, vec![a.clone(), b.clone(), other.clone()], vec![]),
            };
        // OwnNamespace: the operator installs into its only target namespace.
        let install_ns = if mode == "OwnNamespace" {
            a.clone()
        } else {
            ns.clone()
        };
        let watch = install(
            &client,
            &install_ns,
            targets.as_deref(),
            &format!("mode/{mode}"),
            false,
        )
        .await;
        let expect_watch = targets.clone().map(|t| t.join(",")).unwrap_or_default();
        let mut got: Vec<&str> = watch.split(',').filter(|s| !s.is_empty()).collect();
        got.sort();
        let mut want: Vec<&str> = expect_watch.split(',').filter(|s| !s.is_empty()).collect();
        want.sort();
        assert_eq!(got, want, "{mode}: OLM's target namespaces");
        let kc = sa_kubeconfig(&client, &install_ns, &format!("mode-{mode}")).await;
        let mut op = Served::start(
            &client,
            &current_bin(),
            &kc,
            &format!("mode-{mode}-operator"),
            &install_ns,
            CURRENT,
            &watch,
        )
        .await;
        for n in reconciled.iter().chain(&untouched) {
            apply_bigpeer(&client, &bigpeer("scoped", n))
                .await
                .expect("apply BigPeer");
        }
        for n in &reconciled {
            wait_ready(&client, n, "scoped", READY).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        for n in &untouched {
            let bp = Api::<BigPeer>::namespaced(client.clone(), n)
                .get("scoped")
                .await
                .unwrap();
            assert!(
                bp.status.is_none(),
                "{mode}: BigPeer in non-target {n} got a status"
            );
            let sts = Api::<StatefulSet>::namespaced(client.clone(), n)
                .list(&ListParams::default())
                .await
                .unwrap();
            assert!(
                sts.items.is_empty(),
                "{mode}: StatefulSet in non-target {n}"
            );
        }
        let scope = webhook_scope(&client, &install_ns, mode, &reconciled, &untouched).await;
        assert!(op.alive(), "operator running: {}", op.logs());
        // Which RBAC OLM made of the CSV's `permissions` in the target namespaces.
        let roles: Api<Role> = Api::all(client.clone());
        let sel = ListParams::default().labels(&format!("olm.owner={CURRENT}"));
        let role_ns: Vec<String> = roles
            .list(&sel)
            .await
            .unwrap()
            .items
            .iter()
            .filter_map(|r| r.namespace())
            .collect();
        report(&format!(
            "mode/{mode}: watch={watch:?}; reconciled {} namespace(s), untouched {}; Roles in {role_ns:?}; webhook {scope}",
            reconciled.len(),
            untouched.len()
        ));
        for n in reconciled.iter() {
            let _ = Api::<BigPeer>::namespaced(client.clone(), n)
                .delete("scoped", &DeleteParams::default())
                .await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        op.kill();
        teardown(&client, &install_ns, CURRENT, &[ns, a, b, other]).await;
    }
}

/// A BigPeer only the webhook refuses (Kubernetes refuses an extended resource requested
/// without a limit in the StatefulSet built from it; the CRD's schema and CEL rules let it
/// through), and the field the refusal must name.
fn bad_bigpeer(name: &str, ns: &str) -> (serde_json::Value, &'static str) {
    let mut body = bigpeer(name, ns);
    body["spec"]["store"]["pod"] = json!({"resources": {"requests": {"example.com/gpu": "1"}}});
    (body, "spec.store.pod.resources")
}

/// Apply `body`; it must be refused by OLM's webhook (not by the CRD's rules) with a message
/// naming `field`. Returns the message.
async fn refused_by_webhook(client: &Client, body: &serde_json::Value, field: &str) -> String {
    match apply_bigpeer(client, body).await {
        Ok(_) => panic!(
            "admitted: {}/{}",
            body["metadata"]["namespace"], body["metadata"]["name"]
        ),
        Err(kube::Error::Api(s)) => {
            let by_webhook = format!("admission webhook \"{WEBHOOK_NAME}\" denied the request");
            assert!(
                s.message.contains(&by_webhook) && s.message.contains(field),
                "refused by {WEBHOOK_NAME} naming {field}: {}",
                s.message
            );
            s.message
        }
        Err(e) => panic!("{e}"),
    }
}

/// No namespaceSelector, or the empty one the API server defaults it to: every namespace.
fn selects_everything(s: &Option<LabelSelector>) -> bool {
    s.as_ref().is_none_or(|s| {
        s.match_labels.as_ref().is_none_or(|m| m.is_empty())
            && s.match_expressions.as_ref().is_none_or(|m| m.is_empty())
    })
}

/// Which namespaces OLM's webhook covers in an install mode: the OperatorGroup's target
/// namespaces (a `namespaceSelector` on the label OLM puts on them), or every namespace in
/// AllNamespaces mode. A BigPeer only the webhook refuses is refused in every reconciled
/// namespace and admitted unchecked (then deleted) in the others.
async fn webhook_scope(
    client: &Client,
    ns: &str,
    mode: &str,
    reconciled: &[String],
    untouched: &[String],
) -> String {
    let vwc = olm_webhook_configuration(client, ns, CURRENT)
        .await
        .expect("OLM's webhook configuration");
    let sel = vwc.webhooks.unwrap()[0].namespace_selector.clone();
    let scope = match (&sel, mode) {
        (s, "AllNamespaces") if selects_everything(s) => "every namespace".to_string(),
        (Some(s), m) if m != "AllNamespaces" => {
            let labels = s.match_labels.clone().unwrap_or_default();
            let [(key, _)] = labels.iter().collect::<Vec<_>>()[..] else {
                panic!("{mode}: one label in {s:?}")
            };
            assert!(key.starts_with("olm.operatorgroup.uid/"), "{mode}: {s:?}");
            format!("namespaceSelector {key}")
        }
        _ => panic!("{mode}: namespaceSelector {sel:?}"),
    };
    for n in reconciled {
        let (body, field) = bad_bigpeer("bad", n);
        refused_by_webhook(client, &body, field).await;
    }
    for n in untouched {
        let (body, _) = bad_bigpeer("bad", n);
        apply_bigpeer(client, &body)
            .await
            .unwrap_or_else(|e| panic!("{mode}: outside the webhook's namespaces {n}: {e}"));
        let _ = Api::<BigPeer>::namespaced(client.clone(), n)
            .delete("bad", &DeleteParams::default())
            .await;
    }
    format!(
        "{scope}: refused in {}, not consulted in {}",
        reconciled.len(),
        untouched.len()
    )
}

/// An OpenShift-like plane: `hack/install-crds.sh openshift prometheus` (OpenShift's API
/// CRDs and the Prometheus Operator's, which every OpenShift cluster serves); removed again on
/// drop so that the other tests see a vanilla plane.
struct OpenShiftCrds;
impl OpenShiftCrds {
    fn install() -> OpenShiftCrds {
        let hack = concat!(env!("CARGO_MANIFEST_DIR"), "/hack/install-crds.sh");
        let st = std::process::Command::new(hack)
            .args(["openshift", "prometheus"])
            .env("SMBP_CLUSTER_DIR", state_dir())
            .status()
            .expect("hack/install-crds.sh");
        assert!(st.success(), "hack/install-crds.sh openshift prometheus");
        OpenShiftCrds
    }
}
impl Drop for OpenShiftCrds {
    fn drop(&mut self) {
        let kubectl = state_dir().join("bin/kubectl");
        let out = std::process::Command::new(&kubectl)
            .args(["get", "crd", "-o", "name"])
            .output()
            .expect("kubectl");
        let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| {
                l.ends_with(".openshift.io")
                    || l.ends_with(&format!(".{PROMETHEUS_OPERATOR_GROUP}"))
            })
            .map(String::from)
            .collect();
        if !names.is_empty() {
            let _ = std::process::Command::new(&kubectl)
                .arg("delete")
                .args(&names)
                .arg("--wait=true")
                .status();
        }
    }
}

#[tokio::test]
#[ignore = "needs OLM on the local control plane: run make olm-e2e"]
async fn openshift_install_and_upgrade() {
    let client = admin().await;
    let crds = OpenShiftCrds::install();
    // Discovery caches in the API server settle quickly; wait until the groups are served.
    wait_for(
        &format!("security.openshift.io and {PROMETHEUS_OPERATOR_GROUP} served"),
        READY,
        || async {
            (openshift_api(&client).await && served(&client, PROMETHEUS_OPERATOR_GROUP).await)
                .then_some(())
        },
    )
    .await;
    install_flow(&client, "openshift/install", true).await;
    upgrade_flow(&client, "openshift/upgrade", true).await;
    // Listing each kind first keeps a CRD from staying Terminating for a minute (see
    // remove_crds); the drop removes the rest.
    remove_crds(&client, PROMETHEUS_OPERATOR_GROUP).await;
    drop(crds);
    wait_for("security.openshift.io gone", READY, || async {
        (!openshift_api(&client).await).then_some(())
    })
    .await;
}

#[tokio::test]
#[ignore = "needs OLM on the local control plane: run make olm-e2e"]
async fn uninstall_keeps_bigpeers() {
    let client = admin().await;
    cleanup_leftovers(&client).await;
    vanilla_plane(&client).await;
    let ns = plain_namespace(&client, "olm-uninstall").await;
    let watch = install(&client, &ns, None, "uninstall", false).await;
    let kc = sa_kubeconfig(&client, &ns, "uninstall-sa").await;
    let mut op = Served::start(
        &client,
        &current_bin(),
        &kc,
        "uninstall-operator",
        &ns,
        CURRENT,
        &watch,
    )
    .await;
    let bp_ns = bigpeer_namespace(&client, "olm-bp").await;
    apply_bigpeer(&client, &bigpeer("keep", &bp_ns))
        .await
        .expect("apply BigPeer");
    wait_ready(&client, &bp_ns, "keep", READY).await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &bp_ns);
    let pvc_before: Vec<String> = wait_for("store PVCs", READY, || async {
        let l = names_in(&pvcs).await;
        (l.len() >= 3).then_some(l)
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &bp_ns);
    let sec_before = names_in(&secrets).await;
    let t = Instant::now();
    op.kill();
    uninstall(&client, &ns, CURRENT).await;
    let el = t.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let bp = Api::<BigPeer>::namespaced(client.clone(), &bp_ns)
        .get("keep")
        .await
        .expect("BigPeer kept");
    assert!(bp.metadata.deletion_timestamp.is_none());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    assert!(
        crds.get_opt(CRD).await.unwrap().is_some(),
        "OLM keeps the CRD"
    );
    let pvc_after = names_in(&pvcs).await;
    assert_eq!(pvc_after, pvc_before, "PVCs kept");
    let sec_after = names_in(&secrets).await;
    assert_eq!(sec_after, sec_before, "Secrets kept");
    let sts = Api::<StatefulSet>::namespaced(client.clone(), &bp_ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    report(&format!(
        "uninstall: Subscription+CSV deleted in {:.1}s; kept BigPeer, {} PVCs, {} Secrets, {} StatefulSet(s)",
        el.as_secs_f64(),
        pvc_after.len(),
        sec_after.len(),
        sts.items.len()
    ));
    // Leave the BigPeer namespace (it has a finalizer-holding BigPeer and no operator); the
    // install namespace goes.
    let _ = operator_groups(&client, &ns)
        .delete("smbp", &DeleteParams::default())
        .await;
    delete_namespaces(&client, &[ns]).await;
}

/// The recovery command of docs/user/validation.md under OLM (`<csv-name>` replaced).
const RECOVERY_UNDER_OLM: &str = "kubectl patch $(kubectl get validatingwebhookconfiguration -o name -l olm.owner=<csv-name>,olm.webhook-description-generate-name=vbigpeer.smbp.io) --type=json -p '[{\"op\": \"replace\", \"path\": \"/webhooks/0/failurePolicy\", \"value\": \"Ignore\"}]'";

/// The bundle installs with its webhook: OLM's ValidatingWebhookConfiguration points at OLM's
/// Service for the Deployment with OLM's CA; the operator, serving it with OLM's certificate
/// where the API server calls that Service, refuses bad BigPeers naming the field and admits
/// the sample; the recovery command of docs/user/validation.md; uninstall removes the
/// configuration and its Service.
#[tokio::test]
#[ignore = "needs OLM on the local control plane: run make olm-e2e"]
async fn webhook_installed_with_the_bundle() {
    let client = admin().await;
    cleanup_leftovers(&client).await;
    vanilla_plane(&client).await;
    let ns = plain_namespace(&client, "olm-webhook").await;
    let watch = install(&client, &ns, None, "webhook", false).await;
    let kc = sa_kubeconfig(&client, &ns, "webhook-sa").await;
    let t = Instant::now();
    let op = Served::start(
        &client,
        &current_bin(),
        &kc,
        "webhook-operator",
        &ns,
        CURRENT,
        &watch,
    )
    .await;
    let hook = op.webhook.as_ref().expect("the CSV declares its webhook");
    let vwc = hook.configuration.clone();
    let labels = vwc.labels().clone();
    report(&format!(
        "webhook: {} by OLM ({:?}), Service {ns}/{}, pod IP {} on lo, served in {:.1}s",
        vwc.name_any(),
        labels,
        webhook_service(),
        hook.pod_ip,
        t.elapsed().as_secs_f64()
    ));
    assert!(
        selects_everything(&vwc.webhooks.as_ref().unwrap()[0].namespace_selector),
        "AllNamespaces: every namespace: {vwc:?}"
    );

    // Bad BigPeers are refused through OLM's webhook, naming the field.
    let bp_ns = bigpeer_namespace(&client, "olm-wh").await;
    let (env, field) = bad_bigpeer("env", &bp_ns);
    let m1 = refused_by_webhook(&client, &env, field).await;
    let mut res = bigpeer("res", &bp_ns);
    res["spec"]["store"]["pod"] = json!({"resources": {
        "requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "2"}}});
    let m2 = refused_by_webhook(&client, &res, "spec.store.pod.resources").await;
    // A toleration operator `Maybe` never reaches the webhook: the CRD's schema refuses it.
    let mut tol = bigpeer("tol", &bp_ns);
    tol["spec"]["store"]["pod"] =
        json!({"scheduling": {"tolerations": [{"key": "a", "operator": "Maybe"}]}});
    match apply_bigpeer(&client, &tol).await {
        Err(kube::Error::Api(s))
            if s.message
                .contains("spec.store.pod.scheduling.tolerations[0].operator") => {}
        other => panic!("toleration operator Maybe: {other:?}"),
    }
    report(&format!("webhook: refused {m1:?}; {m2:?}"));

    // The sample of config/samples is admitted (then deleted: the operator removes its
    // finalizer).
    let sample: serde_json::Value = serde_yaml_ng::from_str(include_str!(
        "../../config/samples/smbp_v1alpha1_bigpeer.yaml"
    ))
    .unwrap();
    let mut sample = sample;
    sample["metadata"]["namespace"] = json!(bp_ns);
    apply_bigpeer(&client, &sample)
        .await
        .expect("the sample is admitted");
    let bps: Api<BigPeer> = Api::namespaced(client.clone(), &bp_ns);
    let sample_name = sample["metadata"]["name"].as_str().unwrap().to_string();
    bps.delete(&sample_name, &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the sample deleted", READY, || async {
        bps.get_opt(&sample_name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // Deleting the configuration is no way out under OLM: OLM notices that its CSV lacks its
    // webhook and makes it again (docs/user/validation.md says so).
    let vwcs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let by_owner = ListParams::default().labels(&format!("olm.owner={CURRENT}"));
    let t = Instant::now();
    vwcs.delete_collection(&DeleteParams::default(), &by_owner)
        .await
        .unwrap();
    let back = wait_for("OLM's webhook configuration back", OLM_TIMEOUT, || async {
        olm_webhook_configuration(&client, &ns, CURRENT).await
    })
    .await;
    report(&format!(
        "webhook: deleted by `-l olm.owner={CURRENT}`, OLM made {} again in {:.1}s",
        back.name_any(),
        t.elapsed().as_secs_f64()
    ));
    wait_csv_succeeded(&client, &ns, CURRENT).await;
    refused_by_webhook(&client, &env, field).await;

    // docs/user/validation.md's recovery under OLM while the operator is down: the webhook's
    // failurePolicy set to Ignore, which OLM leaves alone (it writes the configuration only
    // when it installs the CSV).
    let mut op = op;
    op.kill();
    let doc = include_str!("../../docs/user/validation.md");
    assert!(doc.contains(RECOVERY_UNDER_OLM), "the doc's command");
    let kubectl_dir = state_dir().join("bin");
    let path = format!(
        "{}:{}",
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let st = std::process::Command::new("bash")
        .args(["-euc", &RECOVERY_UNDER_OLM.replace("<csv-name>", CURRENT)])
        .env("PATH", path)
        .status()
        .unwrap();
    assert!(st.success(), "{RECOVERY_UNDER_OLM}");
    let (unchecked, _) = bad_bigpeer("unchecked", &bp_ns);
    apply_bigpeer(&client, &unchecked)
        .await
        .expect("admitted unchecked with failurePolicy Ignore and no operator");
    bps.delete("unchecked", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let kept = olm_webhook_configuration(&client, &ns, CURRENT)
        .await
        .unwrap();
    assert_eq!(
        kept.webhooks.unwrap()[0].failure_policy.as_deref(),
        Some("Ignore"),
        "OLM leaves the patched failurePolicy"
    );
    let phase = csvs(&client, &ns).get(CURRENT).await.unwrap().data["status"]["phase"].clone();
    assert_eq!(phase, "Succeeded");
    report(
        "webhook: failurePolicy Ignore (the doc's recovery) admits BigPeers while the operator is down; OLM left it for 20s, CSV Succeeded",
    );

    // Uninstall removes the configuration and OLM's Service (and certificate Secret).
    drop(op);
    let t = Instant::now();
    uninstall(&client, &ns, CURRENT).await;
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_for(
        "the webhook configuration, Service and Secret gone",
        READY,
        || async {
            (olm_webhook_configuration(&client, &ns, CURRENT)
                .await
                .is_none()
                && services.get_opt(&webhook_service()).await.ok()?.is_none()
                && secrets.get_opt(&webhook_secret()).await.ok()?.is_none())
            .then_some(())
        },
    )
    .await;
    // Nothing left to call: a BigPeer write no longer depends on the operator.
    apply_bigpeer(&client, &bigpeer("after", &bp_ns))
        .await
        .expect("admitted without the webhook");
    report(&format!(
        "webhook: configuration, Service and Secret removed with the CSV in {:.1}s",
        t.elapsed().as_secs_f64()
    ));
    let _ = bps.delete("after", &DeleteParams::default()).await;
    teardown(&client, &ns, CURRENT, &[ns.clone(), bp_ns]).await;
}

/// The images of a pod spec's containers and init containers, labelled `<what> container <name>`.
fn pod_images(what: &str, spec: &k8s_openapi::api::core::v1::PodSpec) -> Vec<(String, String)> {
    let init = spec.init_containers.iter().flatten();
    init.chain(spec.containers.iter())
        .filter_map(|c| Some((format!("{what} container {}", c.name), c.image.clone()?)))
        .collect()
}

/// The air-gapped install of the release pipeline (hack/release/mirror-install.sh, run by
/// `make release-local`): OLM installs the CSV from a catalog pulled out of the mirror registry
/// (the public registry already stopped), then the operator binary taken out of the mirrored
/// operator image runs as the ServiceAccount OLM created, with the Deployment's
/// `RELATED_IMAGE_*` environment as its pod would have it, and makes a BigPeer Ready. Every
/// image reference of the install (the Deployment's containers and environment, the CSV's
/// relatedImages, the operator's pods, the Big Peer's pods) must be by digest, the Big Peer's
/// must be the CSV's own `RELATED_IMAGE_*` images, and all are written to
/// `SMBP_MIRROR_IMAGES_OUT` for the script to resolve in the mirror and verify with cosign.
#[tokio::test]
#[ignore = "needs the mirrored catalog of make release-local (hack/release/mirror-install.sh)"]
async fn install_from_mirrored_catalog() {
    let need = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} unset: run hack/release/mirror-install.sh"))
    };
    let (bin, out) = (
        need("SMBP_MIRROR_OPERATOR_BIN"),
        need("SMBP_MIRROR_IMAGES_OUT"),
    );
    let label = "mirror/install";
    let client = admin().await;
    cleanup_leftovers(&client).await;
    vanilla_plane(&client).await;
    let ns = plain_namespace(&client, "olm-mirror").await;
    let watch = install(&client, &ns, None, label, false).await;

    let mut seen: Vec<(String, String)> = Vec::new();
    let deployment = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get(DEPLOYMENT)
        .await
        .unwrap();
    let pod_spec = deployment.spec.unwrap().template.spec.unwrap();
    seen.extend(pod_images(&format!("Deployment {DEPLOYMENT}"), &pod_spec));
    let related: Vec<(String, String)> = pod_spec.containers[0]
        .env
        .iter()
        .flatten()
        .filter(|e| e.name.starts_with("RELATED_IMAGE_"))
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect();
    assert!(
        !related.is_empty(),
        "the Deployment has RELATED_IMAGE_* variables"
    );
    for (k, v) in &related {
        seen.push((format!("Deployment {DEPLOYMENT} env {k}"), v.clone()));
    }
    let csv = csvs(&client, &ns).get(CURRENT).await.unwrap();
    for r in csv.data["spec"]["relatedImages"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let image = r["image"].as_str().unwrap_or_default().to_string();
        seen.push((
            format!("CSV relatedImages {}", r["name"].as_str().unwrap_or("?")),
            image,
        ));
    }
    for p in Api::<Pod>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        seen.extend(pod_images(
            &format!("Pod {}", p.name_any()),
            &p.spec.unwrap(),
        ));
    }

    // The operator out of the mirrored image, with the pod's RELATED_IMAGE_* environment.
    let env: Vec<(&str, &str)> = related
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let kc = sa_kubeconfig(&client, &ns, "mirror-sa").await;
    let t = Instant::now();
    let mut op = Served::start_with_env(
        &client,
        &bin,
        &kc,
        "mirror-operator",
        &ns,
        CURRENT,
        &watch,
        &env,
    )
    .await;
    let bp_ns = bigpeer_namespace(&client, "olm-mirror-bp").await;
    apply_bigpeer(&client, &bigpeer("mirror", &bp_ns))
        .await
        .expect("apply BigPeer");
    wait_ready(&client, &bp_ns, "mirror", READY).await;
    assert!(op.alive(), "the mirrored operator running: {}", op.logs());
    let mut big_peer = Vec::new();
    for p in Api::<Pod>::namespaced(client.clone(), &bp_ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        big_peer.extend(pod_images(
            &format!("Pod {bp_ns}/{}", p.name_any()),
            &p.spec.unwrap(),
        ));
    }
    assert!(!big_peer.is_empty(), "the BigPeer has pods");
    for (what, image) in &big_peer {
        assert!(
            related.iter().any(|(_, v)| v == image),
            "{what}: {image} is not one of the CSV's RELATED_IMAGE_* images {related:?}"
        );
    }
    report(&format!(
        "{label}: the mirrored operator made BigPeer {bp_ns}/mirror Ready in {:.1}s; {} pod images, all the CSV's RELATED_IMAGE_*",
        t.elapsed().as_secs_f64(),
        big_peer.len()
    ));
    seen.extend(big_peer);
    let not_pinned: Vec<_> = seen
        .iter()
        .filter(|(_, i)| !i.contains("@sha256:"))
        .collect();
    assert!(
        not_pinned.is_empty(),
        "images not by digest: {not_pinned:?}"
    );
    let lines: String = seen.iter().map(|(w, i)| format!("{w}\t{i}\n")).collect();
    std::fs::write(&out, lines).unwrap();
    report(&format!(
        "{label}: {} image references written to {out}",
        seen.len()
    ));

    let _ = Api::<BigPeer>::namespaced(client.clone(), &bp_ns)
        .delete("mirror", &DeleteParams::default())
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    op.kill();
    teardown(&client, &ns, CURRENT, &[ns.clone(), bp_ns]).await;
}
