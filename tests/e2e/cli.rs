//! The `skillhost` binary, run as a user would.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use skillhost::codes;

use crate::common::*;

fn skillhost(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skillhost"));
    c.env("SKILLHOST_DATA_DIR", data_dir)
        .env_remove("SKILLHOST_CONFIG")
        .env_remove("RUST_LOG");
    c
}

fn run(data_dir: &Path, module: &Path, input: &str) -> Output {
    skillhost(data_dir)
        .arg("run")
        .arg(module)
        .args(["--input", input])
        .output()
        .unwrap()
}

/// The JSON error on the last stderr line of a failed run.
fn error_json(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|_| panic!("last stderr line is not JSON: {stderr}"))
}

#[test]
fn run_prints_the_output_on_stdout() {
    let data = tempfile::tempdir().unwrap();
    let out = run(
        data.path(),
        &skill_path("word_stats"),
        r#"{"text":"one two two"}"#,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["words"], 3);
    assert_eq!(v["top_words"][0]["word"], "two");
}

#[test]
fn input_from_a_file_and_from_stdin() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("input.json");
    std::fs::write(&file, r#"{"from":"file"}"#).unwrap();
    let out = run(
        data.path(),
        &skill_path("echo"),
        &format!("@{}", file.display()),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"from":"file"}"#
    );

    let mut child = skillhost(data.path())
        .arg("run")
        .arg(skill_path("echo"))
        .args(["--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"from":"stdin"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"from":"stdin"}"#
    );
}

#[test]
fn failures_print_a_json_error_with_a_code() {
    let data = tempfile::tempdir().unwrap();
    let out = run(data.path(), &skill_path("panic"), "{}");
    let err = error_json(&out);
    assert_eq!(err["code"], codes::SKILL_TRAPPED);
    assert_eq!(err["trap"], "panic");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_gets_a_clear_error_and_writes_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let not_wasm = scratch.path().join("notes.wasm");
    std::fs::write(&not_wasm, "just some text").unwrap();
    let core = scratch.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let truncated = scratch.path().join("truncated.wasm");
    let echo = skill_bytes("echo");
    std::fs::write(&truncated, &echo[..echo.len() / 3]).unwrap();
    let huge = format!("[{}1]", "1,".repeat(40_000));

    let cases: Vec<(&str, &Path, &str, &str)> = vec![
        ("non-wasm file", &not_wasm, "{}", codes::MODULE_INVALID),
        ("core module", &core, "{}", codes::MODULE_INVALID),
        ("truncated file", &truncated, "{}", codes::MODULE_INVALID),
        (
            "wrong world",
            Box::leak(Box::new(skill_path("not-a-skill"))),
            "{}",
            codes::MODULE_INVALID,
        ),
        (
            "not JSON",
            Box::leak(Box::new(skill_path("echo"))),
            "{oops",
            codes::INPUT_INVALID_JSON,
        ),
        (
            "over the input cap",
            Box::leak(Box::new(skill_path("echo"))),
            &huge,
            codes::INPUT_TOO_LARGE,
        ),
        (
            "missing file",
            Path::new("/nonexistent/skill.wasm"),
            "{}",
            codes::HOST_IO,
        ),
    ];
    for (what, module, input, code) in cases {
        let data = scratch
            .path()
            .join(format!("data-{}", what.replace(' ', "-")));
        let out = run(&data, module, input);
        let err = error_json(&out);
        assert_eq!(err["code"], code, "{what}: {err}");
        assert!(
            !err["message"].as_str().unwrap_or_default().is_empty(),
            "{what}"
        );
        assert!(!data.exists(), "{what}: wrote to the data dir");
    }
}

#[test]
fn config_file_sets_the_limits() {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("limits.toml");
    std::fs::write(&config, "[limits]\ntimeout_ms = 200\n").unwrap();
    let out = skillhost(data.path())
        .arg("--config")
        .arg(&config)
        .arg("run")
        .arg(skill_path("busy_wait"))
        .args(["--input", "{}"])
        .output()
        .unwrap();
    let err = error_json(&out);
    assert_eq!(err["code"], codes::TIMEOUT);
    assert_eq!(err["limit_ms"], 200);

    // The data dir's skillhost.toml is used when no --config is given.
    std::fs::write(
        data.path().join("skillhost.toml"),
        "[limits]\noutput_bytes = 10\n",
    )
    .unwrap();
    let err = error_json(&run(
        data.path(),
        &skill_path("echo"),
        r#"{"long":"enough to exceed"}"#,
    ));
    assert_eq!(err["code"], codes::OUTPUT_TOO_LARGE);
}

#[test]
fn invalid_config_is_refused() {
    let data = tempfile::tempdir().unwrap();
    for (text, needle) in [
        ("[limits]\nfuel = 0\n", "limits.fuel"),
        ("[limits]\nfuell = 5\n", "fuell"),
        ("this is not toml", "invalid config"),
    ] {
        let config = data.path().join("bad.toml");
        std::fs::write(&config, text).unwrap();
        let out = skillhost(data.path())
            .arg("--config")
            .arg(&config)
            .args(["config"])
            .output()
            .unwrap();
        let err = error_json(&out);
        assert_eq!(err["code"], codes::HOST_CONFIG);
        assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
    }
}

#[test]
fn config_command_prints_the_effective_config() {
    let data = tempfile::tempdir().unwrap();
    let out = skillhost(data.path()).arg("config").output().unwrap();
    assert!(out.status.success());
    let shown =
        skillhost::HostConfig::from_toml(&String::from_utf8_lossy(&out.stdout), "stdout").unwrap();
    assert_eq!(shown, skillhost::HostConfig::default());
}

#[test]
fn usage_errors_exit_2() {
    let data = tempfile::tempdir().unwrap();
    let out = skillhost(data.path()).args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = skillhost(data.path()).args(["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["skill", "invoke", "dev", "--data-dir", "--actor"] {
        assert!(help.contains(word), "help lacks {word}: {help}");
    }
}
