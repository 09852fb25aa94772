//! Trial runs for review: the pending version of a skill runs under the
//! normal limits with every outbound request recorded and refused before
//! DNS (`egress.trial`) and no secret granted, and the owner gets what it
//! tried and the smallest grant that would have allowed it.

use skillhost_policy::draft::{self, Tried};
use skillhost_policy::grant::{self, Attempt};

use super::*;
use crate::destination::Destination;
use crate::registry::VersionState;

/// One request a trial run saw, as the owner reviews it. Never headers,
/// bodies or query values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrialAttempt {
    /// As the skill wrote it (at most 16 characters).
    pub method: String,
    /// `scheme://host:port`, or empty when the URL did not parse.
    pub destination: String,
    /// The path, normalised when it can be; empty when the request was
    /// refused before its URL was read.
    pub path: String,
    /// `egress.trial`, or the refusal the request met first (a bad method
    /// or URL, userinfo, the request budget), which no grant changes.
    pub code: Code,
    /// Whether one of the skill's requested rules allows it (only those can
    /// be granted).
    pub requested: bool,
}

/// What a trial run found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trial {
    /// The skill's name.
    pub skill: String,
    /// The pending version that ran.
    pub digest: String,
    /// How the run ended: `ok`, or the code of its error.
    pub code: Code,
    /// The error, when the run failed.
    pub error: Option<Value>,
    /// Every request, in order.
    pub attempts: Vec<TrialAttempt>,
    /// The smallest grant that allows the requested attempts, as rules for
    /// `skill approve --http` (empty: `--no-http`).
    pub drafted: Vec<String>,
    /// Attempts the draft cannot cover, and why.
    pub warnings: Vec<String>,
}

impl SkillHost {
    /// Run the pending version of `name` (the newest, or `digest`) on
    /// `input`: under the limits it would get if approved as requested,
    /// with no secret and every outbound request recorded and refused
    /// before DNS. Audited as `skill.trial.start` and `skill.trial`;
    /// nothing in the registry changes.
    pub async fn trial(
        &self,
        name: &str,
        digest: Option<&ModuleDigest>,
        input: &str,
        actor: &str,
    ) -> Result<Trial, HostError> {
        let valid = Self::name(name)?;
        let version = self.pending_version(&valid, digest)?;
        self.intent("skill.trial", actor, name, Some(&version.digest), Value::Null)
            .await?;
        let result = self.trial_run(&valid, &version, input).await;
        self.audited(
            "skill.trial",
            actor,
            name,
            Some(&version.digest),
            result,
            |t| {
                json!({
                    "code": t.code,
                    "attempts": t.attempts,
                    "drafted": t.drafted,
                })
            },
        )
        .await
    }

    fn pending_version(
        &self,
        name: &SkillName,
        digest: Option<&ModuleDigest>,
    ) -> Result<SkillVersion, HostError> {
        let record = self.registry.skill(name)?;
        let version = match digest {
            Some(d) => record
                .versions
                .iter()
                .find(|v| v.digest == *d)
                .ok_or_else(|| RegistryError::WrongDigest {
                    name: name.to_string(),
                    digest: d.to_string(),
                    known: record
                        .versions
                        .iter()
                        .map(|v| v.digest.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
            None => record
                .versions
                .iter()
                .find(|v| v.state == VersionState::Pending)
                .or(record.versions.first())
                .ok_or_else(|| RegistryError::NotFound(name.to_string()))?,
        };
        if version.state != VersionState::Pending {
            return Err(RegistryError::InvalidState {
                name: name.to_string(),
                digest: version.digest.to_string(),
                action: "trial",
                state: version.state.as_str(),
            }
            .into());
        }
        Ok(version.clone())
    }

    async fn trial_run(
        &self,
        name: &SkillName,
        version: &SkillVersion,
        input: &str,
    ) -> Result<Trial, HostError> {
        let declared = &version.declared;
        let limits = effective_limits(&self.config.limits, &declared.requested.limits);
        let input = check_input(input, &limits).map_err(HostError::Input)?;
        let schemas = self
            .checker
            .schemas(&version.digest, declared)
            .map_err(RegistryError::InvalidMetadata)?;
        schemas
            .check_input(input.value())
            .map_err(|errors| CheckError::InputSchema { errors })?;
        let slot = self
            .engine
            .try_slot()
            .ok_or(CheckError::Busy(self.config.engine.max_concurrent))?;
        let component = self.component(name, &version.digest).await?;
        let mut grants = component.grants(Vec::new().into(), Arc::default(), None);
        grants.trial = true;
        let invocation = component
            .invoke_checked(Some(slot), &input, &limits, &grants)
            .await;
        let requested: Vec<Rule> = declared
            .requested
            .http
            .iter()
            .filter_map(|r| Rule::parse_stored(r).ok())
            .collect();
        let mut attempts = Vec::new();
        let mut tried = Vec::new();
        for event in &invocation.egress {
            let parsed = event.path.as_ref().and_then(|path| {
                let origin = Destination::parse(&event.destination).ok()?;
                let method = http::Method::from_bytes(event.method.as_bytes()).ok()?;
                Some(Tried {
                    method,
                    scheme: origin.scheme,
                    host: origin.host,
                    port: origin.port,
                    path: path.clone(),
                })
            });
            let allowed = parsed.as_ref().is_some_and(|t| {
                let attempt = Attempt {
                    scheme: t.scheme,
                    host: &t.host,
                    port: t.port,
                    method: &t.method,
                    path: &t.path,
                };
                grant::check(&requested, attempt).is_ok()
            });
            attempts.push(TrialAttempt {
                method: event.method.clone(),
                destination: event.destination.clone(),
                path: event.path.clone().unwrap_or_default(),
                code: event.code,
                requested: allowed,
            });
            tried.extend(parsed);
        }
        let drafted = draft::draft(&requested, &tried);
        Ok(Trial {
            skill: name.to_string(),
            digest: version.digest.to_string(),
            code: invocation
                .result
                .as_ref()
                .map_or_else(|e| e.code(), |_| codes::OK),
            error: invocation.result.as_ref().err().map(|e| e.to_json()),
            attempts,
            drafted: drafted.rules.iter().map(|r| r.to_string()).collect(),
            warnings: drafted.warnings,
        })
    }
}
