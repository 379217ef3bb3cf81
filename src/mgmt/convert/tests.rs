use super::*;
use proptest::prelude::*;
use serde_json::json;

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn webhook(url: &str) -> ProviderConfig {
    ProviderConfig::TokenWebhook {
        webhook_url: url.into(),
    }
}

fn anonymous(token: &str) -> ProviderConfig {
    ProviderConfig::Anonymous {
        permission: Permission {
            read: model::PermissionRules {
                everything: true,
                queries_by_collection: Default::default(),
            },
            write: model::PermissionRules {
                everything: false,
                queries_by_collection: [("cars".to_string(), vec!["true".to_string()])].into(),
            },
            remote_query: false,
            ql_version: 1,
        },
        session_length: 604800,
        shared_token: token.into(),
    }
}

fn body(name: &str, providers: &[(&str, ProviderConfig)]) -> App {
    App {
        name: name.into(),
        app_id: None,
        auth_providers: providers
            .iter()
            .map(|(n, p)| (n.to_string(), p.clone()))
            .collect(),
    }
}

const ID: &str = "cb692760-9786-44c3-b040-019bec5a1b77";

#[test]
fn names_and_ids() {
    assert!(is_dns_label("my-app", 63));
    assert!(is_dns_label("a", 63));
    for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
        assert!(!is_dns_label(bad, 63), "{bad}");
    }
    assert!(!is_dns_label(&"a".repeat(54), MAX_KEY_NAME));
    assert!(is_uuid(ID) && is_uuid(&ID.to_uppercase()));
    assert!(!is_uuid("cb692760978644c3b040019bec5a1b77"));
    assert!(!is_uuid("cb692760-9786-44c3-b040-019bec5a1b7g"));
    assert!(is_provider_name("__playgroundProvider") && is_provider_name("corp.sso"));
    assert!(
        !is_provider_name("") && !is_provider_name("a b") && !is_provider_name(&"a".repeat(64))
    );
}

#[test]
fn shared_token_secrets_are_named_after_app_and_provider() {
    assert_eq!(
        shared_token_secret_name("my-app", "corp"),
        "my-app-provider-corp"
    );
    let play = shared_token_secret_name("my-app", "__playgroundProvider");
    assert!(
        play.starts_with("my-app-provider-playgroundprovider-"),
        "{play}"
    );
    assert_ne!(
        shared_token_secret_name("a", "Corp"),
        shared_token_secret_name("a", "corp_")
    );
    assert_eq!(
        shared_token_secret_name("a", "__"),
        format!("a-provider-{}", &hex::encode(Sha256::digest(b"__"))[..8])
    );
}

#[test]
fn a_new_app_gets_its_big_peer_its_id_and_its_providers() {
    let b = body(
        "my-app",
        &[
            ("corp", webhook("https://auth.example.com/ditto")),
            ("__playgroundProvider", anonymous("s3cr3t")),
        ],
    );
    let (app, tokens) = new_app("ns", "prod", &b, ID).unwrap();
    assert_eq!(app.metadata.name.as_deref(), Some("my-app"));
    assert_eq!(app.metadata.namespace.as_deref(), Some("ns"));
    assert_eq!(
        app.metadata.labels.as_ref().unwrap()[BIG_PEER_LABEL],
        "prod"
    );
    assert_eq!(app.spec.big_peer_ref.name, "prod");
    assert_eq!(app.spec.app_id.as_deref(), Some(ID));
    let anon = app.spec.auth_providers["__playgroundProvider"]
        .anonymous
        .as_ref()
        .unwrap();
    let secret = shared_token_secret_name("my-app", "__playgroundProvider");
    assert_eq!(anon.shared_token_secret_ref.name, secret);
    assert_eq!(anon.shared_token_secret_ref.key, SHARED_TOKEN_KEY);
    assert_eq!(anon.session_length, 604800);
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        (tokens[0].name.as_str(), tokens[0].token.as_str()),
        (secret.as_str(), "s3cr3t")
    );
    assert!(
        !format!("{tokens:?}").contains("s3cr3t"),
        "Debug never shows a token"
    );
    // The secret never reaches the resource.
    assert!(!serde_json::to_string(&app).unwrap().contains("s3cr3t"));
    // Back to the API: the token only from what the caller may see.
    let api = app_to_api(&app, &BTreeMap::new());
    assert_eq!(api.app_id.as_deref(), Some(ID));
    assert_eq!(api.auth_providers["corp"], b.auth_providers["corp"]);
    assert_eq!(api.auth_providers["__playgroundProvider"], anonymous(""));
    let shown = app_to_api(
        &app,
        &[("__playgroundProvider".to_string(), "s3cr3t".to_string())].into(),
    );
    assert_eq!(
        shown,
        App {
            app_id: Some(ID.into()),
            ..b
        }
    );
}

#[test]
fn a_given_app_id_is_kept_and_a_bad_one_refused() {
    let mut b = body("a", &[]);
    b.app_id = Some(ID.to_uppercase());
    let (app, _) = new_app("ns", "prod", &b, "unused").unwrap();
    assert_eq!(app.spec.app_id, Some(ID.to_uppercase()));
    b.app_id = Some("nope".into());
    assert_eq!(new_app("ns", "prod", &b, "x").unwrap_err().status, 400);
    let bad_name = body("My_App", &[]);
    assert!(
        new_app("ns", "prod", &bad_name, ID)
            .unwrap_err()
            .message
            .contains("DNS label")
    );
}

#[test]
fn providers_are_checked_as_the_crd_checks_them() {
    let refused = |p: ProviderConfig| {
        let e = provider_to_cr("a", "p", &p, None).unwrap_err();
        assert_eq!(e.status, 400);
        e.message
    };
    assert!(refused(webhook("http://auth.example.com")).contains("https://"));
    assert!(refused(webhook("https://user:pw@auth.example.com")).contains("credentials"));
    assert!(refused(webhook("https:///x")).contains("host"));
    let mut a = anonymous("t");
    if let ProviderConfig::Anonymous { session_length, .. } = &mut a {
        *session_length = 0;
    }
    assert!(refused(a).contains("sessionLength"));
    let mut a = anonymous("t");
    if let ProviderConfig::Anonymous { permission, .. } = &mut a {
        permission.remote_query = true;
        permission.read.everything = false;
    }
    assert!(refused(a).contains("remoteQuery"));
    let mut a = anonymous("t");
    if let ProviderConfig::Anonymous { permission, .. } = &mut a {
        permission.ql_version = 2;
    }
    assert!(refused(a).contains("qlVersion"));
    assert!(refused(anonymous("")).contains("sharedToken"));
    let e = provider_to_cr("a", "bad name", &webhook("https://x.example"), None).unwrap_err();
    assert!(e.message.contains("provider name"));
}

#[test]
fn an_empty_token_keeps_the_current_one() {
    let (current, _) = provider_to_cr("a", "p", &anonymous("old"), None).unwrap();
    let (kept, write) = provider_to_cr("a", "p", &anonymous(""), Some(&current)).unwrap();
    assert_eq!(kept, current);
    assert_eq!(write, None);
}

fn current() -> BTreeMap<String, AppAuthProvider> {
    let mut m = BTreeMap::new();
    for (n, p) in [
        ("anon", anonymous("t1")),
        ("hook", webhook("https://h.example")),
        ("other", anonymous("t2")),
    ] {
        m.insert(n.to_string(), provider_to_cr("a", n, &p, None).unwrap().0);
    }
    // "mine" uses a Secret of the user's own: never deleted by this API.
    let mut mine = provider_to_cr("a", "mine", &anonymous("t"), None)
        .unwrap()
        .0;
    mine.anonymous.as_mut().unwrap().shared_token_secret_ref = SecretKeyRef {
        name: "users-own".into(),
        key: "token".into(),
    };
    m.insert("mine".into(), mine);
    m
}

#[test]
fn put_replaces_and_deletes_the_secrets_it_no_longer_uses() {
    let change = Change::Replace([("hook".to_string(), webhook("https://new.example"))].into());
    let plan = plan_providers("a", &current(), &change).unwrap();
    assert_eq!(plan.providers.keys().collect::<Vec<_>>(), ["hook"]);
    assert_eq!(
        plan.providers["hook"].token_webhook.as_ref().unwrap().url,
        "https://new.example"
    );
    assert!(plan.write.is_empty());
    assert_eq!(plan.delete, ["a-provider-anon", "a-provider-other"]);
}

#[test]
fn patch_merges_by_name_and_null_removes() {
    let change = Change::Merge(
        [
            ("anon".to_string(), None),
            ("new".to_string(), Some(anonymous("t3"))),
            ("other".to_string(), Some(webhook("https://o.example"))),
        ]
        .into(),
    );
    let plan = plan_providers("a", &current(), &change).unwrap();
    assert_eq!(
        plan.providers.keys().collect::<Vec<_>>(),
        ["hook", "mine", "new", "other"]
    );
    assert_eq!(plan.write.len(), 1);
    assert_eq!(plan.write[0].name, "a-provider-new");
    assert_eq!(plan.delete, ["a-provider-anon", "a-provider-other"]);
    let too_many = Change::Merge(
        (0..20)
            .map(|i| (format!("p{i}"), Some(webhook("https://x.example"))))
            .collect(),
    );
    assert_eq!(
        plan_providers("a", &current(), &too_many)
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn a_new_key_is_checked_and_labelled() {
    let b: ApiKey = serde_json::from_value(json!({
        "name": "my-key", "expiresAt": "2100-04-13T12:00:00Z",
        "permissions": {"remoteQuery": true, "read": {"everything": true, "queriesByCollection": {}},
                        "write": {"everything": true, "queriesByCollection": {}}},
        "description": null
    }))
    .unwrap();
    let k = new_key("ns", "prod", "my-app", &b, now()).unwrap();
    assert_eq!(k.spec.app_ref.name, "my-app");
    let labels = k.metadata.labels.clone().unwrap();
    assert_eq!(
        (labels[APP_LABEL].as_str(), labels[BIG_PEER_LABEL].as_str()),
        ("my-app", "prod")
    );
    assert_eq!(k.spec.expires_at.0.to_string(), "2100-04-13T12:00:00Z");
    assert_eq!(key_to_api(&k), b, "round trip");

    let with = |f: &dyn Fn(&mut ApiKey)| {
        let mut x = b.clone();
        f(&mut x);
        new_key("ns", "prod", "my-app", &x, now())
    };
    let past = with(&|x| x.expires_at = "2020-01-01T00:00:00Z".into()).unwrap_err();
    assert!(past.status == 400 && past.message.starts_with("InvalidApiKeyExpiryDate"));
    let garbage = with(&|x| x.expires_at = "tomorrow".into()).unwrap_err();
    assert!(garbage.message.starts_with("InvalidApiKeyExpiryDate"));
    assert!(
        with(&|x| x.name = "a".repeat(54))
            .unwrap_err()
            .message
            .contains("53")
    );
    assert!(with(&|x| x.description = Some("d".repeat(1025))).is_err());
    let rotated = with(&|x| {
        x.rotation = Some(model::Rotation {
            every: "720h".into(),
            grace_period: None,
        })
    })
    .unwrap();
    assert_eq!(rotated.spec.rotation.as_ref().unwrap().grace_period, "24h");
    assert!(
        with(&|x| x.rotation = Some(model::Rotation {
            every: "30m".into(),
            grace_period: None
        }))
        .is_err()
    );
    assert!(
        with(&|x| x.rotation = Some(model::Rotation {
            every: "2h".into(),
            grace_period: Some("2h".into())
        }))
        .is_err()
    );
}

fn rules() -> impl Strategy<Value = model::PermissionRules> {
    (
        any::<bool>(),
        proptest::collection::btree_map(
            "[a-z_][a-z0-9_.-]{0,10}",
            proptest::collection::vec("[ -~]{1,20}", 0..3),
            0..4,
        ),
    )
        .prop_map(
            |(everything, queries_by_collection)| model::PermissionRules {
                everything,
                queries_by_collection,
            },
        )
}

fn permission() -> impl Strategy<Value = Permission> {
    (rules(), rules(), any::<bool>(), 0i64..=1).prop_map(|(mut read, write, rq, ql)| {
        if rq {
            read.everything = true;
        }
        Permission {
            read,
            write,
            remote_query: rq,
            ql_version: ql,
        }
    })
}

fn provider() -> impl Strategy<Value = ProviderConfig> {
    prop_oneof![
        "[a-z]{1,10}(\\.[a-z]{1,5})?(/[a-z]{0,8})?".prop_map(|h| webhook(&format!("https://{h}"))),
        (permission(), 1i64..=u32::MAX as i64, "tok-[a-z0-9]{12,20}").prop_map(
            |(permission, s, t)| {
                ProviderConfig::Anonymous {
                    permission,
                    session_length: s,
                    shared_token: t,
                }
            }
        ),
    ]
}

proptest! {
    /// Any valid app goes to a resource and back unchanged (tokens from the Secrets written),
    /// and no shared token is ever in the resource.
    #[test]
    fn apps_round_trip(
        name in "[a-z][a-z0-9-]{0,20}[a-z0-9]",
        providers in proptest::collection::btree_map("[A-Za-z0-9_.-]{1,20}", provider(), 0..6),
    ) {
        let b = App { name: name.clone(), app_id: Some(ID.into()), auth_providers: providers };
        let (app, tokens) = new_app("ns", "prod", &b, "unused").unwrap();
        let text = serde_json::to_string(&app).unwrap();
        for t in &tokens {
            prop_assert!(!text.contains(&t.token), "a shared token reached the resource");
        }
        let shown: BTreeMap<String, String> =
            tokens.iter().map(|t| (t.provider.clone(), t.token.clone())).collect();
        prop_assert_eq!(app_to_api(&app, &shown), b);
        // Every Secret name is a valid, distinct Secret name.
        let names: std::collections::BTreeSet<&String> = tokens.iter().map(|t| &t.name).collect();
        prop_assert_eq!(names.len(), tokens.len());
        for t in &tokens {
            prop_assert!(t.name.len() <= 253);
            let prefix = format!("{name}-provider-");
            prop_assert!(t.name.starts_with(&prefix));
        }
    }

    /// Any valid key goes to a resource and back unchanged.
    #[test]
    fn keys_round_trip(
        name in "[a-z][a-z0-9-]{0,40}[a-z0-9]",
        secs in 1_800_000_001i64..4_000_000_000,
        permissions in permission(),
        description in proptest::option::of("[ -~]{0,40}"),
    ) {
        let b = ApiKey {
            name,
            expires_at: Timestamp::from_second(secs).unwrap().to_string(),
            permissions,
            description,
            rotation: None,
        };
        let k = new_key("ns", "prod", "app", &b, now()).unwrap();
        prop_assert_eq!(key_to_api(&k), b);
    }

    /// Secret names made for provider names stay valid Secret names and differ for
    /// different providers.
    #[test]
    fn secret_names_are_valid_and_distinct(a in "[A-Za-z0-9_.-]{1,63}", b in "[A-Za-z0-9_.-]{1,63}") {
        let (na, nb) = (shared_token_secret_name("app", &a), shared_token_secret_name("app", &b));
        for n in [&na, &nb] {
            prop_assert!(n.len() <= 253);
            prop_assert!(n.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'));
            prop_assert!(!n.ends_with('-'));
        }
        if a != b {
            prop_assert_ne!(na, nb);
        }
    }
}
