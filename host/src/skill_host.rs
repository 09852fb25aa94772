//! [`SkillHost`]: the registry, the engine and the audit sink together. Every
//! owner decision and every invocation goes through here, and each one —
//! allowed or refused — is an audit event.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use crate::audit::{AuditEvent, AuditSink, AuditUnavailable, Metrics};
use crate::auth::{AuthError, Caller, NewToken, Role, TokenRecord};
use crate::checker::{CheckError, Checker, Schemas};
use crate::codes::{self, Code};
use crate::config::{HostConfig, Limits};
use crate::contract;
use crate::digest::ModuleDigest;
use crate::egress::Destination;
use crate::egress::Redaction;
use crate::engine::{LoadError, LoadedSkill, SkillEngine};
use crate::registry::{
    Actor, Declared, Inserted, LimitSet, Narrowing, Permissions, Registry, RegistryError,
    SkillName, SkillRecord, SkillVersion,
};
use crate::sandbox::{Invocation, InvokeError, check_input};
use crate::secrets::{MasterKey, SecretError, SecretGrants, SecretSummary, Vault, redact};

/// Why a host operation was refused before or instead of running a skill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The skill's `metadata` call failed while adding it.
    #[error("reading the skill's metadata failed: {0}")]
    Metadata(InvokeError),
    #[error(transparent)]
    Audit(#[from] AuditUnavailable),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The input was refused before the sandbox started.
    #[error("{0}")]
    Input(InvokeError),
}

impl HostError {
    pub fn code(&self) -> Code {
        match self {
            HostError::Registry(e) => e.code(),
            HostError::Load(e) => e.code(),
            HostError::Metadata(e) => e.code(),
            HostError::Audit(e) => e.code(),
            HostError::Check(e) => e.code(),
            HostError::Secret(e) => e.code(),
            HostError::Auth(e) => e.code(),
            HostError::Input(e) => e.code(),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            HostError::Load(e) => e.to_json(),
            HostError::Check(e) => e.to_json(),
            HostError::Input(e) => e.to_json(),
            HostError::Metadata(e) => {
                let mut v = e.to_json();
                v["message"] = self.to_string().into();
                v
            }
            _ => json!({ "code": self.code(), "message": self.to_string() }),
        }
    }
}

/// Limits for the `metadata` call made while adding a skill: the module is
/// not approved yet, so it gets far less than an approved invocation.
pub fn metadata_limits(host: &Limits) -> Limits {
    Limits {
        timeout_ms: host.timeout_ms.min(2_000),
        fuel: host.fuel.min(100_000_000),
        memory_bytes: host.memory_bytes.min(32 << 20),
        http_requests: 0,
        ..host.clone()
    }
}

/// The limits one invocation runs under: the owner's configuration, lowered
/// by whatever was granted. A grant can only lower a limit.
pub fn effective_limits(host: &Limits, granted: &LimitSet) -> Limits {
    let lower = |base: u64, grant: Option<u64>| grant.map_or(base, |g| base.min(g.max(1)));
    Limits {
        timeout_ms: lower(host.timeout_ms, granted.timeout_ms),
        memory_bytes: lower(host.memory_bytes, granted.memory_bytes),
        output_bytes: lower(host.output_bytes, granted.output_bytes),
        ..host.clone()
    }
}

/// The outcome of adding a skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A new pending version, waiting for the owner.
    Pending(SkillVersion),
    /// These bytes were already registered; nothing changed.
    Unchanged(SkillVersion),
}

impl Added {
    pub fn version(&self) -> &SkillVersion {
        match self {
            Added::Pending(v) | Added::Unchanged(v) => v,
        }
    }
}

/// Registry + engine + checker + audit. Share it behind an `Arc`.
pub struct SkillHost {
    config: HostConfig,
    engine: SkillEngine,
    registry: Registry,
    checker: Checker,
    audit: AuditSink,
    loaded: Mutex<HashMap<ModuleDigest, Arc<LoadedSkill>>>,
    key: Option<MasterKey>,
}

impl std::fmt::Debug for SkillHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillHost")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

fn outcome_of(code: Code) -> &'static str {
    if code == codes::OK { "ok" } else { "denied" }
}

impl SkillHost {
    /// The persistent host in `data_dir`: registry, module store, artifact
    /// cache and audit log all live there.
    pub async fn open(config: &HostConfig, data_dir: &Path) -> Result<Self, HostError> {
        let registry = Registry::open(data_dir)?;
        let audit = AuditSink::open(data_dir, &config.audit).await?;
        // No key is fine until a secret is used; a bad key is an error now.
        let key = match MasterKey::load(&data_dir.join(crate::secrets::key::FILE)) {
            Ok(k) => Some(k),
            Err(SecretError::NoKey(_)) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(SkillHost {
            config: config.clone(),
            engine: SkillEngine::new(config, Some(data_dir))?,
            registry,
            checker: Checker::new(config),
            audit,
            loaded: Mutex::default(),
            key,
        })
    }

    /// A host whose registry and audit log live only in memory (the dev
    /// loop). `cache_dir`, if given, holds the compiled-artifact cache.
    pub fn ephemeral(config: &HostConfig, cache_dir: Option<&Path>) -> Result<Self, HostError> {
        Ok(SkillHost {
            config: config.clone(),
            engine: SkillEngine::new(config, cache_dir)?,
            registry: Registry::ephemeral()?,
            checker: Checker::new(config),
            audit: AuditSink::in_memory(),
            loaded: Mutex::default(),
            key: None,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn audit(&self) -> &AuditSink {
        &self.audit
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The engine (e.g. for its instance counters).
    pub fn engine(&self) -> &SkillEngine {
        &self.engine
    }

    async fn record(&self, event: AuditEvent) -> Result<(), AuditUnavailable> {
        self.audit.record(event).await
    }

    /// Audit the outcome of an owner operation, then return it. A refusal
    /// is audited too; if the audit log fails, that failure is returned.
    async fn audited<T>(
        &self,
        kind: &'static str,
        actor: &str,
        skill: &str,
        digest: Option<&ModuleDigest>,
        result: Result<T, HostError>,
        detail: impl FnOnce(&T) -> Value,
    ) -> Result<T, HostError> {
        let (code, detail) = match &result {
            Ok(v) => (codes::OK, detail(v)),
            Err(e) => (e.code(), json!({ "message": e.to_string() })),
        };
        self.record(AuditEvent {
            kind: kind.into(),
            code: code.into(),
            outcome: outcome_of(code).into(),
            actor: actor.into(),
            skill: (!skill.is_empty()).then(|| skill.to_string()),
            digest: digest.map(|d| d.to_string()),
            detail,
            ..AuditEvent::default()
        })
        .await?;
        result
    }

    fn name(raw: &str) -> Result<SkillName, HostError> {
        SkillName::parse(raw).map_err(|reason| RegistryError::invalid_name(raw, reason).into())
    }

    /// Validate a component, read its metadata in the sandbox under tight
    /// limits, compile its schemas, and register it as pending. Nothing is
    /// stored unless all of that succeeds.
    pub async fn add(&self, bytes: &[u8], actor: &str) -> Result<Added, HostError> {
        let digest = ModuleDigest::of(bytes);
        let result = self.add_inner(bytes, actor).await;
        let skill = match &result {
            Ok(a) => a.version().name.to_string(),
            Err(_) => String::new(),
        };
        self.audited(
            "skill.add",
            actor,
            &skill,
            Some(&digest),
            result,
            |a| json!({ "unchanged": matches!(a, Added::Unchanged(_)) }),
        )
        .await
    }

    async fn add_inner(&self, bytes: &[u8], actor: &str) -> Result<Added, HostError> {
        let skill = self.engine.load(bytes)?;
        let report = skill.metadata(&metadata_limits(&self.config.limits)).await;
        let meta = report.result.map_err(HostError::Metadata)?;
        let (name, declared) = declared_from(meta)?;
        Schemas::compile(&declared.input_schema, declared.output_schema.as_ref())
            .map_err(RegistryError::InvalidMetadata)?;
        let at = audit_time();
        let inserted = self.registry.add(
            &name,
            bytes,
            &declared,
            &Actor {
                who: actor,
                at: &at,
            },
        )?;
        Ok(match inserted {
            Inserted::New(v) => Added::Pending(v),
            Inserted::AlreadyPresent(v) => Added::Unchanged(v),
        })
    }

    /// Approve the pending version `digest` of `name`.
    pub async fn approve(
        &self,
        name: &str,
        digest: &ModuleDigest,
        narrowing: &Narrowing,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        let at = audit_time();
        let result = Self::name(name).and_then(|n| {
            Ok(self.registry.approve(
                &n,
                digest,
                narrowing,
                &Actor {
                    who: actor,
                    at: &at,
                },
            )?)
        });
        self.audited(
            "skill.approve",
            actor,
            name,
            Some(digest),
            result,
            |v| json!({ "granted": v.granted }),
        )
        .await
    }

    /// Reject the pending version `digest` of `name`.
    pub async fn reject(
        &self,
        name: &str,
        digest: &ModuleDigest,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        let at = audit_time();
        let result = Self::name(name).and_then(|n| {
            Ok(self.registry.reject(
                &n,
                digest,
                &Actor {
                    who: actor,
                    at: &at,
                },
            )?)
        });
        self.audited("skill.reject", actor, name, Some(digest), result, |_| {
            Value::Null
        })
        .await
    }

    /// Revoke the approved version of `name` (or the named approved version).
    pub async fn revoke(
        &self,
        name: &str,
        digest: Option<&ModuleDigest>,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        let at = audit_time();
        let result = Self::name(name).and_then(|n| {
            Ok(self.registry.revoke(
                &n,
                digest,
                &Actor {
                    who: actor,
                    at: &at,
                },
            )?)
        });
        let digest = result.as_ref().ok().map(|v| v.digest).or(digest.copied());
        self.audited("skill.revoke", actor, name, digest.as_ref(), result, |_| {
            Value::Null
        })
        .await
    }

    /// Disable (`true`) or enable a skill.
    pub async fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<(), HostError> {
        let at = audit_time();
        let result = Self::name(name).and_then(|n| {
            Ok(self.registry.set_disabled(
                &n,
                disabled,
                &Actor {
                    who: actor,
                    at: &at,
                },
            )?)
        });
        let kind = if disabled {
            "skill.disable"
        } else {
            "skill.enable"
        };
        self.audited(kind, actor, name, None, result, |_| Value::Null)
            .await
    }

    /// One skill with all its versions.
    pub fn show(&self, name: &str) -> Result<SkillRecord, HostError> {
        Ok(self.registry.skill(&Self::name(name)?)?)
    }

    /// Every skill.
    pub fn list(&self) -> Result<Vec<SkillRecord>, HostError> {
        Ok(self.registry.skills()?)
    }

    /// Invoke the approved version of `name` for `caller`.
    ///
    /// The pipeline, in this order and nowhere else:
    ///
    /// 1. the name is valid (`registry.invalid_name`);
    /// 2. the skill exists, is enabled and has an approved version whose
    ///    bytes still hash to the approved digest (`skill.*`);
    /// 3. rate limits: caller, skill, global (`rate.limited`);
    /// 4. a concurrency slot (`rate.busy`);
    /// 5. input size and JSON syntax (`limits.input_too_large`,
    ///    `input.invalid_json`);
    /// 6. the input schema (`input.schema_invalid`);
    /// 7. an `invoke.start` audit record is made durable — if it cannot be,
    ///    nothing runs (`audit.unavailable`);
    /// 8. the sandbox, with the granted limits and egress;
    /// 9. the output schema, if declared (`output.schema_invalid`);
    /// 10. the `invoke` audit record (and one per egress attempt) is made
    ///     durable before the result is returned.
    ///
    /// Refusals at steps 1-6 are audited as `invoke` records with outcome
    /// `denied`. `Err` means the skill did not run; `Ok` carries the
    /// invocation, which may itself have failed inside the sandbox.
    pub async fn invoke(
        &self,
        name: &str,
        input: &str,
        caller: &str,
    ) -> Result<Invocation, HostError> {
        let span = tracing::info_span!("invoke", skill = name, caller = caller);
        async move {
            let input_sha256 = ModuleDigest::of(input.as_bytes()).hex();
            match self.check(name, input, caller).await {
                Ok(ready) => self.run(name, input, caller, input_sha256, ready).await,
                Err((e, digest)) => {
                    tracing::info!(code = e.code(), "invocation refused");
                    self.record(AuditEvent {
                        kind: "invoke".into(),
                        code: e.code().into(),
                        outcome: "denied".into(),
                        actor: caller.into(),
                        skill: Some(name.into()),
                        digest: digest.map(|d| d.to_string()),
                        metrics: Metrics {
                            input_sha256: Some(input_sha256),
                            ..Metrics::default()
                        },
                        detail: e.to_json(),
                    })
                    .await?;
                    Err(e)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Steps 1-6.
    async fn check(
        &self,
        name: &str,
        input: &str,
        caller: &str,
    ) -> Result<Ready, (HostError, Option<ModuleDigest>)> {
        let valid = Self::name(name).map_err(|e| (e, None))?;
        let runnable = self
            .registry
            .runnable(&valid)
            .map_err(|e| (e.into(), None))?;
        let digest = runnable.version.digest;
        let fail = |e: HostError| (e, Some(digest));
        self.checker
            .rate(name, caller)
            .map_err(|e| fail(e.into()))?;
        let slot = self.checker.slot().map_err(|e| fail(e.into()))?;
        let granted = runnable.version.granted.clone().unwrap_or_default();
        let limits = effective_limits(&self.config.limits, &granted.limits);
        check_input(input, &limits).map_err(|e| fail(HostError::Input(e)))?;
        let schemas = self
            .checker
            .schemas(&digest, &runnable.version.declared)
            .map_err(|m| fail(RegistryError::InvalidMetadata(m).into()))?;
        let value: Value = serde_json::from_str(input).map_err(|e| {
            fail(HostError::Input(InvokeError::InputNotJson {
                detail: e.to_string(),
            }))
        })?;
        schemas
            .check_input(&value)
            .map_err(|errors| fail(CheckError::InputSchema { errors }.into()))?;
        let skill = self.loaded(&digest, &runnable.bytes).map_err(fail)?;
        Ok(Ready {
            digest,
            skill,
            schemas,
            limits,
            destinations: granted
                .http
                .iter()
                .filter_map(|d| Destination::parse(d).ok())
                .collect(),
            secrets: Arc::new(crate::secrets::reveal(
                self.registry.secrets(),
                self.key.as_ref(),
                name,
                &granted.secrets,
            )),
            _slot: slot,
        })
    }

    /// Steps 7-10.
    async fn run(
        &self,
        name: &str,
        input: &str,
        caller: &str,
        input_sha256: String,
        ready: Ready,
    ) -> Result<Invocation, HostError> {
        let digest = Some(ready.digest.to_string());
        self.record(AuditEvent {
            kind: "invoke.start".into(),
            code: codes::OK.into(),
            outcome: "ok".into(),
            actor: caller.into(),
            skill: Some(name.into()),
            digest: digest.clone(),
            metrics: Metrics {
                input_sha256: Some(input_sha256.clone()),
                ..Metrics::default()
            },
            detail: Value::Null,
        })
        .await?;
        let mut invocation = ready
            .skill
            .invoke_with_secrets(
                input,
                &ready.limits,
                &ready.destinations,
                ready.secrets.clone(),
            )
            .await;
        // Scan what the skill produced for every secret it was granted.
        let mut redactions = std::mem::take(&mut invocation.redactions);
        redactions.extend(scrub(&mut invocation, &ready.secrets));
        if let Ok(output) = &invocation.result {
            let value: Value = serde_json::from_str(output).unwrap_or(Value::Null);
            if let Err(errors) = ready.schemas.check_output(&value) {
                invocation.result = Err(InvokeError::OutputSchemaInvalid { errors });
            }
        }
        for event in &invocation.egress {
            self.record(AuditEvent {
                kind: "egress".into(),
                code: event.code.into(),
                outcome: outcome_of(event.code).into(),
                actor: caller.into(),
                skill: Some(name.into()),
                digest: digest.clone(),
                metrics: Metrics {
                    duration_ms: Some(event.duration_ms),
                    egress_bytes: Some(event.response_bytes),
                    ..Metrics::default()
                },
                detail: json!(event),
            })
            .await?;
        }
        for r in &redactions {
            self.record(AuditEvent {
                kind: "secret.redacted".into(),
                code: codes::SECRET_REDACTED.into(),
                outcome: "ok".into(),
                actor: caller.into(),
                skill: Some(name.into()),
                digest: digest.clone(),
                detail: json!({ "secret": r.name, "location": r.location, "count": r.count }),
                ..AuditEvent::default()
            })
            .await?;
        }
        let code = invocation
            .result
            .as_ref()
            .map_or_else(|e| e.code(), |_| codes::OK);
        tracing::info!(
            code,
            fuel = invocation.usage.fuel_consumed,
            "invocation finished"
        );
        let usage = &invocation.usage;
        self.record(AuditEvent {
            kind: "invoke".into(),
            code: code.into(),
            outcome: if code == codes::OK { "ok" } else { "failed" }.into(),
            actor: caller.into(),
            skill: Some(name.into()),
            digest,
            metrics: Metrics {
                duration_ms: Some(usage.duration_ms),
                fuel: Some(usage.fuel_consumed),
                peak_memory: Some(usage.peak_memory_bytes),
                egress_count: Some(u64::from(usage.http_requests)),
                egress_bytes: Some(usage.egress_response_bytes),
                input_sha256: Some(input_sha256),
                output_bytes: Some(invocation.result.as_ref().map_or(0, |o| o.len() as u64)),
            },
            detail: match &invocation.result {
                Ok(_) => Value::Null,
                Err(e) => e.to_json(),
            },
        })
        .await?;
        Ok(invocation)
    }

    /// Create a caller token. The token text is returned once and never
    /// stored; only its hash is.
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        skills: Option<Vec<String>>,
        expires_in: Option<std::time::Duration>,
        actor: &str,
    ) -> Result<NewToken, HostError> {
        let now = std::time::SystemTime::now();
        let expires_at = expires_in.map(|d| humantime::format_rfc3339_seconds(now + d).to_string());
        let result = (|| {
            if let Some(list) = &skills {
                for s in list {
                    Self::name(s)?;
                }
            }
            if self
                .registry
                .tokens()
                .tokens()?
                .iter()
                .any(|t| t.name == name)
            {
                return Err(
                    AuthError::Invalid(format!("a token named {name} already exists")).into(),
                );
            }
            let minted =
                crate::auth::mint(name, role, skills.clone(), audit_time(), expires_at.clone())?;
            self.registry.tokens().insert_token(&minted.record)?;
            Ok(minted)
        })();
        self.audited("token.create", actor, "", None, result, |t| {
            json!({ "token": t.record.name, "id": t.record.id, "role": role.as_str(), "skills": t.record.skills, "expires_at": t.record.expires_at })
        })
        .await
    }

    /// Every token record (never the tokens).
    pub fn list_tokens(&self) -> Result<Vec<TokenRecord>, HostError> {
        Ok(self.registry.tokens().tokens()?)
    }

    /// Revoke a token by name; it is refused from the next request on.
    pub async fn revoke_token(&self, name: &str, actor: &str) -> Result<(), HostError> {
        let result = self
            .registry
            .tokens()
            .revoke_token(name, &audit_time())
            .map_err(HostError::from)
            .and_then(|found| {
                if found {
                    Ok(())
                } else {
                    Err(AuthError::Invalid(format!("no live token named {name}")).into())
                }
            });
        self.audited(
            "token.revoke",
            actor,
            "",
            None,
            result,
            |_| json!({ "token": name }),
        )
        .await
    }

    /// Authenticate a presented token. Failures are audited as
    /// `auth.failure` with the reason, never with the token.
    pub async fn authenticate(&self, presented: &str) -> Result<Caller, HostError> {
        let result = match crate::auth::split(presented) {
            None => Err(AuthError::Failure {
                reason: "malformed",
            }),
            Some((id, secret)) => {
                let record = self.registry.tokens().token(id)?;
                crate::auth::check(record.as_ref(), secret, &audit_time())
            }
        };
        match result {
            Ok(caller) => Ok(caller),
            Err(e) => {
                let reason = match &e {
                    AuthError::Failure { reason } => *reason,
                    _ => "error",
                };
                self.record(AuditEvent {
                    kind: "auth".into(),
                    code: e.code().into(),
                    outcome: "denied".into(),
                    actor: "unauthenticated".into(),
                    detail: json!({ "reason": reason }),
                    ..AuditEvent::default()
                })
                .await?;
                Err(e.into())
            }
        }
    }

    /// [`invoke`](Self::invoke) for an authenticated caller: a skill outside
    /// the caller's scope is refused with `auth.forbidden` before anything
    /// else, and audited.
    pub async fn invoke_as(
        &self,
        caller: &Caller,
        name: &str,
        input: &str,
    ) -> Result<Invocation, HostError> {
        if !caller.may_use(name) {
            let e: HostError = AuthError::Forbidden(format!("invoke {name}")).into();
            self.record(AuditEvent {
                kind: "invoke".into(),
                code: e.code().into(),
                outcome: "denied".into(),
                actor: caller.name.clone(),
                skill: Some(name.into()),
                detail: e.to_json(),
                ..AuditEvent::default()
            })
            .await?;
            return Err(e);
        }
        self.invoke(name, input, &caller.name).await
    }

    fn vault(&self) -> Result<Vault<'_>, HostError> {
        let key = self.key.as_ref().ok_or_else(|| {
            SecretError::NoKey(format!(
                "set {} or run `skillhost secret init-key`",
                crate::secrets::key::ENV
            ))
        })?;
        Ok(Vault::new(self.registry.secrets(), key))
    }

    /// Set a secret for `skill`, bound to HTTPS destinations. The value is
    /// never logged or audited.
    pub async fn set_secret(
        &self,
        skill: &str,
        name: &str,
        value: zeroize::Zeroizing<String>,
        hosts: &[String],
        actor: &str,
    ) -> Result<(), HostError> {
        let result = Self::name(skill)
            .and_then(|s| Ok(self.vault()?.set(&s, name, value, hosts)?))
            .map(|row| row.version);
        self.audited(
            "secret.set",
            actor,
            skill,
            None,
            result,
            |v| json!({ "secret": name, "version": v, "hosts": hosts }),
        )
        .await
        .map(|_| ())
    }

    /// Delete a secret.
    pub async fn remove_secret(
        &self,
        skill: &str,
        name: &str,
        actor: &str,
    ) -> Result<bool, HostError> {
        let result = Self::name(skill).and_then(|s| Ok(self.vault()?.remove(&s, name)?));
        self.audited(
            "secret.rm",
            actor,
            skill,
            None,
            result,
            |removed| json!({ "secret": name, "removed": removed }),
        )
        .await
    }

    /// Names, bindings and masks.
    pub fn list_secrets(&self, skill: Option<&str>) -> Result<Vec<SecretSummary>, HostError> {
        Ok(self.vault()?.list(skill)?)
    }

    /// Re-encrypt every secret under `new_key`, in one transaction.
    pub async fn rotate_key(&self, new_key: &MasterKey, actor: &str) -> Result<usize, HostError> {
        let result = self.vault().and_then(|v| Ok(v.rotate(new_key)?));
        self.audited(
            "secret.rotate_key",
            actor,
            "",
            None,
            result,
            |n| json!({ "secrets": n, "new_key_id": new_key.id() }),
        )
        .await
    }

    fn loaded(&self, digest: &ModuleDigest, bytes: &[u8]) -> Result<Arc<LoadedSkill>, HostError> {
        if let Some(s) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
        {
            return Ok(s.clone());
        }
        let skill = Arc::new(self.engine.load(bytes)?);
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*digest, skill.clone());
        Ok(skill)
    }
}

/// Redact every granted secret from the output, the error and the logs.
fn scrub(invocation: &mut Invocation, secrets: &SecretGrants) -> Vec<Redaction> {
    let mut found = Vec::new();
    for secret in secrets.revealed() {
        let mut note = |location: &'static str, count: usize| {
            if count > 0 {
                found.push(Redaction {
                    name: secret.name.clone(),
                    location,
                    count,
                });
            }
        };
        match &mut invocation.result {
            Ok(output) => note(
                "output",
                redact::redact_text(output, &secret.name, &secret.value),
            ),
            Err(InvokeError::SkillError { code, message }) => {
                let n = redact::redact_text(code, &secret.name, &secret.value)
                    + redact::redact_text(message, &secret.name, &secret.value);
                note("error", n);
            }
            Err(InvokeError::Trapped {
                detail: Some(d), ..
            }) => {
                note("error", redact::redact_text(d, &secret.name, &secret.value));
            }
            Err(_) => {}
        }
        let mut in_logs = 0;
        for log in &mut invocation.logs {
            in_logs += redact::redact_text(&mut log.message, &secret.name, &secret.value);
        }
        note("log", in_logs);
    }
    found
}

/// Everything the checks established, held for the run.
struct Ready {
    digest: ModuleDigest,
    skill: Arc<LoadedSkill>,
    schemas: Arc<Schemas>,
    limits: Limits,
    destinations: Vec<Destination>,
    secrets: Arc<SecretGrants>,
    _slot: OwnedSemaphorePermit,
}

/// Decision time for registry records (RFC 3339, UTC).
fn audit_time() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Longest declared version string.
const MAX_VERSION_LEN: usize = 64;
/// Longest description.
const MAX_DESCRIPTION_LEN: usize = 4096;
/// Most HTTP destinations or secrets a skill may request.
const MAX_REQUESTED: usize = 64;
/// Longest requested destination or secret name.
const MAX_REQUEST_LEN: usize = 256;

/// Check what a skill declared about itself and turn it into a registry record.
pub fn declared_from(meta: contract::Metadata) -> Result<(SkillName, Declared), RegistryError> {
    let invalid = |m: String| RegistryError::InvalidMetadata(m);
    let name =
        SkillName::parse(&meta.name).map_err(|r| invalid(format!("name {:?}: {r}", meta.name)))?;
    let printable = |s: &str| !s.chars().any(|c| c.is_control() && c != '\n');
    if meta.version.is_empty()
        || meta.version.len() > MAX_VERSION_LEN
        || !printable(&meta.version)
        || meta.version.contains('\n')
    {
        return Err(invalid(format!(
            "version must be 1-{MAX_VERSION_LEN} printable characters"
        )));
    }
    if meta.description.len() > MAX_DESCRIPTION_LEN || !printable(&meta.description) {
        return Err(invalid(format!(
            "description must be at most {MAX_DESCRIPTION_LEN} printable characters"
        )));
    }
    let schema = |what: &str, text: &str| -> Result<Value, RegistryError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("{what} is not JSON: {e}")))?;
        if !(v.is_object() || v.is_boolean()) {
            return Err(invalid(format!(
                "{what} must be a JSON Schema (an object or a boolean)"
            )));
        }
        Ok(v)
    };
    let input_schema = schema("input schema", &meta.input_schema)?;
    let output_schema = meta
        .output_schema
        .as_deref()
        .map(|s| schema("output schema", s))
        .transpose()?;
    let list = |what: &str, items: Vec<String>| -> Result<Vec<String>, RegistryError> {
        if items.len() > MAX_REQUESTED {
            return Err(invalid(format!(
                "at most {MAX_REQUESTED} {what} may be requested"
            )));
        }
        for i in &items {
            if i.is_empty() || i.len() > MAX_REQUEST_LEN || i.chars().any(char::is_control) {
                return Err(invalid(format!(
                    "requested {what} {i:?} is empty, too long or has control characters"
                )));
            }
        }
        Ok(items)
    };
    let p = meta.permissions;
    for d in &p.http {
        Destination::parse(d).map_err(|m| invalid(format!("requested {m}")))?;
    }
    let requested = Permissions {
        http: list("HTTP destinations", p.http)?,
        secrets: list("secrets", p.secrets)?,
        limits: LimitSet {
            timeout_ms: p.limits.timeout_ms,
            memory_bytes: p.limits.memory_bytes,
            output_bytes: p.limits.output_bytes,
        },
    };
    Ok((
        name,
        Declared {
            version: meta.version,
            description: meta.description,
            input_schema,
            output_schema,
            requested,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_only_lower_limits() {
        let host = Limits::default();
        let granted = LimitSet {
            timeout_ms: Some(1_000),
            memory_bytes: Some(u64::MAX),
            output_bytes: None,
        };
        let l = effective_limits(&host, &granted);
        assert_eq!(l.timeout_ms, 1_000);
        assert_eq!(l.memory_bytes, host.memory_bytes);
        assert_eq!(l.output_bytes, host.output_bytes);
        // A zero grant cannot disable a limit check by making it 0.
        let zero = LimitSet {
            timeout_ms: Some(0),
            ..LimitSet::default()
        };
        assert_eq!(effective_limits(&host, &zero).timeout_ms, 1);
    }
}
