//! Outbound HTTP policy. Deny by default: a skill reaches only destinations
//! the owner granted. Until grants exist (registry), the grant list is always
//! empty, so every well-formed request is refused with
//! `egress.host_not_allowed` — and nothing is ever sent.

use url::Url;

use crate::codes::{self, Code};
use crate::contract::HttpRequest;

/// Why an outbound request was refused. Messages are safe to show the skill:
/// they never carry host internals such as resolved addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressDenial {
    #[error("the URL could not be parsed")]
    BadUrl,
    #[error("scheme `{0}` is not allowed; use https")]
    SchemeNotAllowed(String),
    #[error("destination `{0}` is not granted to this skill")]
    HostNotAllowed(String),
    #[error("this invocation already made its {0} allowed requests")]
    TooManyRequests(u32),
}

impl EgressDenial {
    pub fn code(&self) -> Code {
        match self {
            EgressDenial::BadUrl => codes::EGRESS_BAD_URL,
            EgressDenial::SchemeNotAllowed(_) => codes::EGRESS_SCHEME_NOT_ALLOWED,
            EgressDenial::HostNotAllowed(_) => codes::EGRESS_HOST_NOT_ALLOWED,
            EgressDenial::TooManyRequests(_) => codes::EGRESS_TOO_MANY_REQUESTS,
        }
    }
}

/// The destinations one invocation may reach, and its request budget.
#[derive(Debug)]
pub struct EgressPolicy {
    max_requests: u32,
    requests: u32,
}

impl EgressPolicy {
    /// A policy with no grants: every destination is refused.
    pub fn deny_all(max_requests: u32) -> Self {
        EgressPolicy {
            max_requests,
            requests: 0,
        }
    }

    /// Requests this invocation has attempted, allowed or not.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// Decide on one request. Every attempt counts against the budget, so a
    /// skill cannot probe the policy without bound.
    pub fn check(&mut self, request: &HttpRequest) -> Result<(), EgressDenial> {
        if self.requests >= self.max_requests {
            return Err(EgressDenial::TooManyRequests(self.max_requests));
        }
        self.requests += 1;
        let url = Url::parse(&request.url).map_err(|_| EgressDenial::BadUrl)?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(EgressDenial::SchemeNotAllowed(url.scheme().to_string()));
        }
        let host = url.host_str().ok_or(EgressDenial::BadUrl)?;
        // No grants yet: nothing matches.
        Err(EgressDenial::HostNotAllowed(host.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: None,
        }
    }

    #[test]
    fn everything_is_denied_by_default() {
        let mut p = EgressPolicy::deny_all(100);
        for url in [
            "https://example.com/",
            "http://127.0.0.1:8080/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://user:pass@example.com/",
        ] {
            assert_eq!(
                p.check(&get(url)).unwrap_err().code(),
                codes::EGRESS_HOST_NOT_ALLOWED,
                "{url}"
            );
        }
        assert_eq!(
            p.check(&get("file:///etc/passwd")).unwrap_err().code(),
            codes::EGRESS_SCHEME_NOT_ALLOWED
        );
        assert_eq!(
            p.check(&get("not a url")).unwrap_err().code(),
            codes::EGRESS_BAD_URL
        );
    }

    #[test]
    fn the_request_budget_is_enforced() {
        let mut p = EgressPolicy::deny_all(2);
        p.check(&get("https://a.example/")).unwrap_err();
        p.check(&get("https://b.example/")).unwrap_err();
        assert_eq!(
            p.check(&get("https://c.example/")).unwrap_err().code(),
            codes::EGRESS_TOO_MANY_REQUESTS
        );
        assert_eq!(p.requests(), 2);
    }
}
