//! Outbound HTTP through the host.
//!
//! Every request goes through the host's egress policy: only destinations the
//! owner granted are reachable, redirects are never followed (a 3xx comes back
//! to you as a [`Response`]), and private addresses are refused. Refusals come
//! back as an [`HttpError`] whose `code` is the host's stable code, for example
//! `egress.host_not_allowed`.
//!
//! ```no_run
//! use skillhost_sdk::http::{HttpErrorKind, Request};
//!
//! #[derive(serde::Deserialize)]
//! struct Item { name: String, price: f64 }
//!
//! # fn run() -> Result<(), skillhost_sdk::http::HttpError> {
//! let response = Request::get("https://api.example.com/v1/items")
//!     .header("accept", "application/json")
//!     .send()?;
//! let items: Vec<Item> = response.error_for_status()?.json()?;
//!
//! match Request::get("https://elsewhere.example/").send() {
//!     Err(e) if e.kind() == HttpErrorKind::HostNotAllowed => { /* not granted */ }
//!     _ => {}
//! }
//! # Ok(()) }
//! ```
//!
//! The skill declares the destinations it needs in its
//! [`Manifest`](crate::Manifest) as request rules: a bare origin
//! (`.http(&["https://api.example.com"])`, every method and path) or methods
//! and a path prefix (`"GET,POST https://api.example.com/v1/items/"`). The
//! owner grants all or some of them, or narrows them.

use crate::__bindings::skillhost::skill::{host, types};

/// An outbound request, built with [`Request::get`], [`Request::post`] or
/// [`Request::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// A response from the destination, after the host's size caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status; a 3xx is returned as is, never followed.
    pub status: u16,
    /// Response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, cut at the host's cap.
    pub body: Vec<u8>,
}

/// Why the host refused or failed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The host's stable code, for example `egress.host_not_allowed`.
    pub code: String,
    /// A human-readable explanation; never the host's internal detail.
    pub message: String,
}

/// The host's refusal or failure codes, as a type. `Other` keeps codes this
/// SDK version does not know yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// `egress.host_not_allowed`: the destination is not granted.
    HostNotAllowed,
    /// `egress.scheme_not_allowed`: e.g. `http` where only `https` is granted.
    SchemeNotAllowed,
    /// `egress.port_not_allowed`.
    PortNotAllowed,
    /// `egress.method_not_allowed`: the origin is granted, but not for this
    /// method.
    MethodNotAllowed,
    /// `egress.path_not_allowed`: the origin and method are granted, but not
    /// this path (or the path cannot be matched safely).
    PathNotAllowed,
    /// `egress.private_address`: the host is or resolves to a private address.
    PrivateAddress,
    /// `egress.userinfo`: `user:password@` in the URL.
    Userinfo,
    /// `egress.bad_url`.
    BadUrl,
    /// `egress.bad_method`.
    BadMethod,
    /// `egress.bad_header`: forbidden header, CR/LF, or too large.
    BadHeader,
    /// `egress.request_too_large`.
    RequestTooLarge,
    /// `egress.response_too_large`.
    ResponseTooLarge,
    /// `egress.too_many_requests`: this invocation's request budget is spent.
    TooManyRequests,
    /// `limits.egress_bytes`: this invocation's budget of bytes sent or
    /// received over HTTP is spent.
    EgressBytes,
    /// `egress.trial`: a trial run for the owner's review; every request is
    /// recorded and refused.
    Trial,
    /// `egress.timeout`.
    Timeout,
    /// `egress.connect_failed`: DNS, TCP or TLS failed.
    ConnectFailed,
    /// `http.status`: [`Response::error_for_status`] saw a 4xx/5xx.
    Status,
    /// `http.decode`: the body was not the JSON or text expected.
    Decode,
    /// A code this SDK does not know.
    Other(String),
}

impl HttpError {
    /// The code as a type.
    pub fn kind(&self) -> HttpErrorKind {
        match self.code.as_str() {
            "egress.host_not_allowed" => HttpErrorKind::HostNotAllowed,
            "egress.scheme_not_allowed" => HttpErrorKind::SchemeNotAllowed,
            "egress.port_not_allowed" => HttpErrorKind::PortNotAllowed,
            "egress.method_not_allowed" => HttpErrorKind::MethodNotAllowed,
            "egress.path_not_allowed" => HttpErrorKind::PathNotAllowed,
            "egress.private_address" => HttpErrorKind::PrivateAddress,
            "egress.userinfo" => HttpErrorKind::Userinfo,
            "egress.bad_url" => HttpErrorKind::BadUrl,
            "egress.bad_method" => HttpErrorKind::BadMethod,
            "egress.bad_header" => HttpErrorKind::BadHeader,
            "egress.request_too_large" => HttpErrorKind::RequestTooLarge,
            "egress.response_too_large" => HttpErrorKind::ResponseTooLarge,
            "egress.too_many_requests" => HttpErrorKind::TooManyRequests,
            "limits.egress_bytes" => HttpErrorKind::EgressBytes,
            "egress.trial" => HttpErrorKind::Trial,
            "egress.timeout" => HttpErrorKind::Timeout,
            "egress.connect_failed" => HttpErrorKind::ConnectFailed,
            "http.status" => HttpErrorKind::Status,
            "http.decode" => HttpErrorKind::Decode,
            other => HttpErrorKind::Other(other.to_string()),
        }
    }

    fn local(code: &str, message: String) -> Self {
        HttpError {
            code: code.to_string(),
            message,
        }
    }
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 3xx (redirects are never followed for you).
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// `Err` (`http.status`) for 4xx and 5xx statuses.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        if self.status >= 400 {
            return Err(HttpError::local(
                "http.status",
                format!("the server answered {}", self.status),
            ));
        }
        Ok(self)
    }

    /// Decode the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            HttpError::local(
                "http.decode",
                format!("the body is not the expected JSON: {e}"),
            )
        })
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, HttpError> {
        std::str::from_utf8(&self.body)
            .map_err(|_| HttpError::local("http.decode", "the body is not UTF-8".into()))
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for HttpError {}

impl Request {
    /// A request with any method.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// Add a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Set the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Set a JSON body and `content-type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self, HttpError> {
        let body = serde_json::to_vec(value).map_err(|e| {
            HttpError::local(
                "http.decode",
                format!("the body cannot be encoded as JSON: {e}"),
            )
        })?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Send the request through the host.
    pub fn send(self) -> Result<Response, HttpError> {
        let request = types::HttpRequest {
            method: self.method,
            url: self.url,
            headers: self
                .headers
                .into_iter()
                .map(|(name, value)| types::Header { name, value })
                .collect(),
            body: self.body,
        };
        match host::http_fetch(&request) {
            Ok(r) => Ok(Response {
                status: r.status,
                headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                body: r.body,
            }),
            Err(e) => Err(HttpError {
                code: e.code,
                message: e.message,
            }),
        }
    }
}
