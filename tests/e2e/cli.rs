//! The `skillhost` binary, run as a user would.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use skillhost::codes;

use crate::common::*;

fn skillhost(data_dir: &Path) -> Command {
    crate::common::skillhost_cli(data_dir)
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

/// `skillhost invoke` refuses bad input through the host, so each refusal
/// is a denied `invoke` audit record, as from the HTTP API.
#[test]
fn invoke_refusals_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let added = succeeded(
        skillhost(&data)
            .args(["skill", "add", "--json"])
            .arg(skill_path("echo")),
    );
    let v: Value = serde_json::from_slice(&added.stdout).unwrap();
    let digest = v["digest"].as_str().unwrap().to_string();
    succeeded(skillhost(&data).args(["skill", "approve", "echo", "--digest", &digest]));
    let invoke = |input: &str| {
        skillhost(&data)
            .args(["invoke", "echo", "--input", input])
            .output()
            .unwrap()
    };

    // Over the cap in a file: its real size.
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 70_000]).unwrap();
    let err = error_json(&invoke(&format!("@{}", big.display())));
    assert_eq!(err["code"], codes::INPUT_TOO_LARGE, "{err}");
    assert_eq!(err["message"], "input is 70000 bytes; the limit is 65536");

    // Over the cap on stdin: read no further, so "more than".
    let mut child = skillhost(&data)
        .args(["invoke", "echo", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The CLI stops reading past the cap; a broken pipe is expected.
        let _ = stdin.write_all(&vec![b' '; 200_000]);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = error_json(&out);
    assert_eq!(err["code"], codes::INPUT_TOO_LARGE, "{err}");
    assert_eq!(
        err["message"],
        "input is more than 65536 bytes; the limit is 65536"
    );
    assert!(err.get("size").is_none(), "a guessed size: {err}");

    // Not JSON, and not even UTF-8.
    let err = error_json(&invoke("{oops"));
    assert_eq!(err["code"], codes::INPUT_INVALID_JSON, "{err}");
    let binary = dir.path().join("binary.json");
    std::fs::write(&binary, b"\xff\xfe{}").unwrap();
    let err = error_json(&invoke(&format!("@{}", binary.display())));
    assert_eq!(err["code"], codes::INPUT_INVALID_JSON, "{err}");

    let denied: Vec<Value> = audit_records(&data)
        .into_iter()
        .filter(|r| r["type"] == "invoke" && r["outcome"] == "denied")
        .collect();
    let seen: Vec<&str> = denied.iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(
        seen,
        [
            codes::INPUT_TOO_LARGE,
            codes::INPUT_TOO_LARGE,
            codes::INPUT_INVALID_JSON,
            codes::INPUT_INVALID_JSON
        ]
    );
    for r in &denied {
        assert_eq!(r["skill"], "echo", "{r}");
    }
    assert_eq!(
        denied[1]["detail"]["message"],
        "input is more than 65536 bytes; the limit is 65536"
    );
    // Nothing ran.
    assert!(
        !audit_records(&data)
            .iter()
            .any(|r| r["type"] == "invoke.start"),
        "a refused input started the skill"
    );
}
