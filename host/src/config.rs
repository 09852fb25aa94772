//! Host configuration: the owner's limits. Safe defaults; a TOML file may
//! override any of them. A skill can never raise a limit.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Limits applied to every invocation. Each one closes a way for a skill to
/// hurt the host or its neighbours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock time for one invocation, in milliseconds, including time
    /// spent in host calls. Stops skills that sleep or wait forever.
    pub timeout_ms: u64,
    /// Fuel (roughly, wasm instructions) for one invocation. Stops skills that
    /// compute forever, independent of machine speed.
    pub fuel: u64,
    /// Linear memory of one instance, in bytes. Stops skills that exhaust the
    /// host's memory.
    pub memory_bytes: u64,
    /// Size of the JSON input, in bytes. Checked before the sandbox starts.
    pub input_bytes: u64,
    /// Size of the JSON output, in bytes. Stops skills that flood their caller.
    pub output_bytes: u64,
    /// Outbound HTTP requests per invocation.
    pub http_requests: u32,
    /// Bytes one invocation may send over HTTP, across all its requests:
    /// method, URL (as sent, percent-encoded), header names and values and
    /// bodies, each secret placeholder counted as the longest value a
    /// secret may have (4096 bytes), so a refusal never depends on a
    /// secret's length. A request that would pass it is refused before it is sent
    /// (`limits.egress_bytes`).
    pub egress_sent_bytes: u64,
    /// Bytes one invocation may receive over HTTP, across all its requests:
    /// response header names and values and decoded bodies. Checked while a
    /// response streams in; the response that passes it is refused
    /// (`limits.egress_bytes`).
    pub egress_received_bytes: u64,
    /// Log records a skill may write per invocation (more are counted, not kept).
    pub log_records: u32,
    /// Bytes of log text kept per invocation, across `log` calls.
    pub log_bytes: u64,
    /// Bytes of stdout plus stderr kept per invocation; the rest is dropped.
    pub stdio_bytes: u64,
    /// Resolution of the wall and monotonic clocks a skill reads, in
    /// microseconds. Coarse clocks blunt timing side channels; the host's own
    /// deadlines and fuel never read them.
    pub clock_resolution_us: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 10_000,
            fuel: 1_000_000_000,
            memory_bytes: 64 * 1024 * 1024,
            input_bytes: 64 * 1024,
            output_bytes: 50 * 1024,
            http_requests: 20,
            egress_sent_bytes: 1024 * 1024,
            egress_received_bytes: 1024 * 1024,
            log_records: 256,
            log_bytes: 64 * 1024,
            stdio_bytes: 64 * 1024,
            clock_resolution_us: 1000,
        }
    }
}

/// Engine-wide settings, fixed when the host starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Maximum wasm stack, in bytes. Stops runaway recursion with a
    /// `stack_overflow` trap before it can touch the host's stack.
    pub stack_bytes: u64,
    /// Invocations running at once: the one concurrency gate. Sizes the
    /// instance pool; an invocation that finds every place taken is refused
    /// at once with `rate.busy` (it does not queue). A skill's `metadata`
    /// call while it is added waits for a place instead.
    ///
    /// The pool's reservations follow from this and the limits alone, never
    /// from how many skills are approved: for N = `max_concurrent`, N
    /// component instances, 16 N core instances, 2 N linear memories of up
    /// to `limits.memory_bytes` each (address space reserved; pages become
    /// resident only as a guest touches them), 16 N tables of 20,000
    /// elements, and N fiber stacks of `stack_bytes` + 1 MiB.
    pub max_concurrent: u32,
    /// Epoch tick, in milliseconds: how often running skills are checked
    /// against their deadline.
    pub epoch_tick_ms: u64,
    /// Cache compiled artifacts in the data dir (verified before use).
    pub artifact_cache: bool,
    /// Bytes of loaded components (the code memory wasmtime maps for each)
    /// kept in memory between calls, least recently used dropped first. A
    /// dropped component is loaded again on its next call, from bytes read
    /// back and re-hashed. Bounds the host's memory whatever the number of
    /// approved skills; a single component over the bound still runs.
    pub loaded_bytes_max: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            stack_bytes: 512 * 1024,
            max_concurrent: 64,
            epoch_tick_ms: 10,
            artifact_cache: true,
            loaded_bytes_max: 256 * 1024 * 1024,
        }
    }
}

/// Outbound HTTP settings. Only the owner sets these; a skill's grants never
/// widen them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgressConfig {
    /// Time for one request, in milliseconds (connect to last body byte),
    /// further capped to what is left of the invocation's deadline.
    pub request_timeout_ms: u64,
    /// Largest response body returned to a skill. Larger responses are
    /// refused with `egress.response_too_large`, read no further.
    pub max_response_bytes: u64,
    /// Largest request body a skill may send.
    pub max_request_body_bytes: u64,
    /// Largest total size of a request's headers (names plus values).
    pub max_header_bytes: u64,
    /// Address ranges (CIDR, e.g. `127.0.0.0/8`) exempt from the
    /// private-address block. Empty by default: private, loopback,
    /// link-local and other special addresses are unreachable.
    pub allow_private: Vec<String>,
    /// PEM files with CA certificates trusted in addition to the built-in
    /// web roots (e.g. an internal CA).
    pub extra_ca_files: Vec<PathBuf>,
    /// Name servers for egress lookups, as `IP` or `IP:PORT` (e.g.
    /// `127.0.0.1:5353`, `[::1]:53`), asked over UDP (TCP for long
    /// answers). Empty: the system's `/etc/resolv.conf`. Lookups are
    /// asynchronous: a server that never answers ties up no thread.
    pub dns_servers: Vec<String>,
    /// Time for one name lookup (every server and retry), in milliseconds.
    /// A lookup is also cut off when its request's timeout (itself capped
    /// to the invocation's time left) runs out; either way the skill gets
    /// `egress.timeout`.
    pub dns_timeout_ms: u64,
    /// Static name resolution, like `/etc/hosts`: these names resolve to
    /// these addresses without DNS. The addresses are still checked.
    pub hosts: BTreeMap<String, Vec<IpAddr>>,
}

impl Default for EgressConfig {
    fn default() -> Self {
        EgressConfig {
            request_timeout_ms: 10_000,
            max_response_bytes: 50 * 1024,
            max_request_body_bytes: 64 * 1024,
            max_header_bytes: 8 * 1024,
            allow_private: Vec::new(),
            extra_ca_files: Vec::new(),
            dns_servers: Vec::new(),
            dns_timeout_ms: 5_000,
            hosts: BTreeMap::new(),
        }
    }
}

impl EgressConfig {
    /// `dns_servers` as socket addresses (port 53 unless one is given).
    pub fn dns_server_addrs(&self) -> Result<Vec<SocketAddr>, String> {
        self.dns_servers
            .iter()
            .map(|s| {
                s.parse::<SocketAddr>()
                    .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        format!("{s:?} is not an IP address or IP:PORT (e.g. 127.0.0.1:5353)")
                    })
            })
            .collect()
    }
}

/// Invocation rate limits (token buckets that refill continuously).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateConfig {
    /// Invocations per minute of any one skill.
    pub per_skill_per_minute: u32,
    /// Invocations per minute across all skills.
    pub global_per_minute: u32,
    /// Invocations per minute by any one caller.
    pub per_caller_per_minute: u32,
    /// Failed authentications per minute from any one source address;
    /// beyond it, that source gets `rate.limited` (429) until its bucket
    /// refills. Valid tokens are never limited by this.
    pub auth_failures_per_minute: u32,
    /// Per-skill overrides of `per_skill_per_minute`, by skill name.
    pub skills: BTreeMap<String, u32>,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            per_skill_per_minute: 30,
            global_per_minute: 200,
            per_caller_per_minute: 120,
            auth_failures_per_minute: 30,
            skills: BTreeMap::new(),
        }
    }
}

/// The audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days of audit segments to keep; 0 keeps everything. Pruning leaves
    /// the remaining chain verifiable (anchored on the last pruned hash).
    pub retention_days: u32,
    /// Flush records that arrive together with one fsync. Each caller still
    /// waits until its own record is on disk.
    pub group_commit: bool,
    /// Repeated refusals (bad tokens, rate limits, unknown skills, session
    /// caps) for the same type, code, actor, skill and source within this
    /// many seconds are one record plus one summary with a count; 0 writes
    /// every one.
    pub repeat_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retention_days: 0,
            group_commit: true,
            repeat_interval_secs: 60,
        }
    }
}

/// `skillhost serve`: the HTTP API and MCP over Streamable HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Loopback by default; anything else exposes the
    /// API to the network (tokens still required).
    pub bind: String,
    /// Open connections at most; further connections wait to be accepted.
    pub max_connections: u32,
    /// Time to read a request's headers; a slower client is disconnected.
    pub header_timeout_ms: u64,
    /// Time for one whole request, body and invocation included (408/503
    /// after). Must exceed `limits.timeout_ms` so an invocation can use its
    /// full deadline.
    pub request_timeout_ms: u64,
    /// Host names accepted in the `Host` header of `/mcp` requests (DNS
    /// rebinding protection).
    pub mcp_allowed_hosts: Vec<String>,
    /// Open MCP sessions per token at most; one more `initialize` is 429
    /// `mcp.session_limit`.
    pub mcp_sessions_per_token: u32,
    /// Open MCP sessions in all at most.
    pub mcp_sessions_total: u32,
    /// An MCP session unused this long ends (and its event streams).
    pub mcp_session_idle_ms: u64,
    /// Skills per page of a listing (MCP `tools/list`, `GET /v1/skills`):
    /// the answer's size does not grow with the number of skills; clients
    /// follow the cursor for the rest.
    pub page_size: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:7878".into(),
            max_connections: 256,
            header_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            mcp_allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            mcp_sessions_per_token: 16,
            mcp_sessions_total: 256,
            mcp_session_idle_ms: 300_000,
            page_size: 100,
        }
    }
}

/// The whole host configuration, as read from `skillhost.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Per-invocation resource limits (`[limits]`).
    pub limits: Limits,
    /// Engine-wide settings fixed at start-up (`[engine]`).
    pub engine: EngineConfig,
    /// Outbound HTTP settings (`[egress]`); a skill's grants never widen them.
    pub egress: EgressConfig,
    /// Invocation and authentication-failure rate limits (`[rate]`).
    pub rate: RateConfig,
    /// Audit log retention and batching (`[audit]`).
    pub audit: AuditConfig,
    /// `skillhost serve` settings: the HTTP API and MCP over HTTP (`[server]`).
    pub server: ServerConfig,
}

/// Why a configuration was refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read. Reported as `host.config`.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file's path, as given.
        path: String,
        /// The I/O error from reading it.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the configuration's shape
    /// (an unknown key, a wrong type). Reported as `host.config`.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// Where the TOML came from: the file's path, or another origin label.
        path: String,
        /// The TOML parser's message.
        message: String,
    },
    /// The configuration parsed but a value is unacceptable (e.g. a limit of 0,
    /// which would disable it); the message names the key. Reported as
    /// `host.config`.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl HostConfig {
    /// Parse a TOML document. Unknown keys are errors, so a typo never
    /// silently leaves a default in place.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: HostConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.message().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Read and parse a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The configuration as TOML, e.g. for `skillhost config show`.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config always serialises")
    }

    /// Reject values that would disable a limit or break the engine.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let e = &self.engine;
        let positive = [
            ("limits.timeout_ms", l.timeout_ms),
            ("limits.fuel", l.fuel),
            ("limits.memory_bytes", l.memory_bytes),
            ("limits.input_bytes", l.input_bytes),
            ("limits.output_bytes", l.output_bytes),
            ("limits.clock_resolution_us", l.clock_resolution_us),
            ("limits.egress_sent_bytes", l.egress_sent_bytes),
            ("limits.egress_received_bytes", l.egress_received_bytes),
            ("engine.stack_bytes", e.stack_bytes),
            ("engine.max_concurrent", u64::from(e.max_concurrent)),
            ("engine.epoch_tick_ms", e.epoch_tick_ms),
            ("engine.loaded_bytes_max", e.loaded_bytes_max),
            ("egress.request_timeout_ms", self.egress.request_timeout_ms),
            ("egress.max_response_bytes", self.egress.max_response_bytes),
            ("egress.max_header_bytes", self.egress.max_header_bytes),
            ("egress.dns_timeout_ms", self.egress.dns_timeout_ms),
            (
                "rate.per_skill_per_minute",
                u64::from(self.rate.per_skill_per_minute),
            ),
            (
                "rate.global_per_minute",
                u64::from(self.rate.global_per_minute),
            ),
            (
                "rate.per_caller_per_minute",
                u64::from(self.rate.per_caller_per_minute),
            ),
            (
                "server.max_connections",
                u64::from(self.server.max_connections),
            ),
            ("server.header_timeout_ms", self.server.header_timeout_ms),
            ("server.page_size", u64::from(self.server.page_size)),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be greater than 0"
                )));
            }
        }
        if l.memory_bytes > 4 * 1024 * 1024 * 1024 {
            return Err(ConfigError::Invalid(
                "limits.memory_bytes must be at most 4 GiB (the wasm32 address space)".into(),
            ));
        }
        if e.stack_bytes > 64 * 1024 * 1024 {
            return Err(ConfigError::Invalid(
                "engine.stack_bytes must be at most 64 MiB".into(),
            ));
        }
        if self.server.page_size > 10_000 {
            return Err(ConfigError::Invalid(
                "server.page_size must be at most 10000".into(),
            ));
        }
        if e.max_concurrent > 10_000 {
            return Err(ConfigError::Invalid(
                "engine.max_concurrent must be at most 10000".into(),
            ));
        }
        for cidr in &self.egress.allow_private {
            crate::destination::Cidr::parse(cidr)
                .map_err(|m| ConfigError::Invalid(format!("egress.allow_private: {m}")))?;
        }
        self.egress
            .dns_server_addrs()
            .map_err(|m| ConfigError::Invalid(format!("egress.dns_servers: {m}")))?;
        for name in self.egress.hosts.keys() {
            if name.is_empty() || name != &name.to_ascii_lowercase() || name.ends_with('.') {
                return Err(ConfigError::Invalid(format!(
                    "egress.hosts: {name:?} must be a lower-case host name without a trailing dot"
                )));
            }
        }
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "server.bind must be an address and port such as 127.0.0.1:7878, not {:?}",
                self.server.bind
            )));
        }
        if self.server.request_timeout_ms <= l.timeout_ms {
            return Err(ConfigError::Invalid(
                "server.request_timeout_ms must exceed limits.timeout_ms".into(),
            ));
        }
        if e.epoch_tick_ms > l.timeout_ms {
            return Err(ConfigError::Invalid(
                "engine.epoch_tick_ms must not exceed limits.timeout_ms".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let c = HostConfig::default();
        // `serve` listens on loopback unless the owner says otherwise.
        let bind: std::net::SocketAddr = c.server.bind.parse().unwrap();
        assert!(bind.ip().is_loopback());
        assert!(c.server.request_timeout_ms > c.limits.timeout_ms);
        assert_eq!(c.limits.timeout_ms, 10_000);
        assert_eq!(c.limits.fuel, 1_000_000_000);
        assert_eq!(c.limits.memory_bytes, 64 << 20);
        assert_eq!(c.limits.input_bytes, 64 << 10);
        assert_eq!(c.limits.output_bytes, 50 << 10);
        assert_eq!(c.limits.http_requests, 20);
        assert_eq!(c.engine.max_concurrent, 64);
        c.validate().unwrap();
    }

    #[test]
    fn partial_file_overrides_only_what_it_names() {
        let c = HostConfig::from_toml("[limits]\ntimeout_ms = 500\n", "test").unwrap();
        assert_eq!(c.limits.timeout_ms, 500);
        assert_eq!(c.limits.fuel, Limits::default().fuel);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = HostConfig::from_toml("[limits]\ntimeout = 500\n", "test").unwrap_err();
        assert!(err.to_string().contains("timeout"), "{err}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let err = HostConfig::from_toml("[limits]\nfuel = 0\n", "test").unwrap_err();
        assert!(err.to_string().contains("limits.fuel"), "{err}");
    }

    #[test]
    fn dns_servers_are_addresses() {
        let c = HostConfig::from_toml(
            "[egress]\ndns_servers = [\"127.0.0.1:5353\", \"9.9.9.9\", \"[::1]:53\", \"::1\"]\n",
            "test",
        )
        .unwrap();
        let addrs: Vec<String> = c
            .egress
            .dns_server_addrs()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            addrs,
            ["127.0.0.1:5353", "9.9.9.9:53", "[::1]:53", "[::1]:53"]
        );
        for bad in ["dns.example", "127.0.0.1:", "1.2.3.4:99999", ""] {
            let text = format!("[egress]\ndns_servers = [{bad:?}]\n");
            let err = HostConfig::from_toml(&text, "test").unwrap_err();
            assert!(
                err.to_string().contains("egress.dns_servers"),
                "{bad}: {err}"
            );
        }
        let err = HostConfig::from_toml("[egress]\ndns_timeout_ms = 0\n", "test").unwrap_err();
        assert!(err.to_string().contains("egress.dns_timeout_ms"), "{err}");
    }

    #[test]
    fn round_trips_through_toml() {
        let c = HostConfig::default();
        assert_eq!(HostConfig::from_toml(&c.to_toml(), "test").unwrap(), c);
    }
}
