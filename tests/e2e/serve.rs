//! A real `skillhost serve` process on loopback, for the HTTP API and MCP
//! tests, plus a prepared data dir (skills approved, tokens created).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skillhost::auth::Role;
use skillhost::registry::Narrowing;
use skillhost::{Added, HostConfig, SkillHost};

use crate::common::*;

/// The running server. Killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Start `skillhost serve --bind 127.0.0.1:0` on `data_dir`, with
    /// `config` (TOML) written to the data dir, and wait until it listens.
    pub fn start(data_dir: &Path, config: &str) -> Server {
        std::fs::write(data_dir.join("skillhost.toml"), config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_skillhost"))
            .args(["--data-dir"])
            .arg(data_dir)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap().to_string();
                    let _ = tx.send(url);
                }
                keep.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start: {}", log.lock().unwrap());
            }
        };
        Server {
            child,
            url,
            stderr: log,
        }
    }

    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Wait (bounded) for the process to exit; its status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Tokens for the tests: an owner, an unscoped invoker, one scoped to echo.
pub struct Tokens {
    pub owner: String,
    pub invoker: String,
    pub echo_only: String,
}

/// Approve `skills` (wasm file stems) in `dir` and create the tokens.
pub async fn prepare(dir: &Path, skills: &[&str]) -> Tokens {
    let host = SkillHost::open(&HostConfig::default(), dir).await.unwrap();
    for wasm in skills {
        let Added::Pending(v) = host.add(&skill_bytes(wasm), "owner").await.unwrap() else {
            panic!("{wasm} was already added")
        };
        host.approve(v.name.as_str(), &v.digest, &Narrowing::default(), "owner")
            .await
            .unwrap();
    }
    let token = |name: &'static str, role, skills: Option<Vec<String>>| {
        let host = &host;
        async move {
            host.create_token(name, role, skills, None, "owner")
                .await
                .unwrap()
                .token
                .to_string()
        }
    };
    Tokens {
        owner: token("root", Role::Owner, None).await,
        invoker: token("agent", Role::Invoker, None).await,
        echo_only: token("echo-agent", Role::Invoker, Some(vec!["echo".into()])).await,
    }
}

/// One HTTP answer: status, headers we care about, JSON (or text) body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: serde_json::Value,
    pub text: String,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

pub async fn request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (retry_after, www_authenticate) = (header("retry-after"), header("www-authenticate"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        retry_after,
        www_authenticate,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `POST /v1/skills/{skill}/invoke` on `s`.
pub fn invoke_url(s: &Server, skill: &str) -> String {
    format!("{}/v1/skills/{skill}/invoke", s.url)
}

/// Send raw bytes, read the whole answer (the server closes after a 413).
pub fn raw(s: &Server, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(s.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&out).contains("\"code\"") && out.ends_with(b"}") {
                    break;
                }
            }
            Err(e) => panic!(
                "reading the answer failed: {e} (got {:?})",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Wait (bounded) until `s` runs exactly one skill instance, as its own
/// metrics report.
pub async fn wait_until_running(c: &reqwest::Client, s: &Server, owner: &str) {
    let metrics = format!("{}/metrics", s.url);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !request(c, reqwest::Method::GET, &metrics, Some(owner), None)
        .await
        .text
        .contains("skillhost_instances_in_flight 1")
    {
        assert!(Instant::now() < deadline, "the call never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
