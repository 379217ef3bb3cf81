//! The admission webhook of the kustomize install (`kubectl apply -k config/default`): the
//! webhook Service, the ValidatingWebhookConfiguration (the same webhook as a local run's and
//! the CSV's, [`crate::webhook::local::webhook`], called through the Service, with no
//! `caBundle`: the operator sets it) and the RBAC the operator needs to keep its own
//! certificate (`--webhook-cert-secret`, see [`crate::webhook::keeper`]). OLM installs none of
//! this: it makes the Service and the certificate itself.

use k8s_openapi::api::admissionregistration::v1::{
    ServiceReference, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::manager;
use super::release::SUGGESTED_NAMESPACE;
use crate::facts::{
    OPERATOR_SERVICE_ACCOUNT, WEBHOOK_CERT_SECRET, WEBHOOK_CONFIGURATION, WEBHOOK_PATH,
    WEBHOOK_SERVICE, WEBHOOK_SERVICE_PORT,
};

/// The Role that lets the operator keep its certificate Secret (in its own namespace).
pub const CERTIFICATE_ROLE: &str = "smbp-operator-webhook-certificate";
/// The ClusterRole that lets the operator set the caBundle of its webhook configuration.
pub const CONFIGURATION_ROLE: &str = "smbp-operator-webhook-configuration";

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        labels: Some(
            [(
                "app.kubernetes.io/name".to_string(),
                "smbp-operator".to_string(),
            )]
            .into(),
        ),
        ..Default::default()
    }
}

/// The Service the API server calls the webhook through: 443 to the pods' `webhook` port.
pub fn service() -> Service {
    manager::service(WEBHOOK_SERVICE, "webhook", WEBHOOK_SERVICE_PORT)
}

/// The ValidatingWebhookConfiguration: every namespace (`WATCH_NAMESPACE` is empty in this
/// install), through [`service`]; its `caBundle` is set by the operator.
pub fn configuration() -> ValidatingWebhookConfiguration {
    let client = WebhookClientConfig {
        service: Some(ServiceReference {
            name: WEBHOOK_SERVICE.into(),
            namespace: SUGGESTED_NAMESPACE.into(),
            path: Some(WEBHOOK_PATH.into()),
            port: Some(WEBHOOK_SERVICE_PORT),
        }),
        ca_bundle: None,
        url: None,
    };
    ValidatingWebhookConfiguration {
        metadata: meta(WEBHOOK_CONFIGURATION),
        webhooks: Some(vec![crate::webhook::local::webhook(client, &[])]),
    }
}

fn rule(group: &str, resource: &str, verbs: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        resource_names: (!names.is_empty()).then(|| names.iter().map(|n| n.to_string()).collect()),
        ..Default::default()
    }
}

/// Secrets in the operator's namespace: `create` (which cannot be limited to a name) and
/// `update` of the certificate Secret only. Reading it needs nothing more: the manager
/// ClusterRole already grants `get`, `list` and `watch` on Secrets.
pub fn certificate_role() -> Role {
    Role {
        metadata: meta(CERTIFICATE_ROLE),
        rules: Some(vec![
            rule("", "secrets", &["create"], &[]),
            rule("", "secrets", &["update"], &[WEBHOOK_CERT_SECRET]),
        ]),
    }
}

/// The install's ValidatingWebhookConfiguration only: `get`, and `patch` (its caBundle).
pub fn configuration_role() -> ClusterRole {
    ClusterRole {
        metadata: meta(CONFIGURATION_ROLE),
        rules: Some(vec![rule(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            &["get", "patch"],
            &[WEBHOOK_CONFIGURATION],
        )]),
        ..Default::default()
    }
}

fn subjects() -> Option<Vec<Subject>> {
    Some(vec![Subject {
        kind: "ServiceAccount".into(),
        name: OPERATOR_SERVICE_ACCOUNT.into(),
        namespace: Some(SUGGESTED_NAMESPACE.into()),
        ..Default::default()
    }])
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    }
}

/// Binds [`certificate_role`] to the operator's ServiceAccount.
pub fn certificate_role_binding() -> RoleBinding {
    RoleBinding {
        metadata: meta(CERTIFICATE_ROLE),
        role_ref: role_ref("Role", CERTIFICATE_ROLE),
        subjects: subjects(),
    }
}

/// Binds [`configuration_role`] to the operator's ServiceAccount.
pub fn configuration_role_binding() -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(CONFIGURATION_ROLE),
        role_ref: role_ref("ClusterRole", CONFIGURATION_ROLE),
        subjects: subjects(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{WEBHOOK_NAME, WEBHOOK_PORT};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[test]
    fn the_service_sends_443_to_the_pods_webhook_port() {
        let svc = service();
        assert_eq!(svc.metadata.name.as_deref(), Some(WEBHOOK_SERVICE));
        let spec = svc.spec.unwrap();
        assert_eq!(spec.selector, Some(manager::labels()));
        let port = &spec.ports.unwrap()[0];
        assert_eq!(port.port, 443);
        assert_eq!(
            port.target_port,
            Some(IntOrString::String("webhook".into()))
        );
        // ... which the Deployment declares, on the port the webhook listens on.
        let d = manager::deployment(
            &super::super::release::Release::with_defaults("1.2.3", "2026-01-01T00:00:00Z"),
            false,
        );
        let ports = d.spec.unwrap().template.spec.unwrap().containers[0]
            .ports
            .clone()
            .unwrap();
        assert!(
            ports
                .iter()
                .any(|p| p.name.as_deref() == Some("webhook") && p.container_port == WEBHOOK_PORT)
        );
    }

    #[test]
    fn the_configuration_is_the_local_webhook_called_through_the_service_without_ca() {
        let vwc = configuration();
        assert_eq!(vwc.metadata.name.as_deref(), Some(WEBHOOK_CONFIGURATION));
        let hooks = vwc.webhooks.unwrap();
        assert_eq!(hooks.len(), 1);
        let w = &hooks[0];
        assert_eq!(w.name, WEBHOOK_NAME);
        let svc = w.client_config.service.as_ref().unwrap();
        assert_eq!(svc.name, WEBHOOK_SERVICE);
        assert_eq!(svc.namespace, SUGGESTED_NAMESPACE);
        assert_eq!(svc.path.as_deref(), Some(WEBHOOK_PATH));
        assert_eq!(svc.port, Some(443));
        assert!(w.client_config.url.is_none());
        assert!(w.client_config.ca_bundle.is_none(), "the operator sets it");
        // Everything but the client config is the local run's webhook.
        let local = crate::webhook::local::webhook(Default::default(), &[]);
        let mut same = w.clone();
        same.client_config = Default::default();
        assert_eq!(same, local);
        assert!(w.namespace_selector.is_none(), "every namespace");
    }

    #[test]
    fn rbac_is_limited_to_the_secret_and_the_configuration_by_name() {
        let r = certificate_role().rules.unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].verbs, ["create"]);
        assert!(
            r[0].resource_names.is_none(),
            "create cannot name its object"
        );
        assert_eq!(r[1].verbs, ["update"]);
        assert_eq!(
            r[1].resource_names,
            Some(vec![WEBHOOK_CERT_SECRET.to_string()])
        );
        let c = configuration_role().rules.unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].verbs, ["get", "patch"]);
        assert_eq!(
            c[0].resource_names,
            Some(vec![WEBHOOK_CONFIGURATION.to_string()])
        );
        for b in [
            certificate_role_binding().subjects.unwrap(),
            configuration_role_binding().subjects.unwrap(),
        ] {
            assert_eq!(b[0].name, OPERATOR_SERVICE_ACCOUNT);
        }
        // Reading the Secret is already granted by the manager ClusterRole.
        let manager = super::super::rbac::manager_cluster_role().rules.unwrap();
        assert!(manager.iter().any(|r| {
            r.resources.iter().flatten().any(|x| x == "secrets")
                && r.verbs.iter().any(|v| v == "get")
                && r.resource_names.is_none()
        }));
    }
}
