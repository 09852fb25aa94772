//! Real HTTP and HTTPS servers on loopback, started by the tests. Each
//! response is written by hand so tests can misbehave on purpose: redirects,
//! huge bodies, trickling bodies. Every request the server receives is
//! counted, so a test can prove that a refused request was never sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The bearer token the test API accepts on `/v1/private`.
pub const TEST_TOKEN: &str = "sk-test-9f8e7d6c5b4a3921";

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A test CA and a server certificate for `localhost`, `api.test`,
/// `json-api.test` and `127.0.0.1`.
pub struct TestPki {
    pub ca_pem: String,
    acceptor: TlsAcceptor,
}

impl TestPki {
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![
            "localhost".into(),
            "api.test".into(),
            "json-api.test".into(),
        ])
        .unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        TestPki {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

/// Start a server on `127.0.0.1:port` (0 for any), plain or TLS, on its own
/// runtime thread so it outlives any one test's runtime.
pub fn start(port: u16, tls: Option<&TestPki>) -> TestServer {
    let hits = Arc::new(AtomicUsize::new(0));
    let acceptor = tls.map(|p| p.acceptor.clone());
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:{port} for a test server: {e}"));
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let h = hits.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (h, acceptor) = (h.clone(), acceptor.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(stream).await {
                                serve(tls, h, "https").await;
                            }
                        }
                        None => serve(stream, h, "http").await,
                    }
                });
            }
        });
    });
    TestServer { addr, hits }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    hits: Arc<AtomicUsize>,
    scheme: &str,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    hits.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let content_length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < content_length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };

    let simple = |status: &str, content_type: &str, body: &[u8], extra: &str| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let response = match path {
        "/json" => simple("200 OK", "application/json", br#"{"items":[1,2,3]}"#, ""),
        "/v1/items" => {
            let tag = param("tag").unwrap_or_default();
            let items = match tag.as_str() {
                "tools" => {
                    r#"[{"name":"hammer","price_cents":1500},{"name":"saw","price_cents":2500}]"#
                }
                _ => "[]",
            };
            simple("200 OK", "application/json", items.as_bytes(), "")
        }
        "/v1/private" => {
            let auth = headers
                .iter()
                .find(|(k, _)| k == "authorization")
                .map(|(_, v)| v.as_str());
            if auth == Some(&format!("Bearer {TEST_TOKEN}")) {
                simple("200 OK", "application/json", br#"{"user":"alice"}"#, "")
            } else {
                simple("401 Unauthorized", "text/plain", b"bad token", "")
            }
        }
        "/reflect" => {
            // A hostile server: echo the credential back in every encoding.
            use base64::Engine as _;
            let auth = headers
                .iter()
                .find(|(k, _)| k == "authorization")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let token = auth.strip_prefix("Bearer ").unwrap_or(&auth).to_string();
            let v = serde_json::json!({
                "raw": auth,
                "b64": base64::engine::general_purpose::STANDARD.encode(&auth),
                "b64_token": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&token),
                "hex": hex::encode(&auth),
                "basic": base64::engine::general_purpose::STANDARD.encode(format!("user:{token}")),
            });
            simple(
                "200 OK",
                "application/json",
                v.to_string().as_bytes(),
                &format!("x-echo-auth: {auth}\r\n"),
            )
        }
        "/echo" => {
            let v = serde_json::json!({
                "scheme": scheme,
                "method": method,
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            });
            simple("200 OK", "application/json", v.to_string().as_bytes(), "")
        }
        "/redirect" => {
            let to = param("to").unwrap_or_default();
            simple(
                "302 Found",
                "text/plain",
                b"moved",
                &format!("location: {to}\r\n"),
            )
        }
        "/status" => {
            let code = param("code").unwrap_or_else(|| "500".into());
            simple(&format!("{code} Status"), "text/plain", b"status", "")
        }
        "/big" => simple(
            "200 OK",
            "application/octet-stream",
            &vec![b'x'; 1 << 20],
            "",
        ),
        "/big-chunked" => {
            // No content-length: only the streaming cap can stop it.
            let _ = stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
                )
                .await;
            let piece = vec![b'y'; 16 * 1024];
            for _ in 0..64 {
                let mut c = format!("{:x}\r\n", piece.len()).into_bytes();
                c.extend_from_slice(&piece);
                c.extend_from_slice(b"\r\n");
                if stream.write_all(&c).await.is_err() {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
            return;
        }
        "/slow-headers" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            simple("200 OK", "text/plain", b"late", "")
        }
        "/trickle" => {
            // Slowloris in reverse: a small body, one byte at a time.
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n")
                .await;
            for _ in 0..1000 {
                if stream.write_all(b"z").await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            return;
        }
        _ => simple("404 Not Found", "text/plain", b"no such path", ""),
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}
