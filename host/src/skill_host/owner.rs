//! Owner decisions of [`SkillHost`](super::SkillHost).

use super::*;

impl SkillHost {
    /// Validate the name, then apply one registry decision recorded as made
    /// by `actor` now.
    fn decide<T>(
        &self,
        name: &str,
        actor: &str,
        apply: impl FnOnce(&SkillName, &Actor<'_>) -> Result<T, RegistryError>,
    ) -> Result<T, HostError> {
        let at = audit_time();
        let name = Self::name(name)?;
        let decided = apply(
            &name,
            &Actor {
                who: actor,
                at: &at,
            },
        )?;
        // The decision is committed; a failure to re-read is only logged,
        // and the poller catches the change later.
        if let Err(e) = self.notice_changes() {
            tracing::warn!(code = e.code(), "cannot re-read the registry: {e}");
        }
        Ok(decided)
    }

    /// Validate a component, read its metadata in the sandbox under tight
    /// limits, compile its schemas, and register it as pending. Nothing is
    /// stored unless all of that succeeds.
    pub async fn add(&self, bytes: &[u8], actor: &str) -> Result<Added, HostError> {
        let digest = ModuleDigest::of(bytes);
        self.intent("skill.add", actor, "", Some(&digest), Value::Null)
            .await?;
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
        let digest_of = |i: &Inserted| match i {
            Inserted::New(v) | Inserted::AlreadyPresent(v) => v.digest,
        };
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
        // The component compiled here from the bytes just hashed and stored
        // is the one the first call would otherwise compile again (seconds
        // for an interpreter component): keep it, within the cache's bound.
        self.loaded.keep(digest_of(&inserted), Arc::new(skill));
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
        self.decision(
            "skill.approve",
            actor,
            name,
            Some(digest),
            json!({ "narrowing": narrowing }),
            || {
                self.decide(name, actor, |n, by| {
                    self.registry.approve(n, digest, narrowing, by)
                })
            },
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
        self.decision(
            "skill.reject",
            actor,
            name,
            Some(digest),
            Value::Null,
            || self.decide(name, actor, |n, by| self.registry.reject(n, digest, by)),
            |_| Value::Null,
        )
        .await
    }

    /// Revoke the approved version of `name` (or the named approved version).
    pub async fn revoke(
        &self,
        name: &str,
        digest: Option<&ModuleDigest>,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        self.intent("skill.revoke", actor, name, digest, Value::Null)
            .await?;
        let result = self.decide(name, actor, |n, by| self.registry.revoke(n, digest, by));
        let digest = result.as_ref().ok().map(|v| v.digest).or(digest.copied());
        self.audited("skill.revoke", actor, name, digest.as_ref(), result, |_| {
            Value::Null
        })
        .await
    }

    /// Remove the compiled artifacts no approved or pending version needs
    /// (see [`crate::engine::gc`]), and audit what was removed in one `gc`
    /// record. Unlike a decision it has no start record: it changes no
    /// decision and removes only cache entries, which a host recompiles if
    /// it ever needs them.
    pub async fn gc(&self, actor: &str) -> Result<crate::engine::gc::Collected, HostError> {
        let result = (|| {
            let Some(dir) = &self.data_dir else {
                return Ok(crate::engine::gc::Collected::default());
            };
            let keep = self
                .registry
                .skills()?
                .into_iter()
                .flat_map(|s| s.versions)
                .filter(|v| {
                    matches!(
                        v.state,
                        crate::registry::VersionState::Approved
                            | crate::registry::VersionState::Pending
                    )
                })
                .map(|v| v.digest)
                .collect();
            crate::engine::gc::collect(dir, &keep).map_err(|e| {
                HostError::Registry(RegistryError::Io(format!(
                    "cannot collect the artifact cache: {e}"
                )))
            })
        })();
        self.audited("gc", actor, "", None, result, |c| json!(c)).await
    }

    /// Disable (`true`) or enable a skill.
    pub async fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<(), HostError> {
        let kind = if disabled {
            "skill.disable"
        } else {
            "skill.enable"
        };
        self.decision(
            kind,
            actor,
            name,
            None,
            Value::Null,
            || {
                self.decide(name, actor, |n, by| {
                    self.registry.set_disabled(n, disabled, by)
                })
            },
            |_| Value::Null,
        )
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
        Rule::parse(d).map_err(|e| invalid(format!("requested HTTP rule {d:?}: {e}")))?;
    }
    let requested = Permissions {
        http: list("HTTP destinations", p.http)?,
        secrets: list("secrets", p.secrets)?,
        limits: LimitSet {
            timeout_ms: p.limits.timeout_ms,
            memory_bytes: p.limits.memory_bytes,
            output_bytes: p.limits.output_bytes,
            clock_resolution_us: None,
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
