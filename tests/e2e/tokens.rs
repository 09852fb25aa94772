//! Caller tokens: shown once, stored hashed, scoped, expiring, revocable.

use std::time::Duration;

use skillhost::auth::Role;
use skillhost::registry::Narrowing;
use skillhost::{Added, HostConfig, SkillHost, codes};

use crate::common::*;

async fn host_with_two_skills(dir: &std::path::Path) -> SkillHost {
    let host = SkillHost::open(&HostConfig::default(), dir).await.unwrap();
    for wasm in ["echo", "word_stats"] {
        let Added::Pending(v) = host.add(&skill_bytes(wasm), "owner").await.unwrap() else {
            panic!()
        };
        host.approve(v.name.as_str(), &v.digest, &Narrowing::default(), "owner")
            .await
            .unwrap();
    }
    host
}

#[tokio::test]
async fn scoped_tokens_reach_only_their_skills() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_two_skills(dir.path()).await;
    let t = host
        .create_token(
            "agent-a",
            Role::Invoker,
            Some(vec!["echo".into()]),
            None,
            "owner",
        )
        .await
        .unwrap();
    let caller = host.authenticate(&t.token).await.unwrap();
    let inv = host.invoke_as(&caller, "echo", r#"{"a":1}"#).await.unwrap();
    assert_eq!(inv.result.unwrap(), r#"{"a":1}"#);
    let err = host
        .invoke_as(&caller, "word-stats", r#"{"text":"x"}"#)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::AUTH_FORBIDDEN);

    let owner = host
        .create_token("root", Role::Owner, None, None, "owner")
        .await
        .unwrap();
    let owner = host.authenticate(&owner.token).await.unwrap();
    assert!(owner.is_owner() && owner.may_use("word-stats"));

    let audit = audit_records(dir.path());
    assert!(
        audit
            .iter()
            .any(|r| r["code"] == codes::AUTH_FORBIDDEN && r["actor"] == "agent-a")
    );
}

#[tokio::test]
async fn bad_expired_and_revoked_tokens_are_refused_and_audited_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_two_skills(dir.path()).await;
    let expired = host
        .create_token("old", Role::Invoker, None, Some(Duration::ZERO), "owner")
        .await
        .unwrap();
    let revoked = host
        .create_token("gone", Role::Invoker, None, None, "owner")
        .await
        .unwrap();
    host.authenticate(&revoked.token).await.unwrap();
    host.revoke_token("gone", "owner").await.unwrap();
    let live = host
        .create_token("live", Role::Invoker, None, None, "owner")
        .await
        .unwrap();
    let mut forged = live.token.to_string();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });

    let presented = [
        expired.token.to_string(),
        revoked.token.to_string(),
        forged.clone(),
        "skh_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        "Bearer nonsense".to_string(),
        String::new(),
    ];
    for p in &presented {
        let err = host.authenticate(p).await.unwrap_err();
        assert_eq!(err.code(), codes::AUTH_FAILURE, "{p}");
        assert_eq!(err.to_string(), "authentication failed");
    }
    // Repeats (three malformed tokens) are counted in a summary.
    host.flush_repeats(true).await.unwrap();
    let failures: Vec<_> = audit_records(dir.path())
        .into_iter()
        .filter(|r| r["code"] == codes::AUTH_FAILURE)
        .collect();
    let counted: u64 = failures
        .iter()
        .map(|r| r["detail"]["repeats"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(counted, presented.len() as u64);
    let log =
        std::fs::read_to_string(&skillhost::audit::segments(&dir.path().join("audit")).unwrap()[0])
            .unwrap();
    for p in presented.iter().filter(|p| p.len() > 20) {
        // `skh_<id>_<secret>`: the secret is everything after the second
        // `_` (base64url, so it may hold `_` itself; taking the part after
        // the last `_` made this test flaky, matching two random bytes).
        let secret = p.splitn(3, '_').nth(2).unwrap();
        assert_eq!(secret.len(), 43, "{p}");
        assert!(
            !log.contains(secret),
            "the audit log holds a presented token"
        );
    }
    assert!(host.authenticate(&live.token).await.is_ok());
}

#[test]
fn the_cli_shows_a_token_once_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = succeeded(skillhost_cli(dir.path()).args([
        "token",
        "create",
        "--name",
        "agent",
        "--role",
        "invoker",
        "--skills",
        "echo",
        "--expires",
        "90d",
    ]));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("skh_"));
    // Everything after the second `_` (the secret may hold `_` itself).
    let secret = token.splitn(3, '_').nth(2).unwrap().to_string();
    assert_eq!(secret.len(), 43, "{token}");
    let list = skillhost_cli(dir.path())
        .args(["token", "list", "--json"])
        .output()
        .unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("\"agent\"") && list.contains("\"echo\"") && !list.contains(&secret),
        "{list}"
    );
    let mut db = std::fs::read(dir.path().join("registry.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("registry.db-wal")) {
        db.extend(wal);
    }
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the database holds the token"
    );
}
