//! Outbound HTTP through the host.
//!
//! Every request goes through the host's egress policy: only destinations the
//! owner granted are reachable, redirects are never followed (a 3xx comes back
//! to you as a [`Response`]), and private addresses are refused. Refusals come
//! back as an [`HttpError`] whose `code` is the host's stable code, for example
//! `egress.host_not_allowed`.
//!
//! ```no_run
//! use skillhost_sdk::http::Request;
//!
//! # fn run() -> Result<(), skillhost_sdk::http::HttpError> {
//! let response = Request::get("https://api.example.com/v1/items")
//!     .header("accept", "application/json")
//!     .send()?;
//! assert_eq!(response.status, 200);
//! # Ok(()) }
//! ```

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
