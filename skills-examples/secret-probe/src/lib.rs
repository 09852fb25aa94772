//! A probe for the secret-leak suite (tests/e2e/secret_leaks.rs): it runs a
//! list of steps — HTTP requests through the host, log records, stdout and
//! stderr lines, a skill error, a panic, or a raw JSON output — and reports
//! exactly what came back to it.
//!
//! The report must survive the host's own output scan unchanged, so that a
//! test can see what the guest saw even where the host failed to redact:
//! every byte received (status as text, header names and values, body, or
//! an error's code and message) is XORed with 0xA5 and hex-encoded
//! (`seen`), which no scanner recognises. `sha256` is the SHA-256 of the
//! same bytes, so a test can also check that a response arrived intact.
//!
//! Input: `{"steps": [step, ...]}`, each step one of
//! - `{"http": {"method"?, "url", "headers"?: [[name, value]], "body"?,
//!   "body_hex"?}}`: `{token}` in a header name or value becomes the
//!   placeholder `{{secret:API_TOKEN}}`;
//! - `{"log": "text"}`, `{"print": "text"}` (stdout), `{"eprint": "text"}`
//!   (stderr), `{"print_times": ["text", n]}` (stdout, n lines);
//! - `{"fail": {"code", "message"}}`: return a skill error;
//! - `{"panic": "message"}`;
//! - `{"output": "raw JSON text"}`: return exactly this text as the output
//!   (so escape spellings such as `"\u0073k-..."` reach the host as written);
//! - `{"embed": "raw JSON text"}`: add it, as written, to the report's `raw`.
//!
//! Output (unless a step ended the run): `{"responses": [...], "raw": [...]}`,
//! one entry per `http` step: `{"step", "ok": true, "status", "sha256",
//! "body_sha256", "seen": {"status", "headers": [[name, value]], "body"}}`
//! or `{"step", "ok": false, "code", "sha256", "seen": {"code", "message"}}`.
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use skillhost_sdk::http::Request;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError, info, secret};

const JSON_API: &str = "https://json-api.test:47443";
const SECOND_API: &str = "https://api.test:47444";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    steps: Vec<Step>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Http(HttpStep),
    Log(String),
    Print(String),
    /// Print a line this many times (to reach the stdio cap cheaply).
    PrintTimes(String, u32),
    Eprint(String),
    Fail {
        code: String,
        message: String,
    },
    Panic(String),
    Output(String),
    Embed(String),
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HttpStep {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    /// The body as hex, for bytes that are not UTF-8.
    #[serde(default)]
    body_hex: Option<String>,
}

#[derive(Serialize)]
struct Report {
    responses: Vec<Received>,
    raw: Vec<Box<RawValue>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Received {
    Response {
        step: usize,
        ok: bool,
        status: u16,
        sha256: String,
        body_sha256: String,
        seen: SeenResponse,
    },
    Error {
        step: usize,
        ok: bool,
        code: String,
        sha256: String,
        seen: SeenError,
    },
}

#[derive(Serialize)]
struct SeenResponse {
    status: String,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Serialize)]
struct SeenError {
    code: String,
    message: String,
}

/// Each byte XORed with 0xA5, then lower-case hex.
fn veil(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let x = b ^ 0xA5;
        out.push(HEX[usize::from(x >> 4)] as char);
        out.push(HEX[usize::from(x & 0xf)] as char);
    }
    out
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so the split between parts is part of the hash.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, SkillError> {
    let bad = || SkillError::new("bad_input", "body_hex is not hex");
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect()
}

fn raw(text: String) -> Result<Box<RawValue>, SkillError> {
    RawValue::from_string(text)
        .map_err(|e| SkillError::new("bad_raw", format!("not JSON text: {e}")))
}

fn fetch(step: usize, h: HttpStep) -> Result<Received, SkillError> {
    let token = secret("API_TOKEN");
    let mut request = Request::new(h.method.unwrap_or_else(|| "GET".into()), h.url);
    for (name, value) in h.headers {
        request = request.header(
            name.replace("{token}", &token),
            value.replace("{token}", &token),
        );
    }
    if let Some(body) = h.body {
        request = request.body(body.into_bytes());
    }
    if let Some(body) = h.body_hex {
        request = request.body(unhex(&body)?);
    }
    Ok(match request.send() {
        Ok(r) => {
            let status = r.status.to_string();
            let mut parts: Vec<&[u8]> = vec![status.as_bytes()];
            for (n, v) in &r.headers {
                parts.push(n.as_bytes());
                parts.push(v.as_bytes());
            }
            parts.push(&r.body);
            Received::Response {
                step,
                ok: true,
                status: r.status,
                sha256: sha256_hex(&parts),
                body_sha256: sha256_hex(&[&r.body]),
                seen: SeenResponse {
                    status: veil(status.as_bytes()),
                    headers: r
                        .headers
                        .iter()
                        .map(|(n, v)| (veil(n.as_bytes()), veil(v.as_bytes())))
                        .collect(),
                    body: veil(&r.body),
                },
            }
        }
        Err(e) => Received::Error {
            step,
            ok: false,
            sha256: sha256_hex(&[e.code.as_bytes(), e.message.as_bytes()]),
            seen: SeenError {
                code: veil(e.code.as_bytes()),
                message: veil(e.message.as_bytes()),
            },
            code: e.code,
        },
    })
}

struct SecretProbe;

impl Skill for SecretProbe {
    type Input = Input;
    type Output = Box<RawValue>;
    const MANIFEST: Manifest = Manifest::new(
        "secret-probe",
        env!("CARGO_PKG_VERSION"),
        "Reports, in a form no scanner reads, everything the host let back into the guest.",
    )
    .http(&[JSON_API, SECOND_API])
    .secrets(&["API_TOKEN"]);

    fn invoke(input: Input) -> Result<Box<RawValue>, SkillError> {
        let mut report = Report {
            responses: Vec::new(),
            raw: Vec::new(),
        };
        for (i, step) in input.steps.into_iter().enumerate() {
            match step {
                Step::Http(h) => report.responses.push(fetch(i, h)?),
                Step::Log(m) => info!("{m}"),
                Step::Print(m) => println!("{m}"),
                Step::PrintTimes(m, n) => {
                    for _ in 0..n {
                        println!("{m}");
                    }
                }
                Step::Eprint(m) => eprintln!("{m}"),
                Step::Fail { code, message } => return Err(SkillError::new(code, message)),
                Step::Panic(m) => panic!("{m}"),
                Step::Output(text) => return raw(text),
                Step::Embed(text) => report.raw.push(raw(text)?),
            }
        }
        let text = serde_json::to_string(&report)
            .map_err(|e| SkillError::new("output_encoding", e.to_string()))?;
        raw(text)
    }
}

skillhost_sdk::export_skill!(SecretProbe);
