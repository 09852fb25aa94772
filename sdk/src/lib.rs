//! # skillhost SDK
//!
//! Write a skill for [skillhost](https://example.invalid/skillhost): a
//! WebAssembly component, built for `wasm32-wasip2`, that an owner reviews and
//! approves and that agent runtimes invoke with JSON.
//!
//! You declare the skill once — its name, version, description and the
//! permissions it asks for — as a [`Manifest`], and write one function from a
//! typed input to a typed output. The SDK derives the JSON Schemas from your
//! types, answers the host's `metadata` call, decodes the input, encodes the
//! output and turns a panic into a log record. The generated WIT bindings stay
//! hidden.
//!
//! ## A complete skill
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "word-count"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! skillhost-sdk = { path = "../sdk" }
//! serde = { version = "1", features = ["derive"] }
//! schemars = "1" # derives the JSON Schemas published in metadata
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError, info};
//! use serde::{Deserialize, Serialize};
//!
//! /// What the caller sends.
//! #[derive(Deserialize, JsonSchema)]
//! struct Input {
//!     /// The text to count words in.
//!     text: String,
//! }
//!
//! /// What the skill returns.
//! #[derive(Serialize, JsonSchema)]
//! struct Output {
//!     words: usize,
//! }
//!
//! struct WordCount;
//!
//! impl Skill for WordCount {
//!     type Input = Input;
//!     type Output = Output;
//!
//!     const MANIFEST: Manifest =
//!         Manifest::new("word-count", env!("CARGO_PKG_VERSION"), "Counts the words in a text.");
//!
//!     fn invoke(input: Input) -> Result<Output, SkillError> {
//!         if input.text.len() > 10_000 {
//!             return Err(SkillError::new("text_too_long", "send at most 10000 bytes"));
//!         }
//!         let words = input.text.split_whitespace().count();
//!         info!("counted {words} words");
//!         Ok(Output { words })
//!     }
//! }
//!
//! skillhost_sdk::export_skill!(WordCount);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the component
//! is `target/wasm32-wasip2/release/word_count.wasm`.
//!
//! ## What the sandbox allows
//!
//! A skill has no files, no environment, no arguments, no sockets and no name
//! lookup. It may read clocks and random numbers. Anything written to
//! stdout/stderr is captured (capped) and becomes log records. Outbound HTTP
//! goes only through [`http`], and only to destinations the owner granted;
//! everything else is denied. Every invocation starts from a fresh instance, so
//! statics never carry over from one call to the next.

#![forbid(unsafe_code)]

extern crate self as skillhost_sdk;

pub mod http;
#[doc(hidden)]
pub mod log;
mod manifest;

pub use manifest::{LimitRequest, Manifest};
pub use schemars::JsonSchema;

/// The WIT bindings. Not part of the public API.
#[doc(hidden)]
pub mod __bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "skill",
        pub_export_macro: true,
        export_macro_name: "__export_guest",
        default_bindings_module: "skillhost_sdk::__bindings",
        runtime_path: "skillhost_sdk::__private::wit_bindgen_rt",
    });
}

/// The placeholder for a secret, to put in a header value:
/// `secret("API_TOKEN")` is `{{secret:API_TOKEN}}`.
///
/// The skill never sees the value. The host substitutes it into the
/// outgoing request after every egress check has passed, and only if the
/// skill's [`Manifest`] asked for the secret, the owner granted it, a value
/// is set, the request goes over https, and the destination is one the
/// owner bound the secret to. Otherwise the request is refused with a
/// `secret.*` code and nothing is sent. Whatever comes back from that
/// request is scanned for the value (raw, base64, hex, URL-encoded) and
/// redacted, and so are the skill's output, errors and logs.
///
/// ```no_run
/// use skillhost_sdk::{http::Request, secret};
///
/// # fn run() -> Result<(), skillhost_sdk::http::HttpError> {
/// let me = Request::get("https://api.example.com/v1/me")
///     .header("authorization", format!("Bearer {}", secret("API_TOKEN")))
///     .send()?;
/// # Ok(()) }
/// ```
pub fn secret(name: &str) -> String {
    format!("{{{{secret:{name}}}}}")
}

/// An error a skill returns on purpose. The host passes `code` and `message`
/// to the caller as a `skill.error` (both are size-capped by the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillError {
    /// A short, stable, machine-readable code chosen by the skill author.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl SkillError {
    /// An error with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SkillError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SkillError {}

/// A refused or failed request, passed on with `?`, becomes the skill error
/// `fetch.<host code with dots as underscores>` (e.g. `fetch.egress_timeout`).
/// A skill may never report a host code as its own: the host drops any
/// skill code in a host namespace (`egress.`, `limits.`, ...).
impl From<http::HttpError> for SkillError {
    fn from(e: http::HttpError) -> Self {
        SkillError::new(format!("fetch.{}", e.code.replace('.', "_")), e.message)
    }
}

/// A skill: one declaration and one function.
///
/// See the [crate documentation](crate) for a complete example.
pub trait Skill {
    /// The input, decoded from the caller's JSON. Its JSON Schema is derived
    /// and published in the skill's metadata.
    type Input: serde::de::DeserializeOwned + JsonSchema;
    /// The output, encoded to JSON. Its JSON Schema is published too.
    type Output: serde::Serialize + JsonSchema;

    /// Name, version, description and requested permissions.
    const MANIFEST: Manifest;

    /// Run the skill once. Each call runs in a fresh instance.
    fn invoke(input: Self::Input) -> Result<Self::Output, SkillError>;
}

/// Export a type implementing [`Skill`] as the component's `guest` interface.
///
/// Use it exactly once, at the crate root of a `cdylib` crate.
#[macro_export]
macro_rules! export_skill {
    ($skill:ty) => {
        #[doc(hidden)]
        struct __SkillhostExport;

        impl $crate::__bindings::exports::skillhost::skill::guest::Guest for __SkillhostExport {
            fn metadata() -> $crate::__bindings::skillhost::skill::types::Metadata {
                $crate::__private::metadata::<$skill>()
            }
            fn invoke(
                input: ::std::string::String,
            ) -> ::std::result::Result<
                ::std::string::String,
                $crate::__bindings::skillhost::skill::types::SkillError,
            > {
                $crate::__private::invoke::<$skill>(&input)
            }
        }

        $crate::__bindings::__export_guest!(__SkillhostExport with_types_in $crate::__bindings);
    };
}

/// Support code for [`export_skill!`]. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen::rt as wit_bindgen_rt;

    use crate::__bindings::skillhost::skill::types as wit;
    use crate::Skill;

    fn schema_json<T: crate::JsonSchema>() -> String {
        let schema = schemars::schema_for!(T);
        serde_json::to_string(&schema).expect("a derived JSON Schema always serialises")
    }

    pub fn metadata<S: Skill>() -> wit::Metadata {
        let m = &S::MANIFEST;
        wit::Metadata {
            name: m.name.to_string(),
            version: m.version.to_string(),
            description: m.description.to_string(),
            input_schema: schema_json::<S::Input>(),
            output_schema: Some(schema_json::<S::Output>()),
            permissions: wit::Permissions {
                http: m.http.iter().map(|s| s.to_string()).collect(),
                secrets: m.secrets.iter().map(|s| s.to_string()).collect(),
                limits: wit::LimitRequest {
                    timeout_ms: m.limits.timeout_ms,
                    memory_bytes: m.limits.memory_bytes,
                    output_bytes: m.limits.output_bytes,
                },
            },
        }
    }

    pub fn invoke<S: Skill>(input: &str) -> Result<String, wit::SkillError> {
        crate::log::install_panic_hook();
        let input: S::Input = serde_json::from_str(input).map_err(|e| wit::SkillError {
            code: "invalid_input".to_string(),
            message: format!("input does not match the skill's input type: {e}"),
        })?;
        let output = S::invoke(input).map_err(|e| wit::SkillError {
            code: e.code,
            message: e.message,
        })?;
        serde_json::to_string(&output).map_err(|e| wit::SkillError {
            code: "output_encoding".to_string(),
            message: format!("output could not be encoded as JSON: {e}"),
        })
    }
}
