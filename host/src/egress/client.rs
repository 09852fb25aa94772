//! The one shared HTTP client. Redirects off, no proxy from the
//! environment, rustls with the web roots (plus the owner's extra CAs), and a
//! resolver ([`dns`]) that checks every address it returns: the connection
//! goes only to addresses that passed, with no second lookup (so DNS
//! rebinding between check and connect is impossible).

mod dns;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dns::CheckedResolver;

use super::EgressDenial;
use super::address::AddressPolicy;
use crate::config::EgressConfig;
use crate::contract::{Header, HttpResponse};

/// The resolver refused a name because an answer is not public.
#[derive(Debug)]
pub(crate) struct BlockedAddress;

impl std::fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a resolved address is not allowed")
    }
}

impl std::error::Error for BlockedAddress {}

/// The shared client and the owner's egress settings.
#[derive(Debug)]
pub struct EgressClient {
    client: reqwest::Client,
    pub(crate) policy: AddressPolicy,
    pub(crate) config: EgressConfig,
}

impl EgressClient {
    pub fn new(config: &EgressConfig) -> Result<Self, String> {
        let policy = AddressPolicy::new(&config.allow_private)?;
        let resolver = CheckedResolver::new(policy.clone(), config)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .user_agent(concat!("skillhost/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(resolver))
            .pool_max_idle_per_host(4);
        for path in &config.extra_ca_files {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("invalid CA file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("CA file {} holds no certificate", path.display()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(EgressClient {
            client,
            policy,
            config: config.clone(),
        })
    }

    /// Send a request that already passed every policy check, reading at
    /// most `max_response_bytes` of body, all within `deadline`, and at most
    /// `bytes_left` bytes of headers and body together (the invocation's
    /// `limits.egress_received_bytes` left); past the budget the response is
    /// refused with [`EgressDenial::EgressBytes`].
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        url: url::Url,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
        deadline: Instant,
        bytes_left: u64,
    ) -> Result<HttpResponse, EgressDenial> {
        let budget = Duration::from_millis(self.config.request_timeout_ms)
            .min(deadline.saturating_duration_since(Instant::now()));
        if budget.is_zero() {
            return Err(EgressDenial::Timeout);
        }
        let mut request = self.client.request(method, url).timeout(budget);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let cap = self.config.max_response_bytes;
        let spent = || EgressDenial::EgressBytes {
            direction: "receive",
            limit: 0,
        };
        let exchange = async move {
            let mut response = request.send().await.map_err(classify)?;
            let status = response.status().as_u16();
            let mut headers: Vec<Header> = response
                .headers()
                .iter()
                .map(|(k, v)| Header {
                    name: k.as_str().to_string(),
                    value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                })
                .collect();
            let header_bytes: u64 = headers
                .iter()
                .map(|h| (h.name.len() + h.value.len() + 4) as u64)
                .sum();
            // The body may use what the headers left of the budget; the
            // tighter of that and the per-response cap decides, and names
            // itself in the refusal.
            let left = bytes_left.checked_sub(header_bytes).ok_or_else(spent)?;
            let (limit, by_budget) = if left < cap { (left, true) } else { (cap, false) };
            let too_large = || {
                if by_budget {
                    spent()
                } else {
                    EgressDenial::ResponseTooLarge(cap)
                }
            };
            if response.content_length().is_some_and(|len| len > limit) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let body = super::coding::decode(&mut headers, body, limit).map_err(|e| match e {
                EgressDenial::ResponseTooLarge(_) => too_large(),
                e => e,
            })?;
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        };
        // reqwest's timeout covers the exchange too; this outer bound makes
        // the invocation's deadline hold whatever the client does.
        match tokio::time::timeout(budget, exchange).await {
            Ok(result) => result,
            Err(_) => Err(EgressDenial::Timeout),
        }
    }
}

/// Map a client error to a denial without leaking addresses or internals.
fn classify(e: reqwest::Error) -> EgressDenial {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<BlockedAddress>() {
            return EgressDenial::PrivateAddress;
        }
        source = s.source();
    }
    if e.is_timeout() {
        EgressDenial::Timeout
    } else {
        EgressDenial::ConnectFailed
    }
}
