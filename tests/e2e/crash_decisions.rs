//! Audit before effect, under `kill -9`: an owner decision is never live
//! without its record. The CLI is killed at pseudo-random points while it
//! approves or disables/enables a skill; after each kill the registry and
//! the audit log are read back, and any decision the registry shows must
//! have its `<kind>.start` record. (`scripts/crash-decisions.sh N` repeats it
//! with N other seeds.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skillhost::{Added, HostConfig, ModuleDigest, SkillHost};

use crate::common::*;

fn cli(dir: &Path) -> Command {
    let mut c = crate::common::skillhost_cli(dir);
    c.env("SKILLHOST_ACTOR", "crash-owner")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Run `args`, killing the process after `delay` unless it finished.
fn run_and_kill(dir: &Path, args: &[&str], delay: Duration) {
    let mut child = cli(dir).args(args).spawn().unwrap();
    let started = Instant::now();
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

/// Echo's bytes with a custom section that makes each copy a new version.
fn echo_variant(i: u32) -> Vec<u8> {
    let mut bytes = skill_bytes("echo");
    let name = b"trial";
    let payload = i.to_le_bytes();
    bytes.push(0);
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&payload);
    bytes
}

/// Open the host (which repairs a torn audit tail) and read both sides.
async fn state(dir: &Path) -> (SkillHost, Vec<serde_json::Value>) {
    let host = SkillHost::open(&HostConfig::default(), dir).await.unwrap();
    (host, audit_records(dir))
}

fn starts(records: &[serde_json::Value], kind: &str, digest: Option<&str>) -> usize {
    records
        .iter()
        .filter(|r| r["type"] == format!("{kind}.start"))
        .filter(|r| digest.is_none_or(|d| r["digest"] == d))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_decision_is_live_without_its_record_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // Pending versions for the approval trials, added up front.
    const APPROVALS: u32 = 10;
    const TOGGLES: u32 = 40;
    let mut pending: Vec<ModuleDigest> = Vec::new();
    {
        let host = SkillHost::open(&HostConfig::default(), dir).await.unwrap();
        for i in 0..APPROVALS {
            let Added::Pending(v) = host.add(&echo_variant(i), "owner").await.unwrap() else {
                panic!("expected a new version")
            };
            pending.push(v.digest);
        }
    }
    // How long an uninterrupted decision takes, to spread the kills over it.
    let t = Instant::now();
    let status = cli(dir)
        .args(["skill", "disable", "echo"])
        .status()
        .unwrap();
    assert!(status.success());
    let full = t.elapsed().max(Duration::from_millis(5));
    let mut disabled = true;

    let mut seed: u64 = std::env::var("SKILLHOST_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut delay = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        full.mul_f64((seed >> 33) as f64 / (1u64 << 31) as f64 * 1.2)
    };
    let (mut live, mut killed_before) = (0, 0);
    for (i, digest) in pending.iter().enumerate() {
        let d = digest.to_string();
        run_and_kill(dir, &["skill", "approve", "echo", "--digest", &d], delay());
        let (host, records) = state(dir).await;
        let approved = host
            .show("echo")
            .unwrap()
            .versions
            .iter()
            .any(|v| v.digest == *digest && v.granted.is_some());
        if approved {
            live += 1;
            assert!(
                starts(&records, "skill.approve", Some(&d)) >= 1,
                "trial {i}: approval live without its record"
            );
        } else {
            killed_before += 1;
        }
    }
    for i in 0..TOGGLES {
        let (kind, arg) = if disabled {
            ("skill.enable", "enable")
        } else {
            ("skill.disable", "disable")
        };
        let before = starts(&state(dir).await.1, kind, None);
        run_and_kill(dir, &["skill", arg, "echo"], delay());
        let (host, records) = state(dir).await;
        let now = host.show("echo").unwrap().disabled;
        if now != disabled {
            live += 1;
            assert!(
                starts(&records, kind, None) > before,
                "toggle {i}: {kind} live without its record"
            );
            disabled = now;
        } else {
            killed_before += 1;
        }
    }
    // Both outcomes happened, so the kills really landed inside decisions.
    assert!(
        live > 0 && killed_before > 0,
        "live {live}, killed before {killed_before}"
    );
    // And the chain still verifies after every kill.
    let out = cli(dir)
        .args(["audit", "verify"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
