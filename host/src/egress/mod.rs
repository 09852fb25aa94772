//! Outbound HTTP: the only way a skill reaches the network.
//!
//! The checks, in the one order they run ([`EgressSession::fetch`]):
//!
//! 1. request budget for the invocation (`egress.too_many_requests`)
//! 2. method (`egress.bad_method`)
//! 3. URL syntax (`egress.bad_url`)
//! 4. scheme is http(s) (`egress.scheme_not_allowed`)
//! 5. no userinfo (`egress.userinfo`)
//! 6. host, then scheme, then port, then method, then path against the
//!    grant's rules (`egress.host_not_allowed`, `egress.scheme_not_allowed`,
//!    `egress.port_not_allowed`, `egress.method_not_allowed`,
//!    `egress.path_not_allowed`); see [`skillhost_policy::grant`]
//! 7. an IP-literal host is checked against the address policy
//!    (`egress.private_address`) — reqwest's resolver never sees literals
//! 8. headers and body (`egress.bad_header`, `egress.request_too_large`)
//! 9. what the guest wrote (URL, headers, body) carries no granted secret,
//!    in any scanned form, to a destination that secret is not bound to
//!    (`secret.exfiltration`); the guest's `Accept-Encoding` is replaced by
//!    `identity`
//! 10. secret placeholders in header values are checked (granted, set,
//!     allowed by one of the secret's own rules for this https request) and
//!     substituted (`secret.*`); then the whole request (URL, headers,
//!     body) is checked against what is left of the invocation's sent-bytes
//!     budget, and refused once the received-bytes budget is spent
//!     (`limits.egress_bytes`)
//! 11. DNS through the checking resolver: every answer must pass the address
//!     policy (`egress.private_address`); the connection uses only those
//!     answers
//! 12. the exchange: no redirects (a 3xx is returned as is), a timeout capped
//!     to the invocation's remaining time (`egress.timeout`), and the body
//!     read as a stream and refused past the per-response cap
//!     (`egress.response_too_large`) or past what is left of the
//!     received-bytes budget, headers included (`limits.egress_bytes`);
//!     failures are `egress.connect_failed`
//! 13. content and transfer codings are decoded, the decoded size counting
//!     against the cap (`egress.unsupported_encoding` for what cannot be)
//! 14. for a skill granted any secret, every response (body, header names
//!     and values) is scanned for every granted secret and redacted, whether
//!     or not this request carried one.
//!
//! Every attempt, allowed or refused, is recorded as an [`EgressEvent`] and
//! audited by the caller.

pub mod address;
mod client;
mod coding;
pub mod request;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use url::Url;

pub use crate::destination::TargetHost;
pub use skillhost_policy::rule::Rule;
use skillhost_policy::grant::{self, Attempt, GrantRefusal};
pub use client::EgressClient;

use crate::codes::{self, Code};
use crate::contract::{HttpRequest, HttpResponse};
pub use crate::secrets::Redaction;
use crate::secrets::{Redactor, SecretGrants};

/// Why an outbound request was refused or failed. Messages are safe to show
/// the skill: they never carry resolved addresses or other host internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressDenial {
    #[error("this invocation already made its {0} allowed requests")]
    TooManyRequests(u32),
    #[error("{0}")]
    BadMethod(String),
    #[error("the attempt could not be put on the audit record, so nothing was sent: {0}")]
    AuditUnavailable(String),
    #[error("the URL could not be parsed")]
    BadUrl,
    #[error("scheme `{0}` is not allowed for this destination")]
    SchemeNotAllowed(String),
    #[error("URLs with userinfo (user:password@) are not allowed")]
    Userinfo,
    #[error("destination `{0}` is not granted to this skill")]
    HostNotAllowed(String),
    #[error("port {0} is not granted for this destination")]
    PortNotAllowed(u16),
    #[error("method {0} is not granted for this destination")]
    MethodNotAllowed(String),
    #[error("{0}")]
    PathNotAllowed(String),
    #[error("this is a trial run: every request is recorded and refused before DNS")]
    Trial,
    #[error("the destination resolves to an address that is not allowed")]
    PrivateAddress,
    #[error("{0}")]
    BadHeader(String),
    #[error("the request body is {size} bytes; the limit is {limit}")]
    RequestTooLarge { size: u64, limit: u64 },
    #[error("the response body is larger than the {0}-byte limit")]
    ResponseTooLarge(u64),
    #[error("this invocation may {direction} at most {limit} bytes over HTTP; that budget is spent")]
    EgressBytes {
        direction: &'static str,
        limit: u64,
    },
    #[error("the request did not complete in time")]
    Timeout,
    #[error("the connection failed")]
    ConnectFailed,
    #[error("{0}")]
    UnsupportedEncoding(String),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
}

impl EgressDenial {
    pub fn code(&self) -> Code {
        match self {
            EgressDenial::TooManyRequests(_) => codes::EGRESS_TOO_MANY_REQUESTS,
            EgressDenial::BadMethod(_) => codes::EGRESS_BAD_METHOD,
            EgressDenial::BadUrl => codes::EGRESS_BAD_URL,
            EgressDenial::SchemeNotAllowed(_) => codes::EGRESS_SCHEME_NOT_ALLOWED,
            EgressDenial::Userinfo => codes::EGRESS_USERINFO,
            EgressDenial::HostNotAllowed(_) => codes::EGRESS_HOST_NOT_ALLOWED,
            EgressDenial::PortNotAllowed(_) => codes::EGRESS_PORT_NOT_ALLOWED,
            EgressDenial::MethodNotAllowed(_) => codes::EGRESS_METHOD_NOT_ALLOWED,
            EgressDenial::PathNotAllowed(_) => codes::EGRESS_PATH_NOT_ALLOWED,
            EgressDenial::Trial => codes::EGRESS_TRIAL,
            EgressDenial::PrivateAddress => codes::EGRESS_PRIVATE_ADDRESS,
            EgressDenial::BadHeader(_) => codes::EGRESS_BAD_HEADER,
            EgressDenial::RequestTooLarge { .. } => codes::EGRESS_REQUEST_TOO_LARGE,
            EgressDenial::ResponseTooLarge(_) => codes::EGRESS_RESPONSE_TOO_LARGE,
            EgressDenial::EgressBytes { .. } => codes::EGRESS_BYTES,
            EgressDenial::Timeout => codes::EGRESS_TIMEOUT,
            EgressDenial::ConnectFailed => codes::EGRESS_CONNECT_FAILED,
            EgressDenial::UnsupportedEncoding(_) => codes::EGRESS_UNSUPPORTED_ENCODING,
            EgressDenial::Secret(e) => e.code(),
            EgressDenial::AuditUnavailable(_) => codes::AUDIT_UNAVAILABLE,
        }
    }
}

/// One outbound attempt, for the audit log. Never holds addresses, headers
/// or bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EgressEvent {
    pub method: String,
    /// `scheme://host:port` when the URL parsed, else empty.
    pub destination: String,
    /// `ok` or the denial code.
    pub code: Code,
    pub status: Option<u16>,
    pub response_bytes: u64,
    pub duration_ms: u64,
    /// Names of the secrets injected into this request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// In a trial run only: the request's path, normalised when it can be
    /// (`Url::path` otherwise); never the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Puts an egress attempt on the durable record before it is sent.
pub trait EgressWitness: Send + Sync + std::fmt::Debug {
    /// Record that `method` to `destination` is about to be sent; `Err`
    /// (the record cannot be written) means it must not be.
    fn before_send<'a>(
        &'a self,
        method: &'a str,
        destination: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Longest path a trial run records, in characters.
const MAX_TRIAL_PATH: usize = 1024;

/// Egress state of one invocation: its grants, its budget and its events.
#[derive(Debug)]
pub struct EgressSession {
    client: Option<Arc<EgressClient>>,
    grants: Arc<[Rule]>,
    max_requests: u32,
    requests: u32,
    bytes: ByteBudget,
    deadline: Instant,
    /// A trial run: every request is recorded and refused at the grant
    /// check, before secrets and DNS.
    trial: bool,
    events: Vec<EgressEvent>,
    redactor: Redactor,
    witness: Option<Arc<dyn EgressWitness>>,
}

impl EgressSession {
    /// A session allowed to reach `grants` through `client`. With no client
    /// (or no grants) every request is refused.
    pub fn new(
        client: Option<Arc<EgressClient>>,
        grants: Arc<[Rule]>,
        max_requests: u32,
        deadline: Instant,
    ) -> Self {
        EgressSession {
            client,
            grants,
            max_requests,
            requests: 0,
            bytes: ByteBudget::of(&crate::config::Limits::default()),
            deadline,
            trial: false,
            events: Vec::new(),
            redactor: Redactor::default(),
            witness: None,
        }
    }

    /// Put every attempt that passed the checks on the record before it is
    /// sent (the host's audit log); without one, nothing is recorded early.
    pub fn with_witness(mut self, witness: Option<Arc<dyn EgressWitness>>) -> Self {
        self.witness = witness;
        self
    }

    /// Make this a trial run's session: each request that gets as far as
    /// the grant check is recorded with its path and refused there
    /// (`egress.trial`), so nothing is resolved, substituted or sent.
    pub fn trial_only(mut self, trial: bool) -> Self {
        self.trial = trial;
        self
    }

    /// Bound the bytes sent and received across the invocation's requests
    /// (`limits.egress_sent_bytes`, `limits.egress_received_bytes`).
    pub fn with_byte_budget(mut self, limits: &crate::config::Limits) -> Self {
        self.bytes = ByteBudget::of(limits);
        self
    }

    /// Allow the granted secrets to be injected into requests.
    pub fn with_secrets(mut self, secrets: Arc<SecretGrants>) -> Self {
        self.redactor = Redactor::new(secrets);
        self
    }

    /// The invocation's redactor: responses here, logs and errors in the
    /// sandbox, so every redaction of one invocation is counted in one place.
    pub fn redactor(&mut self) -> &mut Redactor {
        &mut self.redactor
    }

    /// Secrets found and replaced so far.
    pub fn take_redactions(&mut self) -> Vec<Redaction> {
        self.redactor.take()
    }

    /// Requests attempted, allowed or not.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// What happened, in order.
    pub fn into_events(self) -> Vec<EgressEvent> {
        self.events
    }

    /// Check and (if everything passes) perform one request.
    pub async fn fetch(&mut self, request: HttpRequest) -> Result<HttpResponse, EgressDenial> {
        let started = Instant::now();
        let method = request.method.clone();
        let mut destination = String::new();
        let mut injected = Vec::new();
        let mut path = None;
        let result = self
            .fetch_checked(request, &mut destination, &mut injected, &mut path)
            .await;
        self.events.push(EgressEvent {
            method: method.chars().take(16).collect(),
            destination,
            code: result.as_ref().map_or_else(|e| e.code(), |_| codes::OK),
            status: result.as_ref().ok().map(|r| r.status),
            response_bytes: result.as_ref().map_or(0, |r| r.body.len() as u64),
            duration_ms: started.elapsed().as_millis() as u64,
            secrets: injected,
            path,
        });
        result
    }

    async fn fetch_checked(
        &mut self,
        request: HttpRequest,
        destination: &mut String,
        injected: &mut Vec<String>,
        trial_path: &mut Option<String>,
    ) -> Result<HttpResponse, EgressDenial> {
        if self.requests >= self.max_requests {
            return Err(EgressDenial::TooManyRequests(self.max_requests));
        }
        self.requests += 1;
        let method = request::check_method(&request.method).map_err(hygiene)?;
        let url = Url::parse(&request.url).map_err(|_| EgressDenial::BadUrl)?;
        let scheme = crate::destination::scheme_of(&url)
            .ok_or_else(|| EgressDenial::SchemeNotAllowed(url.scheme().to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EgressDenial::Userinfo);
        }
        let host = crate::destination::host_of(&url).ok_or(EgressDenial::BadUrl)?;
        let port = url.port_or_known_default().ok_or(EgressDenial::BadUrl)?;
        *destination = format!("{}://{}:{}", scheme.as_str(), host, port);
        let attempt = Attempt {
            scheme,
            host: &host,
            port,
            method: &method,
            path: url.path(),
        };
        if self.trial {
            // Bounded: the path is the skill's to choose.
            let path = skillhost_policy::rule::normalize_path(url.path())
                .unwrap_or_else(|_| url.path().to_string());
            *trial_path = Some(path.chars().take(MAX_TRIAL_PATH).collect());
            return Err(EgressDenial::Trial);
        }
        self.check_grant(attempt)?;
        let client = self
            .client
            .clone()
            .ok_or_else(|| EgressDenial::HostNotAllowed(host.to_string()))?;
        if let TargetHost::Ip(ip) = &host {
            client
                .policy
                .check(*ip)
                .map_err(|_| EgressDenial::PrivateAddress)?;
        }
        let mut headers: Vec<(String, String)> = request
            .headers
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect();
        let body_len = request.body.as_ref().map_or(0, |b| b.len() as u64);
        request::check(
            &headers,
            body_len,
            client.config.max_header_bytes,
            client.config.max_request_body_bytes,
        )
        .map_err(hygiene)?;
        // What the guest wrote may not carry a secret anywhere its rules do
        // not allow.
        self.redactor.grants().check_outbound(
            attempt,
            &request.url,
            &headers,
            request.body.as_deref(),
        )?;
        // The host, not the skill, chooses the response coding.
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("accept-encoding"));
        headers.push(("accept-encoding".into(), coding::ACCEPT_ENCODING.into()));
        // The request as it will leave, counted before secrets go in: each
        // placeholder is charged as the longest value a secret can have, so
        // whether the budget refuses a request never depends on a secret's
        // length.
        let placeholders: u64 = headers
            .iter()
            .map(|(_, v)| v.matches("{{secret:").count() as u64)
            .sum();
        let outgoing = (method.as_str().len() + url.as_str().len()) as u64
            + headers
                .iter()
                .map(|(n, v)| (n.len() + v.len() + 4) as u64)
                .sum::<u64>()
            + body_len
            + placeholders * crate::secrets::MAX_SECRET_LEN as u64;
        // Secrets go in last, after every other check has passed.
        *injected = self.redactor.grants().inject(
            attempt,
            &request.url,
            &mut headers,
            request.body.as_deref(),
        )?;
        // Against what is left of the invocation's budget: nothing is sent
        // past it.
        self.bytes.send(outgoing)?;
        // On the durable record before anything leaves the host: a full
        // disk refuses the request rather than send it unrecorded.
        if let Some(witness) = &self.witness {
            witness
                .before_send(method.as_str(), destination)
                .await
                .map_err(EgressDenial::AuditUnavailable)?;
        }
        let received = client
            .send(
                method,
                url,
                &headers,
                request.body,
                self.deadline,
                self.bytes.left_to_receive(),
            )
            .await;
        let mut response = self.bytes.receive(received)?;
        // Every response, not only those to requests that carried a secret:
        // a bound host may store a value and hand it back later.
        self.redactor.response(&mut response);
        Ok(response)
    }

    /// Host, then scheme, port, method and path: the most specific refusal.
    fn check_grant(&self, attempt: Attempt<'_>) -> Result<(), EgressDenial> {
        let Attempt {
            scheme,
            host,
            port,
            method,
            ..
        } = attempt;
        grant::check(&self.grants, attempt).map_err(|refusal| match refusal {
            GrantRefusal::Host => EgressDenial::HostNotAllowed(host.to_string()),
            GrantRefusal::Scheme => EgressDenial::SchemeNotAllowed(scheme.as_str().to_string()),
            GrantRefusal::Port => EgressDenial::PortNotAllowed(port),
            GrantRefusal::Method => EgressDenial::MethodNotAllowed(method.to_string()),
            GrantRefusal::Path(None) => EgressDenial::PathNotAllowed(
                "the path is not granted for this destination and method".into(),
            ),
            GrantRefusal::Path(Some(e)) => EgressDenial::PathNotAllowed(format!(
                "the request {e}, which a granted path prefix cannot be matched against safely"
            )),
        })
    }
}

/// The invocation's byte budget for outbound HTTP.
#[derive(Debug, Clone, Copy)]
struct ByteBudget {
    sent_max: u64,
    received_max: u64,
    sent: u64,
    received: u64,
}

impl ByteBudget {
    fn of(limits: &crate::config::Limits) -> Self {
        ByteBudget {
            sent_max: limits.egress_sent_bytes,
            received_max: limits.egress_received_bytes,
            sent: 0,
            received: 0,
        }
    }

    /// Count a request of `bytes` about to be sent, or refuse it. Once
    /// the receive budget is spent nothing more is sent either: its answer
    /// could not be returned.
    fn send(&mut self, bytes: u64) -> Result<(), EgressDenial> {
        if self.received >= self.received_max {
            return Err(self.spent());
        }
        let after = self.sent.saturating_add(bytes);
        if after > self.sent_max {
            return Err(EgressDenial::EgressBytes {
                direction: "send",
                limit: self.sent_max,
            });
        }
        self.sent = after;
        Ok(())
    }

    fn left_to_receive(&self) -> u64 {
        self.received_max.saturating_sub(self.received)
    }

    /// Count what a response brought in. The client stopped reading at
    /// what was left; a response refused for the budget spends all of it,
    /// so no later request can receive more.
    fn receive(
        &mut self,
        result: Result<HttpResponse, EgressDenial>,
    ) -> Result<HttpResponse, EgressDenial> {
        match result {
            Ok(response) => {
                let bytes = response.body.len() as u64
                    + response
                        .headers
                        .iter()
                        .map(|h| (h.name.len() + h.value.len() + 4) as u64)
                        .sum::<u64>();
                self.received = self.received.saturating_add(bytes);
                if self.received > self.received_max {
                    self.received = self.received_max;
                    return Err(self.spent());
                }
                Ok(response)
            }
            Err(EgressDenial::EgressBytes { .. }) => {
                self.received = self.received_max;
                Err(self.spent())
            }
            // Refused past the per-response cap: at least that much came in.
            Err(EgressDenial::ResponseTooLarge(cap)) => {
                self.received = self.received.saturating_add(cap).min(self.received_max);
                Err(EgressDenial::ResponseTooLarge(cap))
            }
            Err(e) => Err(e),
        }
    }

    fn spent(&self) -> EgressDenial {
        EgressDenial::EgressBytes {
            direction: "receive",
            limit: self.received_max,
        }
    }
}

fn hygiene(h: request::Hygiene) -> EgressDenial {
    match h {
        request::Hygiene::Method(m) => EgressDenial::BadMethod(m),
        request::Hygiene::Header(m) => EgressDenial::BadHeader(m),
        request::Hygiene::BodyTooLarge { size, limit } => {
            EgressDenial::RequestTooLarge { size, limit }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: None,
        }
    }

    fn session(grants: &[&str]) -> EgressSession {
        let grants: Vec<Rule> = grants.iter().map(|g| Rule::parse(g).unwrap()).collect();
        EgressSession::new(
            None,
            grants.into(),
            100,
            Instant::now() + Duration::from_secs(5),
        )
    }

    async fn code(s: &mut EgressSession, url: &str) -> Code {
        s.fetch(get(url)).await.unwrap_err().code()
    }

    #[tokio::test]
    async fn grant_matching_picks_the_most_specific_refusal() {
        let mut s = session(&["https://api.example.com", "http://plain.example:8080"]);
        assert_eq!(
            code(&mut s, "https://evil.example/").await,
            codes::EGRESS_HOST_NOT_ALLOWED
        );
        assert_eq!(
            code(&mut s, "https://api.example.com.evil.example/").await,
            codes::EGRESS_HOST_NOT_ALLOWED
        );
        assert_eq!(
            code(&mut s, "https://evilapi.example.com/").await,
            codes::EGRESS_HOST_NOT_ALLOWED
        );
        assert_eq!(
            code(&mut s, "https://api.example.com@evil.example/").await,
            codes::EGRESS_USERINFO
        );
        assert_eq!(
            code(&mut s, "http://api.example.com/").await,
            codes::EGRESS_SCHEME_NOT_ALLOWED
        );
        assert_eq!(
            code(&mut s, "https://api.example.com:8443/").await,
            codes::EGRESS_PORT_NOT_ALLOWED
        );
        assert_eq!(
            code(&mut s, "https://plain.example:8080/").await,
            codes::EGRESS_SCHEME_NOT_ALLOWED
        );
        assert_eq!(
            code(&mut s, "ftp://api.example.com/").await,
            codes::EGRESS_SCHEME_NOT_ALLOWED
        );
        assert_eq!(code(&mut s, "not a url").await, codes::EGRESS_BAD_URL);
        // Every attempt is an event.
        assert_eq!(s.into_events().len(), 9);
    }

    #[tokio::test]
    async fn methods_and_paths_are_checked_after_the_origin_and_before_any_client() {
        let mut s = session(&[
            "GET https://api.example.com/v1/issues/",
            "POST https://api.example.com/v1/comments",
        ]);
        let req = |method: &str, url: &str| HttpRequest {
            method: method.into(),
            ..get(url)
        };
        for (method, url, want) in [
            ("DELETE", "https://api.example.com/v1/issues/7", codes::EGRESS_METHOD_NOT_ALLOWED),
            ("POST", "https://api.example.com/v1/issues/7", codes::EGRESS_PATH_NOT_ALLOWED),
            ("GET", "https://api.example.com/v1/issuesX", codes::EGRESS_PATH_NOT_ALLOWED),
            ("GET", "https://api.example.com/v1/issues/..%2Fadmin", codes::EGRESS_PATH_NOT_ALLOWED),
            ("GET", "https://api.example.com/v1/issues/../admin", codes::EGRESS_PATH_NOT_ALLOWED),
            ("GET", "http://api.example.com/v1/issues/7", codes::EGRESS_SCHEME_NOT_ALLOWED),
            // Past every rule, the missing client refuses: nothing is sent.
            ("GET", "https://api.example.com/v1/issues/7", codes::EGRESS_HOST_NOT_ALLOWED),
        ] {
            let got = s.fetch(req(method, url)).await.unwrap_err().code();
            assert_eq!(got, want, "{method} {url}");
        }
    }

    #[tokio::test]
    async fn no_client_means_nothing_is_sent() {
        // A granted destination, but a session without a client (the
        // deny-all default) still refuses.
        let mut s = session(&["https://api.example.com"]);
        assert_eq!(
            code(&mut s, "https://api.example.com/").await,
            codes::EGRESS_HOST_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn the_budget_counts_refused_attempts_too() {
        let grants: Arc<[Rule]> = Vec::new().into();
        let mut s = EgressSession::new(None, grants, 2, Instant::now() + Duration::from_secs(5));
        code(&mut s, "https://a.example/").await;
        code(&mut s, "https://b.example/").await;
        assert_eq!(
            code(&mut s, "https://c.example/").await,
            codes::EGRESS_TOO_MANY_REQUESTS
        );
        assert_eq!(s.requests(), 2);
    }
}
