//! Services: one client Service per component and the store's headless Service.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{labels, names, ports};
use crate::api::{BigPeer, Component};

fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn ports_of(component: Component) -> Vec<ServicePort> {
    let mut p = match component {
        Component::Store => vec![port("peer", ports::PEER)],
        Component::Subscription => vec![port("sync", ports::SYNC), port("peer", ports::PEER)],
        Component::Api => vec![port("http", ports::HTTP)],
    };
    p.push(port("metrics", ports::METRICS));
    p
}

/// ClusterIP Service in front of a component.
pub fn client(bp: &BigPeer, component: Component) -> Service {
    Service {
        metadata: labels::meta(
            bp,
            names::component(&bp.name_any(), component),
            component.as_str(),
        ),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels::selector(bp, component)),
            ports: Some(ports_of(component)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Headless Service giving each store pod a stable DNS name; unready pods are published so
/// that peers can find each other while starting.
pub fn store_headless(bp: &BigPeer) -> Service {
    Service {
        metadata: labels::meta(
            bp,
            names::store_headless(&bp.name_any()),
            Component::Store.as_str(),
        ),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(labels::selector(bp, Component::Store)),
            ports: Some(vec![port("peer", ports::PEER)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
