//! Store volume growth. A StatefulSet's volume claim template cannot change, so a larger
//! `store.storage.size` is carried out on the claims themselves: each smaller claim's request
//! is raised, and the storage system resizes the volume (where its StorageClass allows it).

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::api::{BigPeer, Component};
use crate::build::labels;
use crate::controller::cache::Reader;
use crate::controller::error::{Context, Result};
use crate::decide::observed::Volumes;

/// Bytes of a Kubernetes quantity such as `10Gi`, `500M`, `1.5Ti` or `1e9` (None when it is
/// not a quantity this parser knows).
pub fn bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "m" => 1e-3,
        _ => return None,
    };
    Some(n * factor)
}

fn storage(
    q: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >,
) -> Option<f64> {
    bytes(&q?.get("storage")?.0)
}

/// Raise every store claim below `store.storage.size` to it. A refusal (for example a
/// StorageClass without `allowVolumeExpansion`) is reported, not retried in a loop.
pub async fn grow(reader: &Reader<'_>, bp: &BigPeer) -> Result<Volumes> {
    let ns = bp.namespace().unwrap_or_default();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(reader.client.clone(), &ns);
    let claims = reader
        .claims(&ns, &labels::component_selector(bp, Component::Store))
        .await?;
    let wanted = &bp.spec.store.storage.size;
    let Some(wanted_bytes) = bytes(wanted) else {
        return Ok(Volumes::default());
    };
    let mut out = Volumes::default();
    for pvc in claims {
        let name = pvc.name_any();
        let spec = pvc.spec.as_ref();
        let requested = storage(
            spec.and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref()),
        );
        let capacity = storage(pvc.status.as_ref().and_then(|s| s.capacity.as_ref()));
        if requested.is_some_and(|r| r < wanted_bytes) {
            let patch = json!({"spec": {"resources": {"requests": {"storage": wanted}}}});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => out.raised.push(name.clone()),
                Err(kube::Error::Api(e)) if e.code == 403 || e.code == 422 => {
                    out.failed = Some(format!(
                        "volume {name} cannot grow to {wanted}: {}",
                        e.message
                    ));
                    continue;
                }
                Err(e) => return Err(e).ctx(|| format!("growing volume {name}")),
            }
        }
        if capacity.is_some_and(|c| c < wanted_bytes) {
            out.resizing.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare_across_suffixes() {
        assert_eq!(bytes("1Gi"), Some(1073741824.0));
        assert_eq!(bytes("500M"), Some(5e8));
        assert_eq!(bytes("1.5Ti"), Some(1.5 * 1024f64.powi(4)));
        assert_eq!(bytes("1e9"), Some(1e9));
        assert_eq!(bytes("100"), Some(100.0));
        assert!(bytes("2Gi") > bytes("1500Mi"));
        assert!(bytes("1G") < bytes("1Gi"));
        assert_eq!(bytes("lots"), None);
        assert_eq!(bytes("10Qi"), None);
    }
}
