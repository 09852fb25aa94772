//! Approval through the library API: only approved, unchanged bytes run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use skillhost::registry::{LimitSet, Narrowing, VersionState};
use skillhost::{Added, HostConfig, ModuleDigest, SkillHost, codes};

use crate::common::*;

const OWNER: &str = "test-owner";

async fn host(dir: &Path) -> SkillHost {
    SkillHost::open(&HostConfig::default(), dir).await.unwrap()
}

async fn add(host: &SkillHost, bytes: &[u8]) -> ModuleDigest {
    match host.add(bytes, OWNER).await.unwrap() {
        Added::Pending(v) => v.digest,
        other => panic!("expected a new version, got {other:?}"),
    }
}

async fn invoke_code(host: &SkillHost, name: &str) -> &'static str {
    match host.invoke(name, r#"{"x":1}"#, "caller").await {
        Ok(inv) => inv.result.map(|_| codes::OK).unwrap_or_else(|e| e.code()),
        Err(e) => e.code(),
    }
}

fn module_file(dir: &Path, digest: &ModuleDigest) -> PathBuf {
    dir.join("modules").join(format!("{}.wasm", digest.hex()))
}

/// Overwrite a read-only module file as an attacker with file access would.
fn overwrite(path: &Path, bytes: &[u8]) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn an_unapproved_skill_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    assert_eq!(invoke_code(&host, "echo").await, codes::SKILL_PENDING);
    assert_eq!(invoke_code(&host, "nope").await, codes::SKILL_NOT_FOUND);

    host.reject("echo", &digest, OWNER).await.unwrap();
    assert_eq!(invoke_code(&host, "echo").await, codes::SKILL_REJECTED);

    let audit = audit_records(dir.path());
    let refusals: Vec<&str> = audit
        .iter()
        .filter(|r| r["type"] == "invoke")
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        refusals,
        [
            codes::SKILL_PENDING,
            codes::SKILL_NOT_FOUND,
            codes::SKILL_REJECTED
        ]
    );
}

#[tokio::test]
async fn approval_binds_to_the_exact_digest() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    let before = host.show("echo").unwrap();

    let other = ModuleDigest::of(b"something else");
    let err = host
        .approve("echo", &other, &Narrowing::default(), OWNER)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REGISTRY_WRONG_DIGEST);
    assert!(
        err.to_string().contains(&digest.to_string()),
        "the error lists the real versions: {err}"
    );
    assert_eq!(
        host.show("echo").unwrap(),
        before,
        "a refused approval changes nothing"
    );

    let v = host
        .approve("echo", &digest, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    assert_eq!(v.state, VersionState::Approved);
    assert_eq!(v.decided_by.as_deref(), Some(OWNER));
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);
}

#[tokio::test]
async fn decisions_on_the_wrong_state_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    host.reject("echo", &digest, OWNER).await.unwrap();
    let before = host.show("echo").unwrap();

    let err = host
        .approve("echo", &digest, &Narrowing::default(), OWNER)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REGISTRY_INVALID_STATE);
    assert!(err.to_string().contains("rejected"), "{err}");
    assert_eq!(
        host.revoke("echo", None, OWNER).await.unwrap_err().code(),
        codes::REGISTRY_INVALID_STATE
    );
    assert_eq!(
        host.reject("echo", &digest, OWNER)
            .await
            .unwrap_err()
            .code(),
        codes::REGISTRY_INVALID_STATE
    );
    assert_eq!(host.show("echo").unwrap(), before);

    // Re-adding the identical bytes is a no-op: a rejected version stays rejected.
    match host.add(&skill_bytes("echo"), OWNER).await.unwrap() {
        Added::Unchanged(v) => assert_eq!(v.state, VersionState::Rejected),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    for bad in [
        "../echo",
        "echo/..",
        "ec\0ho",
        "echo\n",
        "ECHO",
        "e cho",
        "modules/x",
        "",
    ] {
        let err = host
            .approve(bad, &digest, &Narrowing::default(), OWNER)
            .await
            .unwrap_err();
        assert_eq!(err.code(), codes::REGISTRY_INVALID_NAME, "{bad:?}");
        assert_eq!(
            invoke_code(&host, bad).await,
            codes::REGISTRY_INVALID_NAME,
            "{bad:?}"
        );
    }
    assert_eq!(
        host.show("echo").unwrap().versions[0].state,
        VersionState::Pending
    );
}

#[tokio::test]
async fn a_new_version_waits_for_approval_while_the_old_one_serves() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let v1 = add(&host, &skill_bytes("echo")).await;
    host.approve("echo", &v1, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    let v2 = add(&host, &variant(&skill_bytes("echo"), "v2")).await;
    assert_ne!(v1, v2);

    let last_invoked_digest = || {
        audit_records(dir.path())
            .into_iter()
            .rev()
            .find(|r| r["type"] == "invoke")
            .map(|r| r["digest"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);
    assert_eq!(
        last_invoked_digest(),
        v1.to_string(),
        "the approved version serves"
    );

    host.approve("echo", &v2, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);
    assert_eq!(last_invoked_digest(), v2.to_string());
    let states: Vec<_> = host
        .show("echo")
        .unwrap()
        .versions
        .iter()
        .map(|v| v.state)
        .collect();
    assert_eq!(states, [VersionState::Approved, VersionState::Superseded]);
}

/// What runs is what was verified: a module is re-hashed when it is loaded
/// into memory, and the verified in-memory component is what runs. A file
/// changed on disk is refused the next time it is loaded: by a new host,
/// and by a running host once the component left its bounded cache.
#[tokio::test]
async fn a_tampered_module_on_disk_is_refused_when_it_is_next_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    host.approve("echo", &digest, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    let echoed = |inv: &skillhost::Invocation| inv.result.clone().unwrap();
    let first = host.invoke("echo", r#"{"x":1}"#, "caller").await.unwrap();
    assert_eq!(echoed(&first), r#"{"x":1}"#);

    // Swap in another valid skill, and then a one-byte change.
    let file = module_file(dir.path(), &digest);
    let mut flipped = skill_bytes("echo");
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x20;
    for tampered in [skill_bytes("counter"), flipped] {
        overwrite(&file, &tampered);
        // The running host runs the component it verified, not the file.
        let again = host.invoke("echo", r#"{"x":1}"#, "caller").await.unwrap();
        assert_eq!(echoed(&again), r#"{"x":1}"#);
        // Loading it again reads the file back and refuses it.
        let fresh = self::host(dir.path()).await;
        assert_eq!(
            invoke_code(&fresh, "echo").await,
            codes::SKILL_DIGEST_MISMATCH
        );
    }

    // A running host whose cache dropped the component (a bound so small
    // that each load evicts the other skill) re-verifies on the next load.
    let small = HostConfig {
        engine: skillhost::config::EngineConfig {
            loaded_bytes_max: 1,
            ..Default::default()
        },
        ..HostConfig::default()
    };
    let dir2 = tempfile::tempdir().unwrap();
    let bounded = SkillHost::open(&small, dir2.path()).await.unwrap();
    for name in ["echo", "counter"] {
        let d = add(&bounded, &skill_bytes(name)).await;
        bounded
            .approve(name, &d, &Narrowing::default(), OWNER)
            .await
            .unwrap();
    }
    let echo = bounded.show("echo").unwrap().versions[0].digest;
    assert_eq!(invoke_code(&bounded, "echo").await, codes::OK);
    assert_eq!(invoke_code(&bounded, "counter").await, codes::OK);
    assert!(
        bounded.loaded_stats().evictions >= 1,
        "{:?}",
        bounded.loaded_stats()
    );
    overwrite(&module_file(dir2.path(), &echo), &skill_bytes("counter"));
    assert_eq!(
        invoke_code(&bounded, "echo").await,
        codes::SKILL_DIGEST_MISMATCH
    );

    let mismatches = audit_records(dir.path())
        .into_iter()
        .chain(audit_records(dir2.path()))
        .filter(|r| r["code"] == codes::SKILL_DIGEST_MISMATCH)
        .count();
    assert_eq!(mismatches, 3, "every refusal is audited");
}

#[tokio::test]
async fn a_deleted_module_is_reported_and_the_registry_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    host.approve("echo", &digest, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    let before = host.show("echo").unwrap();
    std::fs::remove_file(module_file(dir.path(), &digest)).unwrap();
    // The host that added it keeps the component it compiled from the
    // bytes it hashed; a host that must load it finds the file gone.
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);
    let fresh = self::host(dir.path()).await;
    assert_eq!(
        invoke_code(&fresh, "echo").await,
        codes::SKILL_MODULE_MISSING
    );
    assert_eq!(fresh.show("echo").unwrap(), before);
    // Re-adding the same bytes restores the file; the approval still holds.
    fresh.add(&skill_bytes("echo"), OWNER).await.unwrap();
    let again = self::host(dir.path()).await;
    assert_eq!(invoke_code(&again, "echo").await, codes::OK);
}

#[tokio::test]
async fn revoke_and_disable_take_effect_at_once_in_a_running_host() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("echo")).await;
    host.approve("echo", &digest, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);

    // Another process (the owner's CLI) disables, enables, then revokes; this
    // long-running host sees each change on its very next call.
    let cli = |args: &[&str]| {
        let out = skillhost_cli(dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["skill", "disable", "echo"]);
    assert_eq!(invoke_code(&host, "echo").await, codes::SKILL_DISABLED);
    cli(&["skill", "enable", "echo"]);
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);
    cli(&["skill", "revoke", "echo"]);
    assert_eq!(invoke_code(&host, "echo").await, codes::SKILL_REVOKED);
    // Both processes wrote to one audit log; it is still a single chain.
    drop(host);
    let v = skillhost::audit::verify(dir.path()).unwrap();
    assert!(v.records >= 10, "{v:?}");
}

/// Under load, a revoke from another process refuses every invocation that
/// starts after the revoke committed (the CLI has exited), whatever the
/// in-memory view held: judged by timestamps, call by call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_a_revoke_refuses_every_invocation_that_starts_after_it() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        rate: skillhost::config::RateConfig {
            per_skill_per_minute: 1_000_000,
            global_per_minute: 1_000_000,
            per_caller_per_minute: 1_000_000,
            ..Default::default()
        },
        ..HostConfig::default()
    };
    let host = Arc::new(SkillHost::open(&config, dir.path()).await.unwrap());
    let digest = add(&host, &skill_bytes("echo")).await;
    host.approve("echo", &digest, &Narrowing::default(), OWNER)
        .await
        .unwrap();
    assert_eq!(invoke_code(&host, "echo").await, codes::OK);

    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for _ in 0..16 {
        let (host, stop) = (host.clone(), stop.clone());
        callers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            // Bounded in count as well as by the stop flag.
            while !stop.load(Ordering::SeqCst) && seen.len() < 2_000 {
                let started = Instant::now();
                let code = invoke_code(&host, "echo").await;
                seen.push((started, code));
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cli_dir = dir.path().to_path_buf();
    let committed = tokio::task::spawn_blocking(move || {
        succeeded(skillhost_cli(&cli_dir).args(["skill", "revoke", "echo"]));
        Instant::now()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut before = 0;
    let mut after = 0;
    for caller in callers {
        for (started, code) in caller.await.unwrap() {
            if started > committed {
                after += 1;
                assert_eq!(
                    code,
                    codes::SKILL_REVOKED,
                    "an invocation that started after the revoke committed ran"
                );
            } else if code == codes::OK {
                before += 1;
            }
        }
    }
    assert!(before > 0, "the load ran before the revoke");
    assert!(after > 0, "invocations started after the revoke");
}

#[tokio::test]
async fn granted_limits_apply_and_grants_never_exceed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let digest = add(&host, &skill_bytes("busy_wait")).await;
    let too_much = Narrowing {
        http: Some(vec!["https://example.com".into()]),
        ..Narrowing::default()
    };
    let err = host
        .approve("busy-wait", &digest, &too_much, OWNER)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REGISTRY_GRANT_EXCEEDS_REQUEST);

    let tight = Narrowing {
        limits: LimitSet {
            timeout_ms: Some(200),
            ..LimitSet::default()
        },
        ..Narrowing::default()
    };
    host.approve("busy-wait", &digest, &tight, OWNER)
        .await
        .unwrap();
    let inv = host.invoke("busy-wait", "{}", "caller").await.unwrap();
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), codes::TIMEOUT);
    assert_eq!(err.to_json()["limit_ms"], 200);
}

#[tokio::test]
async fn a_newer_schema_or_a_corrupted_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let host = host(dir.path()).await;
        add(&host, &skill_bytes("echo")).await;
    }
    let db = dir.path().join("registry.db");
    // Fold the WAL into the main file so its bytes are the whole database.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let good = std::fs::read(&db).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(conn);
    let newer = std::fs::read(&db).unwrap();
    let err = SkillHost::open(&HostConfig::default(), dir.path())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REGISTRY_SCHEMA_TOO_NEW);
    assert!(err.to_string().contains("99"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), newer);

    // Garbage over the pages after the header.
    let mut corrupted = good.clone();
    for b in corrupted.iter_mut().skip(100).take(4000) {
        *b = 0xA5;
    }
    std::fs::write(&db, &corrupted).unwrap();
    let err = SkillHost::open(&HostConfig::default(), dir.path())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REGISTRY_CORRUPT, "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), corrupted);

    // A file that is not a database at all.
    std::fs::write(
        &db,
        b"definitely not sqlite, just some text that is long enough",
    )
    .unwrap();
    let err = SkillHost::open(&HostConfig::default(), dir.path())
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::REGISTRY_CORRUPT, "{err}");
}

#[tokio::test]
async fn adding_an_invalid_module_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    for bytes in [
        b"nope".to_vec(),
        skill_bytes("not-a-skill"),
        skill_bytes("future_contract"),
    ] {
        assert!(host.add(&bytes, OWNER).await.is_err());
    }
    assert!(host.list().unwrap().is_empty());
    assert!(!dir.path().join("modules").exists());
    // Each refused add is still audited.
    let refused = audit_records(dir.path())
        .into_iter()
        .filter(|r| r["code"] != "ok")
        .count();
    assert_eq!(refused, 3);
}
