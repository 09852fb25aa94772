//! Secrets scoped to requests: a secret bound to
//! `GET https://json-api.test:47443/v1/issues/` is substituted on that
//! request only. The probe (`secret-probe`) is granted the whole origin, so
//! every refusal here is the secret's own rule, and nothing is sent.

use serde_json::{Value, json};
use skillhost::registry::Narrowing;
use skillhost::secrets::MasterKey;
use skillhost::{Added, HostConfig, SkillHost, codes};
use zeroize::Zeroizing;

use crate::common::*;
use crate::egress::{egress_config, json_api, net};
use crate::servers::{self, TEST_TOKEN};

const BOUND: &str = "https://json-api.test:47443";
const SCOPE: &str = "GET https://json-api.test:47443/v1/issues/";

async fn host_with_scoped_secret(dir: &std::path::Path, rules: &[&str]) -> SkillHost {
    MasterKey::generate()
        .write_new(&dir.join("master.key"))
        .unwrap();
    let config = HostConfig {
        egress: egress_config(&net().ca_file, true),
        ..HostConfig::default()
    };
    let host = SkillHost::open(&config, dir).await.unwrap();
    let Added::Pending(v) = host
        .add(&skill_bytes("secret_probe"), "owner")
        .await
        .unwrap()
    else {
        panic!()
    };
    host.approve("secret-probe", &v.digest, &Narrowing::default(), "owner")
        .await
        .unwrap();
    host.set_secret(
        "secret-probe",
        "API_TOKEN",
        Zeroizing::new(TEST_TOKEN.into()),
        &rules.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "owner",
    )
    .await
    .unwrap();
    host
}

/// One `http` step carrying the placeholder; the report's entry for it.
async fn send(host: &SkillHost, method: &str, url: &str) -> Value {
    let input = json!({ "steps": [{ "http": {
        "method": method,
        "url": url,
        "headers": [["authorization", "Bearer {token}"]],
    }}]});
    let inv = host
        .invoke("secret-probe", &input.to_string(), "agent")
        .await
        .unwrap();
    output(&inv)["responses"][0].clone()
}

#[tokio::test]
async fn a_scoped_secret_reaches_its_one_call_and_nothing_else() {
    let _api = json_api();
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_scoped_secret(dir.path(), &[SCOPE]).await;
    let pid = std::process::id();

    let key = format!("scoped-ok-{pid}");
    let got = send(&host, "GET", &format!("{BOUND}/v1/issues/store?key={key}")).await;
    assert_eq!(got["ok"], true, "{got}");
    let stored = servers::stored(&key).expect("the in-scope request arrived");
    assert_eq!(
        stored.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );

    for (label, method, path) in [
        ("post", "POST", "/v1/issues/store"),
        ("put", "PUT", "/v1/issues/store"),
        ("sibling", "GET", "/v1/other/store"),
        ("boundary", "GET", "/v1/issuesX/store"),
        ("parent", "GET", "/v1/store"),
        ("traversal", "GET", "/v1/issues/../other/store"),
        ("encoded", "GET", "/v1/issues/..%2Fother/store"),
        ("doubled", "GET", "/v1/issues//store"),
        ("case", "GET", "/V1/issues/store"),
    ] {
        let key = format!("scoped-{label}-{pid}");
        let got = send(&host, method, &format!("{BOUND}{path}?key={key}")).await;
        assert_eq!(got["ok"], false, "{label}: {got}");
        assert_eq!(
            got["code"],
            codes::SECRET_DESTINATION_NOT_ALLOWED,
            "{label}: {got}"
        );
        assert!(
            servers::stored(&key).is_none(),
            "{label}: the server got it"
        );
        assert_eq!(
            servers::requests_containing(&format!("key={key}")),
            0,
            "{label}: something was sent"
        );
    }
    // `secret list` shows the rule as it is matched.
    let listed = host.list_secrets(Some("secret-probe")).unwrap();
    assert_eq!(
        listed[0].hosts,
        ["GET https://json-api.test:47443/v1/issues/"]
    );
}

#[tokio::test]
async fn a_scope_widened_in_the_database_no_longer_decrypts() {
    let _api = json_api();
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_scoped_secret(dir.path(), &[SCOPE]).await;
    drop(host);
    // Someone who can edit registry.db, without the master key, widens the
    // rule to the whole origin.
    let conn = rusqlite::Connection::open(dir.path().join("registry.db")).unwrap();
    let hosts: String = conn
        .query_row(
            "SELECT hosts FROM secrets WHERE name = 'API_TOKEN'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hosts.contains("/v1/issues/"), "{hosts}");
    let wider = hosts.replace(
        "GET https://json-api.test:47443/v1/issues/",
        "https://json-api.test:47443",
    );
    assert_ne!(wider, hosts);
    conn.execute(
        "UPDATE secrets SET hosts = ?1 WHERE name = 'API_TOKEN'",
        [&wider],
    )
    .unwrap();
    drop(conn);

    let config = HostConfig {
        egress: egress_config(&net().ca_file, true),
        ..HostConfig::default()
    };
    let host = SkillHost::open(&config, dir.path()).await.unwrap();
    let key = format!("scoped-widened-{}", std::process::id());
    let got = send(&host, "POST", &format!("{BOUND}/v1/other/store?key={key}")).await;
    assert_eq!(got["code"], codes::SECRET_DECRYPT_FAILED, "{got}");
    assert_eq!(servers::requests_containing(&format!("key={key}")), 0);
}

#[tokio::test]
async fn a_secret_rule_must_be_https_and_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_scoped_secret(dir.path(), &[BOUND]).await;
    for bad in [
        "GET http://json-api.test:47443/v1/",
        "GET https://json-api.test:47443/v1/../admin",
        "FETCH https://json-api.test:47443/v1/",
        "GET  https://json-api.test:47443/v1/",
        "GET https://json-api.test:47443/v1/*",
    ] {
        let err = host
            .set_secret(
                "secret-probe",
                "API_TOKEN",
                Zeroizing::new(TEST_TOKEN.into()),
                &[bad.to_string()],
                "owner",
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), codes::SECRET_INVALID, "{bad}");
    }
}
