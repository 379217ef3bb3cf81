//! What a reconcile observed and did, as plain data: the I/O steps fill these values, the
//! pure decisions read them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::DynamicObject;
use serde_json::Value;

use crate::api::Component;
use crate::api::reason::Reason;
use crate::facts::Integration;

/// Which optional APIs the cluster serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Integrations {
    /// `kafka.strimzi.io/v1`.
    pub strimzi: bool,
    /// `cert-manager.io/v1`.
    pub cert_manager: bool,
    /// `security.openshift.io` (the operator runs on OpenShift).
    pub openshift: bool,
    /// `gateway.networking.k8s.io/v1` (Gateway API).
    pub gateway_api: bool,
    /// `route.openshift.io/v1` (OpenShift Routes).
    pub openshift_route: bool,
    /// `monitoring.coreos.com/v1` (Prometheus Operator).
    pub prometheus_operator: bool,
    /// `tlsroutes` in `gateway.networking.k8s.io/v1` (Gateway API 1.5 and later).
    pub tls_route: bool,
}

impl Integrations {
    /// Whether the cluster serves an add-on.
    pub fn has(&self, i: Integration) -> bool {
        match i {
            Integration::Strimzi => self.strimzi,
            Integration::CertManager => self.cert_manager,
            Integration::OpenShift => self.openshift,
            Integration::GatewayApi => self.gateway_api,
            Integration::OpenShiftRoute => self.openshift_route,
            Integration::PrometheusOperator => self.prometheus_operator,
            Integration::GatewayApiTlsRoute => self.tls_route,
        }
    }
}

/// Readiness of a prerequisite (keys or transaction log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Ready to be used.
    pub ready: bool,
    /// Why (or `Ready`).
    pub reason: Reason,
    /// What the user should know or do.
    pub message: String,
}

impl Part {
    /// A prerequisite in place.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            ready: true,
            reason: Reason::Ready,
            message: message.into(),
        }
    }
    /// A prerequisite not in place, and why.
    pub fn not(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            ready: false,
            reason,
            message: message.into(),
        }
    }
}

/// Everything the reconcile decisions need.
#[derive(Clone, Debug)]
pub struct Observed {
    /// Optional APIs.
    pub integrations: Integrations,
    /// The store StatefulSet.
    pub statefulset: Option<StatefulSet>,
    /// Stateless Deployments.
    pub deployments: BTreeMap<Component, Deployment>,
    /// Pods of this BigPeer.
    pub pods: Vec<Pod>,
    /// Keys.
    pub keys: Part,
    /// Transaction log.
    pub transaction_log: Part,
    /// Kafka bootstrap servers, when known.
    pub kafka_bootstrap: Vec<String>,
    /// Exposure objects and their status.
    pub exposure: ExposureObserved,
}

/// Exposure objects as the cluster reports them.
#[derive(Clone, Debug, Default)]
pub struct ExposureObserved {
    /// The `<name>-public` Service (loadBalancer, nodePort).
    pub service: Option<Service>,
    /// The Ingress (ingress).
    pub ingress: Option<Ingress>,
    /// The HTTPRoute (gatewayAPI).
    pub http_route: Option<DynamicObject>,
    /// Listener protocols of the Gateways the HTTPRoute attaches to (gatewayAPI).
    pub gateway_protocols: Vec<String>,
    /// The Routes (route).
    pub routes: Vec<DynamicObject>,
    /// cert-manager's Certificate for the host (ingress with `tls.certManager`).
    pub certificate: Option<DynamicObject>,
    /// The user's TLS Secret exists (ingress with `tls.secretName`).
    pub tls_secret_exists: bool,
}

/// What happened to the store volumes in this reconcile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Volumes {
    /// Claims whose request was raised now.
    pub raised: Vec<String>,
    /// Claims whose capacity is still below the request (resizing in progress).
    pub resizing: Vec<String>,
    /// Why a claim could not be grown (the API server's answer), if so.
    pub failed: Option<String>,
}

/// Status and message of the condition of a type in a `conditions` array.
pub fn condition_in(conditions: &Value, type_: &str) -> Option<(bool, String)> {
    let c = conditions
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))?;
    let status = c.get("status").and_then(Value::as_str) == Some("True");
    let message = c
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((status, message))
}

/// The claim template keeps the size the StatefulSet was created with.
pub fn template_size(sts: &k8s_openapi::api::apps::v1::StatefulSet) -> Option<String> {
    let t = sts
        .spec
        .as_ref()?
        .volume_claim_templates
        .as_ref()?
        .first()?;
    Some(
        t.spec
            .as_ref()?
            .resources
            .as_ref()?
            .requests
            .as_ref()?
            .get("storage")?
            .0
            .clone(),
    )
}
