//! Name resolution for egress. The owner's static `egress.hosts` entries
//! win; anything else goes to DNS through an asynchronous resolver
//! (hickory) — the owner's `egress.dns_servers`, or the system's
//! `/etc/resolv.conf` — under its own timeout (`egress.dns_timeout_ms`),
//! and inside the request's timeout as well. A lookup holds no thread: a
//! name server that never answers costs a timer, and the lookup ends when
//! the request that needed it ends.
//!
//! Every answer is checked against the address policy, and the name is
//! refused if *any* answer is blocked (a mixed answer is a rebinding
//! attempt, not a reason to pick the public half).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolverConfig,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::BlockedAddress;
use crate::config::EgressConfig;
use crate::egress::address::AddressPolicy;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The resolver the shared client uses.
#[derive(Debug)]
pub(super) struct CheckedResolver {
    policy: AddressPolicy,
    hosts: BTreeMap<String, Vec<IpAddr>>,
    /// DNS, or why there is none (no usable system configuration): then
    /// only `egress.hosts` names resolve.
    dns: Result<TokioResolver, String>,
    timeout: Duration,
}

impl CheckedResolver {
    pub(super) fn new(policy: AddressPolicy, config: &EgressConfig) -> Result<Self, String> {
        let timeout = Duration::from_millis(config.dns_timeout_ms.max(1));
        let servers = config.dns_server_addrs()?;
        let dns = if servers.is_empty() {
            // The system's configuration may be missing (some containers);
            // that must not stop the host, only names outside egress.hosts.
            system_resolver(timeout).map_err(|e| {
                format!("cannot use the system's DNS configuration ({e}); set egress.dns_servers")
            })
        } else {
            Ok(configured_resolver(&servers, timeout)
                .map_err(|e| format!("cannot set up egress.dns_servers: {e}"))?)
        };
        Ok(CheckedResolver {
            policy,
            hosts: config.hosts.clone(),
            dns,
            timeout,
        })
    }
}

fn configured_resolver(
    servers: &[SocketAddr],
    timeout: Duration,
) -> Result<TokioResolver, NetError> {
    let on_port = |mut c: ConnectionConfig, port: u16| {
        c.port = port;
        c
    };
    let name_servers = servers
        .iter()
        .map(|a| {
            let connections = vec![
                on_port(ConnectionConfig::udp(), a.port()),
                on_port(ConnectionConfig::tcp(), a.port()),
            ];
            NameServerConfig::new(a.ip(), true, connections)
        })
        .collect();
    let config = ResolverConfig::from_parts(None, vec![], name_servers);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    bound(builder.options_mut(), timeout);
    builder.build()
}

fn system_resolver(timeout: Duration) -> Result<TokioResolver, NetError> {
    let mut builder = TokioResolver::builder_tokio()?;
    bound(builder.options_mut(), timeout);
    builder.build()
}

/// Two tries within the lookup's time, both address families asked at once.
fn bound(options: &mut hickory_resolver::config::ResolverOpts, timeout: Duration) {
    options.timeout = (timeout / 2).max(Duration::from_millis(1));
    options.attempts = 2;
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let policy = self.policy.clone();
        let fixed = self.hosts.get(&name).cloned();
        let dns = self.dns.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let ips = match fixed {
                Some(ips) => ips,
                None => lookup(dns, &name, timeout).await?,
            };
            if ips.is_empty() {
                return Err("no addresses".into());
            }
            if ips.iter().any(|ip| policy.check(*ip).is_err()) {
                return Err(Box::new(BlockedAddress) as BoxError);
            }
            let addrs: Vec<SocketAddr> = ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Ask DNS, within `timeout`. A timeout is reported as an I/O `TimedOut`,
/// which the client classifies as `egress.timeout`.
async fn lookup(
    dns: Result<TokioResolver, String>,
    name: &str,
    timeout: Duration,
) -> Result<Vec<IpAddr>, BoxError> {
    let resolver = dns.map_err(|why| {
        tracing::warn!("egress name lookup without DNS: {why}");
        BoxError::from(why)
    })?;
    let timed_out = || -> BoxError {
        Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the name lookup timed out",
        ))
    };
    match tokio::time::timeout(timeout, resolver.lookup_ip(name)).await {
        Err(_) => Err(timed_out()),
        Ok(Err(NetError::Timeout)) => Err(timed_out()),
        Ok(Err(e)) => Err(Box::new(e)),
        Ok(Ok(found)) => Ok(found.iter().collect()),
    }
}
