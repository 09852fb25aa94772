//! Skills written in Python with the Python SDK (`sdk/python`), built by
//! `scripts/build-polyglot.sh` into `target/polyglot/`: the same contract,
//! the same sandbox and the same answers as the Rust examples. Each
//! interpreter component (about 19 MB, CPython inside) is compiled once per
//! test process.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use skillhost::registry::Narrowing;
use skillhost::secrets::MasterKey;
use skillhost::{Added, HostConfig, Limits, LoadedSkill, SkillEngine, SkillHost, codes};
use zeroize::Zeroizing;

use crate::common::*;
use crate::egress::{egress_config, json_api, net};
use crate::servers::TEST_TOKEN;

pub fn polyglot_path(name: &str) -> PathBuf {
    let path = repo_root()
        .join("target/polyglot")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: build the Python examples with scripts/build-polyglot.sh",
        path.display()
    );
    path
}

fn polyglot_bytes(name: &str) -> Vec<u8> {
    std::fs::read(polyglot_path(name)).unwrap()
}

/// The engine the Python skills run on (the egress tests' settings), and
/// each component, compiled on first use.
fn python(name: &'static str) -> Arc<LoadedSkill> {
    static ENGINE: OnceLock<SkillEngine> = OnceLock::new();
    type Loaded = std::sync::Mutex<Vec<(&'static str, Arc<LoadedSkill>)>>;
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let config = HostConfig {
            egress: egress_config(&net().ca_file, true),
            ..HostConfig::default()
        };
        SkillEngine::new(&config, None, None).unwrap()
    });
    let loaded = LOADED.get_or_init(Default::default);
    let mut list = loaded.lock().unwrap();
    if let Some((_, s)) = list.iter().find(|(n, _)| *n == name) {
        return s.clone();
    }
    let s = Arc::new(engine.load(&polyglot_bytes(name)).unwrap());
    list.push((name, s.clone()));
    s
}

fn limits() -> Limits {
    Limits {
        timeout_ms: 10_000,
        ..Limits::default()
    }
}

#[tokio::test]
async fn python_word_stats_answers_as_the_rust_one() {
    let py = python("py_word_stats");
    let rust = skill("word_stats");
    let inputs = [
        json!({"text": ""}),
        json!({"text": "one"}),
        json!({"text": "the cat the hat\nthe end"}),
        json!({"text": "The THE the, tHe! a b c d e f", "top": 10}),
        json!({"text": "don't stop: don't, won't", "top": 2}),
        json!({"text": "line one\nline two\n", "top": 0}),
        json!({"text": "café Café CAFÉ 42 42 x_y", "top": 5}),
        json!({"text": "a\n\nb\n\n", "top": 1}),
        json!({"text": "tabs\tand  spaces\r\nand CRLF", "top": 50}),
        json!({"text": "many", "top": 51}),
    ];
    for input in inputs {
        let text = input.to_string();
        let (p, r) = (
            py.invoke(&text, &limits()).await,
            rust.invoke(&text, &limits()).await,
        );
        match (&p.result, &r.result) {
            (Ok(p), Ok(r)) => {
                let (p, r): (Value, Value) = (
                    serde_json::from_str(p).unwrap(),
                    serde_json::from_str(r).unwrap(),
                );
                assert_eq!(p, r, "{input}");
            }
            (Err(p), Err(r)) => {
                assert_eq!(p.code(), r.code(), "{input}");
                assert_eq!(
                    p.to_json()["skill_code"],
                    r.to_json()["skill_code"],
                    "{input}"
                );
            }
            (p, r) => panic!("{input}: python {p:?}, rust {r:?}"),
        }
    }
}

#[tokio::test]
async fn python_errors_and_exceptions_are_skill_errors_not_traps() {
    let py = python("py_word_stats");
    // Input that does not fit the type: the SDK's own error.
    let inv = py.invoke(r#"{"text": 7}"#, &limits()).await;
    let e = inv.result.unwrap_err();
    assert_eq!(e.code(), codes::SKILL_ERROR);
    assert_eq!(e.to_json()["skill_code"], "invalid_input");
    // Not JSON at all is the host's refusal, before the sandbox.
    let inv = py.invoke("{", &limits()).await;
    assert_eq!(inv.result.unwrap_err().code(), codes::INPUT_INVALID_JSON);
}

#[tokio::test]
async fn a_python_skill_meets_the_sandbox_limits() {
    let adv = python("py_adversarial");
    let run = |mode: &str| {
        let adv = adv.clone();
        let input = json!({ "mode": mode }).to_string();
        async move { adv.invoke(&input, &limits()).await }
    };
    let code =
        |inv: &skillhost::Invocation| inv.result.as_ref().map_or_else(|e| e.code(), |_| codes::OK);
    let looped = run("loop").await;
    assert!(
        [codes::FUEL_EXHAUSTED, codes::TIMEOUT].contains(&code(&looped)),
        "{:?}",
        looped.result
    );
    let hog = run("hog").await;
    assert_eq!(code(&hog), codes::MEMORY, "{:?}", hog.result);
    let bomb = run("bomb").await;
    assert_eq!(code(&bomb), codes::OUTPUT_TOO_LARGE, "{:?}", bomb.result);
    // No grant: the host refuses, and the SDK hands the code over.
    let egress = output(&run("egress").await);
    assert_eq!(
        egress["refused"],
        codes::EGRESS_HOST_NOT_ALLOWED,
        "{egress}"
    );
    // Files, environment and sockets: nothing there.
    let files = output(&run("files").await);
    for (path, found) in files["files"].as_object().unwrap() {
        let found = found.as_str().unwrap_or_default();
        assert!(found.starts_with("error:"), "{path}: {found}");
    }
    assert_eq!(output(&run("env").await)["env"], json!({}));
    let socket = output(&run("socket").await);
    assert!(
        socket["socket"].as_str().unwrap().starts_with("error:"),
        "{socket}"
    );
    let fetch = output(&run("fetch").await);
    assert!(
        fetch["urllib"].as_str().unwrap().starts_with("error:"),
        "{fetch}"
    );
}

/// The Python bearer client through the whole pipeline: the host injects
/// the token the skill never sees, and a server that reflects it finds it
/// redacted everywhere the skill could look.
#[tokio::test]
async fn a_python_skill_gets_its_secret_injected_and_redacted_like_a_rust_one() {
    let _api = json_api();
    let dir = repo_root().join("target/test-artifacts/polyglot-secret");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    MasterKey::generate()
        .write_new(&dir.join("master.key"))
        .unwrap();
    let config = HostConfig {
        egress: egress_config(&net().ca_file, true),
        limits: limits(),
        ..HostConfig::default()
    };
    let host = SkillHost::open(&config, &dir).await.unwrap();
    let Added::Pending(v) = host
        .add(&polyglot_bytes("py_bearer_client"), "owner")
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(v.declared.requested.http, ["https://json-api.test:47443"]);
    assert_eq!(v.declared.requested.secrets, ["API_TOKEN"]);
    host.approve(
        "py-bearer-client",
        &v.digest,
        &Narrowing::default(),
        "owner",
    )
    .await
    .unwrap();
    host.set_secret(
        "py-bearer-client",
        "API_TOKEN",
        Zeroizing::new(TEST_TOKEN.into()),
        &["https://json-api.test:47443".into()],
        "owner",
    )
    .await
    .unwrap();
    let call = |input: Value| {
        let host = &host;
        async move {
            host.invoke("py-bearer-client", &input.to_string(), "agent")
                .await
                .unwrap()
        }
    };
    let ok = call(json!({})).await;
    let out = output(&ok);
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"user":"alice"}"#);
    let reflected = call(json!({ "path": "/reflect" })).await;
    let text = reflected.result.clone().unwrap();
    assert!(text.contains("[REDACTED:API_TOKEN]"), "{text}");
    // To a destination it is not bound to: refused, nothing sent.
    let elsewhere = output(&call(json!({ "url": "https://evil.test/x" })).await);
    assert_eq!(elsewhere["refused"], codes::EGRESS_HOST_NOT_ALLOWED);
    use base64::Engine as _;
    let forms = [
        TEST_TOKEN.to_string(),
        base64::engine::general_purpose::STANDARD.encode(TEST_TOKEN),
        hex::encode(TEST_TOKEN),
    ];
    let mut seen = vec![text];
    seen.extend(
        [&ok, &reflected]
            .iter()
            .flat_map(|i| i.logs.iter().map(|l| l.message.clone())),
    );
    seen.push(serde_json::to_string(&audit_records(&dir)).unwrap());
    for s in &seen {
        for f in &forms {
            assert!(!s.contains(f.as_str()), "the token leaked: {s}");
        }
    }
}

/// `skillhost new NAME --lang python` writes a project that tests natively,
/// builds with the SDK written into it, and runs under `skillhost dev`.
#[test]
fn a_new_python_project_tests_builds_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let skillhost = env!("CARGO_BIN_EXE_skillhost");
    let out = succeeded(std::process::Command::new(skillhost).args([
        "new",
        "hello-py",
        "--lang",
        "python",
        "--dir",
        dir.path().to_str().unwrap(),
    ]));
    let project = dir.path().join("hello-py");
    assert!(String::from_utf8_lossy(&out.stdout).contains("build.sh"));
    for file in [
        "app.py",
        "test_app.py",
        "build.sh",
        "requirements.txt",
        "skillhost_sdk/_guest.py",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    // The SDK in the project is the SDK of this repository.
    assert_eq!(
        std::fs::read(project.join("skillhost_sdk/schema.py")).unwrap(),
        std::fs::read(repo_root().join("sdk/python/skillhost_sdk/schema.py")).unwrap()
    );
    // A second `new` over it writes nothing.
    let again = std::process::Command::new(skillhost)
        .args(["new", "hello-py", "--lang", "python", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    let venv = repo_root().join("target/mcp-venv/bin");
    let python = venv.join("python");
    succeeded(
        std::process::Command::new(&python)
            .args(["-m", "unittest", "-q"])
            .current_dir(&project),
    );
    // The build, with the pinned componentize-py the suite installed.
    let path = format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let built = succeeded(
        std::process::Command::new(&python)
            .args([
                "-m",
                "skillhost_sdk",
                "build",
                "app.py",
                "-o",
                "hello-py.wasm",
            ])
            .env("PATH", path)
            .current_dir(&project),
    );
    assert!(String::from_utf8_lossy(&built.stdout).contains("hello-py.wasm"));
    let ran = succeeded(
        std::process::Command::new(skillhost)
            .env("SKILLHOST_DATA_DIR", dir.path().join("data"))
            .arg("dev")
            .arg(project.join("hello-py.wasm"))
            .args(["--input", r#"{"text": "hello new world"}"#]),
    );
    let v: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(v, json!({"words": 3}));
    // Without componentize-py (the system's python, nothing on PATH) the
    // build says what to install.
    let system = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let system = String::from_utf8_lossy(&system.stdout).trim().to_string();
    let bare = std::process::Command::new(&system)
        .args(["-m", "skillhost_sdk", "build", "app.py"])
        .env("PATH", "/nonexistent")
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(!bare.status.success());
    let said = String::from_utf8_lossy(&bare.stderr);
    assert!(
        said.contains("pip install 'componentize-py==0.25.1'"),
        "{said}"
    );
}
