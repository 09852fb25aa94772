//! The compiled-artifact cache: used on the next start, never trusted blindly.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use skillhost::secrets::MasterKey;
use skillhost::{ArtifactSource, HostConfig, SkillEngine};

use crate::common::*;

/// The master key of these tests' hosts: the same on every "start".
fn key() -> &'static MasterKey {
    static KEY: OnceLock<MasterKey> = OnceLock::new();
    KEY.get_or_init(MasterKey::generate)
}

fn engine_at(dir: &Path) -> SkillEngine {
    SkillEngine::new(&HostConfig::default(), Some(dir), Some(key())).unwrap()
}

/// All cache entry files under a data dir.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(keys) = std::fs::read_dir(dir.join("artifacts")) else {
        return out;
    };
    for key in keys {
        for entry in std::fs::read_dir(key.unwrap().path()).unwrap() {
            out.push(entry.unwrap().path());
        }
    }
    out.sort();
    out
}

fn entry_for(dir: &Path, name: &str) -> PathBuf {
    let digest = skillhost::ModuleDigest::of(&skill_bytes(name)).hex();
    entries(dir)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_str().unwrap() == format!("{digest}.cwasm"))
        .expect("cache entry")
}

async fn assert_echo_works(engine: &SkillEngine, skill: &skillhost::LoadedSkill) {
    let out = skill
        .invoke(r#"{"ok":true}"#, engine.limits())
        .await
        .result
        .unwrap();
    assert_eq!(out, r#"{"ok":true}"#);
}

#[tokio::test]
async fn second_load_uses_the_cache() {
    let data = tempfile::tempdir().unwrap();
    let first = engine_at(data.path());
    let skill = first.load(&skill_bytes("echo")).unwrap();
    assert_eq!(*skill.source(), ArtifactSource::Compiled);
    assert_eq!(entries(data.path()).len(), 1);
    drop(skill);
    drop(first);

    // A new engine, as on the next start of the host.
    let second = engine_at(data.path());
    let skill = second.load(&skill_bytes("echo")).unwrap();
    assert_eq!(*skill.source(), ArtifactSource::Cache);
    assert_echo_works(&second, &skill).await;
}

#[tokio::test]
async fn tampered_or_truncated_entries_are_recompiled_not_loaded() {
    let data = tempfile::tempdir().unwrap();
    engine_at(data.path()).load(&skill_bytes("echo")).unwrap();
    let entry = entry_for(data.path(), "echo");
    let good = std::fs::read(&entry).unwrap();

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let tampered: [(&str, Vec<u8>); 3] = [
        ("a flipped byte in the machine code", flipped),
        ("a truncated tail", good[..good.len() - 100].to_vec()),
        ("a truncated header", good[..30].to_vec()),
    ];
    for (what, bytes) in tampered {
        std::fs::write(&entry, &bytes).unwrap();
        let engine = engine_at(data.path());
        let skill = engine.load(&skill_bytes("echo")).unwrap();
        assert!(
            matches!(skill.source(), ArtifactSource::Recompiled { .. }),
            "{what}: {:?}",
            skill.source()
        );
        assert_echo_works(&engine, &skill).await;
        // The bad entry was replaced by a good one.
        assert_eq!(std::fs::read(&entry).unwrap(), good, "{what}");
    }
}

#[tokio::test]
async fn an_artifact_of_another_module_is_never_loaded() {
    // An attacker who can write to the cache swaps in a genuine, correctly
    // hashed artifact of a different skill under echo's name.
    let data = tempfile::tempdir().unwrap();
    let engine = engine_at(data.path());
    engine.load(&skill_bytes("echo")).unwrap();
    engine.load(&skill_bytes("counter")).unwrap();
    let echo_entry = entry_for(data.path(), "echo");
    std::fs::copy(entry_for(data.path(), "counter"), &echo_entry).unwrap();

    let engine = engine_at(data.path());
    let skill = engine.load(&skill_bytes("echo")).unwrap();
    match skill.source() {
        ArtifactSource::Recompiled { reason } => {
            assert!(reason.contains("different module"), "{reason}")
        }
        other => panic!("loaded a foreign artifact: {other:?}"),
    }
    assert_echo_works(&engine, &skill).await;
}

#[tokio::test]
async fn another_skills_artifact_with_a_recomputed_header_is_never_loaded() {
    // An attacker who can write the data dir but does not hold the key puts
    // counter's genuine artifact under echo's name and recomputes every
    // header field computable without the key: the module digest, and a
    // SHA-256 of the machine code (what the unauthenticated format checked)
    // or counter's own tag.
    let data = tempfile::tempdir().unwrap();
    let engine = engine_at(data.path());
    engine.load(&skill_bytes("echo")).unwrap();
    engine.load(&skill_bytes("counter")).unwrap();
    drop(engine);
    let echo_entry = entry_for(data.path(), "echo");
    let counter = std::fs::read(entry_for(data.path(), "counter")).unwrap();
    // Layout: 22-byte magic, module digest, tag (or hash), machine code.
    let (magic, rest) = counter.split_at(22);
    let (tag, body) = rest[32..].split_at(32);
    let echo_digest = *skillhost::ModuleDigest::of(&skill_bytes("echo")).as_bytes();
    let sha = {
        use sha2::Digest as _;
        sha2::Sha256::digest(body).to_vec()
    };
    for (what, slot) in [("a recomputed SHA-256", &sha[..]), ("counter's tag", tag)] {
        std::fs::write(&echo_entry, [magic, &echo_digest, slot, body].concat()).unwrap();
        let engine = engine_at(data.path());
        let skill = engine.load(&skill_bytes("echo")).unwrap();
        assert!(
            matches!(skill.source(), ArtifactSource::Recompiled { .. }),
            "{what}: loaded {:?}",
            skill.source()
        );
        // echo's behaviour (it returns its input), not counter's.
        assert_echo_works(&engine, &skill).await;
    }
}

#[tokio::test]
async fn without_a_master_key_nothing_is_cached() {
    assert!(
        std::env::var_os(skillhost::secrets::key::ENV).is_none(),
        "run the tests without {}",
        skillhost::secrets::key::ENV
    );
    // A persistent host whose data dir has no master key.
    let data = tempfile::tempdir().unwrap();
    let host = skillhost::SkillHost::open(&HostConfig::default(), data.path())
        .await
        .unwrap();
    host.add(&skill_bytes("echo"), "owner").await.unwrap();
    assert!(data.path().join("registry.db").exists());
    assert!(
        !data.path().join("artifacts").exists(),
        "an unauthenticated artifact was written"
    );

    // The engine alone: every load compiles, nothing is written.
    for _ in 0..2 {
        let engine = SkillEngine::new(&HostConfig::default(), Some(data.path()), None).unwrap();
        let skill = engine.load(&skill_bytes("echo")).unwrap();
        assert_eq!(*skill.source(), ArtifactSource::Compiled);
        assert_echo_works(&engine, &skill).await;
    }
    assert!(!data.path().join("artifacts").exists());
}

#[test]
fn bad_modules_write_nothing() {
    let data = tempfile::tempdir().unwrap();
    let root = data.path().join("data");
    let engine = engine_at(&root);
    let echo = skill_bytes("echo");
    for bytes in [
        b"not wasm".to_vec(),
        b"\0asm\x01\0\0\0".to_vec(),
        echo[..echo.len() / 2].to_vec(),
        skill_bytes("not-a-skill"),
        skill_bytes("future_contract"),
    ] {
        assert!(engine.load(&bytes).is_err());
    }
    assert!(
        !root.exists(),
        "a refused module must not create the data dir"
    );
}

/// `skillhost gc` frees the artifacts of versions that can no longer run
/// (superseded, revoked, rejected), keeps those of approved and pending
/// versions, writes one audit record, and changes no decision.
#[tokio::test]
async fn gc_frees_what_can_no_longer_run_and_keeps_the_rest() {
    use skillhost::registry::Narrowing;
    use skillhost::{Added, SkillHost, codes};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    succeeded(skillhost_cli(d).args(["secret", "init-key"]));
    let host = SkillHost::open(&HostConfig::default(), d).await.unwrap();
    let add = |bytes: Vec<u8>| {
        let host = &host;
        async move {
            match host.add(&bytes, "owner").await.unwrap() {
                Added::Pending(v) => v,
                other => panic!("{other:?}"),
            }
        }
    };
    let approve = |name: &'static str, digest: skillhost::ModuleDigest| {
        let host = &host;
        async move {
            host.approve(name, &digest, &Narrowing::default(), "owner")
                .await
                .unwrap();
        }
    };
    // echo v1, superseded by v2 (the same skill with a padding section).
    let echo = skill_bytes("echo");
    let mut echo2 = echo.clone();
    echo2.extend_from_slice(&[0, 5, 4, b'p', b'a', b'd', b'!']);
    let v1 = add(echo.clone()).await;
    approve("echo", v1.digest).await;
    let v2 = add(echo2).await;
    approve("echo", v2.digest).await;
    // counter approved, then revoked; word-stats rejected; slow-echo pending.
    let counter = add(skill_bytes("counter")).await;
    approve("counter", counter.digest).await;
    host.revoke("counter", None, "owner").await.unwrap();
    let words = add(skill_bytes("word_stats")).await;
    host.reject("word-stats", &words.digest, "owner")
        .await
        .unwrap();
    let pending = add(skill_bytes("slow_echo")).await;
    drop(host);
    let cached = |digest: &skillhost::ModuleDigest| {
        entries(d)
            .iter()
            .any(|p| p.file_name().unwrap().to_str().unwrap() == format!("{}.cwasm", digest.hex()))
    };
    for v in [&v1, &v2, &counter, &words, &pending] {
        assert!(cached(&v.digest), "{} was cached when it was added", v.name);
    }

    let out = skillhost_cli(d).args(["gc", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["removed_files"], 3, "{report}");
    assert_eq!(report["kept_files"], 2, "{report}");
    assert!(report["removed_bytes"].as_u64().unwrap() > 0);
    for gone in [&v1, &counter, &words] {
        assert!(!cached(&gone.digest), "{} should be collected", gone.name);
    }
    for kept in [&v2, &pending] {
        assert!(cached(&kept.digest), "{} must be kept", kept.name);
    }

    // One audit record, with the counts; the chain still verifies.
    let audit = audit_records(d);
    let gc: Vec<_> = audit.iter().filter(|r| r["type"] == "gc").collect();
    assert_eq!(gc.len(), 1, "{gc:?}");
    assert_eq!(gc[0]["detail"]["removed_files"], 3);
    assert!(
        audit
            .iter()
            .any(|r| r["type"] == "skill.revoke" && r["skill"] == "counter")
    );
    skillhost::audit::verify(d).unwrap();

    // Nothing was decided: the approved version runs (from its kept
    // artifact), the revoked one is still refused.
    let host = SkillHost::open(&HostConfig::default(), d).await.unwrap();
    let ran = host.invoke("echo", r#"{"a":1}"#, "caller").await.unwrap();
    assert_eq!(ran.result.unwrap(), r#"{"a":1}"#);
    let refused = host.invoke("counter", "{}", "caller").await.unwrap_err();
    assert_eq!(refused.code(), codes::SKILL_REVOKED);
}
