//! `skill trial`: the pending `secret-probe` contacts two hosts. The trial
//! prints both attempts and a drafted grant, the loopback servers receive
//! nothing, the registry is unchanged, and approving with exactly the
//! drafted rules lets the same input succeed. The CLI drives it all, as an
//! owner would.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use skillhost::{HostConfig, codes};

use crate::common::*;
use crate::egress::{egress_config, json_api, net};
use crate::secret_leaks::second_api;
use crate::servers;

fn cli(data: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skillhost"));
    c.env("SKILLHOST_DATA_DIR", data)
        .env("SKILLHOST_ACTOR", "owner")
        .arg("--config")
        .arg(config);
    c
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn a_trial_drafts_the_grant_that_then_lets_the_same_input_run() {
    let (_a, _b) = (json_api(), second_api());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config_file = dir.path().join("skillhost.toml");
    let config = HostConfig {
        egress: egress_config(&net().ca_file, true),
        ..HostConfig::default()
    };
    std::fs::write(&config_file, config.to_toml()).unwrap();
    let pid = std::process::id();
    let (m1, m2) = (format!("m=trial-one-{pid}"), format!("m=trial-two-{pid}"));
    let input = json!({ "steps": [
        { "http": { "url": format!("https://json-api.test:47443/v1/items?tag=tools&{m1}") } },
        { "http": { "url": format!("https://api.test:47444/json?{m2}"), "method": "GET" } },
    ]})
    .to_string();

    succeeded(
        cli(&data, &config_file)
            .args(["skill", "add"])
            .arg(skill_path("secret_probe")),
    );
    let shown_before = stdout_json(&succeeded(cli(&data, &config_file).args([
        "skill",
        "show",
        "secret-probe",
        "--json",
    ])));

    // The human-readable trial names both attempts and the drafted grant.
    let printed = succeeded(cli(&data, &config_file).args([
        "skill",
        "trial",
        "secret-probe",
        "--input",
        &input,
    ]));
    let text = String::from_utf8_lossy(&printed.stdout);
    for line in [
        "GET https://json-api.test:47443/v1/items",
        "GET https://api.test:47444/json",
        "drafted grant:",
        "approve with: skillhost skill approve secret-probe --digest sha256:",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(
        !text.contains("tag=tools"),
        "the query is never shown:\n{text}"
    );

    let trial = stdout_json(&succeeded(cli(&data, &config_file).args([
        "skill",
        "trial",
        "secret-probe",
        "--input",
        &input,
        "--json",
    ])));
    assert_eq!(trial["code"], "ok", "{trial}");
    let attempts = trial["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{trial}");
    for a in attempts {
        assert_eq!(a["code"], codes::EGRESS_TRIAL, "{a}");
        assert_eq!(a["requested"], true, "{a}");
    }
    assert_eq!(
        trial["drafted"],
        json!([
            "GET https://json-api.test:47443/v1/items",
            "GET https://api.test:47444/json"
        ])
    );
    // The skill saw the refusals.
    // Nothing reached either server, and the registry is as it was.
    assert_eq!(servers::requests_containing(&m1), 0);
    assert_eq!(servers::requests_containing(&m2), 0);
    let shown_after = stdout_json(&succeeded(cli(&data, &config_file).args([
        "skill",
        "show",
        "secret-probe",
        "--json",
    ])));
    assert_eq!(shown_before, shown_after);
    assert_eq!(shown_after["versions"][0]["state"], "pending");

    // Audited: a start and an outcome per trial, the outcome with the
    // attempts (paths, never the query).
    let records = audit_records(&data);
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "skill.trial.start").count(),
        2
    );
    let outcomes: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "skill.trial")
        .collect();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[1]["detail"]["attempts"], trial["attempts"]);
    assert!(!outcomes[1].to_string().contains("tag=tools"));
    assert!(
        !kinds.contains(&"egress.start"),
        "nothing was about to be sent"
    );

    // Approve with exactly the drafted grant; the same input now runs.
    let digest = trial["digest"].as_str().unwrap();
    let mut approve = cli(&data, &config_file);
    approve.args(["skill", "approve", "secret-probe", "--digest", digest]);
    for rule in trial["drafted"].as_array().unwrap() {
        approve.args(["--http", rule.as_str().unwrap()]);
    }
    succeeded(&mut approve);
    let ran = stdout_json(&succeeded(cli(&data, &config_file).args([
        "invoke",
        "secret-probe",
        "--input",
        &input,
    ])));
    let responses = ran["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2, "{ran}");
    for r in responses {
        assert_eq!(r["ok"], true, "{ran}");
        assert_eq!(r["status"], 200, "{ran}");
    }
    assert_eq!(servers::requests_containing(&m1), 1);
    assert_eq!(servers::requests_containing(&m2), 1);
    // The grant is exactly the draft: a third path on the same host is not
    // in it.
    let other = json!({ "steps": [{ "http": { "url": "https://api.test:47444/echo" } }] });
    let ran = stdout_json(&succeeded(cli(&data, &config_file).args([
        "invoke",
        "secret-probe",
        "--input",
        &other.to_string(),
    ])));
    assert_eq!(
        ran["responses"][0]["code"],
        codes::EGRESS_PATH_NOT_ALLOWED,
        "{ran}"
    );
}

#[tokio::test]
async fn a_trial_runs_only_pending_versions_and_checks_its_input() {
    use skillhost::SkillHost;
    let dir = tempfile::tempdir().unwrap();
    let host = SkillHost::open(&HostConfig::default(), dir.path())
        .await
        .unwrap();
    // No such skill.
    let e = host.trial("nope", None, "{}", "owner").await.unwrap_err();
    assert_eq!(e.code(), codes::SKILL_NOT_FOUND);
    let skillhost::Added::Pending(v) = host.add(&skill_bytes("echo"), "owner").await.unwrap()
    else {
        panic!()
    };
    // The input is checked as an invocation's would be.
    let e = host
        .trial("echo", None, "not json", "owner")
        .await
        .unwrap_err();
    assert_eq!(e.code(), codes::INPUT_INVALID_JSON);
    let t = host
        .trial("echo", None, r#"{"message":"hi"}"#, "owner")
        .await
        .unwrap();
    assert_eq!(t.code, codes::OK, "{t:?}");
    assert!(t.attempts.is_empty() && t.drafted.is_empty());
    // Approved: no longer a trial candidate.
    host.approve("echo", &v.digest, &Default::default(), "owner")
        .await
        .unwrap();
    let e = host
        .trial("echo", None, r#"{"message":"hi"}"#, "owner")
        .await
        .unwrap_err();
    assert_eq!(e.code(), codes::REGISTRY_INVALID_STATE);
}
