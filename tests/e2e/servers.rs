//! Real HTTP and HTTPS servers on loopback, started by the tests. Each
//! response is written by hand so tests can misbehave on purpose: redirects,
//! huge bodies, trickling bodies. Every request the server receives is
//! counted, so a test can prove that a refused request was never sent.
//!
//! For the secret-leak suite the servers also keep what they are sent:
//! `/store` remembers a request under a key in a store every server of the
//! process shares, and `/load` hands the stored credential back, transformed
//! into one of the forms a server might echo it in, placed in the body, a
//! header value or a header name, and compressed whether or not the client
//! asked (see [`hostile`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The bearer token the test API accepts on `/v1/private`.
pub const TEST_TOKEN: &str = "sk-test-9f8e7d6c5b4a3921";

/// What `/store?key=K` kept of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRequest {
    /// Header names lower-cased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    pub query: String,
    pub body: Vec<u8>,
}

impl StoredRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn request_store() -> &'static Mutex<HashMap<String, StoredRequest>> {
    static STORE: std::sync::OnceLock<Mutex<HashMap<String, StoredRequest>>> =
        std::sync::OnceLock::new();
    STORE.get_or_init(Default::default)
}

/// What any server of this process stored under `key`.
pub fn stored(key: &str) -> Option<StoredRequest> {
    request_store().lock().unwrap().get(key).cloned()
}

fn request_log() -> &'static Mutex<Vec<String>> {
    static LOG: std::sync::OnceLock<Mutex<Vec<String>>> = std::sync::OnceLock::new();
    LOG.get_or_init(Default::default)
}

/// Requests received by any server of this process whose `host` header or
/// request target contains `needle` (e.g. a marker unique to one test, so
/// parallel tests do not disturb the count).
pub fn requests_containing(needle: &str) -> usize {
    request_log()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

/// What any server of this process received (`host method target`, the
/// request line as it arrived) for requests whose line contains `needle`.
pub fn request_lines_containing(needle: &str) -> Vec<String> {
    request_log()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

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
    {
        let host = headers
            .iter()
            .find(|(k, _)| k == "host")
            .map_or("", |(_, v)| v.as_str());
        request_log()
            .lock()
            .unwrap()
            .push(format!("{host} {method} {target}"));
    }

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
            // `tools-<marker>` is `tools` with a marker a test can count.
            let items = match tag.split_once('-').map_or(tag.as_str(), |(t, _)| t) {
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
        p if p.ends_with("/store") => {
            let Some(key) = param("key") else {
                return finish(
                    &mut stream,
                    simple("400 Bad Request", "text/plain", b"key?", ""),
                )
                .await;
            };
            request_store().lock().unwrap().insert(
                key,
                StoredRequest {
                    headers: headers.clone(),
                    query: query.to_string(),
                    body: body.clone(),
                },
            );
            simple("200 OK", "application/json", br#"{"stored":true}"#, "")
        }
        p if p.ends_with("/load") => {
            let stored = param("key").and_then(|k| stored(&k));
            match stored {
                None => simple("404 Not Found", "text/plain", b"nothing stored", ""),
                Some(s) => hostile::load(&s, &param)
                    .unwrap_or_else(|e| simple("500 Bad Load", "text/plain", e.as_bytes(), "")),
            }
        }
        "/bomb" => hostile::bomb(&param)
            .unwrap_or_else(|e| simple("500 Bad Bomb", "text/plain", e.as_bytes(), "")),
        _ => simple("404 Not Found", "text/plain", b"no such path", ""),
    };
    finish(&mut stream, response).await;
}

async fn finish<S: AsyncWrite + Unpin>(stream: &mut S, response: Vec<u8>) {
    let _ = stream.write_all(&response).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// The hostile side of `/load` and `/bomb`: a credential the server was
/// sent, echoed back in the forms a real server produces (escapes,
/// entities, percent-encoding, quoted-printable, wrapped base64, UTF-16,
/// hex, partial copies), in the body, a header value or a header name, and
/// compressed with a content or transfer coding nobody asked for.
///
/// `/load?key=K&form=F&where=W&coding=C&te=T&pre=N&from=H`:
/// - `from`: the stored header to echo (default `authorization`; a leading
///   `Bearer ` is dropped);
/// - `form`: see [`form`];
/// - `where`: `body` (default), `header` (`x-leak: <form>`), `name` (a
///   header named `x-<form>`), `coding` (`content-encoding: <form>`) or `te`
///   (`transfer-encoding: <form>, chunked`); the last three only for forms
///   made of token characters;
/// - `coding`: content coding, applied whether or not the client asked:
///   `identity` (default), `gzip`, `x-gzip`, `deflate-zlib`, `deflate-raw`,
///   `br`, `zstd`, `gzip-gzip` (`content-encoding: gzip, gzip`), `compress`
///   (real LZW) or `x-unknown` (bytes XORed with 0x5A);
/// - `te`: `chunked`, or `gzip`/`deflate` (`transfer-encoding: gzip,
///   chunked`, the coding applied before the chunked framing);
/// - `pre`: how many bytes of filler text come before the token in the
///   forms that encode a whole text (base64, quoted-printable, UTF-16), so a
///   test can move it across alignments and line breaks.
///
/// `/bomb?coding=C&te=T&size=N`: N (default 1 MiB) zero bytes, compressed.
pub mod hostile {
    use std::collections::HashMap;
    use std::io::Write as _;

    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    /// Filler text around a token.
    const FILLER: &str =
        "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ";

    pub fn filler(n: usize) -> String {
        FILLER.chars().cycle().take(n).collect()
    }

    fn hex_with(token: &str, upper: bool, before: &str, sep: &str) -> Vec<u8> {
        token
            .bytes()
            .map(|b| {
                if upper {
                    format!("{before}{b:02X}")
                } else {
                    format!("{before}{b:02x}")
                }
            })
            .collect::<Vec<_>>()
            .join(sep)
            .into_bytes()
    }

    fn wrap(text: &str, cols: usize, eol: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        chars
            .chunks(cols)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(eol)
    }

    /// Quoted-printable (RFC 2045): `escape_all` escapes every byte of the
    /// token as `=XX`, otherwise only what must be; soft line breaks keep
    /// every line at most 76 characters.
    fn quoted_printable(pre: &str, token: &str, escape_all: bool) -> Vec<u8> {
        let mut atoms: Vec<String> = pre.bytes().map(|b| qp_atom(b, false)).collect();
        atoms.extend(token.bytes().map(|b| qp_atom(b, escape_all)));
        atoms.extend(" end".bytes().map(|b| qp_atom(b, false)));
        let mut out = String::new();
        let mut col = 0;
        for a in atoms {
            // Room for the atom and a trailing `=` on this line.
            if col + a.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            col += a.len();
            out.push_str(&a);
        }
        out.into_bytes()
    }

    fn qp_atom(b: u8, escape: bool) -> String {
        // Spaces are always escaped, so none ends a line.
        if !escape && (b'!'..=b'~').contains(&b) && b != b'=' {
            (b as char).to_string()
        } else {
            format!("={b:02X}")
        }
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut units: Vec<u16> = Vec::new();
        if bom {
            units.push(0xFEFF);
        }
        units.extend(text.encode_utf16());
        units
            .into_iter()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    fn pct_all(bytes: &[u8], upper: bool) -> String {
        bytes
            .iter()
            .map(|b| {
                if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    /// The window rule 3 calls a partial copy: 12 characters, or half the
    /// value if that is shorter.
    pub fn window(token: &str) -> usize {
        12.min(token.chars().count() / 2)
    }

    /// `token` in form `name`, `pre` filler bytes before it where the form
    /// encodes a whole text. `None` for an unknown form.
    pub fn form(name: &str, token: &str, pre: Option<usize>) -> Option<Vec<u8>> {
        let chars: Vec<char> = token.chars().collect();
        let w = window(token);
        let text =
            |default_pre: usize| format!("{}{token} end", filler(pre.unwrap_or(default_pre)));
        let b64_wrapped = |cols: usize, eol: &str, url: bool| {
            // By default the token's encoding is cut in half by the first
            // line break.
            let t = text((cols - 16) * 3 / 4);
            let e = if url {
                URL_SAFE_NO_PAD.encode(t)
            } else {
                STANDARD.encode(t)
            };
            wrap(&e, cols, eol).into_bytes()
        };
        let (hex_name, upper) = match name.strip_suffix("-upper") {
            Some(base) if base.starts_with("hex") => (base, true),
            _ => (name, false),
        };
        Some(match hex_name {
            "none" => b"nothing to see here".to_vec(),
            "raw" => token.as_bytes().to_vec(),
            "upper" => token.to_uppercase().into_bytes(),
            "lower" => token.to_lowercase().into_bytes(),
            "json" => serde_json::to_string(token).unwrap().into_bytes(),
            "ujson" | "ujson-upper" => {
                let mut s = String::from("\"");
                for u in token.encode_utf16() {
                    if name == "ujson-upper" {
                        s.push_str(&format!("\\u{u:04X}"));
                    } else {
                        s.push_str(&format!("\\u{u:04x}"));
                    }
                }
                s.push('"');
                s.into_bytes()
            }
            "html-named" => token
                .chars()
                .map(|c| match c {
                    '"' => "&quot;".to_string(),
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '\'' => "&apos;".to_string(),
                    '\\' => "&bsol;".to_string(),
                    '/' => "&sol;".to_string(),
                    ' ' => "&nbsp;".to_string(),
                    c => c.to_string(),
                })
                .collect::<String>()
                .into_bytes(),
            "html-dec" => token
                .chars()
                .map(|c| format!("&#{};", c as u32))
                .collect::<String>()
                .into_bytes(),
            "html-hex" => token
                .chars()
                .map(|c| format!("&#x{:x};", c as u32))
                .collect::<String>()
                .into_bytes(),
            "pct-upper" => pct_all(token.as_bytes(), true).into_bytes(),
            "pct-lower" => pct_all(token.as_bytes(), false).into_bytes(),
            "pct-plus" => url_form(token).into_bytes(),
            "pct-double" => pct_all(pct_all(token.as_bytes(), true).as_bytes(), true).into_bytes(),
            "qp" => quoted_printable(&filler(pre.unwrap_or(64)), token, false),
            "qp-hex" => quoted_printable(&filler(pre.unwrap_or(40)), token, true),
            "b64" => STANDARD.encode(text(0)).into_bytes(),
            "b64url" => URL_SAFE_NO_PAD.encode(text(0)).into_bytes(),
            "b64-64-lf" => b64_wrapped(64, "\n", false),
            "b64-64-crlf" => b64_wrapped(64, "\r\n", false),
            "b64-76-lf" => b64_wrapped(76, "\n", false),
            "b64-76-crlf" => b64_wrapped(76, "\r\n", false),
            "b64url-wrapped" => b64_wrapped(76, "\r\n", true),
            "basic" => format!("Basic {}", STANDARD.encode(format!("user:{token}"))).into_bytes(),
            "utf16le" => utf16(&text(6), false, false),
            "utf16be" => utf16(&text(6), true, false),
            "utf16le-bom" => utf16(&text(6), false, true),
            "utf16be-bom" => utf16(&text(6), true, true),
            "hex" => hex_with(token, upper, "", ""),
            "hex-colon" => hex_with(token, upper, "", ":"),
            "hex-space" => hex_with(token, upper, "", " "),
            "hex-dash" => hex_with(token, upper, "", "-"),
            "hex-x" => hex_with(token, upper, "\\x", ""),
            "hex-0x" => hex_with(token, upper, "0x", " "),
            "partial-head" => chars[..w].iter().collect::<String>().into_bytes(),
            "partial-mid" => {
                let start = (chars.len() - w) / 2;
                chars[start..start + w]
                    .iter()
                    .collect::<String>()
                    .into_bytes()
            }
            "partial-tail" => chars[chars.len() - w..]
                .iter()
                .collect::<String>()
                .into_bytes(),
            _ => return None,
        })
    }

    /// application/x-www-form-urlencoded: `+` for space.
    fn url_form(token: &str) -> String {
        token
            .bytes()
            .map(|b| match b {
                b' ' => "+".to_string(),
                b if b.is_ascii_alphanumeric() || b"-._*".contains(&b) => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn deflate_raw(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    /// Unix `compress` (.Z, LZW) with 9-bit codes: the table is small
    /// enough that the code width never changes, and when it is full it
    /// stops growing (no CLEAR), which decoders accept.
    fn lzw_compress(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x9d, 0x80 | 9];
        let mut table: HashMap<(u16, u8), u16> = HashMap::new();
        let mut next: u16 = 257; // 256 is CLEAR in block mode
        let (mut acc, mut nbits) = (0u32, 0u32);
        let mut emit = |code: u16, out: &mut Vec<u8>| {
            acc |= u32::from(code) << nbits;
            nbits += 9;
            while nbits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                nbits -= 8;
            }
        };
        let mut iter = data.iter();
        let Some(&first) = iter.next() else {
            return out;
        };
        let mut prefix = u16::from(first);
        for &b in iter {
            if let Some(&code) = table.get(&(prefix, b)) {
                prefix = code;
                continue;
            }
            emit(prefix, &mut out);
            if next < 512 {
                table.insert((prefix, b), next);
                next += 1;
            }
            prefix = u16::from(b);
        }
        emit(prefix, &mut out);
        if nbits > 0 {
            out.push(acc as u8);
        }
        out
    }

    /// Apply content coding `coding`; returns the body and the
    /// `content-encoding` value (if any).
    fn content_coding(
        coding: &str,
        body: &[u8],
    ) -> Result<(Vec<u8>, Option<&'static str>), String> {
        Ok(match coding {
            "" | "identity" => (body.to_vec(), None),
            "gzip" => (gzip(body), Some("gzip")),
            "x-gzip" => (gzip(body), Some("x-gzip")),
            "deflate-zlib" => (zlib(body), Some("deflate")),
            "deflate-raw" => (deflate_raw(body), Some("deflate")),
            "br" => (brotli(body), Some("br")),
            "zstd" => (zstd::encode_all(body, 3).unwrap(), Some("zstd")),
            "gzip-gzip" => (gzip(&gzip(body)), Some("gzip, gzip")),
            "compress" => (lzw_compress(body), Some("compress")),
            "x-unknown" => (body.iter().map(|b| b ^ 0x5A).collect(), Some("x-unknown")),
            other => return Err(format!("unknown coding {other}")),
        })
    }

    fn chunked(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in body.chunks(100) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    /// A whole response: `body` with `coding` and `te` applied, plus
    /// `extra` header lines.
    fn respond(
        content_type: &str,
        body: &[u8],
        coding: &str,
        te: &str,
        extra: &str,
    ) -> Result<Vec<u8>, String> {
        let (body, encoding) = content_coding(coding, body)?;
        let mut head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n{extra}"
        );
        if let Some(e) = encoding {
            head.push_str(&format!("content-encoding: {e}\r\n"));
        }
        let body = match te {
            "" => {
                head.push_str(&format!("content-length: {}\r\n", body.len()));
                body
            }
            "chunked" => {
                head.push_str("transfer-encoding: chunked\r\n");
                chunked(&body)
            }
            "gzip" => {
                head.push_str("transfer-encoding: gzip, chunked\r\n");
                chunked(&gzip(&body))
            }
            "deflate" => {
                head.push_str("transfer-encoding: deflate, chunked\r\n");
                chunked(&zlib(&body))
            }
            other => return Err(format!("unknown transfer coding {other}")),
        };
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn is_tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }

    /// `/load`: see the module documentation.
    pub fn load(
        stored: &super::StoredRequest,
        param: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<u8>, String> {
        let from = param("from").unwrap_or_else(|| "authorization".into());
        let value = stored
            .header(&from)
            .ok_or_else(|| format!("no stored header {from}"))?;
        let token = value.strip_prefix("Bearer ").unwrap_or(value);
        let name = param("form").unwrap_or_else(|| "raw".into());
        let pre = param("pre").and_then(|p| p.parse().ok());
        let leaked = form(&name, token, pre).ok_or_else(|| format!("unknown form {name}"))?;
        let coding = param("coding").unwrap_or_default();
        let te = param("te").unwrap_or_default();
        let content_type = match name.as_str() {
            "utf16le" | "utf16le-bom" => "text/plain; charset=utf-16le",
            "utf16be" | "utf16be-bom" => "text/plain; charset=utf-16be",
            _ => "text/plain; charset=utf-8",
        };
        match param("where").as_deref().unwrap_or("body") {
            "body" => respond(content_type, &leaked, &coding, &te, ""),
            "header" => {
                if !leaked.iter().all(|b| (0x20..0x7f).contains(b)) {
                    return Err(format!("form {name} cannot go in a header value"));
                }
                let v = String::from_utf8(leaked).unwrap();
                respond(
                    content_type,
                    b"look in the headers",
                    &coding,
                    &te,
                    &format!("x-leak: {v}\r\n"),
                )
            }
            "name" => {
                if !leaked.iter().all(|b| is_tchar(*b)) {
                    return Err(format!("form {name} cannot go in a header name"));
                }
                let n = String::from_utf8(leaked).unwrap();
                respond(
                    content_type,
                    b"look at the header names",
                    &coding,
                    &te,
                    &format!("x-{n}: 1\r\n"),
                )
            }
            // The value as the name of a content coding or of a transfer
            // coding: nobody can decode it, and a refusal that quotes it
            // leaks it.
            "coding" | "te" => {
                if !leaked.iter().all(|b| is_tchar(*b)) {
                    return Err(format!("form {name} cannot name a coding"));
                }
                let n = String::from_utf8(leaked).unwrap();
                if param("where").as_deref() == Some("coding") {
                    let mut out = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-encoding: {n}\r\ncontent-length: 4\r\n\r\n"
                    )
                    .into_bytes();
                    out.extend_from_slice(b"\x01\x02\x03\x04");
                    Ok(out)
                } else {
                    let mut out = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\ntransfer-encoding: {n}, chunked\r\n\r\n"
                    )
                    .into_bytes();
                    out.extend_from_slice(&chunked(b"\x01\x02\x03\x04"));
                    Ok(out)
                }
            }
            other => Err(format!("unknown place {other}")),
        }
    }

    /// `/bomb`: a small compressed body that decodes to `size` zero bytes.
    pub fn bomb(param: &dyn Fn(&str) -> Option<String>) -> Result<Vec<u8>, String> {
        let size: usize = param("size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1 << 20);
        let coding = param("coding").unwrap_or_else(|| "gzip".into());
        let te = param("te").unwrap_or_default();
        respond(
            "application/octet-stream",
            &vec![0u8; size],
            &coding,
            &te,
            "",
        )
    }
}
