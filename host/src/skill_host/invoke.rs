//! Invocation: the checker pipeline of [`SkillHost`](super::SkillHost).

use super::*;

impl SkillHost {
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
    ///
    /// Dropping this future mid-run stops the skill and leaves only the
    /// `invoke.start` record; front ends use the cancellation-safe
    /// [`Host::invoke`](crate::Host::invoke) instead.
    pub async fn invoke(
        &self,
        name: &str,
        input: &str,
        caller: &str,
    ) -> Result<Invocation, HostError> {
        let span = tracing::info_span!("invoke", skill = name, caller = caller);
        async move {
            let input_sha256 = ModuleDigest::of(input.as_bytes()).hex();
            let started = std::time::Instant::now();
            match self.check(name, input, caller).await {
                Ok(ready) => {
                    let ran = self.run(name, input, caller, input_sha256, ready).await;
                    let code = match &ran {
                        Ok(inv) => inv.result.as_ref().err().map_or(codes::OK, |e| e.code()),
                        Err(e) => e.code(),
                    };
                    if let Ok(inv) = &ran {
                        for event in &inv.egress {
                            self.metrics.egress(event.code);
                        }
                    }
                    self.metrics
                        .invocation(outcome_of_run(code), code, Some(started.elapsed()));
                    ran
                }
                Err((e, digest)) => Err(self
                    .refused(caller, name, digest.as_ref(), Some(input_sha256), e)
                    .await),
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
                Some(Arc::new(EgressStart {
                    audit: self.audit.clone(),
                    actor: caller.into(),
                    skill: name.into(),
                    digest: digest.clone(),
                })),
            )
            .await;
        // The sandbox redacted logs and errors as they were made; the output
        // is scanned as the caller will read it.
        let mut redactions = std::mem::take(&mut invocation.redactions);
        if let Ok(output) = &mut invocation.result {
            let mut redactor = Redactor::new(ready.secrets.clone());
            let checked = redactor
                .output(output)
                .and_then(|()| serde_json::from_str::<Value>(output).map_err(|e| e.to_string()));
            redactions.extend(redactor.take());
            match checked {
                Err(detail) => invocation.result = Err(InvokeError::OutputNotJson { detail }),
                Ok(value) => {
                    if let Err(errors) = ready.schemas.check_output(&value) {
                        invocation.result = Err(InvokeError::OutputSchemaInvalid { errors });
                    }
                }
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
            outcome: outcome_of_run(code).into(),
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

    /// [`invoke`](Self::invoke) for an authenticated caller: a skill outside
    /// the caller's scope is refused with `auth.forbidden` before anything
    /// else, and audited.
    pub async fn invoke_as(
        &self,
        caller: &Caller,
        name: &str,
        input: &str,
    ) -> Result<Invocation, HostError> {
        self.check_scope(caller, name).await?;
        self.invoke(name, input, &caller.name).await
    }

    /// Refuse (`auth.forbidden`, audited as a denied `invoke`) a skill
    /// outside `caller`'s scope. [`invoke_as`](Self::invoke_as) starts with
    /// this; a front end may call it earlier too (the HTTP API does, before
    /// reading a request body).
    pub async fn check_scope(&self, caller: &Caller, name: &str) -> Result<(), HostError> {
        if caller.may_use(name) {
            return Ok(());
        }
        let e: HostError = AuthError::Forbidden(format!("invoke {name}")).into();
        Err(self.refused(&caller.name, name, None, None, e).await)
    }

    /// Refuse `caller` with `auth.forbidden` ("this caller may not {what}")
    /// for something other than an invocation (an owner operation, seeing a
    /// skill), audited as a denied `auth` record. Returns the error to hand
    /// back, or `audit.unavailable` if the record cannot be written.
    pub async fn forbidden(&self, caller: &str, what: String) -> HostError {
        let e: HostError = AuthError::Forbidden(what).into();
        let recorded = self
            .record_repeatable(
                AuditEvent {
                    kind: "auth".into(),
                    code: e.code().into(),
                    outcome: "denied".into(),
                    actor: caller.into(),
                    detail: e.to_json(),
                    ..AuditEvent::default()
                },
                super::repeats::LOCAL,
            )
            .await;
        match recorded {
            Ok(()) => e,
            Err(unavailable) => unavailable.into(),
        }
    }

    /// Audit an invocation refused before the sandbox ran (outcome `denied`)
    /// and return the error to hand back — or, if the audit record cannot be
    /// written, `audit.unavailable`. Front ends that refuse a request before
    /// it reaches [`invoke`](Self::invoke) (an HTTP body over the input cap)
    /// call this too, so every refusal is on the record.
    pub async fn refused(
        &self,
        caller: &str,
        name: &str,
        digest: Option<&ModuleDigest>,
        input_sha256: Option<String>,
        error: HostError,
    ) -> HostError {
        tracing::info!(code = error.code(), "invocation refused");
        self.metrics.invocation("denied", error.code(), None);
        let event = AuditEvent {
            kind: "invoke".into(),
            code: error.code().into(),
            outcome: "denied".into(),
            actor: caller.into(),
            skill: Some(name.into()),
            digest: digest.map(|d| d.to_string()),
            metrics: Metrics {
                input_sha256,
                ..Metrics::default()
            },
            detail: error.to_json(),
        };
        // Refusals anyone can repeat cheaply are aggregated; the others
        // (a schema refusal, an oversized input) are recorded one by one.
        let recorded = if super::repeats::is_repeatable(error.code()) {
            self.record_repeatable(event, super::repeats::LOCAL).await
        } else {
            self.record(event).await
        };
        match recorded {
            Ok(()) => error,
            Err(e) => e.into(),
        }
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

fn outcome_of_run(code: Code) -> &'static str {
    if code == codes::OK { "ok" } else { "failed" }
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

/// Writes `egress.start` durably before a request leaves the host.
#[derive(Debug)]
struct EgressStart {
    audit: Arc<crate::audit::AuditSink>,
    actor: String,
    skill: String,
    digest: Option<String>,
}

impl crate::egress::EgressWitness for EgressStart {
    fn before_send<'a>(
        &'a self,
        method: &'a str,
        destination: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.audit
                .record(AuditEvent {
                    kind: "egress.start".into(),
                    code: codes::OK.into(),
                    outcome: "ok".into(),
                    actor: self.actor.clone(),
                    skill: Some(self.skill.clone()),
                    digest: self.digest.clone(),
                    detail: json!({ "method": method, "destination": destination }),
                    ..AuditEvent::default()
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}
