//! Destinations: what an owner grants (`https://host[:port]`) and what a
//! request URL is compared against. Hosts are compared after the URL
//! parser's IDNA/punycode and lower-casing, with one trailing dot removed;
//! numeric IPv4 spellings (decimal, octal, hex) become plain addresses.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A normalised host: a domain name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetHost {
    Domain(String),
    Ip(IpAddr),
}

impl fmt::Display for TargetHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetHost::Domain(d) => f.write_str(d),
            TargetHost::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            TargetHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

/// One granted destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    pub scheme: Scheme,
    pub host: TargetHost,
    pub port: u16,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

/// Scheme of a URL, if it is one egress speaks.
pub fn scheme_of(url: &Url) -> Option<Scheme> {
    match url.scheme() {
        "https" => Some(Scheme::Https),
        "http" => Some(Scheme::Http),
        _ => None,
    }
}

/// The normalised host of a parsed http(s) URL.
pub fn host_of(url: &Url) -> Option<TargetHost> {
    match url.host()? {
        Host::Domain(d) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.split('.').any(str::is_empty) {
                return None;
            }
            Some(TargetHost::Domain(d.to_ascii_lowercase()))
        }
        Host::Ipv4(a) => Some(TargetHost::Ip(IpAddr::V4(a))),
        Host::Ipv6(a) => Some(TargetHost::Ip(IpAddr::V6(a))),
    }
}

impl Destination {
    /// Parse and validate a requested or granted destination:
    /// `https://host[:port]` (or `http://`), nothing else — no wildcard,
    /// userinfo, path, query or fragment.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("destination {raw:?} {why}; expected https://host[:port]");
        if raw.contains('*') {
            return Err(bad("has a wildcard, which is never allowed"));
        }
        // The URL parser forgives `https:///host`, `https:\\host` and
        // surrounding spaces; a grant must be written plainly.
        let after_scheme = raw
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        // The URL parser also drops tabs, newlines and leading or trailing
        // control characters: none of them belongs in a grant.
        if after_scheme.is_empty()
            || after_scheme.starts_with('/')
            || raw.contains('\\')
            || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("is not written as scheme://host"));
        }
        // Nothing after the authority but one optional `/`, as written: the
        // parser would resolve `/..` or `/./` to `/` and hide it.
        if after_scheme
            .find('/')
            .is_some_and(|i| &after_scheme[i..] != "/")
        {
            return Err(bad("has a path, query or fragment"));
        }
        let url = Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        let scheme = scheme_of(&url).ok_or_else(|| bad("does not use http or https"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("has userinfo"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("has a path, query or fragment"));
        }
        let host = host_of(&url).ok_or_else(|| bad("has no usable host"))?;
        // Percent-escapes in the host decode to anything (`%2A` is `*`):
        // a granted name holds only what a DNS name can.
        if let TargetHost::Domain(name) = &host
            && !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return Err(bad("has characters no host name can hold"));
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| bad("has no port"))?;
        Ok(Destination { scheme, host, port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_normalised() {
        let d = Destination::parse("https://API.Example.COM.").unwrap();
        assert_eq!(d.to_string(), "https://api.example.com:443");
        let d = Destination::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(d.host, TargetHost::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(d.port, 8080);
        let d = Destination::parse("https://bücher.example").unwrap();
        assert_eq!(d.host, TargetHost::Domain("xn--bcher-kva.example".into()));
        let d = Destination::parse("https://[::1]:9443").unwrap();
        assert_eq!(d.to_string(), "https://[::1]:9443");
    }

    #[test]
    fn bad_grants_are_refused() {
        for bad in [
            "*",
            "https://*",
            "https://*.example.com",
            "https://",
            "https:///path",
            "https:\\\\example.com",
            " https://example.com",
            "example.com",
            "ftp://example.com",
            "file:///etc/passwd",
            "https://user@example.com",
            "https://user:pw@example.com",
            "https://example.com/path",
            "https://example.com/?q=1",
            "https://example.com/#frag",
            "https://example..com",
            "https://.",
            "https://example.com:99999",
            "http://K:\0\0",
            "https://2/..",
            "https://example.com/./",
            "https://example.com//",
            "https://exa\tmple.com",
            "https://example.com\n",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}

#[cfg(test)]
mod escaped_hosts {
    use super::*;

    #[test]
    fn escapes_cannot_smuggle_a_wildcard_or_punctuation_into_a_grant() {
        // Found by the destination fuzzer: `%2A` decoded to `*` after the
        // wildcard check.
        for raw in [
            "http://%2Ahtt+9'",
            "https://%2A.example.com",
            "https://a%2Cb.example",
        ] {
            assert!(Destination::parse(raw).is_err(), "{raw}");
        }
        assert!(Destination::parse("https://api.example.com").is_ok());
    }
}
