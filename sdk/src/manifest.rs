/// Limits a skill asks for. The owner's configuration always wins: a request
/// can lower a limit for this skill, never raise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitRequest {
    /// Wall-clock time per invocation, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Linear memory, in bytes.
    pub memory_bytes: Option<u64>,
    /// Size of the JSON output, in bytes.
    pub output_bytes: Option<u64>,
}

impl LimitRequest {
    /// No limit requests: the owner's defaults apply.
    pub const NONE: LimitRequest = LimitRequest {
        timeout_ms: None,
        memory_bytes: None,
        output_bytes: None,
    };
}

/// The one declaration of a skill: what it is and what it asks for.
///
/// Built in a `const` context:
///
/// ```
/// use skillhost_sdk::{LimitRequest, Manifest};
///
/// const MANIFEST: Manifest = Manifest::new("weather", "1.2.0", "Current weather for a city.")
///     .http(&["https://api.weather.example"])
///     .secrets(&["WEATHER_TOKEN"])
///     .limits(LimitRequest { timeout_ms: Some(5_000), ..LimitRequest::NONE });
/// assert_eq!(MANIFEST.http, &["https://api.weather.example"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    /// The skill's name: lower-case letters, digits and `-`.
    pub name: &'static str,
    /// The skill's version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
    /// One or two sentences an agent reads to decide whether to call it.
    pub description: &'static str,
    /// HTTP rules the skill asks for: a bare origin `https://host[:port]`
    /// (every method, every path) or `METHODS ORIGIN/PREFIX`, e.g.
    /// `"GET,POST https://api.example.com/v1/items/"`. The grammar and the
    /// path normalisation are the host's (`skillhost_policy::rule`); check a
    /// manifest's rules with [`Manifest::check_http_rules`] in a native test.
    pub http: &'static [&'static str],
    /// Names of secrets the skill asks for.
    pub secrets: &'static [&'static str],
    /// Limits the skill asks for.
    pub limits: LimitRequest,
}

impl Manifest {
    /// A skill that asks for no permissions.
    pub const fn new(name: &'static str, version: &'static str, description: &'static str) -> Self {
        Manifest {
            name,
            version,
            description,
            http: &[],
            secrets: &[],
            limits: LimitRequest::NONE,
        }
    }

    /// Ask for outbound HTTP under these rules (see the `http` field).
    pub const fn http(mut self, destinations: &'static [&'static str]) -> Self {
        self.http = destinations;
        self
    }

    /// Ask for these secrets by name.
    pub const fn secrets(mut self, names: &'static [&'static str]) -> Self {
        self.secrets = names;
        self
    }

    /// Ask for limits.
    pub const fn limits(mut self, limits: LimitRequest) -> Self {
        self.limits = limits;
        self
    }

    /// Check every HTTP rule with the host's own parser, so that a rule the
    /// host would refuse at `skill add` fails the author's `cargo test`
    /// first. Returns each rule in the normalised form the owner's review
    /// shows. Native targets only (the parser is not built into a skill).
    ///
    /// ```
    /// use skillhost_sdk::Manifest;
    ///
    /// let m = Manifest::new("issues", "1.0.0", "Reads issues.")
    ///     .http(&["get https://API.example.com/v1/%69ssues/"]);
    /// assert_eq!(m.check_http_rules().unwrap(), ["GET https://api.example.com:443/v1/issues/"]);
    ///
    /// let bad = Manifest::new("issues", "1.0.0", "Reads issues.")
    ///     .http(&["GET https://api.example.com/v1/../admin"]);
    /// assert!(bad.check_http_rules().is_err());
    /// ```
    #[cfg(not(target_family = "wasm"))]
    pub fn check_http_rules(&self) -> Result<Vec<String>, String> {
        self.http
            .iter()
            .map(|raw| {
                skillhost_policy::rule::Rule::parse(raw)
                    .map(|r| r.to_string())
                    .map_err(|e| format!("HTTP rule {raw:?}: {e}"))
            })
            .collect()
    }
}
