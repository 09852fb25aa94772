//! Caller tokens and secrets of [`SkillHost`](super::SkillHost).

use super::*;

impl SkillHost {
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
        self.intent(
            "token.create",
            actor,
            "",
            None,
            json!({ "token": name, "role": role.as_str(), "skills": skills }),
        )
        .await?;
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
            self.registry
                .tokens()
                .insert_token(&minted.record.to_row())?;
            Ok(minted)
        })();
        self.audited("token.create", actor, "", None, result, |t| {
            json!({ "token": t.record.name, "id": t.record.id, "role": role.as_str(), "skills": t.record.skills, "expires_at": t.record.expires_at })
        })
        .await
    }

    /// Every token record (never the tokens).
    pub fn list_tokens(&self) -> Result<Vec<TokenRecord>, HostError> {
        let rows = self.registry.tokens().tokens()?;
        Ok(rows
            .into_iter()
            .map(TokenRecord::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Revoke a token by name; it is refused from the next request on.
    pub async fn revoke_token(&self, name: &str, actor: &str) -> Result<(), HostError> {
        self.intent("token.revoke", actor, "", None, json!({ "token": name }))
            .await?;
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
    /// `auth.failure` with the reason, never with the token (aggregated
    /// when they repeat: see [`authenticate_from`](Self::authenticate_from)).
    pub async fn authenticate(&self, presented: &str) -> Result<Caller, HostError> {
        self.authenticate_from(presented, super::repeats::LOCAL)
            .await
    }

    /// Check a presented token, without auditing.
    pub(super) fn check_token(&self, presented: &str) -> Result<Caller, HostError> {
        match crate::auth::split(presented) {
            None => Err(AuthError::Failure {
                reason: "malformed",
            }
            .into()),
            Some((id, secret)) => {
                // The record is cached until the store changes; the secret's
                // hash, its revocation and its expiry are checked every time.
                let counter = self.registry.change_counter()?;
                let record = match self.tokens.get(counter, &id.to_string()) {
                    Some(record) => Some(record),
                    None => {
                        let row = self.registry.tokens().token(id)?;
                        let record = row.map(TokenRecord::from_row).transpose()?;
                        if let Some(r) = &record {
                            self.tokens.keep(counter, id.to_string(), r.clone());
                        }
                        record
                    }
                };
                Ok(crate::auth::check(record.as_ref(), secret, &audit_time())?)
            }
        }
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
        self.intent(
            "secret.set",
            actor,
            skill,
            None,
            json!({ "secret": name, "hosts": hosts }),
        )
        .await?;
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
        self.intent("secret.rm", actor, skill, None, json!({ "secret": name }))
            .await?;
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
        self.intent(
            "secret.rotate_key",
            actor,
            "",
            None,
            json!({ "new_key_id": new_key.id() }),
        )
        .await?;
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
}
