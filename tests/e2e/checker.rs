//! The always-on checker and the audit log, end to end.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use skillhost::config::RateConfig;
use skillhost::registry::Narrowing;
use skillhost::{Added, HostConfig, HostError, SkillHost, codes};

use crate::common::*;
use crate::servers;

async fn host_with(dir: &Path, config: HostConfig) -> SkillHost {
    SkillHost::open(&config, dir).await.unwrap()
}

async fn approved(host: &SkillHost, wasm: &str) -> String {
    let Added::Pending(v) = host.add(&skill_bytes(wasm), "owner").await.unwrap() else {
        panic!("expected a pending version")
    };
    let name = v.name.to_string();
    host.approve(&name, &v.digest, &Narrowing::default(), "owner")
        .await
        .unwrap();
    name
}

fn code_of(r: &Result<skillhost::Invocation, HostError>) -> &'static str {
    match r {
        Ok(inv) => inv
            .result
            .as_ref()
            .map(|_| codes::OK)
            .unwrap_or_else(|e| e.code()),
        Err(e) => e.code(),
    }
}

#[tokio::test]
async fn schema_failures_never_start_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with(dir.path(), HostConfig::default()).await;
    let name = approved(&host, "word_stats").await;
    let started = host.engine().stats().instances();

    for (input, path) in [
        (json!({"text": 5}), "/text"),
        (json!({"text": "a", "top": "many"}), "/top"),
        (json!({}), "/"),
        (json!({"text": "a", "extra": true}), "/"),
    ] {
        let err = host
            .invoke(&name, &input.to_string(), "caller")
            .await
            .unwrap_err();
        assert_eq!(err.code(), codes::INPUT_SCHEMA_INVALID, "{input}");
        let errors = err.to_json()["errors"].as_array().unwrap().clone();
        assert!(
            errors
                .iter()
                .any(|e| e.as_str().unwrap().starts_with(&format!("{path}:"))),
            "{input}: {errors:?}"
        );
    }
    assert_eq!(
        host.engine().stats().instances(),
        started,
        "no instance may start for invalid input"
    );

    let ok = host.invoke(&name, r#"{"text":"a b"}"#, "caller").await;
    assert_eq!(code_of(&ok), codes::OK);
    assert_eq!(host.engine().stats().instances(), started + 1);
}

#[tokio::test]
async fn outputs_are_checked_against_the_declared_schema() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with(dir.path(), HostConfig::default()).await;
    let name = approved(&host, "lying_output").await;
    let inv = host.invoke(&name, "{}", "caller").await.unwrap();
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), codes::OUTPUT_SCHEMA_INVALID);
    assert!(
        err.to_json()["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("/answer:"),
        "{err}"
    );
    let inv = host
        .invoke(&name, r#"{"honest":true}"#, "caller")
        .await
        .unwrap();
    assert_eq!(inv.result.unwrap(), r#"{"answer":42}"#);
}

#[tokio::test]
async fn schemas_that_fetch_remote_refs_cannot_be_added() {
    // The schema check happens at add time, so a skill whose input schema
    // points at a remote `$ref` never becomes pending. (The SDK only emits
    // local refs; this is checked at the library level with a raw schema.)
    let schema = json!({"$ref": "https://example.com/schema.json"});
    assert!(skillhost::checker::Schemas::compile(&schema, None).is_err());
}

#[tokio::test]
async fn rate_limits_refuse_with_retry_after_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        rate: RateConfig {
            per_skill_per_minute: 3,
            ..RateConfig::default()
        },
        ..HostConfig::default()
    };
    let host = host_with(dir.path(), config).await;
    let name = approved(&host, "echo").await;
    for _ in 0..3 {
        assert_eq!(code_of(&host.invoke(&name, "{}", "c").await), codes::OK);
    }
    let before = host.engine().stats().instances();
    let err = host.invoke(&name, "{}", "c").await.unwrap_err();
    assert_eq!(err.code(), codes::RATE_LIMITED);
    let body = err.to_json();
    assert_eq!(body["scope"], "skill");
    assert!(body["retry_after_secs"].as_u64().unwrap() >= 1, "{body}");
    assert_eq!(host.engine().stats().instances(), before);
    let denied = audit_records(dir.path())
        .into_iter()
        .filter(|r| r["code"] == codes::RATE_LIMITED && r["outcome"] == "denied")
        .count();
    assert_eq!(denied, 1);
}

#[tokio::test]
async fn limits_hold_under_1000_concurrent_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        rate: RateConfig {
            per_skill_per_minute: 5_000,
            global_per_minute: 300,
            per_caller_per_minute: 5_000,
            ..RateConfig::default()
        },
        engine: skillhost::config::EngineConfig {
            max_concurrent: 4,
            ..Default::default()
        },
        ..HostConfig::default()
    };
    let host = std::sync::Arc::new(host_with(dir.path(), config).await);
    let name = approved(&host, "echo").await;
    let instances_before = host.engine().stats().instances();

    let mut tasks = Vec::new();
    for i in 0..1000 {
        let host = host.clone();
        let name = name.clone();
        tasks.push(tokio::spawn(async move {
            let input = format!(r#"{{"i":{i}}}"#);
            let r = host.invoke(&name, &input, "load-test").await;
            if let Ok(inv) = &r {
                assert_eq!(inv.result.as_deref().unwrap(), input, "outputs never mix");
            }
            code_of(&r)
        }));
    }
    let mut counts = std::collections::BTreeMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0u32) += 1;
    }
    let ok = counts.get(codes::OK).copied().unwrap_or(0);
    let total: u32 = counts.values().sum();
    assert_eq!(total, 1000, "every request gets an answer: {counts:?}");
    assert!(
        counts
            .keys()
            .all(|c| [codes::OK, codes::RATE_LIMITED, codes::RATE_BUSY].contains(c)),
        "{counts:?}"
    );
    assert!(
        (1..=300).contains(&ok),
        "the global limit holds: {counts:?}"
    );
    let ran = host.engine().stats().instances() - instances_before;
    assert_eq!(ran, u64::from(ok), "exactly the allowed invocations ran");
    assert!(
        host.engine().stats().peak_in_flight() <= 4,
        "the concurrency cap holds"
    );
    // Every invocation is audited: one by one, or — for the repeated
    // refusals — counted in a summary once their interval ends.
    host.flush_repeats(true).await.unwrap();
    let invokes: u64 = audit_records(dir.path())
        .into_iter()
        .filter(|r| r["type"] == "invoke")
        .map(|r| r["detail"]["repeats"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(invokes, 1000, "every invocation is audited");
    skillhost::audit::verify(dir.path()).unwrap();
}

fn cli(dir: &Path) -> Command {
    crate::common::skillhost_cli(dir)
}

fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn audit_verify_and_query_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(cli(d).args(["skill", "add"]).arg(skill_path("echo")));
    let digest = skillhost::ModuleDigest::of(&skill_bytes("echo")).to_string();
    ok(cli(d).args(["skill", "approve", "echo", "--digest", &digest]));
    ok(cli(d).args(["invoke", "echo", "--input", "{}"]));
    let _ = cli(d)
        .args(["invoke", "nope", "--input", "{}"])
        .output()
        .unwrap();

    let v: Value = serde_json::from_str(&ok(cli(d).args(["audit", "verify", "--json"]))).unwrap();
    assert_eq!(v["ok"], true);
    let q: Value = serde_json::from_str(&ok(cli(d).args([
        "audit",
        "query",
        "--json",
        "--type",
        "invoke",
        "--outcome",
        "denied",
    ])))
    .unwrap();
    assert_eq!(q.as_array().unwrap().len(), 1);
    assert_eq!(q[0]["code"], codes::SKILL_NOT_FOUND);
    let q: Value = serde_json::from_str(&ok(cli(d).args([
        "audit", "query", "--json", "--skill", "echo", "--code", "ok",
    ])))
    .unwrap();
    let kinds: Vec<&str> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "skill.add",
            "skill.approve.start",
            "skill.approve",
            "invoke.start",
            "invoke"
        ]
    );
    let last = &q[4];
    assert!(
        last["fuel"].as_u64().unwrap() > 0 && last["input_sha256"].as_str().unwrap().len() == 64,
        "{last}"
    );
    let q: Value = serde_json::from_str(&ok(cli(d).args([
        "audit",
        "query",
        "--json",
        "--since",
        "2999-01-01T00:00:00Z",
    ])))
    .unwrap();
    assert!(q.as_array().unwrap().is_empty());

    // Edit one record: verify names it and fails.
    let segment = skillhost::audit::segments(&d.join("audit")).unwrap()[0].clone();
    let text = std::fs::read_to_string(&segment).unwrap();
    std::fs::write(
        &segment,
        text.replacen("\"skill.approve\"", "\"skill.reject\"", 1),
    )
    .unwrap();
    let out = cli(d).args(["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(err["code"], codes::AUDIT_CHAIN_BROKEN);
    assert_eq!(
        err["seq"], 4,
        "add.start, add, approve.start, then the edited approve"
    );
}

#[test]
fn a_killed_writer_leaves_a_verifiable_chain_and_a_torn_tail_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(cli(d).args(["skill", "add"]).arg(skill_path("echo")));
    let digest = skillhost::ModuleDigest::of(&skill_bytes("echo")).to_string();
    ok(cli(d).args(["skill", "approve", "echo", "--digest", &digest]));

    // A real process writing records, killed mid-flight.
    let exe = env!("CARGO_BIN_EXE_skillhost");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "while true; do '{exe}' invoke echo --input '{{}}' >/dev/null 2>&1; done"
        ))
        .env("SKILLHOST_DATA_DIR", d)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let _ = Command::new("pkill")
        .args(["-9", "-P", &child.id().to_string()])
        .status();
    let _ = child.kill();
    let _ = child.wait();

    // Whatever the kill hit, the next start repairs and the chain verifies.
    ok(cli(d).args(["skill", "list"]));
    ok(cli(d).args(["audit", "verify"]));

    // A torn tail on purpose: half a record at the end.
    let segment = skillhost::audit::segments(&d.join("audit"))
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(br#"{"seq":999999,"id":"torn","ts":"2026-"#);
    std::fs::write(&segment, &bytes).unwrap();
    let out = cli(d).args(["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("torn"));
    ok(cli(d).args(["skill", "list"]));
    let verified = ok(cli(d).args(["audit", "verify"]));
    assert!(verified.starts_with("audit log ok"), "{verified}");
    let repaired = audit_records(d)
        .into_iter()
        .filter(|r| {
            r["type"] == "audit.open" && r["detail"]["repaired_torn_bytes"].as_u64().unwrap() > 0
        })
        .count();
    assert!(repaired >= 1, "the repair is itself audited");
}

#[tokio::test]
async fn a_full_disk_fails_closed() {
    // The skill calls a server we watch: if it ran, the server would see it.
    let n = crate::egress::net();
    let _api = crate::egress::json_api();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = HostConfig {
        egress: crate::egress::egress_config(&n.ca_file, true),
        rate: unlimited(),
        ..HostConfig::default()
    };
    std::fs::write(d.join("skillhost.toml"), config.to_toml()).unwrap();
    {
        let host = host_with(d, config.clone()).await;
        let name = approved(&host, "item_stats").await;
        assert_eq!(
            code_of(&host.invoke(&name, r#"{"tag":"tools"}"#, "c").await),
            codes::OK
        );
        // Grow the audit log past 64 KiB with refusals.
        while std::fs::metadata(skillhost::audit::segments(&d.join("audit")).unwrap()[0].clone())
            .unwrap()
            .len()
            < 80 * 1024
        {
            // (Not an unknown skill: repeats of those are aggregated.)
            let _ = host.invoke(&name, "not json", "filler").await;
        }
    }

    // Now files cannot grow past 64 KiB (SIGXFSZ ignored, so writes fail
    // with EFBIG): the registry still opens, the audit log cannot grow.
    let exe = env!("CARGO_BIN_EXE_skillhost");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f 64; exec '{exe}' invoke item-stats --input '{{\"tag\":\"tools-ulimit\"}}'"))
        .env("SKILLHOST_DATA_DIR", d)
        .env_remove("SKILLHOST_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "no result without an audit record");
    let err: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(err["code"], codes::AUDIT_UNAVAILABLE, "{err}");
    assert_eq!(
        servers::requests_containing("tag=tools-ulimit"),
        0,
        "the skill must not have run"
    );
    // And the log is still intact.
    skillhost::audit::verify(d).unwrap();
}

#[test]
fn tracing_shows_stages_but_never_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(cli(d).args(["skill", "add"]).arg(skill_path("echo")));
    let digest = skillhost::ModuleDigest::of(&skill_bytes("echo")).to_string();
    ok(cli(d).args(["skill", "approve", "echo", "--digest", &digest]));
    let out = cli(d)
        .env("RUST_LOG", "skillhost=trace")
        .args([
            "invoke",
            "echo",
            "--input",
            r#"{"marker":"INPUT-CONTENT-7f3a"}"#,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invocation finished") && stderr.contains("skill=\"echo\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("INPUT-CONTENT-7f3a"),
        "the input leaked into logs: {stderr}"
    );
}

fn unlimited() -> RateConfig {
    RateConfig {
        per_skill_per_minute: 1_000_000,
        global_per_minute: 1_000_000,
        per_caller_per_minute: 1_000_000,
        ..RateConfig::default()
    }
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs(dir));
        }
        // scripts/test.sh sets this, so CI cannot skip it by accident.
        assert!(
            std::env::var_os("SKILLHOST_REQUIRE_TMPFS").is_none(),
            "cannot mount a tmpfs (root needed) and SKILLHOST_REQUIRE_TMPFS is set"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root)");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[tokio::test]
async fn on_a_filling_disk_no_request_leaves_without_its_audit_record() {
    let n = crate::egress::net();
    let _api = crate::egress::json_api();
    let Some(fs) = Tmpfs::mount("8m") else { return };
    let d = fs.0.path().join("data");
    std::fs::create_dir(&d).unwrap();
    let config = HostConfig {
        egress: crate::egress::egress_config(&n.ca_file, true),
        rate: unlimited(),
        ..HostConfig::default()
    };
    let host = host_with(&d, config).await;
    let name = approved(&host, "item_stats").await;
    assert_eq!(
        code_of(&host.invoke(&name, r#"{"tag":"tools"}"#, "c").await),
        codes::OK
    );
    // Fill the disk to the last byte.
    let filler_path = fs.0.path().join("filler");
    let mut filler = std::fs::File::create(&filler_path).unwrap();
    let chunk = vec![0u8; 4096];
    let mut size = 0u64;
    while std::io::Write::write_all(&mut filler, &chunk).is_ok() {
        size += 4096;
    }
    drop(filler);
    let mut unavailable = 0;
    let mut ran = 0;
    // Free one page at a time: each time there is room for a few records,
    // and the disk fills again at a different point of an invocation.
    for _ in 0..12 {
        size = size.saturating_sub(4096);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&filler_path)
            .unwrap()
            .set_len(size)
            .unwrap();
        for _ in 0..20 {
            match code_of(
                &host
                    .invoke(&name, r#"{"tag":"tools-full-disk"}"#, "c")
                    .await,
            ) {
                codes::AUDIT_UNAVAILABLE => {
                    unavailable += 1;
                    break;
                }
                _ => ran += 1,
            }
        }
    }
    assert!(unavailable > 0, "the disk never filled");
    // (Counted by the tag, which no other test sends.)
    let arrived = servers::requests_containing("tag=tools-full-disk");
    // Every request that reached the server is on the record, written
    // before it was sent.
    let mut recorded = 0;
    for segment in skillhost::audit::segments(&d.join("audit")).unwrap() {
        let text = String::from_utf8_lossy(&std::fs::read(segment).unwrap()).into_owned();
        recorded += text
            .lines()
            .filter(|l| l.ends_with('}') && l.contains(r#""type":"egress.start""#))
            .count();
    }
    // The first invocation (before the filler) is not counted in `arrived`.
    assert!(
        arrived < recorded,
        "{arrived} requests arrived, {recorded} egress.start records ({ran} ran, {unavailable} refused)"
    );
}
