//! Secure metrics against the real API server: TokenReview and SubjectAccessReview decide who
//! reads `/metrics` over HTTPS; the health probes stay plain HTTP on their own port.

use std::path::Path;
use std::time::Duration;

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn secure_metrics_answer_only_authorized_readers() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-metrics").await;
    let r = readers(&client, &ns).await;
    let op = Operator::start_with(
        &kubeconfig,
        "metrics-secure",
        free_port(),
        false,
        &[("METRICS_SECURE", "true")],
    );
    wait_for(
        "/readyz answers 200 on the plain health port",
        WAIT,
        || async { op.http_get("/readyz").await.contains(" 200 ").then_some(()) },
    )
    .await;
    assert!(op.http_get("/healthz").await.contains(" 200 "));
    assert!(
        http_get(&op.health, "/metrics").await.contains(" 404 "),
        "metrics are not served on the health port"
    );

    // The operator's certificate is self-signed: accept it as Prometheus'
    // insecureSkipVerify does.
    let tls = tls_any_certificate();
    let anonymous = op.https_get("/metrics", None, tls.clone()).await.unwrap();
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert!(!anonymous.text.contains("smbp_operator_"));
    let forged = op
        .https_get("/metrics", Some("not-a-token"), tls.clone())
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.text);
    let stranger = op
        .https_get("/metrics", Some(&r.stranger), tls.clone())
        .await
        .unwrap();
    assert_eq!(stranger.status, 403, "{}", stranger.text);
    assert!(!stranger.text.contains("smbp_operator_"));
    for _ in 0..3 {
        let scraper = op
            .https_get("/metrics", Some(&r.scraper), tls.clone())
            .await
            .unwrap();
        assert_eq!(scraper.status, 200, "{}", scraper.text);
        assert!(
            scraper.text.contains("smbp_operator_leader 1")
                && scraper
                    .text
                    .contains("# TYPE smbp_operator_bigpeers_paused gauge"),
            "{}",
            scraper.text
        );
    }
    // Plain HTTP on the secure port gets nothing.
    assert!(!op.http_get("/metrics").await.contains("smbp_operator_"));

    let logs = op.logs();
    assert!(
        logs.contains("serving metrics over HTTPS"),
        "no secure metrics in the logs: {logs}"
    );
    for token in [&r.scraper, &r.stranger] {
        assert!(!logs.contains(token.as_str()), "a token reached the logs");
    }
    cleanup_readers(&client, &ns, &r).await;
}

/// A CA and leaf certificates for localhost it signs.
struct Ca {
    pem: String,
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer =
            rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        Ca {
            pem: issuer.as_ref().pem(),
            issuer,
        }
    }

    /// Write a new leaf to `dir` as tls.crt/tls.key (key first, as a rotation might); returns
    /// its DER.
    fn issue_into(&self, dir: &Path) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.join("tls.crt"), leaf.pem()).unwrap();
        leaf.der().to_vec()
    }
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn metrics_certificate_from_a_directory_is_verified_and_renewed() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-metrics-cert").await;
    let r = readers(&client, &ns).await;
    let dir = scratch_dir(&unique("metrics-certs"));
    let ca = Ca::new();
    let first = ca.issue_into(&dir);
    let dir_str = dir.display().to_string();
    let op = Operator::start_with(
        &kubeconfig,
        "metrics-cert-dir",
        free_port(),
        false,
        &[("METRICS_SECURE", "true"), ("METRICS_CERT_DIR", &dir_str)],
    );
    let tls = tls_trusting(&ca.pem);
    let served = wait_for("the HTTPS metrics server answers", WAIT, || async {
        op.https_get("/metrics", Some(&r.scraper), tls.clone())
            .await
            .ok()
    })
    .await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert_eq!(served.cert, first, "the certificate from the directory");
    assert!(
        op.https_get("/metrics", None, tls_trusting(&Ca::new().pem))
            .await
            .is_err(),
        "a client trusting another CA refuses the server"
    );

    let renewed = ca.issue_into(&dir);
    let after = wait_for("the renewed certificate is served", WAIT, || async {
        let reply = op
            .https_get("/metrics", Some(&r.scraper), tls.clone())
            .await
            .ok()?;
        (reply.cert == renewed).then_some(reply)
    })
    .await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert!(
        op.logs()
            .contains("serving the renewed metrics certificate")
    );
    cleanup_readers(&client, &ns, &r).await;
}
