//! A MongoDB bridge's connector: its configuration (ConfigMap `<bridge>-mongodb-connector`),
//! its workload (Deployment of the same name: one pod, `Recreate`, restricted pod security,
//! read-only root filesystem, no ServiceAccount token, the connection string from the Secret
//! through `secretKeyRef`, the configuration's hash in the pod template) and its own
//! NetworkPolicy (egress to DNS, MongoDB and the Big Peer's api and subscription pods; ingress
//! to the metrics port only).
//!
//! The health contract the operator reads (see `docs/user/data-bridges.md`): the connector
//! serves Prometheus text on [`METRICS_PORT`] at [`METRICS_PATH`], with the gauge
//! [`PROGRESS_METRIC`]: the Unix time (seconds) of the last event of its MongoDB change
//! stream, heartbeats included (a change stream's resume token advances even when nothing
//! changes), and of its last successful round trip to the Big Peer. It answers [`READY_PATH`]
//! (readiness: connected to both sides) and [`LIVE_PATH`] (liveness).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SecretKeySelector, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::connection::Destinations;
use super::{MONGODB_COMPONENT, Owner, connector, meta, pod_selector};
use crate::api::{BigPeer, Component, MongoBridge, MongoCollection};
use crate::build::config::{HASH_ANNOTATION, hash};
use crate::build::network_policy::DNS_PORTS;
use crate::build::pod::DEFAULT_UID;
use crate::build::{labels, names, ports};

/// The connector's metrics and health port.
pub const METRICS_PORT: i32 = 9102;
/// Where it serves Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";
/// Readiness: connected to MongoDB and to the Big Peer.
pub const READY_PATH: &str = "/ready";
/// Liveness: the process answers.
pub const LIVE_PATH: &str = "/live";
/// The progress gauge: Unix time in seconds of the connector's last progress (a change-stream
/// event or heartbeat, and a round trip to the Big Peer). With several series (one per
/// stream), the oldest counts.
pub const PROGRESS_METRIC: &str = "mongodb_connector_last_progress_timestamp_seconds";
/// The configuration file, in the ConfigMap and in the pod.
pub const CONFIG_FILE: &str = "connector.yaml";
/// Where the configuration is mounted.
pub const CONFIG_DIR: &str = "/etc/mongodb-connector";
/// The environment variable holding the connection string (from the Secret).
pub const CONNECTION_ENV: &str = "MONGODB_CONNECTION_STRING";
/// The container's name.
pub const CONTAINER: &str = "connector";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Config<'a> {
    version: u32,
    app_id: &'a str,
    database: &'a str,
    collections: BTreeMap<&'a str, Collection<'a>>,
    big_peer: Endpoints,
    connection_string_env: &'static str,
    health: Health,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection<'a> {
    fields: &'a [String],
    initial_sync: bool,
    mode: &'static str,
    settable_counters: &'a [String],
    dql_strict_mode: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoints {
    http_api: String,
    subscription: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    port: i32,
    metrics_path: &'static str,
    ready_path: &'static str,
    live_path: &'static str,
    progress_metric: &'static str,
}

fn collection(c: &MongoCollection) -> Collection<'_> {
    Collection {
        fields: &c.fields,
        initial_sync: c.initial_sync,
        mode: c.mode.as_str(),
        settable_counters: &c.settable_counters,
        dql_strict_mode: c.dql_strict_mode,
    }
}

/// The connector's configuration file: the database, the collections, the app ID and the Big
/// Peer's in-cluster endpoints. Never the connection string (an environment variable).
pub fn render(o: &Owner<'_>, m: &MongoBridge) -> String {
    let ns = o.namespace();
    let svc = |c: Component| format!("{}.{ns}.svc", names::component(o.big_peer, c));
    serde_yaml_ng::to_string(&Config {
        version: 1,
        app_id: o.app_id,
        database: &m.database,
        collections: m
            .collections
            .iter()
            .map(|(k, c)| (k.as_str(), collection(c)))
            .collect(),
        big_peer: Endpoints {
            http_api: format!("http://{}:{}", svc(Component::Api), ports::HTTP),
            subscription: format!("ws://{}:{}", svc(Component::Subscription), ports::SYNC),
        },
        connection_string_env: CONNECTION_ENV,
        health: Health {
            port: METRICS_PORT,
            metrics_path: METRICS_PATH,
            ready_path: READY_PATH,
            live_path: LIVE_PATH,
            progress_metric: PROGRESS_METRIC,
        },
    })
    .expect("the connector's configuration serializes")
}

/// The ConfigMap holding [`render`]'s file.
pub fn config_map(o: &Owner<'_>, rendered: &str) -> ConfigMap {
    ConfigMap {
        metadata: meta(o, connector(&o.name()), MONGODB_COMPONENT),
        data: Some(BTreeMap::from([(
            CONFIG_FILE.to_string(),
            rendered.to_string(),
        )])),
        ..Default::default()
    }
}

/// Requests 100m CPU and 256Mi memory, limit 512Mi memory, when the spec sets none.
pub fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity("100m".into())),
            ("memory".to_string(), Quantity("256Mi".into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_string(),
            Quantity("512Mi".into()),
        )])),
        ..Default::default()
    }
}

fn probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("metrics".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// The connector's Deployment. `image` from [`crate::images::RelatedImages::mongo_connector`];
/// `openshift` leaves user and group IDs to the SCC.
pub fn deployment(
    o: &Owner<'_>,
    m: &MongoBridge,
    image: String,
    rendered: &str,
    openshift: bool,
) -> Deployment {
    let name = connector(&o.name());
    let mut pod_labels = super::labels(o, MONGODB_COMPONENT);
    pod_labels.extend(pod_selector(&o.name()));
    let id = (!openshift).then_some(DEFAULT_UID);
    let container = Container {
        name: CONTAINER.into(),
        image: Some(image),
        args: Some(vec![
            "--config".into(),
            format!("{CONFIG_DIR}/{CONFIG_FILE}"),
        ]),
        env: Some(vec![EnvVar {
            name: CONNECTION_ENV.into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: m.connection_string_secret_ref.name.clone(),
                    key: m.connection_string_secret_ref.key.clone(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: METRICS_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        readiness_probe: Some(probe(READY_PATH, 10, 3)),
        liveness_probe: Some(probe(LIVE_PATH, 20, 6)),
        resources: Some(m.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(crate::build::pod::container_security(Component::Api, false)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".into(),
                mount_path: CONFIG_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    Deployment {
        metadata: meta(o, name.clone(), MONGODB_COMPONENT),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(pod_selector(&o.name())),
                ..Default::default()
            },
            // One connector at a time: two would sync the same collections twice.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            revision_history_limit: Some(3),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(BTreeMap::from([(
                        HASH_ANNOTATION.to_string(),
                        hash(rendered),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(k8s_openapi::api::core::v1::PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: id,
                        run_as_group: id,
                        fs_group: id,
                        seccomp_profile: Some(k8s_openapi::api::core::v1::SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "config".into(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: name.clone(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        Volume {
                            name: "tmp".into(),
                            empty_dir: Some(EmptyDirVolumeSource {
                                size_limit: Some(Quantity("64Mi".into())),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    termination_grace_period_seconds: Some(30),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        end_port: None,
    }
}

fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                ns.to_string(),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The connector's NetworkPolicy (always made: the connector is the operator's). Ingress: the
/// metrics port, from the operator's namespace (`operator_namespace`, which reads the health
/// signal) and the BigPeer's `network.policies.metricsFrom` (from anywhere when that is
/// empty). Egress: DNS (to `dnsTo`, anywhere when empty); MongoDB on the connection string's
/// ports (to the `/32` of IPv4 hosts, and to any address when a host is a name: a policy
/// cannot name a DNS name); the BigPeer's api (HTTP) and subscription (sync) pods.
pub fn network_policy(
    o: &Owner<'_>,
    bp: &BigPeer,
    mongo: &Destinations,
    operator_namespace: Option<&str>,
) -> NetworkPolicy {
    let p = &bp.spec.network.policies;
    let any_if_empty = |peers: &[NetworkPolicyPeer]| (!peers.is_empty()).then(|| peers.to_vec());
    let metrics_from = any_if_empty(&p.metrics_from).map(|mut peers| {
        peers.extend(operator_namespace.map(namespace_peer));
        peers
    });
    let mut egress = vec![NetworkPolicyEgressRule {
        to: any_if_empty(&p.dns_to),
        ports: Some(
            DNS_PORTS
                .into_iter()
                .flat_map(|port| {
                    [
                        NetworkPolicyPort {
                            port: Some(IntOrString::Int(port)),
                            protocol: Some("UDP".into()),
                            end_port: None,
                        },
                        tcp(port),
                    ]
                })
                .collect(),
        ),
    }];
    if !mongo.ports.is_empty() {
        let to = (!mongo.names).then(|| {
            mongo
                .ipv4
                .iter()
                .map(|ip| NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: format!("{ip}/32"),
                        except: None,
                    }),
                    ..Default::default()
                })
                .collect()
        });
        egress.push(NetworkPolicyEgressRule {
            to,
            ports: Some(mongo.ports.iter().map(|p| tcp(i32::from(*p))).collect()),
        });
    }
    for (c, port) in [
        (Component::Api, ports::HTTP),
        (Component::Subscription, ports::SYNC),
    ] {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(labels::selector(bp, c)),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ports: Some(vec![tcp(port)]),
        });
    }
    NetworkPolicy {
        metadata: meta(o, connector(&o.name()), MONGODB_COMPONENT),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(pod_selector(&o.name())),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: metrics_from,
                ports: Some(vec![tcp(METRICS_PORT)]),
            }]),
            egress: Some(egress),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::connection::parse;
    use super::super::tests::{MONGO, bridge};
    use super::*;
    use crate::api::BigPeerDataBridge;

    fn owner(b: &BigPeerDataBridge) -> Owner<'_> {
        Owner {
            bridge: b,
            big_peer: "prod",
            app_id: "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11",
        }
    }

    #[test]
    fn the_configuration_has_what_the_connector_needs_and_no_secret() {
        let b = bridge(MONGO);
        let m = b.spec.mongodb.clone().unwrap();
        let r = render(&owner(&b), &m);
        let v: serde_json::Value = serde_yaml_ng::from_str(&r).unwrap();
        assert_eq!(v["appId"], "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11");
        assert_eq!(v["database"], "shop");
        assert_eq!(v["collections"]["orders"]["fields"][0], "_id");
        assert_eq!(v["collections"]["orders"]["initialSync"], true);
        assert_eq!(v["collections"]["orders"]["mode"], "native");
        assert_eq!(v["collections"]["tasks"]["mode"], "ejson");
        assert_eq!(v["collections"]["tasks"]["settableCounters"][0], "count");
        assert_eq!(v["bigPeer"]["httpApi"], "http://prod-api.shop.svc:10080");
        assert_eq!(
            v["bigPeer"]["subscription"],
            "ws://prod-subscription.shop.svc:8080"
        );
        assert_eq!(v["connectionStringEnv"], CONNECTION_ENV);
        assert_eq!(v["health"]["progressMetric"], PROGRESS_METRIC);
        let cm = config_map(&owner(&b), &r);
        assert_eq!(cm.metadata.name.as_deref(), Some("sync-mongodb-connector"));
    }

    #[test]
    fn the_deployment_is_one_restricted_pod_reading_the_secret_by_reference() {
        let b = bridge(MONGO);
        let m = b.spec.mongodb.clone().unwrap();
        let r = render(&owner(&b), &m);
        let d = deployment(&owner(&b), &m, "img".into(), &r, false);
        let spec = d.spec.as_ref().unwrap();
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(
            spec.strategy.as_ref().unwrap().type_.as_deref(),
            Some("Recreate")
        );
        let t = &spec.template;
        assert_eq!(
            t.metadata.as_ref().unwrap().annotations.as_ref().unwrap()[HASH_ANNOTATION],
            hash(&r)
        );
        let pod = t.spec.as_ref().unwrap();
        assert_eq!(pod.automount_service_account_token, Some(false));
        let psc = pod.security_context.as_ref().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(
            psc.seccomp_profile.as_ref().unwrap().type_,
            "RuntimeDefault"
        );
        let c = &pod.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_ref().unwrap(),
            &["ALL"]
        );
        assert!(sc.capabilities.as_ref().unwrap().add.is_none());
        let env = &c.env.as_ref().unwrap()[0];
        assert!(env.value.is_none());
        let r = env
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(
            (r.name.as_str(), r.key.as_str()),
            ("mongo", "connectionString")
        );
        assert_eq!(c.ports.as_ref().unwrap()[0].container_port, METRICS_PORT);
        assert_eq!(c.resources.as_ref().unwrap(), &default_resources());
        // Selector labels are in the template; never the BigPeer's.
        let sel = spec.selector.match_labels.as_ref().unwrap();
        let tl = t.metadata.as_ref().unwrap().labels.as_ref().unwrap();
        assert!(sel.iter().all(|(k, v)| tl.get(k) == Some(v)));
        assert_ne!(tl["app.kubernetes.io/name"], crate::build::labels::APP_NAME);
        // On OpenShift the SCC assigns the IDs.
        let os = deployment(&owner(&b), &m, "img".into(), "x", true);
        assert!(
            os.spec
                .unwrap()
                .template
                .spec
                .unwrap()
                .security_context
                .unwrap()
                .run_as_user
                .is_none()
        );
    }

    #[test]
    fn a_configuration_change_changes_the_template_hash_only_through_the_file() {
        let b = bridge(MONGO);
        let mut m = b.spec.mongodb.clone().unwrap();
        let before = render(&owner(&b), &m);
        m.database = "other".into();
        let after = render(&owner(&b), &m);
        assert_ne!(hash(&before), hash(&after));
        // stallAfter is the operator's, not the connector's: no restart for it.
        m.stall_after = "10m".into();
        assert_eq!(render(&owner(&b), &m), after);
    }

    #[test]
    fn the_policy_opens_dns_mongodb_the_big_peer_and_metrics() {
        let b = bridge(MONGO);
        let bp = crate::testing::sample();
        let d = parse("mongodb://u:p@10.0.0.5:27018,10.0.0.6").unwrap();
        let np = network_policy(&owner(&b), &bp, &d, Some("smbp-system"));
        let spec = np.spec.unwrap();
        let egress = spec.egress.unwrap();
        // Only IP hosts: their /32s.
        let mongo = &egress[1];
        let cidrs: Vec<_> = mongo
            .to
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.ip_block.as_ref().unwrap().cidr.clone())
            .collect();
        assert_eq!(cidrs, ["10.0.0.5/32", "10.0.0.6/32"]);
        let ports: Vec<_> = mongo
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.port.clone().unwrap())
            .collect();
        assert_eq!(ports, [IntOrString::Int(27017), IntOrString::Int(27018)]);
        // A host name: any address, on the ports.
        let named = network_policy(
            &owner(&b),
            &bp,
            &parse("mongodb+srv://c.example.net").unwrap(),
            None,
        );
        assert!(named.spec.unwrap().egress.unwrap()[1].to.is_none());
        // Big Peer api and subscription pods.
        assert_eq!(egress.len(), 4);
        let api = egress[2].to.as_ref().unwrap()[0]
            .pod_selector
            .as_ref()
            .unwrap()
            .match_labels
            .clone()
            .unwrap();
        assert_eq!(api["app.kubernetes.io/component"], "api");
        assert_eq!(
            spec.ingress.as_ref().unwrap()[0].ports.as_ref().unwrap()[0],
            tcp(METRICS_PORT)
        );
        assert_eq!(
            spec.pod_selector.unwrap().match_labels.unwrap(),
            pod_selector("sync")
        );
    }
}
