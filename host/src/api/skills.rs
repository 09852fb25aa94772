//! Agent-runtime routes: list, show and invoke the runnable skills a token
//! is scoped to.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authed};
use crate::codes;
use crate::sandbox::InvokeError;
use crate::skill_host::{HostError, SkillInfo};

/// The query of `GET /v1/skills`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Skills per page, at most `server.page_size` (the default).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /v1/skills?limit=N&cursor=C`: the runnable skills this caller may
/// use, by name, a page at a time (`next_cursor` while there are more).
pub async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::new(codes::API_BAD_REQUEST, e.body_text()))?;
    let max = state.host.config().server.page_size;
    let limit = match query.limit {
        Some(0) => {
            return Err(ApiError::new(
                codes::API_BAD_REQUEST,
                "limit must be at least 1",
            ));
        }
        Some(n) => n.min(max),
        None => max,
    };
    let skills = state.host.skills(&caller)?;
    let page = crate::paging::page(
        skills,
        |s| s.name.as_str(),
        query.cursor.as_deref(),
        limit as usize,
    )
    .map_err(|e| ApiError::new(codes::API_BAD_REQUEST, e.to_string()))?;
    Ok(Json(
        json!({ "skills": page.items, "next_cursor": page.next }),
    ))
}

/// `GET /v1/skills/{name}`: one runnable skill with its schemas.
pub async fn show(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(name): Path<String>,
) -> Result<Json<SkillInfo>, ApiError> {
    if !caller.may_use(&name) {
        return Err(state
            .host
            .core()
            .forbidden(&caller.name, format!("see {name}"))
            .await
            .into());
    }
    state
        .host
        .skills(&caller)?
        .into_iter()
        .find(|s| s.name == name)
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                codes::SKILL_NOT_FOUND,
                format!("no runnable skill named {name:?}"),
            )
        })
}

/// `POST /v1/skills/{name}/invoke`: the body is the skill's JSON input.
///
/// Order: token (401) → scope (403) → body size, refused from
/// `Content-Length` before reading or while streaming (413) → UTF-8 → the
/// checker pipeline. Each refusal is audited. [`Host::invoke`] is
/// cancellation-safe: a client that disconnects or times out does not cut
/// the invocation short, so its audit record is always written.
///
/// [`Host::invoke`]: crate::Host::invoke
pub async fn invoke(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let host = state.host.core();
    host.check_scope(&caller, &name).await?;
    let cap = host.config().limits.input_bytes;
    let too_large = |size: u64| HostError::Input(InvokeError::InputTooLarge { size, limit: cap });
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > cap) {
        return Err(host
            .refused(&caller.name, &name, None, None, too_large(size))
            .await
            .into());
    }
    // Read frame by frame and stop at the first byte over the cap. The real
    // size is unknown then, so the refusal says "more than" the cap, as the
    // CLI does for stdin.
    let mut bytes: Vec<u8> = Vec::new();
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                codes::API_BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let received = (bytes.len() + data.len()) as u64;
        if received > cap {
            let e = HostError::InputOverCap { limit: cap };
            return Err(host
                .refused(&caller.name, &name, None, None, e)
                .await
                .into());
        }
        bytes.extend_from_slice(&data);
    }
    let input = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let e = HostError::Input(InvokeError::InputNotJson {
                detail: format!("the body is not UTF-8: {e}"),
            });
            return Err(host
                .refused(&caller.name, &name, None, None, e)
                .await
                .into());
        }
    };
    let invocation = state.host.invoke(&name, &input, &caller).await?;
    let usage = serde_json::to_value(&invocation.usage).unwrap_or(Value::Null);
    let logs = serde_json::to_value(&invocation.logs).unwrap_or(Value::Null);
    match invocation.result {
        Ok(output) => {
            // The sandbox already checked that the output is JSON.
            let output: Value = serde_json::from_str(&output).unwrap_or(Value::String(output));
            Ok(Json(
                json!({ "output": output, "usage": usage, "logs": logs }),
            ))
        }
        Err(e) => {
            let mut body = e.to_json();
            body["usage"] = usage;
            body["logs"] = logs;
            Err(ApiError::from_json(body))
        }
    }
}
