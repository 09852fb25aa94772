//! The secret-leak suite: DESIGN.md "Security rules" 4, attacked through the
//! real host by a real skill (`secret-probe`) and real hostile servers on
//! loopback (`servers::hostile`).
//!
//! The probe hands back everything the host let into the guest XORed with
//! 0xA5 and hex-encoded (`seen`), which no scanner recognises, so a test can
//! see what the guest saw even where the host failed. What counts as a leak
//! is decided here, by [`LeakForms`], written independently of the host's
//! scanner: the secret raw, case-changed, escaped, entity-encoded,
//! percent-encoded, quoted-printable, base64 (any alignment), UTF-16 and hex
//! (with separators), and every 12-character window of it in each of those.
//!
//! Every invocation is checked (guest view, output, logs, error), and at the
//! end of each test the audit log and every file of the data dir. Data dirs
//! stay under `target/test-artifacts/` so the test command's final scan sees
//! them too.
//!
//! The classes follow the rules of the brief the suite was written to:
//! `r1_*` everything entering the guest is scanned in every invocation,
//! `r2_*` content and transfer codings, `r3_*` reflected forms and partial
//! copies, `r4_*` the output parsed and re-serialised, `r5_*` redaction
//! before truncation, `r6_*` no secret to an unbound destination.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use skillhost::registry::Narrowing;
use skillhost::secrets::MasterKey;
use skillhost::{Added, HostConfig, Invocation, InvokeError, SkillHost};
use zeroize::Zeroizing;

use crate::common::*;
use crate::egress::{egress_config, json_api, net};
use crate::servers::{self, TEST_TOKEN, TestServer, hostile};

/// The destination the secret is bound to (`json_api()`).
const BOUND: &str = "https://json-api.test:47443";
/// The probe's second destination: granted, but the secret is not bound to
/// it. Its server shares the store with the first.
pub const SECOND_PORT: u16 = 47444;
const SECOND: &str = "https://api.test:47444";
/// A second value for the secret, with the characters escapes and entities
/// exist for: `"`, `\`, `&`, `<`, `>`, `'`, `/` and a space.
const ALT_TOKEN: &str = "alt-7\"c&4\\b9 <e2>'d1/f0x9";
/// What the host writes in place of the secret (README, "Secrets").
const MARKER: &str = "[REDACTED:API_TOKEN]";
/// Codes the host's new scanner and egress introduce.
const UNSUPPORTED_ENCODING: &str = "egress.unsupported_encoding";
const EXFILTRATION: &str = "secret.exfiltration";
const RESPONSE_TOO_LARGE: &str = "egress.response_too_large";

pub fn second_api() -> &'static TestServer {
    static API: OnceLock<TestServer> = OnceLock::new();
    API.get_or_init(|| servers::start(SECOND_PORT, Some(&net().pki)))
}

/// A name no other test (or earlier run) uses: store keys and URL markers.
fn unique(label: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn artifacts(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target/test-artifacts")
        .join(format!("secret-leaks-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tests' host config: the loopback servers and the test CA; generous
/// request, rate and time budgets so that many attacks fit in one test. The
/// limits the rules speak of (response and output caps, log and message
/// caps) keep their defaults, except the output cap, which must hold the
/// probe's hex report.
fn config() -> HostConfig {
    let mut c = HostConfig {
        egress: egress_config(&net().ca_file, true),
        ..HostConfig::default()
    };
    c.egress.request_timeout_ms = 10_000;
    c.limits.timeout_ms = 60_000;
    c.server.request_timeout_ms = 90_000;
    c.limits.http_requests = 100;
    c.limits.output_bytes = 1 << 20;
    c.rate.per_skill_per_minute = 10_000;
    c.rate.per_caller_per_minute = 10_000;
    c.rate.global_per_minute = 10_000;
    c
}

// ---------------------------------------------------------------------------
// What counts as a leak: an independent list of a secret's forms.

fn hex_sep(bytes: &[u8], before: &str, sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{before}{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

fn u_escaped(text: &str) -> String {
    text.encode_utf16().map(|u| format!("\\u{u:04x}")).collect()
}

fn html_named(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => "&quot;".into(),
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '\'' => "&apos;".into(),
            '\\' => "&bsol;".into(),
            '/' => "&sol;".into(),
            ' ' => "&nbsp;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn pct_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

fn url_form(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b if b.is_ascii_alphanumeric() || b"-._*".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02x}"),
        })
        .collect()
}

/// A secret's forms: `ci` matched ASCII-case-insensitively, `exact`
/// (base64) as is.
struct LeakForms {
    secret: String,
    ci: Vec<Vec<u8>>,
    exact: Vec<Vec<u8>>,
    ci_matcher: AhoCorasick,
    exact_matcher: AhoCorasick,
}

/// Every form of `secret` that counts as a leak.
fn leak_forms(secret: &str) -> LeakForms {
    let w = hostile::window(secret);
    assert!(w >= 12, "the suite's secrets are at least 24 characters");
    let cases = [
        secret.to_string(),
        secret.to_lowercase(),
        secret.to_uppercase(),
    ];
    let mut pieces: Vec<String> = Vec::new();
    for c in &cases {
        pieces.push(c.clone());
        let chars: Vec<char> = c.chars().collect();
        for start in 0..=chars.len() - w {
            pieces.push(chars[start..start + w].iter().collect());
        }
    }
    pieces.sort();
    pieces.dedup();
    let mut ci: Vec<Vec<u8>> = Vec::new();
    for p in &pieces {
        let b = p.as_bytes();
        ci.push(b.to_vec());
        ci.push(json_escaped(p).into_bytes());
        ci.push(json_escaped(p).replace('/', "\\/").into_bytes());
        ci.push(u_escaped(p).into_bytes());
        ci.push(html_named(p).into_bytes());
        ci.push(
            p.chars()
                .map(|c| format!("&#{};", c as u32))
                .collect::<String>()
                .into_bytes(),
        );
        ci.push(
            p.chars()
                .map(|c| format!("&#x{:x};", c as u32))
                .collect::<String>()
                .into_bytes(),
        );
        ci.push(pct_all(b).into_bytes());
        ci.push(url_form(p).into_bytes());
        ci.push(pct_all(pct_all(b).as_bytes()).into_bytes());
        ci.push(
            b.iter()
                .map(|x| format!("={x:02x}"))
                .collect::<String>()
                .into_bytes(),
        );
        ci.push(utf16(p, false));
        ci.push(utf16(p, true));
        ci.push(hex_sep(b, "", "").into_bytes());
        for sep in [":", " ", "-", ","] {
            ci.push(hex_sep(b, "", sep).into_bytes());
        }
        ci.push(hex_sep(b, "\\x", "").into_bytes());
        ci.push(hex_sep(b, "0x", " ").into_bytes());
        ci.push(hex_sep(b, "0x", ",").into_bytes());
        ci.push(hex_sep(b, "0x", ", ").into_bytes());
    }
    let mut exact: Vec<Vec<u8>> = Vec::new();
    for c in &cases {
        let b = c.as_bytes();
        for e in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            exact.push(e.encode(b).into_bytes());
        }
        // Any 9 bytes of the value on a 3-byte group boundary: that run of
        // base64 appears wherever the value (or a 12-character piece of it)
        // is encoded, at any alignment, and within any one line of a
        // wrapped encoding that holds 12 bytes or more of it.
        for start in 0..=b.len() - 9 {
            exact.push(STANDARD_NO_PAD.encode(&b[start..start + 9]).into_bytes());
            exact.push(URL_SAFE_NO_PAD.encode(&b[start..start + 9]).into_bytes());
        }
    }
    for list in [&mut ci, &mut exact] {
        list.sort();
        list.dedup();
        assert!(
            list.iter().all(|f| f.len() >= 12),
            "a form too short to mean anything"
        );
    }
    let ci_matcher = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&ci)
        .unwrap();
    let exact_matcher = AhoCorasick::new(&exact).unwrap();
    LeakForms {
        secret: secret.to_string(),
        ci,
        exact,
        ci_matcher,
        exact_matcher,
    }
}

/// Decodings a guest could undo itself: if the host handed it a compressed
/// body, the secret must not be inside either.
fn undo_codings(bytes: &[u8]) -> Vec<Vec<u8>> {
    use std::io::Read as _;
    const MAX: u64 = 4 << 20;
    let mut out = Vec::new();
    let mut try_read = |r: &mut dyn std::io::Read| {
        let mut v = Vec::new();
        if r.take(MAX).read_to_end(&mut v).is_ok() && !v.is_empty() {
            out.push(v);
        }
    };
    try_read(&mut flate2::read::MultiGzDecoder::new(bytes));
    try_read(&mut flate2::read::ZlibDecoder::new(bytes));
    try_read(&mut flate2::read::DeflateDecoder::new(bytes));
    try_read(&mut brotli::Decompressor::new(bytes, 4096));
    if let Ok(mut d) = zstd::stream::read::Decoder::new(bytes) {
        try_read(&mut d);
    }
    out
}

impl LeakForms {
    /// The first form of the secret in `hay`, if any.
    fn find(&self, hay: &[u8]) -> Option<String> {
        if let Some(m) = self.ci_matcher.find(hay) {
            return Some(String::from_utf8_lossy(&self.ci[m.pattern().as_usize()]).into_owned());
        }
        if let Some(m) = self.exact_matcher.find(hay) {
            return Some(String::from_utf8_lossy(&self.exact[m.pattern().as_usize()]).into_owned());
        }
        None
    }

    fn assert_clean(&self, what: &str, hay: &[u8]) {
        self.assert_clean_within(what, hay, 0, false);
    }

    /// [`assert_clean`](Self::assert_clean), and the same for whatever a
    /// guest could decompress out of `hay` (up to three codings deep).
    fn assert_clean_decoded(&self, what: &str, hay: &[u8]) {
        self.assert_clean_within(what, hay, 3, false);
    }

    fn assert_clean_within(&self, what: &str, hay: &[u8], layers: usize, inside: bool) {
        if let Some(form) = self.find(hay) {
            let shown = String::from_utf8_lossy(&hay[..hay.len().min(2000)]).into_owned();
            panic!(
                "{what} leaks the secret {:?} as {form:?}{}: {shown:?}",
                self.secret,
                if inside {
                    " (inside a compressed body)"
                } else {
                    ""
                }
            );
        }
        if layers > 0 {
            for decoded in undo_codings(hay) {
                self.assert_clean_within(what, &decoded, layers - 1, true);
            }
        }
    }

    /// Every key and string of a parsed JSON value, decoded.
    fn assert_json_clean(&self, what: &str, v: &Value) {
        match v {
            Value::String(s) => self.assert_clean(what, s.as_bytes()),
            Value::Array(a) => a.iter().for_each(|x| self.assert_json_clean(what, x)),
            Value::Object(o) => {
                for (k, x) in o {
                    self.assert_clean(&format!("{what} (a key)"), k.as_bytes());
                    self.assert_json_clean(what, x);
                }
            }
            _ => {}
        }
    }
}

/// `text` must not end with the first `min..` characters of `secret` (any
/// case): what a cut through the secret would leave. A cut through the
/// host's marker is not one (`[REDACTED:A` is not the `a` of `alt-...`).
fn assert_no_cut_prefix(what: &str, text: &str, secret: &str, min: usize) {
    let mut t = text.to_ascii_lowercase();
    let marker = MARKER.to_ascii_lowercase();
    if let Some(m) = (1..=marker.len())
        .rev()
        .find(|&m| t.ends_with(&marker[..m]))
    {
        t.truncate(t.len() - m);
    }
    let s = secret.to_ascii_lowercase();
    for j in (min..=s.len()).rev() {
        assert!(
            !t.ends_with(&s[..j]),
            "{what} ends with the first {j} characters of the secret: ...{:?}",
            &text[text.len().saturating_sub(60)..]
        );
    }
}

// ---------------------------------------------------------------------------
// The probe's report.

/// One response (or refusal) as the guest saw it.
#[derive(Debug)]
struct Got {
    step: usize,
    ok: bool,
    status: Option<u16>,
    code: Option<String>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    message: Vec<u8>,
    body_sha256: Option<String>,
    /// Every part, labelled, for the leak check.
    parts: Vec<(String, Vec<u8>)>,
}

impl Got {
    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    fn describe(&self) -> String {
        if self.ok {
            format!(
                "step {}: status {:?}, headers {:?}, body {:?}",
                self.step,
                self.status,
                self.headers
                    .iter()
                    .map(|(n, v)| format!(
                        "{}: {}",
                        String::from_utf8_lossy(n),
                        String::from_utf8_lossy(v)
                    ))
                    .collect::<Vec<_>>(),
                self.body_text()
            )
        } else {
            format!(
                "step {}: refused {:?}: {}",
                self.step,
                self.code,
                String::from_utf8_lossy(&self.message)
            )
        }
    }

    /// A 200 response; panics with what came instead.
    fn expect_200(&self) -> &Self {
        assert!(
            self.ok && self.status == Some(200),
            "expected a 200 response, got {}",
            self.describe()
        );
        self
    }

    /// A refusal with `code`.
    fn expect_refused(&self, code: &str) -> &Self {
        assert!(
            !self.ok && self.code.as_deref() == Some(code),
            "expected the host to refuse with {code}, got {}",
            self.describe()
        );
        self
    }
}

/// XOR 0xA5, hex: the probe's veil, undone.
fn unveil(what: &str, v: &Value) -> Vec<u8> {
    let hex_text = v
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a string in the probe's report: {v}"));
    hex::decode(hex_text)
        .unwrap_or_else(|_| {
            panic!("the host altered the probe's veiled report at {what}: {hex_text:?}")
        })
        .into_iter()
        .map(|b| b ^ 0xA5)
        .collect()
}

/// The SHA-256 the probe reports for one part (length-prefixed).
fn probe_sha256(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

fn parse_report(v: &Value) -> Option<Vec<Got>> {
    let responses = v.get("responses")?.as_array()?;
    Some(
        responses
            .iter()
            .map(|r| {
                let step = r["step"].as_u64().unwrap() as usize;
                let seen = &r["seen"];
                if r["ok"] == true {
                    let status_text = unveil("status", &seen["status"]);
                    let headers: Vec<(Vec<u8>, Vec<u8>)> = seen["headers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| (unveil("header name", &h[0]), unveil("header value", &h[1])))
                        .collect();
                    let body = unveil("body", &seen["body"]);
                    let mut parts = vec![("status".to_string(), status_text)];
                    for (n, v) in &headers {
                        parts.push(("a header name".into(), n.clone()));
                        parts.push(("a header value".into(), v.clone()));
                    }
                    parts.push(("the body".into(), body.clone()));
                    Got {
                        step,
                        ok: true,
                        status: r["status"].as_u64().map(|s| s as u16),
                        code: None,
                        headers,
                        body,
                        message: Vec::new(),
                        body_sha256: r["body_sha256"].as_str().map(str::to_string),
                        parts,
                    }
                } else {
                    let code = unveil("error code", &seen["code"]);
                    let message = unveil("error message", &seen["message"]);
                    Got {
                        step,
                        ok: false,
                        status: None,
                        code: Some(String::from_utf8_lossy(&code).into_owned()),
                        headers: Vec::new(),
                        body: Vec::new(),
                        message: message.clone(),
                        body_sha256: None,
                        parts: vec![
                            ("the error code".into(), code),
                            ("the error message".into(), message),
                        ],
                    }
                }
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Steps.

fn get(url: impl Into<String>) -> Value {
    json!({ "http": { "url": url.into() } })
}

/// Send the secret (by placeholder) to the bound host, which keeps it.
fn store_step(key: &str) -> Value {
    json!({ "http": {
        "url": format!("{BOUND}/store?key={key}"),
        "headers": [["authorization", "Bearer {token}"]],
    }})
}

/// Ask `base` for what is stored under `key`, with no placeholder anywhere.
fn load_step(base: &str, key: &str, query: &str) -> Value {
    get(format!("{base}/load?key={key}&{query}"))
}

// ---------------------------------------------------------------------------
// One host with the probe approved and the secret set, bound to `BOUND`.

struct Lab {
    host: SkillHost,
    dir: PathBuf,
    secret: &'static str,
    forms: LeakForms,
}

async fn open_lab(name: &str, secret: &'static str) -> Lab {
    let _ = (json_api(), second_api());
    let dir = artifacts(name);
    MasterKey::generate()
        .write_new(&dir.join("master.key"))
        .unwrap();
    let host = SkillHost::open(&config(), &dir).await.unwrap();
    let Added::Pending(v) = host
        .add(&skill_bytes("secret_probe"), "owner")
        .await
        .unwrap()
    else {
        panic!("secret-probe was not added as a pending version")
    };
    assert_eq!(v.declared.requested.secrets, ["API_TOKEN"]);
    assert_eq!(v.declared.requested.http, [BOUND, SECOND]);
    host.approve("secret-probe", &v.digest, &Narrowing::default(), "owner")
        .await
        .unwrap();
    host.set_secret(
        "secret-probe",
        "API_TOKEN",
        Zeroizing::new(secret.to_string()),
        &[BOUND.to_string()],
        "owner",
    )
    .await
    .unwrap();
    Lab {
        host,
        dir,
        secret,
        forms: leak_forms(secret),
    }
}

impl Lab {
    /// Run the probe and check everything the invocation produced: what the
    /// guest saw, the output (text and every parsed string and key), the
    /// logs and the error.
    async fn run(&self, steps: Vec<Value>) -> Invocation {
        let input = json!({ "steps": steps }).to_string();
        let inv = self
            .host
            .invoke("secret-probe", &input, "agent")
            .await
            .unwrap_or_else(|e| panic!("the invocation was refused: {}: {e}", e.code()));
        match &inv.result {
            Ok(out) => {
                self.forms.assert_clean("the output", out.as_bytes());
                let v: Value = serde_json::from_str(out)
                    .unwrap_or_else(|e| panic!("the output is not JSON ({e}): {out}"));
                self.forms.assert_json_clean("the output", &v);
                for got in parse_report(&v).unwrap_or_default() {
                    for (label, bytes) in &got.parts {
                        self.forms.assert_clean_decoded(
                            &format!("what the guest saw (step {}, {label})", got.step),
                            bytes,
                        );
                    }
                }
            }
            Err(e) => {
                self.forms
                    .assert_clean("the error", e.to_json().to_string().as_bytes());
                self.forms
                    .assert_clean("the error", e.to_string().as_bytes());
            }
        }
        for log in &inv.logs {
            self.forms
                .assert_clean("a log record", log.message.as_bytes());
        }
        inv
    }

    /// Run the probe; its report, one entry per `http` step.
    async fn report(&self, steps: Vec<Value>) -> Vec<Got> {
        let inv = self.run(steps).await;
        let out = output(&inv);
        parse_report(&out).unwrap_or_else(|| panic!("not a probe report: {out}"))
    }

    /// Store the secret on the bound host under a new key (one
    /// invocation), and prove the server really holds it.
    async fn plant(&self) -> String {
        let key = unique("k");
        let got = self.report(vec![store_step(&key)]).await;
        got[0].expect_200();
        self.assert_stored(&key);
        key
    }

    fn assert_stored(&self, key: &str) {
        let stored = servers::stored(key).expect("the bound server stored the request");
        assert_eq!(
            stored.header("authorization").map(str::to_string),
            Some(format!("Bearer {}", self.secret)),
            "the bound destination got the real secret through the placeholder"
        );
    }

    fn audit(&self) -> Vec<Value> {
        audit_records(&self.dir)
    }

    /// Sum of `count` over `secret.redacted` records for API_TOKEN whose
    /// location starts with `location`.
    fn redacted(&self, location: &str) -> u64 {
        self.audit()
            .iter()
            .filter(|r| r["type"] == "secret.redacted")
            .filter(|r| r["code"] == "secret.redacted")
            .filter(|r| r["detail"]["secret"] == "API_TOKEN")
            .filter(|r| {
                r["detail"]["location"]
                    .as_str()
                    .is_some_and(|l| l.starts_with(location))
            })
            .map(|r| r["detail"]["count"].as_u64().unwrap_or(1).max(1))
            .sum()
    }

    /// Egress audit records with this code.
    fn egress_with(&self, code: &str) -> usize {
        self.audit()
            .iter()
            .filter(|r| r["type"] == "egress" && r["code"] == code)
            .count()
    }

    /// The audit log and every file of the data dir hold no form of the
    /// secret. Call at the end of every test.
    fn check_at_rest(&self) {
        let records = self.audit();
        assert!(!records.is_empty());
        self.forms.assert_clean(
            "the audit log",
            serde_json::to_string(&records).unwrap().as_bytes(),
        );
        let mut files = Vec::new();
        walk(&self.dir, &mut files);
        assert!(files.len() >= 3, "{files:?}");
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            self.forms
                .assert_clean(&format!("data-dir file {}", f.display()), &bytes);
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ===========================================================================
// Rule 1: everything entering the guest is scanned for every granted
// secret, in every invocation, whether or not that request substituted it.

#[tokio::test]
async fn r1_a_stored_secret_read_back_in_the_same_invocation_is_redacted() {
    let lab = open_lab("r1-same", TEST_TOKEN).await;
    let key = unique("k");
    let before = lab.redacted("response");
    let got = lab
        .report(vec![
            store_step(&key),
            load_step(BOUND, &key, "form=raw&where=body"),
        ])
        .await;
    got[0].expect_200();
    lab.assert_stored(&key);
    let back = got[1].expect_200();
    assert!(back.body_text().contains(MARKER), "{}", back.describe());
    assert!(
        lab.redacted("response") > before,
        "the redaction is audited"
    );
    lab.check_at_rest();
}

#[tokio::test]
async fn r1_a_stored_secret_read_back_in_a_later_invocation_is_redacted() {
    let lab = open_lab("r1-later", TEST_TOKEN).await;
    let key = lab.plant().await;
    let before = lab.redacted("response");
    // A fresh invocation with no placeholder anywhere.
    let got = lab
        .report(vec![
            load_step(BOUND, &key, "form=raw&where=body"),
            load_step(BOUND, &key, "form=upper&where=body"),
        ])
        .await;
    for g in &got {
        assert!(
            g.expect_200().body_text().contains(MARKER),
            "{}",
            g.describe()
        );
    }
    assert!(lab.redacted("response") >= before + 2);
    lab.check_at_rest();
}

#[tokio::test]
async fn r1_read_back_in_a_response_header_value_is_redacted() {
    let lab = open_lab("r1-header", TEST_TOKEN).await;
    let key = lab.plant().await;
    let before = lab.redacted("response");
    let got = lab
        .report(vec![
            load_step(BOUND, &key, "form=raw&where=header"),
            load_step(SECOND, &key, "form=raw&where=header"),
            load_step(BOUND, &key, "form=basic&where=header"),
        ])
        .await;
    for g in &got {
        g.expect_200();
        let v = g.header("x-leak").expect("the x-leak header arrives");
        assert!(v.contains(MARKER), "{}", g.describe());
    }
    assert!(lab.redacted("response") >= before + 3);
    lab.check_at_rest();
}

#[tokio::test]
async fn r1_read_back_in_a_response_header_name_is_caught() {
    // A header name can hold only token characters: the raw token (it is
    // made of them), its lower- and upper-case and hex forms, a partial copy.
    let lab = open_lab("r1-name", TEST_TOKEN).await;
    let key = lab.plant().await;
    let before = lab.redacted("response");
    let forms = ["raw", "upper", "hex", "hex-dash", "partial-mid"];
    let steps = forms
        .iter()
        .flat_map(|f| {
            [
                load_step(BOUND, &key, &format!("form={f}&where=name")),
                load_step(SECOND, &key, &format!("form={f}&where=name")),
            ]
        })
        .collect();
    let got = lab.report(steps).await;
    for g in &got {
        g.expect_200();
    }
    assert!(lab.redacted("response") >= before + got.len() as u64);
    lab.check_at_rest();
}

#[tokio::test]
async fn r1_read_back_via_another_path_of_the_same_host_is_redacted() {
    let lab = open_lab("r1-path", TEST_TOKEN).await;
    let key = unique("k");
    let got = lab
        .report(vec![
            // Stored through one path, read through others.
            json!({ "http": {
                "url": format!("{BOUND}/v1/accounts/store?key={key}"),
                "headers": [["authorization", "Bearer {token}"]],
            }}),
            get(format!("{BOUND}/v2/elsewhere/load?key={key}&form=raw")),
            get(format!("{BOUND}/load?key={key}&form=lower&where=header")),
        ])
        .await;
    got[0].expect_200();
    lab.assert_stored(&key);
    assert!(got[1].expect_200().body_text().contains(MARKER));
    assert!(
        got[2]
            .expect_200()
            .header("x-leak")
            .unwrap()
            .contains(MARKER)
    );
    lab.check_at_rest();
}

#[tokio::test]
async fn r1_read_back_via_a_second_host_the_secret_is_not_bound_to_is_redacted() {
    // api.test is granted to the skill, the secret is not bound to it, and
    // no request to it ever carried a placeholder. It shares the store.
    let lab = open_lab("r1-second", TEST_TOKEN).await;
    let key = lab.plant().await;
    let before = lab.redacted("response");
    let got = lab
        .report(vec![
            load_step(SECOND, &key, "form=raw&where=body"),
            load_step(SECOND, &key, "form=b64&where=body"),
            load_step(SECOND, &key, "form=hex&where=header"),
        ])
        .await;
    assert!(got[0].expect_200().body_text().contains(MARKER));
    got[1].expect_200();
    got[2].expect_200();
    assert!(lab.redacted("response") >= before + 3);
    // The same in a later invocation still.
    let got = lab
        .report(vec![load_step(SECOND, &key, "form=raw&where=body")])
        .await;
    assert!(got[0].expect_200().body_text().contains(MARKER));
    lab.check_at_rest();
}

#[tokio::test]
async fn r1_host_error_messages_built_from_response_bytes_are_scanned() {
    // The secret as the name of a content coding and of a transfer coding:
    // the host cannot decode either, and its refusal must not quote it.
    let lab = open_lab("r1-errors", TEST_TOKEN).await;
    let key = lab.plant().await;
    let got = lab
        .report(vec![
            load_step(BOUND, &key, "form=none&where=body&coding=x-unknown"),
            get(format!("{SECOND}/load?key={key}&form=raw&where=coding")),
            get(format!("{SECOND}/load?key={key}&form=lower&where=te")),
        ])
        .await;
    for g in &got {
        g.expect_refused(UNSUPPORTED_ENCODING);
    }
    lab.check_at_rest();
}

// ===========================================================================
// Rule 2: content codings are asked away, decoded before the scan, or
// refused.

#[tokio::test]
async fn r2_the_host_asks_for_identity_whatever_the_skill_asks() {
    let lab = open_lab("r2-identity", TEST_TOKEN).await;
    let got = lab
        .report(vec![
            json!({ "http": {
                "url": format!("{BOUND}/echo"),
                "headers": [["accept-encoding", "gzip, br, zstd"]],
            }}),
            json!({ "http": {
                "url": format!("{SECOND}/echo"),
                "headers": [["Accept-Encoding", "deflate;q=1.0, *;q=0.5"]],
            }}),
            get(format!("{SECOND}/echo")),
        ])
        .await;
    for g in &got {
        let echoed: Value = serde_json::from_str(&g.expect_200().body_text()).unwrap();
        let accept: Vec<&str> = echoed["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0] == "accept-encoding")
            .map(|h| h[1].as_str().unwrap())
            .collect();
        assert_eq!(accept, ["identity"], "{echoed}");
    }
    lab.check_at_rest();
}

/// Each coding must reach the guest decoded: a plain text comes through
/// intact, and the secret comes through redacted.
async fn decoded_before_the_scan(lab: &Lab, codings: &[&str]) {
    let key = lab.plant().await;
    let before = lab.redacted("response");
    let mut steps = Vec::new();
    for c in codings {
        let coding = if c.contains('=') {
            c.to_string()
        } else {
            format!("coding={c}")
        };
        steps.push(load_step(SECOND, &key, &format!("form=none&{coding}")));
        steps.push(load_step(SECOND, &key, &format!("form=raw&{coding}")));
        steps.push(load_step(
            BOUND,
            &key,
            &format!("form=b64-76-crlf&{coding}"),
        ));
    }
    let got = lab.report(steps).await;
    let plain = probe_sha256(b"nothing to see here");
    for (i, c) in codings.iter().enumerate() {
        let [none, raw, b64] = &got[3 * i..3 * i + 3] else {
            unreachable!()
        };
        assert_eq!(
            none.expect_200().body_sha256.as_deref(),
            Some(plain.as_str()),
            "{c}: the body was not decoded: {}",
            none.describe()
        );
        assert!(
            raw.expect_200().body_text().contains(MARKER),
            "{c}: {}",
            raw.describe()
        );
        b64.expect_200();
    }
    assert!(lab.redacted("response") >= before + 2 * codings.len() as u64);
}

#[tokio::test]
async fn r2_gzip_and_x_gzip_are_decoded_before_the_scan() {
    let lab = open_lab("r2-gzip", TEST_TOKEN).await;
    decoded_before_the_scan(&lab, &["gzip", "x-gzip"]).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r2_deflate_zlib_and_raw_are_decoded_before_the_scan() {
    let lab = open_lab("r2-deflate", TEST_TOKEN).await;
    decoded_before_the_scan(&lab, &["deflate-zlib", "deflate-raw"]).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r2_brotli_and_zstd_are_decoded_before_the_scan() {
    let lab = open_lab("r2-br-zstd", TEST_TOKEN).await;
    decoded_before_the_scan(&lab, &["br", "zstd"]).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r2_stacked_codings_are_all_decoded() {
    let lab = open_lab("r2-stacked", TEST_TOKEN).await;
    decoded_before_the_scan(&lab, &["gzip-gzip", "coding=br&te=gzip"]).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r2_a_transfer_coding_other_than_chunked_is_decoded() {
    let lab = open_lab("r2-te", TEST_TOKEN).await;
    decoded_before_the_scan(&lab, &["te=gzip", "te=deflate", "te=chunked"]).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r2_codings_the_host_cannot_decode_are_refused_with_no_body() {
    let lab = open_lab("r2-refused", TEST_TOKEN).await;
    let key = lab.plant().await;
    let before = lab.egress_with(UNSUPPORTED_ENCODING);
    let got = lab
        .report(vec![
            load_step(BOUND, &key, "form=raw&coding=compress"),
            load_step(SECOND, &key, "form=raw&coding=x-unknown"),
            load_step(SECOND, &key, "form=none&coding=compress"),
            load_step(BOUND, &key, "form=raw&where=header&coding=x-unknown"),
        ])
        .await;
    for g in &got {
        g.expect_refused(UNSUPPORTED_ENCODING);
    }
    assert!(lab.egress_with(UNSUPPORTED_ENCODING) >= before + got.len());
    lab.check_at_rest();
}

#[tokio::test]
async fn r2_a_decompression_bomb_is_refused_by_its_decoded_size() {
    let lab = open_lab("r2-bomb", TEST_TOKEN).await;
    let got = lab
        .report(vec![
            get(format!("{SECOND}/bomb")),
            get(format!("{SECOND}/bomb?coding=br")),
            get(format!("{BOUND}/bomb?coding=zstd")),
            get(format!("{BOUND}/bomb?coding=identity&te=gzip")),
            // Under the 50 KiB cap once decoded: delivered, decoded.
            get(format!("{SECOND}/bomb?size=40000")),
        ])
        .await;
    for g in &got[..4] {
        g.expect_refused(RESPONSE_TOO_LARGE);
    }
    assert_eq!(
        got[4].expect_200().body_sha256.as_deref(),
        Some(probe_sha256(&[0u8; 40000]).as_str()),
        "{}",
        got[4].describe()
    );
    assert!(lab.egress_with(RESPONSE_TOO_LARGE) >= 4);
    lab.check_at_rest();
}

// ===========================================================================
// Rule 3: the forms a server echoes a value in, matched case-insensitively,
// and partial copies.

/// Plant the secret, read it back in each form (body unless the query says
/// otherwise), from both hosts; every response must arrive, redacted.
async fn forms_are_caught(lab: &Lab, queries: &[String]) {
    let key = lab.plant().await;
    let before = lab.redacted("response");
    let mut steps = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let base = if i % 2 == 0 { BOUND } else { SECOND };
        steps.push(load_step(base, &key, q));
    }
    let got = lab.report(steps).await;
    for g in &got {
        g.expect_200();
    }
    assert!(
        lab.redacted("response") >= before + queries.len() as u64,
        "every response carried the secret; not every one is audited as a redaction"
    );
}

fn queries(forms: &[&str]) -> Vec<String> {
    forms.iter().map(|f| format!("form={f}")).collect()
}

#[tokio::test]
async fn r3_case_changes_and_partial_copies_are_caught() {
    let lab = open_lab("r3-case", TEST_TOKEN).await;
    forms_are_caught(
        &lab,
        &queries(&[
            "raw",
            "upper",
            "lower",
            "partial-head",
            "partial-mid",
            "partial-tail",
        ]),
    )
    .await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_partial_copies_of_a_value_with_special_characters_are_caught() {
    let lab = open_lab("r3-partial-alt", ALT_TOKEN).await;
    forms_are_caught(
        &lab,
        &queries(&[
            "raw",
            "upper",
            "partial-head",
            "partial-mid",
            "partial-tail",
        ]),
    )
    .await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_json_and_unicode_escapes_are_caught() {
    let lab = open_lab("r3-json", ALT_TOKEN).await;
    forms_are_caught(&lab, &queries(&["json", "ujson", "ujson-upper"])).await;
    lab.check_at_rest();
    let lab = open_lab("r3-json-plain", TEST_TOKEN).await;
    forms_are_caught(&lab, &queries(&["json", "ujson", "ujson-upper"])).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_html_and_xml_entities_are_caught() {
    let lab = open_lab("r3-html", ALT_TOKEN).await;
    forms_are_caught(&lab, &queries(&["html-named", "html-dec", "html-hex"])).await;
    lab.check_at_rest();
    let lab = open_lab("r3-html-plain", TEST_TOKEN).await;
    forms_are_caught(&lab, &queries(&["html-dec", "html-hex"])).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_percent_encodings_are_caught() {
    let lab = open_lab("r3-pct", ALT_TOKEN).await;
    forms_are_caught(
        &lab,
        &queries(&["pct-upper", "pct-lower", "pct-plus", "pct-double"]),
    )
    .await;
    lab.check_at_rest();
    let lab = open_lab("r3-pct-plain", TEST_TOKEN).await;
    forms_are_caught(&lab, &queries(&["pct-upper", "pct-lower", "pct-double"])).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_quoted_printable_with_soft_line_breaks_is_caught() {
    let lab = open_lab("r3-qp", TEST_TOKEN).await;
    let mut q = Vec::new();
    for pre in [40, 55, 62, 64, 70] {
        q.push(format!("form=qp&pre={pre}"));
        q.push(format!("form=qp-hex&pre={pre}"));
    }
    forms_are_caught(&lab, &q).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_base64_wrapped_and_at_every_alignment_is_caught() {
    let lab = open_lab("r3-b64", TEST_TOKEN).await;
    let mut q: Vec<String> = queries(&["basic"]);
    for form in [
        "b64",
        "b64url",
        "b64-64-lf",
        "b64-64-crlf",
        "b64-76-lf",
        "b64-76-crlf",
        "b64url-wrapped",
    ] {
        q.push(format!("form={form}"));
    }
    for pre in [1, 2, 37, 38] {
        q.push(format!("form=b64&pre={pre}"));
        q.push(format!("form=b64url&pre={pre}"));
        q.push(format!("form=b64-64-lf&pre={pre}"));
        q.push(format!("form=b64-76-crlf&pre={}", pre + 8));
    }
    forms_are_caught(&lab, &q).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_utf16_with_and_without_bom_is_caught() {
    let lab = open_lab("r3-utf16", TEST_TOKEN).await;
    let mut q = queries(&["utf16le", "utf16be", "utf16le-bom", "utf16be-bom"]);
    q.push("form=utf16le&pre=7".into());
    q.push("form=utf16be&pre=7".into());
    forms_are_caught(&lab, &q).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_hex_with_separators_in_either_case_is_caught() {
    let lab = open_lab("r3-hex", TEST_TOKEN).await;
    let mut forms = Vec::new();
    for f in [
        "hex",
        "hex-colon",
        "hex-space",
        "hex-dash",
        "hex-x",
        "hex-0x",
    ] {
        forms.push(f.to_string());
        forms.push(format!("{f}-upper"));
    }
    let q: Vec<String> = forms.iter().map(|f| format!("form={f}")).collect();
    forms_are_caught(&lab, &q).await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r3_forms_in_header_values_and_names_are_caught() {
    let lab = open_lab("r3-headers", TEST_TOKEN).await;
    let mut q = Vec::new();
    for f in [
        "upper",
        "json",
        "ujson",
        "html-dec",
        "pct-lower",
        "pct-double",
        "b64",
        "basic",
        "hex-colon-upper",
        "hex-0x",
        "partial-tail",
    ] {
        q.push(format!("form={f}&where=header"));
    }
    for f in [
        "lower",
        "hex-upper",
        "hex-dash",
        "pct-upper",
        "partial-head",
    ] {
        q.push(format!("form={f}&where=name"));
    }
    forms_are_caught(&lab, &q).await;
    lab.check_at_rest();
}

// ===========================================================================
// Rule 4: the output is parsed, every string and key scanned, re-serialised
// canonically and scanned again. The caller hands the skill the value (as
// if the guest had learned it) and the skill spells it with escapes.

/// `text` with every character as `\uXXXX`; `upper` hex digits if asked.
fn all_escaped(text: &str, upper: bool) -> String {
    text.encode_utf16()
        .map(|u| {
            if upper {
                format!("\\u{u:04X}")
            } else {
                format!("\\u{u:04x}")
            }
        })
        .collect()
}

/// Every other character escaped, the rest as JSON needs them.
fn half_escaped(text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                all_escaped(&c.to_string(), false)
            } else {
                json_escaped(&c.to_string()).replace('/', "\\/")
            }
        })
        .collect()
}

/// Run the probe so that its whole output is `raw` (JSON text as written).
async fn raw_output(lab: &Lab, raw: &str) -> Value {
    let inv = lab.run(vec![json!({ "output": raw })]).await;
    output(&inv)
}

fn contains_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(MARKER),
        Value::Array(a) => a.iter().any(contains_marker),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k.contains(MARKER) || contains_marker(x)),
        _ => false,
    }
}

#[tokio::test]
async fn r4_an_escaped_secret_in_an_output_value_is_redacted() {
    let lab = open_lab("r4-value", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let before = lab.redacted("output");
    for raw in [
        format!(r#"{{"v":"\u0073{}"}}"#, &s[1..]),
        format!(r#"{{"v":"{}"}}"#, all_escaped(s, false)),
        format!(r#"{{"v":"{}"}}"#, all_escaped(&s.to_uppercase(), true)),
        format!(r#"{{"v":"token={} ok"}}"#, half_escaped(s)),
        format!(r#"{{"v":"{}"}}"#, all_escaped(&s[6..18], false)),
    ] {
        let out = raw_output(&lab, &raw).await;
        assert!(contains_marker(&out["v"]), "{raw} came out as {out}");
    }
    assert!(lab.redacted("output") >= before + 5);
    lab.check_at_rest();
}

#[tokio::test]
async fn r4_an_escaped_secret_in_an_output_key_is_redacted() {
    let lab = open_lab("r4-key", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let before = lab.redacted("output");
    for raw in [
        format!(r#"{{"\u0073{}":1,"ok":true}}"#, &s[1..]),
        format!(r#"{{"ok":true,"{}":{{"x":1}}}}"#, all_escaped(s, true)),
        format!(r#"{{"a":[{{"{}":"y"}}]}}"#, half_escaped(&s.to_lowercase())),
    ] {
        let out = raw_output(&lab, &raw).await;
        assert!(contains_marker(&out), "{raw} came out as {out}");
    }
    assert!(lab.redacted("output") >= before + 3);
    lab.check_at_rest();
}

#[tokio::test]
async fn r4_escaped_quotes_backslashes_and_solidus_are_redacted() {
    let lab = open_lab("r4-alt", ALT_TOKEN).await;
    let s = ALT_TOKEN;
    let before = lab.redacted("output");
    for raw in [
        format!(r#"{{"v":"{}"}}"#, json_escaped(s)),
        format!(r#"{{"v":"{}"}}"#, json_escaped(s).replace('/', "\\/")),
        format!(r#"{{"v":"{}"}}"#, all_escaped(s, false)),
        format!(r#"{{"v":"{}"}}"#, half_escaped(s)),
        format!(r#"{{"{}":"v"}}"#, json_escaped(s).replace('/', "\\/")),
    ] {
        let out = raw_output(&lab, &raw).await;
        assert!(contains_marker(&out), "{raw} came out as {out}");
    }
    assert!(lab.redacted("output") >= before + 5);
    lab.check_at_rest();
}

#[tokio::test]
async fn r4_nested_top_level_and_embedded_escapes_are_redacted() {
    let lab = open_lab("r4-nested", TEST_TOKEN).await;
    let e = all_escaped(TEST_TOKEN, false);
    for raw in [
        format!(r#"[[{{"a":[["{e}"]]}}]]"#),
        format!(r#""{e}""#),
        format!(
            r#"{{"deep":{{"deeper":{{"deepest":["x","{}"]}}}}}}"#,
            half_escaped(TEST_TOKEN)
        ),
    ] {
        let out = raw_output(&lab, &raw).await;
        assert!(contains_marker(&out), "{raw} came out as {out}");
    }
    // Inside the probe's own report, next to a response.
    let inv = lab
        .run(vec![
            get(format!("{SECOND}/json")),
            json!({ "embed": format!(r#"{{"said":"{e}"}}"#) }),
            json!({ "embed": format!(r#""{}""#, half_escaped(TEST_TOKEN)) }),
        ])
        .await;
    let out = output(&inv);
    assert!(contains_marker(&out["raw"]), "{out}");
    parse_report(&out).unwrap()[0].expect_200();
    lab.check_at_rest();
}

#[tokio::test]
async fn r4_the_plain_value_from_the_input_is_redacted_everywhere() {
    let lab = open_lab("r4-plain", TEST_TOKEN).await;
    let before = lab.redacted("output");
    let out = raw_output(
        &lab,
        &json!({ "v": TEST_TOKEN, TEST_TOKEN: TEST_TOKEN.to_uppercase() }).to_string(),
    )
    .await;
    assert!(contains_marker(&out), "{out}");
    assert!(lab.redacted("output") > before);
    lab.check_at_rest();
}

#[tokio::test]
async fn output_the_host_cannot_parse_is_invalid_json_never_null() {
    // The probe's output schema accepts anything, null included: before,
    // an unparsable output was validated as null and passed.
    let lab = open_lab("r4-unparsable", TEST_TOKEN).await;
    let deep = "[".repeat(200) + &"]".repeat(200);
    for text in ["1e400", r#"{"a": -1e999}"#, deep.as_str()] {
        let inv = lab.run(vec![json!({ "output": text })]).await;
        let code = inv.result.as_ref().map_err(|e| e.code());
        assert_eq!(
            code,
            Err(skillhost::codes::OUTPUT_INVALID_JSON),
            "{text:.40}"
        );
    }
    lab.check_at_rest();
}

// ===========================================================================
// Rule 5: redaction happens before truncation, at every cap.

const LOG_CAP: usize = 4096;
const MESSAGE_CAP: usize = 1024;
const CODE_CAP: usize = 64;
const PANIC_CAP: usize = 512;

/// How many characters of the secret fall before each cap.
fn straddles(secret: &str) -> Vec<usize> {
    let n = secret.len();
    vec![1, 4, 8, 11, 12, 16, n - 1]
}

fn pad(n: usize) -> String {
    ".".repeat(n)
}

#[tokio::test]
async fn r5_log_records_are_redacted_before_the_cap() {
    let lab = open_lab("r5-log", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let steps: Vec<Value> = straddles(s)
        .into_iter()
        .map(|k| json!({ "log": format!("{}{s}|after", pad(LOG_CAP - k)) }))
        .collect();
    let inv = lab.run(steps).await;
    output(&inv);
    let records: Vec<_> = inv
        .logs
        .iter()
        .filter(|l| l.message.starts_with("...."))
        .collect();
    assert_eq!(records.len(), straddles(s).len(), "{:?}", inv.logs);
    for r in records {
        assert!(r.message.len() <= LOG_CAP);
        assert_no_cut_prefix("a log record", &r.message, s, 1);
    }
    lab.check_at_rest();
}

#[tokio::test]
async fn r5_stdout_and_stderr_lines_are_redacted_before_the_cap() {
    let lab = open_lab("r5-stdio", ALT_TOKEN).await;
    let s = ALT_TOKEN;
    let mut steps = Vec::new();
    for k in straddles(s) {
        steps.push(json!({ "print": format!("{}{s}|after", pad(LOG_CAP - k)) }));
        steps.push(json!({ "eprint": format!("{}{s}|after", pad(LOG_CAP - k)) }));
    }
    let inv = lab.run(steps).await;
    output(&inv);
    let records: Vec<_> = inv
        .logs
        .iter()
        .filter(|l| l.message.starts_with("...."))
        .collect();
    assert_eq!(records.len(), 2 * straddles(s).len(), "{:?}", inv.logs);
    for r in records {
        assert!(r.message.len() <= LOG_CAP);
        assert_no_cut_prefix("a stdout/stderr record", &r.message, s, 1);
    }
    lab.check_at_rest();
}

#[tokio::test]
async fn r5_the_stdio_cap_never_leaves_a_prefix_of_the_secret() {
    // The capped stdio buffer cuts the stream where it stands; a line that
    // ends there with 8-11 bytes of the secret (too short to count as a copy)
    // must still lose them.
    let lab = open_lab("r5-stdio-cap", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let cap = skillhost::Limits::default().stdio_bytes as usize;
    for k in [8, 10, 11] {
        let steps = vec![
            json!({ "print_times": [pad(999), cap / 1000] }),
            json!({ "print": format!("{}{s}", pad(cap % 1000 - k)) }),
        ];
        let inv = lab.run(steps).await;
        output(&inv);
        let last = inv
            .logs
            .iter()
            .rfind(|l| l.message.starts_with('.'))
            .expect("stdout records");
        let tail = last.message.trim_start_matches('.');
        assert!(
            tail.is_empty()
                || !s
                    .to_ascii_lowercase()
                    .starts_with(&tail.to_ascii_lowercase()),
            "k={k}: the cut left {tail:?}"
        );
        assert!(
            inv.usage.stdio_bytes_dropped > 0,
            "k={k}: the cap was not reached"
        );
    }
    lab.check_at_rest();
}

fn skill_error(inv: &Invocation) -> (String, String) {
    match &inv.result {
        Err(InvokeError::SkillError { code, message }) => {
            (code.clone().unwrap_or_default(), message.clone())
        }
        other => panic!("expected a skill error, got {other:?}"),
    }
}

#[tokio::test]
async fn r5_skill_error_messages_are_redacted_before_the_cap() {
    let lab = open_lab("r5-message", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    for k in straddles(s) {
        let message = format!("{}{s}|after", pad(MESSAGE_CAP - k));
        let inv = lab
            .run(vec![
                json!({ "fail": { "code": "told_to_fail", "message": message } }),
            ])
            .await;
        let (code, message) = skill_error(&inv);
        assert_eq!(code, "told_to_fail");
        assert!(message.len() <= MESSAGE_CAP);
        assert_no_cut_prefix("a skill error message", &message, s, 1);
    }
    lab.check_at_rest();
}

#[tokio::test]
async fn r5_skill_error_codes_are_redacted_before_the_cap() {
    let lab = open_lab("r5-code", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    for k in straddles(s) {
        let code = format!("{}{s}", pad(CODE_CAP - k));
        let inv = lab
            .run(vec![
                json!({ "fail": { "code": code, "message": "see the code" } }),
            ])
            .await;
        let (code, _) = skill_error(&inv);
        assert!(code.len() <= CODE_CAP);
        assert_no_cut_prefix("a skill error code", &code, s, 1);
    }
    lab.check_at_rest();
}

fn panic_detail(inv: &Invocation) -> String {
    match &inv.result {
        Err(InvokeError::Trapped {
            kind,
            detail: Some(d),
        }) if kind == "panic" => d.clone(),
        other => panic!("expected a panic with a message, got {other:?}"),
    }
}

/// Where the skill's panic message starts in the host's panic detail
/// (after the SDK's `panicked at FILE:LINE:COL:` line).
async fn panic_offset(lab: &Lab) -> usize {
    let inv = lab.run(vec![json!({ "panic": "CALIBRATE" })]).await;
    let d = panic_detail(&inv);
    d.find("CALIBRATE")
        .unwrap_or_else(|| panic!("no message in the panic detail {d:?}"))
}

#[tokio::test]
async fn r5_panic_messages_are_redacted_before_the_cap() {
    let lab = open_lab("r5-panic", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let at = panic_offset(&lab).await;
    for k in straddles(s) {
        let inv = lab
            .run(vec![
                json!({ "panic": format!("{}{s}|after", pad(PANIC_CAP - at - k)) }),
            ])
            .await;
        let d = panic_detail(&inv);
        assert!(d.len() <= PANIC_CAP);
        assert_no_cut_prefix("a panic message", &d, s, 1);
    }
    lab.check_at_rest();
}

#[tokio::test]
async fn r5_no_prefix_of_eight_bytes_of_the_secret_is_left_at_any_cut() {
    // Only the first j (8-11) characters of the secret, ending exactly at
    // the cap, followed by something else: below the partial-copy length
    // before the cut, a prefix of the secret after it.
    let lab = open_lab("r5-prefix", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let at = panic_offset(&lab).await;
    for j in [8, 10, 11] {
        let head = &s[..j];
        let inv = lab
            .run(vec![
                json!({ "log": format!("{}{head}ZZZZ", pad(LOG_CAP - j)) }),
                json!({ "print": format!("{}{head}ZZZZ", pad(LOG_CAP - j)) }),
            ])
            .await;
        let records: Vec<_> = inv
            .logs
            .iter()
            .filter(|l| l.message.starts_with("...."))
            .collect();
        assert_eq!(records.len(), 2, "{:?}", inv.logs);
        for r in records {
            assert_no_cut_prefix("a log record", &r.message, s, 8);
        }
        let inv = lab
            .run(vec![json!({ "fail": {
                "code": format!("{}{head}ZZZZ", pad(CODE_CAP - j)),
                "message": format!("{}{head}ZZZZ", pad(MESSAGE_CAP - j)),
            }})])
            .await;
        let (code, message) = skill_error(&inv);
        assert_no_cut_prefix("a skill error code", &code, s, 8);
        assert_no_cut_prefix("a skill error message", &message, s, 8);
        let inv = lab
            .run(vec![
                json!({ "panic": format!("{}{head}ZZZZ", pad(PANIC_CAP - at - j)) }),
            ])
            .await;
        assert_no_cut_prefix("a panic message", &panic_detail(&inv), s, 8);
    }
    lab.check_at_rest();
}

// ===========================================================================
// Rule 6: a request to a destination the secret is not bound to is refused
// (`secret.exfiltration`) if it carries the secret in any scanned form, and
// never reaches the server.

/// A request to the unbound host, with a marker in its URL so its arrival
/// (or not) can be counted without disturbing parallel tests.
struct Exfil {
    marker: String,
    step: Value,
}

fn exfil(path: &str, headers: Value, body: Option<String>) -> Exfil {
    let marker = unique("exfil");
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut http = json!({
        "method": if body.is_some() { "POST" } else { "GET" },
        "url": format!("{SECOND}{path}{sep}probe={marker}"),
        "headers": headers,
    });
    if let Some(b) = body {
        http["body"] = json!(b);
    }
    Exfil {
        marker,
        step: json!({ "http": http }),
    }
}

fn exfil_hex(path: &str, body: &[u8]) -> Exfil {
    let mut e = exfil(path, json!([]), None);
    e.step["http"]["method"] = json!("POST");
    e.step["http"]["body_hex"] = json!(hex::encode(body));
    e
}

/// Send each attempt (after one clean request to the same host, which must
/// arrive); each must be refused with `secret.exfiltration` and none may
/// reach the server.
async fn exfiltration_refused(lab: &Lab, attempts: Vec<Exfil>) {
    let clean = exfil("/json", json!([["x-note", "nothing secret here"]]), None);
    let mut steps = vec![clean.step.clone()];
    steps.extend(attempts.iter().map(|a| a.step.clone()));
    let before = lab.egress_with(EXFILTRATION);
    let got = lab.report(steps).await;
    got[0].expect_200();
    assert_eq!(servers::requests_containing(&clean.marker), 1);
    for (a, g) in attempts.iter().zip(&got[1..]) {
        g.expect_refused(EXFILTRATION);
        assert_eq!(
            servers::requests_containing(&a.marker),
            0,
            "the request reached the unbound server: {}",
            a.step
        );
    }
    assert!(lab.egress_with(EXFILTRATION) >= before + attempts.len());
}

#[tokio::test]
async fn r6_the_secret_in_a_header_to_an_unbound_host_is_refused() {
    let lab = open_lab("r6-header", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    exfiltration_refused(
        &lab,
        vec![
            exfil("/json", json!([["x-api-key", s]]), None),
            exfil(
                "/json",
                json!([["authorization", format!("Bearer {s}")]]),
                None,
            ),
            exfil("/json", json!([["x-trace", s.to_uppercase()]]), None),
            exfil("/json", json!([[format!("x-{s}"), "1"]]), None),
            exfil(
                "/json",
                json!([[
                    "authorization",
                    format!("Basic {}", STANDARD.encode(format!("user:{s}")))
                ]]),
                None,
            ),
            exfil("/json", json!([["x-hex", hex::encode(s)]]), None),
        ],
    )
    .await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r6_the_secret_in_the_url_to_an_unbound_host_is_refused() {
    let lab = open_lab("r6-url", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    exfiltration_refused(
        &lab,
        vec![
            exfil(&format!("/collect/{s}"), json!([]), None),
            exfil(&format!("/json?t={}", s.to_uppercase()), json!([]), None),
            exfil(
                &format!("/json?t={}", pct_all(s.as_bytes())),
                json!([]),
                None,
            ),
            exfil(
                &format!("/json?t={}", hex::encode_upper(s)),
                json!([]),
                None,
            ),
            exfil(
                &format!("/c/{}", URL_SAFE_NO_PAD.encode(format!("x{s}"))),
                json!([]),
                None,
            ),
            exfil(&format!("/json?t={}", &s[6..18]), json!([]), None),
        ],
    )
    .await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r6_the_secret_in_a_body_to_an_unbound_host_is_refused() {
    let lab = open_lab("r6-body", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    exfiltration_refused(
        &lab,
        vec![
            exfil("/echo", json!([]), Some(format!("stolen={s}"))),
            exfil("/echo", json!([]), Some(s.to_uppercase())),
            exfil(
                "/echo",
                json!([]),
                Some(STANDARD.encode(format!("ab{s}cd"))),
            ),
            exfil("/echo", json!([]), Some(hex::encode(s))),
            exfil("/echo", json!([]), Some(pct_all(s.as_bytes()))),
            exfil(
                "/echo",
                json!([]),
                Some(format!(r#"{{"t":"{}"}}"#, u_escaped(s))),
            ),
            exfil(
                "/echo",
                json!([]),
                Some(format!("tail {}", &s[s.len() - 12..])),
            ),
        ],
    )
    .await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r6_json_escaped_and_binary_forms_to_an_unbound_host_are_refused() {
    let lab = open_lab("r6-alt", ALT_TOKEN).await;
    let s = ALT_TOKEN;
    exfiltration_refused(
        &lab,
        vec![
            exfil("/echo", json!([]), Some(json!({ "t": s }).to_string())),
            exfil(
                "/echo",
                json!([]),
                Some(format!(
                    r#"{{"t":"{}"}}"#,
                    json_escaped(s).replace('/', "\\/")
                )),
            ),
            exfil("/echo", json!([]), Some(url_form(s))),
            exfil("/echo", json!([["x-t", s]]), None),
            exfil_hex("/echo", &utf16(s, false)),
            exfil_hex("/echo", &utf16(&s.to_uppercase(), true)),
        ],
    )
    .await;
    lab.check_at_rest();
}

#[tokio::test]
async fn r6_the_bound_destination_still_gets_the_placeholder() {
    let lab = open_lab("r6-bound", TEST_TOKEN).await;
    let s = TEST_TOKEN;
    let key = unique("k");
    let leak = exfil("/json", json!([["x-api-key", s]]), None);
    let got = lab
        .report(vec![
            store_step(&key),
            leak.step.clone(),
            // The placeholder itself to the unbound host: not substituted.
            json!({ "http": {
                "url": format!("{SECOND}/store?key={key}-2"),
                "headers": [["authorization", "Bearer {token}"]],
            }}),
            store_step(&format!("{key}-3")),
        ])
        .await;
    got[0].expect_200();
    lab.assert_stored(&key);
    got[1].expect_refused(EXFILTRATION);
    assert_eq!(servers::requests_containing(&leak.marker), 0);
    got[2].expect_refused(skillhost::codes::SECRET_DESTINATION_NOT_ALLOWED);
    assert!(servers::stored(&format!("{key}-2")).is_none());
    // A refusal does not spoil the invocation: the next legitimate use works.
    got[3].expect_200();
    lab.assert_stored(&format!("{key}-3"));
    lab.check_at_rest();
}
