//! One invocation in a fresh, bounded instance.
//!
//! Each call gets a new `Store` and a new instance from the skill's
//! pre-instantiated component; nothing survives between calls. Limits:
//! fuel (CPU), an epoch deadline plus a tokio deadline (wall clock, including
//! host calls), a memory limiter, the engine's stack limit, and input/output
//! size caps. WASI is linked locked down: no files, env, args, sockets or
//! name lookup; stdout/stderr are captured into a capped buffer.

mod clocks;
mod error;
mod limiter;
pub mod logs;
pub mod skill_code;
mod stdio;

use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

pub use error::{InvokeError, MAX_SKILL_CODE_BYTES, MAX_SKILL_MESSAGE_BYTES};
pub use limiter::MAX_TABLE_ELEMENTS;
pub use logs::{LogLevel, LogRecord, LogSource};

use crate::config::Limits;
use crate::contract::{self, Skill, SkillPre};
use crate::egress::{EgressClient, EgressEvent, EgressSession, Redaction, Rule};
use crate::secrets::SecretGrants;
use limiter::MemoryLimiter;
use logs::LogBuffer;
use std::sync::Arc;
use stdio::{CapturedStdio, Stream};

/// Prefix the SDK's panic hook puts on its log record.
const PANIC_PREFIX: &str = "panic: ";
/// Longest panic message kept as a trap's detail.
const MAX_PANIC_BYTES: usize = 512;
/// Longest egress refusal message handed to the guest.
const MAX_EGRESS_MESSAGE_BYTES: usize = 512;

/// What one invocation consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Fuel (roughly, wasm instructions) used, out of `limits.fuel`.
    pub fuel_consumed: u64,
    /// Largest linear memory granted to the instance, in bytes.
    pub peak_memory_bytes: u64,
    /// Wall-clock time of the call, instantiation included, in
    /// milliseconds.
    pub duration_ms: u64,
    /// Outbound HTTP requests attempted, allowed or refused.
    pub http_requests: u32,
    /// Response body bytes returned to the skill, summed over its requests.
    pub egress_response_bytes: u64,
    /// Log records dropped because `limits.log_records` or
    /// `limits.log_bytes` was reached.
    pub log_records_dropped: u64,
    /// Bytes of stdout and stderr dropped past `limits.stdio_bytes`.
    pub stdio_bytes_dropped: u64,
}

/// The result of one call into a skill, with its logs and resource use.
#[derive(Debug)]
pub struct Report<T> {
    /// What the call produced, or why it produced nothing.
    pub result: Result<T, InvokeError>,
    /// The skill's log records and stdout/stderr lines kept within the caps,
    /// secrets redacted.
    pub logs: Vec<LogRecord>,
    /// The resources the call consumed.
    pub usage: Usage,
    /// Every outbound request attempted, allowed or refused.
    pub egress: Vec<EgressEvent>,
    /// Secrets found and replaced in responses returned to the skill.
    pub redactions: Vec<Redaction>,
}

/// The result of `invoke`: a JSON output string on success.
pub type Invocation = Report<String>;

/// Per-store state: exactly what one instance may touch.
pub struct SandboxState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    logs: LogBuffer,
    egress: EgressSession,
    timed_out: bool,
    panic_message: Option<String>,
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl contract::skillhost::skill::types::Host for SandboxState {}

impl contract::skillhost::skill::host::Host for SandboxState {
    async fn log(&mut self, level: contract::LogLevel, message: String) {
        let level = match level {
            contract::LogLevel::Trace => LogLevel::Trace,
            contract::LogLevel::Debug => LogLevel::Debug,
            contract::LogLevel::Info => LogLevel::Info,
            contract::LogLevel::Warn => LogLevel::Warn,
            contract::LogLevel::Error => LogLevel::Error,
        };
        // Redact first, then cut: a secret straddling a cap loses all of
        // itself, not only its tail.
        if level == LogLevel::Error
            && self.panic_message.is_none()
            && let Some(m) = message.strip_prefix(PANIC_PREFIX)
        {
            self.panic_message = Some(self.egress.redactor().clean(m, MAX_PANIC_BYTES, "error"));
        }
        let message = self
            .egress
            .redactor()
            .clean(&message, logs::MAX_MESSAGE_BYTES, "log");
        self.logs.push(level, LogSource::Skill, &message);
    }

    async fn http_fetch(
        &mut self,
        request: contract::HttpRequest,
    ) -> Result<contract::HttpResponse, contract::HttpError> {
        match self.egress.fetch(request).await {
            Ok(response) => Ok(response),
            Err(denial) => {
                tracing::info!(code = denial.code(), "egress request refused");
                // A message may quote response bytes (a coding's name): it
                // is scanned like the response itself.
                let message = self.egress.redactor().clean(
                    &denial.to_string(),
                    MAX_EGRESS_MESSAGE_BYTES,
                    "response_error",
                );
                Err(contract::HttpError {
                    code: denial.code().to_string(),
                    message,
                })
            }
        }
    }
}

/// Which export to call.
pub(crate) enum Call<'a> {
    Metadata,
    Invoke(&'a str),
}

pub(crate) enum Returned {
    Metadata(contract::Metadata),
    Invoke(Result<String, contract::SkillError>),
}

/// An input that is within the size cap and parses as JSON. Only
/// [`check_input`] makes one, so whoever holds one need not check again:
/// the pipeline checks and parses once, validates the parsed value against
/// the schema, and hands the original text to the skill.
#[derive(Debug)]
pub struct CheckedInput<'a> {
    text: &'a str,
    value: serde_json::Value,
}

impl<'a> CheckedInput<'a> {
    /// The input exactly as the caller sent it.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The input, parsed.
    pub fn value(&self) -> &serde_json::Value {
        &self.value
    }
}

/// Refuse input that is too large or not JSON, before any instance exists;
/// otherwise the input with its parsed value.
pub fn check_input<'a>(input: &'a str, limits: &Limits) -> Result<CheckedInput<'a>, InvokeError> {
    let size = input.len() as u64;
    if size > limits.input_bytes {
        return Err(InvokeError::InputTooLarge {
            size,
            limit: limits.input_bytes,
        });
    }
    let value = serde_json::from_str(input).map_err(|e| InvokeError::InputNotJson {
        detail: e.to_string(),
    })?;
    Ok(CheckedInput { text: input, value })
}

/// Where an invocation may send HTTP requests.
#[derive(Debug, Clone, Default)]
pub struct EgressGrants {
    pub client: Option<Arc<EgressClient>>,
    pub destinations: Arc<[Rule]>,
    pub secrets: Arc<SecretGrants>,
    /// Records each attempt before it is sent.
    pub witness: Option<Arc<dyn crate::egress::EgressWitness>>,
    /// A trial run: every request is recorded and refused before DNS
    /// (`egress.trial`).
    pub trial: bool,
}

/// WASI as a skill sees it: captured stdout and stderr, coarse clocks, and
/// nothing else: no files, env, args or stdin, and no sockets of any kind
/// (each switched off here, not left to a default).
fn locked_down_wasi(limits: &Limits, stdio: &CapturedStdio) -> wasmtime_wasi::WasiCtx {
    WasiCtxBuilder::new()
        .stdout(stdio.stdout())
        .stderr(stdio.stderr())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .wall_clock(clocks::CoarseWallClock::new(limits.clock_resolution_us))
        .monotonic_clock(clocks::CoarseMonotonicClock::new(
            limits.clock_resolution_us,
        ))
        .build()
}

fn new_store(
    engine: &Engine,
    limits: &Limits,
    stdio: &CapturedStdio,
    egress: EgressSession,
) -> wasmtime::Result<Store<SandboxState>> {
    let wasi = locked_down_wasi(limits, stdio);
    let state = SandboxState {
        wasi,
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.memory_bytes),
        logs: LogBuffer::new(limits.log_records, limits.log_bytes),
        egress,
        timed_out: false,
        panic_message: None,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_fuel(limits.fuel)?;
    Ok(store)
}

/// Run one export in a fresh instance under `limits`.
pub(crate) async fn call<T>(
    engine: &Engine,
    pre: &SkillPre<SandboxState>,
    limits: &Limits,
    grants: &EgressGrants,
    what: Call<'_>,
    accept: impl FnOnce(Returned) -> Result<T, InvokeError>,
) -> Report<T> {
    let started = Instant::now();
    let stdio = CapturedStdio::new(usize::try_from(limits.stdio_bytes).unwrap_or(usize::MAX));
    let timeout = Duration::from_millis(limits.timeout_ms);
    let deadline = started + timeout;
    let egress = EgressSession::new(
        grants.client.clone(),
        grants.destinations.clone(),
        limits.http_requests,
        deadline,
    )
    .with_byte_budget(limits)
    .trial_only(grants.trial)
    .with_secrets(grants.secrets.clone())
    .with_witness(grants.witness.clone());
    let mut store = match new_store(engine, limits, &stdio, egress) {
        Ok(s) => s,
        Err(e) => {
            return Report {
                result: Err(InvokeError::Internal(format!("cannot create store: {e}"))),
                logs: Vec::new(),
                usage: Usage::default(),
                egress: Vec::new(),
                redactions: Vec::new(),
            };
        }
    };
    // Wasm code: checked at every epoch tick, yielding to the executor in
    // between so a spinning skill never starves other tasks.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut ctx| {
        if Instant::now() >= deadline {
            ctx.data_mut().timed_out = true;
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });

    let mut instantiated = false;
    // Host calls (sleeps, polls, future HTTP): epochs cannot interrupt them,
    // so the whole call also runs under a tokio deadline.
    let outcome = tokio::time::timeout_at(deadline.into(), async {
        let skill: Skill = pre.instantiate_async(&mut store).await?;
        instantiated = true;
        let guest = skill.skillhost_skill_guest();
        Ok::<_, wasmtime::Error>(match what {
            Call::Metadata => Returned::Metadata(guest.call_metadata(&mut store).await?),
            Call::Invoke(input) => Returned::Invoke(guest.call_invoke(&mut store, input).await?),
        })
    })
    .await;

    let fuel_left = store.get_fuel().unwrap_or(0);
    let result = match outcome {
        Err(_elapsed) => Err(InvokeError::Timeout {
            limit_ms: limits.timeout_ms,
        }),
        Ok(Err(e)) => Err(classify(&e, store.data(), limits, instantiated)),
        Ok(Ok(returned)) => accept(returned),
    };
    let mut state = store.into_data();
    let result = result.map_err(|e| clean_error(e, state.egress.redactor(), &mut state.logs));
    let (lines, stdio_bytes_dropped) = stdio.lines();
    let usage = Usage {
        fuel_consumed: limits.fuel.saturating_sub(fuel_left),
        peak_memory_bytes: state.limiter.peak_bytes(),
        duration_ms: started.elapsed().as_millis() as u64,
        http_requests: state.egress.requests(),
        egress_response_bytes: 0,
        log_records_dropped: state.logs.dropped(),
        stdio_bytes_dropped,
    };
    let mut logs = state.logs.into_records();
    let mut session = state.egress;
    logs.extend(lines.into_iter().map(|(stream, message)| {
        let (level, source) = match stream {
            Stream::Stdout => (LogLevel::Info, LogSource::Stdout),
            Stream::Stderr => (LogLevel::Warn, LogSource::Stderr),
        };
        let mut message = session
            .redactor()
            .clean(&message, logs::MAX_MESSAGE_BYTES, "log");
        // Past the stdio cap the stream was cut where it stood, before any
        // redaction could see the rest: never leave a secret's prefix there.
        if stdio_bytes_dropped > 0 {
            session.redactor().trim_cut_tail(&mut message);
        }
        LogRecord {
            level,
            source,
            message,
        }
    }));
    let redactions = session.take_redactions();
    let egress = session.into_events();
    Report {
        result,
        logs,
        usage: Usage {
            egress_response_bytes: egress.iter().map(|e| e.response_bytes).sum(),
            ..usage
        },
        egress,
        redactions,
    }
}

/// Map a failed call to its outcome. The limiter and the deadline flag are
/// consulted first: a memory denial or a deadline usually surfaces as some
/// other trap (the guest aborts), and the cause is what the caller needs.
fn classify(
    err: &wasmtime::Error,
    state: &SandboxState,
    limits: &Limits,
    instantiated: bool,
) -> InvokeError {
    if state.timed_out {
        return InvokeError::Timeout {
            limit_ms: limits.timeout_ms,
        };
    }
    if let Some(denied) = state.limiter.denied() {
        return InvokeError::Memory {
            requested: denied.requested,
            limit: denied.limit,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => InvokeError::FuelExhausted { limit: limits.fuel },
        Some(Trap::Interrupt) => InvokeError::Timeout {
            limit_ms: limits.timeout_ms,
        },
        Some(Trap::UnreachableCodeReached) if state.panic_message.is_some() => {
            InvokeError::Trapped {
                kind: "panic".into(),
                detail: state.panic_message.clone(),
            }
        }
        Some(trap) => InvokeError::Trapped {
            kind: trap_kind(trap),
            detail: None,
        },
        None if instantiated => InvokeError::Trapped {
            kind: "host_trap".into(),
            detail: Some(format!("{err:#}")),
        },
        None => InvokeError::Internal(format!("cannot instantiate: {err:#}")),
    }
}

/// `StackOverflow` → `stack_overflow`, `UnreachableCodeReached` → `unreachable`.
fn trap_kind(trap: &Trap) -> String {
    if *trap == Trap::UnreachableCodeReached {
        return "unreachable".into();
    }
    let name = format!("{trap:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A skill's own code, if it obeys the skill-code rule and holds no
/// secret; otherwise `None`, with a host log record saying why.
fn accept_code(
    code: &str,
    redactor: &mut crate::secrets::Redactor,
    logs: &mut LogBuffer,
) -> Option<String> {
    let mut reason = skill_code::refusal(code);
    if reason.is_none() && redactor.clean(code, MAX_SKILL_CODE_BYTES, "error") != code {
        reason = Some("it holds a secret".into());
    }
    let Some(reason) = reason else {
        return Some(code.to_string());
    };
    tracing::warn!(%reason, "a skill's error code was refused");
    logs.push(
        LogLevel::Warn,
        LogSource::Host,
        &format!("the skill's error code was dropped ({reason}); it is reported as skill.error"),
    );
    None
}

/// Redact, then cut, everything in an error that the guest chose.
fn clean_error(
    error: InvokeError,
    redactor: &mut crate::secrets::Redactor,
    logs: &mut LogBuffer,
) -> InvokeError {
    match error {
        InvokeError::SkillError { code, message } => {
            let message = skill_code::escape_controls(&message);
            InvokeError::SkillError {
                code: code.and_then(|c| accept_code(&c, redactor, logs)),
                message: redactor.clean(&message, MAX_SKILL_MESSAGE_BYTES, "error"),
            }
        }
        InvokeError::Trapped {
            kind,
            detail: Some(d),
        } => InvokeError::Trapped {
            kind,
            detail: Some(redactor.clean(&d, MAX_PANIC_BYTES, "error")),
        },
        other => other,
    }
}

/// Accept what `invoke` returned: the skill's error, or an output within the
/// size cap that is valid JSON.
pub(crate) fn accept_invoke(
    limits: &Limits,
) -> impl FnOnce(Returned) -> Result<String, InvokeError> + '_ {
    move |returned| match returned {
        Returned::Invoke(Ok(output)) => {
            let size = output.len() as u64;
            if size > limits.output_bytes {
                return Err(InvokeError::OutputTooLarge {
                    size,
                    limit: limits.output_bytes,
                });
            }
            // Parsed into a value, not skipped over: a number out of range
            // or nesting past the parser's limit is invalid here too.
            serde_json::from_str::<serde_json::Value>(&output).map_err(|e| {
                InvokeError::OutputNotJson {
                    detail: e.to_string(),
                }
            })?;
            Ok(output)
        }
        Returned::Invoke(Err(e)) => Err(InvokeError::SkillError {
            code: Some(e.code),
            message: e.message,
        }),
        Returned::Metadata(_) => Err(InvokeError::Internal("metadata returned for invoke".into())),
    }
}

/// Accept what `metadata` returned.
pub(crate) fn accept_metadata(returned: Returned) -> Result<contract::Metadata, InvokeError> {
    match returned {
        Returned::Metadata(m) => Ok(m),
        Returned::Invoke(_) => Err(InvokeError::Internal("invoke returned for metadata".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Socket creation itself is refused, not only every address: with TCP
    /// or UDP switched on, a socket is created and only the address check (a
    /// default that denies all) stands in the way. wasmtime-wasi 48 leaves
    /// both off by default; this fails if the builder (or a future default)
    /// turns either on. The probe skill cannot tell those apart (both are
    /// "permission denied"), so this asks the host's WASI implementation
    /// directly.
    #[tokio::test]
    async fn no_socket_can_even_be_created() {
        use wasmtime_wasi::p2::bindings::sockets::network::IpAddressFamily;
        use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::Host as _;
        use wasmtime_wasi::p2::bindings::sockets::udp_create_socket::Host as _;
        use wasmtime_wasi::sockets::WasiSocketsCtxView;

        let stdio = CapturedStdio::new(64);
        let mut wasi = locked_down_wasi(&Limits::default(), &stdio);
        let mut table = ResourceTable::new();
        let mut view = WasiSocketsCtxView {
            ctx: wasi.sockets(),
            table: &mut table,
        };
        for family in [IpAddressFamily::Ipv4, IpAddressFamily::Ipv6] {
            assert!(view.create_tcp_socket(family).is_err(), "TCP {family:?}");
            assert!(
                view.create_udp_socket(family).await.is_err(),
                "UDP {family:?}"
            );
        }
    }

    #[test]
    fn trap_kinds_are_snake_case() {
        assert_eq!(trap_kind(&Trap::StackOverflow), "stack_overflow");
        assert_eq!(trap_kind(&Trap::UnreachableCodeReached), "unreachable");
        assert_eq!(trap_kind(&Trap::MemoryOutOfBounds), "memory_out_of_bounds");
        assert_eq!(
            trap_kind(&Trap::IntegerDivisionByZero),
            "integer_division_by_zero"
        );
    }

    #[test]
    fn input_is_checked_for_size_then_json() {
        let limits = Limits {
            input_bytes: 8,
            ..Limits::default()
        };
        assert!(check_input("{}", &limits).is_ok());
        assert_eq!(
            check_input("[1,2,3,4,5]", &limits).unwrap_err().code(),
            crate::codes::INPUT_TOO_LARGE
        );
        assert_eq!(
            check_input("{nope", &limits).unwrap_err().code(),
            crate::codes::INPUT_INVALID_JSON
        );
        assert_eq!(
            check_input("", &limits).unwrap_err().code(),
            crate::codes::INPUT_INVALID_JSON
        );
    }
}
