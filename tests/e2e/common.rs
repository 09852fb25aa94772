//! Shared helpers: locating the built example skills and one shared engine.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use skillhost::{HostConfig, Invocation, Limits, LoadedSkill, SkillEngine};

/// The real `skillhost` binary on `data_dir`, isolated from the caller's
/// environment (no config file, no master key, no log filter). The one CLI
/// helper: callers add arguments, env vars and stdio on the `Command`.
pub fn skillhost_cli(data_dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_skillhost"));
    c.env("SKILLHOST_DATA_DIR", data_dir)
        .env_remove("SKILLHOST_CONFIG")
        .env_remove("SKILLHOST_MASTER_KEY")
        .env_remove("RUST_LOG");
    c
}

/// Run `cmd` to completion and insist it succeeded (its stderr is the
/// failure message); its output for further checks.
pub fn succeeded(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Path of a built example skill, e.g. `skill_path("echo")`.
pub fn skill_path(name: &str) -> PathBuf {
    let file = format!("{}.wasm", name);
    let path = repo_root()
        .join("skills-examples/target/wasm32-wasip2/release")
        .join(file);
    assert!(
        path.is_file(),
        "{} is missing: build the example skills first with\n  \
         cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml",
        path.display()
    );
    path
}

pub fn skill_bytes(name: &str) -> Vec<u8> {
    std::fs::read(skill_path(name)).unwrap()
}

/// One engine (default config, no artifact cache) shared by the tests that
/// only need per-invocation limits.
pub fn engine() -> &'static SkillEngine {
    static ENGINE: OnceLock<SkillEngine> = OnceLock::new();
    ENGINE.get_or_init(|| SkillEngine::new(&HostConfig::default(), None, None).expect("engine"))
}

/// A skill loaded once into the shared engine.
pub fn skill(name: &str) -> Arc<LoadedSkill> {
    static SKILLS: OnceLock<Mutex<HashMap<String, Arc<LoadedSkill>>>> = OnceLock::new();
    let map = SKILLS.get_or_init(Default::default);
    if let Some(s) = map.lock().unwrap().get(name) {
        return s.clone();
    }
    let loaded = Arc::new(
        engine()
            .load(&skill_bytes(name))
            .expect("example skill loads"),
    );
    map.lock()
        .unwrap()
        .entry(name.to_string())
        .or_insert(loaded)
        .clone()
}

/// Limits for tests: the defaults with a short deadline and a smaller fuel
/// budget, so adversarial skills are stopped quickly.
pub fn test_limits() -> Limits {
    Limits {
        timeout_ms: 2_000,
        fuel: 200_000_000,
        ..Limits::default()
    }
}

pub async fn invoke(name: &str, input: &str) -> Invocation {
    skill(name).invoke(input, &test_limits()).await
}

pub async fn invoke_with(name: &str, input: &str, limits: &Limits) -> Invocation {
    skill(name).invoke(input, limits).await
}

/// The code of a failed invocation; panics with the output if it succeeded.
pub fn code(inv: &Invocation) -> &'static str {
    match &inv.result {
        Ok(out) => panic!("expected a failure, got output {out}"),
        Err(e) => e.code(),
    }
}

/// Parse the JSON output of a successful invocation.
pub fn output(inv: &Invocation) -> serde_json::Value {
    match &inv.result {
        Ok(out) => serde_json::from_str(out).expect("output is JSON"),
        Err(e) => panic!("expected success, got {}: {e}", e.code()),
    }
}

/// After a hostile skill, the same engine still serves a normal one.
pub async fn assert_host_still_serves() {
    let inv = invoke("echo", r#"{"still":"up"}"#).await;
    assert_eq!(output(&inv), serde_json::json!({"still": "up"}));
}

/// The same component with a custom section appended: different bytes (a
/// new digest), identical behaviour and name. Models "a new version".
pub fn variant(bytes: &[u8], tag: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"skillhost-test-variant";
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    leb(payload.len(), &mut out);
    out.extend_from_slice(&payload);
    out
}

/// Audit records of a data dir, oldest first, as JSON.
pub fn audit_records(data_dir: &std::path::Path) -> Vec<serde_json::Value> {
    skillhost::audit::read_all(data_dir)
        .unwrap()
        .into_iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
}
