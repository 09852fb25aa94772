//! Invocation: the checker pipeline of [`SkillHost`](super::SkillHost).

use super::*;

impl SkillHost {
    /// Invoke the approved version of `name` for `caller`.
    ///
    /// The pipeline, in this order and nowhere else:
    ///
    /// 1. the name is valid (`registry.invalid_name`);
    /// 2. the skill exists, is enabled and has an approved version
    ///    (`skill.*`), from the runnable view, re-read after any change;
    /// 3. rate limits: caller, skill, global (`rate.limited`);
    /// 4. a place in the instance pool, the one concurrency gate
    ///    (`rate.busy`);
    /// 5. input size and JSON syntax, checked and parsed once
    ///    (`limits.input_too_large`, `input.invalid_json`);
    /// 6. the input schema on the parsed value (`input.schema_invalid`),
    ///    then the component: loaded, or read back and re-hashed against
    ///    the approved digest and loaded (`skill.digest_mismatch`);
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
                    let ran = self.run(name, caller, input_sha256, ready).await;
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
    async fn check<'a>(
        &self,
        name: &str,
        input: &'a str,
        caller: &str,
    ) -> Result<Ready<'a>, (HostError, Option<ModuleDigest>)> {
        let valid = Self::name(name).map_err(|e| (e, None))?;
        let skill = self.ready(&valid).map_err(|e| (e, None))?;
        let digest = skill.version.digest;
        let fail = |e: HostError| (e, Some(digest));
        self.checker
            .rate(name, caller)
            .map_err(|e| fail(e.into()))?;
        let slot = self
            .engine
            .try_slot()
            .ok_or_else(|| fail(CheckError::Busy(self.config.engine.max_concurrent).into()))?;
        // Size-checked and parsed once: the value is validated, the text
        // goes to the skill.
        let input = check_input(input, &skill.limits).map_err(|e| fail(HostError::Input(e)))?;
        skill
            .schemas
            .check_input(input.value())
            .map_err(|errors| fail(CheckError::InputSchema { errors }.into()))?;
        let (component, waited) = match self.loaded.get(&digest) {
            Some(loaded) => (loaded, false),
            None => (self.component(&valid, &digest).await.map_err(fail)?, true),
        };
        // Loading may have waited (another call compiling). A decision that
        // committed meanwhile is honoured before anything is recorded as
        // started: a version no longer runnable is refused, narrowed grants
        // and changed secrets are taken up. (A loaded component means no
        // wait since the view was read a moment ago.)
        let skill = if waited {
            match self.ready(&valid).map_err(fail)? {
                now if now.version == skill.version => now,
                _ => {
                    return Err(fail(CheckError::Changed(name.to_string()).into()));
                }
            }
        } else {
            skill
        };
        Ok(Ready {
            skill,
            component,
            input,
            slot,
        })
    }

    /// The runnable view's entry for `name`, read from the store (and its
    /// secrets decrypted) only when the store has changed since the last
    /// read. See [`view`](super::view) for the invalidation rule.
    fn ready(&self, name: &SkillName) -> Result<Arc<ReadySkill>, HostError> {
        let counter = self.registry.change_counter()?;
        if let Some(ready) = self.view.get(counter, name) {
            return Ok(ready);
        }
        let version = self.registry.approved(name)?;
        let granted = version.granted.clone().unwrap_or_default();
        let schemas = self
            .checker
            .schemas(&version.digest, &version.declared)
            .map_err(RegistryError::InvalidMetadata)?;
        let ready = Arc::new(ReadySkill {
            limits: effective_limits(&self.config.limits, &granted.limits),
            destinations: granted
                .http
                .iter()
                .filter_map(|d| Rule::parse_stored(d).ok())
                .collect(),
            secrets: Arc::new(crate::secrets::reveal(
                self.registry.secrets(),
                self.key.as_ref(),
                name.as_str(),
                &granted.secrets,
            )),
            schemas,
            version,
        });
        if ready.settled() {
            self.view.keep(counter, name.clone(), ready.clone());
        }
        Ok(ready)
    }

    /// The loaded component for `digest`: from the bounded cache, or read
    /// back from the module store, re-hashed and loaded ("what runs is what
    /// was verified"); a module whose bytes changed on disk is refused here
    /// with `skill.digest_mismatch`.
    pub(crate) async fn component(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
    ) -> Result<Arc<LoadedSkill>, HostError> {
        if let Some(loaded) = self.loaded.get(digest) {
            return Ok(loaded);
        }
        // One load per digest at a time; whoever waited finds it loaded.
        let gate = self.loaded.load_gate(digest);
        let _loading = gate.lock().await;
        if let Some(loaded) = self.loaded.get(digest) {
            return Ok(loaded);
        }
        // Reading, hashing and compiling are blocking work: on a
        // multi-threaded runtime, let the worker's other tasks move on.
        let load = || {
            self.registry
                .verified_module(name, digest)
                .map_err(HostError::from)
                .and_then(|bytes| Ok(self.engine.load(&bytes)?))
        };
        let loaded = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(load),
            _ => load(),
        };
        match loaded {
            Ok(loaded) => Ok(self.loaded.insert(*digest, Arc::new(loaded))),
            Err(e) => {
                self.loaded.load_failed(digest);
                Err(e)
            }
        }
    }

    /// Steps 7-10.
    async fn run(
        &self,
        name: &str,
        caller: &str,
        input_sha256: String,
        ready: Ready<'_>,
    ) -> Result<Invocation, HostError> {
        let digest = Some(ready.skill.version.digest.to_string());
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
        let skill = &ready.skill;
        let grants = ready.component.grants(
            skill.destinations.clone(),
            skill.secrets.clone(),
            Some(Arc::new(EgressStart {
                audit: self.audit.clone(),
                actor: caller.into(),
                skill: name.into(),
                digest: digest.clone(),
            })),
        );
        let mut invocation = ready
            .component
            .invoke_checked(Some(ready.slot), &ready.input, &skill.limits, &grants)
            .await;
        // The sandbox redacted logs and errors as they were made; the output
        // is scanned as the caller will read it.
        let mut redactions = std::mem::take(&mut invocation.redactions);
        if let Ok(output) = &mut invocation.result {
            let mut redactor = Redactor::new(skill.secrets.clone());
            let checked = redactor
                .output(output)
                .and_then(|()| serde_json::from_str::<Value>(output).map_err(|e| e.to_string()));
            redactions.extend(redactor.take());
            match checked {
                Err(detail) => invocation.result = Err(InvokeError::OutputNotJson { detail }),
                Ok(value) => {
                    if let Err(errors) = skill.schemas.check_output(&value) {
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
}

fn outcome_of_run(code: Code) -> &'static str {
    if code == codes::OK { "ok" } else { "failed" }
}

/// Everything the checks established, held for the run.
struct Ready<'a> {
    skill: Arc<ReadySkill>,
    component: Arc<LoadedSkill>,
    input: CheckedInput<'a>,
    slot: Slot,
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
