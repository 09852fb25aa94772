//! The owner workflow through the real binary, including crashes and races.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use skillhost::{ModuleDigest, codes};

use crate::common::*;

fn skillhost(dir: &Path) -> Command {
    let mut c = crate::common::skillhost_cli(dir);
    c.env("SKILLHOST_ACTOR", "cli-owner");
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn err_code(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    last["code"].as_str().unwrap().to_string()
}

fn add_file(dir: &Path, bytes: &[u8], file: &str) -> (std::path::PathBuf, ModuleDigest) {
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    (path, ModuleDigest::of(bytes))
}

#[test]
fn add_review_approve_invoke() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wasm = skill_path("word_stats");

    let review = ok(skillhost(&data)
        .args(["skill", "add"])
        .arg(&wasm)
        .output()
        .unwrap());
    let digest = ModuleDigest::of(&skill_bytes("word_stats")).to_string();
    for expected in [
        "word-stats",
        "pending",
        digest.as_str(),
        "http destinations: (none)",
        "input schema",
        "approve with",
    ] {
        assert!(
            review.contains(expected),
            "review lacks {expected:?}:\n{review}"
        );
    }
    let out = skillhost(&data)
        .args(["invoke", "word-stats", "--input", r#"{"text":"a"}"#])
        .output()
        .unwrap();
    assert_eq!(err_code(&out), codes::SKILL_PENDING);

    ok(skillhost(&data)
        .args(["skill", "approve", "word-stats", "--digest", &digest])
        .output()
        .unwrap());
    let out = ok(skillhost(&data)
        .args(["invoke", "word-stats", "--input", r#"{"text":"a b b"}"#])
        .output()
        .unwrap());
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["words"], 3);

    let list: Value = serde_json::from_str(&ok(skillhost(&data)
        .args(["skill", "list", "--json"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(list[0]["name"], "word-stats");
    assert_eq!(list[0]["versions"][0]["state"], "approved");
    assert_eq!(list[0]["versions"][0]["decided_by"], "cli-owner");
    let show = ok(skillhost(&data)
        .args(["skill", "show", "word-stats"])
        .output()
        .unwrap());
    assert!(show.contains("granted:"), "{show}");

    // Who/when/what of every decision is in the audit log.
    let kinds: Vec<String> = audit_records(&data)
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["type"].as_str().unwrap(),
                r["code"].as_str().unwrap(),
                r["actor"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "skill.add.start:ok:cli-owner",
            "skill.add:ok:cli-owner",
            "invoke:skill.pending:cli-owner",
            "skill.approve.start:ok:cli-owner",
            "skill.approve:ok:cli-owner",
            "invoke.start:ok:cli-owner",
            "invoke:ok:cli-owner"
        ]
    );

    // Private files.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("registry.db")), 0o600);
    assert_eq!(mode(&data.join("audit")), 0o700);
    for segment in skillhost::audit::segments(&data.join("audit")).unwrap() {
        assert_eq!(mode(&segment), 0o600);
    }
    let verify = ok(skillhost(&data).args(["audit", "verify"]).output().unwrap());
    assert!(verify.contains("audit log ok: 7 records"), "{verify}");
}

#[test]
fn malformed_digests_and_names_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = skillhost(dir.path())
        .args(["skill", "approve", "echo", "--digest", "abc"])
        .output()
        .unwrap();
    assert_eq!(err_code(&out), codes::REGISTRY_WRONG_DIGEST);
    let d = ModuleDigest::of(b"x").to_string();
    let out = skillhost(dir.path())
        .args(["skill", "approve", "../../etc", "--digest", &d])
        .output()
        .unwrap();
    assert_eq!(err_code(&out), codes::REGISTRY_INVALID_NAME);
    let out = skillhost(dir.path())
        .args(["skill", "show", "nope"])
        .output()
        .unwrap();
    assert_eq!(err_code(&out), codes::SKILL_NOT_FOUND);
}

#[test]
fn dev_never_touches_the_real_registry() {
    let dir = tempfile::tempdir().unwrap();
    let out = skillhost(dir.path())
        .args(["dev"])
        .arg(skill_path("echo"))
        .args(["--input", r#"{"dev":true}"#])
        .output()
        .unwrap();
    let stdout = ok(out.clone());
    assert_eq!(stdout.trim(), r#"{"dev":true}"#);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("requested:") && stderr.contains("http destinations"),
        "{stderr}"
    );
    assert!(!dir.path().join("registry.db").exists());
    assert!(!dir.path().join("modules").exists());
    assert!(!dir.path().join("audit").exists());
}

#[test]
fn killing_skill_add_never_leaves_a_half_registered_skill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let echo = skill_bytes("echo");
    // Kill real `skill add` processes at spread-out moments of their run.
    for i in 0..10u64 {
        let (file, _) = add_file(
            dir.path(),
            &variant(&echo, &format!("kill-{i}")),
            &format!("v{i}.wasm"),
        );
        let mut child = skillhost(&data)
            .args(["skill", "add"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 40));
        let _ = child.kill();
        let _ = child.wait();

        // The registry opens, and every registered version has its module,
        // intact.
        let list = skillhost(&data)
            .args(["skill", "list", "--json"])
            .output()
            .unwrap();
        let list: Value = serde_json::from_str(&ok(list)).unwrap();
        for skill in list.as_array().unwrap() {
            for v in skill["versions"].as_array().unwrap() {
                let digest = ModuleDigest::parse(v["digest"].as_str().unwrap()).unwrap();
                let module = data.join("modules").join(format!("{}.wasm", digest.hex()));
                let bytes = std::fs::read(&module).expect("a registered version's module exists");
                assert_eq!(ModuleDigest::of(&bytes), digest);
            }
        }
    }
    let conn = rusqlite::Connection::open(data.join("registry.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // And the registry still works normally.
    let (file, digest) = add_file(dir.path(), &echo, "final.wasm");
    ok(skillhost(&data)
        .args(["skill", "add"])
        .arg(&file)
        .output()
        .unwrap());
    ok(skillhost(&data)
        .args(["skill", "approve", "echo", "--digest", &digest.to_string()])
        .output()
        .unwrap());
}

#[test]
fn two_owners_approving_at_once_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let echo = skill_bytes("echo");
    for round in 0..3 {
        let (file, digest) = add_file(
            dir.path(),
            &variant(&echo, &format!("race-{round}")),
            &format!("r{round}.wasm"),
        );
        ok(skillhost(&data)
            .args(["skill", "add"])
            .arg(&file)
            .output()
            .unwrap());
        let spawn = || {
            skillhost(&data)
                .args(["skill", "approve", "echo", "--digest", &digest.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let winners = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "round {round}: exactly one approval wins");
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        assert_eq!(
            err_code(loser),
            codes::REGISTRY_INVALID_STATE,
            "round {round}"
        );
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert!(
            stderr.contains("approved"),
            "the loser is told why: {stderr}"
        );
    }
}

/// A skill asking for `https://аpi.example.com` (a Cyrillic 'а'): the review
/// shows what is really granted, the punycode host, and warns; never the
/// Unicode text that looks like `api.example.com`.
#[test]
fn lookalike_destinations_are_shown_as_granted_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wasm = skill_path("lookalike_host");
    let digest = ModuleDigest::of(&skill_bytes("lookalike_host")).to_string();
    let granted_as = "https://xn--pi-6kc.example.com:443";
    let lookalike = "\u{430}pi.example.com";

    let check = |text: &str| {
        assert!(
            text.contains(&format!("http destinations: {granted_as}\n")),
            "the destination is not shown as granted:\n{text}"
        );
        assert!(
            !text.contains(&format!("https://{lookalike}")),
            "the destination is shown as Unicode:\n{text}"
        );
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert_eq!(warnings.len(), 1, "{text}");
        for needle in [
            "xn--pi-6kc.example.com",
            "non-ASCII characters (Cyrillic U+0430)",
            "mixes Latin and Cyrillic",
        ] {
            assert!(warnings[0].contains(needle), "{needle:?}: {}", warnings[0]);
        }
    };
    let review = ok(skillhost(&data)
        .args(["skill", "add"])
        .arg(&wasm)
        .output()
        .unwrap());
    check(&review);
    check(&ok(skillhost(&data)
        .args(["skill", "show", "lookalike-host"])
        .output()
        .unwrap()));

    // JSON carries the same: the destination as granted, and the warning.
    let shown: Value = serde_json::from_str(&ok(skillhost(&data)
        .args(["skill", "show", "lookalike-host", "--json"])
        .output()
        .unwrap()))
    .unwrap();
    let v = &shown["versions"][0];
    assert_eq!(v["destinations"][0]["destination"], granted_as, "{v}");
    assert_eq!(
        v["destinations"][0]["requested"],
        format!("https://{lookalike}")
    );
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v}");

    // The owner can grant what the review showed; the real-looking twin is
    // not what was requested.
    let out = skillhost(&data)
        .args(["skill", "approve", "lookalike-host", "--digest", &digest])
        .args(["--http", "https://api.example.com"])
        .output()
        .unwrap();
    assert_eq!(err_code(&out), codes::REGISTRY_GRANT_EXCEEDS_REQUEST);
    ok(skillhost(&data)
        .args(["skill", "approve", "lookalike-host", "--digest", &digest])
        .args(["--http", granted_as])
        .output()
        .unwrap());
    let show = ok(skillhost(&data)
        .args(["skill", "show", "lookalike-host"])
        .output()
        .unwrap());
    let granted = show.split("granted:").nth(1).expect("a granted section");
    assert!(
        granted.contains(&format!("http destinations: {granted_as}\n")),
        "{show}"
    );
}
