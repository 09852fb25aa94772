//! A guest may not speak with the host's voice.
//!
//! The `lookalike-codes` skill fails with whatever code and message it is
//! given. Through every front end (the library, the CLI, the HTTP API and
//! MCP), a code in any host namespace (`limits.timeout`, `ok`, ...), a code
//! that smuggles one in (a newline, JSON, upper case) or one past the size
//! cap reaches the caller only as the host's own `skill.error`, with no
//! `skill_code`, nowhere a client reads a code, and the invocation's logs
//! carry a host record saying why it was dropped. A code that obeys the
//! skill-code grammar passes through as `skill_code`, and control
//! characters in a message come back escaped.
//!
//! Also here: a component importing `wasi:http` (which the host never
//! links), plain or padded with a 12 MiB custom section, is refused with
//! `module.invalid` by the cheap import check, by `skill add` and `dev`
//! alike, and nothing reaches the registry.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use skillhost::registry::Narrowing;
use skillhost::{Added, HostConfig, SkillHost, codes};

use crate::common::*;
use crate::serve::*;

/// The skill's registry name and its wasm file stem.
const SKILL: &str = "lookalike-codes";
const WASM: &str = "lookalike_codes";
/// The message of every forged-code case: no code in it, so any code a
/// client sees came from somewhere else.
const MESSAGE: &str = "the guest speaks";
/// A message with control characters, and how the host must return it.
const CONTROL_MESSAGE: &str = "line one\nline two\u{1b}[31mred\u{7}\r";
const CONTROL_ESCAPED: &str = "line one\\u{a}line two\\u{1b}[31mred\\u{7}\\u{d}";
/// Enough invocations for every case without reaching a rate limit.
const RATE_CONFIG: &str = "[rate]\nper_skill_per_minute = 10000\nglobal_per_minute = 10000\nper_caller_per_minute = 10000\n";

/// A code the host must drop.
#[derive(Debug)]
struct Forged {
    code: String,
    /// A fragment of the host's log record saying why.
    why: String,
    /// Text that must appear nowhere a client reads (`None` where the code
    /// is also an ordinary word of the host's answers: `ok`,
    /// `skill.error`; those are checked as whole values).
    needle: Option<String>,
}

impl Forged {
    fn reserved(code: &str) -> Forged {
        let namespace = code.split('.').next().unwrap();
        Forged {
            code: code.to_string(),
            why: format!("`{namespace}` is a host namespace"),
            needle: (code != codes::OK && code != codes::SKILL_ERROR).then(|| code.to_string()),
        }
    }

    fn malformed(code: &str, needle: &str) -> Forged {
        Forged {
            code: code.to_string(),
            why: "lower-case segments".to_string(),
            needle: Some(needle.to_string()),
        }
    }

    fn too_long(code: String) -> Forged {
        Forged {
            why: format!("it is {} bytes; the limit is 64", code.len()),
            // Any copy longer than the cap, cut or whole, is a leak.
            needle: Some(code[..65].to_string()),
            code,
        }
    }
}

/// Every host namespace, once (the ones named here, then one code of each
/// other namespace in the codes table, so a new namespace is covered at
/// once), and the ways a guest might smuggle a host code in.
fn forged() -> Vec<Forged> {
    let mut reserved = vec![
        "limits.timeout",
        "egress.host_not_allowed",
        "secret.not_set",
        "auth.forbidden",
        "rate.limited",
        "audit.unavailable",
        "registry.invalid_name",
        "input.invalid_json",
        "output.invalid_json",
        "host.internal",
        "skill.error",
        "ok",
    ];
    let namespace = |c: &str| c.split('.').next().unwrap().to_string();
    for (code, _) in codes::ALL {
        if !reserved.iter().any(|r| namespace(r) == namespace(code)) {
            reserved.push(code);
        }
    }
    let mut cases: Vec<Forged> = reserved.into_iter().map(Forged::reserved).collect();
    // A host namespace with segments of the guest's own.
    cases.push(Forged::reserved("limits.timeout.really"));
    cases.push(Forged::reserved("ok.fine"));
    cases.push(Forged::reserved("host.anything"));
    // A second "line" that looks like a host answer.
    cases.push(Forged::malformed(
        "limits.timeout\n{\"code\":\"ok\"}",
        "limits.timeout",
    ));
    // A whole JSON error as the code.
    cases.push(Forged::malformed(
        r#"{"code":"limits.timeout","skill_code":"rate.limited"}"#,
        "limits.timeout",
    ));
    cases.push(Forged::malformed("Limits.Timeout", "Limits.Timeout"));
    // Grammatical and outside every host namespace, but 10 KB, and one
    // byte past the cap.
    cases.push(Forged::too_long(format!(
        "github.{}",
        "a".repeat(10 * 1024 - 7)
    )));
    cases.push(Forged::too_long(format!("github.{}", "b".repeat(58))));
    cases
}

/// Codes a skill may use: they pass through as `skill_code`. The second is
/// what the SDK makes of a host egress code; the third is exactly the cap.
fn valid_codes() -> Vec<String> {
    vec![
        "github.rate_limited".to_string(),
        "fetch.egress_timeout".to_string(),
        format!("github.{}", "c".repeat(57)),
    ]
}

fn input(code: &str, message: &str) -> String {
    json!({ "code": code, "message": message }).to_string()
}

/// Nothing in `v` (recursively, including JSON held in strings, as MCP's
/// text content is) speaks with the host's voice for `f`: every `code` is
/// `skill.error`, there is no `skill_code`, and no value is, or contains,
/// the forged code.
fn no_forgery(v: &Value, f: &Forged, at: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let at = format!("{at}.{k}");
                assert_ne!(
                    k, "skill_code",
                    "{at}: a dropped code came back ({:?})",
                    f.code
                );
                if k == "code" {
                    // The host's own code, the one place `skill.error` is
                    // expected.
                    assert_eq!(x, codes::SKILL_ERROR, "{at} for {:?}", f.code);
                } else {
                    no_forgery(x, f, &at);
                }
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                no_forgery(x, f, &format!("{at}[{i}]"));
            }
        }
        Value::String(s) => {
            assert_ne!(*s, f.code, "{at} is the forged code");
            if let Some(n) = &f.needle {
                assert!(!s.contains(n.as_str()), "{at} holds {n:?}: {s:?}");
            }
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(s) {
                no_forgery(&inner, f, &format!("{at}(json)"));
            }
        }
        _ => {}
    }
}

/// The error body a caller gets for a forged code.
fn check_dropped(body: &Value, f: &Forged, at: &str) {
    assert_eq!(body["code"], codes::SKILL_ERROR, "{at}: {body}");
    assert!(body.get("skill_code").is_none(), "{at}: {body}");
    assert_eq!(body["skill_message"], MESSAGE, "{at}: {body}");
    no_forgery(body, f, at);
}

/// Log records (as JSON) hold a host record saying why `f` was dropped.
fn check_host_log(logs: &Value, f: &Forged, at: &str) {
    let records = logs.as_array().unwrap_or_else(|| panic!("{at}: no logs"));
    assert!(
        records.iter().any(|r| r["source"] == "host"
            && r["message"]
                .as_str()
                .is_some_and(|m| m.contains("dropped") && m.contains(&f.why))),
        "{at}: no host record saying {:?} for {:?}: {logs}",
        f.why,
        f.code
    );
}

fn no_host_log(logs: &Value, at: &str) {
    let records = logs.as_array().unwrap_or_else(|| panic!("{at}: no logs"));
    assert!(
        !records.iter().any(|r| r["source"] == "host"),
        "{at}: a valid code was refused: {logs}"
    );
}

fn config() -> HostConfig {
    let mut config = HostConfig::default();
    config.rate.per_skill_per_minute = 10_000;
    config.rate.global_per_minute = 10_000;
    config.rate.per_caller_per_minute = 10_000;
    config
}

/// Every invoke record of the skill in `dir` carries the host's code, and
/// none holds a forged code.
fn check_audit(dir: &Path, cases: &[Forged], expected: usize) {
    let records: Vec<Value> = audit_records(dir)
        .into_iter()
        .filter(|r| r["type"] == "invoke" && r["skill"] == SKILL)
        .collect();
    assert_eq!(records.len(), expected, "{records:?}");
    for r in &records {
        assert_eq!(r["code"], codes::SKILL_ERROR, "{r}");
        let text = r.to_string();
        for f in cases {
            if let Some(n) = &f.needle {
                assert!(!text.contains(n.as_str()), "audit holds {n:?}: {text}");
            }
        }
    }
}

// ---------------------------------------------------------------- library

#[tokio::test(flavor = "multi_thread")]
async fn library_callers_never_read_a_guest_code_as_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let host = SkillHost::open(&config(), dir.path()).await.unwrap();
    let Added::Pending(v) = host.add(&skill_bytes(WASM), "owner").await.unwrap() else {
        panic!("already added")
    };
    host.approve(SKILL, &v.digest, &Narrowing::default(), "owner")
        .await
        .unwrap();

    let cases = forged();
    for f in &cases {
        let at = format!("library {:?}", f.code);
        let inv = host
            .invoke(SKILL, &input(&f.code, MESSAGE), "lib")
            .await
            .unwrap();
        let err = inv.result.as_ref().unwrap_err();
        assert_eq!(err.code(), codes::SKILL_ERROR, "{at}");
        check_dropped(&err.to_json(), f, &at);
        if let Some(n) = &f.needle {
            assert!(
                !err.to_string().contains(n.as_str()),
                "{at}: Display holds the code: {err}"
            );
        }
        let logs = serde_json::to_value(&inv.logs).unwrap();
        check_host_log(&logs, f, &at);
        no_forgery(&logs, f, &format!("{at} logs"));
    }

    for code in valid_codes() {
        let inv = host
            .invoke(SKILL, &input(&code, MESSAGE), "lib")
            .await
            .unwrap();
        let err = inv.result.as_ref().unwrap_err();
        assert_eq!(err.code(), codes::SKILL_ERROR);
        assert_eq!(err.to_json()["skill_code"], code.as_str());
        assert_eq!(err.to_json()["skill_message"], MESSAGE);
        no_host_log(&serde_json::to_value(&inv.logs).unwrap(), &code);
    }

    let inv = host
        .invoke(SKILL, &input("github.rate_limited", CONTROL_MESSAGE), "lib")
        .await
        .unwrap();
    let body = inv.result.as_ref().unwrap_err().to_json();
    assert_eq!(body["skill_code"], "github.rate_limited");
    assert_eq!(body["skill_message"], CONTROL_ESCAPED);
    assert!(
        !body["message"]
            .as_str()
            .unwrap()
            .contains(['\n', '\u{1b}', '\r'])
    );

    check_audit(dir.path(), &cases, cases.len() + valid_codes().len() + 1);
}

// -------------------------------------------------------------------- CLI

fn skillhost(data_dir: &Path) -> Command {
    let mut c = crate::common::skillhost_cli(data_dir);
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

/// A failed run: exit 1, nothing on stdout, the JSON error on the last
/// stderr line; that error and the whole of stderr.
fn failed(out: &Output) -> (Value, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let last = stderr.lines().last().unwrap_or_default();
    let err = serde_json::from_str(last)
        .unwrap_or_else(|_| panic!("last stderr line is not JSON: {stderr}"));
    (err, stderr)
}

/// The host's log lines on the CLI's stderr, as JSON records.
fn cli_logs(stderr: &str) -> Value {
    Value::Array(
        stderr
            .lines()
            .filter_map(|l| l.strip_prefix("skill warn [host]: "))
            .map(|m| json!({ "source": "host", "message": m }))
            .collect(),
    )
}

#[test]
fn cli_invoke_never_prints_a_guest_code_as_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // With a key, each `invoke` process loads the verified artifact instead
    // of compiling the skill again.
    ok(skillhost(&data)
        .args(["secret", "init-key"])
        .output()
        .unwrap());
    std::fs::write(data.join("skillhost.toml"), RATE_CONFIG).unwrap();
    ok(skillhost(&data)
        .args(["skill", "add"])
        .arg(skill_path(WASM))
        .output()
        .unwrap());
    let digest = skillhost::ModuleDigest::of(&skill_bytes(WASM)).to_string();
    ok(skillhost(&data)
        .args(["skill", "approve", SKILL, "--digest", &digest])
        .output()
        .unwrap());
    let invoke = |code: &str, message: &str| {
        skillhost(&data)
            .args(["invoke", SKILL, "--input", &input(code, message)])
            .output()
            .unwrap()
    };

    let cases = forged();
    for f in &cases {
        let at = format!("cli {:?}", f.code);
        let out = invoke(&f.code, MESSAGE);
        let (err, stderr) = failed(&out);
        check_dropped(&err, f, &at);
        check_host_log(&cli_logs(&stderr), f, &at);
        // Every other stderr line (log records, the host's own tracing)
        // is free of the forged code too.
        for line in stderr.lines() {
            assert_ne!(line, f.code, "{at}");
            if let Some(n) = &f.needle {
                assert!(
                    !line.contains(n.as_str()),
                    "{at}: stderr line holds {n:?}: {line}"
                );
            }
        }
    }

    for code in valid_codes() {
        let (err, stderr) = failed(&invoke(&code, MESSAGE));
        assert_eq!(err["code"], codes::SKILL_ERROR);
        assert_eq!(err["skill_code"], code.as_str());
        no_host_log(&cli_logs(&stderr), &code);
    }

    let (err, stderr) = failed(&invoke("github.rate_limited", CONTROL_MESSAGE));
    assert_eq!(err["skill_code"], "github.rate_limited");
    assert_eq!(err["skill_message"], CONTROL_ESCAPED);
    assert!(
        !stderr.contains(['\u{1b}', '\r', '\u{7}']),
        "a control character reached the terminal: {stderr:?}"
    );

    check_audit(&data, &cases, cases.len() + valid_codes().len() + 1);
}

// --------------------------------------------------------------- HTTP API

#[tokio::test(flavor = "multi_thread")]
async fn http_api_never_answers_with_a_guest_code_as_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &[WASM]).await;
    let s = Server::start(dir.path(), RATE_CONFIG);
    let c = client();
    let url = invoke_url(&s, SKILL);
    let post = |body: String| {
        let (c, url, token) = (c.clone(), url.clone(), t.invoker.clone());
        async move { request(&c, reqwest::Method::POST, &url, Some(&token), Some(&body)).await }
    };

    let cases = forged();
    for f in &cases {
        let at = format!("api {:?}", f.code);
        let a = post(input(&f.code, MESSAGE)).await;
        // The status is the one for `skill.error`: a forged `rate.limited`
        // is no 429, a forged `auth.forbidden` no 403, a forged `ok` no 200.
        assert_eq!(a.status, 502, "{at}: {}", a.text);
        assert_eq!(a.retry_after, None, "{at}");
        assert_eq!(a.www_authenticate, None, "{at}");
        check_dropped(&a.body, f, &at);
        check_host_log(&a.body["logs"], f, &at);
        if let Some(n) = &f.needle {
            assert!(!a.text.contains(n.as_str()), "{at}: the body holds {n:?}");
        }
    }

    for code in valid_codes() {
        let a = post(input(&code, MESSAGE)).await;
        assert_eq!(a.status, 502, "{}", a.text);
        assert_eq!(a.body["code"], codes::SKILL_ERROR);
        assert_eq!(a.body["skill_code"], code.as_str());
        no_host_log(&a.body["logs"], &code);
    }

    let a = post(input("github.rate_limited", CONTROL_MESSAGE)).await;
    assert_eq!(a.body["skill_code"], "github.rate_limited");
    assert_eq!(a.body["skill_message"], CONTROL_ESCAPED);

    check_audit(dir.path(), &cases, cases.len() + valid_codes().len() + 1);
}

// -------------------------------------------------------------------- MCP

/// The Python MCP SDK, installed into target/mcp-venv by scripts/test.sh
/// (as tests/e2e/mcp.rs uses it).
fn python() -> PathBuf {
    let p = repo_root().join("target/mcp-venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test.sh, which installs the Python MCP SDK",
        p.display()
    );
    p
}

/// A client on the official Python SDK that calls the skill once per input
/// and prints each CallToolResult as the client reads it (`_meta`,
/// `content`, `structuredContent`, `isError`).
const MCP_CLIENT: &str = r#"
import json
import sys

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def calls(read, write, tool, inputs):
    out = []
    async with ClientSession(read, write) as session:
        await session.initialize()
        for arguments in inputs:
            result = await session.call_tool(tool, arguments)
            out.append(result.model_dump(by_alias=True, mode="json", exclude_none=True))
    return out


async def main(argv):
    mode, tool = argv[1], argv[2]
    with open(argv[3]) as f:
        inputs = json.load(f)
    if mode == "stdio":
        binary, data_dir, token = argv[4], argv[5], argv[6]
        params = StdioServerParameters(
            command=binary,
            args=["--data-dir", data_dir, "mcp"],
            env={"SKILLHOST_TOKEN": token},
        )
        async with stdio_client(params) as (read, write):
            out = await calls(read, write, tool, inputs)
    else:
        url, token = argv[4], argv[5]
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with client:
            async with streamable_http_client(url, http_client=client) as streams:
                out = await calls(streams[0], streams[1], tool, inputs)
    print(json.dumps(out))


if __name__ == "__main__":
    anyio.run(main, sys.argv)
"#;

/// Run the client (off the async runtime) with `inputs`; one result each.
async fn mcp_calls(dir: &Path, transport: Vec<String>, inputs: &[Value]) -> Vec<Value> {
    let script = dir.join("guest_voice_client.py");
    std::fs::write(&script, MCP_CLIENT).unwrap();
    let inputs_file = dir.join("guest_voice_inputs.json");
    std::fs::write(&inputs_file, serde_json::to_vec(inputs).unwrap()).unwrap();
    let mode = transport[0].clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script)
            .arg(mode)
            .arg(SKILL)
            .arg(inputs_file)
            .args(&transport[1..])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "MCP client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), inputs.len());
    results
}

/// A tool error for a forged code: the structured content and the text are
/// the host's `skill.error`, and nothing in the result (`_meta` included)
/// holds the forged code.
fn check_mcp_dropped(result: &Value, f: &Forged, at: &str) {
    assert_eq!(result["isError"], true, "{at}: {result}");
    assert!(result.get("structuredContent").is_none(), "{at}: {result}");
    check_dropped(&result["_meta"]["skillhost/error"], f, at);
    let text = result["content"][0]["text"].as_str().unwrap();
    let from_text: Value = serde_json::from_str(text).unwrap();
    check_dropped(&from_text, f, &format!("{at} text"));
    no_forgery(result, f, at);
}

async fn invoker_token(dir: &Path) -> String {
    let t = prepare(dir, &[WASM]).await;
    std::fs::write(dir.join("skillhost.toml"), RATE_CONFIG).unwrap();
    t.invoker
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_over_stdio_never_reports_a_guest_code_as_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let token = invoker_token(dir.path()).await;
    let cases = forged();
    let mut inputs: Vec<Value> = cases
        .iter()
        .map(|f| json!({ "code": f.code, "message": MESSAGE }))
        .collect();
    inputs.push(json!({ "code": "github.rate_limited", "message": CONTROL_MESSAGE }));
    let scratch = tempfile::tempdir().unwrap();
    let results = mcp_calls(
        scratch.path(),
        vec![
            "stdio".into(),
            env!("CARGO_BIN_EXE_skillhost").into(),
            dir.path().display().to_string(),
            token,
        ],
        &inputs,
    )
    .await;
    for (f, result) in cases.iter().zip(&results) {
        check_mcp_dropped(result, f, &format!("mcp stdio {:?}", f.code));
    }
    let valid = results.last().unwrap();
    assert_eq!(valid["isError"], true);
    assert_eq!(
        valid["_meta"]["skillhost/error"]["code"],
        codes::SKILL_ERROR
    );
    assert_eq!(
        valid["_meta"]["skillhost/error"]["skill_code"],
        "github.rate_limited"
    );
    assert_eq!(
        valid["_meta"]["skillhost/error"]["skill_message"],
        CONTROL_ESCAPED
    );
    check_audit(dir.path(), &cases, cases.len() + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_over_http_never_reports_a_guest_code_as_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let token = invoker_token(dir.path()).await;
    let s = Server::start(dir.path(), RATE_CONFIG);
    let cases = vec![
        Forged::malformed("limits.timeout\n{\"code\":\"ok\"}", "limits.timeout"),
        Forged::reserved("rate.limited"),
        Forged::reserved("ok"),
    ];
    let mut inputs: Vec<Value> = cases
        .iter()
        .map(|f| json!({ "code": f.code, "message": MESSAGE }))
        .collect();
    inputs.push(json!({ "code": "fetch.egress_timeout", "message": MESSAGE }));
    let scratch = tempfile::tempdir().unwrap();
    let results = mcp_calls(
        scratch.path(),
        vec!["http".into(), format!("{}/mcp", s.url), token],
        &inputs,
    )
    .await;
    for (f, result) in cases.iter().zip(&results) {
        check_mcp_dropped(result, f, &format!("mcp http {:?}", f.code));
    }
    let valid = results.last().unwrap();
    assert_eq!(
        valid["_meta"]["skillhost/error"]["skill_code"],
        "fetch.egress_timeout"
    );
    check_audit(dir.path(), &cases, cases.len() + 1);
}

// ------------------------------------------------- unlinkable components

/// `wants-wasi-http`, as built, and with a 12 MiB custom section appended
/// (still a valid component, with a new digest).
fn unlinkable() -> Vec<(&'static str, Vec<u8>)> {
    let plain = skill_bytes("wants_wasi_http");
    let padded = variant(&plain, &"p".repeat(12 << 20));
    vec![("plain", plain), ("padded 12 MiB", padded)]
}

/// The refusal: `module.invalid`, from the import check that runs before
/// any compiling ("never provides"; the linker, after compiling, says
/// "does not provide"), naming the import and the componentize-js fix.
fn check_refusal(err: &Value, at: &str) {
    assert_eq!(err["code"], codes::MODULE_INVALID, "{at}: {err}");
    let message = err["message"].as_str().unwrap();
    for expected in ["`wasi:http/types", "never provides", "-d http fetch-event"] {
        assert!(
            message.contains(expected),
            "{at}: no {expected:?} in {message}"
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn skill_add_and_dev_refuse_a_component_importing_wasi_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (what, bytes) in unlinkable() {
        let file = dir.path().join("wants-wasi-http.wasm");
        std::fs::write(&file, &bytes).unwrap();

        let out = skillhost(&data)
            .args(["skill", "add"])
            .arg(&file)
            .output()
            .unwrap();
        check_refusal(&failed(&out).0, &format!("skill add ({what})"));

        let out = skillhost(&data)
            .arg("dev")
            .arg(&file)
            .args(["--input", "{}"])
            .output()
            .unwrap();
        let (err, stderr) = failed(&out);
        check_refusal(&err, &format!("dev ({what})"));
        assert!(
            !stderr.contains("approving everything"),
            "dev went on after the refusal: {stderr}"
        );
    }

    // Nothing reached the registry, the module store or the artifact cache.
    let list: Value = serde_json::from_str(&ok(skillhost(&data)
        .args(["skill", "list", "--json"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(list, json!([]));
    for sub in ["modules", "artifacts"] {
        let files = files_under(&data.join(sub));
        assert!(files.is_empty(), "{sub}: {files:?}");
    }
    // Each refused add is a denied, audited decision.
    let adds: Vec<Value> = audit_records(&data)
        .into_iter()
        .filter(|r| r["type"] == "skill.add")
        .collect();
    assert_eq!(adds.len(), 2, "{adds:?}");
    for r in &adds {
        assert_eq!(r["code"], codes::MODULE_INVALID, "{r}");
        assert_eq!(r["outcome"], "denied", "{r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_library_refuses_a_component_importing_wasi_http() {
    let dir = tempfile::tempdir().unwrap();
    let host = SkillHost::open(&HostConfig::default(), dir.path())
        .await
        .unwrap();
    for (what, bytes) in unlinkable() {
        let err = engine().load(&bytes).err().expect("refused");
        check_refusal(&err.to_json(), &format!("load ({what})"));
        let err = host.add(&bytes, "owner").await.unwrap_err();
        check_refusal(&err.to_json(), &format!("add ({what})"));
    }
    assert!(host.list().unwrap().is_empty());
    assert!(files_under(&dir.path().join("modules")).is_empty());
}
