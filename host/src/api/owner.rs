//! Owner routes: pending skills, approve, revoke, disable/enable, audit
//! query. Only owner tokens pass; an invoker token is refused with 403
//! `auth.forbidden`, audited. Nothing here can widen what a skill asked for:
//! approval only narrows.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authed};
use crate::audit::AuditRecord;
use crate::auth::Caller;
use crate::codes;
use crate::digest::ModuleDigest;
use crate::registry::{LimitSet, Narrowing, ReviewedVersion, VersionState};

/// An authenticated owner.
pub struct Owner(pub Caller);

impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        if caller.is_owner() {
            return Ok(Owner(caller));
        }
        Err(state
            .host
            .core()
            .forbidden(
                &caller.name,
                format!("{} {} (owner tokens only)", parts.method, parts.uri.path()),
            )
            .await
            .into())
    }
}

/// Parse an owner request body; an empty body is the default.
fn body<T: for<'de> Deserialize<'de> + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(codes::API_BAD_REQUEST, format!("invalid request body: {e}")))
}

fn digest(raw: &str) -> Result<ModuleDigest, ApiError> {
    // Not a digest at all is a bad request (400); a well-formed digest of
    // another version is `registry.wrong_digest` (409), from the host.
    ModuleDigest::parse_explained(raw).map_err(|m| ApiError::new(codes::API_BAD_REQUEST, m))
}

/// `GET /v1/owner/pending`: every version waiting for review, with what it
/// requests, each destination as it would be granted, and warnings about
/// lookalike hosts.
pub async fn pending(
    State(state): State<AppState>,
    _owner: Owner,
) -> Result<Json<Value>, ApiError> {
    let pending: Vec<ReviewedVersion> = state
        .host
        .list()?
        .into_iter()
        .flat_map(|r| r.versions)
        .filter(|v| v.state == VersionState::Pending)
        .map(ReviewedVersion::from)
        .collect();
    Ok(Json(json!({ "pending": pending })))
}

/// Body of `approve`: the reviewed digest, and optional narrowing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    pub digest: String,
    /// Grant only these destinations (each must have been requested).
    pub http: Option<Vec<String>>,
    /// Grant only these secrets (each must have been requested).
    pub secrets: Option<Vec<String>>,
    #[serde(default)]
    pub limits: LimitSet,
}

/// `POST /v1/owner/skills/{name}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<ReviewedVersion>, ApiError> {
    let b: ApproveBody = body(&bytes)?;
    let d = digest(&b.digest)?;
    let narrowing = Narrowing {
        http: b.http,
        secrets: b.secrets,
        limits: b.limits,
    };
    Ok(Json(
        state
            .host
            .approve(&name, &d, &narrowing, &owner.name)
            .await?
            .into(),
    ))
}

/// Body of `trial`: the skill's input, and optionally which pending digest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialBody {
    /// The skill's JSON input, as a JSON value.
    pub input: Value,
    pub digest: Option<String>,
}

/// `POST /v1/owner/skills/{name}/trial`: run the pending version for
/// review with every outbound request recorded and refused before DNS;
/// what it tried and the drafted grant come back. Changes nothing.
pub async fn trial(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<crate::Trial>, ApiError> {
    // The input is required: an empty body is not a trial of `null`.
    let b: TrialBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(codes::API_BAD_REQUEST, format!("invalid request body: {e}")))?;
    let d = b.digest.as_deref().map(digest).transpose()?;
    Ok(Json(
        state
            .host
            .trial(&name, d.as_ref(), &b.input.to_string(), &owner.name)
            .await?,
    ))
}

/// Body of `revoke`: optionally, which approved digest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    pub digest: Option<String>,
}

/// `POST /v1/owner/skills/{name}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<ReviewedVersion>, ApiError> {
    let b: RevokeBody = body(&bytes)?;
    let d = b.digest.as_deref().map(digest).transpose()?;
    Ok(Json(
        state
            .host
            .revoke(&name, d.as_ref(), &owner.name)
            .await?
            .into(),
    ))
}

/// `POST /v1/owner/skills/{name}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.host.set_disabled(&name, true, &owner.name).await?;
    Ok(Json(json!({ "name": name, "disabled": true })))
}

/// `POST /v1/owner/skills/{name}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.host.set_disabled(&name, false, &owner.name).await?;
    Ok(Json(json!({ "name": name, "disabled": false })))
}

/// `GET /v1/owner/audit?type=&skill=&code=&outcome=&actor=&since=&until=&limit=`.
pub async fn audit(
    State(state): State<AppState>,
    _owner: Owner,
    query: Result<Query<crate::audit::Query>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(codes::API_BAD_REQUEST, e.body_text()))?;
    let query = query
        .normalise()
        .map_err(|m| ApiError::new(codes::API_BAD_REQUEST, m))?;
    let records: Vec<AuditRecord> = state.host.audit_query(&query)?;
    Ok(Json(json!({ "records": records })))
}
