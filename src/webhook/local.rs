//! A local run's webhook (`--webhook-register-local`, used by `make run` and the end-to-end
//! tests): a certificate for 127.0.0.1 made for the run, and a ValidatingWebhookConfiguration
//! that sends BigPeer, BigPeerApp and BigPeerApiKey writes to `https://127.0.0.1:<port>/...`,
//! removed when the run stops. In a cluster the configuration comes from the packaging instead
//! (OLM, kustomize), built from the same [`webhook`].

use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    RuleWithOperations, ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::Client;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams};
use rustls::sign::CertifiedKey;

use crate::facts::{
    MANAGER, WEBHOOK_LOCAL_CONFIGURATION, WEBHOOK_NAME, WEBHOOK_PATH, WEBHOOK_TIMEOUT_SECONDS,
};
use crate::telemetry::tls::{self, TlsError};

/// A certificate for 127.0.0.1 and localhost, and its PEM (the `caBundle`: it is its own CA).
pub fn certificate() -> Result<(Arc<CertifiedKey>, String), TlsError> {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".into()])?;
    let pem = made.cert.pem();
    let key = tls::certified_key(pem.as_bytes(), made.signing_key.serialize_pem().as_bytes())?;
    Ok((Arc::new(key), pem))
}

/// The webhook as the API server should call it. `namespaces` empty: every namespace. The one
/// source of the local registration, the CSV's `webhookdefinitions` and `config/webhook`.
///
/// One webhook for the three kinds of `smbp.io` ([`crate::api::KINDS`]), at one path: the review
/// tells them apart by the request's kind. `failurePolicy: Fail`: nothing is admitted unchecked;
/// only these kinds are sent (create and update of the main resource, not status), so the
/// operator being down blocks their writes and nothing else. See docs/user/validation.md.
pub fn webhook(client: WebhookClientConfig, namespaces: &[String]) -> ValidatingWebhook {
    ValidatingWebhook {
        name: WEBHOOK_NAME.into(),
        client_config: client,
        rules: Some(vec![RuleWithOperations {
            api_groups: Some(vec!["smbp.io".into()]),
            api_versions: Some(vec!["v1alpha1".into()]),
            operations: Some(vec!["CREATE".into(), "UPDATE".into()]),
            resources: Some(
                crate::api::KINDS
                    .iter()
                    .map(|(_, plural)| plural.to_string())
                    .collect(),
            ),
            scope: Some("Namespaced".into()),
        }]),
        failure_policy: Some("Fail".into()),
        match_policy: Some("Equivalent".into()),
        side_effects: "None".into(),
        admission_review_versions: vec!["v1".into()],
        timeout_seconds: Some(WEBHOOK_TIMEOUT_SECONDS),
        namespace_selector: (!namespaces.is_empty()).then(|| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "kubernetes.io/metadata.name".into(),
                operator: "In".into(),
                values: Some(namespaces.to_vec()),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The configuration a local run registers: the webhook at `https://127.0.0.1:<port>`.
pub fn configuration(
    port: u16,
    ca_pem: &str,
    namespaces: &[String],
) -> ValidatingWebhookConfiguration {
    let client = WebhookClientConfig {
        url: Some(format!("https://127.0.0.1:{port}{WEBHOOK_PATH}")),
        ca_bundle: Some(ByteString(ca_pem.as_bytes().to_vec())),
        service: None,
    };
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(WEBHOOK_LOCAL_CONFIGURATION.into()),
            labels: Some(
                [(
                    "app.kubernetes.io/managed-by".to_string(),
                    MANAGER.to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        webhooks: Some(vec![webhook(client, namespaces)]),
    }
}

/// Register (or replace) the local configuration.
pub async fn register(client: &Client, vwc: &ValidatingWebhookConfiguration) -> kube::Result<()> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    api.patch(
        WEBHOOK_LOCAL_CONFIGURATION,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(vwc),
    )
    .await
    .map(|_| ())
}

/// Remove the local configuration (gone already is fine).
pub async fn deregister(client: &Client) -> kube::Result<()> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    match api
        .delete(WEBHOOK_LOCAL_CONFIGURATION, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_configuration_sends_only_writes_of_our_kinds_to_loopback() {
        let (_, pem) = certificate().unwrap();
        let vwc = configuration(19443, &pem, &["a".into()]);
        let w = &vwc.webhooks.as_ref().unwrap()[0];
        assert_eq!(
            w.client_config.url.as_deref(),
            Some("https://127.0.0.1:19443/validate-smbp-io-v1alpha1-bigpeer")
        );
        assert!(
            w.client_config
                .ca_bundle
                .as_ref()
                .unwrap()
                .0
                .starts_with(b"-----BEGIN CERTIFICATE")
        );
        let rule = &w.rules.as_ref().unwrap()[0];
        assert_eq!(
            rule.resources.as_deref(),
            Some(&crate::api::KINDS.map(|(_, p)| p.to_string())[..])
        );
        assert_eq!(
            rule.api_groups.as_deref(),
            Some(&["smbp.io".to_string()][..])
        );
        assert_eq!(
            rule.operations.as_deref(),
            Some(&["CREATE".to_string(), "UPDATE".into()][..])
        );
        assert_eq!(w.failure_policy.as_deref(), Some("Fail"));
        assert_eq!(w.side_effects, "None");
        assert!(w.timeout_seconds.unwrap() <= 10);
        assert!(w.namespace_selector.is_some());
        assert!(
            configuration(1, &pem, &[]).webhooks.unwrap()[0]
                .namespace_selector
                .is_none()
        );
    }
}
