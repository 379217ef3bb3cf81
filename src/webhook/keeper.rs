//! Keeps the webhook certificate the operator makes itself (`--webhook-cert-secret`): every
//! replica looks at the Secret and at the ValidatingWebhookConfiguration every
//! [`LOOK_INTERVAL`], has [`super::certificate`] decide, writes what changed (optimistic
//! concurrency: the first replica to create or update wins, the others read the winner's),
//! publishes the serving certificate to [`super::serve`] in memory, and sets the webhook's
//! `caBundle` when it differs (also when someone cleared it). Never logs key material.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::certificate::{self, Decision, Material};
use crate::facts::{MANAGER, WEBHOOK_NAME};
use crate::telemetry::tls::Pair;

/// How often the Secret and the webhook configuration are looked at.
pub const LOOK_INTERVAL: Duration = Duration::from_secs(10);

/// What to keep.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The operator's namespace (the Secret's and the Service's).
    pub namespace: String,
    /// The Secret holding the CA and the serving certificate.
    pub secret: String,
    /// The webhook Service (the certificate's names).
    pub service: String,
    /// The ValidatingWebhookConfiguration whose webhook gets the `caBundle`; none: not injected.
    pub configuration: Option<String>,
}

impl Settings {
    /// The names the certificate is for.
    pub fn names(&self) -> Vec<String> {
        certificate::dns_names(&self.service, &self.namespace)
    }
}

/// The Secret's contents, and its resourceVersion (`None`: there is no Secret).
async fn read_secret(
    api: &Api<Secret>,
    name: &str,
) -> kube::Result<(Option<Material>, Option<String>)> {
    match api.get_opt(name).await? {
        None => Ok((None, None)),
        Some(s) => {
            let data: BTreeMap<String, Vec<u8>> = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            Ok((Material::from_data(&data), s.metadata.resource_version))
        }
    }
}

fn secret(settings: &Settings, m: &Material, resource_version: Option<String>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(settings.secret.clone()),
            namespace: Some(settings.namespace.clone()),
            resource_version,
            labels: Some(BTreeMap::from([
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    MANAGER.to_string(),
                ),
                (
                    "app.kubernetes.io/component".to_string(),
                    "webhook-certificate".to_string(),
                ),
            ])),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(
            m.to_data()
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect(),
        ),
        ..Default::default()
    }
}

/// The webhook's `caBundle` (PEM text; inner `None` when unset); `None`: no such webhook.
fn published(vwc: &ValidatingWebhookConfiguration) -> Option<Option<String>> {
    vwc.webhooks
        .iter()
        .flatten()
        .find(|w| w.name == WEBHOOK_NAME)
        .map(|w| {
            w.client_config
                .ca_bundle
                .as_ref()
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
                .filter(|s| !s.is_empty())
        })
}

/// Why a look failed.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    /// The API server refused or could not be reached.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: &'static str,
        /// Why.
        source: kube::Error,
    },
    /// A certificate could not be made.
    #[error("making the webhook certificate: {0}")]
    Make(#[from] rcgen::Error),
    /// Another replica wrote the Secret at the same moment; its contents are used next look.
    #[error("another replica changed the Secret at the same time")]
    Raced,
}

fn api(what: &'static str) -> impl FnOnce(kube::Error) -> KeepError {
    move |source| KeepError::Api { what, source }
}

/// One look: settle the Secret, publish its serving certificate, set the `caBundle`.
/// Returns the decisions taken (empty: nothing changed).
pub async fn look(
    client: &Client,
    settings: &Settings,
    serving: &watch::Sender<Option<Pair>>,
) -> Result<Vec<Decision>, KeepError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &settings.namespace);
    let vwcs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let vwc = match &settings.configuration {
        Some(name) => vwcs
            .get_opt(name)
            .await
            .map_err(api("reading the ValidatingWebhookConfiguration"))?,
        None => None,
    };
    let webhook = vwc.as_ref().and_then(published);
    let bundle = webhook.clone().flatten();
    let (current, version) = read_secret(&secrets, &settings.secret)
        .await
        .map_err(api("reading the webhook certificate Secret"))?;
    let (settled, taken) = certificate::settle(
        current.as_ref(),
        &settings.names(),
        SystemTime::now(),
        bundle.as_deref(),
    )?;
    let m = settled.expect("settling always leaves a certificate");
    if !taken.is_empty() {
        let s = secret(settings, &m, version.clone());
        let written = if version.is_none() {
            secrets.create(&PostParams::default(), &s).await
        } else {
            secrets
                .replace(&settings.secret, &PostParams::default(), &s)
                .await
        };
        match written {
            Ok(_) => info!(
                secret = %format!("{}/{}", settings.namespace, settings.secret),
                decisions = ?taken,
                "wrote the webhook certificate Secret"
            ),
            // Another replica created or changed it first: use its contents next look.
            Err(kube::Error::Api(s)) if s.code == 409 => return Err(KeepError::Raced),
            Err(e) => return Err(api("writing the webhook certificate Secret")(e)),
        }
    }
    serving.send_if_modified(|cur| {
        let new = Some((
            m.tls_crt.clone().into_bytes(),
            m.tls_key.clone().into_bytes(),
        ));
        (*cur != new).then(|| *cur = new).is_some()
    });
    match (&settings.configuration, webhook) {
        (Some(name), Some(current)) if current.as_deref() != Some(m.bundle.as_str()) => {
            // The minimal change: this webhook's caBundle (webhooks merge by name).
            let patch = serde_json::json!({"webhooks": [{
                "name": WEBHOOK_NAME,
                "clientConfig": {"caBundle": ByteString(m.bundle.clone().into_bytes())},
            }]});
            vwcs.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
                .map_err(api("setting the webhook's caBundle"))?;
            info!(configuration = %name, webhook = WEBHOOK_NAME, "set the webhook's caBundle");
        }
        (Some(name), None) => {
            debug!(configuration = %name, webhook = WEBHOOK_NAME, "no such webhook configuration (yet): caBundle not set");
        }
        _ => {}
    }
    Ok(taken)
}

/// Look every [`LOOK_INTERVAL`] (at once after a race), forever.
pub async fn run(client: Client, settings: Settings, serving: watch::Sender<Option<Pair>>) {
    let mut failing = false;
    loop {
        let wait = match look(&client, &settings, &serving).await {
            Ok(_) => {
                if failing {
                    info!("the webhook certificate is kept again");
                }
                failing = false;
                LOOK_INTERVAL
            }
            Err(KeepError::Raced) => {
                debug!("another replica wrote the webhook certificate Secret first");
                Duration::from_millis(200)
            }
            Err(e) => {
                failing = true;
                warn!(error = %e, secret = %settings.secret, "could not keep the webhook certificate; trying again");
                LOOK_INTERVAL
            }
        };
        tokio::time::sleep(wait).await;
    }
}
